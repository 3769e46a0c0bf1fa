//! Renders core bus events for chatsphere's connections: a message created in a
//! room of the shared space (from a WebSocket, REST, or any profile) goes to
//! every connection that joined the room, the sender's included, as
//! `{type:"new_message", message}` (server dialect) or a flat `new_message` (UI
//! dialect). Organization rooms never reach chatsphere connections.

use std::sync::Arc;

use serde_json::json;

use super::{Ctx, Dialect, wire::*};
use crate::core::{
    bus::{Audience, Event, EventKind},
    model::Kind,
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
        let frame = json!({"type": "new_message", "message": message_json(m)}).to_string();
        ctx.hub.send_all(&server, "new_message", &frame);
    }
    if !ui.is_empty() {
        // On a failed lookup the message still goes out, without the image.
        let images = super::realtime::images(ctx, std::iter::once(m.sender_id))
            .await
            .unwrap_or_default();
        let frame = flat_frame(m, &images).to_string();
        ctx.hub.send_all(&ui, "new_message", &frame);
    }
}
