//! Renders core bus events as orgchat events for this listener's connections, on
//! both transports at once: Socket.IO gets `event(payload)`, raw WebSocket gets the
//! same payload as a `{type, ...}` frame. Only rooms of an organization are
//! rendered: other profiles' conversations never reach orgchat clients.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{Ctx, realtime::sio_room, wire::*};
use crate::core::{
    bus::{Audience, ConvRef, Event, EventKind},
    model::Kind,
};
use crate::transport::socketio::{emit_to_users, user_room};

fn org_room(c: &ConvRef) -> bool {
    c.kind == Kind::Room && c.organization_id.is_some()
}

/// One outgoing event in both shapes.
struct Out {
    event: &'static str,
    payload: Value,
    /// Where a raw frame puts a payload that is not flattened (empty: flatten).
    raw_key: &'static str,
}

impl Out {
    fn flat(event: &'static str, payload: Value) -> Out {
        Out {
            event,
            payload,
            raw_key: "",
        }
    }

    fn wrapped(event: &'static str, payload: Value, key: &'static str) -> Out {
        Out {
            event,
            payload,
            raw_key: key,
        }
    }
}

pub async fn render(ctx: &Arc<Ctx>, ev: Arc<Event>) {
    let (out, skip_user) = match &ev.kind {
        EventKind::MessageCreated(m) if org_room(&m.conversation) => (
            Out::wrapped("newMessage", json!(MessageRow::from(m)), "message"),
            None,
        ),
        EventKind::RoomPresence {
            conversation,
            user_id,
            joined,
            ..
        } if org_room(conversation) => {
            let verb = if *joined { "joined" } else { "left" };
            let text = format!("User {user_id} {verb} the room");
            (Out::wrapped("notification", json!(text), "message"), None)
        }
        EventKind::Typing {
            conversation: Some(c),
            user_id,
            typing,
            ..
        } if org_room(c) => {
            let event = if *typing { "typing" } else { "stopTyping" };
            // "Everyone in the room but the typist", on every connection of theirs.
            (Out::flat(event, json!({"userId": user_id})), Some(*user_id))
        }
        EventKind::Reaction {
            conversation,
            message_id,
            user_id,
            reaction,
        } if org_room(conversation) => (
            Out::flat(
                "messageReaction",
                json!({"userId": user_id, "messageId": message_id, "reaction": reaction}),
            ),
            None,
        ),
        EventKind::ReadUpTo {
            conversation,
            reader_id,
            message_id: Some(message_id),
            ..
        } if org_room(conversation) => (
            Out::flat(
                "messageRead",
                json!({"userId": reader_id, "messageId": message_id}),
            ),
            None,
        ),
        EventKind::MessageDeleted {
            conversation,
            message_id,
            ..
        } if org_room(conversation) => (
            Out::flat("messageDeleted", json!({"messageId": message_id})),
            None,
        ),
        EventKind::RoomInvitation { conversation, .. } if org_room(conversation) => {
            let name = conversation.name.clone().unwrap_or_default();
            let payload = json!({
                "roomId": conversation.id,
                "roomName": name,
                "organizationId": conversation.organization_id,
                "notification": format!("You have been invited to join {name}"),
            });
            (Out::flat("newChatRoom", payload), None)
        }
        _ => return,
    };
    deliver(ctx, &ev.audience, skip_user, out).await;
}

async fn deliver(ctx: &Ctx, audience: &Audience, skip_user: Option<i64>, out: Out) {
    let frame = raw_frame(out.event, &out.payload, out.raw_key).to_string();
    match audience {
        Audience::Room(room) => {
            let mut op = ctx.io.to(sio_room(*room));
            if let Some(u) = skip_user {
                op = op.except(user_room(u));
            }
            if let Err(e) = op.emit(out.event, &out.payload).await {
                metrics::counter!("chatwire_emit_errors_total").increment(1);
                tracing::debug!(event = out.event, error = %e, "room emit failed");
            }
            let conns: Vec<_> = ctx
                .hub
                .in_room(*room)
                .into_iter()
                .filter(|c| Some(c.user_id) != skip_user)
                .collect();
            ctx.hub.send_all(&conns, out.event, &frame);
        }
        Audience::Users(users) => {
            let users: Vec<i64> = users
                .iter()
                .copied()
                .filter(|u| Some(*u) != skip_user)
                .collect();
            emit_to_users(
                &ctx.io,
                users.iter().copied(),
                None,
                out.event,
                &out.payload,
            )
            .await;
            let conns = ctx.hub.of_users(&users);
            ctx.hub.send_all(&conns, out.event, &frame);
        }
    }
}
