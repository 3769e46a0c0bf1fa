//! Accepting an orgchat realtime connection, on both transports of the port.
//! Each needs a valid access token of an organization member:
//! - raw WebSocket at `/`: `?token=` or `Authorization: Bearer`; refused with
//!   HTTP 401 `{message}` (426 when the request is no upgrade);
//! - Socket.IO at `/socket.io/`: `auth.token` as well; refused with
//!   `connect_error {message}`.
//!
//! An accepted connection counts as presence while open, and hands every frame
//! or event, in arrival order, to `events.rs`.

use std::sync::Arc;

use axum::{
    Json,
    extract::{
        State,
        ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection},
    },
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde_json::Value;
use socketioxide::{
    extract::{SocketRef, TryData},
    socket::DisconnectReason,
};

use super::{
    Ctx,
    error::{BAD_TOKEN, NO_TOKEN},
    events,
    wire::ErrorBody,
};
use crate::core::{identity::organizations, presence};
use crate::profiles::kit::request_token;
use crate::transport::{socketio, ws};

// ---- Raw WebSocket.

/// `GET /` with a WebSocket upgrade.
pub async fn upgrade(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    uri: Uri,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        return refused(
            StatusCode::UPGRADE_REQUIRED,
            "This endpoint expects a WebSocket upgrade",
        );
    };
    let token = request_token(&headers, &uri);
    let user_id = match member(&ctx, token.as_deref()).await {
        Ok(u) => u,
        Err(message) => return refused(StatusCode::UNAUTHORIZED, message),
    };
    let hub = ctx.hub.clone();
    ws::limit(upgrade, ctx.max_frame_bytes).on_upgrade(move |socket| async move {
        let fctx = ctx.clone();
        let opened = async {
            let _ = presence::connected(&ctx.core, user_id).await;
        };
        ws::run(socket, hub, user_id, opened, move |conn, frame| {
            let ctx = fctx.clone();
            async move { events::on_raw_frame(&ctx, &conn, frame).await }
        })
        .await;
        let _ = presence::disconnected(&ctx.core, user_id).await;
    })
}

fn refused(status: StatusCode, message: &str) -> Response {
    let body = ErrorBody {
        message: message.to_owned(),
    };
    (status, Json(body)).into_response()
}

/// The user whose access token this is, when they belong to an organization;
/// else the refusal's text.
async fn member(ctx: &Ctx, token: Option<&str>) -> Result<i64, &'static str> {
    let token = token.ok_or(NO_TOKEN)?;
    let member = organizations::member_of_token(&ctx.core, token)
        .await
        .map_err(|_| BAD_TOKEN)?;
    Ok(member.id())
}

// ---- Socket.IO.

/// The authenticated user of a socket, set by the handshake.
#[derive(Clone, Copy, Debug)]
struct Session {
    user_id: i64,
}

/// Serves namespace `/`: the handshake middleware, then the connect handler.
pub fn register_socketio(ctx: Arc<Ctx>) {
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
        "/",
        socketioxide::handler::ConnectHandler::with(handler, middleware),
    );
}

/// Why a handshake was refused; its text is what the client's `connect_error`
/// carries.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(&'static str);

async fn handshake(ctx: &Ctx, socket: &SocketRef, auth: Option<Value>) -> Result<(), Refused> {
    let from_auth = auth
        .as_ref()
        .and_then(|a| a.get("token"))
        .and_then(Value::as_str)
        .map(|t| t.strip_prefix("Bearer ").unwrap_or(t).to_owned())
        .filter(|t| !t.is_empty());
    let parts = socket.req_parts();
    let token = from_auth.or_else(|| request_token(&parts.headers, &parts.uri));
    let user_id = member(ctx, token.as_deref()).await.map_err(Refused)?;
    socketio::join(socket, [socketio::user_room(user_id)]);
    socket.extensions.insert(Session { user_id });
    socketio::prepare_inbox(socket, ctx.inbox_capacity);
    Ok(())
}

async fn connected(ctx: Arc<Ctx>, socket: SocketRef) {
    let Some(session) = socket.extensions.get::<Session>() else {
        let _ = socket.disconnect();
        return;
    };
    metrics::gauge!("chatwire_connections", "profile" => "orgchat").increment(1.0);
    let dctx = ctx.clone();
    socket.on_disconnect(async move |s: SocketRef, reason: DisconnectReason| {
        socketio::close_inbox(&s, reason);
        metrics::gauge!("chatwire_connections", "profile" => "orgchat").decrement(1.0);
        let _ = presence::disconnected(&dctx.core, session.user_id).await;
    });
    let _ = presence::connected(&ctx.core, session.user_id).await;
    socketio::start_inbox(&socket, "orgchat", move |job| {
        let ctx = ctx.clone();
        async move { events::on_sio_event(&ctx, job, session.user_id).await }
    });
}
