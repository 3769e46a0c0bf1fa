//! Renders core bus events for chatsphere's connections: a message created in a
//! room of the shared space (from a WebSocket, REST, or any profile) goes to
//! every connection that joined the room, the sender's included, as
//! `{type:"new_message", message}` (server dialect) or a flat `new_message` (UI
//! dialect). Organization rooms never reach chatsphere connections. Also the
//! flat messages of a UI join's history, which show the same sender images.

use std::{collections::HashMap, sync::Arc};

use entity::users;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::{
    Ctx,
    connection::Dialect,
    wire::{FlatMessage, Message, OutFrame},
};
use crate::core::{
    Result,
    bus::{Audience, Event, EventKind},
    model::{Kind, MessageOut},
};

pub async fn render(ctx: &Arc<Ctx>, ev: Arc<Event>) {
    let (EventKind::MessageCreated(m), Audience::Room(room)) = (&ev.kind, &ev.audience) else {
        return;
    };
    if m.conversation.kind != Kind::Room || m.conversation.organization_id.is_some() {
        return;
    }
    let conns = ctx.hub.in_room(*room);
    if conns.is_empty() {
        return;
    }
    let (mut server, mut ui) = (Vec::new(), Vec::new());
    for c in conns {
        match ctx.conns.get(&c.id).map(|s| s.dialect()) {
            Some(Dialect::Ui) => ui.push(c),
            Some(Dialect::Server) => server.push(c),
            _ => {}
        }
    }
    if !server.is_empty() {
        send(
            ctx,
            &server,
            &OutFrame::NewMessage {
                message: Message::from(m),
            },
        );
    }
    if !ui.is_empty() {
        // On a failed lookup the message still goes out, without the image.
        let images = images(ctx, std::iter::once(m.sender_id))
            .await
            .unwrap_or_default();
        let flat = flat(m, &images);
        send(ctx, &ui, &OutFrame::FlatNewMessage(flat));
    }
}

/// Serializes a frame once for all its recipients.
fn send(ctx: &Ctx, conns: &[Arc<crate::transport::ws::Conn>], frame: &OutFrame) {
    match serde_json::to_string(frame) {
        Ok(text) => ctx.hub.send_all(conns, "new_message", &text),
        Err(e) => tracing::error!(error = %e, "chatsphere frame does not serialize"),
    }
}

/// Messages as the UI dialect shows them, with their senders' images.
pub async fn flat_messages(ctx: &Ctx, ms: &[MessageOut]) -> Result<Vec<FlatMessage>> {
    let images = images(ctx, ms.iter().map(|m| m.sender_id)).await?;
    Ok(ms.iter().map(|m| flat(m, &images)).collect())
}

fn flat(m: &MessageOut, images: &HashMap<i64, Option<String>>) -> FlatMessage {
    FlatMessage::new(m, images.get(&m.sender_id).and_then(|i| i.as_deref()))
}

/// The profile images (`avatar`) of these users.
async fn images(ctx: &Ctx, ids: impl Iterator<Item = i64>) -> Result<HashMap<i64, Option<String>>> {
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
