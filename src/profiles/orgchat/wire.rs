//! orgchat's wire shapes: REST bodies and answers, event payloads, and the events
//! sent back, in the original's field names (camelCase payloads, snake_case
//! message rows). Ids are numbers on this profile; clients also send them as
//! numeric strings (`"roomId": "1"` in the document's flows), so both are read.

use chrono::{DateTime, SecondsFormat, Utc};
use entity::{conversations, users};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use crate::core::{Error, bus::MessageOut};

/// An id as a client sends it: a number or a numeric string. Anything else that
/// is a string (`"message-123"`) is kept as "names nothing" (`None`), so it is
/// answered as not found rather than as malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Id(pub Option<i64>);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an id (a number or a numeric string)")
            }
            fn visit_i64<E>(self, n: i64) -> Result<Id, E> {
                Ok(Id(Some(n).filter(|n| *n > 0)))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Id, E> {
                Ok(Id(i64::try_from(n).ok().filter(|n| *n > 0)))
            }
            // A fraction names nothing, like any non-integer.
            fn visit_f64<E>(self, _: f64) -> Result<Id, E> {
                Ok(Id(None))
            }
            fn visit_str<E>(self, s: &str) -> Result<Id, E> {
                Ok(Id(s.trim().parse().ok().filter(|n: &i64| *n > 0)))
            }
        }
        d.deserialize_any(V)
    }
}

impl Id {
    /// The id, or `NotFound(what)` when it names nothing.
    pub fn get(self, what: &'static str) -> Result<i64, Error> {
        self.0.ok_or(Error::NotFound(what))
    }
}

/// ISO 8601 UTC with milliseconds, as the original (`2025-01-08T11:35:04.618Z`).
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

// ---- REST in. Every field optional, so a missing one gets this profile's own
// answer instead of a generic rejection.

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterBody {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub organization_name: Option<String>,
    pub role: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginBody {
    pub email: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshBody {
    pub refresh_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRoomBody {
    pub name: Option<String>,
    #[serde(default)]
    pub invited_users: Vec<Id>,
}

// ---- REST out.

/// A user as login and register answer it.
pub fn user_json(u: &users::Model) -> Value {
    json!({
        "id": u.id,
        "username": u.username.clone().unwrap_or_else(|| u.name.clone()),
        "email": u.email,
        "role": u.role,
        "organization_id": u.organization_id,
    })
}

/// A room as `GET /api/chat` lists it.
pub fn room_json(c: &conversations::Model) -> Value {
    json!({
        "id": c.id,
        "name": c.name.clone().unwrap_or_default(),
        "createdAt": timestamp(c.created_at),
        "updatedAt": timestamp(c.updated_at),
        "organization_id": c.organization_id,
    })
}

/// A room as `POST /api/chat` answers it (the list shape plus its creator).
pub fn created_room_json(c: &conversations::Model) -> Value {
    let mut v = room_json(c);
    v["created_by"] = json!(c.admin_id);
    v
}

// ---- Events in (the `data` of a frame, or the Socket.IO payload).

/// joinRoom, leaveRoom, typing, stopTyping.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomData {
    pub room_id: Id,
    pub user_id: Option<Id>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageData {
    pub room_id: Id,
    pub user_id: Option<Id>,
    pub content: String,
    #[serde(default, alias = "is_encrypted")]
    pub is_encrypted: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewChatRoomData {
    pub room_name: Option<String>,
    #[serde(default)]
    pub invited_users: Vec<Id>,
    pub room_id: Option<Id>,
    pub organization_id: Option<Id>,
    pub user_id: Option<Id>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReactData {
    pub user_id: Option<Id>,
    pub message_id: Id,
    pub reaction: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadData {
    pub user_id: Option<Id>,
    pub message_id: Id,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteData {
    pub room_id: Option<Id>,
    pub message_id: Id,
    pub user_id: Option<Id>,
}

// ---- Events out.

/// A message row as `newMessage` carries it (the original's table columns).
#[derive(Debug, Serialize)]
pub struct MessageRow {
    pub id: i64,
    pub user_id: i64,
    pub chat_room_id: i64,
    pub content: String,
    pub created_at: String,
    pub is_encrypted: bool,
}

impl From<&MessageOut> for MessageRow {
    fn from(m: &MessageOut) -> Self {
        MessageRow {
            id: m.id,
            user_id: m.sender_id,
            chat_room_id: m.conversation.id,
            content: m.content.clone(),
            created_at: timestamp(m.created_at),
            is_encrypted: m.is_encrypted,
        }
    }
}

/// The raw-WebSocket frame of an event: `{type, ...fields}` for an object
/// payload; other payloads go under `key` (`message` for notifications and
/// `newMessage`).
pub fn raw_frame(event: &str, payload: &Value, key: &str) -> Value {
    match payload {
        Value::Object(fields) if key.is_empty() => {
            let mut out = serde_json::Map::with_capacity(fields.len() + 1);
            out.insert("type".into(), json!(event));
            out.extend(fields.clone());
            Value::Object(out)
        }
        other => json!({"type": event, key: other}),
    }
}

/// The text a client sees for an error, from the core's error.
pub fn error_message(e: &Error) -> String {
    match e {
        Error::AuthRequired => "Unauthorized".into(),
        Error::InvalidCredentials => "Invalid credentials".into(),
        Error::InvalidData(m) => m.clone(),
        Error::NotFound(what) => {
            let mut w = what.to_string();
            if let Some(first) = w.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            format!("{w} not found")
        }
        Error::PermissionDenied(m) => (*m).to_owned(),
        Error::Conflict(m) => (*m).to_owned(),
        Error::RateLimited { .. } => "Too many requests, please try again later.".into(),
        Error::Internal => "Internal server error".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_numbers_and_numeric_strings() {
        let id = |v: Value| serde_json::from_value::<Id>(v);
        assert_eq!(id(json!(7)).unwrap(), Id(Some(7)));
        assert_eq!(id(json!("7")).unwrap(), Id(Some(7)));
        assert_eq!(id(json!("message-123")).unwrap(), Id(None));
        assert_eq!(id(json!(-1)).unwrap(), Id(None));
        assert!(id(json!({"a": 1})).is_err());
        assert!(id(json!(true)).is_err());
    }

    #[test]
    fn raw_frames_flatten_objects_and_wrap_the_rest() {
        assert_eq!(
            raw_frame("typing", &json!({"userId": 1}), ""),
            json!({"type": "typing", "userId": 1})
        );
        assert_eq!(
            raw_frame("notification", &json!("hi"), "message"),
            json!({"type": "notification", "message": "hi"})
        );
    }

    #[test]
    fn errors_read_as_sentences() {
        assert_eq!(error_message(&Error::NotFound("room")), "Room not found");
        assert_eq!(
            error_message(&Error::PermissionDenied(
                "Forbidden: Insufficient permissions"
            )),
            "Forbidden: Insufficient permissions"
        );
    }
}
