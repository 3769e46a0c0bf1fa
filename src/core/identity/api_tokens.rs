//! API tokens (chatsphere): long-lived JWTs for API clients (`type` 0) and their
//! users (`type` 1), signed with their own secret. Every token is recorded in
//! `api_tokens` under its `jti`, and verification looks the record up each time,
//! so a revoked (or expired, or orphaned) token is refused at once. Like every
//! token, an API token carries its user's space as `aud` and is checked
//! against the space it is presented to ([`Space`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{api_tokens, users};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, sea_query::Expr};
use serde::{Deserialize, Serialize};

use super::space::Space;
use crate::core::{Core, Error, Result};

/// Key material and lifetimes of API tokens, built once from config.
pub struct ApiKeys {
    enc: EncodingKey,
    dec: DecodingKey,
    pub user_ttl: Duration,
    pub client_ttl: Duration,
}

impl ApiKeys {
    pub fn new(secret: &[u8], user_ttl: Duration, client_ttl: Duration) -> Self {
        ApiKeys {
            enc: EncodingKey::from_secret(secret),
            dec: DecodingKey::from_secret(secret),
            user_ttl,
            client_ttl,
        }
    }

    /// Keys with a random secret: tokens die with the process.
    pub fn random() -> Self {
        let secret = crate::core::identity::auth::random_hex(32);
        ApiKeys::new(
            secret.as_bytes(),
            Duration::from_secs(30 * 24 * 3600),
            Duration::from_secs(365 * 24 * 3600),
        )
    }
}

/// The two kinds of API token. On the wire (the JWT's `type` claim) a number, as
/// the original's TypeScript enum: CLIENT = 0, USER = 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Client,
    User,
}

impl Kind {
    pub fn number(self) -> u8 {
        match self {
            Kind::Client => 0,
            Kind::User => 1,
        }
    }

    fn from_number(n: u8) -> Option<Kind> {
        match n {
            0 => Some(Kind::Client),
            1 => Some(Kind::User),
            _ => None,
        }
    }

    /// As stored in `api_tokens.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Client => "client",
            Kind::User => "user",
        }
    }
}

/// The claims of an API token (field names as the original's payloads).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Claims {
    /// The user id, as a decimal string.
    user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(rename = "type")]
    kind: u8,
    jti: String,
    iat: i64,
    exp: i64,
    /// The space of the token's user ([`Space::audience`]); None in tokens
    /// minted before spaces were told apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
}

/// A token just issued: the JWT and its record.
#[derive(Debug, Clone)]
pub struct Issued {
    pub id: i64,
    pub jti: String,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Who presented a valid API token.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The token's record id (what revocation names).
    pub token_id: i64,
    pub kind: Kind,
    pub user: users::Model,
}

/// Issues a token of `kind` for `user`, recorded before it is signed. `scope`
/// (the user token's permissions, as JSON text) is kept with the record; `email`
/// goes into a client token's claims, as in the original.
pub async fn issue(
    core: &Core,
    user: &users::Model,
    kind: Kind,
    scope: Option<String>,
    email: Option<String>,
) -> Result<Issued> {
    let keys = &core.api_keys;
    let ttl = match kind {
        Kind::Client => keys.client_ttl,
        Kind::User => keys.user_ttl,
    };
    let now = Utc::now();
    let expires_at = now + chrono::Duration::from_std(ttl).map_err(Error::internal)?;
    let jti = uuid::Uuid::new_v4().to_string();
    let row = api_tokens::ActiveModel {
        user_id: Set(user.id),
        jti: Set(jti.clone()),
        kind: Set(kind.as_str().to_owned()),
        scope: Set(scope),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&core.db)
    .await?;
    let (username, role) = match kind {
        Kind::User => (
            Some(user.username.clone().unwrap_or_else(|| user.name.clone())),
            Some(user.role.clone()),
        ),
        Kind::Client => (None, None),
    };
    let claims = Claims {
        user_id: user.id.to_string(),
        username,
        role,
        email,
        kind: kind.number(),
        jti: jti.clone(),
        iat: now.timestamp(),
        exp: expires_at.timestamp(),
        aud: Some(Space::of(user).audience().into()),
    };
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.enc)
        .map_err(Error::internal)?;
    Ok(Issued {
        id: row.id,
        jti,
        token,
        expires_at,
    })
}

/// Checks a token presented to a profile of `space`: signature, lifetime,
/// audience, and that its record exists, matches, is not revoked and not
/// expired, and that its user still exists in that space. Any failure is
/// `AuthRequired` (the caller answers "invalid token").
pub async fn verify(core: &Core, space: Space, token: &str) -> Result<Principal> {
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 0;
    // Checked below, where a token without audience is decided by its user.
    v.validate_aud = false;
    let data = jsonwebtoken::decode::<Claims>(token, &core.api_keys.dec, &v)
        .map_err(|_| Error::AuthRequired)?;
    let c = data.claims;
    if !space.accepts_audience(c.aud.as_deref()) {
        return Err(Error::AuthRequired);
    }
    let kind = Kind::from_number(c.kind).ok_or(Error::AuthRequired)?;
    let user_id: i64 = c.user_id.parse().map_err(|_| Error::AuthRequired)?;
    let rec = api_tokens::Entity::find()
        .filter(api_tokens::Column::Jti.eq(&c.jti))
        .one(&core.db)
        .await?
        .ok_or(Error::AuthRequired)?;
    if rec.user_id != user_id
        || rec.kind != kind.as_str()
        || rec.revoked_at.is_some()
        || rec.expires_at <= Utc::now()
    {
        return Err(Error::AuthRequired);
    }
    let user = users::Entity::find_by_id(user_id)
        .one(&core.db)
        .await?
        .filter(|u| space.admits(u))
        .ok_or(Error::AuthRequired)?;
    Ok(Principal {
        token_id: rec.id,
        kind,
        user,
    })
}

/// Whether the token record is still usable (not revoked, not expired): what a
/// long-lived connection re-checks before each frame it handles.
pub async fn still_valid(core: &Core, token_id: i64) -> Result<bool> {
    Ok(api_tokens::Entity::find_by_id(token_id)
        .one(&core.db)
        .await?
        .is_some_and(|r| r.revoked_at.is_none() && r.expires_at > Utc::now()))
}

/// Revokes a token on behalf of `by`: a client token may revoke any token, a user
/// token only its own user's. Anything else is `NotFound` (another user's token
/// ids are not the caller's business). Revoking twice is not an error.
pub async fn revoke(core: &Core, by: &Principal, token_id: i64) -> Result<api_tokens::Model> {
    let rec = api_tokens::Entity::find_by_id(token_id)
        .one(&core.db)
        .await?
        .ok_or(Error::NotFound("token"))?;
    if by.kind != Kind::Client && rec.user_id != by.user.id {
        return Err(Error::NotFound("token"));
    }
    api_tokens::Entity::update_many()
        .col_expr(api_tokens::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(api_tokens::Column::Id.eq(rec.id))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .exec(&core.db)
        .await?;
    Ok(rec)
}
