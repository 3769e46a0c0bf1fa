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

use axum::{
    Router,
    http::StatusCode,
    middleware,
    routing::{get, post},
};

use super::{Ctx, error::ApiError};

/// The `/api/v1` routes, behind the per-address budget.
pub fn router(ctx: Arc<Ctx>) -> Router<Arc<Ctx>> {
    Router::new()
        .route(
            "/api/v1/user/signup",
            post(user::signup).get(user::colleges),
        )
        .route("/api/v1/user/register", post(user::register))
        .route("/api/v1/user/login", post(user::login))
        .route("/api/v1/chat/createChat", post(chat::create))
        .route("/api/v1/chat/getChat", get(chat::list))
        .route(
            "/api/v1/chat/ChatQuery/{room}",
            post(chat::join).put(chat::leave).get(chat::users),
        )
        .route(
            "/api/v1/chat/ChatQuery/{college}/{branch}",
            post(chat::join).put(chat::leave).get(chat::users),
        )
        .route("/api/v1/chat/connectChat/{room}", post(chat::connect))
        .route(
            "/api/v1/chat/connectChat/{college}/{branch}",
            post(chat::connect),
        )
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
