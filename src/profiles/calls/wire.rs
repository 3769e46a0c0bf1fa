//! calls' wire shapes: camelCase payloads; user and message ids are decimal
//! strings of the numeric ids ("7"); a call id is its handle (`"12_9f2c..."`), so
//! its Jitsi room `call_${callId}` cannot be guessed.

use serde::{Deserialize, Deserializer, Serialize};

use crate::core::{
    Error, Result,
    bus::MessageOut,
    calls::{CallInfo, CallType},
};

pub fn id_str(id: i64) -> String {
    id.to_string()
}

pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// An id as the client sends it: a string (`"7"`) or a number (`7`).
#[derive(Debug, Clone)]
pub struct IdIn(pub String);

impl<'de> Deserialize<'de> for IdIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            N(i64),
        }
        Ok(IdIn(match Raw::deserialize(d)? {
            Raw::S(s) => s,
            Raw::N(n) => n.to_string(),
        }))
    }
}

impl IdIn {
    /// The numeric id, or `NotFound(what)` when it cannot name anything.
    pub fn num(&self, what: &'static str) -> Result<i64> {
        self.0
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(Error::NotFound(what))
    }
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

pub fn call_type(t: &str) -> Result<CallType> {
    CallType::parse(t).ok_or_else(|| Error::invalid("callType must be voice or video"))
}

// ---- client -> server

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Join {
    #[serde(default)]
    pub user_id: Option<IdIn>,
    pub token: String,
}

#[derive(Debug, Deserialize)]
pub struct SendMessage {
    pub to: IdIn,
    pub content: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadMessage {
    pub message_id: IdIn,
    #[serde(default)]
    pub user_id: Option<IdIn>,
}

#[derive(Debug, Deserialize)]
pub struct TypingTo {
    pub to: IdIn,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Initiate {
    pub to: IdIn,
    #[serde(alias = "type")]
    pub call_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Respond {
    pub call_id: IdIn,
    pub response: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndCall {
    pub call_id: IdIn,
}

// ---- REST bodies: every field optional, so a missing one gets INVALID_DATA in
// the profile's envelope instead of axum's plain-text 422.

#[derive(Debug, Default, Deserialize)]
pub struct LoginBody {
    pub email: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RegisterBody {
    #[serde(alias = "username")]
    pub name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostMessage {
    pub receiver_id: Option<IdIn>,
    pub content: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

// ---- server -> client

#[derive(Debug, Serialize)]
pub struct UserOut {
    pub id: String,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageWire {
    pub id: String,
    pub sender_id: String,
    pub sender_name: String,
    pub receiver_id: String,
    pub content: String,
    pub timestamp: String,
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

/// A call in the history (`GET /api/calls`), the document's Call model.
#[derive(Debug, Serialize)]
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
        assert_eq!(a.to.num("user").unwrap(), 7);
        assert_eq!(b.to.num("user").unwrap(), 7);
        assert!(IdIn("u7".into()).num("user").is_err());
        assert!(serde_json::from_str::<TypingTo>(r#"{"to":true}"#).is_err());
    }

    #[test]
    fn message_types_are_checked() {
        assert_eq!(message_type(None).unwrap(), "text");
        assert_eq!(message_type(Some("file")).unwrap(), "file");
        assert!(message_type(Some("video")).is_err());
    }
}
