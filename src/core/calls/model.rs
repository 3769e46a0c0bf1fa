//! What a call is, as the bus and the profiles see it: its type, status, end
//! reason, the call itself and the changes published about it.

use chrono::{DateTime, Utc};
use entity::calls;

/// Voice (camera off) or video.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
#[derive(Clone, Debug)]
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

    pub(super) fn from_row(row: calls::Model, caller_name: String, callee_name: String) -> Self {
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
#[derive(Clone, Debug)]
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

#[derive(Clone, Debug)]
pub struct CallEvent {
    pub call: CallInfo,
    pub change: CallChange,
}
