//! Renders core bus events as expresschat events for this listener's sockets. The
//! original sends some events to "self" and others to "the other members"; the
//! split follows the event's actor. One function per kind of bus event.

use std::sync::Arc;

use socketioxide::SocketIo;

use super::{Ctx, wire::*};
use crate::core::{
    bus::{Audience, ConvRef, Event, EventKind, MessageOut},
    identity::accounts,
    model::Kind,
};
use crate::transport::socketio::{
    conv_room, emit_to_room_except_user, emit_to_users, join_where, leave_where, user_room,
};

/// Renders one bus event (called in bus order by the kit's renderer task).
pub async fn render(ctx: Arc<Ctx>, ev: Arc<Event>) {
    let io = &ctx.io;
    let a = &ev.audience;
    sync_rooms(io, &ev.kind);
    match &ev.kind {
        EventKind::MessageCreated(m) => message_created(io, a, m).await,
        EventKind::ReadUpTo {
            conversation,
            reader_id,
            ..
        } => read_up_to(io, a, conversation, *reader_id).await,
        EventKind::ConversationCreated {
            conversation,
            creator_id,
            creator_name,
            members,
        } => conversation_created(&ctx, conversation, *creator_id, creator_name, members).await,
        EventKind::MemberAdded {
            conversation,
            user_id: member,
            ..
        } if conversation.kind == Kind::Group => member_added(io, a, conversation, *member).await,
        EventKind::MemberRemoved {
            conversation,
            user_id: member,
            by: Some(admin),
            ..
        } if conversation.kind == Kind::Group => {
            kicked_out(io, a, conversation, *member, *admin).await
        }
        EventKind::MemberRemoved {
            conversation,
            user_id: member,
            by: None,
            ..
        } if conversation.kind == Kind::Group => member_left(io, a, conversation, *member).await,
        EventKind::AdminChanged {
            conversation, from, ..
        } if conversation.kind == Kind::Group => admin_changed(io, a, conversation, *from).await,
        EventKind::ConversationDeleted { conversation, by } if conversation.kind == Kind::Group => {
            group_deleted(io, a, conversation, *by).await
        }
        _ => {}
    }
}

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
/// (`handshake.rs`); events are rendered in bus order, so a membership change is
/// in effect for every message published after it.
fn sync_rooms(io: &SocketIo, kind: &EventKind) {
    let chat = |c: &ConvRef| matches!(c.kind, Kind::Direct | Kind::Group);
    match kind {
        EventKind::ConversationCreated {
            conversation,
            members,
            ..
        } if chat(conversation) => {
            let rooms: Vec<String> = members.iter().map(|&u| user_room(u)).collect();
            join_where(io, rooms, conv_room(conversation.id));
        }
        EventKind::MemberAdded {
            conversation,
            user_id,
            ..
        } if chat(conversation) => {
            join_where(io, vec![user_room(*user_id)], conv_room(conversation.id));
        }
        EventKind::MemberRemoved {
            conversation,
            user_id,
            ..
        } if chat(conversation) => {
            leave_where(io, vec![user_room(*user_id)], conv_room(conversation.id));
        }
        EventKind::ConversationDeleted { conversation, .. } if chat(conversation) => {
            let room = conv_room(conversation.id);
            leave_where(io, vec![room.clone()], room);
        }
        _ => {}
    }
}

/// `receive-personal-message` / `receive-group-message` to every member but the
/// sender: the conversation's room less the sender's own sockets.
async fn message_created(io: &SocketIo, a: &Audience, m: &MessageOut) {
    let event = match m.conversation.kind {
        Kind::Direct => "receive-personal-message",
        Kind::Group => "receive-group-message",
        Kind::SelfChat | Kind::Room | Kind::NamedRoom => return,
    };
    let data = Received {
        chat_id: chat_id(m.conversation.id),
        content: &m.content,
        sender: &m.sender_name,
    };
    let recipients = match a {
        Audience::Users(u) => u.len().saturating_sub(1),
        Audience::Room(_) => 0,
    };
    let room = conv_room(m.conversation.id);
    emit_to_room_except_user(io, room, m.sender_id, recipients, event, &data).await;
}

/// Read acks go to the other members, never back to the reader.
async fn read_up_to(io: &SocketIo, a: &Audience, conversation: &ConvRef, reader: i64) {
    let chat = chat_id(conversation.id);
    let to = others(a, reader);
    match conversation.kind {
        Kind::Direct => {
            let ack = ChatIdOnly { chat_id: chat };
            emit_to_users(io, to, None, "read-personal-msg-ack", &ack).await;
        }
        Kind::Group => {
            let ack = GroupRead {
                reader: user_id(reader),
                chat_id: chat,
            };
            emit_to_users(io, to, None, "read-grp-msg-ack", &ack).await;
        }
        Kind::SelfChat | Kind::Room | Kind::NamedRoom => {}
    }
}

/// The creator gets `*-creator`, the others `*-partner` / `*-receiver` (never
/// both to one user).
async fn conversation_created(
    ctx: &Ctx,
    conversation: &ConvRef,
    creator: i64,
    creator_name: &str,
    members: &[i64],
) {
    let io = &ctx.io;
    let rest: Vec<i64> = members.iter().copied().filter(|&u| u != creator).collect();
    match conversation.kind {
        Kind::Direct => {
            let partner = partner_name(ctx, &rest).await;
            let mine = PersonalChatOpened {
                chat_id: chat_id(conversation.id),
                partner: &partner,
            };
            emit_to_users(io, [creator], None, "create-personal-chat-creator", &mine).await;
            let theirs = PersonalChatOpened {
                chat_id: chat_id(conversation.id),
                partner: creator_name,
            };
            emit_to_users(io, rest, None, "create-personal-chat-partner", &theirs).await;
        }
        Kind::Group => {
            let data = GroupCreated {
                group_id: chat_id(conversation.id),
                name: conversation.name.as_deref(),
            };
            emit_to_users(io, [creator], None, "create-group-chat-creator", &data).await;
            emit_to_users(io, rest, None, "create-group-chat-receiver", &data).await;
        }
        Kind::SelfChat | Kind::Room | Kind::NamedRoom => {}
    }
}

/// The name of a new personal chat's partner (the bus carries only the
/// creator's); empty if the account vanished meanwhile.
async fn partner_name(ctx: &Ctx, rest: &[i64]) -> String {
    match rest.first() {
        Some(&id) => accounts::get(&ctx.core, id)
            .await
            .map(|u| u.name)
            .unwrap_or_default(),
        None => String::new(),
    }
}

/// `add-member-success` to the members before the addition (admin included),
/// `new-grp-added` to the new member.
async fn member_added(io: &SocketIo, a: &Audience, conversation: &ConvRef, member: i64) {
    let id = chat_id(conversation.id);
    let added = MemberAdded {
        chat_id: id.clone(),
        member: user_id(member),
    };
    emit_to_users(io, others(a, member), None, "add-member-success", &added).await;
    let theirs = ChatIdOnly { chat_id: id };
    emit_to_users(io, [member], None, "new-grp-added", &theirs).await;
}

/// The admin, the kicked member and the rest each get their own event.
async fn kicked_out(io: &SocketIo, a: &Audience, conversation: &ConvRef, member: i64, admin: i64) {
    let group = GroupIdOnly {
        group_id: chat_id(conversation.id),
    };
    emit_to_users(io, [admin], None, "kickout-successful", &group).await;
    let kicked = KickedOut {
        group_id: chat_id(conversation.id),
        group_name: conversation.name.as_deref(),
    };
    emit_to_users(io, [member], None, "kicked-out", &kicked).await;
    let rest: Vec<i64> = users(a)
        .into_iter()
        .filter(|&u| u != admin && u != member)
        .collect();
    emit_to_users(io, rest, None, "someone-kicked-out", &group).await;
}

/// `group-left-success` to the member who left, `user-left-grp` to the rest.
async fn member_left(io: &SocketIo, a: &Audience, conversation: &ConvRef, member: i64) {
    let left = GroupLeft {
        message: "Group Left Successfully",
        group_id: chat_id(conversation.id),
    };
    emit_to_users(io, [member], None, "group-left-success", &left).await;
    let data = UserLeft {
        group_id: chat_id(conversation.id),
        user: user_id(member),
    };
    emit_to_users(io, others(a, member), None, "user-left-grp", &data).await;
}

/// The old admin gets `-creator`, the other members (the new admin too) `-receiver`.
async fn admin_changed(io: &SocketIo, a: &Audience, conversation: &ConvRef, from: i64) {
    let data = GroupIdOnly {
        group_id: chat_id(conversation.id),
    };
    emit_to_users(io, [from], None, "change-admin-success-creator", &data).await;
    let to = others(a, from);
    emit_to_users(io, to, None, "change-admin-success-receiver", &data).await;
}

/// The admin who deleted the group gets `delete-group-chat-creator`, the other
/// members `delete-grp-success-receiver`.
async fn group_deleted(io: &SocketIo, a: &Audience, conversation: &ConvRef, by: i64) {
    let data = GroupIdOnly {
        group_id: chat_id(conversation.id),
    };
    emit_to_users(io, [by], None, "delete-group-chat-creator", &data).await;
    emit_to_users(
        io,
        others(a, by),
        None,
        "delete-grp-success-receiver",
        &data,
    )
    .await;
}
