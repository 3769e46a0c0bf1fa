//! chatsphere's health, profile, user and token routes. Issuing tokens and
//! creating users need a client token; revoking needs a client token or the
//! token's own user. Every answer that issues a token carries its `id`.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{delete, get, post, put},
};
use chrono::Utc;
use entity::users;
use serde_json::{Value, json};

use super::{
    Ctx,
    caller::{Call, error, fail, present},
    wire::*,
};
use crate::core::{
    Error,
    conversations::rooms::shared as rooms,
    identity::api_tokens::{self, Issued, Kind},
};

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

fn respond(r: Result<Response, Response>) -> Response {
    r.unwrap_or_else(|e| e)
}

fn issued_json(t: &Issued, user: &users::Model) -> Value {
    json!({
        "id": t.id.to_string(),
        "token": t.token,
        "user": user_json(user),
        "expiresAt": timestamp(t.expires_at),
    })
}

async fn health() -> Response {
    Json(json!({"status": "ok", "timestamp": timestamp(Utc::now())})).into_response()
}

async fn profile(call: Call) -> Response {
    respond(
        async {
            call.require_user()?;
            Ok(Json(json!({"user": user_json(&call.who.user)})).into_response())
        }
        .await,
    )
}

async fn update_profile(State(ctx): State<Arc<Ctx>>, call: Call) -> Response {
    respond(
        async {
            call.require_user()?;
            let b: UsernameBody = call.body()?;
            let Some(username) = present(&b.username) else {
                return Err(fail(StatusCode::BAD_REQUEST, "Username is required"));
            };
            let user = rooms::rename_user(&ctx.core, &call.who.user, username)
                .await
                .map_err(error)?;
            Ok(Json(json!({
                "message": "Profile updated successfully",
                "user": user_json(&user),
            }))
            .into_response())
        }
        .await,
    )
}

async fn list_users(State(ctx): State<Arc<Ctx>>, _call: Call) -> Response {
    match rooms::users(&ctx.core).await {
        Ok(us) => Json(Value::Array(us.iter().map(user_json).collect())).into_response(),
        Err(e) => error(e),
    }
}

async fn create_user(State(ctx): State<Arc<Ctx>>, call: Call) -> Response {
    respond(
        async {
            call.require_client()?;
            let b: UsernameBody = call.body()?;
            let Some(username) = present(&b.username) else {
                return Err(fail(StatusCode::BAD_REQUEST, "Username is required"));
            };
            let user = match rooms::create_user(&ctx.core, username).await {
                Ok(u) => u,
                Err(Error::Conflict(_)) => {
                    return Err(fail(StatusCode::CONFLICT, "Username already exists"));
                }
                Err(e) => return Err(error(e)),
            };
            let t = api_tokens::issue(&ctx.core, &user, Kind::User, None, None)
                .await
                .map_err(error)?;
            Ok((StatusCode::CREATED, Json(issued_json(&t, &user))).into_response())
        }
        .await,
    )
}

/// The user a token is asked for: 400 without `userId`, 404 for no such user.
async fn target(ctx: &Ctx, id: Option<Id>, missing: &str) -> Result<users::Model, Response> {
    let id = id.ok_or_else(|| fail(StatusCode::BAD_REQUEST, missing))?;
    let id = id.0.ok_or_else(|| error(Error::NotFound("user")))?;
    rooms::user(&ctx.core, id).await.map_err(error)
}

async fn user_token(State(ctx): State<Arc<Ctx>>, call: Call) -> Response {
    respond(
        async {
            call.require_client()?;
            let b: UserTokenBody = call.body()?;
            let user = target(&ctx, b.user_id, "User ID is required").await?;
            let scope = b.permissions.map(|p| p.to_string());
            let t = api_tokens::issue(&ctx.core, &user, Kind::User, scope, None)
                .await
                .map_err(error)?;
            Ok((StatusCode::CREATED, Json(issued_json(&t, &user))).into_response())
        }
        .await,
    )
}

async fn client_token(State(ctx): State<Arc<Ctx>>, call: Call) -> Response {
    respond(
        async {
            call.require_client()?;
            let b: ClientTokenBody = call.body()?;
            let Some(email) = present(&b.email) else {
                return Err(fail(
                    StatusCode::BAD_REQUEST,
                    "User ID and email are required",
                ));
            };
            let user = target(&ctx, b.user_id, "User ID and email are required").await?;
            let t = api_tokens::issue(&ctx.core, &user, Kind::Client, None, Some(email.to_owned()))
                .await
                .map_err(error)?;
            Ok((StatusCode::CREATED, Json(issued_json(&t, &user))).into_response())
        }
        .await,
    )
}

async fn revoke(State(ctx): State<Arc<Ctx>>, Path(id): Path<String>, call: Call) -> Response {
    respond(
        async {
            let id = parse_id(&id)
                .0
                .ok_or_else(|| error(Error::NotFound("token")))?;
            let rec = api_tokens::revoke(&ctx.core, &call.who, id)
                .await
                .map_err(error)?;
            ctx.cut_off(rec.user_id, rec.id);
            Ok(Json(json!({"message": "Token revoked successfully"})).into_response())
        }
        .await,
    )
}
