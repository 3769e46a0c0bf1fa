//! testcore's wire shapes: the `{statusCode, data, message, success}` envelope
//! (and its error form), rooms and users with MongoDB-style field names (`_id`,
//! `roomName`, `AdminId`), and the raw WebSocket frame
//! `{MessageId, roomName, content, typeOfMessage, userId}`. Ids are strings.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, SecondsFormat, Utc};
use entity::{conversations, users};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::core::{Error, bus::MessageOut};

/// ISO 8601 UTC with milliseconds, as MongoDB documents serialize.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn id(n: i64) -> String {
    n.to_string()
}

/// `200 {statusCode, data, message, success: true}`.
pub fn ok(data: Value, message: &str) -> Response {
    Json(json!({"statusCode": 200, "data": data, "message": message, "success": true}))
        .into_response()
}

/// `{statusCode, data: null, message, success: false, errors: []}` with that status.
pub fn fail(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "statusCode": status.as_u16(),
        "data": null,
        "message": message,
        "success": false,
        "errors": [],
    });
    (status, Json(body)).into_response()
}

/// The one mapping from core errors to this profile's statuses and messages.
pub fn error(e: &Error) -> Response {
    let (status, message) = match e {
        Error::AuthRequired | Error::InvalidCredentials | Error::EmailNotVerified => {
            (StatusCode::UNAUTHORIZED, e.to_string())
        }
        Error::InvalidData(m) => (StatusCode::BAD_REQUEST, m.clone()),
        Error::NotFound(what) => (StatusCode::NOT_FOUND, format!("{what} not found")),
        Error::PermissionDenied(m) => (StatusCode::FORBIDDEN, (*m).to_owned()),
        Error::Conflict(m) => (StatusCode::CONFLICT, (*m).to_owned()),
        Error::RateLimited { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests, please try again later".to_owned(),
        ),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "something went wrong".to_owned(),
        ),
    };
    fail(status, &message)
}

pub fn room_json(r: &conversations::Model) -> Value {
    json!({
        "_id": id(r.id),
        "roomName": r.name.clone().unwrap_or_default(),
        "AdminId": r.admin_id.map(id),
        "createdAt": timestamp(r.created_at),
        "updatedAt": timestamp(r.updated_at),
    })
}

/// A user as others see them (no email, no password).
pub fn member_json(u: &users::Model) -> Value {
    json!({"_id": id(u.id), "name": u.name, "createdAt": timestamp(u.created_at)})
}

/// The caller's own user (`userData`, `profile`).
pub fn self_json(u: &users::Model) -> Value {
    json!({
        "_id": id(u.id),
        "name": u.name,
        "email": u.email,
        "createdAt": timestamp(u.created_at),
        "updatedAt": timestamp(u.updated_at),
    })
}

/// A stored message in the frame's shape, with its times (room history).
pub fn history_json(m: &MessageOut) -> Value {
    json!({
        "MessageId": m.client_ref.clone().unwrap_or_else(|| id(m.id)),
        "roomName": m.conversation.name.clone().unwrap_or_default(),
        "content": m.content,
        "typeOfMessage": "SEND_MESSAGE",
        "userId": id(m.sender_id),
        "createdAt": timestamp(m.created_at),
        "updatedAt": timestamp(m.updated_at),
        "edited": m.updated_at > m.created_at,
    })
}

// ---- REST in: every field optional, so a missing one gets this profile's answer.

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateChatBody {
    pub room_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RegisterBody {
    pub name: Option<String>,
    #[serde(alias = "userName", alias = "fullName")]
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginBody {
    pub email: Option<String>,
    pub password: Option<String>,
}

// ---- WebSocket frames.

/// What a frame asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameType {
    Send,
    Leave,
    Delete,
    Modify,
}

impl FrameType {
    pub fn as_str(self) -> &'static str {
        match self {
            FrameType::Send => "SEND_MESSAGE",
            FrameType::Leave => "LEAVE_ROOM",
            FrameType::Delete => "DELETE_MESSAGE",
            FrameType::Modify => "MODIFI_MESSAGE",
        }
    }

    fn parse(s: &str) -> Option<FrameType> {
        [
            FrameType::Send,
            FrameType::Leave,
            FrameType::Delete,
            FrameType::Modify,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// A client frame, checked field by field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientFrame {
    pub message_id: String,
    pub room_name: String,
    pub content: String,
    pub kind: FrameType,
    pub user_id: String,
}

/// The frame a room's other connections get (the sender's frame, with the room's
/// stored name and the sender's id).
pub fn relay_json(
    message_id: &str,
    room: &str,
    content: &str,
    kind: FrameType,
    user: i64,
) -> Value {
    json!({
        "MessageId": message_id,
        "roomName": room,
        "content": content,
        "typeOfMessage": kind.as_str(),
        "userId": id(user),
    })
}

fn string_field(obj: &Map<String, Value>, name: &str) -> Result<String, String> {
    match obj.get(name) {
        None | Some(Value::Null) => Err(format!("{name} is required")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("{name} must be a string")),
    }
}

/// Parses a text frame, or says why it is malformed (the close reason).
pub fn parse_frame(text: &str) -> Result<ClientFrame, String> {
    let value: Value = serde_json::from_str(text).map_err(|_| "invalid JSON".to_owned())?;
    let Value::Object(obj) = value else {
        return Err("a frame must be a JSON object".to_owned());
    };
    let kind_text = string_field(&obj, "typeOfMessage")?;
    let frame = ClientFrame {
        message_id: string_field(&obj, "MessageId")?,
        room_name: string_field(&obj, "roomName")?,
        content: string_field(&obj, "content")?,
        kind: FrameType::parse(&kind_text).ok_or("message type wasn't defined")?,
        user_id: string_field(&obj, "userId")?,
    };
    for (name, v) in [
        ("MessageId", &frame.message_id),
        ("roomName", &frame.room_name),
        ("userId", &frame.user_id),
    ] {
        if v.trim().is_empty() {
            return Err(format!("{name} is required"));
        }
    }
    if matches!(frame.kind, FrameType::Send | FrameType::Modify) && frame.content.trim().is_empty()
    {
        return Err("content is required".to_owned());
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_or_say_why_not() {
        assert_eq!(parse_frame("nope").unwrap_err(), "invalid JSON");
        assert!(parse_frame("[1]").unwrap_err().contains("object"));
        let good = r#"{"MessageId":"m1","roomName":"R","content":"hi","typeOfMessage":"SEND_MESSAGE","userId":"4"}"#;
        let f = parse_frame(good).unwrap();
        assert_eq!((f.kind, f.user_id.as_str()), (FrameType::Send, "4"));
        let no_room =
            r#"{"MessageId":"m1","content":"hi","typeOfMessage":"SEND_MESSAGE","userId":"4"}"#;
        assert_eq!(parse_frame(no_room).unwrap_err(), "roomName is required");
        let num = r#"{"MessageId":1,"roomName":"R","content":"hi","typeOfMessage":"SEND_MESSAGE","userId":"4"}"#;
        assert_eq!(parse_frame(num).unwrap_err(), "MessageId must be a string");
        let odd = r#"{"MessageId":"m","roomName":"R","content":"hi","typeOfMessage":"SHOUT","userId":"4"}"#;
        assert_eq!(parse_frame(odd).unwrap_err(), "message type wasn't defined");
        let empty = r#"{"MessageId":"m","roomName":"R","content":" ","typeOfMessage":"SEND_MESSAGE","userId":"4"}"#;
        assert_eq!(parse_frame(empty).unwrap_err(), "content is required");
    }

    #[test]
    fn errors_are_envelopes() {
        let r = fail(StatusCode::NOT_FOUND, "nothing here");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}
