//! Presence: live connection counts per user across every profile of this process.
//! The first connection of a user announces `online`, the last one closing
//! announces `offline`, to the users who share a conversation with them.
//!
//! Announcing costs a look-up of every co-member (thousands for a big group) and a
//! delivery to each, on every first connect and last disconnect. Only profiles
//! that show presence (calls) ask for it; without them nothing is announced.

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;
use dashmap::DashMap;
use entity::memberships;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::bus::{Audience, EventKind};
use super::{Core, Result};

#[derive(Default)]
pub struct Presence {
    /// user id -> live connections. A DashMap shard lock is held only inside each
    /// call, never across an await.
    counts: DashMap<i64, usize>,
    /// Set by the profiles that render presence events.
    wanted: AtomicBool,
}

impl Presence {
    /// A profile that shows presence calls this when it starts.
    pub fn want_announcements(&self) {
        self.wanted.store(true, Ordering::Relaxed);
    }

    pub fn is_online(&self, user: i64) -> bool {
        self.counts.get(&user).is_some_and(|c| *c > 0)
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
    if core.presence.up(user) {
        announce(core, user, true).await?;
    }
    Ok(())
}

/// A connection of `user` closed.
pub async fn disconnected(core: &Core, user: i64) -> Result<()> {
    if core.presence.down(user) {
        announce(core, user, false).await?;
    }
    Ok(())
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
        assert!(p.is_online(1));
        assert!(p.down(1));
        assert!(!p.is_online(1));
        assert!(!p.down(1), "a stray close is not a second 'last'");
    }
}
