//! chatsphere's health, profile, user and token routes. Issuing tokens and
//! creating users need a client token; revoking needs a client token or the
//! token's own user. Every answer that issues a token carries its `id`.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get, post, put},
};
use chrono::Utc;
use entity::users;

use super::{
    Ctx,
    caller::Call,
    connection::cut_off,
    error::ApiError,
    wire::{
        ClientTokenBody, Done, Health, IssuedOut, ProfileOut, ProfileUpdated, UserOut,
        UserTokenBody, UsernameBody,
    },
};
use crate::core::{
    Error,
    conversations::rooms::shared as rooms,
    identity::api_tokens::{self, Kind},
};
use crate::profiles::kit::{Id, present, timestamp};

pub fn router() -> Router<Arc<Ctx>> {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/auth/profile", get(profile).put(update_profile))
        .route("/api/users", get(list_users).post(create_user))
        .route("/api/tokens/user", post(user_token))
        .route("/api/tokens/client", post(client_token))
        .route("/api/tokens/{id}", delete(revoke))
        .route("/api/tokens/{id}/revoke", put(revoke))
}

type Answer<T> = Result<Json<T>, ApiError>;
type Created<T> = Result<(StatusCode, Json<T>), ApiError>;

async fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        timestamp: timestamp(Utc::now()),
    })
}

async fn profile(call: Call) -> Answer<ProfileOut> {
    call.require_user()?;
    Ok(Json(ProfileOut {
        user: (&call.who.user).into(),
    }))
}

async fn update_profile(State(ctx): State<Arc<Ctx>>, call: Call) -> Answer<ProfileUpdated> {
    call.require_user()?;
    let b: UsernameBody = call.body()?;
    let username = present(&b.username).ok_or_else(|| Error::invalid("Username is required"))?;
    let user = rooms::rename_user(&ctx.core, &call.who.user, username).await?;
    Ok(Json(ProfileUpdated {
        message: "Profile updated successfully",
        user: (&user).into(),
    }))
}

async fn list_users(State(ctx): State<Arc<Ctx>>, _call: Call) -> Answer<Vec<UserOut>> {
    let us = rooms::users(&ctx.core).await?;
    Ok(Json(us.iter().map(UserOut::from).collect()))
}

async fn create_user(State(ctx): State<Arc<Ctx>>, call: Call) -> Created<IssuedOut> {
    call.require_client()?;
    let b: UsernameBody = call.body()?;
    let username = present(&b.username).ok_or_else(|| Error::invalid("Username is required"))?;
    let user = rooms::create_user(&ctx.core, username)
        .await
        .map_err(|e| match e {
            // The original's words for a taken username, whatever the core says.
            Error::Conflict(_) => Error::Conflict("Username already exists"),
            other => other,
        })?;
    let t = api_tokens::issue(&ctx.core, &user, Kind::User, None, None).await?;
    Ok((StatusCode::CREATED, Json(IssuedOut::new(&t, &user))))
}

/// The user a token is asked for: 400 `missing` without `userId`, 404 for no
/// such user.
async fn target(ctx: &Ctx, id: Option<Id>, missing: &str) -> Result<users::Model, ApiError> {
    let id = id.ok_or_else(|| Error::invalid(missing))?.get("user")?;
    Ok(rooms::user(&ctx.core, id).await?)
}

async fn user_token(State(ctx): State<Arc<Ctx>>, call: Call) -> Created<IssuedOut> {
    call.require_client()?;
    let b: UserTokenBody = call.body()?;
    let user = target(&ctx, b.user_id, "User ID is required").await?;
    let scope = b.permissions.map(|p| p.to_string());
    let t = api_tokens::issue(&ctx.core, &user, Kind::User, scope, None).await?;
    Ok((StatusCode::CREATED, Json(IssuedOut::new(&t, &user))))
}

async fn client_token(State(ctx): State<Arc<Ctx>>, call: Call) -> Created<IssuedOut> {
    const MISSING: &str = "User ID and email are required";
    call.require_client()?;
    let b: ClientTokenBody = call.body()?;
    let email = present(&b.email).ok_or_else(|| Error::invalid(MISSING))?;
    let user = target(&ctx, b.user_id, MISSING).await?;
    let t = api_tokens::issue(&ctx.core, &user, Kind::Client, None, Some(email.to_owned())).await?;
    Ok((StatusCode::CREATED, Json(IssuedOut::new(&t, &user))))
}

/// Revokes a token and closes the connections opened with it.
async fn revoke(State(ctx): State<Arc<Ctx>>, Path(id): Path<String>, call: Call) -> Answer<Done> {
    let id = Id::parse(&id).get("token")?;
    let rec = api_tokens::revoke(&ctx.core, &call.who, id).await?;
    cut_off(&ctx, rec.user_id, rec.id);
    Ok(Json(Done {
        message: "Token revoked successfully",
    }))
}
