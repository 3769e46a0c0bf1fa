//! orgchat (seed 002): organizations, roles and rooms; REST under `/api`, and the
//! same realtime events on two transports of one port.
//!
//! REST (`rest.rs`): POST /api/auth/register, POST /api/auth/login,
//! POST /api/auth/refresh-token; with a Bearer token and a per-user rate limit:
//! GET /api/chat?page=&pageSize=, POST /api/chat, and chatwire's room history
//! GET /api/chat/:roomId/messages?after=&before=&limit=.
//!
//! Realtime (`handshake.rs`): raw WebSocket at `/` (`{event, data}` in,
//! `{type, ...}` out) and Socket.IO at `/socket.io/` (the same event names,
//! `data` as the payload); both need an access token. Events (`events.rs`, one
//! table for both): joinRoom, leaveRoom, sendMessage, newChatRoom, typing,
//! stopTyping, reactMessage, readMessage, deleteMessage; handled in
//! `handlers.rs`.
//!
//! Deliveries (`render.rs`): core bus events rendered as notification,
//! newMessage, typing, stopTyping, messageReaction, messageRead, messageDeleted
//! (to a room's live feed) and newChatRoom (to invitees); errors go to the asking
//! connection only, as `error {message}` (`error.rs`).
//!
//! Files: `handshake.rs` (accepting connections, both transports), `events.rs`
//! (the event table), `handlers.rs` (the handlers), `link.rs` (one connection on
//! either transport: joining feeds, sending to it alone), `render.rs` (bus events
//! out), `rest.rs` (REST routes), `wire.rs` (wire shapes), `error.rs` (errors as
//! REST answers and as realtime `error` events). What differs from the original:
//! `docs/orgchat.md`.

mod error;
mod events;
mod handlers;
mod handshake;
mod link;
mod render;
mod rest;
pub mod wire;

use std::{sync::Arc, time::Duration};

use axum::routing::get;
use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;

use crate::core::ratelimit::Limiter;
use crate::{
    config::Config,
    core::{CoreRef, identity::space::Space},
    profiles::kit,
    transport::{socketio, ws},
};

/// The accounts and tokens this profile admits: the organization space's (see
/// `core::identity::space`); an account of the shared space is unknown here.
pub const SPACE: Space = Space::Organization;

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
        hub: ws::Hub::new(
            "orgchat",
            cfg.socket_buffer,
            ws::FloodLimit::from_config(cfg),
        ),
        limiter: Limiter::per_minute(cfg.orgchat_rate_limit_per_minute).shared(
            "orgchat",
            core.cluster.clone(),
            cfg.orgchat_rate_limit_per_minute,
            std::time::Duration::from_secs(60),
        ),
        inbox_capacity: cfg.inbox_capacity,
        max_frame_bytes: cfg.max_frame_bytes,
        max_page_size: cfg.orgchat_max_page_size,
        encrypt_all: cfg.orgchat_encrypt_messages,
        open_roles: cfg.orgchat_open_roles,
    });
    handshake::register_socketio(ctx.clone());
    let render_ctx = ctx.clone();
    kit::spawn_renderer("orgchat", &core, shutdown.clone(), move |ev| {
        render::render(render_ctx.clone(), ev)
    });
    forget_idle_budgets(ctx.limiter.clone(), shutdown);
    let hub = ctx.hub.clone();
    let (router, mut api) = rest::router().split_for_parts();
    super::api_docs::refusals(&mut api, "ErrorBody");
    let router = router
        .route("/", get(handshake::upgrade))
        .with_state(ctx)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            cfg.max_frame_bytes,
        ))
        .layer(layer);
    super::Built {
        router,
        api,
        envelope: error::envelope,
        closer: Some(
            async move {
                socketio::close(&io).await;
                hub.close_all(Duration::from_secs(5)).await;
            }
            .boxed(),
        ),
    }
}

/// Every minute until shutdown, forgets the users whose budget is full again, so
/// the limiter does not grow with every user ever seen.
fn forget_idle_budgets(limiter: Limiter<i64>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = every.tick() => limiter.forget_idle(),
                _ = shutdown.cancelled() => break,
            }
        }
    });
}
