//! orgchat over Socket.IO (namespace `/`, path `/socket.io/`): the handshake
//! refuses a connection without a valid access token (`auth.token`,
//! `Authorization: Bearer` or `?token=`) with `connect_error {message}`; events go
//! through the ordered inbox to the shared event table.

use std::sync::Arc;

use serde_json::{Value, json};
use socketioxide::extract::{SocketRef, TryData};

use super::{
    Ctx,
    realtime::{self, Link},
    wire::error_message,
};
use crate::core::{identity::auth, identity::organizations, presence};
use crate::transport::socketio::{self, emit};

/// The authenticated user of a socket, set by the handshake.
#[derive(Clone, Copy, Debug)]
struct Session {
    user_id: i64,
}

pub fn register(ctx: Arc<Ctx>) {
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
enum Refused {
    #[error("Unauthorized: no token provided")]
    NoToken,
    #[error("Unauthorized: invalid or expired token")]
    BadToken,
}

async fn handshake(ctx: &Ctx, socket: &SocketRef, auth: Option<Value>) -> Result<(), Refused> {
    let from_auth = auth
        .as_ref()
        .and_then(|a| a.get("token"))
        .and_then(Value::as_str)
        .map(|t| t.strip_prefix("Bearer ").unwrap_or(t).to_owned())
        .filter(|t| !t.is_empty());
    let parts = socket.req_parts();
    let token = from_auth
        .or_else(|| crate::profiles::kit::request_token(&parts.headers, &parts.uri))
        .ok_or(Refused::NoToken)?;
    let user_id = auth::verify_access(&ctx.core, &token).map_err(|_| Refused::BadToken)?;
    organizations::member(&ctx.core, user_id)
        .await
        .map_err(|_| Refused::BadToken)?;
    socket.join(socketio::user_room(user_id));
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
    socket.on_disconnect(async move |s: SocketRef| {
        socketio::close_inbox(&s);
        metrics::gauge!("chatwire_connections", "profile" => "orgchat").decrement(1.0);
        let _ = presence::disconnected(&dctx.core, session.user_id).await;
    });
    let _ = presence::connected(&ctx.core, session.user_id).await;
    let wctx = ctx.clone();
    socketio::start_inbox(&socket, "orgchat", move |job| {
        let ctx = wctx.clone();
        async move {
            let link = Link::Sio(&job.socket);
            // The only way the first argument fails to read is its absence.
            let data = job.data.map_err(|_| "data is required".to_owned());
            let result = realtime::handle(&ctx, &link, session.user_id, &job.event, data).await;
            match result {
                Ok(ack) => {
                    let _ = job.ack.send(&ack);
                }
                Err(e) => {
                    super::count_error(&e, &job.event, session.user_id);
                    let message = error_message(&e);
                    emit(
                        &job.socket,
                        "error",
                        &json!({"message": message, "event": job.event}),
                    );
                    let _ = job.ack.send(&json!({"error": message}));
                }
            }
        }
    });
}
