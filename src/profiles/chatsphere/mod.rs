//! chatsphere (seed 003): public and private rooms of the shared space, API
//! tokens for clients and users, REST under `/api` and a raw WebSocket with
//! `{type, ...}` frames in two dialects.
//!
//! Auth (`caller.rs`): an API token from `?token=`, `Authorization: Bearer`,
//! `body.token` or the cookie `user_api_token`, verified against its record on
//! every request and every WebSocket frame (revocation applies at once).
//!
//! REST (`rest.rs`): GET /api/rooms, POST /api/rooms, GET|DELETE /api/rooms/:id,
//! POST /api/rooms/:id/users, GET|POST /api/rooms/:id/messages, GET /api/messages,
//! GET /api/messages/user, GET /api/users/:id/messages.
//! (`accounts.rs`): GET /api/health, GET|PUT /api/auth/profile, GET|POST
//! /api/users, POST /api/tokens/user, POST /api/tokens/client, DELETE
//! /api/tokens/:id, PUT /api/tokens/:id/revoke.
//!
//! WebSocket on any other path (`realtime.rs`): server dialect join, message;
//! UI dialect join_room, leave_room, new_message. Deliveries (`render.rs`):
//! `new_message` to every connection that joined the room, in each connection's
//! dialect.

mod accounts;
mod caller;
mod realtime;
mod render;
mod rest;
pub mod wire;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering},
    },
    time::Duration,
};

use dashmap::DashMap;
use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;

use crate::{config::Config, core::CoreRef, transport::ws};

/// How many messages a join answers with (the original's `take: 50`).
pub const JOIN_HISTORY: u64 = 50;

/// Which frames a connection speaks, chosen by its latest join frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// No join yet: the connection is in no room, so nothing is delivered to it.
    Unknown = 0,
    /// `join` / `message`: deliveries are `{type:"new_message", message}`.
    Server = 1,
    /// `join_room` / `new_message`: deliveries are flat `new_message` frames.
    Ui = 2,
}

/// What chatsphere keeps per live connection beside the hub's registry.
pub struct ConnState {
    /// The API token the connection was opened with (re-checked per frame).
    pub token_id: i64,
    pub client: bool,
    dialect: AtomicU8,
}

impl ConnState {
    pub fn new(token_id: i64, client: bool) -> Self {
        ConnState {
            token_id,
            client,
            dialect: AtomicU8::new(Dialect::Unknown as u8),
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self.dialect.load(Ordering::Relaxed) {
            1 => Dialect::Server,
            2 => Dialect::Ui,
            _ => Dialect::Unknown,
        }
    }

    pub fn set_dialect(&self, d: Dialect) {
        self.dialect.store(d as u8, Ordering::Relaxed);
    }
}

/// What the handlers share.
pub struct Ctx {
    pub core: CoreRef,
    /// This listener's WebSocket connections.
    pub hub: Arc<ws::Hub>,
    /// Per-connection state by the hub's connection id.
    pub conns: DashMap<u64, Arc<ConnState>>,
    pub max_frame_bytes: usize,
    /// Most messages a REST history or listing answers with.
    pub history_page: u64,
}

impl Ctx {
    /// Closes the live connections opened with a token that was just revoked.
    pub fn cut_off(&self, user_id: i64, token_id: i64) {
        for c in self.hub.of_users(&[user_id]) {
            if self
                .conns
                .get(&c.id)
                .is_some_and(|s| s.token_id == token_id)
            {
                c.close(axum::extract::ws::close_code::POLICY, "token revoked");
            }
        }
    }
}

pub fn build(core: CoreRef, cfg: &Config, shutdown: CancellationToken) -> super::Built {
    let ctx = Arc::new(Ctx {
        core: core.clone(),
        hub: ws::Hub::new("chatsphere", cfg.socket_buffer),
        conns: DashMap::new(),
        max_frame_bytes: cfg.max_frame_bytes,
        history_page: cfg.history_page,
    });
    let rx = core.bus.subscribe();
    let render_ctx = ctx.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = crate::core::bus::consume("chatsphere", rx, |ev| render::render(&render_ctx, ev)) => {}
            _ = shutdown.cancelled() => {}
        }
    });
    let hub = ctx.hub.clone();
    let router = rest::router()
        .merge(accounts::router())
        .fallback(realtime::upgrade)
        .with_state(ctx)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            cfg.max_frame_bytes,
        ));
    super::Built {
        router,
        closer: Some(async move { hub.close_all(Duration::from_secs(5)).await }.boxed()),
    }
}

/// Counts and logs a refused request or frame (the client got its answer).
fn count_error(e: &crate::core::Error, what: &str, user: i64) {
    metrics::counter!("chatwire_errors_total", "profile" => "chatsphere", "code" => e.code())
        .increment(1);
    tracing::debug!(what, user, code = e.code(), error = %e, "chatsphere request refused");
}
