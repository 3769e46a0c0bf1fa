//! chatsphere's health, profile, user and token routes. Issuing tokens and
//! creating users need a client token; revoking needs a client token or the
//! token's own user. Every answer that issues a token carries its `id`.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use chrono::Utc;
use entity::users;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    Ctx,
    caller::Call,
    connection::cut_off,
    error::ApiError,
    wire::{
        ClientTokenBody, Done, ErrorBody, Health, IssuedOut, ProfileOut, ProfileUpdated, UserOut,
        UserTokenBody, UsernameBody,
    },
};
use crate::core::{
    Error,
    conversations::rooms::shared as rooms,
    identity::api_tokens::{self, Kind},
};
use crate::profiles::kit::{Id, present, timestamp};

/// Health, profile, user and token routes, each documented by its
/// `#[utoipa::path]`.
pub fn router() -> OpenApiRouter<Arc<Ctx>> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(profile, update_profile))
        .routes(routes!(list_users, create_user))
        .routes(routes!(user_token))
        .routes(routes!(client_token))
        .routes(routes!(revoke))
        .routes(routes!(revoke_put))
}

type Answer<T> = Result<Json<T>, ApiError>;
type Created<T> = Result<(StatusCode, Json<T>), ApiError>;

#[utoipa::path(
    get, path = "/api/health", tag = "accounts",
    responses((status = 200, description = "Up", body = Health))
)]
async fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        timestamp: timestamp(Utc::now()),
    })
}

/// The user of a user token.
#[utoipa::path(
    get, path = "/api/auth/profile", tag = "accounts",
    security(("bearer" = []), ("tokenQuery" = []), ("tokenCookie" = [])),
    responses(
        (status = 200, description = "The token's user", body = ProfileOut),
        (status = 401, description = "No token, or one that is invalid, expired or revoked", body = ErrorBody),
        (status = 403, description = "Not a user token", body = ErrorBody),
    )
)]
async fn profile(call: Call) -> Answer<ProfileOut> {
    call.require_user()?;
    Ok(Json(ProfileOut {
        user: (&call.who.user).into(),
    }))
}

/// Renames the user of a user token.
#[utoipa::path(
    put, path = "/api/auth/profile", tag = "accounts",
    security(("bearer" = []), ("tokenQuery" = []), ("tokenCookie" = [])),
    request_body = UsernameBody,
    responses(
        (status = 200, description = "Renamed", body = ProfileUpdated),
        (status = 400, description = "Not JSON, or no username", body = ErrorBody),
        (status = 401, description = "No token, or one that is invalid, expired or revoked", body = ErrorBody),
        (status = 403, description = "Not a user token", body = ErrorBody),
        (status = 409, description = "The username is taken", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    get, path = "/api/users", tag = "accounts",
    security(("bearer" = []), ("tokenQuery" = []), ("tokenCookie" = [])),
    responses(
        (status = 200, description = "Every user of the shared space", body = Vec<UserOut>),
        (status = 401, description = "No token, or one that is invalid, expired or revoked", body = ErrorBody),
    )
)]
async fn list_users(State(ctx): State<Arc<Ctx>>, _call: Call) -> Answer<Vec<UserOut>> {
    let us = rooms::users(&ctx.core).await?;
    Ok(Json(us.iter().map(UserOut::from).collect()))
}

/// Creates a user and issues their first user token (client tokens only).
#[utoipa::path(
    post, path = "/api/users", tag = "accounts",
    security(("bearer" = []), ("tokenQuery" = []), ("tokenCookie" = [])),
    request_body = UsernameBody,
    responses(
        (status = 201, description = "Created, with a user token", body = IssuedOut),
        (status = 400, description = "Not JSON, or no username", body = ErrorBody),
        (status = 401, description = "No token, or one that is invalid, expired or revoked", body = ErrorBody),
        (status = 403, description = "Not a client token", body = ErrorBody),
        (status = 409, description = "\"Username already exists\"", body = ErrorBody),
    )
)]
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

/// Issues a user token for a user (client tokens only).
#[utoipa::path(
    post, path = "/api/tokens/user", tag = "tokens",
    security(("bearer" = []), ("tokenQuery" = []), ("tokenCookie" = [])),
    request_body = UserTokenBody,
    responses(
        (status = 201, description = "Issued", body = IssuedOut),
        (status = 400, description = "Not JSON, or no `userId`", body = ErrorBody),
        (status = 401, description = "No token, or one that is invalid, expired or revoked", body = ErrorBody),
        (status = 403, description = "Not a client token", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn user_token(State(ctx): State<Arc<Ctx>>, call: Call) -> Created<IssuedOut> {
    call.require_client()?;
    let b: UserTokenBody = call.body()?;
    let user = target(&ctx, b.user_id, "User ID is required").await?;
    let scope = b.permissions.map(|p| p.to_string());
    let t = api_tokens::issue(&ctx.core, &user, Kind::User, scope, None).await?;
    Ok((StatusCode::CREATED, Json(IssuedOut::new(&t, &user))))
}

/// Issues a client token, which reaches every room (client tokens only; the
/// first one comes from `chatwire token create --client`).
#[utoipa::path(
    post, path = "/api/tokens/client", tag = "tokens",
    security(("bearer" = []), ("tokenQuery" = []), ("tokenCookie" = [])),
    request_body = ClientTokenBody,
    responses(
        (status = 201, description = "Issued", body = IssuedOut),
        (status = 400, description = "Not JSON, or no `userId` or email", body = ErrorBody),
        (status = 401, description = "No token, or one that is invalid, expired or revoked", body = ErrorBody),
        (status = 403, description = "Not a client token", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    delete, path = "/api/tokens/{id}", tag = "tokens",
    security(("bearer" = []), ("tokenQuery" = []), ("tokenCookie" = [])),
    params(("id" = String, Path, description = "The token's id (`id` of the answer that issued it)")),
    responses(
        (status = 200, description = "Revoked: its WebSocket connections are closed", body = Done),
        (status = 401, description = "No token, or one that is invalid, expired or revoked", body = ErrorBody),
        (status = 403, description = "Neither a client token nor the token's own user", body = ErrorBody),
        (status = 404, description = "No such token", body = ErrorBody),
    )
)]
async fn revoke(State(ctx): State<Arc<Ctx>>, Path(id): Path<String>, call: Call) -> Answer<Done> {
    let id = Id::parse(&id).get("token")?;
    let rec = api_tokens::revoke(&ctx.core, &call.who, id).await?;
    cut_off(&ctx, rec.user_id, rec.id);
    Ok(Json(Done {
        message: "Token revoked successfully",
    }))
}

/// `PUT /api/tokens/{id}/revoke`: the same as `DELETE /api/tokens/{id}`.
#[utoipa::path(
    put, path = "/api/tokens/{id}/revoke", tag = "tokens",
    security(("bearer" = []), ("tokenQuery" = []), ("tokenCookie" = [])),
    params(("id" = String, Path, description = "The token's id (`id` of the answer that issued it)")),
    responses(
        (status = 200, description = "Revoked: its WebSocket connections are closed", body = Done),
        (status = 401, description = "No token, or one that is invalid, expired or revoked", body = ErrorBody),
        (status = 403, description = "Neither a client token nor the token's own user", body = ErrorBody),
        (status = 404, description = "No such token", body = ErrorBody),
    )
)]
async fn revoke_put(ctx: State<Arc<Ctx>>, id: Path<String>, call: Call) -> Answer<Done> {
    revoke(ctx, id, call).await
}
