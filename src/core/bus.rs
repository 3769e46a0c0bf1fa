//! The bus: the one delivery path. Core services publish a domain [`Event`] after
//! the change is committed; every profile's realtime adapter subscribes and renders
//! the events for its own local connections, in its own wire shapes.
//!
//! In one process the bus is a tokio broadcast channel. An event names its audience
//! explicitly (users, or the live subscribers of a conversation) because membership
//! may change right after the event: the audience is what it was at commit time.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use super::model::CallEvent;
pub use super::model::{Audience, ConnId, ConvRef, MessageOut};

/// A published event: what happened, to whom, and which connection caused it.
#[derive(Clone, Debug)]
pub struct Event {
    pub audience: Audience,
    /// The connection whose request caused this event, if any.
    pub origin: Option<ConnId>,
    pub kind: EventKind,
}

/// What happened. Variants carry ids and names, never wire shapes.
#[derive(Clone, Debug)]
pub enum EventKind {
    MessageCreated(MessageOut),
    /// `reader` has read `conversation` up to `seq` (the message `message_id`, when
    /// the client named one).
    ReadUpTo {
        conversation: ConvRef,
        reader_id: i64,
        seq: i64,
        message_id: Option<i64>,
        sender_id: Option<i64>,
    },
    /// A conversation was created by `creator`; `members` includes the creator.
    ConversationCreated {
        conversation: ConvRef,
        creator_id: i64,
        creator_name: String,
        members: Vec<i64>,
    },
    /// `user` was added to a conversation by `by`.
    MemberAdded {
        conversation: ConvRef,
        user_id: i64,
        by: i64,
    },
    /// `user` left or was removed (`by` is the admin who removed them, or None).
    MemberRemoved {
        conversation: ConvRef,
        user_id: i64,
        user_name: String,
        by: Option<i64>,
    },
    /// The admin right moved from `from` to `to`.
    AdminChanged {
        conversation: ConvRef,
        from: i64,
        to: i64,
    },
    /// The conversation was deleted by `by`.
    ConversationDeleted {
        conversation: ConvRef,
        by: i64,
    },
    /// `user` started or stopped typing, to a user or in a conversation.
    Typing {
        conversation: Option<ConvRef>,
        user_id: i64,
        user_name: String,
        typing: bool,
    },
    /// A user's first connection opened or last one closed.
    Presence {
        user_id: i64,
        online: bool,
        at: DateTime<Utc>,
    },
    /// A call changed state (see `core::calls`): the call after the change.
    Call(CallEvent),
    /// `user` entered (`joined`) or left a room's live feed (orgchat `joinRoom` /
    /// `leaveRoom`); sent to the room.
    RoomPresence {
        conversation: ConvRef,
        user_id: i64,
        user_name: String,
        joined: bool,
    },
    /// `by` invited `invitees` to a room, new or existing; sent to the invitees.
    RoomInvitation {
        conversation: ConvRef,
        by: i64,
        invitees: Vec<i64>,
    },
    /// `user` reacted to a message with `reaction` (an emoji or short text).
    Reaction {
        conversation: ConvRef,
        message_id: i64,
        user_id: i64,
        reaction: String,
    },
    /// A message was deleted by `by`.
    MessageDeleted {
        conversation: ConvRef,
        message_id: i64,
        by: i64,
    },
    /// A message's content was changed by its author (the message after the edit).
    MessageEdited(MessageOut),
}

/// The publishing side, cheap to clone.
#[derive(Clone)]
pub struct Bus {
    tx: broadcast::Sender<Arc<Event>>,
}

impl Bus {
    /// A bus whose subscribers may fall `capacity` events behind before they lose
    /// events (a lag is logged and counted, never silent).
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity);
        Bus { tx }
    }

    /// Publishes an event to every subscriber. Call only after the change committed.
    pub fn publish(&self, audience: Audience, origin: Option<ConnId>, kind: EventKind) {
        // An error only means there is no subscriber (no realtime profile enabled).
        let _ = self.tx.send(Arc::new(Event {
            audience,
            origin,
            kind,
        }));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }
}

/// Runs `render` for every event until the bus closes or `stop` fires. Lagging is
/// reported, not fatal: the connections can re-fetch from the database.
pub async fn consume<F, Fut>(
    profile: &'static str,
    mut rx: broadcast::Receiver<Arc<Event>>,
    mut render: F,
) where
    F: FnMut(Arc<Event>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    loop {
        match rx.recv().await {
            Ok(ev) => render(ev).await,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                metrics::counter!("chatwire_bus_lagged_total", "profile" => profile).increment(n);
                tracing::error!(profile, lost = n, "bus subscriber lagged; events dropped");
            }
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
}
