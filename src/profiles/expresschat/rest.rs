//! expresschat's REST routes. Answers keep the original's numeric `success` codes,
//! status codes and message strings word for word.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Json, Router,
    extract::{
        ConnectInfo, Query, State,
        rejection::{JsonRejection, QueryRejection},
    },
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use serde_json::json;

use super::{Ctx, wire::*};
use crate::core::{
    Error,
    identity::accounts::{self, NewUser, VerifyVia},
    identity::auth,
};

pub fn router(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .route("/signup", post(signup))
        .route("/login", post(login))
        .route("/verify", get(verify))
        .route("/Verify", get(verify))
        .route("/logout", post(logout))
        .route("/resend", post(resend))
        .route("/update-access-token", post(update_access_token))
        .with_state(ctx)
}

/// A JSON body where a missing or malformed body reads as "no fields".
fn body<T: Default>(b: Result<Json<T>, JsonRejection>) -> T {
    b.map(|Json(t)| t).unwrap_or_default()
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn reply(status: StatusCode, success: i32, message: &'static str) -> Response {
    (status, Json(Outcome { success, message })).into_response()
}

fn via(source: &Option<String>) -> VerifyVia {
    if source.as_deref() == Some("app") {
        VerifyVia::Code
    } else {
        VerifyVia::Link
    }
}

async fn signup(
    State(ctx): State<Arc<Ctx>>,
    b: Result<Json<SignupBody>, JsonRejection>,
) -> Response {
    let b = body(b);
    let (Some(name), Some(email), Some(password)) = (
        present(&b.name),
        present(&b.email),
        b.password.as_deref().filter(|p| !p.is_empty()),
    ) else {
        return reply(StatusCode::NOT_FOUND, -1, "Enter All credentials properly");
    };
    let new = NewUser {
        name: name.to_owned(),
        email: Some(email.to_owned()),
        username: None,
        password: Some(password.to_owned()),
        organization_id: None,
        role: "user".into(),
        verified: false,
    };
    let user = match accounts::create_user(&ctx.core, new).await {
        Ok(u) => u,
        Err(Error::Conflict(_)) => return reply(StatusCode::NOT_FOUND, 0, "User Already Exists"),
        Err(Error::InvalidData(_)) => {
            return reply(StatusCode::NOT_FOUND, -1, "Enter All credentials properly");
        }
        Err(_) => {
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                -1,
                "Something went wrong",
            );
        }
    };
    match accounts::send_verification(&ctx.core, &user, via(&b.source)).await {
        Ok(()) => reply(
            StatusCode::OK,
            1,
            "Verification mail sent, please verify your email",
        ),
        Err(_) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            -1,
            "Could not send the verification mail",
        ),
    }
}

fn session_cookies(ctx: &Ctx, jar: CookieJar, access: String, refresh: String) -> CookieJar {
    let keys = &ctx.core.keys;
    jar.add(crate::profiles::kit::auth_cookie(
        "access_token",
        access,
        keys.access_ttl,
        ctx.cookie_secure,
    ))
    .add(crate::profiles::kit::auth_cookie(
        "refresh_token",
        refresh,
        keys.refresh_ttl,
        ctx.cookie_secure,
    ))
}

async fn login(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    b: Result<Json<LoginBody>, JsonRejection>,
) -> Response {
    let b = body(b);
    let (Some(email), Some(password)) = (
        present(&b.email),
        b.password.as_deref().filter(|p| !p.is_empty()),
    ) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"success": -1, "msg": "Bad request"})),
        )
            .into_response();
    };
    let checked = match accounts::throttle_address(&ctx.core, peer.ip()) {
        Ok(()) => accounts::check_login(&ctx.core, email, password).await,
        Err(e) => Err(e),
    };
    let user = match checked {
        Ok(u) => u,
        Err(Error::NotFound(_)) => return reply(StatusCode::NOT_FOUND, 0, "NO Such User"),
        Err(Error::EmailNotVerified) => {
            return reply(
                StatusCode::NOT_FOUND,
                -2,
                "Account Exist but Email not verified",
            );
        }
        Err(Error::InvalidCredentials) => return reply(StatusCode::OK, 0, "Incorrect PassWord"),
        Err(Error::RateLimited { retry_after_secs }) => {
            let mut r = reply(
                StatusCode::TOO_MANY_REQUESTS,
                -1,
                "Too many login attempts, try again later",
            );
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, retry_after_secs.into());
            return r;
        }
        Err(_) => {
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                -1,
                "Something went wrong",
            );
        }
    };
    match auth::issue_session(&ctx.core, user.id).await {
        Ok(s) => (
            session_cookies(&ctx, jar, s.access_token, s.refresh_token),
            Json(Outcome {
                success: 1,
                message: "Login Successful",
            }),
        )
            .into_response(),
        Err(_) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            -1,
            "Something went wrong",
        ),
    }
}

async fn verify(
    State(ctx): State<Arc<Ctx>>,
    jar: CookieJar,
    q: Result<Query<VerifyQuery>, QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let app = q.source.as_deref() == Some("app");
    let (Some(email), Some(token)) = (present(&q.email), present(&q.token)) else {
        return reply(StatusCode::BAD_REQUEST, 0, "Invalid verification link");
    };
    let user = match accounts::verify_email(&ctx.core, email, token).await {
        Ok(u) => u,
        Err(Error::InvalidData(_)) | Err(Error::NotFound(_)) => {
            return reply(
                StatusCode::BAD_REQUEST,
                0,
                "Invalid or expired verification token",
            );
        }
        Err(_) => {
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                -1,
                "Something went wrong",
            );
        }
    };
    if app {
        return reply(StatusCode::OK, 1, "Email verified successfully");
    }
    match auth::issue_session(&ctx.core, user.id).await {
        Ok(s) => (
            session_cookies(&ctx, jar, s.access_token, s.refresh_token),
            Html(VERIFIED_PAGE),
        )
            .into_response(),
        Err(_) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            -1,
            "Something went wrong",
        ),
    }
}

const VERIFIED_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Email verified</title></head>\
<body><h1>Email verified</h1><p>Your email is verified and you are logged in.</p><p><a href=\"/\">Open the chat</a></p></body></html>";

async fn logout(State(ctx): State<Arc<Ctx>>, jar: CookieJar) -> Response {
    if let Some(refresh) = jar.get("refresh_token").map(|c| c.value().to_owned())
        && let Err(e) = auth::revoke_refresh(&ctx.core, &refresh).await
    {
        tracing::warn!(error = %e, "logout could not revoke the refresh token");
    }
    let jar = jar
        .remove(Cookie::build("access_token").path("/"))
        .remove(Cookie::build("refresh_token").path("/"));
    (jar, Json(json!({"message": "Logged out successfully"}))).into_response()
}

async fn resend(
    State(ctx): State<Arc<Ctx>>,
    b: Result<Json<ResendBody>, JsonRejection>,
) -> Response {
    let b = body(b);
    let Some(email) = present(&b.email) else {
        return reply(StatusCode::NOT_FOUND, -1, "Enter Email properly");
    };
    let user = match accounts::find_by_email(&ctx.core, email).await {
        Ok(Some(u)) => u,
        Ok(None) => return reply(StatusCode::NOT_FOUND, 0, "NO Such User"),
        Err(_) => {
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                -1,
                "Something went wrong",
            );
        }
    };
    if user.email_verified {
        return reply(StatusCode::NOT_FOUND, 0, "Email already verified");
    }
    match accounts::send_verification(&ctx.core, &user, via(&b.source)).await {
        Ok(()) => reply(StatusCode::OK, 1, "Verification mail sent again"),
        Err(_) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            -1,
            "Could not send the verification mail",
        ),
    }
}

async fn update_access_token(
    State(ctx): State<Arc<Ctx>>,
    jar: CookieJar,
    b: Result<Json<UpdateAccessBody>, JsonRejection>,
) -> Response {
    let b = body(b);
    // Only a token this server issued and that is still valid becomes the cookie.
    let Some(token) = present(&b.acess_token).filter(|t| auth::verify_access(&ctx.core, t).is_ok())
    else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "Invalid access token"})),
        )
            .into_response();
    };
    let cookie = crate::profiles::kit::auth_cookie(
        "access_token",
        token.to_owned(),
        ctx.core.keys.access_ttl,
        ctx.cookie_secure,
    );
    (
        jar.add(cookie),
        Json(json!({"message": "Access token updated"})),
    )
        .into_response()
}
