//! calls' wire shapes: the payloads clients send (camelCase), and every frame
//! and REST body the server answers with, one struct each. User and message ids
//! go out as decimal strings of the numeric ids ("7") and come in as strings or
//! numbers (`kit::Id`); a call id is its handle (`"12_9f2c..."`), so its Jitsi
//! room `call_${callId}` cannot be guessed.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::core::{
    Error, Result,
    bus::MessageOut,
    calls::{CallInfo, CallType},
};
use crate::profiles::kit::{Id, present, timestamp};

/// An id as this profile renders it: the decimal string of the numeric id.
pub fn id_str(id: i64) -> String {
    id.to_string()
}

/// The message types the client knows; absent means text.
pub fn message_type(t: Option<&str>) -> Result<&'static str> {
    match t.unwrap_or("text") {
        "text" => Ok("text"),
        "image" => Ok("image"),
        "file" => Ok("file"),
        _ => Err(Error::invalid("type must be text, image or file")),
    }
}

// ---- client -> server (Socket.IO events)

/// `join {userId, token}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Join {
    #[serde(default)]
    pub user_id: Option<Id>,
    pub token: String,
}

/// `message {to, content, type}`.
#[derive(Debug, Deserialize)]
pub struct SendMessage {
    pub to: Id,
    pub content: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// `message:read {messageId, userId}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadMessage {
    pub message_id: Id,
    #[serde(default)]
    pub user_id: Option<Id>,
}

/// `typing:start {to}` and `typing:stop {to}`.
#[derive(Debug, Deserialize)]
pub struct TypingTo {
    pub to: Id,
}

/// `call:initiate {to, callType}`; `type` is read when `callType` is absent.
/// Two fields rather than a serde alias: with an alias, a payload carrying both
/// is refused as a duplicate field.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Initiate {
    pub to: Id,
    #[serde(default)]
    pub call_type: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

impl Initiate {
    /// `callType`, else `type`: voice or video.
    pub fn call_type(&self) -> Result<CallType> {
        let Some(t) = self.call_type.as_deref().or(self.kind.as_deref()) else {
            // The words serde used when `type` was an alias of `callType`.
            return Err(Error::invalid("invalid data: missing field `callType`"));
        };
        CallType::parse(t).ok_or_else(|| Error::invalid("callType must be voice or video"))
    }
}

/// `call:respond {callId, response, to}`; `to` is ignored (the call names its
/// parties).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Respond {
    pub call_id: String,
    pub response: String,
}

impl Respond {
    /// `accept` is true, `reject` false; anything else is refused.
    pub fn accepts(&self) -> Result<bool> {
        match self.response.as_str() {
            "accept" => Ok(true),
            "reject" => Ok(false),
            _ => Err(Error::invalid("response must be accept or reject")),
        }
    }
}

/// `call:end {callId, to}`; `to` is ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndCall {
    pub call_id: String,
}

// ---- REST bodies: every field optional, so a missing one gets INVALID_DATA in
// the profile's envelope instead of axum's plain-text 422.

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct LoginBody {
    pub email: Option<String>,
    pub password: Option<String>,
}

/// `POST /api/auth/register {name, email, password}`; a sign-up form may send
/// `username` instead, or both (two fields, not a serde alias, which would
/// refuse a body with both as a duplicate field).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RegisterBody {
    pub name: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
}

impl RegisterBody {
    /// The display name: `name`, else `username` (blank ones do not count), so
    /// `name` wins when the two disagree.
    pub fn display_name(&self) -> Option<&str> {
        present(&self.name).or_else(|| present(&self.username))
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostMessage {
    pub receiver_id: Option<Id>,
    pub content: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

// ---- server -> client (Socket.IO)

/// What the sending socket gets as its ack, whichever event it sent.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Ack {
    Connected(Connected),
    Message(MessageWire),
    Offer(CallOffer),
    Failed(CallFailed),
    Done(Done),
}

/// `connected {userId, socketId}` (also `join`'s ack).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Connected {
    pub user_id: String,
    pub socket_id: String,
}

/// `{success:true}`: the ack of an event with nothing else to say.
#[derive(Debug, Serialize)]
pub struct Done {
    pub success: bool,
}

impl Done {
    pub const OK: Done = Done { success: true };
}

/// `auth:error {message}`.
#[derive(Debug, Serialize)]
pub struct AuthError {
    pub message: &'static str,
}

/// `call:failed {message, reason, to}`: the callee cannot ring.
#[derive(Clone, Debug, Serialize)]
pub struct CallFailed {
    pub message: &'static str,
    pub reason: &'static str,
    /// The callee as asked for; null when the id named nobody at all.
    pub to: Option<String>,
}

impl CallFailed {
    pub fn unavailable(to: Id) -> Self {
        CallFailed {
            message: "User is not available",
            reason: "user_unavailable",
            to: to.0.map(id_str),
        }
    }
}

/// A direct message: the `message` event, an ack, and the REST bodies.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageWire {
    pub id: String,
    pub sender_id: String,
    pub sender_name: String,
    pub receiver_id: String,
    pub content: String,
    /// ISO 8601 time.
    pub timestamp: String,
    /// `text`, `image` or `file`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Only in history answers: the receiver, once they have read it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_by: Option<Vec<String>>,
}

impl MessageWire {
    pub fn new(m: &MessageOut, receiver: i64) -> Self {
        MessageWire {
            id: id_str(m.id),
            sender_id: id_str(m.sender_id),
            sender_name: m.sender_name.clone(),
            receiver_id: id_str(receiver),
            content: m.content.clone(),
            timestamp: timestamp(m.created_at),
            kind: m.kind.clone(),
            read_by: None,
        }
    }
}

/// `message:read {messageId, userId, readAt}`, to the message's sender.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadReceipt {
    pub message_id: String,
    pub user_id: String,
    pub read_at: String,
}

/// `typing:start {from, fromName}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TypingStarted {
    pub from: String,
    pub from_name: String,
}

/// `typing:stop {from}`.
#[derive(Debug, Serialize)]
pub struct TypingStopped {
    pub from: String,
}

/// `user:online` / `user:offline {userId, status, timestamp}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceWire {
    pub user_id: String,
    pub status: &'static str,
    pub timestamp: String,
}

/// `call:initiated` (to the caller) and `call:incoming` (to the callee), with the
/// Jitsi settings the client needs.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallOffer {
    pub id: String,
    pub from: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_name: Option<String>,
    pub to: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub timestamp: String,
    pub room_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    pub domain: String,
    pub start_with_audio_muted: bool,
    pub start_with_video_muted: bool,
}

impl CallOffer {
    /// The caller's view (`call:initiated`) or the callee's (`call:incoming`).
    pub fn new(c: &CallInfo, domain: &str, for_callee: bool) -> Self {
        CallOffer {
            id: c.handle().to_owned(),
            from: id_str(c.caller_id),
            from_name: for_callee.then(|| c.caller_name.clone()),
            to: id_str(c.callee_id),
            kind: c.kind.as_str(),
            timestamp: timestamp(c.created_at),
            room_name: c.room_name.clone(),
            status: (!for_callee).then_some("ringing"),
            domain: domain.to_owned(),
            start_with_audio_muted: false,
            start_with_video_muted: c.kind == CallType::Voice,
        }
    }
}

/// `call:accepted {callId, by, type, roomName}` and `call:rejected {callId, by,
/// type}` (no room: nobody joins it).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallAnswer {
    pub call_id: String,
    pub by: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_name: Option<String>,
}

/// `call:ended {callId, by, reason, type, duration}`; `by` is null after a timeout.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallEnded {
    pub call_id: String,
    pub by: Option<String>,
    pub reason: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub duration: i64,
}

// ---- server -> client (REST)

#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: String,
    pub name: String,
    pub email: String,
}

/// `{success:true, token, user}`: login and registration.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    pub success: bool,
    pub token: String,
    pub user: UserOut,
}

/// `GET /api/messages`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessagesPage {
    pub success: bool,
    pub messages: Vec<MessageWire>,
    pub has_more: bool,
}

/// `POST /api/messages`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageSent {
    pub success: bool,
    pub message: MessageWire,
}

/// `GET /api/calls`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallsPage {
    pub success: bool,
    pub calls: Vec<CallRecord>,
}

/// A call in the history (`GET /api/calls`), the document's Call model.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    pub id: String,
    pub from: String,
    pub from_name: String,
    pub to: String,
    pub to_name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub status: String,
    pub room_name: String,
    pub timestamp: String,
    pub answered_at: Option<String>,
    pub ended_at: Option<String>,
    pub duration: i64,
    pub end_reason: Option<String>,
    pub ended_by: Option<String>,
}

impl CallRecord {
    pub fn new(c: &CallInfo) -> Self {
        CallRecord {
            id: c.handle().to_owned(),
            from: id_str(c.caller_id),
            from_name: c.caller_name.clone(),
            to: id_str(c.callee_id),
            to_name: c.callee_name.clone(),
            kind: c.kind.as_str(),
            status: c.status.clone(),
            room_name: c.room_name.clone(),
            timestamp: timestamp(c.created_at),
            answered_at: c.answered_at.map(timestamp),
            ended_at: c.ended_at.map(timestamp),
            duration: c.duration_secs.unwrap_or(0),
            end_reason: c.end_reason.clone(),
            ended_by: c.ended_by.map(id_str),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_arrive_as_strings_or_numbers() {
        let a: TypingTo = serde_json::from_str(r#"{"to":"7"}"#).unwrap();
        let b: TypingTo = serde_json::from_str(r#"{"to":7}"#).unwrap();
        assert_eq!(a.to.get("user").unwrap(), 7);
        assert_eq!(b.to.get("user").unwrap(), 7);
        assert!(Id::parse("u7").get("user").is_err());
        assert!(serde_json::from_str::<TypingTo>(r#"{"to":true}"#).is_err());
    }

    #[test]
    fn a_field_and_its_other_name_may_come_together() {
        let body = |v: serde_json::Value| serde_json::from_value::<RegisterBody>(v).unwrap();
        let both = body(serde_json::json!({"name": "Ann", "username": "ann1"}));
        assert_eq!(both.display_name(), Some("Ann"));
        let blank_name = body(serde_json::json!({"name": " ", "username": "ann1"}));
        assert_eq!(blank_name.display_name(), Some("ann1"));
        assert_eq!(body(serde_json::json!({})).display_name(), None);

        let call = |v: serde_json::Value| serde_json::from_value::<Initiate>(v).unwrap();
        let both = call(serde_json::json!({"to": "2", "callType": "video", "type": "voice"}));
        assert_eq!(both.call_type().unwrap(), CallType::Video);
        let only_type = call(serde_json::json!({"to": "2", "type": "voice"}));
        assert_eq!(only_type.call_type().unwrap(), CallType::Voice);
        assert!(call(serde_json::json!({"to": "2"})).call_type().is_err());
    }

    #[test]
    fn message_types_are_checked() {
        assert_eq!(message_type(None).unwrap(), "text");
        assert_eq!(message_type(Some("file")).unwrap(), "file");
        assert!(message_type(Some("video")).is_err());
    }
}
