//! Tokens and passwords: bcrypt off the async runtime; access and refresh JWTs with
//! separate secrets and configurable lifetimes; refresh tokens recorded so they can
//! be rotated, revoked on logout, and a replayed (already rotated) one revokes its
//! whole family. Every token carries the account space it was minted for
//! (`aud`, see [`super::space`]) and is checked against the space of the
//! profile it is presented to, together with its user's own space.

use std::time::Duration;

use chrono::Utc;
use entity::{refresh_tokens, users};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, sea_query::Expr};
use serde::{Deserialize, Serialize};

use super::space::{self, Space};
use crate::core::{Core, Error, Result};

/// Key material and lifetimes, built once from config.
pub struct TokenKeys {
    access_enc: EncodingKey,
    access_dec: DecodingKey,
    refresh_enc: EncodingKey,
    refresh_dec: DecodingKey,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub bcrypt_cost: u32,
}

impl TokenKeys {
    pub fn new(
        access_secret: &[u8],
        refresh_secret: &[u8],
        access_ttl: Duration,
        refresh_ttl: Duration,
        bcrypt_cost: u32,
    ) -> Self {
        TokenKeys {
            access_enc: EncodingKey::from_secret(access_secret),
            access_dec: DecodingKey::from_secret(access_secret),
            refresh_enc: EncodingKey::from_secret(refresh_secret),
            refresh_dec: DecodingKey::from_secret(refresh_secret),
            access_ttl,
            refresh_ttl,
            bcrypt_cost,
        }
    }
}

/// Claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id, as a decimal string.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    /// Always "access": a refresh token signed by mistake with the same secret still
    /// cannot pass as an access token.
    pub typ: String,
    /// The space it was minted for ([`Space::audience`]); None in tokens minted
    /// before spaces were told apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// Claims of a refresh token.
#[derive(Debug, Serialize, Deserialize)]
pub struct RefreshClaims {
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The rotation family: every token refreshed from one login shares it.
    pub fam: String,
    pub typ: String,
    /// As [`AccessClaims::aud`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// An access/refresh pair just issued.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: i64,
    pub access_token: String,
    pub refresh_token: String,
}

/// Why an access token was not accepted (expired tokens can be refreshed).
#[derive(Debug)]
pub enum AccessError {
    Expired,
    /// Forged, malformed, of another kind, of another space, or its user is gone.
    Invalid,
    /// The check itself failed (the database); logged where it happened.
    Failed(Error),
}

impl From<AccessError> for Error {
    fn from(e: AccessError) -> Error {
        match e {
            AccessError::Expired | AccessError::Invalid => Error::AuthRequired,
            AccessError::Failed(e) => e,
        }
    }
}

fn validation() -> Validation {
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 0;
    v.validate_exp = true;
    // The audience is checked by `Space::accepts_audience`, which also admits
    // tokens minted before audiences (their user's space decides).
    v.validate_aud = false;
    v
}

fn decode_error(e: jsonwebtoken::errors::Error) -> AccessError {
    match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => AccessError::Expired,
        _ => AccessError::Invalid,
    }
}

/// The user a token names, if they still exist and belong to `space`.
async fn token_user(core: &Core, space: Space, sub: &str) -> Result<users::Model, AccessError> {
    let id: i64 = sub.parse().map_err(|_| AccessError::Invalid)?;
    match space::admit(core, space, id).await {
        Ok(u) => Ok(u),
        Err(Error::AuthRequired) => Err(AccessError::Invalid),
        Err(e) => Err(AccessError::Failed(e)),
    }
}

/// An access token for `user`, for the user's own space.
pub fn issue_access(core: &Core, user: &users::Model) -> Result<String> {
    let now = Utc::now().timestamp();
    let claims = AccessClaims {
        sub: user.id.to_string(),
        iat: now,
        exp: now + core.keys.access_ttl.as_secs() as i64,
        typ: "access".into(),
        aud: Some(Space::of(user).audience().into()),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &core.keys.access_enc,
    )
    .map_err(Error::internal)
}

/// Checks an access token's signature, lifetime, type and audience against
/// `space`; returns the user id (not yet checked against the user's space).
fn decode_access(core: &Core, space: Space, token: &str) -> Result<String, AccessError> {
    let data = jsonwebtoken::decode::<AccessClaims>(token, &core.keys.access_dec, &validation())
        .map_err(decode_error)?;
    let c = data.claims;
    if c.typ != "access" || !space.accepts_audience(c.aud.as_deref()) {
        return Err(AccessError::Invalid);
    }
    Ok(c.sub)
}

/// The user of an access token presented to a profile of `space`: signature,
/// lifetime, type, audience, and that the user still exists in that space.
pub async fn access_user(
    core: &Core,
    space: Space,
    token: &str,
) -> Result<users::Model, AccessError> {
    let sub = decode_access(core, space, token)?;
    token_user(core, space, &sub).await
}

/// Claims of a chat token (testcore `UserChatToken`): one user, one room.
#[derive(Debug, Serialize, Deserialize)]
struct ChatClaims {
    sub: String,
    room: i64,
    iat: i64,
    exp: i64,
    /// Always "chat": it cannot pass as an access token, nor an access token as it.
    typ: String,
    /// As [`AccessClaims::aud`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
}

/// Issues a chat-scoped token for `user` in conversation `room` (signed with
/// the access secret, with the access lifetime).
pub fn issue_chat(core: &Core, user: &users::Model, room: i64) -> Result<String> {
    let now = Utc::now().timestamp();
    let claims = ChatClaims {
        sub: user.id.to_string(),
        room,
        iat: now,
        exp: now + core.keys.access_ttl.as_secs() as i64,
        typ: "chat".into(),
        aud: Some(Space::of(user).audience().into()),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &core.keys.access_enc,
    )
    .map_err(Error::internal)
}

/// The user of a chat token presented to a profile of `space`, and the room it
/// admits (checked as [`access_user`]).
pub async fn chat_user(
    core: &Core,
    space: Space,
    token: &str,
) -> Result<(users::Model, i64), AccessError> {
    let data = jsonwebtoken::decode::<ChatClaims>(token, &core.keys.access_dec, &validation())
        .map_err(decode_error)?;
    let c = data.claims;
    if c.typ != "chat" || !space.accepts_audience(c.aud.as_deref()) {
        return Err(AccessError::Invalid);
    }
    Ok((token_user(core, space, &c.sub).await?, c.room))
}

/// Issues a new pair for a user (for the user's own space), starting a new
/// refresh family.
pub async fn issue_session(core: &Core, user: &users::Model) -> Result<Session> {
    let family = uuid::Uuid::new_v4().to_string();
    let refresh_token = issue_refresh(core, user, &family).await?;
    Ok(Session {
        user_id: user.id,
        access_token: issue_access(core, user)?,
        refresh_token,
    })
}

async fn issue_refresh(core: &Core, user: &users::Model, family: &str) -> Result<String> {
    let user_id = user.id;
    let now = Utc::now();
    let jti = uuid::Uuid::new_v4().to_string();
    let claims = RefreshClaims {
        sub: user_id.to_string(),
        iat: now.timestamp(),
        exp: now.timestamp() + core.keys.refresh_ttl.as_secs() as i64,
        jti: jti.clone(),
        fam: family.to_owned(),
        typ: "refresh".into(),
        aud: Some(Space::of(user).audience().into()),
    };
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &core.keys.refresh_enc,
    )
    .map_err(Error::internal)?;
    refresh_tokens::ActiveModel {
        user_id: Set(user_id),
        jti: Set(jti),
        family: Set(family.to_owned()),
        expires_at: Set(
            now + chrono::Duration::from_std(core.keys.refresh_ttl).map_err(Error::internal)?
        ),
        revoked_at: Set(None),
        rotated: Set(false),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&core.db)
    .await?;
    Ok(token)
}

/// Verifies a refresh token presented to a profile of `space`: signature,
/// lifetime, type, audience, that its user still exists in that space, and
/// that it is recorded and not revoked. A token of another space is refused
/// here, before anything is spent or revoked. Returns the user and the record.
async fn check_refresh(
    core: &Core,
    space: Space,
    token: &str,
) -> Result<(users::Model, refresh_tokens::Model)> {
    let data = jsonwebtoken::decode::<RefreshClaims>(token, &core.keys.refresh_dec, &validation())
        .map_err(|_| Error::AuthRequired)?;
    let c = data.claims;
    if c.typ != "refresh" || !space.accepts_audience(c.aud.as_deref()) {
        return Err(Error::AuthRequired);
    }
    let user = token_user(core, space, &c.sub).await?;
    let rec = refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::Jti.eq(&c.jti))
        .one(&core.db)
        .await?
        .ok_or(Error::AuthRequired)?;
    if rec.revoked_at.is_some() || rec.user_id != user.id {
        return Err(Error::AuthRequired);
    }
    Ok((user, rec))
}

/// Mints a new access token from a valid refresh token of `space` without
/// rotating it (the expresschat handshake does this when only the access token
/// expired). Returns the token's user and the new access token.
pub async fn access_from_refresh(
    core: &Core,
    space: Space,
    refresh_token: &str,
) -> Result<(users::Model, String)> {
    let (user, rec) = check_refresh(core, space, refresh_token).await?;
    if rec.rotated {
        return Err(Error::AuthRequired);
    }
    let access = issue_access(core, &user)?;
    Ok((user, access))
}

/// Rotates a refresh token of `space`: the old one is spent, a new pair is
/// issued in the same family. Presenting a spent token again is reuse: the
/// whole family is revoked. A token of another space is refused unspent.
pub async fn rotate(core: &Core, space: Space, refresh_token: &str) -> Result<Session> {
    let (user, rec) = check_refresh(core, space, refresh_token).await?;
    let user_id = user.id;
    // Spend it atomically: only one of two concurrent rotations wins.
    let spent = refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::Rotated, Expr::value(true))
        .filter(refresh_tokens::Column::Id.eq(rec.id))
        .filter(refresh_tokens::Column::Rotated.eq(false))
        .exec(&core.db)
        .await?;
    if spent.rows_affected == 0 {
        tracing::warn!(user_id, family = %rec.family, "refresh token reuse; revoking family");
        revoke_family(core, &rec.family).await?;
        return Err(Error::AuthRequired);
    }
    let refresh_token = issue_refresh(core, &user, &rec.family).await?;
    Ok(Session {
        user_id,
        access_token: issue_access(core, &user)?,
        refresh_token,
    })
}

async fn revoke_family(core: &Core, family: &str) -> Result<()> {
    refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_tokens::Column::Family.eq(family))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(&core.db)
        .await?;
    Ok(())
}

/// Logout: revokes the token's family when it is a token of `space`. An
/// invalid token (or another space's) is not an error (the client is logged out
/// either way) and revokes nothing.
pub async fn revoke_refresh(core: &Core, space: Space, refresh_token: &str) -> Result<()> {
    if let Ok((_, rec)) = check_refresh(core, space, refresh_token).await {
        revoke_family(core, &rec.family).await?;
    }
    Ok(())
}

/// Hashes a password with bcrypt on the blocking pool.
pub async fn hash_password(core: &Core, password: String) -> Result<String> {
    let cost = core.keys.bcrypt_cost;
    tokio::task::spawn_blocking(move || bcrypt::hash(password, cost))
        .await
        .map_err(Error::internal)?
        .map_err(Error::internal)
}

/// Checks a password against a bcrypt hash on the blocking pool.
pub async fn verify_password(password: String, hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
        .await
        .map_err(Error::internal)
}

/// A random token of `n` bytes, hex encoded.
pub fn random_hex(n: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; n];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a secret, hex encoded: what the database keeps instead of the secret.
pub fn digest(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
