//! What every listener serves besides its profile: `/healthz`, `/readyz`,
//! `/metrics`; and the CORS and shutdown layers.

use axum::{
    Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::Response,
    routing::get,
};
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{config::Config, core::CoreRef};

/// Health, readiness and metrics routes.
pub fn ops_routes(core: CoreRef) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(|| async { crate::telemetry::metrics().render() }),
        )
        .with_state(core)
}

/// The database must answer. In cluster mode the answer also says whether Redis
/// is reachable; a node without Redis still serves its own connections, so it
/// stays ready (every node loses Redis at once: taking them all out of the load
/// balancer would serve nobody). `chatwire_redis_up` is the metric to alert on.
async fn readyz(State(core): State<CoreRef>) -> (StatusCode, &'static str) {
    if let Err(e) = core.db.ping().await {
        tracing::warn!(error = %e, "readiness check failed");
        return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
    }
    match &core.cluster {
        None => (StatusCode::OK, "ready"),
        Some(c) if c.redis_up() => (StatusCode::OK, "ready\nredis: up"),
        Some(_) => (
            StatusCode::OK,
            "ready\nredis: down (serving local connections only)",
        ),
    }
}

/// CORS: the configured origins with credentials, or any origin without them. It
/// must wrap the Socket.IO layer too, or long-polling answers lack the headers.
pub fn cors(cfg: &Config) -> CorsLayer {
    let origins: Vec<_> = cfg
        .cors_origins
        .iter()
        .filter(|o| !o.trim().is_empty())
        .filter_map(|o| o.trim().parse().ok())
        .collect();
    let base = CorsLayer::new()
        .allow_methods(tower_http::cors::AllowMethods::mirror_request())
        .allow_headers(tower_http::cors::AllowHeaders::mirror_request());
    if origins.is_empty() {
        base.allow_origin(AllowOrigin::any())
    } else {
        base.allow_origin(AllowOrigin::list(origins))
            .allow_credentials(true)
    }
}

/// Once `shutdown` is cancelled every answer says `Connection: close`: a
/// client closes its kept-alive connection after it instead of sending the
/// next request on a connection the server is about to close.
pub fn close_when(router: Router, shutdown: CancellationToken) -> Router {
    router.layer(axum::middleware::map_response_with_state(
        shutdown,
        |State(shutdown): State<CancellationToken>, mut response: Response| async move {
            if shutdown.is_cancelled() {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            response
        },
    ))
}
