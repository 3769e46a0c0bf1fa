//! orgchat's event table, one for both transports: a raw frame's envelope or a
//! Socket.IO event becomes a typed [`ClientEvent`] in one place (bad data is
//! refused there, on the asking connection's error channel), then goes to its
//! handler with the acting member.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{
    Ctx, error, handlers,
    link::{self, Link},
    wire,
};
use crate::core::{Error, Result, identity::organizations};
use crate::profiles::kit;
use crate::transport::{
    socketio::Inbound,
    ws::{Conn, Frame},
};

/// Every event a client may send, with its typed payload.
#[derive(Debug)]
pub enum ClientEvent {
    JoinRoom(wire::RoomData),
    LeaveRoom(wire::RoomData),
    SendMessage(wire::SendMessageData),
    NewChatRoom(wire::NewChatRoomData),
    Typing(wire::RoomData),
    StopTyping(wire::RoomData),
    ReactMessage(wire::ReactData),
    ReadMessage(wire::ReadData),
    DeleteMessage(wire::DeleteData),
}

impl ClientEvent {
    /// Reads an event from its name and its data (`None` when absent). An unknown
    /// name is "Unknown event: <name>"; absent, null or mistyped data is
    /// "Invalid data for <name>: <what is wrong>".
    pub fn parse(event: &str, data: Option<Value>) -> Result<ClientEvent> {
        use ClientEvent::*;
        Ok(match event {
            "joinRoom" => JoinRoom(typed(event, data)?),
            "leaveRoom" => LeaveRoom(typed(event, data)?),
            "sendMessage" => SendMessage(typed(event, data)?),
            "newChatRoom" => NewChatRoom(typed(event, data)?),
            "typing" => Typing(typed(event, data)?),
            "stopTyping" => StopTyping(typed(event, data)?),
            "reactMessage" => ReactMessage(typed(event, data)?),
            "readMessage" => ReadMessage(typed(event, data)?),
            "deleteMessage" => DeleteMessage(typed(event, data)?),
            _ => return Err(Error::invalid(format!("Unknown event: {event}"))),
        })
    }
}

/// An event's data in its typed shape.
fn typed<T: DeserializeOwned>(event: &str, data: Option<Value>) -> Result<T> {
    let refusal = format!("Invalid data for {event}: ");
    match data {
        None | Some(Value::Null) => Err(Error::invalid(format!("{refusal}data is required"))),
        Some(v) => kit::payload(v, &refusal),
    }
}

/// Hands a typed event of `actor` to its handler.
async fn dispatch(
    ctx: &Ctx,
    link: &Link<'_>,
    actor: &organizations::Member,
    ev: ClientEvent,
) -> Result<wire::Ack> {
    use ClientEvent::*;
    match ev {
        JoinRoom(p) => handlers::join_room(ctx, link, actor, p).await,
        LeaveRoom(p) => handlers::leave_room(ctx, link, actor, p).await,
        Typing(p) => handlers::typing(ctx, link, actor, p, true).await,
        StopTyping(p) => handlers::typing(ctx, link, actor, p, false).await,
        NewChatRoom(p) => handlers::new_chat_room(ctx, link, actor, p).await,
        SendMessage(p) => handlers::send_message(ctx, link, actor, p).await,
        ReactMessage(p) => handlers::react_message(ctx, link, actor, p).await,
        ReadMessage(p) => handlers::read_message(ctx, link, actor, p).await,
        DeleteMessage(p) => handlers::delete_message(ctx, link, actor, p).await,
    }
}

/// Handles one event of user `me` from `link`; a refusal is told to `link`
/// alone. Answers the Socket.IO acknowledgement (the result, or `{error}`).
pub async fn handle(
    ctx: &Ctx,
    link: &Link<'_>,
    me: i64,
    event: &str,
    data: Option<Value>,
) -> wire::Ack {
    let outcome = async {
        let ev = ClientEvent::parse(event, data)?;
        // Loaded per event: a role change or a removed account applies at once.
        let actor = organizations::member(&ctx.core, me).await?;
        dispatch(ctx, link, &actor, ev).await
    };
    match outcome.await {
        Ok(ack) => ack,
        Err(e) => wire::Ack::Refused {
            error: error::refuse(link, Some(event), me, &e),
        },
    }
}

/// One raw WebSocket frame, `{"event", "data"}`, in arrival order. A frame that
/// is no such envelope is refused without an `event` and the connection goes on.
pub async fn on_raw_frame(ctx: &Ctx, conn: &Arc<Conn>, frame: Frame) {
    let link = Link::Raw(conn);
    let envelope = match frame {
        Frame::Text(text) => link::envelope(&text),
        Frame::Binary(_) => Err("Binary frames are not supported; send JSON text"),
    };
    match envelope {
        Ok((event, data)) => {
            handle(ctx, &link, conn.user_id, &event, data).await;
        }
        Err(why) => {
            error::refuse(&link, None, conn.user_id, &Error::invalid(why));
        }
    }
}

/// One Socket.IO event of user `me`, from the socket's ordered inbox;
/// acknowledged when the client asked for it.
pub async fn on_sio_event(ctx: &Ctx, job: Inbound, me: i64) {
    let link = Link::Sio(&job.socket);
    // The only way the first argument fails to read is its absence.
    let ack = handle(ctx, &link, me, &job.event, job.data.ok()).await;
    let _ = job.ack.send(&ack);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refusal(event: &str, data: Option<Value>) -> String {
        match ClientEvent::parse(event, data) {
            Ok(ev) => panic!("{event} parsed as {ev:?}"),
            Err(e) => error::message(&e),
        }
    }

    #[test]
    fn refusals_name_the_event_and_the_field() {
        assert_eq!(refusal("nope", Some(json!({}))), "Unknown event: nope");
        assert_eq!(
            refusal("joinRoom", None),
            "Invalid data for joinRoom: data is required"
        );
        assert_eq!(
            refusal("typing", Some(Value::Null)),
            "Invalid data for typing: data is required"
        );
        assert_eq!(
            refusal("typing", Some(json!({"roomId": null}))),
            "Invalid data for typing: invalid type: null, expected an id (a number or a numeric string)"
        );
        assert_eq!(
            refusal("deleteMessage", Some(json!({"roomId": 1}))),
            "Invalid data for deleteMessage: missing field `messageId`"
        );
        assert_eq!(
            refusal(
                "newChatRoom",
                Some(json!({"roomName": "x", "invitedUsers": null}))
            ),
            "Invalid data for newChatRoom: invalid type: null, expected a sequence"
        );
    }

    #[test]
    fn the_document_frames_parse() {
        let join = ClientEvent::parse("joinRoom", Some(json!({"roomId": "1", "userId": 1})));
        assert!(matches!(join, Ok(ClientEvent::JoinRoom(_))));
        let react = ClientEvent::parse(
            "reactMessage",
            Some(json!({"userId": 1, "messageId": "message-123", "reaction": "👍"})),
        );
        assert!(matches!(react, Ok(ClientEvent::ReactMessage(_))));
    }
}
