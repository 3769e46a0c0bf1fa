//! testcore's frame handlers. Each one first [`enter`]s the frame's room (the
//! frame's `userId` must be the connection's user, who must be a member, and a
//! chat token must admit the room), then asks the core: store, edit or delete a
//! message (the renderer relays it), or leave the room's live feed.

use std::sync::Arc;

use axum::extract::ws::close_code;
use entity::{conversations, users};

use super::{
    Ctx, SPACE,
    error::{self, Refusal},
    session::Session,
    wire::{Post, Target},
};
use crate::core::{Error, conversations::rooms::named as rooms, identity::accounts};
use crate::profiles::kit::Id;
use crate::transport::ws::Conn;

/// `SEND_MESSAGE`: stored with `MessageId` as its client id, then relayed. Over
/// the sender's message budget it is answered with a `RATE_LIMITED` frame and
/// the connection stays open.
pub async fn send(ctx: &Ctx, session: &Session, conn: &Arc<Conn>, p: Post) -> Result<(), Refusal> {
    let (user, room) = enter(ctx, session, conn, &p.room_name, &p.user_id).await?;
    let origin = Some(conn.conn_id());
    match rooms::send(&ctx.core, &user, &room, &p.content, &p.message_id, origin).await {
        Err(Error::RateLimited { retry_after_secs }) => {
            error::throttled(conn, &p, user.id, retry_after_secs);
            Ok(())
        }
        done => done.map(|_| ()).map_err(Refusal::from),
    }
}

/// `MODIFI_MESSAGE`: the author's newest live message of that `MessageId`.
pub async fn modify(
    ctx: &Ctx,
    session: &Session,
    conn: &Arc<Conn>,
    p: Post,
) -> Result<(), Refusal> {
    let (user, room) = enter(ctx, session, conn, &p.room_name, &p.user_id).await?;
    let origin = Some(conn.conn_id());
    rooms::edit(&ctx.core, user.id, &room, &p.message_id, &p.content, origin).await?;
    Ok(())
}

/// `DELETE_MESSAGE`: the author's newest live message of that `MessageId`.
pub async fn delete(
    ctx: &Ctx,
    session: &Session,
    conn: &Arc<Conn>,
    t: Target,
) -> Result<(), Refusal> {
    let (user, room) = enter(ctx, session, conn, &t.room_name, &t.user_id).await?;
    let origin = Some(conn.conn_id());
    rooms::delete(&ctx.core, user.id, &room, &t.message_id, origin).await?;
    Ok(())
}

/// `LEAVE_ROOM`: the connection leaves the room's live feed and is closed with
/// 1000 (membership is unchanged; leaving over REST ends that).
pub async fn leave(
    ctx: &Ctx,
    session: &Session,
    conn: &Arc<Conn>,
    t: Target,
) -> Result<(), Refusal> {
    let (_, room) = enter(ctx, session, conn, &t.room_name, &t.user_id).await?;
    ctx.hub.leave(conn, room.id);
    session.close();
    conn.close(close_code::NORMAL, "room left");
    Ok(())
}

/// The steps every frame goes through: who acts, in which room, with which
/// right. A connection joins the room's live feed with its first frame there.
async fn enter(
    ctx: &Ctx,
    session: &Session,
    conn: &Arc<Conn>,
    room_name: &str,
    claimed: &str,
) -> Result<(users::Model, conversations::Model), Refusal> {
    let user = acting_user(ctx, conn, claimed).await?;
    let room = rooms::find(&ctx.core, room_name).await?;
    if session.scope.is_some_and(|s| s != room.id) {
        return Err(Refusal::new("the token does not admit this room"));
    }
    if !rooms::is_member(&ctx.core, room.id, user.id).await? {
        return Err(Refusal::new("user don't have access to chat"));
    }
    if !conn.in_room(room.id) {
        ctx.hub.join(conn, room.id);
    }
    Ok((user, room))
}

/// The frame's user: the connection's, which `userId` must name; a tokenless
/// connection (strict mode off) is bound by its first frame to the existing user
/// of the shared space that `userId` names.
async fn acting_user(ctx: &Ctx, conn: &Conn, claimed: &str) -> Result<users::Model, Refusal> {
    let claimed = Id::parse(claimed).0;
    if let Some(acting) = ctx.bindings.user_of(conn) {
        if claimed != Some(acting) {
            return Err(Refusal::new("userId does not match the token"));
        }
        return Ok(accounts::get(&ctx.core, acting).await?);
    }
    let unknown = || Refusal::new("userId does not name a user");
    let id = claimed.ok_or_else(unknown)?;
    match accounts::get(&ctx.core, id).await {
        Ok(u) if SPACE.admits(&u) => {
            ctx.bindings.bind(conn, u.id);
            Ok(u)
        }
        Ok(_) | Err(Error::NotFound(_)) => Err(unknown()),
        Err(e) => Err(e.into()),
    }
}
