//! Sending and reading: `send-personal-message`, `send-group-message`,
//! `send-self-message`, `read-personal-message`, `read-group-message`. No echo
//! to the sender (the client renders its own message at once); the other
//! members get it from the bus (`render.rs`).

use super::Caller;
use crate::core::{
    Result, conversations,
    messages::{self, Delivery, NewMessage},
    model::Kind,
};
use crate::profiles::expresschat::wire::ChatKey;

/// Sends `content` to a personal chat or a group (`kind`) the caller is in.
pub async fn send(c: &Caller<'_>, chat: ChatKey, content: &str, kind: Kind) -> Result<()> {
    let msg = NewMessage {
        conversation_id: chat.get()?,
        content,
        kind: "text",
        client_ref: None,
    };
    deliver(c, msg, kind).await
}

/// A note to oneself, in the self chat.
pub async fn send_self(c: &Caller<'_>, content: &str) -> Result<()> {
    let conv = conversations::self_chat(&c.ctx.core, c.me()).await?;
    let msg = NewMessage {
        conversation_id: conv.id,
        content,
        kind: "text",
        client_ref: None,
    };
    deliver(c, msg, Kind::SelfChat).await
}

async fn deliver(c: &Caller<'_>, msg: NewMessage<'_>, kind: Kind) -> Result<()> {
    let origin = c.origin.clone();
    messages::send(&c.ctx.core, c.user, msg, &[kind], Delivery::Members, origin).await?;
    Ok(())
}

/// The caller has read the whole chat (the client reads all or nothing).
pub async fn read(c: &Caller<'_>, chat: ChatKey, kind: Kind) -> Result<()> {
    let origin = c.origin.clone();
    messages::mark_read(&c.ctx.core, c.me(), chat.get()?, None, &[kind], origin).await?;
    Ok(())
}
