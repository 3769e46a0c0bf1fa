//! Organizations and roles (orgchat): registration into an organization (created
//! on first use), login of organization members, and the acting [`Member`] behind
//! a token. Everything organization-scoped starts from a `Member`, so the
//! organization a request may touch is always the caller's own.

use chrono::Utc;
use entity::{organizations, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    sea_query::ExprTrait,
};

use crate::core::identity::accounts::{self, NewUser};
use crate::core::identity::auth;
use crate::core::identity::space::{self, Space};
use crate::core::{Core, Error, Result};

/// A member's role in their organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Admin,
    Moderator,
    User,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(Role::Admin),
            "moderator" => Some(Role::Moderator),
            "user" => Some(Role::User),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Moderator => "moderator",
            Role::User => "user",
        }
    }

    /// Admins and moderators may remove any message of their organization.
    pub fn moderates(self) -> bool {
        matches!(self, Role::Admin | Role::Moderator)
    }
}

/// An authenticated user who belongs to an organization.
#[derive(Clone, Debug)]
pub struct Member {
    pub user: users::Model,
    pub organization_id: i64,
    pub role: Role,
}

impl Member {
    pub fn id(&self) -> i64 {
        self.user.id
    }

    fn from_user(user: users::Model) -> Option<Member> {
        Some(Member {
            organization_id: user.organization_id?,
            role: Role::parse(&user.role).unwrap_or(Role::User),
            user,
        })
    }
}

/// What `POST /api/auth/register` asks for.
pub struct Registration {
    pub username: String,
    pub email: String,
    pub password: String,
    pub organization_name: String,
    pub role: Role,
}

/// Registers a member, creating the organization when its name is new. With
/// `open_roles` false, joining an existing organization always gives `user`.
pub async fn register(
    core: &Core,
    r: Registration,
    open_roles: bool,
) -> Result<(users::Model, organizations::Model)> {
    let username = r.username.trim().to_owned();
    let org_name = r.organization_name.trim().to_owned();
    for (field, v) in [("username", &username), ("organizationName", &org_name)] {
        if v.is_empty() {
            return Err(Error::invalid(format!("{field} is required")));
        }
        if v.chars().count() > core.limits.max_name_len {
            return Err(Error::invalid(format!("{field} is too long")));
        }
    }
    // Checked before the organization is made, so a refused registration leaves
    // no empty organization behind (a race still ends in Conflict below).
    let taken = users::Entity::find()
        .filter(
            users::Column::Username
                .eq(username.as_str())
                .or(users::Column::Email.eq(accounts::normalize_email(&r.email))),
        )
        .count(&core.db)
        .await?;
    if taken > 0 {
        return Err(Error::Conflict("username or email already exists"));
    }
    let (org, created) = find_or_create(core, &org_name).await?;
    let role = if created || open_roles {
        r.role
    } else {
        Role::User
    };
    let user = accounts::create_user(
        core,
        NewUser {
            name: username.clone(),
            email: Some(r.email),
            username: Some(username),
            password: Some(r.password),
            organization_id: Some(org.id),
            role: role.as_str().to_owned(),
            verified: true,
        },
    )
    .await
    .map_err(|e| match e {
        Error::Conflict(_) => Error::Conflict("username or email already exists"),
        other => other,
    })?;
    Ok((user, org))
}

/// The organization of that name, created when new; true when created now.
async fn find_or_create(core: &Core, name: &str) -> Result<(organizations::Model, bool)> {
    if let Some(o) = by_name(core, name).await? {
        return Ok((o, false));
    }
    let made = organizations::ActiveModel {
        name: Set(name.to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&core.db)
    .await;
    match made {
        Ok(o) => Ok((o, true)),
        // Two registrations of a new organization at once: the other made it.
        Err(e) if crate::core::error::is_unique_violation(&e) => {
            Ok((by_name(core, name).await?.ok_or(Error::Internal)?, false))
        }
        Err(e) => Err(e.into()),
    }
}

async fn by_name(core: &Core, name: &str) -> Result<Option<organizations::Model>> {
    Ok(organizations::Entity::find()
        .filter(organizations::Column::Name.eq(name))
        .one(&core.db)
        .await?)
}

/// Email and password of an organization member. Every failure reads the same
/// (`InvalidCredentials`), so the answer does not tell which accounts exist.
pub async fn login(core: &Core, email: &str, password: &str) -> Result<Member> {
    let user = match accounts::check_login(core, Space::Organization, email, password).await {
        Ok(u) => u,
        Err(Error::NotFound(_) | Error::InvalidCredentials | Error::EmailNotVerified) => {
            return Err(Error::InvalidCredentials);
        }
        Err(e) => return Err(e),
    };
    Member::from_user(user).ok_or(Error::InvalidCredentials)
}

/// The member behind an authenticated user id. A user who no longer exists, or
/// who belongs to no organization (an account of the shared space), is refused.
pub async fn member(core: &Core, user_id: i64) -> Result<Member> {
    let user = space::admit(core, Space::Organization, user_id).await?;
    Member::from_user(user).ok_or(Error::AuthRequired)
}

/// The member of an access token presented to orgchat (see
/// [`auth::access_user`]): any failure is `AuthRequired` but the database's.
pub async fn member_of_token(core: &Core, token: &str) -> Result<Member> {
    let user = auth::access_user(core, Space::Organization, token).await?;
    Member::from_user(user).ok_or(Error::AuthRequired)
}

/// Checks that every id names a user of `organization_id`; a user elsewhere (or
/// nowhere) is `NotFound`, as if it did not exist.
pub async fn require_colleagues(core: &Core, organization_id: i64, ids: &[i64]) -> Result<()> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(());
    }
    let found = users::Entity::find()
        .filter(users::Column::Id.is_in(ids.clone()))
        .filter(users::Column::OrganizationId.eq(organization_id))
        .count(&core.db)
        .await?;
    if found as usize != ids.len() {
        return Err(Error::NotFound("user"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_moderate() {
        assert_eq!(Role::parse(" Admin "), Some(Role::Admin));
        assert_eq!(Role::parse("owner"), None);
        assert!(Role::Moderator.moderates());
        assert!(!Role::User.moderates());
    }
}
