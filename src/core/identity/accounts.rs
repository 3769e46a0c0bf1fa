//! Accounts: users, sign-up with email verification, login checks, lookups and
//! search. Users of expresschat, calls, chatsphere and testcore share one
//! account space (no organization); orgchat users belong to exactly one
//! organization. Logins are of one space ([`Space`]).

use chrono::{Duration, Utc};
use entity::{email_verifications, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
    sea_query::{Expr, ExprTrait, Func},
};

use crate::core::{Core, Error, Result, identity::auth, identity::space::Space, mail::Mail};

/// How long a verification link or code stays valid.
const VERIFICATION_TTL_HOURS: i64 = 24;

/// A new user's details, already checked by the caller's wire layer for presence.
pub struct NewUser {
    pub name: String,
    pub email: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub organization_id: Option<i64>,
    pub role: String,
    pub verified: bool,
}

/// How the verification mail should let the user verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyVia {
    /// A link to `/verify?email=..&token=..` (web clients).
    Link,
    /// A 6-digit code (the Android app).
    Code,
}

pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn check_len(field: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(format!("{field} is required")));
    }
    if value.chars().count() > max {
        return Err(Error::invalid(format!("{field} is too long")));
    }
    Ok(())
}

/// Creates a user. Unique email/username violations become `Conflict`.
pub async fn create_user(core: &Core, new: NewUser) -> Result<users::Model> {
    check_len("name", &new.name, core.limits.max_name_len)?;
    if let Some(email) = &new.email {
        check_len("email", email, 254)?;
        if !email.contains('@') {
            return Err(Error::invalid("email is invalid"));
        }
    }
    let password_hash = match new.password {
        Some(p) => {
            if p.is_empty() || p.len() > 72 {
                return Err(Error::invalid("password must be 1 to 72 bytes"));
            }
            Some(auth::hash_password(core, p).await?)
        }
        None => None,
    };
    let now = Utc::now();
    let model = users::ActiveModel {
        organization_id: Set(new.organization_id),
        name: Set(new.name.trim().to_owned()),
        username: Set(new.username),
        email: Set(new.email.as_deref().map(normalize_email)),
        password_hash: Set(password_hash),
        role: Set(new.role),
        email_verified: Set(new.verified),
        avatar: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    match model.insert(&core.db).await {
        Ok(user) => Ok(user),
        Err(e) if crate::core::error::is_unique_violation(&e) => {
            Err(Error::Conflict("user already exists"))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn find_by_email(core: &Core, email: &str) -> Result<Option<users::Model>> {
    Ok(users::Entity::find()
        .filter(users::Column::Email.eq(normalize_email(email)))
        .one(&core.db)
        .await?)
}

/// The account of that email in `space`: an account of another space is None,
/// as an unknown email.
pub async fn find_in_space(core: &Core, space: Space, email: &str) -> Result<Option<users::Model>> {
    Ok(find_by_email(core, email)
        .await?
        .filter(|u| space.admits(u)))
}

pub async fn get(core: &Core, id: i64) -> Result<users::Model> {
    users::Entity::find_by_id(id)
        .one(&core.db)
        .await?
        .ok_or(Error::NotFound("user"))
}

/// Checks email and password for a login on a profile of `space`.
/// `EmailNotVerified` only after the password matched, so the answer does not
/// reveal more than the original did. An account of another space is
/// `NotFound`, exactly as an unknown email (its password is not even checked).
pub async fn check_login(
    core: &Core,
    space: Space,
    email: &str,
    password: &str,
) -> Result<users::Model> {
    // Every attempt counts against the account's budget, found or not, so the
    // answer time and the throttling say nothing about which emails exist.
    core.logins
        .per_account
        .take(&normalize_email(email))
        .await?;
    let user = find_in_space(core, space, email)
        .await?
        .ok_or(Error::NotFound("user"))?;
    let Some(hash) = user.password_hash.clone() else {
        return Err(Error::InvalidCredentials);
    };
    if !auth::verify_password(password.to_owned(), hash).await? {
        return Err(Error::InvalidCredentials);
    }
    if !user.email_verified {
        return Err(Error::EmailNotVerified);
    }
    Ok(user)
}

/// Counts a login attempt from a client address (profiles call it before
/// [`check_login`] when they know the address).
pub async fn throttle_address(core: &Core, ip: std::net::IpAddr) -> Result<()> {
    core.logins.per_ip.take(&ip).await
}

/// Creates a verification (link token and code) for the user and mails it.
pub async fn send_verification(core: &Core, user: &users::Model, via: VerifyVia) -> Result<()> {
    let email = user
        .email
        .clone()
        .ok_or(Error::invalid("user has no email"))?;
    let token = auth::random_hex(24);
    let code = format!("{:06}", rand::random_range(0..1_000_000u32));
    let now = Utc::now();
    email_verifications::ActiveModel {
        user_id: Set(user.id),
        token_hash: Set(auth::digest(&token)),
        code_hash: Set(auth::digest(&code)),
        expires_at: Set(now + Duration::hours(VERIFICATION_TTL_HOURS)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&core.db)
    .await?;
    let mail = match via {
        VerifyVia::Link => {
            let link = format!(
                "{}/verify?email={}&token={}",
                core.public_url(),
                urlencode(&email),
                token
            );
            Mail {
                to: email,
                subject: "Verify your email".into(),
                body: format!(
                    "Hello {}, open this link to verify your email: {link}",
                    user.name
                ),
                link: Some(link),
                code: None,
            }
        }
        VerifyVia::Code => Mail {
            to: email,
            subject: "Your verification code".into(),
            body: format!("Hello {}, your verification code is {code}", user.name),
            link: None,
            code: Some(code),
        },
    };
    core.mailer.send(mail).await
}

/// What [`verify_email`] found.
#[derive(Debug)]
pub enum Verified {
    /// The secret matched: the email is verified from now on.
    Now(users::Model),
    /// The email was verified before; the secret was not checked (a link
    /// followed twice), so this proves nothing about who followed it: no login.
    Already(users::Model),
}

/// Verifies an email of an account of `space` with a link token or a code.
/// Marks the user verified and spends every outstanding verification of the
/// user. An account of another space is `NotFound`.
pub async fn verify_email(
    core: &Core,
    space: Space,
    email: &str,
    secret: &str,
) -> Result<Verified> {
    let user = find_in_space(core, space, email)
        .await?
        .ok_or(Error::NotFound("user"))?;
    if user.email_verified {
        return Ok(Verified::Already(user));
    }
    let digest = auth::digest(secret.trim());
    let found = email_verifications::Entity::find()
        .filter(email_verifications::Column::UserId.eq(user.id))
        .filter(email_verifications::Column::ExpiresAt.gt(Utc::now()))
        .filter(
            email_verifications::Column::TokenHash
                .eq(digest.clone())
                .or(email_verifications::Column::CodeHash.eq(digest)),
        )
        .one(&core.db)
        .await?;
    if found.is_none() {
        return Err(Error::invalid("invalid or expired verification token"));
    }
    let db = &core.db;
    users::Entity::update_many()
        .col_expr(users::Column::EmailVerified, Expr::value(true))
        .col_expr(users::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(users::Column::Id.eq(user.id))
        .exec(db)
        .await?;
    email_verifications::Entity::delete_many()
        .filter(email_verifications::Column::UserId.eq(user.id))
        .exec(db)
        .await?;
    Ok(Verified::Now(get(core, user.id).await?))
}

/// Users of the shared (organization-less) space whose name contains `needle`,
/// case-insensitively, verified, excluding `except`.
pub async fn search_by_name(
    core: &Core,
    needle: &str,
    except: i64,
    limit: u64,
) -> Result<Vec<users::Model>> {
    let needle = needle.trim().to_lowercase();
    if needle.is_empty() {
        return Ok(Vec::new());
    }
    let pattern = format!("%{}%", escape_like(&needle));
    Ok(users::Entity::find()
        .filter(
            Expr::expr(Func::lower(Expr::col(users::Column::Name)))
                .like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\')),
        )
        .filter(users::Column::OrganizationId.is_null())
        .filter(users::Column::EmailVerified.eq(true))
        .filter(users::Column::Id.ne(except))
        .order_by_asc(users::Column::Name)
        .limit(limit)
        .all(&core.db)
        .await?)
}

/// Names of the given users, in one query.
pub async fn names<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(users::Entity::find()
        .filter(users::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect())
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(escape_like("a%b_c\\"), "a\\%b\\_c\\\\");
    }

    #[test]
    fn emails_are_encoded_for_links() {
        assert_eq!(urlencode("a+b@x.io"), "a%2Bb%40x.io");
    }
}
