//! orgchat's event handlers, by family: rooms (join, leave, typing, new rooms
//! and invitations) and messages (send, react, read, delete). Each receives its
//! typed payload and the acting member (the token's user, loaded per event),
//! checks a `userId` claim against that member, and calls one core service. What
//! the room or the invitees see comes back through the bus (`render.rs`); the
//! value returned is the Socket.IO acknowledgement.

use super::{
    Ctx,
    link::Link,
    wire::{
        Ack, DeleteData, MessageRow, NewChatRoomData, ReactData, ReadData, RoomData,
        SendMessageData,
    },
};
use crate::core::{
    Error, Result, conversations::rooms::org as rooms, identity::organizations::Member,
    messages::reactions,
};
use crate::profiles::kit::Id;

/// A `userId` in a payload must be the connection's own user: the sender is the
/// token's user, never the payload's.
fn same_user(actor: &Member, claimed: Option<Id>) -> Result<()> {
    match claimed {
        Some(Id(Some(id))) if id == actor.id() => Ok(()),
        None => Ok(()),
        Some(_) => Err(Error::PermissionDenied(
            "userId does not match the authenticated user",
        )),
    }
}

// ---- Rooms.

/// joinRoom: the connection joins the room's live feed; the room, joiner
/// included, is told.
pub async fn join_room(ctx: &Ctx, link: &Link<'_>, actor: &Member, p: RoomData) -> Result<Ack> {
    same_user(actor, p.user_id)?;
    let room = p.room_id.get("room")?;
    let attach = |id| link.attach(&ctx.hub, id);
    let conv = rooms::join(&ctx.core, actor, room, Some(link.origin()), attach).await?;
    Ok(Ack::Room { room_id: conv.id })
}

/// leaveRoom: the connection leaves the feed; the room is told only when it
/// had joined.
pub async fn leave_room(ctx: &Ctx, link: &Link<'_>, actor: &Member, p: RoomData) -> Result<Ack> {
    same_user(actor, p.user_id)?;
    let room = p.room_id.get("room")?;
    let detach = |id| link.detach(&ctx.hub, id);
    let conv = rooms::leave(&ctx.core, actor, room, Some(link.origin()), detach).await?;
    Ok(Ack::Room { room_id: conv.id })
}

/// typing (`on`) and stopTyping.
pub async fn typing(
    ctx: &Ctx,
    link: &Link<'_>,
    actor: &Member,
    p: RoomData,
    on: bool,
) -> Result<Ack> {
    same_user(actor, p.user_id)?;
    let room = p.room_id.get("room")?;
    rooms::typing(&ctx.core, actor, room, on, Some(link.origin())).await?;
    Ok(Ack::Room { room_id: room })
}

/// newChatRoom: without `roomId` a room of that name is created; with it, the
/// invitees are added to that existing room. Each invitee is told.
pub async fn new_chat_room(
    ctx: &Ctx,
    link: &Link<'_>,
    actor: &Member,
    p: NewChatRoomData,
) -> Result<Ack> {
    same_user(actor, p.user_id)?;
    let invitees = p
        .invited_users
        .iter()
        .map(|u| u.get("user"))
        .collect::<Result<Vec<_>>>()?;
    let claimed_org = p
        .organization_id
        .map(|o| o.get("organization"))
        .transpose()?;
    let room = p.room_id.map(|r| r.get("room")).transpose()?;
    let name = p.room_name.unwrap_or_default();
    if room.is_none() && name.trim().is_empty() {
        return Err(Error::invalid(
            "Invalid data for newChatRoom: roomName is required",
        ));
    }
    let origin = Some(link.origin());
    let conv = rooms::invite(
        &ctx.core,
        actor,
        room,
        &name,
        &invitees,
        claimed_org,
        origin,
    )
    .await?;
    Ok(Ack::NewRoom {
        room_id: conv.id,
        room_name: conv.name,
        organization_id: conv.organization_id,
    })
}

// ---- Messages.

/// sendMessage: stored (encrypted at rest when configured or asked), then the
/// room, sender included, gets `newMessage`.
pub async fn send_message(
    ctx: &Ctx,
    link: &Link<'_>,
    actor: &Member,
    p: SendMessageData,
) -> Result<Ack> {
    same_user(actor, p.user_id)?;
    let encrypt = ctx.encrypt_all || p.wants_encryption();
    let room = p.room_id.get("room")?;
    let origin = Some(link.origin());
    let m = rooms::send(&ctx.core, actor, room, &p.content, encrypt, origin).await?;
    Ok(Ack::Message(MessageRow::from(&m)))
}

/// reactMessage: the message's room gets `messageReaction`.
pub async fn react_message(
    ctx: &Ctx,
    link: &Link<'_>,
    actor: &Member,
    p: ReactData,
) -> Result<Ack> {
    same_user(actor, p.user_id)?;
    let id = p.message_id.get("message")?;
    reactions::react(&ctx.core, actor, id, &p.reaction, Some(link.origin())).await?;
    Ok(Ack::MessageId { message_id: id })
}

/// readMessage: the reader's read pointer moves up to the message; its room
/// gets `messageRead`.
pub async fn read_message(ctx: &Ctx, link: &Link<'_>, actor: &Member, p: ReadData) -> Result<Ack> {
    same_user(actor, p.user_id)?;
    let id = p.message_id.get("message")?;
    rooms::read_message(&ctx.core, actor, id, Some(link.origin())).await?;
    Ok(Ack::MessageId { message_id: id })
}

/// deleteMessage: admins and moderators may delete any message of their
/// organization, a user only their own; the room gets `messageDeleted`.
pub async fn delete_message(
    ctx: &Ctx,
    link: &Link<'_>,
    actor: &Member,
    p: DeleteData,
) -> Result<Ack> {
    same_user(actor, p.user_id)?;
    let room = p.room_id.map(|r| r.get("room")).transpose()?;
    let id = p.message_id.get("message")?;
    rooms::delete_message(&ctx.core, actor, room, id, Some(link.origin())).await?;
    Ok(Ack::MessageId { message_id: id })
}
