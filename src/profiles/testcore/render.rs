//! Renders core bus events for testcore connections: a room's new, edited and
//! deleted messages go to the connections that joined that room, as the frame the
//! sender sent (`{MessageId, roomName, content, typeOfMessage, userId}`), to every
//! connection but the sender's own. Only testcore connections join testcore rooms
//! in this hub, so other profiles' rooms find nobody here.

use std::sync::Arc;

use super::{Ctx, wire::*};
use crate::core::{
    bus::{Audience, Event, EventKind},
    conversations::rooms::named,
};

pub async fn render(ctx: &Arc<Ctx>, ev: Arc<Event>) {
    let Audience::Room(room) = ev.audience else {
        return;
    };
    let conns = ctx.hub.in_room(room);
    if conns.is_empty() {
        return;
    }
    let (frame, sender) = match &ev.kind {
        EventKind::MessageCreated(m) | EventKind::MessageEdited(m) => {
            let kind = if matches!(ev.kind, EventKind::MessageCreated(_)) {
                FrameType::Send
            } else {
                FrameType::Modify
            };
            let message_id = m.client_ref.clone().unwrap_or_else(|| id(m.id));
            let name = m.conversation.name.as_deref().unwrap_or_default();
            (
                relay_json(&message_id, name, &m.content, kind, m.sender_id),
                m.sender_id,
            )
        }
        EventKind::MessageDeleted {
            conversation,
            message_id,
            by,
        } => {
            // The event names the row; the frame names the client's id.
            let client_ref = match named::message_ref(&ctx.core, *message_id).await {
                Ok((r, _)) => r.unwrap_or_else(|| id(*message_id)),
                Err(_) => return,
            };
            let name = conversation.name.as_deref().unwrap_or_default();
            (
                relay_json(&client_ref, name, "", FrameType::Delete, *by),
                *by,
            )
        }
        _ => return,
    };
    let to: Vec<_> = conns
        .into_iter()
        .filter(|c| ctx.user_of(c) != sender)
        .collect();
    ctx.hub.send_all(&to, "testcore_relay", &frame.to_string());
}
