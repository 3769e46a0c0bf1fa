//! testcore (seed 000): named rooms over REST under `/api/v1`, and a raw
//! WebSocket relay at `/ws1/` (and `/ws1`, `/`).
//!
//! REST (`{statusCode, data, message, success}` envelopes; a per-address budget
//! over these routes; route names match in any case):
//! - POST|GET /api/v1/user/signup (= POST /register), POST /api/v1/user/login
//! - POST /api/v1/chat/createChat, GET /api/v1/chat/getChat
//! - POST (join) | PUT (leave) | GET /api/v1/chat/ChatQuery/{roomName} and
//!   /{College}/{Branch} (GET takes a history cursor: `?after=&before=&limit=`)
//! - POST /api/v1/chat/connectChat/{roomName} and /{College}/{Branch}
//!
//! Realtime (credentials: `?token=`, Bearer, or the `UserChatToken` or
//! `accessToken` cookie): client frames `{MessageId, roomName, content, typeOfMessage,
//! userId}` with typeOfMessage SEND_MESSAGE, MODIFI_MESSAGE, DELETE_MESSAGE,
//! LEAVE_ROOM; the room's other connections get the frame again. Every refusal
//! closes the connection with 4000 and a reason.
//!
//! Files:
//! - `rest/`: the REST router (`mod.rs`), the chat and user routes, the
//!   extractors (signed-in caller, JSON body, room name), the rate limit, the
//!   case-insensitive route names.
//! - `handshake.rs`: the WebSocket upgrade: credentials and refusals.
//! - `session.rs`: who a connection acts as (its token's user, or the user its
//!   first frame bound it to in non-strict mode).
//! - `events.rs`: a frame parsed once into a `ClientEvent`, then dispatched.
//! - `handlers.rs`: the four frame handlers.
//! - `render.rs`: room messages (new, edited, deleted) relayed to connections.
//! - `wire.rs`: envelopes, REST shapes, frames.
//! - `error.rs`: core errors as REST envelopes and as close frames.

mod error;
mod events;
mod handlers;
mod handshake;
mod render;
mod rest;
mod session;
mod wire;

use std::{sync::Arc, time::Duration};

use axum::{Router, middleware, routing::get};
use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;

use crate::{
    config::Config,
    core::{CoreRef, identity::space::Space},
    profiles::kit,
    transport::ws,
};

/// The accounts and tokens this profile admits: the shared space's (see
/// `core::identity::space`), the same accounts as expresschat's and calls'.
pub const SPACE: Space = Space::Shared;

/// What the handlers share.
pub struct Ctx {
    pub core: CoreRef,
    /// This listener's raw WebSocket connections.
    pub hub: Arc<ws::Hub>,
    /// Requests per client address under `/api/v1`.
    pub limiter: Arc<rest::rate_limit::Limiter>,
    /// WebSocket connections need a token.
    pub strict: bool,
    pub max_frame_bytes: usize,
    pub cookie_secure: bool,
    /// The users tokenless connections (strict mode off) were bound to.
    pub bindings: session::Bindings,
    /// Pages of other origins whose sockets may use the cookies (CORS origins,
    /// lowercased, without a trailing `/`).
    pub allowed_origins: Vec<String>,
}

pub fn build(core: CoreRef, cfg: &Config, shutdown: CancellationToken) -> super::Built {
    let ctx = Arc::new(Ctx {
        core: core.clone(),
        hub: ws::Hub::with_oversize_code(
            "testcore",
            cfg.socket_buffer,
            ws::FloodLimit::from_config(cfg),
            error::CLOSE_REFUSED,
        ),
        limiter: rest::rate_limit::limiter(cfg, &core),
        strict: cfg.testcore_strict_tokens,
        max_frame_bytes: cfg.max_frame_bytes,
        cookie_secure: cfg.cookie_secure,
        bindings: session::Bindings::default(),
        allowed_origins: cfg
            .cors_origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|o| !o.is_empty())
            .collect(),
    });
    let render_ctx = ctx.clone();
    kit::spawn_renderer("testcore", &core, shutdown.clone(), move |ev| {
        let ctx = render_ctx.clone();
        async move { render::render(&ctx, ev).await }
    });
    rest::rate_limit::spawn_sweeper(ctx.limiter.clone(), shutdown);
    let hub = ctx.hub.clone();
    let (rest, mut api) = rest::router(ctx.clone()).split_for_parts();
    super::api_docs::refusals(&mut api, "Failure");
    let inner = Router::new()
        .merge(rest)
        .route("/ws1/", get(handshake::upgrade))
        .route("/ws1", get(handshake::upgrade))
        .route("/", get(handshake::upgrade))
        .fallback(rest::not_found)
        .method_not_allowed_fallback(rest::not_allowed)
        .with_state(ctx)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            cfg.max_frame_bytes,
        ));
    // Routing happens inside `inner`, after the path was made canonical.
    let router = Router::new()
        .fallback_service(inner)
        .layer(middleware::map_request(rest::paths::canonical_path));
    super::Built {
        router,
        api,
        envelope: error::envelope,
        closer: Some(async move { hub.close_all(Duration::from_secs(5)).await }.boxed()),
    }
}
