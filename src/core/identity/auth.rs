//! Tokens and passwords: bcrypt off the async runtime; access and refresh JWTs with
//! separate secrets and configurable lifetimes; refresh tokens recorded so they can
//! be rotated, revoked on logout, and a replayed (already rotated) one revokes its
//! whole family.

use std::time::Duration;

use chrono::Utc;
use entity::refresh_tokens;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, sea_query::Expr};
use serde::{Deserialize, Serialize};

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
}

/// An access/refresh pair just issued.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: i64,
    pub access_token: String,
    pub refresh_token: String,
}

/// Why an access token was not accepted (expired tokens can be refreshed).
#[derive(Debug, PartialEq, Eq)]
pub enum AccessError {
    Expired,
    Invalid,
}

fn validation() -> Validation {
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 0;
    v.validate_exp = true;
    v
}

pub fn issue_access(core: &Core, user_id: i64) -> Result<String> {
    let now = Utc::now().timestamp();
    let claims = AccessClaims {
        sub: user_id.to_string(),
        iat: now,
        exp: now + core.keys.access_ttl.as_secs() as i64,
        typ: "access".into(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &core.keys.access_enc,
    )
    .map_err(Error::internal)
}

/// Checks an access token's signature, lifetime and type; returns the user id.
pub fn verify_access(core: &Core, token: &str) -> Result<i64, AccessError> {
    match jsonwebtoken::decode::<AccessClaims>(token, &core.keys.access_dec, &validation()) {
        Ok(data) if data.claims.typ == "access" => {
            data.claims.sub.parse().map_err(|_| AccessError::Invalid)
        }
        Ok(_) => Err(AccessError::Invalid),
        Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
            Err(AccessError::Expired)
        }
        Err(_) => Err(AccessError::Invalid),
    }
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
}

/// Issues a chat-scoped token for `user_id` in conversation `room` (signed with
/// the access secret, with the access lifetime).
pub fn issue_chat(core: &Core, user_id: i64, room: i64) -> Result<String> {
    let now = Utc::now().timestamp();
    let claims = ChatClaims {
        sub: user_id.to_string(),
        room,
        iat: now,
        exp: now + core.keys.access_ttl.as_secs() as i64,
        typ: "chat".into(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &core.keys.access_enc,
    )
    .map_err(Error::internal)
}

/// Checks a chat token; returns the user id and the room it admits.
pub fn verify_chat(core: &Core, token: &str) -> Result<(i64, i64), AccessError> {
    match jsonwebtoken::decode::<ChatClaims>(token, &core.keys.access_dec, &validation()) {
        Ok(data) if data.claims.typ == "chat" => data
            .claims
            .sub
            .parse()
            .map(|u| (u, data.claims.room))
            .map_err(|_| AccessError::Invalid),
        Ok(_) => Err(AccessError::Invalid),
        Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
            Err(AccessError::Expired)
        }
        Err(_) => Err(AccessError::Invalid),
    }
}

/// Issues a new pair for a user, starting a new refresh family.
pub async fn issue_session(core: &Core, user_id: i64) -> Result<Session> {
    let family = uuid::Uuid::new_v4().to_string();
    let refresh_token = issue_refresh(core, user_id, &family).await?;
    Ok(Session {
        user_id,
        access_token: issue_access(core, user_id)?,
        refresh_token,
    })
}

async fn issue_refresh(core: &Core, user_id: i64, family: &str) -> Result<String> {
    let now = Utc::now();
    let jti = uuid::Uuid::new_v4().to_string();
    let claims = RefreshClaims {
        sub: user_id.to_string(),
        iat: now.timestamp(),
        exp: now.timestamp() + core.keys.refresh_ttl.as_secs() as i64,
        jti: jti.clone(),
        fam: family.to_owned(),
        typ: "refresh".into(),
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

/// Verifies a refresh token: signature, lifetime, and that it is recorded, not
/// revoked and not yet rotated. Returns the user id and the record.
async fn check_refresh(core: &Core, token: &str) -> Result<(i64, refresh_tokens::Model)> {
    let data = jsonwebtoken::decode::<RefreshClaims>(token, &core.keys.refresh_dec, &validation())
        .map_err(|_| Error::AuthRequired)?;
    if data.claims.typ != "refresh" {
        return Err(Error::AuthRequired);
    }
    let user_id: i64 = data.claims.sub.parse().map_err(|_| Error::AuthRequired)?;
    let rec = refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::Jti.eq(&data.claims.jti))
        .one(&core.db)
        .await?
        .ok_or(Error::AuthRequired)?;
    if rec.revoked_at.is_some() || rec.user_id != user_id {
        return Err(Error::AuthRequired);
    }
    Ok((user_id, rec))
}

/// Mints a new access token from a valid refresh token without rotating it (the
/// expresschat handshake does this when only the access token expired).
pub async fn access_from_refresh(core: &Core, refresh_token: &str) -> Result<(i64, String)> {
    let (user_id, rec) = check_refresh(core, refresh_token).await?;
    if rec.rotated {
        return Err(Error::AuthRequired);
    }
    Ok((user_id, issue_access(core, user_id)?))
}

/// Rotates a refresh token: the old one is spent, a new pair is issued in the same
/// family. Presenting a spent token again is reuse: the whole family is revoked.
pub async fn rotate(core: &Core, refresh_token: &str) -> Result<Session> {
    let (user_id, rec) = check_refresh(core, refresh_token).await?;
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
    let refresh_token = issue_refresh(core, user_id, &rec.family).await?;
    Ok(Session {
        user_id,
        access_token: issue_access(core, user_id)?,
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

/// Logout: revokes the token's family. An invalid token is not an error (the
/// client is logged out either way).
pub async fn revoke_refresh(core: &Core, refresh_token: &str) -> Result<()> {
    if let Ok((_, rec)) = check_refresh(core, refresh_token).await {
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
