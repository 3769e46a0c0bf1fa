//! chatsphere's frame table: a `{type, ...}` frame becomes a `ClientEvent` in
//! one place (`ClientEvent::from_frame`), which refuses bad data with
//! `{type:"error", message}`, then `dispatch` hands it to its handler.
//!
//! | type                      | dialect | event            |
//! |---------------------------|---------|------------------|
//! | `join {userId?, roomId}`  | server  | `Join` (Server)  |
//! | `join_room {roomId}`      | UI      | `Join` (Ui)      |
//! | `leave_room {roomId}`     | UI      | `Leave`          |
//! | `message {content, userId?, roomId}` | server | `Send` |
//! | `new_message {content, roomId}`      | UI     | `Send` |
//! | anything else             |         | `Ignored`        |
//!
//! Both joins may also name a history page (an extension, issue 14): `after`
//! / `before` (message ids) and `limit`; without them a join answers the
//! newest messages, as the original.
//!
//! A frame's `userId` is only a claim: it must be the connection's own user and
//! is dropped here, so no handler can act as anyone but the token's user.

use std::sync::Arc;

use serde_json::Value;

use super::{
    Ctx,
    connection::{ConnState, Dialect},
    error::refuse,
    handlers,
    wire::{MessageFrame, RoomFrame},
};
use crate::core::{Error, Result};
use crate::profiles::kit::{Id, PAGE_FIELDS, PageAsk, payload};
use crate::transport::ws::{Conn, Frame};

/// The refusal text before what serde found wrong with a frame's fields.
const REFUSAL: &str = "Invalid frame: ";

/// A frame, checked and typed.
#[derive(Debug, PartialEq)]
pub enum ClientEvent {
    /// Join a room; the dialect words this connection's deliveries from now on.
    Join {
        room: Id,
        dialect: Dialect,
        page: PageAsk,
    },
    Leave {
        room: Id,
    },
    /// Post `content` (not blank) to a room.
    Send {
        room: Id,
        content: String,
    },
    /// A type this profile does not know: ignored, as the original did.
    Ignored {
        kind: String,
    },
}

impl ClientEvent {
    /// The event a frame of `user_id`'s connection asks for. Not JSON, not an
    /// object, no string `type`, binary, fields of the wrong type, a `userId`
    /// naming someone else or a message without content are `InvalidData`.
    pub fn from_frame(frame: Frame, user_id: i64) -> Result<(String, ClientEvent)> {
        let (kind, value) = typed(frame)?;
        let event = match kind.as_str() {
            "join" | "join_room" => {
                let page = PageAsk::from_json(&value, PAGE_FIELDS)?;
                let f: RoomFrame = payload(value, REFUSAL)?;
                claim(f.user_id, user_id)?;
                let dialect = if kind == "join" {
                    Dialect::Server
                } else {
                    Dialect::Ui
                };
                ClientEvent::Join {
                    room: f.room_id,
                    dialect,
                    page,
                }
            }
            "leave_room" => {
                let f: RoomFrame = payload(value, REFUSAL)?;
                claim(f.user_id, user_id)?;
                ClientEvent::Leave { room: f.room_id }
            }
            "message" | "new_message" => {
                let f: MessageFrame = payload(value, REFUSAL)?;
                claim(f.user_id, user_id)?;
                let content = f.content.unwrap_or_default();
                if content.trim().is_empty() {
                    return Err(Error::invalid("Message content is required"));
                }
                ClientEvent::Send {
                    room: f.room_id,
                    content,
                }
            }
            other => ClientEvent::Ignored {
                kind: other.to_owned(),
            },
        };
        Ok((kind, event))
    }
}

/// A frame's `type` and the whole object.
fn typed(frame: Frame) -> Result<(String, Value)> {
    let Frame::Text(text) = frame else {
        return Err(Error::invalid(
            "Binary frames are not supported; send JSON text",
        ));
    };
    let value: Value = serde_json::from_str(&text).map_err(|_| Error::invalid("Invalid JSON"))?;
    match value.get("type") {
        Some(Value::String(t)) if !t.is_empty() => Ok((t.clone(), value)),
        _ if value.is_object() => Err(Error::invalid("A frame needs a \"type\" (a string)")),
        _ => Err(Error::invalid(
            "A frame must be a JSON object with a \"type\"",
        )),
    }
}

/// A frame's `userId`, when sent, must be the connection's own user: identity
/// comes from the token, never from a payload field.
fn claim(claimed: Option<Id>, user_id: i64) -> Result<()> {
    match claimed {
        Some(Id(id)) if id != Some(user_id) => Err(Error::invalid(
            "userId does not match the authenticated user",
        )),
        _ => Ok(()),
    }
}

/// Takes one frame: typed, then handled; a refusal at either step answers an
/// error frame and the connection carries on.
pub async fn receive(ctx: &Ctx, conn: &Arc<Conn>, state: &ConnState, frame: Frame) {
    let (kind, event) = match ClientEvent::from_frame(frame, conn.user_id) {
        Ok(parsed) => parsed,
        Err(e) => return refuse(conn, "frame", &e),
    };
    if let Err(e) = dispatch(ctx, conn, state, event).await {
        refuse(conn, &kind, &e);
    }
}

pub async fn dispatch(
    ctx: &Ctx,
    conn: &Arc<Conn>,
    state: &ConnState,
    event: ClientEvent,
) -> Result<()> {
    match event {
        ClientEvent::Join {
            room,
            dialect,
            page,
        } => handlers::join(ctx, conn, state, room, dialect, &page).await,
        ClientEvent::Leave { room } => {
            handlers::leave(ctx, conn, room);
            Ok(())
        }
        ClientEvent::Send { room, content } => {
            handlers::send(ctx, conn, state, room, &content).await
        }
        ClientEvent::Ignored { kind } => {
            tracing::debug!(kind, "chatsphere frame of unknown type ignored");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(text: &str) -> Result<ClientEvent> {
        ClientEvent::from_frame(Frame::Text(text.into()), 7).map(|(_, e)| e)
    }

    #[test]
    fn frames_become_events() {
        let ClientEvent::Join {
            room,
            dialect,
            page,
        } = event(r#"{"type":"join","userId":"7","roomId":3}"#).unwrap()
        else {
            panic!("a join");
        };
        assert_eq!((room, dialect), (Id(Some(3)), Dialect::Server));
        assert!(page.is_empty());
        let Ok(ClientEvent::Join { page, .. }) =
            event(r#"{"type":"join_room","roomId":3,"after":41,"limit":"10"}"#)
        else {
            panic!("a join with a page");
        };
        assert_eq!(
            (page.after.as_deref(), page.limit().ok()),
            (Some("41"), Some(Some(10)))
        );
        assert_eq!(
            event(r#"{"type":"new_message","content":"hi","roomId":"3"}"#).unwrap(),
            ClientEvent::Send {
                room: Id(Some(3)),
                content: "hi".into()
            }
        );
        assert_eq!(
            event(r#"{"type":"typing"}"#).unwrap(),
            ClientEvent::Ignored {
                kind: "typing".into()
            }
        );
    }

    #[test]
    fn a_claimed_user_must_be_the_connections() {
        for bad in [
            r#"{"type":"join","userId":8,"roomId":3}"#,
            r#"{"type":"message","userId":"someone","content":"x","roomId":3}"#,
        ] {
            let e = event(bad).unwrap_err();
            assert_eq!(
                e.to_string(),
                "userId does not match the authenticated user"
            );
        }
    }
}
