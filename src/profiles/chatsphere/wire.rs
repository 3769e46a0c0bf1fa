//! chatsphere's wire shapes, in the original's (Prisma) field names: rooms with
//! `_count`, messages with their `user`, users with an upper-case `role`, and the
//! WebSocket frames of both dialects. Ids are strings (the original's ids were
//! UUID strings); they carry the core's numeric ids, and ids sent as numbers or
//! numeric strings are both read.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use entity::users;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use crate::core::{bus::MessageOut, conversations::rooms::shared::RoomInfo};

/// An id as a client sends it: a number or a numeric string. A string that is not
/// a number names nothing (`None`), which answers "not found" rather than
/// "malformed".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Id(pub Option<i64>);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Number(n) => Id(n.as_i64().filter(|n| *n > 0)),
            Value::String(s) => parse_id(&s),
            Value::Null => Id(None),
            _ => return Err(serde::de::Error::custom("an id is a string or a number")),
        })
    }
}

/// An id from a path segment or a string field.
pub fn parse_id(s: &str) -> Id {
    Id(s.trim().parse().ok().filter(|n: &i64| *n > 0))
}

/// ISO 8601 UTC with milliseconds, as the original (`2025-05-13T19:30:29.123Z`).
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The original's roles: ADMIN, MODERATOR, MEMBER.
pub fn role(u: &users::Model) -> &'static str {
    match u.role.as_str() {
        "admin" => "ADMIN",
        "moderator" => "MODERATOR",
        _ => "MEMBER",
    }
}

pub fn user_json(u: &users::Model) -> Value {
    json!({
        "id": u.id.to_string(),
        "username": crate::core::conversations::rooms::shared::username(u),
        "role": role(u),
    })
}

pub fn room_json(r: &RoomInfo) -> Value {
    json!({
        "id": r.room.id.to_string(),
        "name": r.room.name.clone().unwrap_or_default(),
        "description": r.room.description,
        "isPrivate": r.room.is_private,
        "createdBy": r.room.admin_id.map(|a| a.to_string()),
        "createdAt": timestamp(r.room.created_at),
        "updatedAt": timestamp(r.room.updated_at),
        "_count": {"messages": r.messages, "users": r.members, "members": r.members},
    })
}

/// The Message model with its `user`.
pub fn message_json(m: &MessageOut) -> Value {
    json!({
        "id": m.id.to_string(),
        "content": m.content,
        "createdAt": timestamp(m.created_at),
        "updatedAt": timestamp(m.updated_at),
        "userId": m.sender_id.to_string(),
        "roomId": m.conversation.id.to_string(),
        "user": {"id": m.sender_id.to_string(), "username": m.sender_name},
    })
}

/// A message as the UI dialect shows it: flat, with the sender's name and image.
pub fn flat_message(m: &MessageOut, image: Option<&str>) -> serde_json::Map<String, Value> {
    let v = json!({
        "id": m.id.to_string(),
        "content": m.content,
        "userId": m.sender_id.to_string(),
        "username": m.sender_name,
        "userImage": image,
        "roomId": m.conversation.id.to_string(),
        "createdAt": timestamp(m.created_at),
        "updatedAt": timestamp(m.updated_at),
    });
    match v {
        Value::Object(o) => o,
        _ => serde_json::Map::new(),
    }
}

/// The UI dialect's `new_message` frame.
pub fn flat_frame(m: &MessageOut, images: &HashMap<i64, Option<String>>) -> Value {
    let mut o = flat_message(m, images.get(&m.sender_id).and_then(|i| i.as_deref()));
    o.insert("type".into(), json!("new_message"));
    Value::Object(o)
}

// ---- REST bodies. Every field optional, so a missing one gets the original's
// own answer; a field of the wrong type is a 400.

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRoomBody {
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_private: Option<bool>,
    pub user_id: Option<Id>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdBody {
    pub user_id: Option<Id>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ContentBody {
    pub content: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct UsernameBody {
    pub username: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserTokenBody {
    pub user_id: Option<Id>,
    pub permissions: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientTokenBody {
    pub user_id: Option<Id>,
    pub email: Option<String>,
}

// ---- WebSocket frames in.

/// `{type:"join", userId, roomId}` (server dialect) and `{type:"join_room" |
/// "leave_room", roomId}` (UI dialect).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomFrame {
    #[serde(default)]
    pub user_id: Option<Id>,
    #[serde(default)]
    pub room_id: Id,
}

/// `{type:"message", content, userId, roomId}` (server dialect) and
/// `{type:"new_message", content, roomId}` (UI dialect).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageFrame {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub user_id: Option<Id>,
    #[serde(default)]
    pub room_id: Id,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_numbers_or_numeric_strings() {
        let f: RoomFrame = serde_json::from_str(r#"{"roomId":"12","userId":3}"#).unwrap();
        assert_eq!(f.room_id, Id(Some(12)));
        assert_eq!(f.user_id, Some(Id(Some(3))));
        let f: RoomFrame = serde_json::from_str(r#"{"roomId":"abc"}"#).unwrap();
        assert_eq!(f.room_id, Id(None));
        assert!(serde_json::from_str::<RoomFrame>(r#"{"roomId":[1]}"#).is_err());
    }
}
