//! Renders core bus events as orgchat events for this listener's connections, on
//! both transports at once: Socket.IO gets `event(payload)`, raw WebSocket gets the
//! same payload as a `{type, ...}` frame. Only rooms of an organization are
//! rendered: other profiles' conversations never reach orgchat clients.

use std::sync::Arc;

use serde::Serialize;

use super::{
    Ctx,
    link::{RawShape, raw_frame, sio_room},
    wire::*,
};
use crate::core::{
    bus::{Audience, ConvRef, Event, EventKind},
    model::Kind,
};
use crate::transport::socketio::{emit_to_users, user_room};

fn org_room(c: &ConvRef) -> bool {
    c.kind == Kind::Room && c.organization_id.is_some()
}

pub async fn render(ctx: Arc<Ctx>, ev: Arc<Event>) {
    let to = Recipients {
        ctx: &ctx,
        audience: &ev.audience,
    };
    match &ev.kind {
        EventKind::MessageCreated(m) if org_room(&m.conversation) => {
            let row = MessageRow::from(m);
            to.all("newMessage", RawShape::Wrapped, &row).await;
        }
        EventKind::RoomPresence {
            conversation,
            user_id,
            joined,
            ..
        } if org_room(conversation) => {
            let notice = presence_notice(*user_id, *joined);
            to.all("notification", RawShape::Wrapped, &notice).await;
        }
        EventKind::Typing {
            conversation: Some(c),
            user_id,
            typing,
            ..
        } if org_room(c) => {
            let event = if *typing { "typing" } else { "stopTyping" };
            let typist = Typist { user_id: *user_id };
            // "Everyone in the room but the typist", on every connection of theirs.
            to.all_but(*user_id, event, &typist).await;
        }
        EventKind::Reaction {
            conversation,
            message_id,
            user_id,
            reaction,
        } if org_room(conversation) => {
            let r = Reaction {
                user_id: *user_id,
                message_id: *message_id,
                reaction,
            };
            to.all("messageReaction", RawShape::Flat, &r).await;
        }
        EventKind::ReadUpTo {
            conversation,
            reader_id,
            message_id: Some(message_id),
            ..
        } if org_room(conversation) => {
            let r = ReadReceipt {
                user_id: *reader_id,
                message_id: *message_id,
            };
            to.all("messageRead", RawShape::Flat, &r).await;
        }
        EventKind::MessageDeleted {
            conversation,
            message_id,
            ..
        } if org_room(conversation) => {
            let d = Deleted {
                message_id: *message_id,
            };
            to.all("messageDeleted", RawShape::Flat, &d).await;
        }
        EventKind::RoomInvitation { conversation, .. } if org_room(conversation) => {
            let name = conversation.name.clone().unwrap_or_default();
            let inv = Invitation::new(conversation.id, name, conversation.organization_id);
            to.all("newChatRoom", RawShape::Flat, &inv).await;
        }
        _ => {}
    }
}

/// The connections of this listener that an event's audience names.
struct Recipients<'a> {
    ctx: &'a Ctx,
    audience: &'a Audience,
}

impl Recipients<'_> {
    async fn all<T: Serialize>(&self, event: &'static str, shape: RawShape, payload: &T) {
        self.deliver(None, event, shape, payload).await;
    }

    async fn all_but<T: Serialize>(&self, user: i64, event: &'static str, payload: &T) {
        self.deliver(Some(user), event, RawShape::Flat, payload)
            .await;
    }

    /// Emits to the audience's Socket.IO sockets and sends the raw frame to its
    /// raw connections, leaving out `skip_user`'s.
    async fn deliver<T: Serialize>(
        &self,
        skip_user: Option<i64>,
        event: &'static str,
        shape: RawShape,
        payload: &T,
    ) {
        let ctx = self.ctx;
        let raw = match self.audience {
            Audience::Room(room) => {
                let mut op = ctx.io.to(sio_room(*room));
                if let Some(u) = skip_user {
                    op = op.except(user_room(u));
                }
                if let Err(e) = op.emit(event, payload).await {
                    metrics::counter!("chatwire_emit_errors_total").increment(1);
                    tracing::debug!(event, error = %e, "room emit failed");
                }
                let mut conns = ctx.hub.in_room(*room);
                conns.retain(|c| Some(c.user_id) != skip_user);
                conns
            }
            Audience::Users(users) => {
                let users: Vec<i64> = users
                    .iter()
                    .copied()
                    .filter(|u| Some(*u) != skip_user)
                    .collect();
                emit_to_users(&ctx.io, users.iter().copied(), None, event, payload).await;
                ctx.hub.of_users(&users)
            }
        };
        if let Some(frame) = raw_frame(event, shape, payload) {
            ctx.hub.send_all(&raw, event, &frame);
        }
    }
}
