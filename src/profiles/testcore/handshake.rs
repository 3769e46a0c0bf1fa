//! Accepting a testcore WebSocket at `/ws1/` (and `/ws1`, `/`). Who a connection
//! acts as:
//! - a token (`?token=` or `Authorization: Bearer`: a chat token from
//!   `connectChat` or an access token; else the `UserChatToken` cookie) names the
//!   user, and a chat token admits its own room only. An invalid token is refused
//!   in every mode; with strict tokens on (the default) a missing one is too.
//! - without a token (strict tokens off), the first frame's `userId` binds the
//!   connection to that user (see `handlers.rs`).
//!
//! Close codes exist only on an open WebSocket, so a refused connection is
//! upgraded, then closed at once with 4000 and the reason.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{
        State,
        ws::{
            CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
        },
    },
    http::{HeaderMap, StatusCode, Uri},
    response::Response,
};
use futures_util::{SinkExt, StreamExt};

use super::{
    Ctx,
    error::{ApiError, CLOSE_REFUSED},
    events,
    session::Session,
    wire::CHAT_COOKIE,
};
use crate::core::identity::{accounts, auth};
use crate::profiles::kit::{cookie, count_refusal, request_token};
use crate::transport::ws;

/// What the upgrade request's credentials say.
enum Credentials {
    None,
    Invalid,
    /// A user, and the one room a chat token admits.
    User {
        id: i64,
        scope: Option<i64>,
    },
}

/// The upgrade route.
pub async fn upgrade(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    uri: Uri,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade.map_err(|_| {
        ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "INVALID_DATA",
            "This endpoint expects a WebSocket upgrade",
        )
    })?;
    let creds = credentials(&ctx, &headers, &uri);
    let upgrade = ws::limit(upgrade, ctx.max_frame_bytes);
    Ok(upgrade.on_upgrade(move |socket| async move {
        match open(&ctx, creds).await {
            Ok((user, session)) => serve(ctx, socket, user, session).await,
            Err(reason) => refuse_socket(socket, reason).await,
        }
    }))
}

fn credentials(ctx: &Ctx, headers: &HeaderMap, uri: &Uri) -> Credentials {
    let token = request_token(headers, uri).or_else(|| cookie(headers, CHAT_COOKIE));
    let Some(token) = token else {
        return Credentials::None;
    };
    if let Ok((id, room)) = auth::verify_chat(&ctx.core, &token) {
        return Credentials::User {
            id,
            scope: Some(room),
        };
    }
    match auth::verify_access(&ctx.core, &token) {
        Ok(id) => Credentials::User { id, scope: None },
        Err(_) => Credentials::Invalid,
    }
}

/// The connection's user (0: bound later by its first frame) and session, or
/// why it is refused.
async fn open(ctx: &Ctx, creds: Credentials) -> Result<(i64, Session), &'static str> {
    match creds {
        Credentials::User { id, scope } => {
            shared_user(ctx, id).await?;
            Ok((id, Session::new(scope)))
        }
        Credentials::Invalid => Err("invalid or expired token"),
        Credentials::None if ctx.strict => {
            Err("Invalid request,User not have access to this group")
        }
        Credentials::None => Ok((0, Session::new(None))),
    }
}

/// A token's user must still exist and belong to the shared space.
async fn shared_user(ctx: &Ctx, id: i64) -> Result<(), &'static str> {
    match accounts::get(&ctx.core, id).await {
        Ok(u) if u.organization_id.is_none() => Ok(()),
        _ => Err("invalid or expired token"),
    }
}

/// Runs an accepted connection until it ends, each frame through the event table.
async fn serve(ctx: Arc<Ctx>, socket: WebSocket, user: i64, session: Session) {
    let session = Arc::new(session);
    let (hctx, hsession) = (ctx.clone(), session.clone());
    ws::run(
        socket,
        ctx.hub.clone(),
        user,
        async {},
        move |conn, frame| {
            let (ctx, session) = (hctx.clone(), hsession.clone());
            async move { events::on_frame(&ctx, &session, &conn, frame).await }
        },
    )
    .await;
    if let Some(id) = session.conn_id() {
        ctx.bindings.forget(id);
    }
}

/// Closes a just-upgraded socket with 4000 and `reason`, then waits (briefly)
/// for the client's close reply so the close frame is not lost to a reset.
async fn refuse_socket(mut socket: WebSocket, reason: &'static str) {
    count_refusal("testcore", "AUTH_REQUIRED", "upgrade", 0, &reason);
    let frame = CloseFrame {
        code: CLOSE_REFUSED,
        reason: reason.into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(m)) = socket.next().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
    let _ = socket.close().await;
}
