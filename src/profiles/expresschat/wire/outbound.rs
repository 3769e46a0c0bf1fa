//! The events the client receives: answers to the asking socket, then the
//! events rendered from the bus for the other members (and the actor's other
//! sockets).

use std::collections::BTreeMap;

use serde::Serialize;

/// `auth-failure`: the handshake's credentials were not good.
#[derive(Debug, Serialize)]
pub struct AuthFailure {
    pub reason: &'static str,
}

/// `access-token`: a fresh access token (the client posts it to
/// `/update-access-token` to get it as a cookie).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessToken<'a> {
    pub access_token: &'a str,
}

/// `user-id`, the first greeting.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdOut<'a> {
    pub user_id: String,
    pub user_name: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PersonalChatList {
    pub personal_chat_list: Vec<PersonalChatEntry>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PersonalChatEntry {
    #[serde(rename = "_id")]
    pub id: String,
    pub last_chat: String,
    pub partner: String,
    pub unread: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupChatList {
    pub group_chat_list: Vec<GroupChatEntry>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupChatEntry {
    #[serde(rename = "_id")]
    pub id: String,
    pub name: String,
    pub last_chat: String,
    pub unread: i64,
}

/// `user-details`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserDetails {
    pub name: String,
    pub email: Option<String>,
    pub id: String,
}

/// `searched-user` and `added-user-match`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FoundUsers {
    pub users: Vec<FoundUser>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FoundUser {
    #[serde(rename = "_id")]
    pub id: String,
    pub name: String,
    pub email: String,
}

/// `create-chat-result`: `Exists` 1 with the chat's id, or 0 without one.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChatCheck {
    pub exists: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    pub partner: String,
}

/// `personal-chat`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PersonalChat {
    pub messages: Vec<PersonalMessage>,
    pub user_id: String,
    pub user: String,
    pub partner: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PersonalMessage {
    #[serde(rename = "_id")]
    pub id: String,
    pub sender: String,
    pub content: String,
    pub read_status: ReadStatus,
    pub timestamp: String,
}

/// Per receiver (user id): `"Read"` or `"Unread"`.
pub type ReadStatus = BTreeMap<String, &'static str>;

/// `self-chat`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SelfChat {
    pub messages: Vec<SelfMessage>,
    pub name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SelfMessage {
    #[serde(rename = "_id")]
    pub id: String,
    pub content: String,
    pub timestamp: String,
}

/// `group-chat`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupChat {
    pub admin: Option<String>,
    pub name: Option<String>,
    pub description: String,
    /// user id → name.
    pub participants: BTreeMap<String, String>,
    pub messages: Vec<GroupMessage>,
}

/// A message of `group-chat` (note `Id`, where personal chats have `_id`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupMessage {
    pub content: String,
    pub sender: String,
    pub read_status: ReadStatus,
    pub timestamp: String,
    pub id: String,
}

/// `add-member-fail`, `kickout-fail`, `change-admin-fail`, `delete-grp-fail`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Failure {
    pub message: String,
}

/// `send-personal-message-fail`, `send-group-message-fail`,
/// `send-self-message-fail` (chatwire's own): the sender's message budget is
/// spent; nothing was stored or delivered. `RetryAfter` is in seconds.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Throttled {
    pub message: String,
    pub retry_after: u64,
}

// ---- Rendered from the bus.

/// `receive-personal-message` and `receive-group-message`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Received<'a> {
    pub chat_id: String,
    pub content: &'a str,
    pub sender: &'a str,
}

/// `read-personal-msg-ack`, `new-grp-added`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChatIdOnly {
    pub chat_id: String,
}

/// `read-grp-msg-ack`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupRead {
    pub reader: String,
    pub chat_id: String,
}

/// `create-personal-chat-creator` and `create-personal-chat-partner`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PersonalChatOpened<'a> {
    pub chat_id: String,
    pub partner: &'a str,
}

/// `create-group-chat-creator` and `create-group-chat-receiver`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupCreated<'a> {
    pub group_id: String,
    pub name: Option<&'a str>,
}

/// `add-member-success`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MemberAdded {
    pub chat_id: String,
    pub member: String,
}

/// `kickout-successful`, `someone-kicked-out`, `change-admin-success-*`,
/// `delete-group-chat-creator`, `delete-grp-success-receiver`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupIdOnly {
    pub group_id: String,
}

/// `kicked-out`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KickedOut<'a> {
    pub group_id: String,
    pub group_name: Option<&'a str>,
}

/// `group-left-success`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupLeft {
    pub message: &'static str,
    pub group_id: String,
}

/// `user-left-grp`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserLeft {
    pub group_id: String,
    pub user: String,
}
