//! testcore's wire shapes: the `{statusCode, data, message, success}` envelope
//! (and its error form), rooms and users with the original's MongoDB-style field
//! names (`_id`, `roomName`, `AdminId`), the request bodies, and the raw
//! WebSocket frame `{MessageId, roomName, content, typeOfMessage, userId}`. Ids
//! are decimal strings of chatwire's ids.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use entity::{conversations, users};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::core::bus::MessageOut;
use crate::profiles::kit::timestamp;

/// The login's access token (also read from REST requests and the upgrade).
pub const ACCESS_COOKIE: &str = "accessToken";
/// The login's refresh token.
pub const REFRESH_COOKIE: &str = "refreshToken";
/// The chat token `connectChat` sets: one user, one room.
pub const CHAT_COOKIE: &str = "UserChatToken";

pub fn id(n: i64) -> String {
    n.to_string()
}

// ---- Envelopes.

/// `{statusCode, data, message, success: true}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a, T> {
    status_code: u16,
    data: T,
    message: &'a str,
    success: bool,
}

/// `{statusCode, data: null, message, success: false, errors: []}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorEnvelope<'a> {
    status_code: u16,
    data: (),
    message: &'a str,
    success: bool,
    errors: [(); 0],
}

/// `200 {statusCode: 200, data, message, success: true}`.
pub fn ok<T: Serialize>(data: T, message: &str) -> Response {
    answer(StatusCode::OK, data, message)
}

/// The success envelope with another 2xx status (sign-up answers 201).
pub fn answer<T: Serialize>(status: StatusCode, data: T, message: &str) -> Response {
    let body = Envelope {
        status_code: status.as_u16(),
        data,
        message,
        success: true,
    };
    (status, Json(body)).into_response()
}

/// The error envelope with that status.
pub fn fail(status: StatusCode, message: &str) -> Response {
    let body = ErrorEnvelope {
        status_code: status.as_u16(),
        data: (),
        message,
        success: false,
        errors: [],
    };
    (status, Json(body)).into_response()
}

/// The envelopes as the OpenAPI document shows them: one schema per `data`
/// (the answers themselves are made by [`answer`] and [`fail`]).
macro_rules! documented_envelopes {
    ($($name:ident($data:ty): $doc:literal;)*) => {$(
        #[doc = $doc]
        #[derive(Serialize, ToSchema)]
        #[serde(rename_all = "camelCase")]
        #[allow(dead_code, reason = "only described, for the OpenAPI document")]
        pub struct $name {
            /// The HTTP status again.
            status_code: u16,
            data: $data,
            message: String,
            success: bool,
        }
    )*};
}

documented_envelopes! {
    RoomAnswer(RoomOut): "`{statusCode, data: room, message, success: true}`.";
    SignedInAnswer(SignedIn): "`{statusCode, data: {userData, accessToken}, message, success: true}`.";
    CollegesAnswer(Vec<String>): "`{statusCode: 200, data: [], message, success: true}`: no colleges.";
    ChatListAnswer(Vec<ChatList>): "`{statusCode: 200, data: [{_id, profile, chatData}], message, success: true}`.";
    RoomUsersAnswer(Vec<RoomUsers>): "`{statusCode: 200, data: [room with ChatUsers], message, success: true}`.";
    ConnectAnswer(ConnectOut): "`{statusCode: 200, data: {room..., token}, message, success: true}`.";
}

/// The schema of a value that is always `null`.
fn null() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Null)
        .build()
}

/// The error envelope as the OpenAPI document shows it: `{statusCode, data:
/// null, message, success: false, errors: []}` ([`fail`]).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code, reason = "only described, for the OpenAPI document")]
pub struct Failure {
    /// The HTTP status again.
    status_code: u16,
    /// Always null.
    #[schema(schema_with = null)]
    data: (),
    message: String,
    /// Always false.
    success: bool,
    /// Always empty.
    errors: Vec<String>,
}

// ---- REST out.

/// A room: `{_id, roomName, AdminId, createdAt, updatedAt}`.
#[derive(Serialize, ToSchema)]
pub struct RoomOut {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "roomName")]
    pub room_name: String,
    #[serde(rename = "AdminId")]
    pub admin_id: Option<String>,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
}

impl RoomOut {
    pub fn of(r: &conversations::Model) -> RoomOut {
        RoomOut {
            id: id(r.id),
            room_name: r.name.clone().unwrap_or_default(),
            admin_id: r.admin_id.map(id),
            created_at: timestamp(r.created_at),
            updated_at: timestamp(r.updated_at),
        }
    }
}

/// `connectChat`'s answer: the room and the chat token (also set as the cookie),
/// for clients that pass it as `?token=`.
#[derive(Serialize, ToSchema)]
pub struct ConnectOut {
    #[serde(flatten)]
    pub room: RoomOut,
    pub token: String,
}

/// A user as others see them (no email, no password): `{_id, name, createdAt}`.
#[derive(Serialize, ToSchema)]
pub struct MemberOut {
    #[serde(rename = "_id")]
    pub id: String,
    pub name: String,
    #[serde(rename = "createdAt")]
    pub created_at: String,
}

impl MemberOut {
    pub fn of(u: &users::Model) -> MemberOut {
        MemberOut {
            id: id(u.id),
            name: u.name.clone(),
            created_at: timestamp(u.created_at),
        }
    }
}

/// The caller's own user (`userData` of sign-up and login, `profile` of
/// `getChat`). The original's login page reads `Id`, `name`, `email`,
/// `phoneNumber` and `address` (and stores `Id` as the `userId` of its frames);
/// `_id` stays for clients written against the document. chatwire keeps no
/// phone number or address: they are empty strings (strings, as the original's,
/// so the page stores no "undefined").
#[derive(Serialize, ToSchema)]
pub struct UserData {
    #[serde(rename = "_id")]
    pub underscore_id: String,
    #[serde(rename = "Id")]
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    #[serde(rename = "phoneNumber")]
    pub phone_number: String,
    pub address: String,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
}

impl UserData {
    pub fn of(u: &users::Model) -> UserData {
        UserData {
            underscore_id: id(u.id),
            id: id(u.id),
            name: u.name.clone(),
            email: u.email.clone(),
            phone_number: String::new(),
            address: String::new(),
            created_at: timestamp(u.created_at),
            updated_at: timestamp(u.updated_at),
        }
    }
}

/// Sign-up's and login's `data`.
#[derive(Serialize, ToSchema)]
pub struct SignedIn {
    #[serde(rename = "userData")]
    pub user_data: UserData,
    #[serde(rename = "accessToken")]
    pub access_token: String,
}

/// One room in `getChat`'s `chatData`.
#[derive(Serialize, ToSchema)]
pub struct ChatRef {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "roomName")]
    pub room_name: Option<String>,
}

/// `getChat`'s one entry: the caller and their rooms.
#[derive(Serialize, ToSchema)]
pub struct ChatList {
    #[serde(rename = "_id")]
    pub id: String,
    pub profile: UserData,
    #[serde(rename = "chatData")]
    pub chat_data: Vec<ChatRef>,
}

/// `ChatQuery` GET's entry: the room, its users, and (members only) its history.
#[derive(Serialize, ToSchema)]
pub struct RoomUsers {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "roomName")]
    pub room_name: Option<String>,
    #[serde(rename = "AdminId")]
    pub admin_id: Option<String>,
    #[serde(rename = "ChatUsers")]
    pub chat_users: Vec<MemberOut>,
    #[serde(rename = "UserCount")]
    pub user_count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<HistoryEntry>>,
}

/// A stored message in the frame's shape, with its times (room history).
#[derive(Serialize, ToSchema)]
pub struct HistoryEntry {
    #[serde(rename = "MessageId")]
    pub message_id: String,
    #[serde(rename = "roomName")]
    pub room_name: String,
    pub content: String,
    #[serde(rename = "typeOfMessage")]
    pub type_of_message: &'static str,
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
    pub edited: bool,
}

impl HistoryEntry {
    pub fn of(m: &MessageOut) -> HistoryEntry {
        HistoryEntry {
            message_id: m.client_ref.clone().unwrap_or_else(|| id(m.id)),
            room_name: m.conversation.name.clone().unwrap_or_default(),
            content: m.content.clone(),
            type_of_message: FrameType::Send.as_str(),
            user_id: id(m.sender_id),
            created_at: timestamp(m.created_at),
            updated_at: timestamp(m.updated_at),
            edited: m.updated_at > m.created_at,
        }
    }
}

// ---- REST in: every field optional, so a missing one gets this profile's answer.

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateChatBody {
    pub room_name: Option<String>,
}

/// Sign-up (`/signup`, `/register`). The original's form also sends
/// `phoneNumber, address, role, age, collegeID`: accepted, not kept (unknown
/// fields are ignored). The other spellings of the name are fields of their own,
/// not serde aliases: with an alias, a body carrying two spellings is refused as
/// a "duplicate field". The first one present wins.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RegisterBody {
    pub name: Option<String>,
    pub username: Option<String>,
    #[serde(rename = "userName")]
    pub user_name: Option<String>,
    #[serde(rename = "fullName")]
    pub full_name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
}

/// Login. The original's page also sends `role` (Student, College or
/// Examiner): chatwire's accounts have no such roles, so it is not used.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct LoginBody {
    pub email: Option<String>,
    pub password: Option<String>,
}

// ---- WebSocket frames.

/// What a frame asks for (`typeOfMessage`).
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

    pub fn parse(s: &str) -> Option<FrameType> {
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

/// A frame that carries content (SEND_MESSAGE, MODIFI_MESSAGE), checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Post {
    pub message_id: String,
    pub room_name: String,
    pub content: String,
    /// The user the client says it is (checked against the connection's).
    pub user_id: String,
}

/// A frame that names a message or a room only (DELETE_MESSAGE, LEAVE_ROOM);
/// its `content` is not used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub message_id: String,
    pub room_name: String,
    pub user_id: String,
}

/// The frame a room's other connections get: the sender's frame, with the room's
/// stored name and the sender's id.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct RelayFrame<'a> {
    #[serde(rename = "MessageId")]
    pub message_id: String,
    #[serde(rename = "roomName")]
    pub room_name: &'a str,
    pub content: &'a str,
    #[serde(rename = "typeOfMessage")]
    pub type_of_message: &'static str,
    #[serde(rename = "userId")]
    pub user_id: String,
}

/// The answer to a SEND_MESSAGE over the sender's message budget (chatwire's
/// own; the original had no limit): the refused frame's `MessageId`, `roomName`
/// and `userId`, `typeOfMessage: "RATE_LIMITED"`, the reason as `content`, and
/// `retryAfter` in seconds. Nothing was stored or relayed; the connection stays
/// open (a refusal that closes would cost the client its room feed).
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct ThrottledFrame<'a> {
    #[serde(rename = "MessageId")]
    pub message_id: &'a str,
    #[serde(rename = "roomName")]
    pub room_name: &'a str,
    pub content: String,
    #[serde(rename = "typeOfMessage")]
    pub type_of_message: &'static str,
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "retryAfter")]
    pub retry_after: u64,
}

impl<'a> ThrottledFrame<'a> {
    pub const TYPE: &'static str = "RATE_LIMITED";

    pub fn new(post: &'a Post, user: i64, retry_after: u64) -> ThrottledFrame<'a> {
        ThrottledFrame {
            message_id: &post.message_id,
            room_name: &post.room_name,
            content: format!("too many messages, retry in {retry_after} s"),
            type_of_message: Self::TYPE,
            user_id: id(user),
            retry_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_shapes_keep_the_originals_names() {
        let relay = RelayFrame {
            message_id: "m1".into(),
            room_name: "R",
            content: "hi",
            type_of_message: FrameType::Modify.as_str(),
            user_id: id(4),
        };
        assert_eq!(
            serde_json::to_value(&relay).unwrap(),
            json!({"MessageId": "m1", "roomName": "R", "content": "hi",
                   "typeOfMessage": "MODIFI_MESSAGE", "userId": "4"})
        );
        let post = Post {
            message_id: "m2".into(),
            room_name: "R".into(),
            content: "hi".into(),
            user_id: "4".into(),
        };
        assert_eq!(
            serde_json::to_value(ThrottledFrame::new(&post, 4, 9)).unwrap(),
            json!({"MessageId": "m2", "roomName": "R", "content": "too many messages, retry in 9 s",
                   "typeOfMessage": "RATE_LIMITED", "userId": "4", "retryAfter": 9})
        );
        assert_eq!(
            FrameType::parse("RATE_LIMITED"),
            None,
            "an answer, never a request"
        );
        assert_eq!(FrameType::parse("LEAVE_ROOM"), Some(FrameType::Leave));
        assert_eq!(FrameType::parse("leave_room"), None);
    }

    #[test]
    fn every_spelling_of_the_name_may_come_together() {
        let b: RegisterBody = serde_json::from_value(json!({
            "name": "A", "username": "b", "userName": "c", "fullName": "d",
            "email": "e@x", "password": "p", "phoneNumber": "1", "age": null,
            "collegeID": "", "role": "Student", "address": "here"
        }))
        .unwrap();
        assert_eq!(
            (b.name.as_deref(), b.username.as_deref()),
            (Some("A"), Some("b"))
        );
        assert_eq!(
            (b.user_name.as_deref(), b.full_name.as_deref()),
            (Some("c"), Some("d"))
        );
    }

    #[test]
    fn errors_are_envelopes() {
        let r = fail(StatusCode::NOT_FOUND, "nothing here");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}
