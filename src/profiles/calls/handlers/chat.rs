//! calls' chat events: `message`, `message:read`, `typing:start`/`typing:stop`.
//! Deliveries to the other side are rendered from the bus (`render.rs`); the
//! sending socket gets the message as its ack.

use entity::users;

use crate::core::{Error, Result, bus::ConnId, messages::direct};
use crate::profiles::calls::{
    Ctx,
    wire::{Done, MessageWire, ReadMessage, SendMessage, TypingTo, message_type},
};
use crate::profiles::kit::Id;

/// `message {to, content, type}` => the message object (also the ack). `origin`
/// is the sending socket, which the bus delivery skips.
pub async fn message(
    ctx: &Ctx,
    me: &users::Model,
    origin: ConnId,
    p: SendMessage,
) -> Result<MessageWire> {
    let kind = message_type(p.kind.as_deref())?;
    let to = p.to.get("user")?;
    ctx.messages.take(&me.id).await?;
    let sent = direct::send(&ctx.core, me, to, &p.content, kind, Some(origin)).await?;
    Ok(MessageWire::new(&sent.message, sent.receiver_id))
}

/// `message:read {messageId, userId}`: the reader is the socket's user; a
/// `userId` naming someone else is refused.
pub async fn read(ctx: &Ctx, me: &users::Model, origin: ConnId, p: ReadMessage) -> Result<Done> {
    if let Some(claimed) = p.user_id
        && claimed != Id(Some(me.id))
    {
        return Err(Error::PermissionDenied("userId must be the connected user"));
    }
    let id = p.message_id.get("message")?;
    direct::mark_read(&ctx.core, me.id, id, Some(origin)).await?;
    Ok(Done::OK)
}

/// `typing:start {to}` / `typing:stop {to}`: the recipient must be connected.
pub async fn typing(ctx: &Ctx, me: &users::Model, p: TypingTo, on: bool) -> Result<Done> {
    direct::typing(&ctx.core, me, p.to.get("user")?, on).await?;
    Ok(Done::OK)
}
