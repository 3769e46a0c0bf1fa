//! calls (seed 004): chat, presence and voice/video call signalling (Jitsi rooms).
//! Socket.IO on namespace `/`, REST under `/api`.
//!
//! REST (`rest.rs`): POST /api/auth/login, POST /api/auth/register,
//! GET /api/messages (`?with=&before=&after=&limit=`), POST /api/messages, GET /api/calls.
//! Envelopes `{success:true, ...}` / `{success:false, error:{code, message}}`.
//!
//! Connection (`handshake.rs`): `join {userId, token}` => `connected {userId,
//! socketId}` or `auth:error {message}`; a handshake token (`auth.token` or
//! `Authorization: Bearer`) authenticates up front. Any other event before that:
//! `error {message, code:"AUTH_REQUIRED"}`.
//!
//! Events (table in `events.rs`): join (`handshake.rs`); message, message:read,
//! typing:start, typing:stop (`handlers/chat.rs`); call:initiate, call:respond,
//! call:end (`handlers/signalling.rs`). Refusals: `error {message, code}`, or
//! `call:failed` for an unreachable callee.
//!
//! Deliveries (`render.rs`): message, message:read, typing:start, typing:stop,
//! user:online, user:offline, call:initiated, call:incoming, call:accepted,
//! call:rejected, call:ended.
//!
//! Files: `rest.rs` (routes), `handshake.rs` (connect, `join`, disconnect),
//! `events.rs` (event table), `handlers/` (chat, signalling), `render.rs` (bus
//! events to frames), `wire.rs` (shapes), `error.rs` (REST and socket refusals).

mod error;
mod events;
mod handlers;
mod handshake;
mod render;
mod rest;
pub mod wire;

use std::{sync::Arc, time::Duration};

use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;

use crate::core::ratelimit::Limiter;
use crate::profiles::kit;
use crate::{
    config::Config,
    core::{CoreRef, identity::space::Space},
    transport::socketio,
};

/// The accounts and tokens this profile admits: the shared space's (see
/// `core::identity::space`), the same accounts as expresschat's.
pub const SPACE: Space = Space::Shared;

/// What the handlers share.
pub struct Ctx {
    pub core: CoreRef,
    pub io: socketioxide::SocketIo,
    pub inbox_capacity: usize,
    /// How long an unanswered call rings.
    pub ring_timeout: Duration,
    /// The Jitsi Meet server sent with every call offer.
    pub jitsi_domain: String,
    /// Messages per user (socket and REST together).
    pub messages: Limiter<i64>,
    /// Call initiations per user.
    pub calls: Limiter<i64>,
}

pub fn build(core: CoreRef, cfg: &Config, shutdown: CancellationToken) -> super::Built {
    let (layer, io) = socketio::layer(cfg);
    // user:online / user:offline are part of this profile's contract.
    core.presence.want_announcements();
    let ctx = Arc::new(Ctx {
        core: core.clone(),
        io: io.clone(),
        inbox_capacity: cfg.inbox_capacity,
        ring_timeout: Duration::from_secs(cfg.call_ring_timeout_secs),
        jitsi_domain: cfg.jitsi_domain.clone(),
        messages: Limiter::per_minute(cfg.calls_messages_per_minute).shared(
            "calls_messages",
            core.cluster.clone(),
            cfg.calls_messages_per_minute,
            Duration::from_secs(60),
        ),
        calls: Limiter::per_minute(cfg.calls_calls_per_minute).shared(
            "calls_calls",
            core.cluster.clone(),
            cfg.calls_calls_per_minute,
            Duration::from_secs(60),
        ),
    });
    handshake::register(ctx.clone(), "/", events::handle);
    let render_ctx = ctx.clone();
    kit::spawn_renderer("calls", &core, shutdown.clone(), move |ev| {
        render::render(render_ctx.clone(), ev)
    });
    spawn_limiter_tidy(ctx.clone(), shutdown);
    let (router, mut api) = rest::router(ctx).split_for_parts();
    super::api_docs::refusals(&mut api, "RestError");
    let router = router
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            cfg.max_frame_bytes,
        ))
        .layer(layer);
    super::Built {
        router,
        api,
        envelope: error::envelope,
        closer: Some(async move { socketio::close(&io).await }.boxed()),
    }
}

/// Every minute the rate limiters forget users who sent nothing lately, so their
/// tables do not grow with every user ever seen.
fn spawn_limiter_tidy(ctx: Arc<Ctx>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = every.tick() => {
                    ctx.messages.forget_idle();
                    ctx.calls.forget_idle();
                }
                _ = shutdown.cancelled() => break,
            }
        }
    });
}
