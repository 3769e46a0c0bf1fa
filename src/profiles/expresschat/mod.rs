//! expresschat (seed 001): Socket.IO on namespace `/`, REST at the root.
//!
//! REST (`rest.rs`, refusals in `error.rs`): POST /signup, POST /login,
//! GET /verify (and /Verify), POST /logout, POST /resend,
//! POST /update-access-token; with `CHATWIRE_DEMO_PAGE`, the demo chat page of
//! `examples/web/` at GET /demo/.
//!
//! Handshake (`handshake.rs`): cookies `access_token`/`refresh_token` or query
//! `accessToken`/`refreshToken`; never rejected: `auth-failure` then disconnect.
//! After connect: `access-token` (when refreshed), `user-id`, `personal-chat-list`,
//! `group-chat-list`.
//!
//! Events (`events.rs` parses each into `ClientEvent`; handlers in `handlers/`):
//! - `handlers/people.rs`: fetch-user-details, search-user;
//! - `handlers/personal.rs`: check-chat, create-personal-chat,
//!   fetch-personal-chat, fetch-self-chat;
//! - `handlers/messages.rs`: send-personal-message, send-group-message,
//!   send-self-message, read-personal-message, read-group-message;
//! - `handlers/group.rs`: create-group-chat, fetch-group-chat, add-member,
//!   kickout, change-admin, leave-grp, delete-grp.
//!
//! Refusals (`error.rs`): `add-member-fail`, `kickout-fail`, `change-admin-fail`,
//! `delete-grp-fail` `{Message}`, bare `group-left-fail`; a fetch that asked for
//! a history page (`After`/`Before`/`Limit`, chatwire's extension) gets
//! `fetch-*-fail {Message}`; other events get no answer (logged).
//!
//! Deliveries to other users (`render.rs`): core bus events rendered as
//! receive-personal-message, read-personal-msg-ack, create-personal-chat-*,
//! create-group-chat-*, receive-group-message, read-grp-msg-ack, add-member-success,
//! new-grp-added, kickout-successful, kicked-out, someone-kicked-out,
//! change-admin-success-*, group-left-success, user-left-grp,
//! delete-group-chat-creator, delete-grp-success-receiver.
//!
//! Wire shapes (`wire.rs`): the REST bodies and every event's payload, in and out.

mod error;
mod events;
mod handlers;
mod handshake;
mod render;
mod rest;
mod wire;

use std::sync::Arc;

use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;

use crate::{
    config::Config,
    core::{CoreRef, identity::space::Space},
    profiles::kit,
    transport::socketio,
};

/// The accounts and tokens this profile admits: the shared space's (see
/// `core::identity::space`); an orgchat account is unknown here.
pub const SPACE: Space = Space::Shared;

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
    handshake::register(ctx.clone());
    let render_ctx = ctx.clone();
    kit::spawn_renderer("expresschat", &core, shutdown, move |ev| {
        render::render(render_ctx.clone(), ev)
    });
    let mut router = rest::router(ctx);
    if cfg.demo_page {
        router = router.merge(rest::demo_page());
    }
    let router = router
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            cfg.max_frame_bytes,
        ))
        .layer(layer);
    super::Built {
        router,
        closer: Some(async move { io.close().await }.boxed()),
    }
}
