//! Renders core bus events as calls events for this listener's sockets: direct
//! messages (whichever profile sent them), read receipts, typing, presence and
//! every call state change.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{
    Ctx,
    wire::{
        CallAnswer, CallEnded, CallOffer, MessageWire, PresenceWire, ReadReceipt, TypingStarted,
        TypingStopped, id_str,
    },
};
use crate::core::{
    bus::{Audience, ConvRef, Event, EventKind, MessageOut},
    calls::{CallChange, CallEvent},
    messages::direct,
    model::Kind,
};
use crate::profiles::kit::timestamp;
use crate::transport::socketio::emit_to_users;

/// The users an event addresses (calls has no rooms).
fn users(a: &Audience) -> Vec<i64> {
    match a {
        Audience::Users(u) => u.to_vec(),
        Audience::Room(_) => Vec::new(),
    }
}

/// Renders one bus event (the profile's renderer task calls this for each).
pub async fn render(ctx: Arc<Ctx>, ev: Arc<Event>) {
    let a = &ev.audience;
    match &ev.kind {
        EventKind::MessageCreated(m) if m.conversation.kind == Kind::Direct => {
            let except = ev.origin.as_ref().map(|c| c.0.as_str());
            message(&ctx, m, users(a), except).await
        }
        EventKind::ReadUpTo {
            conversation,
            reader_id,
            seq,
            message_id,
            sender_id,
        } if conversation.kind == Kind::Direct => match (message_id, sender_id) {
            (Some(mid), Some(sender)) => read_receipt(&ctx, *mid, *sender, *reader_id).await,
            // A read of the whole chat (expresschat): name the newest message the
            // reader received, off the render loop (it needs a query).
            _ => {
                let (ctx, conv, reader, seq, audience) = (
                    ctx.clone(),
                    conversation.clone(),
                    *reader_id,
                    *seq,
                    users(a),
                );
                tokio::spawn(async move { read_all(&ctx, &conv, reader, seq, &audience).await });
            }
        },
        EventKind::Typing {
            conversation: None,
            user_id,
            user_name,
            typing,
        } => typing_change(&ctx, *user_id, user_name, *typing, users(a)).await,
        EventKind::Presence {
            user_id,
            online,
            at,
        } => presence(&ctx, *user_id, *online, *at, users(a)).await,
        EventKind::Call(call) => render_call(&ctx, call).await,
        _ => {}
    }
}

/// `message` to every socket of both users but the sending one (`except`),
/// which has it as its ack.
async fn message(ctx: &Ctx, m: &MessageOut, audience: Vec<i64>, except: Option<&str>) {
    let Some(receiver) = audience.into_iter().find(|&u| u != m.sender_id) else {
        return;
    };
    let data = MessageWire::new(m, receiver);
    emit_to_users(&ctx.io, [receiver, m.sender_id], except, "message", &data).await;
}

/// `typing:start {from, fromName}` / `typing:stop {from}` to the recipient.
async fn typing_change(ctx: &Ctx, user: i64, name: &str, on: bool, audience: Vec<i64>) {
    let from = id_str(user);
    if on {
        let data = TypingStarted {
            from,
            from_name: name.to_owned(),
        };
        emit_to_users(&ctx.io, audience, None, "typing:start", &data).await;
    } else {
        let data = TypingStopped { from };
        emit_to_users(&ctx.io, audience, None, "typing:stop", &data).await;
    }
}

/// `user:online` / `user:offline` to the users who share a conversation.
async fn presence(ctx: &Ctx, user: i64, online: bool, at: DateTime<Utc>, audience: Vec<i64>) {
    let (event, status) = if online {
        ("user:online", "online")
    } else {
        ("user:offline", "offline")
    };
    let data = PresenceWire {
        user_id: id_str(user),
        status,
        timestamp: timestamp(at),
    };
    emit_to_users(&ctx.io, audience, None, event, &data).await;
}

async fn read_receipt(ctx: &Ctx, message: i64, sender: i64, reader: i64) {
    let data = ReadReceipt {
        message_id: id_str(message),
        user_id: id_str(reader),
        read_at: timestamp(Utc::now()),
    };
    emit_to_users(&ctx.io, [sender], None, "message:read", &data).await;
}

async fn read_all(ctx: &Ctx, conv: &ConvRef, reader: i64, seq: i64, audience: &[i64]) {
    match direct::last_received(&ctx.core, conv.id, reader, seq).await {
        Ok(Some((message, sender))) if audience.contains(&sender) => {
            read_receipt(ctx, message, sender, reader).await
        }
        Ok(_) => {}
        Err(e) => tracing::debug!(error = %e, "calls read receipt lookup failed"),
    }
}

async fn render_call(ctx: &Ctx, ev: &CallEvent) {
    let io = &ctx.io;
    let c = &ev.call;
    let both = [c.caller_id, c.callee_id];
    let call_id = c.handle();
    let kind = c.kind.as_str();
    match &ev.change {
        CallChange::Ringing => {
            let mine = CallOffer::new(c, &ctx.jitsi_domain, false);
            emit_to_users(io, [c.caller_id], None, "call:initiated", &mine).await;
            let theirs = CallOffer::new(c, &ctx.jitsi_domain, true);
            emit_to_users(io, [c.callee_id], None, "call:incoming", &theirs).await;
        }
        CallChange::Accepted { by } => {
            let data = CallAnswer {
                call_id: call_id.to_owned(),
                by: id_str(*by),
                kind,
                room_name: Some(c.room_name.clone()),
            };
            emit_to_users(io, both, None, "call:accepted", &data).await;
        }
        CallChange::Rejected { by } => {
            let data = CallAnswer {
                call_id: call_id.to_owned(),
                by: id_str(*by),
                kind,
                room_name: None,
            };
            emit_to_users(io, both, None, "call:rejected", &data).await;
        }
        CallChange::Ended { by, reason } => {
            let data = CallEnded {
                call_id: call_id.to_owned(),
                by: by.map(id_str),
                reason: reason.as_str(),
                kind,
                duration: c.duration_secs.unwrap_or(0),
            };
            emit_to_users(io, both, None, "call:ended", &data).await;
        }
    }
}
