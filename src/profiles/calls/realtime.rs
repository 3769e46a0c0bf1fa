//! calls' Socket.IO side: the optional handshake token, the `join` flow, the
//! disconnect clean-up and the event table. Each event is parsed into its typed
//! payload, handed to one core service and answered to the asking socket (its
//! ack, or `error {message, code}`); what other users see comes from the bus
//! (`render.rs`).

use std::sync::Arc;

use entity::users;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use socketioxide::extract::{SocketRef, TryData};
use tokio::sync::Mutex;

use super::{Ctx, chat, signalling, wire::*};
use crate::core::{Error, Result, calls, identity::accounts, identity::auth, presence};
use crate::transport::socketio::{self, Inbound, emit};

/// The authenticated user of a socket.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: users::Model,
}

/// A socket's authentication state. `join` and the disconnect handler run in
/// different tasks; the async lock makes them take turns, so a socket is counted
/// online exactly once and uncounted exactly once.
#[derive(Default)]
struct Conn {
    session: Option<Session>,
    /// Counted in presence and as a call endpoint.
    counted: bool,
    closed: bool,
}

#[derive(Clone, Default)]
struct ConnState(Arc<Mutex<Conn>>);

/// A refused handshake: the client gets `connect_error` with this message.
#[derive(Debug)]
struct AuthFailed;

impl std::fmt::Display for AuthFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authentication failed")
    }
}

/// Registers the handlers on namespace `path` of this profile's Socket.IO.
pub fn register(ctx: Arc<Ctx>, path: &'static str) {
    let io = ctx.io.clone();
    let for_mw = ctx.clone();
    let handler = move |socket: SocketRef| {
        let ctx = ctx.clone();
        async move { connected(ctx, socket).await }
    };
    let middleware = move |socket: SocketRef, TryData(auth): TryData<Value>| {
        let ctx = for_mw.clone();
        async move { handshake(&ctx, &socket, auth.ok()).await }
    };
    io.ns(
        path,
        socketioxide::handler::ConnectHandler::with(handler, middleware),
    );
}

/// Without a token the socket connects unauthenticated (it sends `join`); a token
/// that is present but bad is refused with `connect_error`.
async fn handshake(ctx: &Ctx, socket: &SocketRef, auth: Option<Value>) -> Result<(), AuthFailed> {
    let from_auth = auth
        .as_ref()
        .and_then(|a| a.get("token"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let from_header = socket
        .req_parts()
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let mut conn = Conn::default();
    if let Some(token) = from_auth.or(from_header).filter(|t| !t.is_empty()) {
        let user = authenticate(ctx, &token).await.map_err(|_| AuthFailed)?;
        conn.session = Some(Session { user });
    }
    socket
        .extensions
        .insert(ConnState(Arc::new(Mutex::new(conn))));
    socketio::prepare_inbox(socket, ctx.inbox_capacity);
    Ok(())
}

/// The user of a valid access token, if they belong to this profile's space.
pub async fn authenticate(ctx: &Ctx, token: &str) -> Result<users::Model> {
    let id = auth::verify_access(&ctx.core, token).map_err(|_| Error::AuthRequired)?;
    match accounts::get(&ctx.core, id).await {
        Ok(u) if u.organization_id.is_none() && u.email_verified => Ok(u),
        Ok(_) | Err(Error::NotFound(_)) => Err(Error::AuthRequired),
        Err(e) => Err(e),
    }
}

async fn connected(ctx: Arc<Ctx>, socket: SocketRef) {
    let Some(state) = socket.extensions.get::<ConnState>() else {
        let _ = socket.disconnect();
        return;
    };
    metrics::gauge!("chatwire_connections", "profile" => "calls").increment(1.0);
    let dctx = ctx.clone();
    let dstate = state.clone();
    socket.on_disconnect(async move |s: SocketRef| {
        socketio::close_inbox(&s);
        metrics::gauge!("chatwire_connections", "profile" => "calls").decrement(1.0);
        let counted = {
            let mut c = dstate.0.lock().await;
            c.closed = true;
            c.counted
                .then(|| c.session.as_ref().map(|s| s.user.id))
                .flatten()
        };
        if let Some(user) = counted {
            calls::endpoint_closed(&dctx.core, user).await;
            if let Err(e) = presence::disconnected(&dctx.core, user).await {
                tracing::debug!(error = %e, "calls presence (offline) failed");
            }
        }
    });
    // Authenticated by the handshake: in at once.
    let user = state
        .0
        .lock()
        .await
        .session
        .as_ref()
        .map(|s| s.user.clone());
    if let Some(user) = user {
        enter(&ctx, &socket, &state, user).await;
    }
    let wctx = ctx.clone();
    socketio::start_inbox(&socket, "calls", move |job| {
        let ctx = wctx.clone();
        let state = state.clone();
        async move { handle(&ctx, &state, job).await }
    });
}

/// Makes the socket `user`'s: joins their room, counts it online and as a call
/// endpoint, answers `connected`. A socket already in as someone else is refused.
async fn enter(ctx: &Ctx, s: &SocketRef, state: &ConnState, user: users::Model) -> bool {
    let mut c = state.0.lock().await;
    if c.closed {
        return false;
    }
    if c.counted {
        if c.session.as_ref().map(|s| s.user.id) != Some(user.id) {
            return false;
        }
    } else {
        let id = user.id;
        c.session = Some(Session { user });
        c.counted = true;
        // Deliveries address the user's room; `except(sid)` works because
        // `prepare_inbox` put the socket in its own-id room.
        s.join(socketio::user_room(id));
        ctx.core.calls.endpoint_up(id);
        // Held across the announcement so the disconnect handler waits for it.
        if let Err(e) = presence::connected(&ctx.core, id).await {
            tracing::debug!(error = %e, "calls presence (online) failed");
        }
    }
    let me = c.session.as_ref().map(|s| s.user.id).unwrap_or_default();
    drop(c);
    emit(
        s,
        "connected",
        &json!({"userId": id_str(me), "socketId": s.id.to_string()}),
    );
    true
}

/// `join {userId, token}`: the token must be valid and name `userId`.
async fn join(ctx: &Ctx, s: &SocketRef, state: &ConnState, job: &Inbound) -> Result<Value> {
    let refuse = |message: &str| {
        emit(s, "auth:error", &json!({"message": message}));
        Err(Error::AuthRequired)
    };
    let Ok(p) = payload::<Join>(job) else {
        return refuse("Invalid join data: userId and token are required");
    };
    let user = match authenticate(ctx, &p.token).await {
        Ok(u) => u,
        Err(Error::AuthRequired) => return refuse("Authentication failed"),
        Err(e) => return Err(e),
    };
    if let Some(claimed) = &p.user_id
        && claimed.0.trim() != id_str(user.id)
    {
        return refuse("Authentication failed: userId does not match the token");
    }
    let id = user.id;
    if !enter(ctx, s, state, user).await {
        return refuse("This connection is already joined as another user");
    }
    Ok(json!({"userId": id_str(id), "socketId": s.id.to_string()}))
}

/// Parses an event's payload into its typed shape.
pub fn payload<T: DeserializeOwned>(job: &Inbound) -> Result<T> {
    let v = job.data.as_ref().map_err(Error::invalid)?;
    serde_json::from_value(v.clone()).map_err(|e| Error::invalid(format!("invalid data: {e}")))
}

/// The event table: one line per event the client may send. `internal` is the
/// code an unexpected failure of that event is reported with.
async fn handle(ctx: &Ctx, state: &ConnState, job: Inbound) {
    let s = job.socket.clone();
    let session = state.0.lock().await.session.clone();
    let (result, internal) = match (job.event.as_str(), session) {
        ("join", _) => (join(ctx, &s, state, &job).await, "INTERNAL"),
        (_, None) => (Err(Error::AuthRequired), "INTERNAL"),
        (event, Some(me)) => {
            let me = &me.user;
            match event {
                "message" => (chat::message(ctx, me, &job).await, "MESSAGE_SEND_FAILED"),
                "message:read" => (chat::read(ctx, me, &job).await, "INTERNAL"),
                "typing:start" => (chat::typing(ctx, me, &job, true).await, "INTERNAL"),
                "typing:stop" => (chat::typing(ctx, me, &job, false).await, "INTERNAL"),
                "call:initiate" => (signalling::initiate(ctx, me, &job).await, "CALL_FAILED"),
                "call:respond" => (signalling::respond(ctx, me, &job).await, "CALL_FAILED"),
                "call:end" => (signalling::end(ctx, me, &job).await, "CALL_FAILED"),
                other => (
                    Err(Error::invalid(format!("unknown event {other}"))),
                    "INTERNAL",
                ),
            }
        }
    };
    match result {
        Ok(v) => {
            let _ = job.ack.send(&v);
        }
        Err(e) => {
            metrics::counter!("chatwire_errors_total", "profile" => "calls", "code" => e.code())
                .increment(1);
            tracing::debug!(event = %job.event, code = e.code(), error = %e, "calls event refused");
            let body = socket_error(&e, internal);
            // `join` answered on `auth:error` already.
            if job.event != "join" || !matches!(e, Error::AuthRequired) {
                emit(&s, "error", &body);
            }
            let _ = job.ack.send(&json!({"error": body}));
        }
    }
}

/// `{message, code}` for a refusal; internal details stay in the log.
pub fn socket_error(e: &Error, internal: &'static str) -> Value {
    let (code, message) = match e {
        Error::AuthRequired => (
            "AUTH_REQUIRED",
            "Authentication required: send join with a valid token first".to_owned(),
        ),
        Error::NotFound("user") => ("USER_NOT_FOUND", "User not found".to_owned()),
        Error::NotFound(what) => ("NOT_FOUND", format!("{} not found", capitalize(what))),
        Error::UserNotConnected => ("USER_NOT_CONNECTED", "User is not connected".to_owned()),
        Error::CallInProgress => ("CALL_IN_PROGRESS", "User is already in a call".to_owned()),
        Error::RateLimited { retry_after_secs } => (
            "RATE_LIMITED",
            format!("Too many requests, retry in {retry_after_secs} s"),
        ),
        Error::Internal => (internal, "Something went wrong".to_owned()),
        other => (other.code(), other.to_string()),
    };
    json!({"message": message, "code": code})
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
