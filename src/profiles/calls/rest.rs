//! calls' REST routes under `/api`, with the envelopes `{success:true, ...}` and
//! `{success:false, error:{code, message}}`. Every route but login and register
//! needs `Authorization: Bearer <token>`.

use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use axum::{
    Json, Router,
    extract::{ConnectInfo, FromRequestParts, Query, State, rejection::JsonRejection},
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use entity::users;
use serde_json::{Value, json};

use super::{Ctx, realtime::authenticate, wire::*};
use crate::core::{
    Error, calls,
    identity::accounts::{self, NewUser},
    identity::auth,
    messages::direct::{self, Before},
};

pub fn router(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/register", post(register))
        .route("/api/messages", get(list_messages).post(post_message))
        .route("/api/calls", get(list_calls))
        .with_state(ctx)
}

/// A refusal in the profile's envelope.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// Maps a core error; `internal` is the code of an unexpected failure.
    fn from_core(e: Error, internal: &'static str) -> Self {
        use StatusCode as S;
        match e {
            Error::AuthRequired | Error::InvalidCredentials => {
                Self::new(S::UNAUTHORIZED, "UNAUTHORIZED", "Invalid or missing token")
            }
            Error::NotFound("user") => Self::new(S::NOT_FOUND, "USER_NOT_FOUND", "User not found"),
            Error::NotFound(what) => {
                Self::new(S::NOT_FOUND, "NOT_FOUND", format!("{what} not found"))
            }
            Error::InvalidData(m) => Self::new(S::BAD_REQUEST, "INVALID_DATA", m),
            Error::RateLimited { retry_after_secs } => Self::new(
                S::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                format!("Too many requests, retry in {retry_after_secs} s"),
            ),
            Error::UserNotConnected | Error::CallInProgress => {
                Self::new(S::CONFLICT, "USER_UNAVAILABLE", "User is offline or busy")
            }
            Error::PermissionDenied(m) => Self::new(S::FORBIDDEN, "PERMISSION_DENIED", m),
            Error::Conflict(m) => Self::new(S::CONFLICT, "CONFLICT", m),
            Error::EmailNotVerified => {
                Self::new(S::UNAUTHORIZED, "UNAUTHORIZED", "Email not verified")
            }
            Error::Internal => {
                Self::new(S::INTERNAL_SERVER_ERROR, internal, "Something went wrong")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"success": false, "error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "INVALID_DATA", message)
}

/// A JSON body, or INVALID_DATA in the envelope.
fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(t)| t)
        .map_err(|e| invalid(format!("invalid JSON body: {}", e.body_text())))
}

/// The user of the request's `Authorization: Bearer` token.
pub struct Authed(users::Model);

impl FromRequestParts<Arc<Ctx>> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<Ctx>) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::from_core(Error::AuthRequired, "INTERNAL"))?;
        authenticate(ctx, token)
            .await
            .map(Authed)
            .map_err(|e| ApiError::from_core(e, "INTERNAL"))
    }
}

fn user_out(u: &users::Model) -> UserOut {
    UserOut {
        id: id_str(u.id),
        name: u.name.clone(),
        email: u.email.clone().unwrap_or_default(),
    }
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `{success:true, token, user}` for a logged-in or new user.
fn session(ctx: &Ctx, status: StatusCode, u: &users::Model) -> Result<Response, ApiError> {
    let token =
        auth::issue_access(&ctx.core, u.id).map_err(|e| ApiError::from_core(e, "INTERNAL"))?;
    let body = json!({"success": true, "token": token, "user": user_out(u)});
    Ok((status, Json(body)).into_response())
}

async fn login(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    b: Result<Json<LoginBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    accounts::throttle_address(&ctx.core, peer.ip())
        .map_err(|e| ApiError::from_core(e, "INTERNAL"))?;
    let b = body(b)?;
    let (Some(email), Some(password)) = (present(&b.email), b.password.as_deref()) else {
        return Err(invalid("email and password are required"));
    };
    let denied = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "Invalid email or password",
        )
    };
    let user = match accounts::check_login(&ctx.core, email, password).await {
        Ok(u) if u.organization_id.is_none() => u,
        Ok(_) | Err(Error::NotFound(_)) | Err(Error::InvalidCredentials) => return Err(denied()),
        Err(e) => return Err(ApiError::from_core(e, "INTERNAL")),
    };
    session(&ctx, StatusCode::OK, &user)
}

/// Registration creates a verified user at once: the calls frontend has no
/// verification step (see the README).
async fn register(
    State(ctx): State<Arc<Ctx>>,
    b: Result<Json<RegisterBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let b = body(b)?;
    let (Some(email), Some(password)) = (present(&b.email), b.password.clone()) else {
        return Err(invalid("email and password are required"));
    };
    let name = present(&b.name)
        .map(str::to_owned)
        .unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_owned());
    let new = NewUser {
        name,
        email: Some(email.to_owned()),
        username: None,
        password: Some(password),
        organization_id: None,
        role: "user".into(),
        verified: true,
    };
    match accounts::create_user(&ctx.core, new).await {
        Ok(u) => session(&ctx, StatusCode::CREATED, &u),
        Err(Error::Conflict(_)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "USER_EXISTS",
            "A user with this email already exists",
        )),
        Err(e) => Err(ApiError::from_core(e, "INTERNAL")),
    }
}

/// `limit` (default 50, at most HISTORY_PAGE) and an id cursor from a query.
fn page(ctx: &Ctx, q: &HashMap<String, String>) -> Result<u64, ApiError> {
    match q.get("limit").map(|l| l.trim().parse::<u64>()) {
        None => Ok(50.min(ctx.core.limits.history_page)),
        Some(Ok(n)) if n >= 1 => Ok(n.min(ctx.core.limits.history_page)),
        Some(_) => Err(invalid("limit must be a positive number")),
    }
}

/// `GET /api/messages?with=&before=&limit=`: the newest `limit` of the caller's
/// direct messages older than `before` (a message id or an ISO time), oldest
/// first; `hasMore` tells whether older ones exist.
async fn list_messages(
    State(ctx): State<Arc<Ctx>>,
    Authed(me): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let limit = page(&ctx, &q)?;
    let with = match q.get("with").map(|w| w.trim()).filter(|w| !w.is_empty()) {
        Some(w) => {
            let id = IdIn(w.to_owned())
                .num("user")
                .map_err(|e| ApiError::from_core(e, "INTERNAL"))?;
            direct::peer(&ctx.core, &me, id)
                .await
                .map_err(|e| ApiError::from_core(e, "INTERNAL"))?;
            Some(id)
        }
        None => None,
    };
    let before = match q.get("before").map(|b| b.trim()).filter(|b| !b.is_empty()) {
        None => None,
        Some(b) => Some(match b.parse::<i64>() {
            Ok(id) => Before::Message(id),
            Err(_) => Before::Time(
                chrono::DateTime::parse_from_rfc3339(b)
                    .map_err(|_| invalid("before must be a message id or an ISO 8601 time"))?
                    .to_utc(),
            ),
        }),
    };
    let mut rows = direct::history(&ctx.core, me.id, with, before, limit + 1)
        .await
        .map_err(|e| ApiError::from_core(e, "INTERNAL"))?;
    let has_more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let messages: Vec<MessageWire> = rows
        .iter()
        .rev()
        .map(|d| {
            let mut w = MessageWire::new(&d.message, d.receiver_id);
            w.read_by = Some(if d.read_by_receiver {
                vec![id_str(d.receiver_id)]
            } else {
                Vec::new()
            });
            w
        })
        .collect();
    Ok(Json(
        json!({"success": true, "messages": messages, "hasMore": has_more}),
    ))
}

/// `POST /api/messages {receiverId, content, type}`: sent like a socket message
/// (every socket of both users gets `message`).
async fn post_message(
    State(ctx): State<Arc<Ctx>>,
    Authed(me): Authed,
    b: Result<Json<PostMessage>, JsonRejection>,
) -> Result<Response, ApiError> {
    let b = body(b)?;
    let fail = |e| ApiError::from_core(e, "MESSAGE_SEND_FAILED");
    let to = b
        .receiver_id
        .ok_or_else(|| invalid("receiverId is required"))?;
    let content = b.content.ok_or_else(|| invalid("content is required"))?;
    let kind = message_type(b.kind.as_deref()).map_err(fail)?;
    let to = to.num("user").map_err(fail)?;
    ctx.messages.check(&me.id).map_err(fail)?;
    let sent = direct::send(&ctx.core, &me, to, &content, kind, None)
        .await
        .map_err(fail)?;
    let message = MessageWire::new(&sent.message, sent.receiver_id);
    Ok((
        StatusCode::CREATED,
        Json(json!({"success": true, "message": message})),
    )
        .into_response())
}

/// `GET /api/calls?before=&limit=`: the caller's calls, newest first (`before` is
/// a call id or handle).
async fn list_calls(
    State(ctx): State<Arc<Ctx>>,
    Authed(me): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let limit = page(&ctx, &q)?;
    let before = match q.get("before").map(|b| b.trim()).filter(|b| !b.is_empty()) {
        None => None,
        Some(b) => Some(
            b.split('_')
                .next()
                .and_then(|n| n.parse::<i64>().ok())
                .ok_or_else(|| invalid("before must be a call id"))?,
        ),
    };
    let calls: Vec<CallRecord> = calls::history(&ctx.core, me.id, before, limit)
        .await
        .map_err(|e| ApiError::from_core(e, "INTERNAL"))?
        .iter()
        .map(CallRecord::new)
        .collect();
    Ok(Json(json!({"success": true, "calls": calls})))
}
