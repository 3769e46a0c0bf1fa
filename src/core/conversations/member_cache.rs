//! Who is in each conversation, kept in memory for the message hot path.
//!
//! Sending a message needs the sender's membership and the list of recipients.
//! Read from the database, that is two queries per message, one of them
//! O(members); a 1,000-member group then spends most of its time listing its
//! members. The cache answers both from memory.
//!
//! Staying right: every write to `memberships` (and every conversation delete)
//! calls [`MemberCache::changed`] *after it is committed*. A fill that read the
//! database before such a change can never be stored after it: fills and
//! changes share a generation counter, and a fill whose generation moved removes
//! what it stored. Conversations created inside a transaction are invisible until
//! the commit, so nothing can cache them half made.
//!
//! Per process. In cluster mode `conversations::membership` also tells the other
//! nodes (`Bus::members_changed`), whose pump calls `changed` before it delivers
//! the event that announces the change (`core::cluster`).

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use dashmap::DashMap;
use entity::{conversations, memberships};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::core::{Result, model::Kind};

/// At most this many conversations are cached; past it the cache starts over
/// (a miss costs two queries, nothing else).
const MAX_CONVERSATIONS: usize = 100_000;

/// A conversation's kind and members.
#[derive(Debug)]
pub struct Members {
    pub kind: Kind,
    /// In joining order: the order deliveries go out in.
    pub ids: Arc<[i64]>,
    sorted: Box<[i64]>,
}

impl Members {
    fn new(kind: Kind, ids: Vec<i64>) -> Self {
        let mut sorted = ids.clone().into_boxed_slice();
        sorted.sort_unstable();
        Members {
            kind,
            ids: ids.into(),
            sorted,
        }
    }

    pub fn contains(&self, user: i64) -> bool {
        self.sorted.binary_search(&user).is_ok()
    }
}

#[derive(Default)]
pub struct MemberCache {
    map: DashMap<i64, Arc<Members>>,
    generation: AtomicU64,
}

impl MemberCache {
    /// The conversation's kind and members, or None when it does not exist.
    pub async fn get(&self, db: &DatabaseConnection, conv: i64) -> Result<Option<Arc<Members>>> {
        if let Some(m) = self.map.get(&conv) {
            metrics::counter!("chatwire_member_cache_total", "result" => "hit").increment(1);
            return Ok(Some(m.clone()));
        }
        metrics::counter!("chatwire_member_cache_total", "result" => "miss").increment(1);
        let generation = self.generation.load(Ordering::SeqCst);
        let Some(kind) = conversations::Entity::find_by_id(conv)
            .select_only()
            .column(conversations::Column::Kind)
            .into_tuple::<String>()
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        let ids: Vec<i64> = memberships::Entity::find()
            .select_only()
            .column(memberships::Column::UserId)
            .filter(memberships::Column::ConversationId.eq(conv))
            .order_by_asc(memberships::Column::JoinedAt)
            .order_by_asc(memberships::Column::UserId)
            .into_tuple()
            .all(db)
            .await?;
        let members = Arc::new(Members::new(Kind::parse(&kind)?, ids));
        if self.map.len() >= MAX_CONVERSATIONS {
            self.map.clear();
        }
        self.map.insert(conv, members.clone());
        if self.generation.load(Ordering::SeqCst) != generation {
            // A change landed while we read: what we stored may predate it.
            self.map.remove(&conv);
        }
        Ok(Some(members))
    }

    /// What is cached about `conv`, without asking the database.
    pub fn peek(&self, conv: i64) -> Option<Arc<Members>> {
        self.map.get(&conv).map(|m| m.clone())
    }

    /// Moves on every change: a reader that saw the same value before and after
    /// reading memberships from the database read no change in between.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Forgets what is known about `conv`. Call after the change is committed.
    pub fn changed(&self, conv: i64) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.map.remove(&conv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_finds_members_in_any_order() {
        let m = Members::new(Kind::Group, vec![30, 10, 20]);
        assert!(m.contains(10) && m.contains(20) && m.contains(30));
        assert!(!m.contains(15));
        assert_eq!(&*m.ids, &[30, 10, 20], "joining order is kept");
    }
}
