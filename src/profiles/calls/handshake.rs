//! Accepting a calls socket: the optional handshake token (a bad one is refused
//! with `connect_error`), the `join {userId, token}` that authenticates a socket
//! which connected without one, counting the socket online and as a call
//! endpoint, and undoing that when it closes. The same token check serves REST.

use std::{future::Future, sync::Arc};

use entity::users;
use serde_json::Value;
use socketioxide::{
    extract::{SocketRef, TryData},
    socket::DisconnectReason,
};
use tokio::sync::Mutex;

use super::{
    Ctx, SPACE,
    error::Refusal,
    wire::{Connected, Join, id_str},
};
use crate::core::{Error, Result, calls, identity::auth, presence};
use crate::profiles::kit::{self, Id};
use crate::transport::socketio::{self, Inbound, emit};

/// A socket's authentication state. `join` and the disconnect handler run in
/// different tasks; the async lock makes them take turns, so a socket is counted
/// online exactly once and uncounted exactly once.
#[derive(Default)]
struct Conn {
    user: Option<users::Model>,
    /// Counted in presence and as a call endpoint.
    counted: bool,
    closed: bool,
}

/// A socket's [`Conn`], shared by its event worker and its disconnect handler.
#[derive(Clone, Default)]
pub struct ConnState(Arc<Mutex<Conn>>);

impl ConnState {
    /// The socket's user, once it is authenticated.
    pub async fn user(&self) -> Option<users::Model> {
        self.0.lock().await.user.clone()
    }
}

/// A refused handshake: the client gets `connect_error` with this message.
#[derive(Debug)]
struct AuthFailed;

impl std::fmt::Display for AuthFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authentication failed")
    }
}

/// Serves namespace `path` of this profile's Socket.IO: the handshake, then every
/// event of a socket in order through `handle` (the event table).
pub fn register<H, Fut>(ctx: Arc<Ctx>, path: &'static str, handle: H)
where
    H: Fn(Arc<Ctx>, ConnState, Inbound) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let io = ctx.io.clone();
    let for_mw = ctx.clone();
    let handler = move |socket: SocketRef| {
        let (ctx, handle) = (ctx.clone(), handle.clone());
        async move { connected(ctx, socket, handle).await }
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
/// (`auth.token`, else `Authorization: Bearer`) that is present but bad is refused
/// with `connect_error`.
async fn handshake(ctx: &Ctx, socket: &SocketRef, auth: Option<Value>) -> Result<(), AuthFailed> {
    let from_auth = auth
        .as_ref()
        .and_then(|a| a.get("token"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let token = from_auth
        .or_else(|| kit::bearer(&socket.req_parts().headers))
        .filter(|t| !t.is_empty());
    let mut conn = Conn::default();
    if let Some(token) = token {
        conn.user = Some(authenticate(ctx, &token).await.map_err(|_| AuthFailed)?);
    }
    socket
        .extensions
        .insert(ConnState(Arc::new(Mutex::new(conn))));
    socketio::prepare_inbox(socket, ctx.inbox_capacity);
    Ok(())
}

/// The user of a valid access token of this profile's space, if verified.
pub async fn authenticate(ctx: &Ctx, token: &str) -> Result<users::Model> {
    match auth::access_user(&ctx.core, SPACE, token).await {
        Ok(u) if u.email_verified => Ok(u),
        Ok(_) => Err(Error::AuthRequired),
        Err(e) => Err(e.into()),
    }
}

/// The socket is in: arrange the clean-up, let a handshake-authenticated socket
/// in at once, and start handling its events in order.
async fn connected<H, Fut>(ctx: Arc<Ctx>, socket: SocketRef, handle: H)
where
    H: Fn(Arc<Ctx>, ConnState, Inbound) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(state) = socket.extensions.get::<ConnState>() else {
        let _ = socket.disconnect();
        return;
    };
    metrics::gauge!("chatwire_connections", "profile" => "calls").increment(1.0);
    let (dctx, dstate) = (ctx.clone(), state.clone());
    socket.on_disconnect(async move |s: SocketRef, reason: DisconnectReason| {
        closed(&dctx, &s, &dstate, reason).await
    });
    if let Some(user) = state.user().await {
        enter(&ctx, &socket, &state, user).await;
    }
    socketio::start_inbox(&socket, "calls", move |job| {
        handle(ctx.clone(), state.clone(), job)
    });
}

/// The socket closed: a counted user goes offline there, and a call they were in
/// on their last calls socket ends (`network_error`).
async fn closed(ctx: &Ctx, socket: &SocketRef, state: &ConnState, reason: DisconnectReason) {
    socketio::close_inbox(socket, reason);
    metrics::gauge!("chatwire_connections", "profile" => "calls").decrement(1.0);
    let counted = {
        let mut c = state.0.lock().await;
        c.closed = true;
        c.counted.then(|| c.user.as_ref().map(|u| u.id)).flatten()
    };
    if let Some(user) = counted {
        calls::endpoint_closed(&ctx.core, user).await;
        if let Err(e) = presence::disconnected(&ctx.core, user).await {
            tracing::debug!(error = %e, "calls presence (offline) failed");
        }
    }
}

/// Makes the socket `user`'s: joins their room, counts it online and as a call
/// endpoint, answers `connected`. A socket already in as someone else is refused.
async fn enter(ctx: &Ctx, s: &SocketRef, state: &ConnState, user: users::Model) -> bool {
    let mut c = state.0.lock().await;
    if c.closed {
        return false;
    }
    if c.counted {
        if c.user.as_ref().map(|u| u.id) != Some(user.id) {
            return false;
        }
    } else {
        let id = user.id;
        c.user = Some(user);
        c.counted = true;
        // Deliveries address the user's room (`emit_to_users` skips the sender's
        // socket by broadcasting from it).
        socketio::join(s, [socketio::user_room(id)]);
        calls::endpoint_opened(&ctx.core, id).await;
        // Held across the announcement so the disconnect handler waits for it.
        if let Err(e) = presence::connected(&ctx.core, id).await {
            tracing::debug!(error = %e, "calls presence (online) failed");
        }
    }
    let me = c.user.as_ref().map(|u| u.id).unwrap_or_default();
    drop(c);
    emit(s, "connected", &connected_frame(s, me));
    true
}

fn connected_frame(s: &SocketRef, user: i64) -> Connected {
    Connected {
        user_id: id_str(user),
        socket_id: s.id.to_string(),
    }
}

/// `join {userId, token}`: the token must be valid and, when `userId` is given,
/// name that user. Answers `connected` (and the same as the ack).
pub async fn join(
    ctx: &Ctx,
    s: &SocketRef,
    state: &ConnState,
    p: Join,
) -> Result<Connected, Refusal> {
    let user = match authenticate(ctx, &p.token).await {
        Ok(u) => u,
        Err(Error::AuthRequired) => return Err(Refusal::Join("Authentication failed")),
        Err(e) => return Err(e.into()),
    };
    if let Some(claimed) = p.user_id
        && claimed != Id(Some(user.id))
    {
        return Err(Refusal::Join(
            "Authentication failed: userId does not match the token",
        ));
    }
    let id = user.id;
    if !enter(ctx, s, state, user).await {
        return Err(Refusal::Join(
            "This connection is already joined as another user",
        ));
    }
    Ok(connected_frame(s, id))
}
