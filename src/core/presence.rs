//! Presence: live connection counts per user across every profile of this process.
//! The first connection of a user announces `online`, the last one closing
//! announces `offline`, to the users who share a conversation with them.
//!
//! In cluster mode the counts that decide are every node's together, in Redis
//! (`core::cluster`): `online` for the first connection anywhere, `offline` after
//! the last one anywhere, and users whose only connections were on a node that
//! died are announced offline by another node once its heartbeat expired
//! ([`keep_cluster`]). While Redis is away this node's own counts decide.
//!
//! Announcing costs a look-up of every co-member (thousands for a big group) and a
//! delivery to each, on every first connect and last disconnect. Only profiles
//! that show presence (calls) ask for it; without them nothing is announced.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use chrono::Utc;
use dashmap::DashMap;
use entity::memberships;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::bus::{Audience, EventKind};
use super::cluster::Cluster;
use super::{Core, CoreRef, Result};

#[derive(Default)]
pub struct Presence {
    /// user id -> live connections. A DashMap shard lock is held only inside each
    /// call, never across an await.
    counts: DashMap<i64, usize>,
    /// Set by the profiles that render presence events.
    wanted: AtomicBool,
    /// Cluster mode: where every node's counts are.
    cluster: Option<Arc<Cluster>>,
}

impl Presence {
    /// Presence of one process, or (with `cluster`) of every node.
    pub fn new(cluster: Option<Arc<Cluster>>) -> Self {
        Presence {
            cluster,
            ..Default::default()
        }
    }

    /// A profile that shows presence calls this when it starts.
    pub fn want_announcements(&self) {
        self.wanted.store(true, Ordering::Relaxed);
    }

    /// Whether the user has a connection on this node, or (cluster mode) on any.
    pub async fn is_online(&self, user: i64) -> bool {
        let local = self.is_online_here(user);
        match &self.cluster {
            Some(c) if !local => match c.presence_count(user).await {
                Ok(n) => n > 0,
                Err(e) => {
                    redis_failed("presence_count", &e);
                    false
                }
            },
            _ => local,
        }
    }

    /// Whether the user has a connection on this node.
    pub fn is_online_here(&self, user: i64) -> bool {
        self.counts.get(&user).is_some_and(|c| *c > 0)
    }

    /// This node's live connections per user.
    fn snapshot(&self) -> Vec<(i64, usize)> {
        self.counts.iter().map(|e| (*e.key(), *e.value())).collect()
    }

    /// Counts a new connection; true when it is the user's first.
    fn up(&self, user: i64) -> bool {
        let mut c = self.counts.entry(user).or_insert(0);
        *c += 1;
        *c == 1
    }

    /// Counts a closed connection; true when it was the user's last.
    fn down(&self, user: i64) -> bool {
        let last = match self.counts.get_mut(&user) {
            Some(mut c) => {
                *c = c.saturating_sub(1);
                *c == 0
            }
            None => false,
        };
        if last {
            self.counts.remove_if(&user, |_, c| *c == 0);
        }
        last
    }
}

/// Users who share at least one conversation with `user` (excluding them).
pub async fn contacts(core: &Core, user: i64) -> Result<Vec<i64>> {
    let convs: Vec<i64> = memberships::Entity::find()
        .select_only()
        .column(memberships::Column::ConversationId)
        .filter(memberships::Column::UserId.eq(user))
        .into_tuple()
        .all(&core.db)
        .await?;
    if convs.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<i64> = memberships::Entity::find()
        .select_only()
        .column(memberships::Column::UserId)
        .filter(memberships::Column::ConversationId.is_in(convs))
        .filter(memberships::Column::UserId.ne(user))
        .distinct()
        .into_tuple()
        .all(&core.db)
        .await?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// A connection of `user` opened.
pub async fn connected(core: &Core, user: i64) -> Result<()> {
    let first_here = core.presence.up(user);
    let first = match &core.presence.cluster {
        None => first_here,
        Some(c) => match c.presence_up(user).await {
            Ok(n) => n == 1,
            Err(e) => {
                redis_failed("presence_up", &e);
                first_here
            }
        },
    };
    if first {
        announce(core, user, true).await?;
    }
    Ok(())
}

/// A connection of `user` closed.
pub async fn disconnected(core: &Core, user: i64) -> Result<()> {
    let last_here = core.presence.down(user);
    let last = match &core.presence.cluster {
        None => last_here,
        Some(c) => match c.presence_down(user).await {
            Ok(n) => n <= 0,
            Err(e) => {
                redis_failed("presence_down", &e);
                last_here
            }
        },
    };
    if last {
        announce(core, user, false).await?;
    }
    Ok(())
}

fn redis_failed(op: &'static str, e: &redis::RedisError) {
    metrics::counter!("chatwire_redis_errors_total", "op" => op).increment(1);
    tracing::debug!(op, error = %e, "Redis unavailable: presence decided by this node alone");
}

/// Cluster mode: beats this node's heart, announces offline the users of nodes
/// whose heart stopped (and who are on no other node), and writes this node's
/// counts to Redis again whenever the link to Redis is made again. Runs until
/// `stop` fires.
pub async fn keep_cluster(core: CoreRef, stop: tokio_util::sync::CancellationToken) {
    let Some(cluster) = core.presence.cluster.clone() else {
        return;
    };
    let mut synced_epoch = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut last_beat: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        // A new link to Redis (a restart loses everything) is synced at once.
        let epoch = cluster.epoch();
        let resync = epoch != synced_epoch && cluster.redis_up();
        if resync {
            match cluster.resync_presence(&core.presence.snapshot()).await {
                Ok(()) => synced_epoch = epoch,
                Err(e) => redis_failed("presence_resync", &e),
            }
        }
        if !resync && last_beat.is_some_and(|t| t.elapsed() < super::cluster::HEARTBEAT_EVERY) {
            continue;
        }
        last_beat = Some(tokio::time::Instant::now());
        let dead = match cluster.heartbeat().await {
            Ok(d) => d,
            Err(e) => {
                if cluster.redis_up() {
                    redis_failed("heartbeat", &e);
                }
                continue;
            }
        };
        for node in dead.iter().filter(|n| **n != cluster.node_id) {
            match cluster.sweep_node(node).await {
                Ok(gone) => {
                    tracing::warn!(node = %node, users = gone.len(), "node stopped beating: its connections are gone");
                    for user in gone {
                        if let Err(e) = announce(&core, user, false).await {
                            tracing::warn!(user, error = %e, "offline not announced");
                        }
                    }
                }
                Err(e) => redis_failed("sweep", &e),
            }
        }
    }
}

async fn announce(core: &Core, user: i64, online: bool) -> Result<()> {
    if !core.presence.wanted.load(Ordering::Relaxed) {
        return Ok(());
    }
    let audience = contacts(core, user).await?;
    core.bus.publish(
        Audience::Users(audience.into()),
        None,
        EventKind::Presence {
            user_id: user,
            online,
            at: Utc::now(),
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_and_last_connection_are_detected() {
        let p = Presence::default();
        assert!(p.up(1));
        assert!(!p.up(1));
        assert!(!p.down(1));
        assert!(p.is_online_here(1));
        assert!(p.down(1));
        assert!(!p.is_online_here(1));
        assert!(!p.down(1), "a stray close is not a second 'last'");
    }
}
