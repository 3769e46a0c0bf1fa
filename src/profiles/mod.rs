//! Profiles: everything one frontend needs (its REST router, its realtime adapter,
//! its wire shapes and its error mapping) over the one core. Each is served on its
//! own listener; see the table in the README.

pub mod calls;
pub mod chatsphere;
pub mod expresschat;
pub mod kit;
pub mod orgchat;
pub mod testcore;

use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::{
    config::{Config, Profile},
    core::CoreRef,
};

/// A profile ready to serve: its router, and what to await at shutdown to close
/// its realtime connections cleanly.
pub struct Built {
    pub router: axum::Router,
    pub closer: Option<BoxFuture<'static, ()>>,
}

/// Builds a profile's router (with the ops routes and CORS every listener has).
pub fn build(
    p: Profile,
    core: CoreRef,
    cfg: &Config,
    shutdown: CancellationToken,
) -> anyhow::Result<Built> {
    let built = match p {
        Profile::Expresschat => expresschat::build(core.clone(), cfg, shutdown),
        Profile::Orgchat => orgchat::build(core.clone(), cfg, shutdown),
        Profile::Calls => calls::build(core.clone(), cfg, shutdown),
        Profile::Chatsphere => chatsphere::build(core.clone(), cfg, shutdown),
        Profile::Testcore => testcore::build(core.clone(), cfg, shutdown),
    };
    let mut ops = crate::transport::http::ops_routes(core);
    // The Socket.IO admin UI's page, on the listeners that speak Socket.IO.
    if p.speaks_socketio() && crate::transport::admin::enabled(cfg) {
        ops = ops.merge(crate::transport::admin_page::router());
    }
    Ok(Built {
        // The profile's router goes in as a fallback *service*, so its layers (the
        // Socket.IO layer above all) see every request that no ops route takes;
        // merged as routes, `/socket.io/` would match no route and answer 404.
        router: ops
            .fallback_service(built.router)
            .layer(crate::transport::http::cors(cfg)),
        closer: built.closer,
    })
}
