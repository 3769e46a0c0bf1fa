//! expresschat's REST routes. Answers keep the original's numeric `success` codes,
//! status codes and message strings word for word; the refusals are in
//! `error.rs`.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Json,
    extract::{
        ConnectInfo, Query, State,
        rejection::{JsonRejection, QueryRejection},
    },
    response::{Html, IntoResponse, Response},
};
use axum_extra::extract::cookie::{Cookie, CookieJar};

use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Ctx, SPACE, error::RestError, wire::*};
use crate::core::{
    Error,
    identity::accounts::{self, NewUser, Verified, VerifyVia},
    identity::auth,
};
use crate::profiles::api_docs::{self, Scheme};
use crate::profiles::kit::{auth_cookie, present};

/// The document's frame: what every route shares (the auth schemes, the
/// refusal's schema); the paths come from the handlers' `#[utoipa::path]`.
#[derive(OpenApi)]
#[openapi(
    components(schemas(Refusal)),
    tags((name = "auth", description = "Sign-up, email verification, login and session cookies"))
)]
struct ApiDoc;

/// The REST routes with their OpenAPI document (one list: each handler's
/// `#[utoipa::path]` names its method and path).
pub fn router(ctx: Arc<Ctx>) -> OpenApiRouter {
    let mut doc = ApiDoc::openapi();
    api_docs::describe(
        &mut doc,
        "expresschat",
        "Accounts and sessions of the expresschat frontend. Answers keep the original's \
         numeric `success` codes and status codes (refusals are often 404, and a wrong \
         password is 200 with `success:0`). Chats and messages are Socket.IO events on \
         namespace `/`, authenticated by the `access_token` / `refresh_token` cookies \
         that login sets (or the `accessToken` / `refreshToken` query parameters).",
    );
    api_docs::secure(
        &mut doc,
        &[
            (
                "accessCookie",
                Scheme::Cookie(
                    "access_token",
                    "Access JWT set by login (httpOnly); the Socket.IO handshake reads it",
                ),
            ),
            (
                "refreshCookie",
                Scheme::Cookie(
                    "refresh_token",
                    "Refresh JWT set by login (httpOnly); logout revokes it",
                ),
            ),
            (
                "accessQuery",
                Scheme::Query(
                    "accessToken",
                    "Access JWT as a Socket.IO handshake query parameter (with `refreshToken`)",
                ),
            ),
        ],
    );
    OpenApiRouter::with_openapi(doc)
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(verify))
        .routes(routes!(verify_capitalized))
        .routes(routes!(logout))
        .routes(routes!(resend))
        .routes(routes!(update_access_token))
        .with_state(ctx)
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

/// Creates an unverified account and mails its verification link (or code).
#[utoipa::path(
    post, path = "/signup", tag = "auth",
    request_body(content = SignupBody, description = "A missing or malformed body reads as no fields"),
    responses(
        (status = 200, description = "`{success:1}`: the verification mail is sent", body = Outcome),
        (status = 404, description = "`success:-1` a field is missing; `success:0` \"User Already Exists\"", body = Refusal),
        (status = 500, description = "`success:-1`: the mail could not be sent", body = Refusal),
    )
)]
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

/// Signs in: sets the `access_token` and `refresh_token` cookies.
#[utoipa::path(
    post, path = "/login", tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, description = "`{success:1, \"Login Successful\"}` with the cookies set; \
            a wrong password is also 200: `{success:0, \"Incorrect PassWord\"}`", body = Outcome,
            headers(("Set-Cookie" = String, description = "`access_token` and `refresh_token` (httpOnly)"))),
        (status = 404, description = "`{success:-1, msg:\"Bad request\"}` without email or password; \
            `success:0` \"NO Such User\"; `success:-2` email not verified", body = Refusal),
        (status = 429, description = "Too many login attempts (`Retry-After`)", body = Refusal,
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
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

/// Opens a verification link: the web page signs the user in (cookies) and
/// moves on to the chat; with `source=app` the answer is JSON.
#[utoipa::path(
    get, path = "/verify", tag = "auth",
    params(VerifyQuery),
    responses(
        (status = 200, description = "The \"Email verified\" page (and the session cookies, the first time); \
            with `source=app`, `{success:1, \"Email verified successfully\"}`",
            content((String = "text/html"), (Outcome = "application/json")),
            headers(("Set-Cookie" = String, description = "`access_token` and `refresh_token` (httpOnly), the first time a link is followed"))),
        (status = 400, description = "`success:0`: no email or token, or a wrong or expired token", body = Refusal),
    )
)]
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

/// `/Verify`: the same as `/verify` (the original's mails spelled it so).
#[utoipa::path(
    get, path = "/Verify", tag = "auth",
    params(VerifyQuery),
    responses(
        (status = 200, description = "As `GET /verify`",
            content((String = "text/html"), (Outcome = "application/json"))),
        (status = 400, description = "As `GET /verify`", body = Refusal),
    )
)]
async fn verify_capitalized(
    ctx: State<Arc<Ctx>>,
    jar: CookieJar,
    q: Result<Query<VerifyQuery>, QueryRejection>,
) -> Result<Response, RestError> {
    verify(ctx, jar, q).await
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

/// Signs out: revokes the `refresh_token` cookie's token and clears both cookies.
#[utoipa::path(
    post, path = "/logout", tag = "auth",
    security((), ("refreshCookie" = [])),
    responses(
        (status = 200, description = "Always: \"Logged out successfully\"", body = Note),
    )
)]
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

/// Sends the verification mail again.
#[utoipa::path(
    post, path = "/resend", tag = "auth",
    request_body = ResendBody,
    responses(
        (status = 200, description = "`{success:1, \"Verification mail sent again\"}`", body = Outcome),
        (status = 404, description = "`success:-1` no email; `success:0` \"NO Such User\" or \"Email already verified\"", body = Refusal),
        (status = 500, description = "`success:-1`: the mail could not be sent", body = Refusal),
    )
)]
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

/// Sets the `access_token` cookie to a fresh access token the client got on
/// the socket (`access-token` event).
#[utoipa::path(
    post, path = "/update-access-token", tag = "auth",
    request_body = UpdateAccessBody,
    responses(
        (status = 200, description = "\"Access token updated\"", body = Note,
            headers(("Set-Cookie" = String, description = "`access_token` (httpOnly)"))),
        (status = 400, description = "\"Invalid access token\": none sent, or not a valid one of this server", body = Note),
    )
)]
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
