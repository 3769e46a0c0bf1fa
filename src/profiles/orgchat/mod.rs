//! orgchat (seed 002): organizations, roles and rooms; REST under `/api`, and the
//! same realtime events on two transports of one port.
//!
//! REST (`rest.rs`): POST /api/auth/register, POST /api/auth/login,
//! POST /api/auth/refresh-token; with a Bearer token and a per-user rate limit:
//! GET /api/chat?page=&pageSize=, POST /api/chat.
//!
//! Realtime: raw WebSocket at `/` (`raw.rs`: `{event, data}` in, `{type, ...}`
//! out) and Socket.IO at `/socket.io/` (`sio.rs`: the same event names, `data` as
//! the payload); both need an access token and share the event table in
//! `realtime.rs`: joinRoom, leaveRoom, sendMessage, newChatRoom, typing,
//! stopTyping, reactMessage, readMessage, deleteMessage.
//!
//! Deliveries (`render.rs`): core bus events rendered as notification,
//! newMessage, typing, stopTyping, messageReaction, messageRead, messageDeleted
//! (to a room's live feed) and newChatRoom (to invitees); errors go to the asking
//! connection only, as `error {message}`.

mod raw;
mod realtime;
mod render;
mod rest;
mod sio;
pub mod wire;

use std::{sync::Arc, time::Duration};

use axum::routing::get;
use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;

use crate::core::ratelimit::Limiter;
use crate::{
    config::Config,
    core::{CoreRef, Error},
    transport::{socketio, ws},
};

/// What the handlers share.
pub struct Ctx {
    pub core: CoreRef,
    pub io: socketioxide::SocketIo,
    /// This listener's raw WebSocket connections.
    pub hub: Arc<ws::Hub>,
    /// Per-user budget for `/api/chat`.
    pub limiter: Limiter<i64>,
    pub inbox_capacity: usize,
    pub max_frame_bytes: usize,
    pub max_page_size: u64,
    /// Store every room message encrypted at rest.
    pub encrypt_all: bool,
    /// Joiners of an existing organization get the role they ask for.
    pub open_roles: bool,
}

pub fn build(core: CoreRef, cfg: &Config, shutdown: CancellationToken) -> super::Built {
    let (layer, io) = socketio::layer(cfg);
    let ctx = Arc::new(Ctx {
        core: core.clone(),
        io: io.clone(),
        hub: ws::Hub::new("orgchat", cfg.socket_buffer),
        limiter: Limiter::per_minute(cfg.orgchat_rate_limit_per_minute),
        inbox_capacity: cfg.inbox_capacity,
        max_frame_bytes: cfg.max_frame_bytes,
        max_page_size: cfg.orgchat_max_page_size,
        encrypt_all: cfg.orgchat_encrypt_messages,
        open_roles: cfg.orgchat_open_roles,
    });
    sio::register(ctx.clone());
    let rx = core.bus.subscribe();
    let render_ctx = ctx.clone();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = crate::core::bus::consume("orgchat", rx, |ev| render::render(&render_ctx, ev)) => {}
            _ = stop.cancelled() => {}
        }
    });
    let limiter = ctx.limiter.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = every.tick() => limiter.forget_idle(),
                _ = shutdown.cancelled() => break,
            }
        }
    });
    let hub = ctx.hub.clone();
    let router = rest::router()
        .route("/", get(raw::upgrade))
        .with_state(ctx)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            cfg.max_frame_bytes,
        ))
        .layer(layer);
    super::Built {
        router,
        closer: Some(
            async move {
                io.close().await;
                hub.close_all(Duration::from_secs(5)).await;
            }
            .boxed(),
        ),
    }
}

/// Counts and logs a refused event or frame (the client got its error already).
fn count_error(e: &Error, event: &str, user: i64) {
    metrics::counter!("chatwire_errors_total", "profile" => "orgchat", "code" => e.code())
        .increment(1);
    tracing::debug!(event, user, code = e.code(), error = %e, "orgchat event refused");
}
