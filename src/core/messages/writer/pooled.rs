//! The writer's transaction through sea-orm (PostgreSQL, SQLite in memory): three
//! statements per batch whatever its size, since each statement is a round trip
//! to the database (or a hop to sqlx's SQLite worker thread).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{conversations, memberships, messages};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, Set,
    TransactionTrait,
    sea_query::{CaseStatement, Expr, ExprTrait},
};

use super::{ConvRow, Draft, Intake, Placed, Row, by_conversation, prepare};
use crate::core::Result;
use crate::core::bus::{Bus, MessageOut};

pub(super) async fn run(db: DatabaseConnection, bus: Bus, mut intake: Intake) {
    while intake.next_batch().await {
        let outcome = commit(&db, &intake.drafts()).await;
        intake.settle(&bus, outcome);
    }
}

/// One transaction for the batch. The outer error fails the whole batch (nothing
/// was committed); an inner one concerns one message (its conversation is gone).
async fn commit(
    db: &DatabaseConnection,
    drafts: &[&Draft],
) -> Result<Vec<Result<MessageOut>>, sea_orm::DbErr> {
    let now = Utc::now();
    let txn = db.begin().await?;
    // Sequence numbers first: the write takes SQLite's lock at once.
    let placed = bump_sequences(&txn, drafts, now).await?;
    let mut batch = prepare(drafts, &placed, now);
    let ids = insert_messages(&txn, std::mem::take(&mut batch.rows), now).await?;
    advance_read_pointers(&txn, &batch.read_upto).await?;
    txn.commit().await?;
    for out in batch.outcomes.iter_mut().flatten() {
        out.id = ids
            .get(&(out.conversation.id, out.seq))
            .copied()
            .unwrap_or_default();
    }
    Ok(batch.outcomes)
}

/// Moves each conversation's `last_seq` on by its number of messages in the batch,
/// in one statement, and hands out the numbers in between.
async fn bump_sequences(
    txn: &DatabaseTransaction,
    drafts: &[&Draft],
    now: DateTime<Utc>,
) -> Result<Placed, sea_orm::DbErr> {
    let by_conv = by_conversation(drafts);
    let mut bump = CaseStatement::new();
    for (&conv, idx) in &by_conv {
        bump = bump.case(
            conversations::Column::Id.eq(conv),
            Expr::col(conversations::Column::LastSeq).add(idx.len() as i64),
        );
    }
    let bumped = conversations::Entity::update_many()
        .col_expr(
            conversations::Column::LastSeq,
            bump.finally(Expr::col(conversations::Column::LastSeq))
                .into(),
        )
        .col_expr(conversations::Column::LastMessageAt, Expr::value(now))
        .filter(conversations::Column::Id.is_in(by_conv.keys().copied()))
        .exec_with_returning(txn)
        .await?;
    let mut placed = Placed::new(drafts.len());
    for c in bumped {
        // A conversation deleted meanwhile is not among them.
        let Some(idx) = by_conv.get(&c.id) else {
            continue;
        };
        let row = ConvRow {
            id: c.id,
            kind: c.kind,
            name: c.name,
            organization_id: c.organization_id,
            last_seq: c.last_seq,
        };
        placed.place(idx, row);
    }
    Ok(placed)
}

/// One multi-row insert; the new ids by (conversation, seq), since the database
/// does not promise RETURNING order.
async fn insert_messages(
    txn: &DatabaseTransaction,
    rows: Vec<Row>,
    now: DateTime<Utc>,
) -> Result<HashMap<(i64, i64), i64>, sea_orm::DbErr> {
    let mut ids = HashMap::with_capacity(rows.len());
    if rows.is_empty() {
        return Ok(ids);
    }
    let rows = rows.into_iter().map(|r| messages::ActiveModel {
        conversation_id: Set(r.conversation_id),
        seq: Set(r.seq),
        sender_id: Set(r.sender_id),
        content: Set(r.content),
        kind: Set(r.kind),
        is_encrypted: Set(r.is_encrypted),
        client_ref: Set(r.client_ref),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    });
    for m in messages::Entity::insert_many(rows)
        .exec_with_returning(txn)
        .await?
    {
        ids.insert((m.conversation_id, m.seq), m.id);
    }
    Ok(ids)
}

/// One statement moves every sender's read pointer to their newest message.
async fn advance_read_pointers(
    txn: &DatabaseTransaction,
    read_upto: &HashMap<(i64, i64), i64>,
) -> Result<(), sea_orm::DbErr> {
    if read_upto.is_empty() {
        return Ok(());
    }
    let mut set = CaseStatement::new();
    let mut rows = Condition::any();
    for (&(conv, user), &seq) in read_upto {
        let row = Condition::all()
            .add(memberships::Column::ConversationId.eq(conv))
            .add(memberships::Column::UserId.eq(user));
        set = set.case(row.clone(), Expr::value(seq));
        rows = rows.add(row);
    }
    memberships::Entity::update_many()
        .col_expr(
            memberships::Column::ReadSeq,
            set.finally(Expr::col(memberships::Column::ReadSeq)).into(),
        )
        .filter(rows)
        .exec(txn)
        .await?;
    Ok(())
}
