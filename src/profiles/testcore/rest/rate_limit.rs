//! One request budget per client address over the `/api/v1` routes (the
//! original's express-rate-limit: 100 requests per 15 minutes by default). The
//! address is the TCP peer: behind a proxy every client shares the proxy's.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use axum::{
    extract::{ConnectInfo, Request, State},
    middleware::Next,
    response::Response,
};
use tokio_util::sync::CancellationToken;

use super::super::{Ctx, error::ApiError};
use crate::{config::Config, core::CoreRef};

pub type Limiter = crate::core::ratelimit::Limiter<IpAddr>;

/// The configured budget: `testcore_rate_limit` requests per window, refilled
/// evenly, all of them usable at once; in cluster mode one across every node.
pub fn limiter(cfg: &Config, core: &CoreRef) -> Arc<Limiter> {
    let window = Duration::from_secs(cfg.testcore_rate_limit_window_secs.max(1));
    Arc::new(Limiter::per_window(cfg.testcore_rate_limit, window).shared(
        "testcore",
        core.cluster.clone(),
        cfg.testcore_rate_limit,
        window,
    ))
}

/// Forgets full budgets every minute until shutdown, so addresses seen once do
/// not stay in memory.
pub fn spawn_sweeper(limiter: Arc<Limiter>, shutdown: CancellationToken) {
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

/// One request from the client address's budget, or 429 with `Retry-After`.
pub async fn per_address(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    ctx.limiter.take(&peer.ip()).await?;
    Ok(next.run(req).await)
}
