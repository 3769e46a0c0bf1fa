//! The payloads of the events the client sends.

use serde::Deserialize;

use super::{ChatKey, UserKey};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SearchUser {
    pub name: String,
    #[serde(rename = "Type")]
    pub kind: SearchKind,
}

/// `Type` of `search-user`: `"Add"` looks for members to add (3 at most); any
/// other text is the search box (8 at most).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum SearchKind {
    Search,
    Add,
}

impl From<String> for SearchKind {
    fn from(s: String) -> Self {
        if s == "Add" {
            SearchKind::Add
        } else {
            SearchKind::Search
        }
    }
}

/// `check-chat` and `create-personal-chat` (the client's `Partner` and `UserName`
/// are names it already knows; the server uses its own).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Receiver {
    pub receiver: UserKey,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChatContent {
    pub chat_id: ChatKey,
    pub content: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChatRef {
    pub chat_id: ChatKey,
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
    pub participants: Vec<UserKey>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupContent {
    pub group_id: ChatKey,
    pub content: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupRef {
    pub group_id: ChatKey,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupMember {
    pub group_id: ChatKey,
    pub member: UserKey,
}
