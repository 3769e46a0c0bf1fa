//! orgchat's wire shapes: REST bodies and answers, event payloads, the events
//! sent back and the raw-WebSocket frames around them, in the original's field
//! names (camelCase payloads, snake_case message rows and room columns). Ids are
//! numbers on this profile; clients also send them as numeric strings
//! (`"roomId": "1"` in the document's flows), so both are read (`kit::Id`).

use entity::{conversations, users};
use serde::{Deserialize, Deserializer, Serialize, de::Unexpected};
use utoipa::ToSchema;

use crate::core::bus::MessageOut;
use crate::profiles::kit::{Id, timestamp};

/// What serde says an id is, in refusals (the kit's `Id` says the same).
const AN_ID: &str = "an id (a number or a numeric string)";

/// A required id: `kit::Id` reads JSON null as "names nothing", but on this
/// profile a null where an id is required has always been malformed data
/// ("invalid type: null, expected an id ..."), not "not found".
fn required_id<'de, D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
    Option::<Id>::deserialize(d)?
        .ok_or_else(|| serde::de::Error::invalid_type(Unexpected::Unit, &AN_ID))
}

/// A list of required ids (`invitedUsers`): a null among them is malformed, as
/// for [`required_id`].
fn required_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Id>, D::Error> {
    Vec::<Option<Id>>::deserialize(d)?
        .into_iter()
        .map(|id| id.ok_or_else(|| serde::de::Error::invalid_type(Unexpected::Unit, &AN_ID)))
        .collect()
}

// ---- REST in. Every field optional, so a missing one gets this profile's own
// answer instead of a generic rejection.

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterBody {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub organization_name: Option<String>,
    /// `admin`, `moderator` or `user` (default).
    pub role: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct LoginBody {
    pub email: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshBody {
    pub refresh_token: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateRoomBody {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "required_ids")]
    pub invited_users: Vec<Id>,
}

// ---- REST out.

/// A user as login and register answer it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub role: String,
    pub organization_id: Option<i64>,
}

impl From<&users::Model> for UserOut {
    fn from(u: &users::Model) -> Self {
        UserOut {
            id: u.id,
            username: u.username.clone().unwrap_or_else(|| u.name.clone()),
            email: u.email.clone(),
            role: u.role.clone(),
            organization_id: u.organization_id,
        }
    }
}

/// `POST /api/auth/register` (201).
#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    pub message: &'static str,
    pub user: UserOut,
}

/// `POST /api/auth/login`; `POST /api/auth/refresh-token` answers the same
/// without `user`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserOut>,
}

/// A room as `GET /api/chat` lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomOut {
    pub id: i64,
    pub name: String,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
    pub organization_id: Option<i64>,
}

impl From<&conversations::Model> for RoomOut {
    fn from(c: &conversations::Model) -> Self {
        RoomOut {
            id: c.id,
            name: c.name.clone().unwrap_or_default(),
            created_at: timestamp(c.created_at),
            updated_at: timestamp(c.updated_at),
            organization_id: c.organization_id,
        }
    }
}

/// A room as `POST /api/chat` answers it (the list shape plus its creator).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedRoom {
    #[serde(flatten)]
    pub room: RoomOut,
    pub created_by: Option<i64>,
}

impl From<&conversations::Model> for CreatedRoom {
    fn from(c: &conversations::Model) -> Self {
        CreatedRoom {
            room: RoomOut::from(c),
            created_by: c.admin_id,
        }
    }
}

/// One page of `GET /api/chat`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomPage {
    pub total: u64,
    pub pages: u64,
    pub current_page: u64,
    pub data: Vec<RoomOut>,
}

/// `GET /api/chat/:roomId/messages` (an extension): a page of the room's
/// messages, oldest first, as `newMessage` carries them, and whether more exist
/// in the page's direction (older; newer when it was asked for with `after`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessagePage {
    pub data: Vec<MessageRow>,
    pub has_more: bool,
}

/// Every REST error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub message: String,
}

// ---- Events in (the `data` of a frame, or the Socket.IO payload).

/// joinRoom, leaveRoom, typing, stopTyping.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomData {
    #[serde(deserialize_with = "required_id")]
    pub room_id: Id,
    pub user_id: Option<Id>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageData {
    #[serde(deserialize_with = "required_id")]
    pub room_id: Id,
    pub user_id: Option<Id>,
    pub content: String,
    /// Asks for encryption at rest. The message row's snake_case spelling is
    /// read as well, as a field of its own: a serde alias would refuse a payload
    /// carrying both spellings ("duplicate field `isEncrypted`").
    pub is_encrypted: Option<bool>,
    #[serde(rename = "is_encrypted")]
    pub is_encrypted_row: Option<bool>,
}

impl SendMessageData {
    /// Whether the sender asks for encryption at rest, in either spelling (when
    /// they disagree, encrypting is the safe answer).
    pub fn wants_encryption(&self) -> bool {
        self.is_encrypted.unwrap_or(false) || self.is_encrypted_row.unwrap_or(false)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewChatRoomData {
    pub room_name: Option<String>,
    #[serde(default, deserialize_with = "required_ids")]
    pub invited_users: Vec<Id>,
    pub room_id: Option<Id>,
    pub organization_id: Option<Id>,
    pub user_id: Option<Id>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReactData {
    pub user_id: Option<Id>,
    #[serde(deserialize_with = "required_id")]
    pub message_id: Id,
    pub reaction: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadData {
    pub user_id: Option<Id>,
    #[serde(deserialize_with = "required_id")]
    pub message_id: Id,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteData {
    pub room_id: Option<Id>,
    #[serde(deserialize_with = "required_id")]
    pub message_id: Id,
    pub user_id: Option<Id>,
}

// ---- Events out (Socket.IO payloads; raw frames wrap or flatten them).

/// A message row as `newMessage` carries it (the original's table columns).
#[derive(Debug, Serialize, ToSchema)]
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

/// `notification`: "User X joined the room" / "User X left the room", X the
/// user's id (the document's wording).
pub fn presence_notice(user_id: i64, joined: bool) -> String {
    let verb = if joined { "joined" } else { "left" };
    format!("User {user_id} {verb} the room")
}

/// `typing` and `stopTyping`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Typist {
    pub user_id: i64,
}

/// `messageReaction`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reaction<'a> {
    pub user_id: i64,
    pub message_id: i64,
    pub reaction: &'a str,
}

/// `messageRead`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadReceipt {
    pub user_id: i64,
    pub message_id: i64,
}

/// `messageDeleted`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deleted {
    pub message_id: i64,
}

/// `newChatRoom`, to each invitee.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    pub room_id: i64,
    pub room_name: String,
    pub organization_id: Option<i64>,
    pub notification: String,
}

impl Invitation {
    pub fn new(room_id: i64, room_name: String, organization_id: Option<i64>) -> Self {
        Invitation {
            notification: format!("You have been invited to join {room_name}"),
            room_id,
            room_name,
            organization_id,
        }
    }
}

/// `error`, to the asking connection only; `event` names the refused event
/// when the frame named one; `retryAfter` (seconds) comes with a refusal of the
/// sender's message budget, as `Retry-After` with a REST 429.
#[derive(Debug, Serialize)]
pub struct ErrorOut<'a> {
    pub message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<&'a str>,
    #[serde(rename = "retryAfter", skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// The Socket.IO acknowledgement of an event: its result, or `{error}`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Ack {
    /// joinRoom, leaveRoom, typing, stopTyping.
    Room {
        #[serde(rename = "roomId")]
        room_id: i64,
    },
    /// sendMessage: the stored row.
    Message(MessageRow),
    /// newChatRoom.
    NewRoom {
        #[serde(rename = "roomId")]
        room_id: i64,
        #[serde(rename = "roomName")]
        room_name: Option<String>,
        #[serde(rename = "organizationId")]
        organization_id: Option<i64>,
    },
    /// reactMessage, readMessage, deleteMessage.
    MessageId {
        #[serde(rename = "messageId")]
        message_id: i64,
    },
    Refused {
        error: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parsed<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn a_null_where_an_id_is_required_is_malformed_not_missing() {
        let null = "invalid type: null, expected an id (a number or a numeric string)";
        assert_eq!(
            parsed::<RoomData>(json!({"roomId": null})).unwrap_err(),
            null
        );
        assert_eq!(
            parsed::<ReactData>(json!({"messageId": null, "reaction": "x"})).unwrap_err(),
            null
        );
        assert_eq!(
            parsed::<NewChatRoomData>(json!({"roomName": "x", "invitedUsers": [1, null]}))
                .unwrap_err(),
            null
        );
        assert_eq!(
            parsed::<CreateRoomBody>(json!({"name": "x", "invitedUsers": null})).unwrap_err(),
            "invalid type: null, expected a sequence"
        );
        assert_eq!(
            parsed::<RoomData>(json!({})).unwrap_err(),
            "missing field `roomId`"
        );
        // Optional ids may be null, and a string that is no number names nothing.
        let d: DeleteData = parsed(json!({"messageId": "message-123", "roomId": null})).unwrap();
        assert_eq!((d.message_id, d.room_id), (Id(None), None));
        let r: RoomData = parsed(json!({"roomId": "1", "userId": null})).unwrap();
        assert_eq!((r.room_id, r.user_id), (Id(Some(1)), None));
    }

    #[test]
    fn both_spellings_of_is_encrypted_are_read_together() {
        let asks = |v: Value| parsed::<SendMessageData>(v).map(|d| d.wants_encryption());
        let msg = |extra: Value| {
            let mut v = json!({"roomId": 1, "content": "x"});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            v
        };
        assert_eq!(asks(msg(json!({}))), Ok(false));
        assert_eq!(asks(msg(json!({"isEncrypted": true}))), Ok(true));
        assert_eq!(asks(msg(json!({"is_encrypted": true}))), Ok(true));
        let both = json!({"isEncrypted": true, "is_encrypted": true});
        assert_eq!(asks(msg(both)), Ok(true));
        let disagree = json!({"isEncrypted": false, "is_encrypted": true});
        assert_eq!(asks(msg(disagree)), Ok(true));
        assert_eq!(asks(msg(json!({"isEncrypted": null}))), Ok(false));
    }

    #[test]
    fn presence_notices_read_as_the_document() {
        assert_eq!(presence_notice(7, true), "User 7 joined the room");
        assert_eq!(presence_notice(7, false), "User 7 left the room");
    }
}
