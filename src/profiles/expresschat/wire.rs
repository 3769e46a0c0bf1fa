//! expresschat's wire shapes: PascalCase payloads, ids as prefixed strings.
//!
//! Ids are opaque strings to this client, and it keeps users and chats in one
//! namespace (the self chat's id *is* the user id), so the kinds get prefixes that
//! cannot collide: users `u7`, conversations `c12`, messages `m40`.

use serde::{Deserialize, Serialize};

pub fn user_id(id: i64) -> String {
    format!("u{id}")
}

pub fn chat_id(id: i64) -> String {
    format!("c{id}")
}

pub fn message_id(id: i64) -> String {
    format!("m{id}")
}

fn parse(prefix: char, s: &str) -> Option<i64> {
    s.strip_prefix(prefix)?
        .parse()
        .ok()
        .filter(|n: &i64| *n > 0)
}

pub fn parse_user(s: &str) -> Option<i64> {
    parse('u', s)
}

pub fn parse_chat(s: &str) -> Option<i64> {
    parse('c', s)
}

// ---- REST bodies: every field optional, so a missing one gets the profile's own
// answer instead of a generic 422.

#[derive(Debug, Default, Deserialize)]
pub struct SignupBody {
    pub name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub source: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginBody {
    pub email: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ResendBody {
    pub email: Option<String>,
    pub source: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct UpdateAccessBody {
    /// Spelled as the original client spells it.
    #[serde(rename = "acessToken", alias = "accessToken")]
    pub acess_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct VerifyQuery {
    pub email: Option<String>,
    pub token: Option<String>,
    pub source: Option<String>,
}

/// `{success, message}` answers (success is a number in this API).
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub success: i32,
    pub message: &'static str,
}

// ---- Socket events in.

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SearchUser {
    pub name: String,
    #[serde(rename = "Type")]
    pub kind: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CheckChat {
    pub receiver: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatePersonalChat {
    pub receiver: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChatContent {
    pub chat_id: String,
    pub content: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChatRef {
    pub chat_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SelfContent {
    pub content: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGroup {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Required, as the client always sends it (an empty list makes a group of one).
    pub participants: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupContent {
    pub group_id: String,
    pub content: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupRef {
    pub group_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupMember {
    pub group_id: String,
    pub member: String,
}

// ---- Socket events out (the ones with more than two fields).

#[derive(Debug, Serialize)]
pub struct PersonalChatEntry {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "LastChat")]
    pub last_chat: String,
    #[serde(rename = "Partner")]
    pub partner: String,
    #[serde(rename = "Unread")]
    pub unread: i64,
}

#[derive(Debug, Serialize)]
pub struct GroupChatEntry {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "LastChat")]
    pub last_chat: String,
    #[serde(rename = "Unread")]
    pub unread: i64,
}

#[derive(Debug, Serialize)]
pub struct FoundUser {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Email")]
    pub email: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PersonalMessage {
    #[serde(rename = "_id")]
    pub id: String,
    pub sender: String,
    pub content: String,
    pub read_status: std::collections::BTreeMap<String, &'static str>,
    pub timestamp: String,
}

#[derive(Debug, Serialize)]
pub struct SelfMessage {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "Content")]
    pub content: String,
    #[serde(rename = "Timestamp")]
    pub timestamp: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupMessage {
    pub content: String,
    pub sender: String,
    pub read_status: std::collections::BTreeMap<String, &'static str>,
    pub timestamp: String,
    pub id: String,
}

pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_do_not_cross_kinds() {
        assert_eq!(parse_user(&user_id(7)), Some(7));
        assert_eq!(parse_chat(&chat_id(12)), Some(12));
        assert_eq!(parse_chat(&user_id(7)), None);
        assert_eq!(parse_chat("c-1"), None);
        assert_eq!(parse_chat("c0"), None);
        assert_eq!(parse_chat("12"), None);
    }

    #[test]
    fn payloads_use_the_original_field_names() {
        let m: GroupMember = serde_json::from_str(r#"{"GroupId":"c1","Member":"u2"}"#).unwrap();
        assert_eq!((m.group_id.as_str(), m.member.as_str()), ("c1", "u2"));
        let e = serde_json::to_value(PersonalChatEntry {
            id: "c1".into(),
            last_chat: "t".into(),
            partner: "Bob".into(),
            unread: 2,
        })
        .unwrap();
        assert_eq!(
            e,
            serde_json::json!({"_id":"c1","LastChat":"t","Partner":"Bob","Unread":2})
        );
    }
}
