//! chatsphere's wire shapes, in the original's (Prisma) field names: rooms with
//! `_count`, messages with their `user`, users with an upper-case `role`, the
//! answers that issue tokens, and the WebSocket frames of both dialects. Ids are
//! strings (the original's ids were UUID strings) carrying the core's numeric
//! ids; ids sent as numbers or numeric strings are both read (`kit::Id`).

use entity::users;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::core::{
    conversations::rooms::shared::{self as rooms, RoomInfo},
    identity::api_tokens::Issued,
    model::MessageOut,
};
use crate::profiles::kit::{Id, timestamp};

/// The original's roles: ADMIN, MODERATOR, MEMBER.
pub fn role(u: &users::Model) -> &'static str {
    match u.role.as_str() {
        "admin" => "ADMIN",
        "moderator" => "MODERATOR",
        _ => "MEMBER",
    }
}

// ---- REST answers.

/// A user as listings, profiles and token answers show one.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: String,
    pub username: String,
    pub role: &'static str,
}

impl From<&users::Model> for UserOut {
    fn from(u: &users::Model) -> Self {
        UserOut {
            id: u.id.to_string(),
            username: rooms::username(u),
            role: role(u),
        }
    }
}

/// A user as a room's `users` and a message's `user` show one.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberOut {
    pub id: String,
    pub username: String,
}

impl From<&users::Model> for MemberOut {
    fn from(u: &users::Model) -> Self {
        MemberOut {
            id: u.id.to_string(),
            username: rooms::username(u),
        }
    }
}

/// The Room model with Prisma's `_count` (`users` and `members` are both the
/// member count: the original's UI read either).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomOut {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub is_private: bool,
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(rename = "_count")]
    pub count: RoomCount,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoomCount {
    pub messages: i64,
    pub users: i64,
    pub members: i64,
}

impl From<&RoomInfo> for RoomOut {
    fn from(r: &RoomInfo) -> Self {
        RoomOut {
            id: r.room.id.to_string(),
            name: r.room.name.clone().unwrap_or_default(),
            description: r.room.description.clone(),
            is_private: r.room.is_private,
            created_by: r.room.admin_id.map(|a| a.to_string()),
            created_at: timestamp(r.room.created_at),
            updated_at: timestamp(r.room.updated_at),
            count: RoomCount {
                messages: r.messages,
                users: r.members,
                members: r.members,
            },
        }
    }
}

/// `GET /api/rooms/:id`: the room with its members.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomDetail {
    #[serde(flatten)]
    pub room: RoomOut,
    pub users: Vec<MemberOut>,
}

/// The Message model with its `user`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    pub content: String,
    pub created_at: String,
    pub updated_at: String,
    pub user_id: String,
    pub room_id: String,
    pub user: MemberOut,
}

impl From<&MessageOut> for Message {
    fn from(m: &MessageOut) -> Self {
        Message {
            id: m.id.to_string(),
            content: m.content.clone(),
            created_at: timestamp(m.created_at),
            updated_at: timestamp(m.updated_at),
            user_id: m.sender_id.to_string(),
            room_id: m.conversation.id.to_string(),
            user: MemberOut {
                id: m.sender_id.to_string(),
                username: m.sender_name.clone(),
            },
        }
    }
}

pub fn messages(ms: &[MessageOut]) -> Vec<Message> {
    ms.iter().map(Message::from).collect()
}

/// An answer that issues a token: its record `id` (what revocation names), the
/// JWT, its user and when it expires.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedOut {
    pub id: String,
    pub token: String,
    pub user: UserOut,
    pub expires_at: String,
}

impl IssuedOut {
    pub fn new(t: &Issued, user: &users::Model) -> Self {
        IssuedOut {
            id: t.id.to_string(),
            token: t.token.clone(),
            user: user.into(),
            expires_at: timestamp(t.expires_at),
        }
    }
}

/// `GET /api/auth/profile`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileOut {
    pub user: UserOut,
}

/// `PUT /api/auth/profile`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileUpdated {
    pub message: &'static str,
    pub user: UserOut,
}

/// `{message}`: what the original answers for a done deletion or revocation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Done {
    pub message: &'static str,
}

/// `GET /api/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub timestamp: String,
}

/// `{error}`: every refusal, REST and upgrade alike.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

// ---- WebSocket frames out.

/// A message as the UI dialect shows it: flat, with the sender's name and image.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlatMessage {
    pub id: String,
    pub content: String,
    pub user_id: String,
    pub username: String,
    pub user_image: Option<String>,
    pub room_id: String,
    pub created_at: String,
    pub updated_at: String,
}

impl FlatMessage {
    pub fn new(m: &MessageOut, image: Option<&str>) -> Self {
        FlatMessage {
            id: m.id.to_string(),
            content: m.content.clone(),
            user_id: m.sender_id.to_string(),
            username: m.sender_name.clone(),
            user_image: image.map(str::to_owned),
            room_id: m.conversation.id.to_string(),
            created_at: timestamp(m.created_at),
            updated_at: timestamp(m.updated_at),
        }
    }
}

/// Every frame the server sends, tagged by `type`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutFrame {
    /// Server dialect: the answer to `join`, before its history.
    JoinConfirmation {
        #[serde(rename = "roomId")]
        room_id: String,
    },
    /// Server dialect: the last messages of the joined room, oldest first.
    PreviousMessages { messages: Vec<Message> },
    /// UI dialect: the answer to `join_room`, oldest first.
    MessageHistory {
        #[serde(rename = "roomId")]
        room_id: String,
        messages: Vec<FlatMessage>,
    },
    /// Server dialect: a message delivered to the room.
    NewMessage { message: Message },
    /// UI dialect: a message delivered to the room, flat.
    #[serde(rename = "new_message")]
    FlatNewMessage(FlatMessage),
    /// A refused frame; the connection stays open. `retryAfter` (seconds) comes
    /// with a refusal of the sender's message budget, as `Retry-After` with a
    /// REST 429.
    Error {
        message: String,
        #[serde(rename = "retryAfter", skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
}

// ---- REST bodies. Every field optional, so a missing one gets the original's
// own answer; a field of the wrong type is a 400.

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateRoomBody {
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_private: Option<bool>,
    pub user_id: Option<Id>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserIdBody {
    pub user_id: Option<Id>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ContentBody {
    pub content: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UsernameBody {
    pub username: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserTokenBody {
    pub user_id: Option<Id>,
    pub permissions: Option<Value>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientTokenBody {
    pub user_id: Option<Id>,
    pub email: Option<String>,
}

// ---- WebSocket frames in. `userId` is a claim, checked against the token's
// user in events.rs and dropped there: handlers never see it.

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

    #[test]
    fn frames_carry_their_type() {
        let v = serde_json::to_value(OutFrame::JoinConfirmation {
            room_id: "4".into(),
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "join_confirmation", "roomId": "4"})
        );
        let v = serde_json::to_value(OutFrame::Error {
            message: "no".into(),
            retry_after: None,
        })
        .unwrap();
        assert_eq!(v, serde_json::json!({"type": "error", "message": "no"}));
        let v = serde_json::to_value(OutFrame::Error {
            message: "slow down".into(),
            retry_after: Some(3),
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "error", "message": "slow down", "retryAfter": 3})
        );
    }
}
