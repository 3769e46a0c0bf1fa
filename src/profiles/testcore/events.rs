//! testcore's event table. A frame `{MessageId, roomName, content,
//! typeOfMessage, userId}` becomes a [`ClientEvent`] in [`ClientEvent::from_frame`],
//! the one place that checks it field by field, then [`dispatch`] hands it to its
//! handler. Every refusal, malformed or not, closes the connection with 4000 and
//! the reason (the original's error channel).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{
    Ctx,
    error::{Refusal, close_with},
    handlers,
    session::Session,
    wire::{FrameType, Post, Target},
};
use crate::transport::ws::{Conn, Frame};

/// What a client can ask, with its checked payload.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// `SEND_MESSAGE`: store the message and relay it to the room.
    Send(Post),
    /// `MODIFI_MESSAGE`: the author edits their message.
    Modify(Post),
    /// `DELETE_MESSAGE`: the author deletes their message.
    Delete(Target),
    /// `LEAVE_ROOM`: stop the room's live feed and close the connection.
    Leave(Target),
}

impl ClientEvent {
    /// Parses a frame, or says why it is malformed (the close reason). The order
    /// of the checks decides which reason a frame with several faults gets.
    pub fn from_frame(frame: Frame) -> Result<ClientEvent, Refusal> {
        let Frame::Text(text) = frame else {
            return Err(Refusal::new("binary frames are not supported"));
        };
        let value: Value = serde_json::from_str(&text).map_err(|_| Refusal::new("invalid JSON"))?;
        let Value::Object(obj) = value else {
            return Err(Refusal::new("a frame must be a JSON object"));
        };
        let kind = string_field(&obj, "typeOfMessage")?;
        let message_id = string_field(&obj, "MessageId")?;
        let room_name = string_field(&obj, "roomName")?;
        let content = string_field(&obj, "content")?;
        let kind =
            FrameType::parse(&kind).ok_or_else(|| Refusal::new("message type wasn't defined"))?;
        let user_id = string_field(&obj, "userId")?;
        for (name, v) in [
            ("MessageId", &message_id),
            ("roomName", &room_name),
            ("userId", &user_id),
        ] {
            if v.trim().is_empty() {
                return Err(Refusal::new(format!("{name} is required")));
            }
        }
        let target = |message_id, room_name, user_id| Target {
            message_id,
            room_name,
            user_id,
        };
        Ok(match kind {
            FrameType::Send | FrameType::Modify => {
                if content.trim().is_empty() {
                    return Err(Refusal::new("content is required"));
                }
                let post = Post {
                    message_id,
                    room_name,
                    content,
                    user_id,
                };
                if kind == FrameType::Send {
                    ClientEvent::Send(post)
                } else {
                    ClientEvent::Modify(post)
                }
            }
            FrameType::Delete => ClientEvent::Delete(target(message_id, room_name, user_id)),
            FrameType::Leave => ClientEvent::Leave(target(message_id, room_name, user_id)),
        })
    }
}

/// A field that must be present and a string.
fn string_field(obj: &Map<String, Value>, name: &str) -> Result<String, Refusal> {
    match obj.get(name) {
        None | Some(Value::Null) => Err(Refusal::new(format!("{name} is required"))),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(Refusal::new(format!("{name} must be a string"))),
    }
}

/// Handles one frame of a connection; a refusal closes it.
pub async fn on_frame(ctx: &Ctx, session: &Session, conn: &Arc<Conn>, frame: Frame) {
    if session.is_closed() {
        return;
    }
    session.seen(conn);
    let done = match ClientEvent::from_frame(frame) {
        Ok(event) => dispatch(ctx, session, conn, event).await,
        Err(refusal) => Err(refusal),
    };
    if let Err(refusal) = done {
        session.close();
        close_with(conn, ctx.bindings.user_of(conn), refusal);
    }
}

async fn dispatch(
    ctx: &Ctx,
    session: &Session,
    conn: &Arc<Conn>,
    event: ClientEvent,
) -> Result<(), Refusal> {
    match event {
        ClientEvent::Send(p) => handlers::send(ctx, session, conn, p).await,
        ClientEvent::Modify(p) => handlers::modify(ctx, session, conn, p).await,
        ClientEvent::Delete(t) => handlers::delete(ctx, session, conn, t).await,
        ClientEvent::Leave(t) => handlers::leave(ctx, session, conn, t).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ClientEvent, String> {
        ClientEvent::from_frame(Frame::Text(text.to_owned())).map_err(|r| r.reason)
    }

    #[test]
    fn frames_parse_or_say_why_not() {
        assert_eq!(parse("nope").unwrap_err(), "invalid JSON");
        assert!(parse("[1]").unwrap_err().contains("object"));
        let good = r#"{"MessageId":"m1","roomName":"R","content":"hi","typeOfMessage":"SEND_MESSAGE","userId":"4"}"#;
        let ClientEvent::Send(p) = parse(good).unwrap() else {
            panic!("not a send");
        };
        assert_eq!(p.user_id, "4");
        let no_room =
            r#"{"MessageId":"m1","content":"hi","typeOfMessage":"SEND_MESSAGE","userId":"4"}"#;
        assert_eq!(parse(no_room).unwrap_err(), "roomName is required");
        let num = r#"{"MessageId":1,"roomName":"R","content":"hi","typeOfMessage":"SEND_MESSAGE","userId":"4"}"#;
        assert_eq!(parse(num).unwrap_err(), "MessageId must be a string");
        let odd = r#"{"MessageId":"m","roomName":"R","content":"hi","typeOfMessage":"SHOUT","userId":"4"}"#;
        assert_eq!(parse(odd).unwrap_err(), "message type wasn't defined");
        let empty = r#"{"MessageId":"m","roomName":"R","content":" ","typeOfMessage":"SEND_MESSAGE","userId":"4"}"#;
        assert_eq!(parse(empty).unwrap_err(), "content is required");
        let leave = r#"{"MessageId":"m","roomName":"R","content":"","typeOfMessage":"LEAVE_ROOM","userId":"4"}"#;
        assert!(matches!(parse(leave), Ok(ClientEvent::Leave(_))));
        let bin = ClientEvent::from_frame(Frame::Binary(Default::default()));
        assert_eq!(bin.unwrap_err().reason, "binary frames are not supported");
    }
}
