//! chatsphere's WebSocket, on any path: the upgrade needs an API token (query,
//! Bearer or cookie; 401 `{error}` otherwise) and a `userId` query parameter, when
//! given, must be the token's user. Frames are `{type, ...}` in two dialects,
//! handled in arrival order; the token is re-checked before each one (a revoked
//! token closes the connection with 1008). Unknown types are ignored; bad frames
//! and refusals answer `{type:"error", message}` to this connection only.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{
    extract::{
        State,
        ws::{WebSocketUpgrade, close_code, rejection::WebSocketUpgradeRejection},
    },
    http::{HeaderMap, StatusCode, Uri},
    response::Response,
};
use entity::{conversations, users};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{
    ConnState, Ctx, Dialect, JOIN_HISTORY,
    caller::{error_message, fail, principal, token_from},
    rest::NO_ACCESS,
    wire::*,
};
use crate::core::{
    Error, Result, conversations::rooms::shared as rooms, identity::api_tokens,
    identity::api_tokens::Kind, presence,
};
use crate::transport::ws::{self, Conn, Frame};

pub async fn upgrade(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    uri: Uri,
    upgrade: std::result::Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        return fail(StatusCode::NOT_FOUND, "Not found");
    };
    let who = match principal(&ctx, token_from(&headers, &uri, None)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let claimed = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "userId")
        .map(|(_, v)| parse_id(&v));
    if claimed.is_some_and(|c| c.0 != Some(who.user.id)) {
        return fail(
            StatusCode::FORBIDDEN,
            "userId does not match the authenticated user",
        );
    }
    let user_id = who.user.id;
    let state = Arc::new(ConnState::new(who.token_id, who.kind == Kind::Client));
    let hub = ctx.hub.clone();
    ws::limit(upgrade, ctx.max_frame_bytes).on_upgrade(move |socket| async move {
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

async fn on_frame(ctx: &Ctx, conn: &Arc<Conn>, state: &ConnState, frame: Frame) {
    match api_tokens::still_valid(&ctx.core, state.token_id).await {
        Ok(true) => {}
        Ok(false) => {
            // The close frame says why (frames queued now would be dropped).
            conn.close(close_code::POLICY, "token revoked");
            return;
        }
        Err(e) => {
            conn.send_json(&json!({"type": "error", "message": error_message(&e)}));
            return;
        }
    }
    let (kind, value) = match parse(frame) {
        Ok(p) => p,
        Err(message) => {
            super::count_error(&Error::invalid(message), "frame", conn.user_id);
            conn.send_json(&json!({"type": "error", "message": message}));
            return;
        }
    };
    let done = match kind.as_str() {
        "join" => join(ctx, conn, state, value, Dialect::Server).await,
        "join_room" => join(ctx, conn, state, value, Dialect::Ui).await,
        "leave_room" => leave(ctx, conn, value),
        "message" | "new_message" => send(ctx, conn, state, value).await,
        other => {
            tracing::debug!(kind = other, "chatsphere frame of unknown type ignored");
            Ok(())
        }
    };
    if let Err(e) = done {
        super::count_error(&e, &kind, conn.user_id);
        conn.send_json(&json!({"type": "error", "message": error_message(&e)}));
    }
}

/// A frame's type and the whole object.
fn parse(frame: Frame) -> std::result::Result<(String, Value), &'static str> {
    let Frame::Text(text) = frame else {
        return Err("Binary frames are not supported; send JSON text");
    };
    let value: Value = serde_json::from_str(&text).map_err(|_| "Invalid JSON")?;
    match value.get("type") {
        Some(Value::String(t)) if !t.is_empty() => Ok((t.clone(), value)),
        _ if value.is_object() => Err("A frame needs a \"type\" (a string)"),
        _ => Err("A frame must be a JSON object with a \"type\""),
    }
}

fn payload<T: DeserializeOwned>(value: Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| Error::invalid(format!("Invalid frame: {e}")))
}

fn same_user(conn: &Conn, claimed: Option<Id>) -> Result<()> {
    match claimed {
        Some(Id(Some(id))) if id != conn.user_id => Err(Error::invalid(
            "userId does not match the authenticated user",
        )),
        Some(Id(None)) => Err(Error::invalid(
            "userId does not match the authenticated user",
        )),
        _ => Ok(()),
    }
}

/// The room, if this connection's user may be in it: client tokens and members
/// always; anyone may join a public room (and so becomes a member, when `enter`).
async fn room_for(
    ctx: &Ctx,
    conn: &Conn,
    state: &ConnState,
    room_id: Id,
    enter: bool,
) -> Result<conversations::Model> {
    let room = rooms::find(&ctx.core, room_id.0.ok_or(Error::NotFound("room"))?).await?;
    if state.client || rooms::is_member(&ctx.core, room.id, conn.user_id).await? {
        return Ok(room);
    }
    if enter && !room.is_private {
        rooms::add_member(&ctx.core, room.id, conn.user_id).await?;
        return Ok(room);
    }
    Err(Error::PermissionDenied(NO_ACCESS))
}

async fn join(
    ctx: &Ctx,
    conn: &Arc<Conn>,
    state: &ConnState,
    value: Value,
    dialect: Dialect,
) -> Result<()> {
    let f: RoomFrame = payload(value)?;
    same_user(conn, f.user_id)?;
    let room = room_for(ctx, conn, state, f.room_id, true).await?;
    state.set_dialect(dialect);
    let history = rooms::recent(&ctx.core, &room, JOIN_HISTORY).await?;
    let room_id = room.id.to_string();
    if dialect == Dialect::Server {
        // As the original, a server-dialect connection is in one room at a time.
        for other in conn.rooms().into_iter().filter(|r| *r != room.id) {
            ctx.hub.leave(conn, other);
        }
        conn.send_json(&json!({"type": "join_confirmation", "roomId": room_id}));
        ctx.hub.join(conn, room.id);
        let messages: Vec<Value> = history.iter().map(message_json).collect();
        conn.send_json(&json!({"type": "previous_messages", "messages": messages}));
    } else {
        ctx.hub.join(conn, room.id);
        let images = images(ctx, history.iter().map(|m| m.sender_id)).await?;
        let messages: Vec<Value> = history
            .iter()
            .map(|m| {
                let img = images.get(&m.sender_id).and_then(|i| i.as_deref());
                Value::Object(flat_message(m, img))
            })
            .collect();
        conn.send_json(
            &json!({"type": "message_history", "roomId": room_id, "messages": messages}),
        );
    }
    Ok(())
}

fn leave(ctx: &Ctx, conn: &Arc<Conn>, value: Value) -> Result<()> {
    let f: RoomFrame = payload(value)?;
    same_user(conn, f.user_id)?;
    if let Some(id) = f.room_id.0 {
        ctx.hub.leave(conn, id);
    }
    Ok(())
}

async fn send(ctx: &Ctx, conn: &Arc<Conn>, state: &ConnState, value: Value) -> Result<()> {
    let f: MessageFrame = payload(value)?;
    same_user(conn, f.user_id)?;
    let content = f.content.unwrap_or_default();
    if content.trim().is_empty() {
        return Err(Error::invalid("Message content is required"));
    }
    let room = room_for(ctx, conn, state, f.room_id, false).await?;
    if state.client {
        rooms::add_member(&ctx.core, room.id, conn.user_id).await?;
    }
    let sender = rooms::user(&ctx.core, conn.user_id)
        .await
        .map_err(|_| Error::AuthRequired)?;
    rooms::send(&ctx.core, &sender, &room, &content, Some(conn.conn_id())).await?;
    Ok(())
}

/// The profile images (`avatar`) of these users.
pub async fn images(
    ctx: &Ctx,
    ids: impl Iterator<Item = i64>,
) -> Result<HashMap<i64, Option<String>>> {
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(users::Entity::find()
        .filter(users::Column::Id.is_in(ids))
        .all(&ctx.core.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.avatar))
        .collect())
}
