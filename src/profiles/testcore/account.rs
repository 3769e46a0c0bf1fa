//! testcore's user routes (the document names a User API without describing it):
//! `POST /api/v1/user/register {name, email, password}` (`username`, `userName`
//! or `fullName` may stand for `name`) and `POST /api/v1/user/login {email,
//! password}`. Both answer `data: {userData, accessToken}` and set the httpOnly
//! cookies `accessToken` and `refreshToken`. Accounts are those of the shared,
//! organization-less space (expresschat, calls); a testcore registration is
//! verified at once (the frontend has no verification step).

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{State, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use axum_extra::extract::cookie::CookieJar;
use entity::users;
use serde_json::json;

use super::{Ctx, rest::body, wire::*};
use crate::core::{Error, identity::accounts, identity::auth};

pub fn router() -> Router<Arc<Ctx>> {
    Router::new()
        .route("/api/v1/user/register", post(register))
        .route("/api/v1/user/login", post(login))
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

async fn register(
    State(ctx): State<Arc<Ctx>>,
    b: Result<Json<RegisterBody>, JsonRejection>,
) -> Response {
    let b = match body(b) {
        Ok(b) => b,
        Err(e) => return error(&e),
    };
    let (Some(name), Some(email), Some(password)) = (
        present(&b.name).or(present(&b.username)),
        present(&b.email),
        b.password.as_deref().filter(|p| !p.is_empty()),
    ) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "name, email and password are required",
        );
    };
    let new = accounts::NewUser {
        name: name.to_owned(),
        email: Some(email.to_owned()),
        username: None,
        password: Some(password.to_owned()),
        organization_id: None,
        role: "user".into(),
        verified: true,
    };
    match accounts::create_user(&ctx.core, new).await {
        Ok(user) => signed_in(&ctx, user, "user registered").await,
        Err(Error::Conflict(_)) => fail(StatusCode::CONFLICT, "user already exists"),
        Err(e) => error(&e),
    }
}

async fn login(State(ctx): State<Arc<Ctx>>, b: Result<Json<LoginBody>, JsonRejection>) -> Response {
    let b = match body(b) {
        Ok(b) => b,
        Err(e) => return error(&e),
    };
    let (Some(email), Some(password)) = (
        present(&b.email),
        b.password.as_deref().filter(|p| !p.is_empty()),
    ) else {
        return fail(StatusCode::BAD_REQUEST, "email and password are required");
    };
    match accounts::check_login(&ctx.core, email, password).await {
        // Organization accounts (orgchat) live in another space.
        Ok(user) if user.organization_id.is_none() => signed_in(&ctx, user, "user logged in").await,
        Ok(_) | Err(Error::NotFound(_) | Error::InvalidCredentials) => {
            super::count_error("INVALID_CREDENTIALS", "login", 0);
            fail(StatusCode::UNAUTHORIZED, "invalid credentials")
        }
        Err(e) => error(&e),
    }
}

async fn signed_in(ctx: &Ctx, user: users::Model, message: &str) -> Response {
    let session = match auth::issue_session(&ctx.core, user.id).await {
        Ok(s) => s,
        Err(e) => return error(&e),
    };
    let keys = &ctx.core.keys;
    let jar = CookieJar::new()
        .add(crate::profiles::kit::auth_cookie(
            "accessToken",
            session.access_token.clone(),
            keys.access_ttl,
            ctx.cookie_secure,
        ))
        .add(crate::profiles::kit::auth_cookie(
            "refreshToken",
            session.refresh_token,
            keys.refresh_ttl,
            ctx.cookie_secure,
        ));
    let data = json!({"userData": self_json(&user), "accessToken": session.access_token});
    (jar, ok(data, message)).into_response()
}
