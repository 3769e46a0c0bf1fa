//! Accepting a testcore WebSocket at `/ws1/` (and `/ws1`, `/`). Who a connection
//! acts as:
//! - a token in the request (`?token=` or `Authorization: Bearer`: a chat token
//!   from `connectChat` or an access token), else a cookie: `UserChatToken`,
//!   else the login's `accessToken` (what the original's page has: it opens
//!   `/ws1/` with no token, and the browser sends the site's cookies). A chat
//!   token admits its own room only.
//! - a cookie counts only when the page that opened the socket is this site (its
//!   `Origin` is the request's host) or a configured CORS origin: browsers attach
//!   cookies to sockets any page opens (cross-site WebSocket hijacking).
//! - an invalid token or a foreign page's cookie is refused in every mode; no
//!   credential at all is refused in strict mode (the default). Without one
//!   (strict mode off), the first frame's `userId` binds the connection to that
//!   user (see `handlers.rs`).
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
    http::{HeaderMap, StatusCode, Uri, header},
    response::Response,
};
use futures_util::{SinkExt, StreamExt};

use super::{
    Ctx, SPACE,
    error::{ApiError, CLOSE_REFUSED},
    events,
    session::Session,
    wire::{ACCESS_COOKIE, CHAT_COOKIE},
};
use crate::core::identity::auth::{self, AccessError};
use crate::profiles::kit::{cookie, count_refusal, request_token};
use crate::transport::ws;

/// What the upgrade request's credentials say.
enum Credentials {
    None,
    /// A cookie sent with a socket that another site's page opened.
    ForeignOrigin,
    /// A token (chat or access), checked once the socket is open.
    Token(String),
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
    if let Some(token) = request_token(headers, uri) {
        return Credentials::Token(token);
    }
    let Some(token) = cookie(headers, CHAT_COOKIE).or_else(|| cookie(headers, ACCESS_COOKIE))
    else {
        return Credentials::None;
    };
    if !page_of_this_site(ctx, headers, uri) {
        return Credentials::ForeignOrigin;
    }
    Credentials::Token(token)
}

/// A chat token (its user, its room), else an access token (its user); either
/// of this profile's space, its user still of that space.
async fn verify(ctx: &Ctx, token: &str) -> Result<(i64, Option<i64>), &'static str> {
    const INVALID: &str = "invalid or expired token";
    match auth::chat_user(&ctx.core, SPACE, token).await {
        Ok((user, room)) => return Ok((user.id, Some(room))),
        Err(AccessError::Failed(_)) => return Err(INVALID),
        Err(_) => {}
    }
    match auth::access_user(&ctx.core, SPACE, token).await {
        Ok(user) => Ok((user.id, None)),
        Err(_) => Err(INVALID),
    }
}

/// Whether the upgrade's cookies may speak for the user (see [`origin_allowed`]).
fn page_of_this_site(ctx: &Ctx, headers: &HeaderMap, uri: &Uri) -> bool {
    let origin = match headers.get(header::ORIGIN) {
        None => None,
        Some(o) => match o.to_str() {
            Ok(o) => Some(o),
            Err(_) => return false,
        },
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()));
    origin_allowed(origin, host, &ctx.allowed_origins)
}

/// No `Origin` (not a browser page: such a client can send any cookie anyway),
/// an `Origin` whose host and port are the request's `Host`, or one of the
/// `allowed` origins (lowercased, without a trailing `/`).
fn origin_allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    if allowed.contains(&origin) {
        return true;
    }
    match (origin.split_once("://"), host) {
        (Some((_, authority)), Some(host)) => authority.eq_ignore_ascii_case(host.trim()),
        _ => false,
    }
}

/// The connection's user (0: bound later by its first frame) and session, or
/// why it is refused.
async fn open(ctx: &Ctx, creds: Credentials) -> Result<(i64, Session), &'static str> {
    match creds {
        Credentials::Token(token) => {
            let (id, scope) = verify(ctx, &token).await?;
            Ok((id, Session::new(scope)))
        }
        Credentials::ForeignOrigin => Err("origin not allowed"),
        Credentials::None if ctx.strict => {
            Err("Invalid request,User not have access to this group")
        }
        Credentials::None => Ok((0, Session::new(None))),
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
    count_refusal("testcore", "AUTH_REQUIRED", "upgrade", None, &reason);
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

#[cfg(test)]
mod tests {
    use super::origin_allowed;

    #[test]
    fn cookies_count_for_pages_of_this_site_only() {
        let allowed = ["https://app.example.org".to_owned()];
        let host = Some("chat.example.org:8443");
        assert!(origin_allowed(None, host, &[]));
        assert!(origin_allowed(
            Some("https://chat.example.org:8443"),
            host,
            &[]
        ));
        assert!(origin_allowed(
            Some("http://CHAT.example.org:8443/"),
            host,
            &[]
        ));
        assert!(!origin_allowed(Some("https://evil.example"), host, &[]));
        assert!(!origin_allowed(Some("https://chat.example.org"), host, &[]));
        assert!(!origin_allowed(Some("null"), host, &[]));
        assert!(!origin_allowed(
            Some("https://chat.example.org:8443"),
            None,
            &[]
        ));
        assert!(origin_allowed(
            Some("https://app.example.org/"),
            host,
            &allowed
        ));
    }
}
