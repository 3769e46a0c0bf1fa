//! calls' REST routes under `/api`, answering `{success:true, ...}`; refusals are
//! `ApiError`s (`error.rs`). Every route but login and register needs
//! `Authorization: Bearer <token>`.

use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use axum::{
    Json,
    extract::{ConnectInfo, FromRequestParts, Query, State, rejection::JsonRejection},
    http::{StatusCode, request::Parts},
};
use entity::users;

use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    Ctx, SPACE,
    error::{ApiError, RestError},
    handshake::authenticate,
    wire::{
        CallRecord, CallsPage, LoginBody, MessageSent, MessageWire, MessagesPage, PostMessage,
        RegisterBody, SessionOut, UserOut, id_str, message_type,
    },
};
use crate::core::{
    Error, calls,
    identity::accounts::{self, NewUser},
    identity::auth,
    messages::direct::{self, Before, DirectMessage},
};
use crate::profiles::api_docs::{self, Scheme};
use crate::profiles::kit::{self, Id, numeric_id, present};

/// The document's frame: the refusal envelope and the auth scheme; the paths
/// come from the handlers' `#[utoipa::path]`.
#[derive(OpenApi)]
#[openapi(
    components(schemas(RestError)),
    tags(
        (name = "auth", description = "Login and registration: a JWT for `Authorization: Bearer`"),
        (name = "messages", description = "Direct messages (also sent and delivered on the socket)"),
        (name = "calls", description = "The caller's call history"),
    )
)]
struct ApiDoc;

/// The REST routes with their OpenAPI document (one list: each handler's
/// `#[utoipa::path]` names its method and path).
pub fn router(ctx: Arc<Ctx>) -> OpenApiRouter {
    let mut doc = ApiDoc::openapi();
    api_docs::describe(
        &mut doc,
        "calls",
        "REST of the calls frontend: chat, presence and call signalling happen on \
         Socket.IO (namespace `/`, `join {userId, token}` or a handshake token). \
         Answers are `{success:true, ...}`, refusals `{success:false, error:{code, message}}`.",
    );
    api_docs::secure(
        &mut doc,
        &[(
            "bearer",
            Scheme::Bearer("The `token` of login or registration (also the socket's `join` token)"),
        )],
    );
    OpenApiRouter::with_openapi(doc)
        .routes(routes!(login))
        .routes(routes!(register))
        .routes(routes!(list_messages, post_message))
        .routes(routes!(list_calls))
        .with_state(ctx)
}

/// The user of the request's `Authorization: Bearer` token.
pub struct Authed(users::Model);

impl FromRequestParts<Arc<Ctx>> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<Ctx>) -> Result<Self, ApiError> {
        let token = kit::bearer(&parts.headers).ok_or(Error::AuthRequired)?;
        Ok(Authed(authenticate(ctx, &token).await?))
    }
}

fn user_out(u: &users::Model) -> UserOut {
    UserOut {
        id: id_str(u.id),
        name: u.name.clone(),
        email: u.email.clone().unwrap_or_default(),
    }
}

/// `{success:true, token, user}` for a logged-in or new user.
fn session(
    ctx: &Ctx,
    status: StatusCode,
    u: &users::Model,
) -> Result<(StatusCode, Json<SessionOut>), ApiError> {
    let token = auth::issue_access(&ctx.core, u)?;
    let body = SessionOut {
        success: true,
        token,
        user: user_out(u),
    };
    Ok((status, Json(body)))
}

/// `POST /api/auth/login {email, password}`. The address is throttled before the
/// body is even read, so malformed attempts count too.
#[utoipa::path(
    post, path = "/api/auth/login", tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in", body = SessionOut),
        (status = 400, description = "INVALID_DATA: not JSON, or no email or password", body = RestError),
        (status = 401, description = "UNAUTHORIZED: wrong email or password", body = RestError),
        (status = 429, description = "RATE_LIMITED: too many attempts (`Retry-After`)", body = RestError,
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
async fn login(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    b: Result<Json<LoginBody>, JsonRejection>,
) -> Result<(StatusCode, Json<SessionOut>), ApiError> {
    accounts::throttle_address(&ctx.core, peer.ip()).await?;
    let Json(b) = b?;
    let (Some(email), Some(password)) = (present(&b.email), b.password.as_deref()) else {
        return Err(Error::invalid("email and password are required").into());
    };
    // Accounts of an organization (orgchat) are unknown here (NotFound).
    let user = match accounts::check_login(&ctx.core, SPACE, email, password).await {
        Ok(u) => u,
        Err(Error::NotFound(_)) | Err(Error::InvalidCredentials) => {
            return Err(Error::InvalidCredentials.into());
        }
        Err(e) => return Err(e.into()),
    };
    session(&ctx, StatusCode::OK, &user)
}

/// `POST /api/auth/register {name, email, password}` (or `username`, or both:
/// `name` wins). Without either the name is the email's local part.
/// Registration creates a verified user at once: the calls frontend has no
/// verification step.
#[utoipa::path(
    post, path = "/api/auth/register", tag = "auth",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "Registered (verified at once) and signed in", body = SessionOut),
        (status = 400, description = "INVALID_DATA: not JSON, no email or password, or a bad field", body = RestError),
        (status = 409, description = "USER_EXISTS: the email is taken", body = RestError),
    )
)]
async fn register(
    State(ctx): State<Arc<Ctx>>,
    b: Result<Json<RegisterBody>, JsonRejection>,
) -> Result<(StatusCode, Json<SessionOut>), ApiError> {
    let Json(b) = b?;
    let (Some(email), Some(password)) = (present(&b.email), b.password.clone()) else {
        return Err(Error::invalid("email and password are required").into());
    };
    let name = b
        .display_name()
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
        Err(Error::Conflict(_)) => Err(ApiError::UserExists),
        Err(e) => Err(e.into()),
    }
}

/// `limit` (default 50, at most HISTORY_PAGE) from a query.
fn page(ctx: &Ctx, q: &HashMap<String, String>) -> Result<u64, ApiError> {
    match q.get("limit").map(|l| l.trim().parse::<u64>()) {
        None => Ok(50.min(ctx.core.limits.history_page)),
        Some(Ok(n)) if n >= 1 => Ok(n.min(ctx.core.limits.history_page)),
        Some(_) => Err(Error::invalid("limit must be a positive number").into()),
    }
}

/// A query parameter that is set and not blank, trimmed.
fn param<'q>(q: &'q HashMap<String, String>, name: &str) -> Option<&'q str> {
    q.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// `GET /api/messages?with=&before=&after=&limit=`: the newest `limit` of the
/// caller's direct messages older than `before` (a message id or an ISO time),
/// oldest first; `hasMore` tells whether older ones exist. With `after` (a
/// message id of the caller's, an extension: issue 14) the page is the oldest
/// `limit` messages newer than it, and `hasMore` tells whether newer ones exist.
#[utoipa::path(
    get, path = "/api/messages", tag = "messages",
    security(("bearer" = [])),
    params(
        ("with" = Option<String>, Query, description = "Only the messages with this user (an id)"),
        ("before" = Option<String>, Query, description = "Older than this message id or ISO 8601 time"),
        ("after" = Option<String>, Query, description = "Newer than this message id (chatwire's extension)"),
        ("limit" = Option<u64>, Query, description = "Page size: default 50, at most `HISTORY_PAGE`"),
    ),
    responses(
        (status = 200, description = "A page, oldest first", body = MessagesPage),
        (status = 400, description = "INVALID_DATA: a bad `limit`, `before` or `after`", body = RestError),
        (status = 401, description = "UNAUTHORIZED: no or a bad token", body = RestError),
        (status = 403, description = "PERMISSION_DENIED: `with` names someone the caller may not write to", body = RestError),
        (status = 404, description = "USER_NOT_FOUND: `with` names no user", body = RestError),
    )
)]
async fn list_messages(
    State(ctx): State<Arc<Ctx>>,
    Authed(me): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<MessagesPage>, ApiError> {
    let limit = page(&ctx, &q)?;
    let with = match param(&q, "with") {
        Some(w) => {
            let id = Id::parse(w).get("user")?;
            // Only someone the caller may write to.
            direct::peer(&ctx.core, &me, id).await?;
            Some(id)
        }
        None => None,
    };
    let before = param(&q, "before").map(history_cursor).transpose()?;
    let after = match param(&q, "after") {
        Some(a) => Some(numeric_id(a).ok_or_else(|| Error::invalid("after must be a message id"))?),
        None => None,
    };
    // One more than asked tells whether there are more in the page's direction
    // (older ones; newer ones after `after`). The page is newest first, so the
    // extra one is the last row going back, the first going forward.
    let mut rows = direct::history(&ctx.core, me.id, with, before, after, limit + 1).await?;
    let has_more = rows.len() as u64 > limit;
    if has_more && after.is_some() {
        rows.remove(0);
    }
    rows.truncate(limit as usize);
    Ok(Json(MessagesPage {
        success: true,
        messages: rows.iter().rev().map(history_entry).collect(),
        has_more,
    }))
}

/// `before` of the message history: a message id, else an ISO 8601 time.
fn history_cursor(b: &str) -> Result<Before, ApiError> {
    if let Ok(id) = b.parse::<i64>() {
        return Ok(Before::Message(id));
    }
    let at = chrono::DateTime::parse_from_rfc3339(b)
        .map_err(|_| Error::invalid("before must be a message id or an ISO 8601 time"))?;
    Ok(Before::Time(at.to_utc()))
}

/// A message of the history, with who has read it.
fn history_entry(d: &DirectMessage) -> MessageWire {
    let mut w = MessageWire::new(&d.message, d.receiver_id);
    w.read_by = Some(if d.read_by_receiver {
        vec![id_str(d.receiver_id)]
    } else {
        Vec::new()
    });
    w
}

/// `POST /api/messages {receiverId, content, type}`: sent like a socket message
/// (every socket of both users gets `message`).
#[utoipa::path(
    post, path = "/api/messages", tag = "messages",
    security(("bearer" = [])),
    request_body = PostMessage,
    responses(
        (status = 201, description = "Sent: both users' sockets get `message`", body = MessageSent),
        (status = 400, description = "INVALID_DATA: not JSON, a missing field, a bad type or content", body = RestError),
        (status = 401, description = "UNAUTHORIZED: no or a bad token", body = RestError),
        (status = 403, description = "PERMISSION_DENIED: the caller may not write to that user", body = RestError),
        (status = 404, description = "USER_NOT_FOUND: no such receiver", body = RestError),
        (status = 429, description = "RATE_LIMITED: the message budget is spent (`Retry-After`)", body = RestError,
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
async fn post_message(
    State(ctx): State<Arc<Ctx>>,
    Authed(me): Authed,
    b: Result<Json<PostMessage>, JsonRejection>,
) -> Result<(StatusCode, Json<MessageSent>), ApiError> {
    let Json(b) = b?;
    let to = b
        .receiver_id
        .ok_or_else(|| Error::invalid("receiverId is required"))?;
    let content = b
        .content
        .ok_or_else(|| Error::invalid("content is required"))?;
    let kind = message_type(b.kind.as_deref())?;
    let to = to.get("user")?;
    ctx.messages.take(&me.id).await?;
    let sent = direct::send(&ctx.core, &me, to, &content, kind, None)
        .await
        .map_err(ApiError::failed_as("MESSAGE_SEND_FAILED"))?;
    let message = MessageWire::new(&sent.message, sent.receiver_id);
    Ok((
        StatusCode::CREATED,
        Json(MessageSent {
            success: true,
            message,
        }),
    ))
}

/// `GET /api/calls?before=&limit=`: the caller's calls, newest first (`before` is
/// a call id or handle).
#[utoipa::path(
    get, path = "/api/calls", tag = "calls",
    security(("bearer" = [])),
    params(
        ("before" = Option<String>, Query, description = "Older than this call (its id or handle)"),
        ("limit" = Option<u64>, Query, description = "Page size: default 50, at most `HISTORY_PAGE`"),
    ),
    responses(
        (status = 200, description = "The caller's calls, newest first", body = CallsPage),
        (status = 400, description = "INVALID_DATA: a bad `before` or `limit`", body = RestError),
        (status = 401, description = "UNAUTHORIZED: no or a bad token", body = RestError),
    )
)]
async fn list_calls(
    State(ctx): State<Arc<Ctx>>,
    Authed(me): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<CallsPage>, ApiError> {
    let limit = page(&ctx, &q)?;
    let before = match param(&q, "before") {
        None => None,
        Some(b) => Some(
            b.split('_')
                .next()
                .and_then(|n| n.parse::<i64>().ok())
                .ok_or_else(|| Error::invalid("before must be a call id"))?,
        ),
    };
    let calls = calls::history(&ctx.core, me.id, before, limit).await?;
    Ok(Json(CallsPage {
        success: true,
        calls: calls.iter().map(CallRecord::new).collect(),
    }))
}
