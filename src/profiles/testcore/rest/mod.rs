//! testcore's REST routes under `/api/v1`, in the `{statusCode, data, message,
//! success}` envelope. The user routes are open (`user.rs`); the chat routes need
//! a signed-in user of the shared space (`chat.rs`, see `extract.rs`). Every
//! route shares one request budget per client address (`rate_limit.rs`), and
//! route names match in any case, as Express's do (`paths.rs`).

mod chat;
mod extract;
pub mod paths;
pub mod rate_limit;
mod user;

use std::sync::Arc;

use axum::{http::StatusCode, middleware};
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    Ctx,
    error::ApiError,
    wire::{ACCESS_COOKIE, CHAT_COOKIE, Failure},
};
use crate::profiles::api_docs::{self, Scheme};

/// The document's frame: the envelopes and the auth schemes; the paths come
/// from the handlers' `#[utoipa::path]` (`user.rs`, `chat.rs`).
#[derive(OpenApi)]
#[openapi(
    components(schemas(Failure)),
    tags(
        (name = "user", description = "Sign-up and login (open routes)"),
        (name = "chat", description = "Named rooms (a signed-in user of the shared space)"),
    )
)]
struct ApiDoc;

/// The `/api/v1` routes with their OpenAPI document (one list: each handler's
/// `#[utoipa::path]` names its method and path), behind the per-address budget.
pub fn router(ctx: Arc<Ctx>) -> OpenApiRouter<Arc<Ctx>> {
    let mut doc = ApiDoc::openapi();
    api_docs::describe(
        &mut doc,
        "testcore",
        "REST of the testcore frontend under `/api/v1`, in the `{statusCode, data, message, \
         success}` envelope. Route names match in any case (`/getchat`). Every route \
         shares one budget per client address (`TESTCORE_RATE_LIMIT` per \
         `TESTCORE_RATE_LIMIT_WINDOW_SECS`; then 429 with `Retry-After`). The WebSocket \
         relay is at `/ws1/` (`?token=`, Bearer, or the `UserChatToken` / `accessToken` \
         cookie).",
    );
    api_docs::secure(
        &mut doc,
        &[
            (
                "bearer",
                Scheme::Bearer("The `accessToken` of sign-up or login"),
            ),
            (
                "tokenQuery",
                Scheme::Query("token", "The access token as a query parameter"),
            ),
            (
                "accessCookie",
                Scheme::Cookie(
                    ACCESS_COOKIE,
                    "The access token sign-up and login set (httpOnly)",
                ),
            ),
            (
                "chatCookie",
                Scheme::Cookie(
                    CHAT_COOKIE,
                    "The chat token `connectChat` sets: one user, one room's WebSocket",
                ),
            ),
        ],
    );
    OpenApiRouter::with_openapi(doc)
        .routes(routes!(user::signup, user::colleges))
        .routes(routes!(user::register))
        .routes(routes!(user::login))
        .routes(routes!(chat::create))
        .routes(routes!(chat::list))
        .routes(routes!(chat::join, chat::leave, chat::users))
        .routes(routes!(
            chat::join_branch,
            chat::leave_branch,
            chat::users_branch
        ))
        .routes(routes!(chat::connect))
        .routes(routes!(chat::connect_branch))
        .layer(middleware::from_fn_with_state(ctx, rate_limit::per_address))
}

/// Any other path.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "route not found")
}

/// A known path with another method.
pub async fn not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "INVALID_DATA",
        "method not allowed",
    )
}
