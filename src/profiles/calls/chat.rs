//! calls' chat events: `message`, `message:read`, `typing:start`/`typing:stop`.
//! Deliveries to the other side are rendered from the bus (`render.rs`); the
//! sending socket gets the message as its ack.

use entity::users;
use serde_json::{Value, json};

use super::{Ctx, realtime::payload, wire::*};
use crate::core::{Error, Result, bus::ConnId, messages::direct};
use crate::transport::socketio::Inbound;

fn origin(job: &Inbound) -> Option<ConnId> {
    Some(ConnId(job.socket.id.to_string()))
}

/// `message {to, content, type}` => the message object (also the ack).
pub async fn message(ctx: &Ctx, me: &users::Model, job: &Inbound) -> Result<Value> {
    let p: SendMessage = payload(job)?;
    let kind = message_type(p.kind.as_deref())?;
    let to = p.to.num("user")?;
    ctx.messages.check(&me.id)?;
    let sent = direct::send(&ctx.core, me, to, &p.content, kind, origin(job)).await?;
    serde_json::to_value(MessageWire::new(&sent.message, sent.receiver_id)).map_err(Error::internal)
}

/// `message:read {messageId, userId}`: the reader is the socket's user; a
/// `userId` naming someone else is refused.
pub async fn read(ctx: &Ctx, me: &users::Model, job: &Inbound) -> Result<Value> {
    let p: ReadMessage = payload(job)?;
    if let Some(claimed) = &p.user_id
        && claimed.0.trim() != id_str(me.id)
    {
        return Err(Error::PermissionDenied("userId must be the connected user"));
    }
    let id = p.message_id.num("message")?;
    direct::mark_read(&ctx.core, me.id, id, origin(job)).await?;
    Ok(json!({"success": true}))
}

/// `typing:start {to}` / `typing:stop {to}`: the recipient must be connected.
pub async fn typing(ctx: &Ctx, me: &users::Model, job: &Inbound, on: bool) -> Result<Value> {
    let p: TypingTo = payload(job)?;
    direct::typing(&ctx.core, me, p.to.num("user")?, on).await?;
    Ok(json!({"success": true}))
}
