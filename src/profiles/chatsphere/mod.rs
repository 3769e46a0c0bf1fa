//! chatsphere (seed 003): public and private rooms of the shared space, API
//! tokens for clients and users, REST under `/api` and a raw WebSocket with
//! `{type, ...}` frames in two dialects. What differs from the original:
//! `docs/chatsphere.md`.
//!
//! REST (`rest.rs`): GET|POST /api/rooms, GET|DELETE /api/rooms/:id,
//! POST /api/rooms/:id/users, GET|POST /api/rooms/:id/messages, GET /api/messages,
//! GET /api/messages/user, GET /api/users/:id/messages.
//! API token accounts (`accounts.rs`): GET /api/health, GET|PUT /api/auth/profile,
//! GET|POST /api/users, POST /api/tokens/user, POST /api/tokens/client,
//! DELETE /api/tokens/:id, PUT /api/tokens/:id/revoke.
//!
//! WebSocket on any other path (`handshake.rs`). Frames in (`events.rs`, handled
//! in `handlers.rs`): server dialect `join`, `message`; UI dialect `join_room`,
//! `leave_room`, `new_message` (both joins, and the room messages route, take a
//! history cursor: `after`/`before`/`limit`). Frames out: `join_confirmation`,
//! `previous_messages`, `message_history`, `new_message` (`render.rs`: to every
//! connection that joined the room, in each connection's dialect), `error`.
//!
//! Files:
//! - `caller.rs`: who is calling (the API token of a request, checked against
//!   its record) and `Call`, the REST extractor.
//! - `accounts.rs`: health, profile, users and API token routes.
//! - `rest.rs`: room and message routes.
//! - `handshake.rs`: the WebSocket upgrade and the per-frame token check.
//! - `connection.rs`: per-connection state (token, dialect); closing a revoked
//!   token's connections.
//! - `events.rs`: the frame table (`ClientEvent`) and dispatch.
//! - `handlers.rs`: join, leave, send.
//! - `render.rs`: bus events to `new_message` frames; flat messages.
//! - `wire.rs`: the wire shapes.
//! - `error.rs`: `ApiError` (`{error}` with its status) and error frames.

mod accounts;
mod caller;
mod connection;
mod error;
mod events;
mod handlers;
mod handshake;
mod render;
mod rest;
pub mod wire;

use std::{sync::Arc, time::Duration};

use dashmap::DashMap;
use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;

use crate::{
    config::Config,
    core::{CoreRef, identity::space::Space},
    profiles::kit,
    transport::ws,
};

/// The accounts and tokens this profile admits: the shared space's (see
/// `core::identity::space`); its API tokens are its own kind of token.
pub const SPACE: Space = Space::Shared;

/// What the routes, handlers and the renderer share.
pub struct Ctx {
    pub core: CoreRef,
    /// This listener's WebSocket connections.
    pub hub: Arc<ws::Hub>,
    /// Per-connection state by the hub's connection id.
    pub conns: DashMap<u64, Arc<connection::ConnState>>,
    pub max_frame_bytes: usize,
    /// Most messages a REST history or listing answers with.
    pub history_page: u64,
}

pub fn build(core: CoreRef, cfg: &Config, shutdown: CancellationToken) -> super::Built {
    let ctx = Arc::new(Ctx {
        core: core.clone(),
        hub: ws::Hub::new(
            "chatsphere",
            cfg.socket_buffer,
            ws::FloodLimit::from_config(cfg),
        ),
        conns: DashMap::new(),
        max_frame_bytes: cfg.max_frame_bytes,
        history_page: cfg.history_page,
    });
    let render_ctx = ctx.clone();
    kit::spawn_renderer("chatsphere", &core, shutdown, move |ev| {
        let ctx = render_ctx.clone();
        async move { render::render(&ctx, ev).await }
    });
    let hub = ctx.hub.clone();
    let router = rest::router()
        .merge(accounts::router())
        .fallback(handshake::upgrade)
        .with_state(ctx)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            cfg.max_frame_bytes,
        ));
    super::Built {
        router,
        closer: Some(async move { hub.close_all(Duration::from_secs(5)).await }.boxed()),
    }
}
