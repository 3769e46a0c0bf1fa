//! expresschat's REST routes. Answers keep the original's numeric `success` codes,
//! status codes and message strings word for word; the refusals are in
//! `error.rs`.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Json, Router,
    extract::{
        ConnectInfo, Query, State,
        rejection::{JsonRejection, QueryRejection},
    },
    http::header::{CACHE_CONTROL, CONTENT_TYPE},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use axum_extra::extract::cookie::{Cookie, CookieJar};

use super::{Ctx, SPACE, error::RestError, wire::*};
use crate::core::{
    Error,
    identity::accounts::{self, NewUser, Verified, VerifyVia},
    identity::auth,
};
use crate::profiles::kit::{auth_cookie, present};

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

/// The demo chat page of `examples/web/` at `/demo/` (`CHATWIRE_DEMO_PAGE`). Its
/// files are embedded at build time, so the binary serves them from any working
/// directory; `/demo` itself redirects, so the page's relative links resolve.
pub fn demo_page() -> Router {
    macro_rules! web {
        ($file:literal) => {
            include_str!(concat!("../../../examples/web/", $file))
        };
    }
    const HTML: &str = "text/html; charset=utf-8";
    const CSS: &str = "text/css; charset=utf-8";
    const JS: &str = "text/javascript; charset=utf-8";
    const FILES: [(&str, &str, &str); 4] = [
        ("/demo/", HTML, web!("index.html")),
        ("/demo/style.css", CSS, web!("style.css")),
        ("/demo/app.js", JS, web!("app.js")),
        ("/demo/socket.io.min.js", JS, web!("socket.io.min.js")),
    ];
    let mut router = Router::new().route("/demo", get(|| async { Redirect::to("/demo/") }));
    for (path, mime, body) in FILES {
        let headers = [(CONTENT_TYPE, mime), (CACHE_CONTROL, "no-cache")];
        router = router.route(path, get(move || async move { (headers, body) }));
    }
    router
}

/// A JSON body where a missing or malformed body reads as "no fields" (the
/// original answered those like an empty form); one over the size limit is a 413.
fn body<T: Default>(b: Result<Json<T>, JsonRejection>) -> Result<T, RestError> {
    match b {
        Ok(Json(t)) => Ok(t),
        Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            Err(RestError::TooLarge)
        }
        Err(_) => Ok(T::default()),
    }
}

/// A password as typed: only an empty one is missing (spaces are a password).
fn password(p: &Option<String>) -> Option<&str> {
    p.as_deref().filter(|p| !p.is_empty())
}

fn ok(message: &'static str) -> Json<Outcome> {
    Json(Outcome {
        success: 1,
        message,
    })
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
) -> Result<Json<Outcome>, RestError> {
    let b = body(b)?;
    let (Some(name), Some(email), Some(password)) =
        (present(&b.name), present(&b.email), password(&b.password))
    else {
        return Err(RestError::MissingCredentials);
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
    let user = accounts::create_user(&ctx.core, new).await?;
    accounts::send_verification(&ctx.core, &user, via(&b.source))
        .await
        .map_err(|_| RestError::MailFailed)?;
    Ok(ok("Verification mail sent, please verify your email"))
}

/// Both session cookies, as login and the web verification set them.
fn session_cookies(ctx: &Ctx, jar: CookieJar, session: auth::Session) -> CookieJar {
    let keys = &ctx.core.keys;
    jar.add(auth_cookie(
        "access_token",
        session.access_token,
        keys.access_ttl,
        ctx.cookie_secure,
    ))
    .add(auth_cookie(
        "refresh_token",
        session.refresh_token,
        keys.refresh_ttl,
        ctx.cookie_secure,
    ))
}

async fn login(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    b: Result<Json<LoginBody>, JsonRejection>,
) -> Result<(CookieJar, Json<Outcome>), RestError> {
    let b = body(b)?;
    let (Some(email), Some(password)) = (present(&b.email), password(&b.password)) else {
        return Err(RestError::BadLoginRequest);
    };
    accounts::throttle_address(&ctx.core, peer.ip()).await?;
    let user = accounts::check_login(&ctx.core, SPACE, email, password).await?;
    let session = auth::issue_session(&ctx.core, &user).await?;
    Ok((session_cookies(&ctx, jar, session), ok("Login Successful")))
}

async fn verify(
    State(ctx): State<Arc<Ctx>>,
    jar: CookieJar,
    q: Result<Query<VerifyQuery>, QueryRejection>,
) -> Result<Response, RestError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let (Some(email), Some(token)) = (present(&q.email), present(&q.token)) else {
        return Err(RestError::BadVerifyLink);
    };
    let verified = accounts::verify_email(&ctx.core, SPACE, email, token)
        .await
        .map_err(|e| match e {
            Error::InvalidData(_) | Error::NotFound(_) => RestError::BadVerifyToken,
            other => other.into(),
        })?;
    if q.source.as_deref() == Some("app") {
        return Ok(ok("Email verified successfully").into_response());
    }
    match verified {
        Verified::Now(user) => {
            let session = auth::issue_session(&ctx.core, &user).await?;
            Ok((session_cookies(&ctx, jar, session), Html(VERIFIED_PAGE)).into_response())
        }
        // A link followed again proves nothing (its token is spent, and was not
        // even checked): no session, or anyone knowing the email could sign in.
        Verified::Already(_) => Ok(Html(ALREADY_VERIFIED_PAGE).into_response()),
    }
}

/// The page of a link followed once the email is verified: it signs nobody in.
const ALREADY_VERIFIED_PAGE: &str = concat!(
    "<!doctype html><html><head><meta charset=\"utf-8\">",
    "<meta http-equiv=\"refresh\" content=\"6; url=/\">",
    "<title>Email verified</title></head><body><h1>Email already verified</h1>",
    "<p>Your email is verified. Log in to open the chat.</p>",
    "<p><a href=\"/\">Open the chat</a></p></body></html>",
);

/// The web verification's page. Like the original's, it moves on to the chat
/// (`/`) after 6 seconds, here with a meta refresh (no script needed); the link
/// stays for whoever is faster or has refreshes turned off.
const VERIFIED_PAGE: &str = concat!(
    "<!doctype html><html><head><meta charset=\"utf-8\">",
    "<meta http-equiv=\"refresh\" content=\"6; url=/\">",
    "<title>Email verified</title></head><body><h1>Email verified</h1>",
    "<p>Your email is verified and you are logged in. Taking you to the chat…</p>",
    "<p><a href=\"/\">Open the chat</a></p></body></html>",
);

async fn logout(State(ctx): State<Arc<Ctx>>, jar: CookieJar) -> (CookieJar, Json<Note>) {
    if let Some(refresh) = jar.get("refresh_token").map(|c| c.value().to_owned())
        && let Err(e) = auth::revoke_refresh(&ctx.core, SPACE, &refresh).await
    {
        tracing::warn!(error = %e, "logout could not revoke the refresh token");
    }
    let jar = jar
        .remove(Cookie::build("access_token").path("/"))
        .remove(Cookie::build("refresh_token").path("/"));
    let note = Note {
        message: "Logged out successfully",
    };
    (jar, Json(note))
}

async fn resend(
    State(ctx): State<Arc<Ctx>>,
    b: Result<Json<ResendBody>, JsonRejection>,
) -> Result<Json<Outcome>, RestError> {
    let b = body(b)?;
    let Some(email) = present(&b.email) else {
        return Err(RestError::MissingEmail);
    };
    let user = accounts::find_in_space(&ctx.core, SPACE, email)
        .await?
        .ok_or(Error::NotFound("user"))?;
    if user.email_verified {
        return Err(RestError::AlreadyVerified);
    }
    accounts::send_verification(&ctx.core, &user, via(&b.source))
        .await
        .map_err(|_| RestError::MailFailed)?;
    Ok(ok("Verification mail sent again"))
}

async fn update_access_token(
    State(ctx): State<Arc<Ctx>>,
    jar: CookieJar,
    b: Result<Json<UpdateAccessBody>, JsonRejection>,
) -> Result<(CookieJar, Json<Note>), RestError> {
    let b = body(b)?;
    // Only a token this server issued for this space, still valid, becomes the
    // cookie (an orgchat token is as invalid here as a forged one).
    let token = b.token().ok_or(RestError::InvalidAccessToken)?;
    match auth::access_user(&ctx.core, SPACE, token).await {
        Ok(_) => {}
        Err(auth::AccessError::Failed(e)) => return Err(e.into()),
        Err(_) => return Err(RestError::InvalidAccessToken),
    }
    let cookie = auth_cookie(
        "access_token",
        token.to_owned(),
        ctx.core.keys.access_ttl,
        ctx.cookie_secure,
    );
    let note = Note {
        message: "Access token updated",
    };
    Ok((jar.add(cookie), Json(note)))
}
