//! Renders core bus events for testcore connections: a room's new, edited and
//! deleted messages go to the connections that joined that room, as the frame the
//! sender sent (`{MessageId, roomName, content, typeOfMessage, userId}`), to every
//! connection but the sending user's own. Only testcore connections join testcore
//! rooms in this hub, so other profiles' rooms find nobody here.

use std::sync::Arc;

use super::{
    Ctx,
    wire::{FrameType, RelayFrame, id},
};
use crate::core::{
    bus::{Audience, Event, EventKind},
    conversations::rooms::named,
};

pub async fn render(ctx: &Ctx, ev: Arc<Event>) {
    let Audience::Room(room) = ev.audience else {
        return;
    };
    let conns = ctx.hub.in_room(room);
    if conns.is_empty() {
        return;
    }
    let Some((frame, sender)) = relay(ctx, &ev.kind).await else {
        return;
    };
    let text = match serde_json::to_string(&frame) {
        Ok(t) => t,
        Err(e) => return tracing::error!(error = %e, "relay frame does not serialize"),
    };
    let to: Vec<_> = conns
        .into_iter()
        .filter(|c| ctx.bindings.user_of(c) != Some(sender))
        .collect();
    ctx.hub.send_all(&to, "testcore_relay", &text);
}

/// The frame an event becomes and the user who caused it; `None` for events
/// testcore does not relay.
async fn relay<'a>(ctx: &Ctx, kind: &'a EventKind) -> Option<(RelayFrame<'a>, i64)> {
    match kind {
        EventKind::MessageCreated(m) | EventKind::MessageEdited(m) => {
            let kind = if matches!(kind, EventKind::MessageCreated(_)) {
                FrameType::Send
            } else {
                FrameType::Modify
            };
            let frame = RelayFrame {
                message_id: m.client_ref.clone().unwrap_or_else(|| id(m.id)),
                room_name: m.conversation.name.as_deref().unwrap_or_default(),
                content: &m.content,
                type_of_message: kind.as_str(),
                user_id: id(m.sender_id),
            };
            Some((frame, m.sender_id))
        }
        EventKind::MessageDeleted {
            conversation,
            message_id,
            by,
        } => {
            // The event names the row; the frame names the client's id.
            let (client_ref, _) = named::message_ref(&ctx.core, *message_id).await.ok()?;
            let frame = RelayFrame {
                message_id: client_ref.unwrap_or_else(|| id(*message_id)),
                room_name: conversation.name.as_deref().unwrap_or_default(),
                content: "",
                type_of_message: FrameType::Delete.as_str(),
                user_id: id(*by),
            };
            Some((frame, *by))
        }
        _ => None,
    }
}
