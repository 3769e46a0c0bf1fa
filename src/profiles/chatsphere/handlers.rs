//! chatsphere's frame handlers (one family: rooms): join a room in either
//! dialect and get its history, leave it, send to it. They act as the
//! connection's own user only; payloads arrive checked and typed from events.rs.

use std::sync::Arc;

use entity::conversations;

use super::{
    Ctx,
    connection::{ConnState, Dialect},
    error::NO_ACCESS,
    render::flat_messages,
    wire::{OutFrame, messages},
};
use crate::core::{Error, Result, conversations::rooms::shared as rooms, messages::page_limit};
use crate::profiles::kit::{Id, PageAsk, numeric_id};
use crate::transport::ws::Conn;

/// How many messages a join answers with (the original's `take: 50`).
pub const JOIN_HISTORY: u64 = 50;

/// The room, if this connection's user may be in it: client tokens and members
/// always; anyone may join a public room, when `enter`, and so becomes a member
/// (the second value: the caller makes them one once the join cannot fail).
async fn room_for(
    ctx: &Ctx,
    conn: &Conn,
    state: &ConnState,
    room_id: Id,
    enter: bool,
) -> Result<(conversations::Model, bool)> {
    let room = rooms::find(&ctx.core, room_id.get("room")?).await?;
    if state.client || rooms::is_member(&ctx.core, room.id, conn.user_id).await? {
        return Ok((room, false));
    }
    if enter && !room.is_private {
        return Ok((room, true));
    }
    Err(Error::PermissionDenied(NO_ACCESS))
}

/// Joins a room and answers its last messages (or the page the join asks for)
/// in the dialect of the join.
pub async fn join(
    ctx: &Ctx,
    conn: &Arc<Conn>,
    state: &ConnState,
    room_id: Id,
    dialect: Dialect,
    page: &PageAsk,
) -> Result<()> {
    let cursor = page.cursor(numeric_id)?;
    let limit = page_limit(&ctx.core, page.limit()?, JOIN_HISTORY)?;
    let (room, entering) = room_for(ctx, conn, state, room_id, true).await?;
    // The page first: a join whose cursor is refused changes nothing.
    let history = rooms::history(&ctx.core, &room, cursor, limit).await?;
    if entering {
        rooms::add_member(&ctx.core, room.id, conn.user_id).await?;
    }
    state.set_dialect(dialect);
    let room_key = room.id.to_string();
    if dialect == Dialect::Server {
        // As the original, a server-dialect connection is in one room at a time.
        for other in conn.rooms().into_iter().filter(|r| *r != room.id) {
            ctx.hub.leave(conn, other);
        }
        conn.send_json(&OutFrame::JoinConfirmation { room_id: room_key });
        ctx.hub.join(conn, room.id);
        conn.send_json(&OutFrame::PreviousMessages {
            messages: messages(&history),
        });
    } else {
        ctx.hub.join(conn, room.id);
        conn.send_json(&OutFrame::MessageHistory {
            room_id: room_key,
            messages: flat_messages(ctx, &history).await?,
        });
    }
    Ok(())
}

/// Leaves a room; a room the connection is not in (or that names nothing) is
/// not an error.
pub fn leave(ctx: &Ctx, conn: &Arc<Conn>, room_id: Id) {
    if let Some(id) = room_id.0 {
        ctx.hub.leave(conn, id);
    }
}

/// Posts to a room as the connection's user; the bus delivers it to the room,
/// this connection included (render.rs).
pub async fn send(
    ctx: &Ctx,
    conn: &Arc<Conn>,
    state: &ConnState,
    room_id: Id,
    content: &str,
) -> Result<()> {
    let (room, _) = room_for(ctx, conn, state, room_id, false).await?;
    // A client token sends as its own user, who becomes a member (a message
    // always has a member as its sender).
    if state.client {
        rooms::add_member(&ctx.core, room.id, conn.user_id).await?;
    }
    let sender = rooms::user(&ctx.core, conn.user_id)
        .await
        .map_err(|_| Error::AuthRequired)?;
    rooms::send(&ctx.core, &sender, &room, content, Some(conn.conn_id())).await?;
    Ok(())
}
