//! The bus: the one delivery path. Core services publish a domain [`Event`] after
//! the change is committed; every profile's realtime adapter subscribes and renders
//! the events for its own local connections, in its own wire shapes.
//!
//! In one process the bus is a tokio broadcast channel. In cluster mode
//! (`core::cluster`) every event also goes to Redis, and each node's pump merges
//! the other nodes' events into its local channel. An event names its audience
//! explicitly (users, or the live subscribers of a conversation) because membership
//! may change right after the event: the audience is what it was at commit time.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc};

use super::model::CallEvent;
pub use super::model::{Audience, ConnId, ConvRef, MessageOut};

/// A published event: what happened, to whom, and which connection caused it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Event {
    pub audience: Audience,
    /// The connection whose request caused this event, if any.
    pub origin: Option<ConnId>,
    pub kind: EventKind,
}

/// What happened. Variants carry ids and names, never wire shapes.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
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
    /// Cluster mode: where events go instead of straight to `tx` (see
    /// `core::cluster`). None: one process, events go to `tx` at once.
    cluster: Option<Clustered>,
}

/// What a clustered bus hands its events and notices to.
#[derive(Clone)]
struct Clustered {
    /// The node's pump: local events, merged with remote ones and kept in each
    /// conversation's sequence order, go to the local subscribers from there.
    pump: mpsc::UnboundedSender<Arc<Event>>,
    /// Everything other nodes must hear of, in publishing order.
    out: mpsc::Sender<Wire>,
}

/// What a node tells the other nodes, in the order it happened.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum Wire {
    /// A domain event, for every node's local connections.
    Event(Arc<Event>),
    /// A conversation's memberships changed (committed): every node forgets what
    /// its member cache knows about it before the next event is rendered.
    MembersChanged(i64),
}

impl Bus {
    /// A bus whose subscribers may fall `capacity` events behind before they lose
    /// events (a lag is logged and counted, never silent).
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity);
        Bus { tx, cluster: None }
    }

    /// A cluster-mode bus: `publish` hands local events to `pump` (which feeds the
    /// local subscribers through [`Bus::deliver`]) and every event and notice to
    /// `out` (the Redis publisher).
    pub fn clustered(
        capacity: usize,
        pump: mpsc::UnboundedSender<Arc<Event>>,
        out: mpsc::Sender<Wire>,
    ) -> Self {
        let (tx, _) = broadcast::channel(capacity);
        Bus {
            tx,
            cluster: Some(Clustered { pump, out }),
        }
    }

    /// Publishes an event to every subscriber. Call only after the change committed.
    pub fn publish(&self, audience: Audience, origin: Option<ConnId>, kind: EventKind) {
        let ev = Arc::new(Event {
            audience,
            origin,
            kind,
        });
        match &self.cluster {
            // An error only means there is no subscriber (no realtime profile enabled).
            None => {
                let _ = self.tx.send(ev);
            }
            Some(c) => {
                c.tell(Wire::Event(ev.clone()));
                let _ = c.pump.send(ev);
            }
        }
    }

    /// Hands an event to this node's subscribers (the cluster pump's side).
    pub fn deliver(&self, ev: Arc<Event>) {
        let _ = self.tx.send(ev);
    }

    /// Tells the other nodes that `conv`'s memberships changed (after the commit;
    /// this node's own cache was already told). Nothing in one process.
    pub fn members_changed(&self, conv: i64) {
        if let Some(c) = &self.cluster {
            c.tell(Wire::MembersChanged(conv));
        }
    }

    /// Whether this bus rides Redis (cluster mode).
    pub fn is_clustered(&self) -> bool {
        self.cluster.is_some()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }
}

impl Clustered {
    fn tell(&self, w: Wire) {
        if self.out.try_send(w).is_err() {
            // Full: Redis is slow or away. Local delivery goes on; the other nodes
            // miss this one (their clients re-fetch history after a reconnect).
            metrics::counter!("chatwire_cluster_dropped_total").increment(1);
        }
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
