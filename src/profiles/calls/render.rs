//! Renders core bus events as calls events for this listener's sockets: direct
//! messages (whichever profile sent them), read receipts, typing, presence and
//! every call state change.

use std::sync::Arc;

use chrono::Utc;
use serde_json::json;

use super::{Ctx, wire::*};
use crate::core::{
    bus::{Audience, ConvRef, Event, EventKind},
    calls::{CallChange, CallEvent},
    messages::direct,
    model::Kind,
};
use crate::transport::socketio::emit_to_users;

fn users(a: &Audience) -> Vec<i64> {
    match a {
        Audience::Users(u) => u.to_vec(),
        Audience::Room(_) => Vec::new(),
    }
}

pub async fn render(ctx: &Arc<Ctx>, ev: Arc<Event>) {
    let io = &ctx.io;
    let a = &ev.audience;
    match &ev.kind {
        EventKind::MessageCreated(m) if m.conversation.kind == Kind::Direct => {
            let Some(receiver) = users(a).into_iter().find(|&u| u != m.sender_id) else {
                return;
            };
            let data = MessageWire::new(m, receiver);
            // The sending socket has it as its ack: every other socket of both.
            let except = ev.origin.as_ref().map(|c| c.0.as_str());
            emit_to_users(io, [receiver, m.sender_id], except, "message", &data).await;
        }
        EventKind::ReadUpTo {
            conversation,
            reader_id,
            seq,
            message_id,
            sender_id,
        } if conversation.kind == Kind::Direct => match (message_id, sender_id) {
            (Some(mid), Some(sender)) => read_receipt(ctx, *mid, *sender, *reader_id).await,
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
        } => {
            let from = id_str(*user_id);
            if *typing {
                let data = json!({"from": from, "fromName": user_name});
                emit_to_users(io, users(a), None, "typing:start", &data).await;
            } else {
                emit_to_users(io, users(a), None, "typing:stop", &json!({"from": from})).await;
            }
        }
        EventKind::Presence {
            user_id,
            online,
            at,
        } => {
            let (event, status) = if *online {
                ("user:online", "online")
            } else {
                ("user:offline", "offline")
            };
            let data =
                json!({"userId": id_str(*user_id), "status": status, "timestamp": timestamp(*at)});
            emit_to_users(io, users(a), None, event, &data).await;
        }
        EventKind::Call(call) => render_call(ctx, call).await,
        _ => {}
    }
}

async fn read_receipt(ctx: &Ctx, message: i64, sender: i64, reader: i64) {
    let data = json!({
        "messageId": id_str(message),
        "userId": id_str(reader),
        "readAt": timestamp(Utc::now()),
    });
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
            let data = json!({"callId": call_id, "by": id_str(*by), "type": kind, "roomName": c.room_name});
            emit_to_users(io, both, None, "call:accepted", &data).await;
        }
        CallChange::Rejected { by } => {
            let data = json!({"callId": call_id, "by": id_str(*by), "type": kind});
            emit_to_users(io, both, None, "call:rejected", &data).await;
        }
        CallChange::Ended { by, reason } => {
            let data = json!({
                "callId": call_id,
                "by": by.map(id_str),
                "reason": reason.as_str(),
                "type": kind,
                "duration": c.duration_secs.unwrap_or(0),
            });
            emit_to_users(io, both, None, "call:ended", &data).await;
        }
    }
}
