//! History pages of one conversation, by sequence. Every profile's history call
//! reads here, with the same cursor rule (issue 14, defect 11): a page is bounded
//! by messages the client has seen, named by their **message ids** (what every
//! profile shows), and cut by those messages' per-conversation sequence numbers,
//! so paging follows the conversation's order and never skips or repeats a message.
//!
//! - no bound: the newest `limit` messages (what every original answered);
//! - `before`: the newest `limit` messages older than that one (paging back);
//! - `after`: the oldest `limit` messages newer than that one (catching up after
//!   a reconnect: ask again with the newest message of the page until a page
//!   comes back empty);
//! - both: the oldest `limit` messages between them.
//!
//! A bound must name a message of the conversation (a deleted one too: its row
//! keeps its place); anything else is refused, so a cursor cannot be used to
//! probe another conversation. Deleted messages are never in a page. Cost is
//! O(page): the (conversation, seq) index serves every query.

use entity::{conversations, messages};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::core::bus::MessageOut;
use crate::core::messages::plaintext;
use crate::core::model::ConvRef;
use crate::core::{Core, Error, Result};

/// Which messages of a conversation a page may hold: after and/or before the
/// messages of these ids. The default (no bound) is the newest page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Only messages newer than this one; the page is the oldest of them.
    pub after: Option<i64>,
    /// Only messages older than this one.
    pub before: Option<i64>,
}

impl Cursor {
    /// Whether the page is taken from the old end (an `after` bound).
    pub fn forward(&self) -> bool {
        self.after.is_some()
    }
}

/// How many messages a page holds: the profile's `default` when the client asked
/// for no number (its original answer, unchanged), else what it asked for, at
/// most `HISTORY_PAGE`. Zero is refused.
pub fn page_limit(core: &Core, asked: Option<u64>, default: u64) -> Result<u64> {
    match asked {
        None => Ok(default),
        Some(0) => Err(Error::invalid("limit must be a positive integer")),
        Some(n) => Ok(n.min(core.limits.history_page)),
    }
}

/// A page of a conversation's messages within `cursor`, at most `limit`, newest
/// first (each profile puts it in its own order).
pub async fn history(
    core: &Core,
    conv: &conversations::Model,
    cursor: Cursor,
    limit: u64,
) -> Result<Vec<MessageOut>> {
    let after = match cursor.after {
        Some(id) => Some(seq_of(core, conv, id, "after").await?),
        None => None,
    };
    let before = match cursor.before {
        Some(id) => Some(seq_of(core, conv, id, "before").await?),
        None => None,
    };
    let mut q = messages::Entity::find()
        .filter(messages::Column::ConversationId.eq(conv.id))
        .filter(messages::Column::DeletedAt.is_null());
    if let Some(a) = after {
        q = q.filter(messages::Column::Seq.gt(a));
    }
    if let Some(b) = before {
        q = q.filter(messages::Column::Seq.lt(b));
    }
    let mut rows = if after.is_some() {
        let mut rows = q
            .order_by_asc(messages::Column::Seq)
            .limit(limit)
            .all(&core.db)
            .await?;
        rows.reverse();
        rows
    } else {
        q.order_by_desc(messages::Column::Seq)
            .limit(limit)
            .all(&core.db)
            .await?
    };
    let senders: Vec<i64> = rows.iter().map(|m| m.sender_id).collect();
    let names = crate::core::identity::accounts::names(&core.db, &senders).await?;
    let cref = ConvRef::of(conv)?;
    Ok(rows
        .drain(..)
        .map(|m| MessageOut {
            id: m.id,
            conversation: cref.clone(),
            seq: m.seq,
            sender_id: m.sender_id,
            sender_name: names.get(&m.sender_id).cloned().unwrap_or_default(),
            content: plaintext(core, &m),
            kind: m.kind,
            is_encrypted: m.is_encrypted,
            client_ref: m.client_ref,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
        .collect())
}

/// The sequence number of message `id` in `conv`; `bound` (after, before) names
/// the cursor in the refusal. A message of another conversation is refused like
/// one that does not exist.
async fn seq_of(core: &Core, conv: &conversations::Model, id: i64, bound: &str) -> Result<i64> {
    messages::Entity::find_by_id(id)
        .select_only()
        .column(messages::Column::Seq)
        .filter(messages::Column::ConversationId.eq(conv.id))
        .into_tuple::<i64>()
        .one(&core.db)
        .await?
        .ok_or_else(|| Error::invalid(format!("{bound} is not a message of this conversation")))
}
