//! Accepting chatsphere's WebSocket, on any path: the upgrade needs an API token
//! (query, Bearer or cookie; 401 `{error}` otherwise), whose user the
//! connection is; a `userId` query parameter is ignored. Each accepted
//! connection gets its `ConnState`; before each frame its token is re-checked (a
//! revoked token closes the connection with 1008), then events.rs takes the
//! frame. Frames are handled one at a time, in arrival order.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use axum::{
    extract::{
        State,
        ws::{WebSocketUpgrade, close_code, rejection::WebSocketUpgradeRejection},
    },
    http::{HeaderMap, Uri},
    response::{IntoResponse, Response},
};

use super::{
    Ctx,
    caller::{principal, token_from},
    connection::ConnState,
    error::{ApiError, refuse},
    events,
};
use crate::core::{
    Error,
    identity::api_tokens::{self, Kind, Principal},
    presence,
};
use crate::profiles::kit::{Id, query_param};
use crate::transport::ws::{self, Conn, Frame};

/// The router's fallback: a WebSocket upgrade on any path, else 404.
pub async fn upgrade(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    uri: Uri,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        // Not a WebSocket and no REST route: 404 "Not found".
        return ApiError::Core(Error::NotFound("")).into_response();
    };
    match accept(&ctx, &headers, &uri).await {
        Ok(who) => serve(ctx, upgrade, who),
        Err(e) => e.into_response(),
    }
}

/// Who the connection is: the token's user, and only that. The UI sends its own
/// session's `userId` beside the token; that id comes from the UI's database,
/// not ours, so it usually names someone else (or nothing). It is never used:
/// a disagreeing one is logged and ignored rather than refused, since refusing
/// would keep the real UI out while honouring it would let a query act as
/// another user.
async fn accept(ctx: &Ctx, headers: &HeaderMap, uri: &Uri) -> Result<Principal, ApiError> {
    let who = principal(ctx, token_from(headers, uri, None)).await?;
    if let Some(claimed) = query_param(uri, "userId")
        && Id::parse(&claimed).0 != Some(who.user.id)
    {
        tracing::debug!(
            user = who.user.id,
            claimed,
            "chatsphere upgrade: userId is not the token's user; ignored"
        );
    }
    Ok(who)
}

/// Runs an accepted connection until it closes: presence on open and close, the
/// connection's state registered under the hub's id from its first frame on.
fn serve(ctx: Arc<Ctx>, upgrade: WebSocketUpgrade, who: Principal) -> Response {
    let user_id = who.user.id;
    let state = Arc::new(ConnState::new(who.token_id, who.kind == Kind::Client));
    let hub = ctx.hub.clone();
    ws::limit(upgrade, ctx.max_frame_bytes).on_upgrade(move |socket| async move {
        // The hub's id of this connection, once known (0 until its first frame).
        let seen = Arc::new(AtomicU64::new(0));
        let (fctx, fseen) = (ctx.clone(), seen.clone());
        let opened = async {
            let _ = presence::connected(&ctx.core, user_id).await;
        };
        ws::run(socket, hub, user_id, opened, move |conn, frame| {
            let (ctx, state, seen) = (fctx.clone(), state.clone(), fseen.clone());
            async move {
                if seen.swap(conn.id, Ordering::Relaxed) == 0 {
                    ctx.conns.insert(conn.id, state.clone());
                }
                on_frame(&ctx, &conn, &state, frame).await
            }
        })
        .await;
        let id = seen.load(Ordering::Relaxed);
        if id != 0 {
            ctx.conns.remove(&id);
        }
        let _ = presence::disconnected(&ctx.core, user_id).await;
    })
}

/// The token is re-checked before every frame: a token revoked elsewhere (or
/// expired) ends the connection here.
async fn on_frame(ctx: &Ctx, conn: &Arc<Conn>, state: &ConnState, frame: Frame) {
    match api_tokens::still_valid(&ctx.core, state.token_id).await {
        Ok(true) => events::receive(ctx, conn, state, frame).await,
        // The close frame says why (frames queued now would be dropped).
        Ok(false) => conn.close(close_code::POLICY, "token revoked"),
        Err(e) => refuse(conn, "frame", &e),
    }
}
