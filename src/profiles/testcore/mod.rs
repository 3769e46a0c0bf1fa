//! testcore (seed 000): named rooms over REST under `/api/v1`, and a raw
//! WebSocket relay at `/ws1/` (and `/`).
//!
//! REST (`rest.rs`, `{statusCode, data, message, success}` envelopes; Bearer or
//! cookie `accessToken`; a per-address budget on everything under `/api/v1`):
//! POST /api/v1/user/register, POST /api/v1/user/login (`account.rs`);
//! POST /api/v1/chat/createChat, GET /api/v1/chat/getChat (= /getchat),
//! POST|PUT|GET /api/v1/chat/ChatQuery/{roomName} and /{College}/{Branch},
//! POST /api/v1/chat/connectChat/{roomName} and /{College}/{Branch}.
//! Route names match case-insensitively, as Express does.
//!
//! Realtime (`raw.rs`): frames `{MessageId, roomName, content, typeOfMessage,
//! userId}` with typeOfMessage SEND_MESSAGE, MODIFI_MESSAGE, DELETE_MESSAGE,
//! LEAVE_ROOM; every refusal closes with 4000 and a reason. Deliveries
//! (`render.rs`): the room's other connections get the frame again.

mod account;
mod raw;
mod render;
mod rest;
pub mod wire;

use std::{net::IpAddr, num::NonZeroU32, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use dashmap::DashMap;
use futures_util::FutureExt;
use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock};
use tokio_util::sync::CancellationToken;

use crate::{config::Config, core::CoreRef, transport::ws};

/// The close code of every refused frame or connection (the original's).
pub const CLOSE_REFUSED: u16 = 4000;

/// What the handlers share.
pub struct Ctx {
    pub core: CoreRef,
    /// This listener's raw WebSocket connections.
    pub hub: Arc<ws::Hub>,
    /// Requests per client address under `/api/v1`.
    pub limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    /// WebSocket connections need a token.
    pub strict: bool,
    pub max_frame_bytes: usize,
    pub cookie_secure: bool,
    /// The user a tokenless connection (strict mode off) acts as, once its first
    /// frame named one; the hub only knows the user of a token.
    pub bound: DashMap<u64, i64>,
}

impl Ctx {
    /// The user a connection acts as (0: none yet).
    pub fn user_of(&self, conn: &ws::Conn) -> i64 {
        if conn.user_id != 0 {
            return conn.user_id;
        }
        self.bound.get(&conn.id).map(|u| *u).unwrap_or(0)
    }
}

pub fn build(core: CoreRef, cfg: &Config, shutdown: CancellationToken) -> super::Built {
    let n = NonZeroU32::new(cfg.testcore_rate_limit.max(1)).unwrap_or(NonZeroU32::MIN);
    let window = Duration::from_secs(cfg.testcore_rate_limit_window_secs.max(1));
    let quota = Quota::with_period(window / n.get())
        .unwrap_or_else(|| Quota::per_second(n))
        .allow_burst(n);
    let ctx = Arc::new(Ctx {
        core: core.clone(),
        hub: ws::Hub::with_oversize_code("testcore", cfg.socket_buffer, CLOSE_REFUSED),
        limiter: Arc::new(DefaultKeyedRateLimiter::keyed(quota)),
        strict: cfg.testcore_strict_tokens,
        max_frame_bytes: cfg.max_frame_bytes,
        cookie_secure: cfg.cookie_secure,
        bound: DashMap::new(),
    });
    let rx = core.bus.subscribe();
    let render_ctx = ctx.clone();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = crate::core::bus::consume("testcore", rx, |ev| render::render(&render_ctx, ev)) => {}
            _ = stop.cancelled() => {}
        }
    });
    let limiter = ctx.limiter.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = every.tick() => { limiter.retain_recent(); limiter.shrink_to_fit(); }
                _ = shutdown.cancelled() => break,
            }
        }
    });
    let api = rest::router()
        .merge(account::router())
        .layer(middleware::from_fn_with_state(ctx.clone(), rate_limit));
    let hub = ctx.hub.clone();
    let inner = Router::new()
        .merge(api)
        .route("/ws1/", get(raw::upgrade))
        .route("/ws1", get(raw::upgrade))
        .route("/", get(raw::upgrade))
        .fallback(not_found)
        .method_not_allowed_fallback(not_allowed)
        .with_state(ctx)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            cfg.max_frame_bytes,
        ));
    // Routing happens inside `inner`, after the path was made canonical.
    let router = Router::new()
        .fallback_service(inner)
        .layer(middleware::map_request(canonical_path));
    super::Built {
        router,
        closer: Some(async move { hub.close_all(Duration::from_secs(5)).await }.boxed()),
    }
}

async fn not_found() -> Response {
    wire::fail(StatusCode::NOT_FOUND, "route not found")
}

async fn not_allowed() -> Response {
    wire::fail(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}

/// One request from the client address's budget, or 429 with `Retry-After`.
async fn rate_limit(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    match ctx.limiter.check_key(&peer.ip()) {
        Ok(()) => next.run(req).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(ctx.limiter.clock().now());
            let secs = (wait.as_secs_f64().ceil() as u64).max(1);
            metrics::counter!("chatwire_errors_total", "profile" => "testcore", "code" => "RATE_LIMITED")
                .increment(1);
            let mut r = wire::fail(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests, please try again later",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            r.into_response()
        }
    }
}

/// The routes' names as declared; a request path matching one of them in any
/// case is rewritten to it (Express routing is case-insensitive).
const ROUTES: [(&str, &str); 7] = [
    ("/api/v1/chat/createchat", "/api/v1/chat/createChat"),
    ("/api/v1/chat/getchat", "/api/v1/chat/getChat"),
    ("/api/v1/chat/chatquery/", "/api/v1/chat/ChatQuery/"),
    ("/api/v1/chat/connectchat/", "/api/v1/chat/connectChat/"),
    ("/api/v1/user/register", "/api/v1/user/register"),
    ("/api/v1/user/login", "/api/v1/user/login"),
    ("/ws1", "/ws1"),
];

fn canonical(path: &str) -> Option<String> {
    let lower = path.to_ascii_lowercase();
    for (key, canon) in ROUTES {
        let exact = !key.ends_with('/');
        let hit = if exact {
            lower == key || lower == format!("{key}/")
        } else {
            lower.starts_with(key)
        };
        if hit && !path.starts_with(canon) {
            // ASCII lowercasing keeps byte offsets, so the tail is unchanged.
            return Some(format!("{canon}{}", &path[key.len().min(path.len())..]));
        }
    }
    None
}

async fn canonical_path(mut req: Request) -> Request {
    if let Some(path) = canonical(req.uri().path()) {
        let pq = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        if let Ok(uri) = pq.parse() {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// Counts and logs a refusal (the client got its answer already).
fn count_error(code: &'static str, why: &str, user: i64) {
    metrics::counter!("chatwire_errors_total", "profile" => "testcore", "code" => code)
        .increment(1);
    tracing::debug!(user, code, why, "testcore request refused");
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn route_names_match_in_any_case() {
        assert_eq!(
            canonical("/api/v1/chat/getchat").as_deref(),
            Some("/api/v1/chat/getChat")
        );
        assert_eq!(canonical("/api/v1/chat/getChat"), None);
        assert_eq!(
            canonical("/API/v1/chat/chatquery/Delhi/CSE").as_deref(),
            Some("/api/v1/chat/ChatQuery/Delhi/CSE")
        );
        assert_eq!(canonical("/api/v1/chat/nope"), None);
    }
}
