//! The one place that writes memberships (and deletes conversations, which drops
//! theirs). Each write tells the member cache once it is committed, so no caller
//! has to remember to: a write outside a transaction tells it at once, a write in
//! a [`Txn`] when the transaction commits. In cluster mode the bus carries the
//! notice to every other node, ahead of the event that announces the change.

use chrono::Utc;
use entity::{conversations, memberships};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};

use crate::core::{Core, Result};

/// A transaction that may write memberships; [`Txn::commit`] commits it and then
/// tells the member cache about every conversation it touched.
pub struct Txn<'c> {
    core: &'c Core,
    txn: DatabaseTransaction,
    touched: Vec<i64>,
}

impl<'c> Txn<'c> {
    pub async fn begin(core: &'c Core) -> Result<Txn<'c>> {
        Ok(Txn {
            core,
            txn: core.db.begin().await?,
            touched: Vec::new(),
        })
    }

    /// The transaction, for the other statements of the same change.
    pub fn db(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Adds `users` to `conv` as plain members.
    pub async fn add(&mut self, conv: i64, users: &[i64]) -> Result<()> {
        insert(&self.txn, conv, users).await?;
        self.touched.push(conv);
        Ok(())
    }

    pub async fn commit(self) -> Result<()> {
        self.txn.commit().await?;
        for conv in self.touched {
            changed(self.core, conv);
        }
        Ok(())
    }
}

/// Adds `users` to `conv` as plain members (each must not be one yet).
pub async fn add(core: &Core, conv: i64, users: &[i64]) -> Result<()> {
    insert(&core.db, conv, users).await?;
    changed(core, conv);
    Ok(())
}

/// Makes `user` a member of `conv`; already being one is fine (rooms that people
/// enter and re-enter use this).
pub async fn ensure(core: &Core, conv: i64, user: i64) -> Result<()> {
    if core.members.peek(conv).is_some_and(|m| m.contains(user)) {
        return Ok(());
    }
    let inserted = memberships::Entity::insert(row(conv, user, Utc::now()))
        .on_conflict_do_nothing()
        .exec_without_returning(&core.db)
        .await?;
    if matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0) {
        changed(core, conv);
    }
    Ok(())
}

/// Removes `user` from `conv`; whether they were a member.
pub async fn remove(core: &Core, conv: i64, user: i64) -> Result<bool> {
    let done = memberships::Entity::delete_many()
        .filter(memberships::Column::ConversationId.eq(conv))
        .filter(memberships::Column::UserId.eq(user))
        .exec(&core.db)
        .await?;
    changed(core, conv);
    Ok(done.rows_affected > 0)
}

/// Deletes a conversation with its memberships and messages; whether it existed.
pub async fn delete_conversation(core: &Core, conv: i64) -> Result<bool> {
    let done = conversations::Entity::delete_by_id(conv)
        .exec(&core.db)
        .await?;
    changed(core, conv);
    Ok(done.rows_affected > 0)
}

/// After a committed change of `conv`'s memberships: this node's member cache
/// forgets it, and (cluster mode) so does every other node's.
fn changed(core: &Core, conv: i64) {
    core.members.changed(conv);
    core.bus.members_changed(conv);
}

fn row(conv: i64, user: i64, now: chrono::DateTime<Utc>) -> memberships::ActiveModel {
    memberships::ActiveModel {
        conversation_id: Set(conv),
        user_id: Set(user),
        role: Set("member".into()),
        read_seq: Set(0),
        joined_at: Set(now),
    }
}

async fn insert<C: ConnectionTrait>(db: &C, conv: i64, users: &[i64]) -> Result<()> {
    // SQLite binds at most 32,766 variables per statement (five per row here), so
    // a 10,000-member group goes in chunks.
    const ROWS_PER_STATEMENT: usize = 1000;
    let now = Utc::now();
    for chunk in users.chunks(ROWS_PER_STATEMENT) {
        memberships::Entity::insert_many(chunk.iter().map(|&u| row(conv, u, now)))
            .exec(db)
            .await?;
    }
    Ok(())
}
