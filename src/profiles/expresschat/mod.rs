//! expresschat (seed 001): Socket.IO on namespace `/`, REST at the root.
//!
//! REST (`rest.rs`): POST /signup, POST /login, GET /verify (and /Verify),
//! POST /logout, POST /resend, POST /update-access-token.
//!
//! Handshake (`connect.rs`): cookies `access_token`/`refresh_token` or query
//! `accessToken`/`refreshToken`; never rejected: `auth-failure` then disconnect.
//! After connect: `access-token` (when refreshed), `user-id`, `personal-chat-list`,
//! `group-chat-list`.
//!
//! Events (`realtime.rs` holds the table; group events live in `group_events.rs`): fetch-user-details, search-user,
//! check-chat, create-personal-chat, send-personal-message, read-personal-message,
//! fetch-personal-chat, send-self-message, fetch-self-chat, create-group-chat,
//! send-group-message, read-group-message, fetch-group-chat, add-member, kickout,
//! change-admin, leave-grp, delete-grp.
//!
//! Deliveries to other users (`render.rs`): core bus events rendered as
//! receive-personal-message, read-personal-msg-ack, create-personal-chat-*,
//! create-group-chat-*, receive-group-message, read-grp-msg-ack, add-member-success,
//! new-grp-added, kickout-successful, kicked-out, someone-kicked-out,
//! change-admin-success-*, group-left-success, user-left-grp,
//! delete-group-chat-creator, delete-grp-success-receiver.

mod connect;
mod group_events;
mod realtime;
mod render;
mod rest;
pub mod wire;

use std::sync::Arc;

use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;

use crate::{config::Config, core::CoreRef, transport::socketio};

/// What the handlers share.
pub struct Ctx {
    pub core: CoreRef,
    pub io: socketioxide::SocketIo,
    pub inbox_capacity: usize,
    pub cookie_secure: bool,
}

pub fn build(core: CoreRef, cfg: &Config, shutdown: CancellationToken) -> super::Built {
    let (layer, io) = socketio::layer(cfg);
    let ctx = Arc::new(Ctx {
        core: core.clone(),
        io: io.clone(),
        inbox_capacity: cfg.inbox_capacity,
        cookie_secure: cfg.cookie_secure,
    });
    connect::register(ctx.clone());
    let rx = core.bus.subscribe();
    let render_ctx = ctx.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = crate::core::bus::consume("expresschat", rx, |ev| render::render(&render_ctx, ev)) => {}
            _ = shutdown.cancelled() => {}
        }
    });
    let router = rest::router(ctx)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            cfg.max_frame_bytes,
        ))
        .layer(layer);
    super::Built {
        router,
        closer: Some(async move { io.close().await }.boxed()),
    }
}
