//! One request budget per client address over the `/api/v1` routes (the
//! original's express-rate-limit: 100 requests per 15 minutes by default). The
//! address is the TCP peer: behind a proxy every client shares the proxy's.

use std::{
    net::{IpAddr, SocketAddr},
    num::NonZeroU32,
    sync::Arc,
    time::Duration,
};

use axum::{
    extract::{ConnectInfo, Request, State},
    middleware::Next,
    response::Response,
};
use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock};
use tokio_util::sync::CancellationToken;

use super::super::{Ctx, error::ApiError};
use crate::{config::Config, core::Error};

pub type Limiter = DefaultKeyedRateLimiter<IpAddr>;

/// The configured budget: `testcore_rate_limit` requests per window, refilled
/// evenly, all of them usable at once.
pub fn limiter(cfg: &Config) -> Arc<Limiter> {
    let n = NonZeroU32::new(cfg.testcore_rate_limit.max(1)).unwrap_or(NonZeroU32::MIN);
    let window = Duration::from_secs(cfg.testcore_rate_limit_window_secs.max(1));
    let quota = Quota::with_period(window / n.get())
        .unwrap_or_else(|| Quota::per_second(n))
        .allow_burst(n);
    Arc::new(DefaultKeyedRateLimiter::keyed(quota))
}

/// Forgets full budgets every minute until shutdown, so addresses seen once do
/// not stay in memory.
pub fn spawn_sweeper(limiter: Arc<Limiter>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = every.tick() => { limiter.retain_recent(); limiter.shrink_to_fit(); }
                _ = shutdown.cancelled() => break,
            }
        }
    });
}

/// One request from the client address's budget, or 429 with `Retry-After`.
pub async fn per_address(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    match ctx.limiter.check_key(&peer.ip()) {
        Ok(()) => Ok(next.run(req).await),
        Err(not_until) => {
            let wait = not_until.wait_time_from(ctx.limiter.clock().now());
            let retry_after_secs = wait.as_secs_f64().ceil() as u64;
            Err(Error::RateLimited { retry_after_secs }.into())
        }
    }
}
