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

/// Sends `content` to a personal chat or a group (`kind`) the caller is in,
/// returning once the message is checked and queued: what it returns resolves
/// when the message is committed (the inbox awaits it later, in order;
/// `events::pipelined`).
pub async fn submit(
    c: &Caller<'_>,
    chat: ChatKey,
    content: &str,
    kind: Kind,
) -> Result<messages::Committed> {
    submit_to(c, chat.get()?, content, kind).await
}

/// A note to oneself, in the self chat, returning once it is queued.
pub async fn submit_self(c: &Caller<'_>, content: &str) -> Result<messages::Committed> {
    let conv = conversations::self_chat(&c.ctx.core, c.me()).await?;
    submit_to(c, conv.id, content, Kind::SelfChat).await
}

async fn submit_to(
    c: &Caller<'_>,
    conversation_id: i64,
    content: &str,
    kind: Kind,
) -> Result<messages::Committed> {
    let msg = NewMessage {
        conversation_id,
        content,
        kind: "text",
        client_ref: None,
    };
    let origin = c.origin.clone();
    messages::submit(&c.ctx.core, c.user, msg, &[kind], Delivery::Members, origin).await
}

/// The caller has read the whole chat (the client reads all or nothing).
pub async fn read(c: &Caller<'_>, chat: ChatKey, kind: Kind) -> Result<()> {
    let origin = c.origin.clone();
    messages::mark_read(&c.ctx.core, c.me(), chat.get()?, None, &[kind], origin).await?;
    Ok(())
}
