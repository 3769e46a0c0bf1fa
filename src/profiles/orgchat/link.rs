//! orgchat's two transports (only this profile serves one event table on two):
//! the connection an event came from, whichever transport carries it (how it
//! joins and leaves a room's live feed, how the bus names it, how it is told
//! something meant for it alone), and the raw WebSocket's frames around the
//! payloads both transports share (`{event, data}` in, `{type, ...}` out).

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use socketioxide::extract::SocketRef;

use crate::core::bus::ConnId;
use crate::transport::{socketio, ws};

/// The Socket.IO room of an orgchat room's live feed.
pub fn sio_room(room: i64) -> String {
    format!("room:{room}")
}

/// One connection, on either transport.
pub enum Link<'a> {
    Raw(&'a Arc<ws::Conn>),
    Sio(&'a SocketRef),
}

impl Link<'_> {
    /// How bus events name this connection (their `origin`).
    pub fn origin(&self) -> ConnId {
        match self {
            Link::Raw(c) => c.conn_id(),
            Link::Sio(s) => ConnId(s.id.to_string()),
        }
    }

    /// Joins the room's live feed.
    pub fn attach(&self, hub: &ws::Hub, room: i64) {
        match self {
            Link::Raw(c) => hub.join(c, room),
            Link::Sio(s) => socketio::join(s, [sio_room(room)]),
        }
    }

    /// Leaves the room's live feed; false when the connection had not joined it.
    pub fn detach(&self, hub: &ws::Hub, room: i64) -> bool {
        match self {
            Link::Raw(c) => {
                let joined = c.in_room(room);
                hub.leave(c, room);
                joined
            }
            Link::Sio(s) => {
                let name = sio_room(room);
                let joined = s.rooms().iter().any(|r| *r == name);
                socketio::leave(s, [name]);
                joined
            }
        }
    }

    /// Sends `event` to this connection only (a raw frame flattens the payload).
    pub fn send<T: Serialize>(&self, event: &'static str, payload: &T) {
        match self {
            Link::Raw(c) => {
                if let Some(frame) = raw_frame(event, RawShape::Flat, payload) {
                    c.send_text(frame);
                }
            }
            Link::Sio(s) => socketio::emit(s, event, payload),
        }
    }
}

/// How a raw frame carries a payload: flattened beside `type` (objects), or
/// under `message` (`notification`'s string and `newMessage`'s row, as the
/// document's frames do).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawShape {
    Flat,
    Wrapped,
}

#[derive(Serialize)]
struct FlatFrame<'a, T> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(flatten)]
    fields: &'a T,
}

#[derive(Serialize)]
struct WrappedFrame<'a, T> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: &'a T,
}

/// The raw-WebSocket frame of an event: `{type, ...fields}` or `{type, message}`
/// (`None`, logged, for a payload that cannot be flattened: a bug, not input).
pub fn raw_frame<T: Serialize>(event: &str, shape: RawShape, payload: &T) -> Option<String> {
    let text = match shape {
        RawShape::Flat => serde_json::to_string(&FlatFrame {
            kind: event,
            fields: payload,
        }),
        RawShape::Wrapped => serde_json::to_string(&WrappedFrame {
            kind: event,
            message: payload,
        }),
    };
    text.inspect_err(|e| tracing::error!(event, error = %e, "raw frame does not serialize"))
        .ok()
}

/// A raw frame's event name and data (`None` when `data` is absent, so the
/// event can say which payload it wanted).
pub type Envelope = (String, Option<Value>);

/// Reads `{"event": name, "data": ...}`; the error is the refusal's text.
pub fn envelope(text: &str) -> Result<Envelope, &'static str> {
    let value: Value = serde_json::from_str(text).map_err(|_| "Invalid JSON")?;
    let Value::Object(mut obj) = value else {
        return Err("A frame must be a JSON object {\"event\", \"data\"}");
    };
    let event = match obj.remove("event") {
        Some(Value::String(e)) if !e.is_empty() => e,
        _ => return Err("A frame needs an \"event\" name (a string)"),
    };
    Ok((event, obj.remove("data")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn raw_frames_flatten_objects_and_wrap_the_rest() {
        let frame = |s: Option<String>| serde_json::from_str::<Value>(&s.unwrap()).unwrap();
        assert_eq!(
            frame(raw_frame("typing", RawShape::Flat, &json!({"userId": 1}))),
            json!({"type": "typing", "userId": 1})
        );
        assert_eq!(
            frame(raw_frame("notification", RawShape::Wrapped, &"hi")),
            json!({"type": "notification", "message": "hi"})
        );
    }

    #[test]
    fn envelopes_parse_or_say_why_not() {
        assert_eq!(envelope("nope").unwrap_err(), "Invalid JSON");
        assert!(envelope("[1]").is_err());
        assert!(envelope(r#"{"event": 3}"#).is_err());
        let (e, d) = envelope(r#"{"event":"joinRoom","data":{"roomId":1}}"#).unwrap();
        assert_eq!(e, "joinRoom");
        assert_eq!(d, Some(json!({"roomId": 1})));
        assert_eq!(envelope(r#"{"event":"joinRoom"}"#).unwrap().1, None);
    }
}
