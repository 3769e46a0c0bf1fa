//! The types the bus carries and every domain shares: who an event is for, the
//! conversation it is about (with its [`Kind`]), a persisted message, and what a
//! call is. A leaf: it imports nothing from the domains, so the bus and every
//! domain can depend on it without depending on each other.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::{calls, conversations};
use serde::{Deserialize, Serialize};

use crate::core::{Error, Result};

/// A connection's id as its transport knows it (Socket.IO: the engine.io session id;
/// raw WebSocket: the registry's id). Used to skip the connection that caused an
/// event when its profile asks for no echo.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConnId(pub String);

/// Who should receive an event.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Audience {
    /// Every connection of each of these users, on every profile (shared: a
    /// group's member list is not copied per message).
    Users(Arc<[i64]>),
    /// Every connection that joined the conversation's live room (orgchat,
    /// chatsphere and testcore rooms are joined per connection).
    Room(i64),
}

/// The kind of a conversation, stored as text in `conversations.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// A user's notes to themself (expresschat's self chat).
    SelfChat,
    /// The one conversation of a pair of users.
    Direct,
    /// A group with an admin (expresschat).
    Group,
    /// A room: of an organization (orgchat) or of the shared space (chatsphere).
    Room,
    /// A testcore room, named uniquely and case-insensitively.
    NamedRoom,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SelfChat => "self",
            Kind::Direct => "direct",
            Kind::Group => "group",
            Kind::Room => "room",
            Kind::NamedRoom => "tc_room",
        }
    }

    /// The kind stored as `s`. An unknown kind is a corrupt row, never a room.
    pub fn parse(s: &str) -> Result<Kind> {
        match s {
            "self" => Ok(Kind::SelfChat),
            "direct" => Ok(Kind::Direct),
            "group" => Ok(Kind::Group),
            "room" => Ok(Kind::Room),
            "tc_room" => Ok(Kind::NamedRoom),
            other => {
                tracing::error!(kind = other, "unknown conversation kind in the database");
                Err(Error::Internal)
            }
        }
    }
}

/// The conversation an event is about, with what renderers commonly need.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConvRef {
    pub id: i64,
    pub kind: Kind,
    pub name: Option<String>,
    pub organization_id: Option<i64>,
}

impl ConvRef {
    /// The reference to a stored conversation (an unknown kind is an error).
    pub fn of(c: &conversations::Model) -> Result<ConvRef> {
        Ok(ConvRef {
            id: c.id,
            kind: Kind::parse(&c.kind)?,
            name: c.name.clone(),
            organization_id: c.organization_id,
        })
    }
}

/// A persisted message as the bus carries it (content already decrypted).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MessageOut {
    pub id: i64,
    pub conversation: ConvRef,
    pub seq: i64,
    pub sender_id: i64,
    pub sender_name: String,
    pub content: String,
    pub kind: String,
    pub is_encrypted: bool,
    pub client_ref: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Voice (camera off) or video.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallType {
    Voice,
    Video,
}

impl CallType {
    pub fn as_str(self) -> &'static str {
        match self {
            CallType::Voice => "voice",
            CallType::Video => "video",
        }
    }

    pub fn parse(s: &str) -> Option<CallType> {
        match s {
            "voice" => Some(CallType::Voice),
            "video" => Some(CallType::Video),
            _ => None,
        }
    }
}

/// Where a call is in its life; stored as text in `calls.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Ringing,
    Accepted,
    Rejected,
    Ended,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ringing => "ringing",
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
            Status::Ended => "ended",
            Status::Failed => "failed",
        }
    }
}

/// Why a call ended; stored as text in `calls.end_reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndReason {
    UserEnded,
    Rejected,
    Timeout,
    NetworkError,
    UserUnavailable,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::UserEnded => "user_ended",
            EndReason::Rejected => "rejected",
            EndReason::Timeout => "timeout",
            EndReason::NetworkError => "network_error",
            EndReason::UserUnavailable => "user_unavailable",
        }
    }
}

/// A call as the bus and the profiles see it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CallInfo {
    pub id: i64,
    /// `call_{handle}`: the Jitsi room.
    pub room_name: String,
    pub caller_id: i64,
    pub caller_name: String,
    pub callee_id: i64,
    pub callee_name: String,
    pub kind: CallType,
    pub status: String,
    pub end_reason: Option<String>,
    pub ended_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_secs: Option<i64>,
}

impl CallInfo {
    /// The handle clients use to name the call (`{id}_{secret}`).
    pub fn handle(&self) -> &str {
        self.room_name
            .strip_prefix("call_")
            .unwrap_or(&self.room_name)
    }

    pub fn is_party(&self, user: i64) -> bool {
        user == self.caller_id || user == self.callee_id
    }

    pub(crate) fn from_row(row: calls::Model, caller_name: String, callee_name: String) -> Self {
        CallInfo {
            id: row.id,
            room_name: row.room_name,
            caller_id: row.caller_id,
            caller_name,
            callee_id: row.callee_id,
            callee_name,
            kind: CallType::parse(&row.call_type).unwrap_or(CallType::Voice),
            status: row.status,
            end_reason: row.end_reason,
            ended_by: row.ended_by,
            created_at: row.created_at,
            answered_at: row.answered_at,
            ended_at: row.ended_at,
            duration_secs: row.duration_secs,
        }
    }
}

/// What changed, published as `EventKind::Call` to both parties.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum CallChange {
    Ringing,
    Accepted {
        by: i64,
    },
    Rejected {
        by: i64,
    },
    /// `by` is None for a timeout.
    Ended {
        by: Option<i64>,
        reason: EndReason,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CallEvent {
    pub call: CallInfo,
    pub change: CallChange,
}
