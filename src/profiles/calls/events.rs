//! calls' event table: every event a client may send, parsed once from (name,
//! data) into a typed [`ClientEvent`] (bad data is refused there), then
//! dispatched to its handler; the result goes back as the ack, a refusal on the
//! socket's error channel (`error.rs`). Events of one socket come here in order
//! from its inbox (`transport::socketio`).

use std::sync::Arc;

use entity::users;
use serde::de::DeserializeOwned;
use serde_json::Value;
use socketioxide::extract::SocketRef;

use super::{
    Ctx,
    error::{self, Refusal},
    handlers::{chat, signalling},
    handshake::{self, ConnState},
    wire::{Ack, EndCall, Initiate, Join, ReadMessage, Respond, SendMessage, TypingTo},
};
use crate::core::{Error, bus::ConnId};
use crate::profiles::kit;
use crate::transport::socketio::Inbound;

/// An event a client sent, with its typed payload.
#[derive(Debug)]
pub enum ClientEvent {
    /// `join {userId, token}` (`handshake.rs`).
    Join(Join),
    /// `message {to, content, type}`.
    Message(SendMessage),
    /// `message:read {messageId, userId}`.
    MessageRead(ReadMessage),
    /// `typing:start {to}`.
    TypingStart(TypingTo),
    /// `typing:stop {to}`.
    TypingStop(TypingTo),
    /// `call:initiate {to, callType}`.
    CallInitiate(Initiate),
    /// `call:respond {callId, response, to}`.
    CallRespond(Respond),
    /// `call:end {callId, to}`.
    CallEnd(EndCall),
}

/// A malformed `join` is answered on `auth:error`, as a failed one is.
const BAD_JOIN: &str = "Invalid join data: userId and token are required";

impl ClientEvent {
    /// The event `name` with its first argument `data` (an error when it was not
    /// JSON). Before the socket is `joined`, every event but `join` is refused
    /// with AUTH_REQUIRED, whatever its data.
    pub fn parse(
        name: &str,
        data: Result<Value, String>,
        joined: bool,
    ) -> Result<ClientEvent, Refusal> {
        if !joined && name != "join" {
            return Err(Error::AuthRequired.into());
        }
        let data = data.map_err(Error::invalid);
        Ok(match name {
            "join" => ClientEvent::Join(typed(data).map_err(|_| Refusal::Join(BAD_JOIN))?),
            "message" => ClientEvent::Message(typed(data)?),
            "message:read" => ClientEvent::MessageRead(typed(data)?),
            "typing:start" => ClientEvent::TypingStart(typed(data)?),
            "typing:stop" => ClientEvent::TypingStop(typed(data)?),
            "call:initiate" => ClientEvent::CallInitiate(typed(data)?),
            "call:respond" => ClientEvent::CallRespond(typed(data)?),
            "call:end" => ClientEvent::CallEnd(typed(data)?),
            other => return Err(Error::invalid(format!("unknown event {other}")).into()),
        })
    }

    /// The code an unexpected failure of this event is reported with.
    fn failure_code(&self) -> &'static str {
        match self {
            ClientEvent::Message(_) => "MESSAGE_SEND_FAILED",
            ClientEvent::CallInitiate(_)
            | ClientEvent::CallRespond(_)
            | ClientEvent::CallEnd(_) => "CALL_FAILED",
            _ => "INTERNAL",
        }
    }
}

/// The payload as `T`; the refusal reads `invalid data: <what serde found>`.
fn typed<T: DeserializeOwned>(data: Result<Value, Error>) -> Result<T, Error> {
    kit::payload(data?, "invalid data: ")
}

/// Handles one event of a socket: parse, dispatch, answer.
pub async fn handle(ctx: Arc<Ctx>, conn: ConnState, job: Inbound) {
    let Inbound {
        socket,
        event,
        data,
        ack,
        ..
    } = job;
    let me = conn.user().await;
    let user = me.as_ref().map(|u| u.id);
    let (result, internal) = match ClientEvent::parse(&event, data, me.is_some()) {
        Ok(ev) => {
            let internal = ev.failure_code();
            (dispatch(&ctx, &conn, &socket, me, ev).await, internal)
        }
        Err(refusal) => (Err(refusal), "INTERNAL"),
    };
    match result {
        Ok(answer) => {
            let _ = ack.send(&answer);
        }
        Err(refusal) => error::refuse(&socket, ack, &event, user, refusal, internal),
    }
}

/// Runs a typed event's handler; `me` is the socket's user (None before `join`).
async fn dispatch(
    ctx: &Ctx,
    conn: &ConnState,
    s: &SocketRef,
    me: Option<users::Model>,
    ev: ClientEvent,
) -> Result<Ack, Refusal> {
    Ok(match (ev, me.as_ref()) {
        // Also a joined socket may send `join` again (as the same user).
        (ClientEvent::Join(p), _) => Ack::Connected(handshake::join(ctx, s, conn, p).await?),
        (_, None) => return Err(Error::AuthRequired.into()),
        (ClientEvent::Message(p), Some(me)) => {
            Ack::Message(chat::message(ctx, me, origin(s), p).await?)
        }
        (ClientEvent::MessageRead(p), Some(me)) => {
            Ack::Done(chat::read(ctx, me, origin(s), p).await?)
        }
        (ClientEvent::TypingStart(p), Some(me)) => Ack::Done(chat::typing(ctx, me, p, true).await?),
        (ClientEvent::TypingStop(p), Some(me)) => Ack::Done(chat::typing(ctx, me, p, false).await?),
        (ClientEvent::CallInitiate(p), Some(me)) => signalling::initiate(ctx, me, s, p).await?,
        (ClientEvent::CallRespond(p), Some(me)) => {
            Ack::Done(signalling::respond(ctx, me, p).await?)
        }
        (ClientEvent::CallEnd(p), Some(me)) => Ack::Done(signalling::end(ctx, me, p).await?),
    })
}

/// The sending socket, which deliveries of its own event skip.
fn origin(s: &SocketRef) -> ConnId {
    ConnId(s.id.to_string())
}
