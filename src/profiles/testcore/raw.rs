//! testcore's raw WebSocket at `/ws1/` (and `/`). Who a connection acts as:
//! - a token (`?token=` or `Authorization: Bearer`: a chat token from
//!   `connectChat` or an access token; else the `UserChatToken` cookie) names the
//!   user, and a chat token admits its own room only. An invalid token is refused
//!   in every mode; with strict tokens on (the default) a missing one is too.
//! - without a token (strict tokens off), the first frame's `userId` must name an
//!   existing user of the shared space, and every later frame the same one.
//!
//! Each frame's `userId` must be that user, who must be a member of `roomName`.
//! A connection joins a room's live feed with its first frame there. Every
//! refusal closes the connection with 4000 and a reason; nothing else is touched.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};

use axum::{
    extract::{
        State,
        ws::{
            CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code,
            rejection::WebSocketUpgradeRejection,
        },
    },
    http::{HeaderMap, StatusCode, Uri},
    response::Response,
};
use axum_extra::extract::cookie::CookieJar;
use futures_util::{SinkExt, StreamExt};

use super::{CLOSE_REFUSED, Ctx, wire::*};
use crate::core::{
    Error, conversations::rooms::named as rooms, identity::accounts, identity::auth,
};
use crate::transport::ws::{self, Conn, Frame};

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

fn credentials(ctx: &Ctx, headers: &HeaderMap, uri: &Uri) -> Credentials {
    let token = crate::profiles::kit::request_token(headers, uri).or_else(|| {
        CookieJar::from_headers(headers)
            .get("UserChatToken")
            .map(|c| c.value().to_owned())
            .filter(|t| !t.is_empty())
    });
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

/// One connection's state beyond the hub's.
struct Session {
    scope: Option<i64>,
    /// Set once the connection is being closed: later frames are ignored.
    closed: AtomicBool,
    /// The hub's id of the connection, for cleanup after it ends.
    conn: Mutex<Option<u64>>,
}

pub async fn upgrade(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    uri: Uri,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        return fail(
            StatusCode::UPGRADE_REQUIRED,
            "This endpoint expects a WebSocket upgrade",
        );
    };
    let creds = credentials(&ctx, &headers, &uri);
    // Close codes exist only on an open WebSocket: refusals happen after upgrade.
    ws::limit(upgrade, ctx.max_frame_bytes).on_upgrade(move |socket| async move {
        let (user, scope) = match creds {
            Credentials::User { id, scope } => match shared_user(&ctx, id).await {
                Ok(()) => (id, scope),
                Err(why) => return refuse_socket(socket, why).await,
            },
            Credentials::Invalid => return refuse_socket(socket, "invalid or expired token").await,
            Credentials::None if ctx.strict => {
                return refuse_socket(socket, "Invalid request,User not have access to this group")
                    .await;
            }
            Credentials::None => (0, None),
        };
        let session = Arc::new(Session {
            scope,
            closed: AtomicBool::new(false),
            conn: Mutex::new(None),
        });
        let (hctx, hsession) = (ctx.clone(), session.clone());
        ws::run(
            socket,
            ctx.hub.clone(),
            user,
            async {},
            move |conn, frame| {
                let (ctx, session) = (hctx.clone(), hsession.clone());
                async move { on_frame(&ctx, &session, &conn, frame).await }
            },
        )
        .await;
        if let Some(id) = session.conn.lock().ok().and_then(|c| *c) {
            ctx.bound.remove(&id);
        }
    })
}

async fn shared_user(ctx: &Ctx, id: i64) -> Result<(), &'static str> {
    match accounts::get(&ctx.core, id).await {
        Ok(u) if u.organization_id.is_none() => Ok(()),
        _ => Err("invalid or expired token"),
    }
}

/// Closes a just-upgraded socket with 4000 and `reason`, then waits (briefly)
/// for the client's close reply so the close frame is not lost to a reset.
async fn refuse_socket(mut socket: WebSocket, reason: &'static str) {
    super::count_error("AUTH_REQUIRED", reason, 0);
    let frame = CloseFrame {
        code: CLOSE_REFUSED,
        reason: reason.into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        while let Some(Ok(m)) = socket.next().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
    let _ = socket.close().await;
}

/// Why a frame was refused: the close code and reason.
struct Refusal(u16, String);

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        match e {
            Error::Internal => Refusal(close_code::ERROR, "internal error".into()),
            Error::NotFound(what) => Refusal(CLOSE_REFUSED, format!("{what} not found")),
            other => Refusal(CLOSE_REFUSED, other.to_string()),
        }
    }
}

fn refused(why: impl Into<String>) -> Refusal {
    Refusal(CLOSE_REFUSED, why.into())
}

async fn on_frame(ctx: &Ctx, session: &Session, conn: &Arc<Conn>, frame: Frame) {
    if session.closed.load(Ordering::Acquire) {
        return;
    }
    if let Ok(mut c) = session.conn.lock() {
        *c = Some(conn.id);
    }
    if let Err(Refusal(code, reason)) = handle(ctx, session, conn, frame).await {
        let user = ctx.user_of(conn);
        super::count_error("INVALID_DATA", &reason, user);
        session.closed.store(true, Ordering::Release);
        conn.close(code, &clip(&reason));
    }
}

/// A close reason fits in 123 bytes.
fn clip(reason: &str) -> String {
    let mut end = reason.len().min(120);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

async fn handle(
    ctx: &Ctx,
    session: &Session,
    conn: &Arc<Conn>,
    frame: Frame,
) -> Result<(), Refusal> {
    let Frame::Text(text) = frame else {
        return Err(refused("binary frames are not supported"));
    };
    let f = parse_frame(&text).map_err(refused)?;
    let claimed: Option<i64> = f.user_id.trim().parse().ok();
    let acting = ctx.user_of(conn);
    let user = if acting != 0 {
        if claimed != Some(acting) {
            return Err(refused("userId does not match the token"));
        }
        accounts::get(&ctx.core, acting).await?
    } else {
        let unknown = || refused("userId does not name a user");
        let id = claimed.ok_or_else(unknown)?;
        match accounts::get(&ctx.core, id).await {
            Ok(u) if u.organization_id.is_none() => {
                ctx.bound.insert(conn.id, u.id);
                u
            }
            Ok(_) | Err(Error::NotFound(_)) => return Err(unknown()),
            Err(e) => return Err(e.into()),
        }
    };
    let room = rooms::find(&ctx.core, &f.room_name).await?;
    if session.scope.is_some_and(|s| s != room.id) {
        return Err(refused("the token does not admit this room"));
    }
    if !rooms::is_member(&ctx.core, room.id, user.id).await? {
        return Err(refused("user don't have access to chat"));
    }
    if !conn.in_room(room.id) {
        ctx.hub.join(conn, room.id);
    }
    let origin = Some(conn.conn_id());
    match f.kind {
        FrameType::Send => {
            rooms::send(&ctx.core, &user, &room, &f.content, &f.message_id, origin).await?;
        }
        FrameType::Modify => {
            rooms::edit(&ctx.core, user.id, &room, &f.message_id, &f.content, origin).await?;
        }
        FrameType::Delete => {
            rooms::delete(&ctx.core, user.id, &room, &f.message_id, origin).await?;
        }
        FrameType::Leave => {
            ctx.hub.leave(conn, room.id);
            session.closed.store(true, Ordering::Release);
            conn.close(close_code::NORMAL, "room left");
        }
    }
    Ok(())
}
