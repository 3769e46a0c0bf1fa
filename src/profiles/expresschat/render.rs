//! Renders core bus events as expresschat events for this listener's sockets. The
//! original sends some events to "self" and others to "the other members"; the
//! split follows the event's actor.

use std::sync::Arc;

use serde_json::json;

use super::{Ctx, wire::*};
use crate::core::{
    bus::{Audience, Event, EventKind},
    model::Kind,
};
use crate::transport::socketio::{conv_room, emit_to_room_except_user, emit_to_users, user_room};

fn users(a: &Audience) -> Vec<i64> {
    match a {
        Audience::Users(u) => u.to_vec(),
        Audience::Room(_) => Vec::new(),
    }
}

fn others(a: &Audience, but: i64) -> Vec<i64> {
    users(a).into_iter().filter(|&u| u != but).collect()
}

/// Keeps the sockets' conversation rooms (`conv:{id}`) in step with memberships,
/// before the event itself is rendered. Sockets join their rooms at connect
/// (`connect.rs`); events are rendered in bus order, so a membership change is
/// in effect for every message published after it.
async fn sync_rooms(io: &socketioxide::SocketIo, kind: &EventKind) {
    let chat = |c: &crate::core::bus::ConvRef| matches!(c.kind, Kind::Direct | Kind::Group);
    let result = match kind {
        EventKind::ConversationCreated {
            conversation,
            members,
            ..
        } if chat(conversation) => {
            let rooms: Vec<String> = members.iter().map(|&u| user_room(u)).collect();
            io.to(rooms).join(conv_room(conversation.id)).await
        }
        EventKind::MemberAdded {
            conversation,
            user_id,
            ..
        } if chat(conversation) => {
            io.to(user_room(*user_id))
                .join(conv_room(conversation.id))
                .await
        }
        EventKind::MemberRemoved {
            conversation,
            user_id,
            ..
        } if chat(conversation) => {
            io.to(user_room(*user_id))
                .leave(conv_room(conversation.id))
                .await
        }
        EventKind::ConversationDeleted { conversation, .. } if chat(conversation) => {
            let room = conv_room(conversation.id);
            io.to(room.clone()).leave(room).await
        }
        _ => Ok(()),
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "conversation room update failed");
    }
}

pub async fn render(ctx: &Arc<Ctx>, ev: Arc<Event>) {
    let io = &ctx.io;
    let a = &ev.audience;
    sync_rooms(io, &ev.kind).await;
    match &ev.kind {
        EventKind::MessageCreated(m) => {
            let event = match m.conversation.kind {
                Kind::Direct => "receive-personal-message",
                Kind::Group => "receive-group-message",
                Kind::SelfChat | Kind::Room | Kind::NamedRoom => return,
            };
            let data = json!({
                "ChatId": chat_id(m.conversation.id),
                "Content": m.content,
                "Sender": m.sender_name,
            });
            // Every member but the sender: the conversation's room less the
            // sender's own sockets.
            let n = match a {
                Audience::Users(u) => u.len().saturating_sub(1),
                Audience::Room(_) => 0,
            };
            let room = conv_room(m.conversation.id);
            emit_to_room_except_user(io, room, m.sender_id, n, event, &data).await;
        }
        EventKind::ReadUpTo {
            conversation,
            reader_id,
            ..
        } => {
            let chat = chat_id(conversation.id);
            let to = others(a, *reader_id);
            match conversation.kind {
                Kind::Direct => {
                    emit_to_users(
                        io,
                        to,
                        None,
                        "read-personal-msg-ack",
                        &json!({"ChatId": chat}),
                    )
                    .await
                }
                Kind::Group => {
                    let data = json!({"Reader": user_id(*reader_id), "ChatId": chat});
                    emit_to_users(io, to, None, "read-grp-msg-ack", &data).await;
                }
                Kind::SelfChat | Kind::Room | Kind::NamedRoom => {}
            }
        }
        EventKind::ConversationCreated {
            conversation,
            creator_id,
            creator_name,
            members,
        } => {
            let id = chat_id(conversation.id);
            let rest: Vec<i64> = members
                .iter()
                .copied()
                .filter(|u| u != creator_id)
                .collect();
            match conversation.kind {
                Kind::Direct => {
                    let partner_name = partner_name(ctx, &rest).await;
                    let mine = json!({"ChatId": id, "Partner": partner_name});
                    emit_to_users(
                        io,
                        [*creator_id],
                        None,
                        "create-personal-chat-creator",
                        &mine,
                    )
                    .await;
                    let theirs = json!({"ChatId": id, "Partner": creator_name});
                    emit_to_users(io, rest, None, "create-personal-chat-partner", &theirs).await;
                }
                Kind::Group => {
                    let data = json!({"GroupId": id, "Name": conversation.name});
                    emit_to_users(io, [*creator_id], None, "create-group-chat-creator", &data)
                        .await;
                    emit_to_users(io, rest, None, "create-group-chat-receiver", &data).await;
                }
                Kind::SelfChat | Kind::Room | Kind::NamedRoom => {}
            }
        }
        EventKind::MemberAdded {
            conversation,
            user_id: member,
            ..
        } if conversation.kind == Kind::Group => {
            let id = chat_id(conversation.id);
            let data = json!({"ChatId": id, "Member": user_id(*member)});
            emit_to_users(io, others(a, *member), None, "add-member-success", &data).await;
            emit_to_users(io, [*member], None, "new-grp-added", &json!({"ChatId": id})).await;
        }
        EventKind::MemberRemoved {
            conversation,
            user_id: member,
            by,
            ..
        } if conversation.kind == Kind::Group => {
            let id = chat_id(conversation.id);
            match by {
                Some(admin) => {
                    emit_to_users(
                        io,
                        [*admin],
                        None,
                        "kickout-successful",
                        &json!({"GroupId": id}),
                    )
                    .await;
                    let kicked = json!({"GroupId": id, "GroupName": conversation.name});
                    emit_to_users(io, [*member], None, "kicked-out", &kicked).await;
                    let rest: Vec<i64> = users(a)
                        .into_iter()
                        .filter(|u| u != admin && u != member)
                        .collect();
                    emit_to_users(
                        io,
                        rest,
                        None,
                        "someone-kicked-out",
                        &json!({"GroupId": id}),
                    )
                    .await;
                }
                None => {
                    let left = json!({"Message": "You left the group", "GroupId": id});
                    emit_to_users(io, [*member], None, "group-left-success", &left).await;
                    let data = json!({"GroupId": id, "User": user_id(*member)});
                    emit_to_users(io, others(a, *member), None, "user-left-grp", &data).await;
                }
            }
        }
        EventKind::AdminChanged {
            conversation, from, ..
        } if conversation.kind == Kind::Group => {
            let data = json!({"GroupId": chat_id(conversation.id)});
            emit_to_users(io, [*from], None, "change-admin-success-creator", &data).await;
            emit_to_users(
                io,
                others(a, *from),
                None,
                "change-admin-success-receiver",
                &data,
            )
            .await;
        }
        EventKind::ConversationDeleted { conversation, by } if conversation.kind == Kind::Group => {
            let data = json!({"GroupId": chat_id(conversation.id)});
            emit_to_users(io, [*by], None, "delete-group-chat-creator", &data).await;
            emit_to_users(
                io,
                others(a, *by),
                None,
                "delete-grp-success-receiver",
                &data,
            )
            .await;
        }
        _ => {}
    }
}

async fn partner_name(ctx: &Ctx, rest: &[i64]) -> String {
    match rest.first() {
        Some(&id) => crate::core::identity::accounts::get(&ctx.core, id)
            .await
            .map(|u| u.name)
            .unwrap_or_default(),
        None => String::new(),
    }
}
