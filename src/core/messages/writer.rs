//! Group commit for new messages.
//!
//! Every new message goes through one writer task. It takes all messages waiting
//! (up to [`MAX_BATCH`]) and commits them in one transaction of three statements
//! whatever the batch's size: one `UPDATE` bumps the sequence of every conversation
//! concerned, one multi-row `INSERT` stores the messages, one `UPDATE` moves the
//! senders' read pointers. It then publishes them on the bus in commit order and
//! answers each sender. A lone message waits for nothing: batches form only while
//! a commit is in flight.
//!
//! Why: on SQLite each statement is a hop to the connection's worker thread and
//! concurrent write transactions wait on the database lock with sleeps; on
//! PostgreSQL each commit is a round trip and a WAL flush. One transaction per
//! message made both the bottleneck (BENCHMARKS.md, persisted direct messages).
//!
//! Rules kept: persist, then deliver (publishing follows the commit); order is
//! decided once (sequence numbers are assigned inside the transaction, in arrival
//! order within a conversation); nothing confirmed is lost (a sender hears of its
//! message only after the commit). Conversations are bumped in ascending id order,
//! so two processes committing batches on one PostgreSQL cannot deadlock.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use entity::{conversations, memberships, messages};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, Set, TransactionTrait,
    sea_query::{CaseStatement, Expr, ExprTrait},
};
use tokio::sync::{mpsc, oneshot};

use crate::core::bus::{Audience, Bus, ConnId, EventKind, MessageOut};
use crate::core::crypto::{MessageCipher, message_aad};
use crate::core::model::ConvRef;
use crate::core::{Error, Result};

/// Most messages committed in one transaction (ten bound values each, far below
/// SQLite's limit of 32,766 per statement).
const MAX_BATCH: usize = 256;

/// A message checked and addressed, ready to be committed.
pub struct Draft {
    pub conversation_id: i64,
    pub sender_id: i64,
    pub sender_name: String,
    pub content: String,
    pub kind: String,
    pub client_ref: Option<String>,
    /// Store the content sealed with this cipher (`is_encrypted`).
    pub seal: Option<MessageCipher>,
    pub audience: Audience,
    pub origin: Option<ConnId>,
}

struct Job {
    draft: Draft,
    reply: oneshot::Sender<Result<MessageOut>>,
}

/// The sending side; the task ends when the last one is dropped.
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    pub fn spawn(db: DatabaseConnection, bus: Bus) -> Writer {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(db, bus, rx));
        Writer { tx }
    }

    /// Commits the message, publishes it, and returns it as published.
    pub async fn write(&self, draft: Draft) -> Result<MessageOut> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { draft, reply })
            .await
            .map_err(|_| Error::Internal)?;
        answer.await.map_err(|_| Error::Internal)?
    }
}

async fn run(db: DatabaseConnection, bus: Bus, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        metrics::histogram!("chatwire_message_batch_size").record(jobs.len() as f64);
        let drafts: Vec<&Draft> = jobs.iter().map(|j| &j.draft).collect();
        match commit(&db, &drafts).await {
            Ok(outcomes) => {
                for (job, outcome) in jobs.drain(..).zip(outcomes) {
                    if let Ok(out) = &outcome {
                        metrics::counter!("chatwire_messages_total").increment(1);
                        bus.publish(
                            job.draft.audience,
                            job.draft.origin,
                            EventKind::MessageCreated(out.clone()),
                        );
                    }
                    let _ = job.reply.send(outcome);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, messages = jobs.len(), "message batch not committed");
                for job in jobs.drain(..) {
                    let _ = job.reply.send(Err(Error::Internal));
                }
            }
        }
    }
}

/// One transaction for the batch. The outer error fails the whole batch (nothing
/// was committed); an inner one concerns one message (its conversation is gone).
async fn commit(
    db: &DatabaseConnection,
    drafts: &[&Draft],
) -> Result<Vec<Result<MessageOut>>, sea_orm::DbErr> {
    let now = Utc::now();
    let mut by_conv: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (i, d) in drafts.iter().enumerate() {
        by_conv.entry(d.conversation_id).or_default().push(i);
    }
    let txn = db.begin().await?;
    // Sequence numbers first: the write takes SQLite's lock at once. Each
    // conversation's `last_seq` grows by its number of messages in the batch.
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
        .exec_with_returning(&txn)
        .await?;
    let mut placed: Vec<Option<(i64, usize)>> = vec![None; drafts.len()];
    let mut convs: Vec<conversations::Model> = Vec::with_capacity(bumped.len());
    for c in bumped {
        // A conversation deleted meanwhile is not among them.
        let Some(idx) = by_conv.get(&c.id) else {
            continue;
        };
        let first = c.last_seq - idx.len() as i64 + 1;
        for (k, &i) in idx.iter().enumerate() {
            placed[i] = Some((first + k as i64, convs.len()));
        }
        convs.push(c);
    }
    let mut outcomes: Vec<Result<MessageOut>> = Vec::with_capacity(drafts.len());
    let mut rows = Vec::with_capacity(drafts.len());
    let mut read_upto: HashMap<(i64, i64), i64> = HashMap::new();
    for (d, place) in drafts.iter().zip(&placed) {
        let Some((seq, c)) = *place else {
            outcomes.push(Err(Error::NotFound("conversation")));
            continue;
        };
        let conversation = match ConvRef::of(&convs[c]) {
            Ok(r) => r,
            Err(e) => {
                outcomes.push(Err(e));
                continue;
            }
        };
        let stored = match &d.seal {
            Some(cipher) => match cipher.seal(&d.content, &message_aad(d.conversation_id, seq)) {
                Ok(s) => s,
                Err(e) => {
                    outcomes.push(Err(e));
                    continue;
                }
            },
            None => d.content.clone(),
        };
        rows.push(messages::ActiveModel {
            conversation_id: Set(d.conversation_id),
            seq: Set(seq),
            sender_id: Set(d.sender_id),
            content: Set(stored),
            kind: Set(d.kind.clone()),
            is_encrypted: Set(d.seal.is_some()),
            client_ref: Set(d.client_ref.clone()),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
            ..Default::default()
        });
        // The sender has read their own message.
        let r = read_upto
            .entry((d.conversation_id, d.sender_id))
            .or_default();
        *r = std::cmp::max(*r, seq);
        // Filled in with the row's id below.
        outcomes.push(Ok(MessageOut {
            id: 0,
            conversation,
            seq,
            sender_id: d.sender_id,
            sender_name: d.sender_name.clone(),
            content: d.content.clone(),
            kind: d.kind.clone(),
            is_encrypted: d.seal.is_some(),
            client_ref: d.client_ref.clone(),
            created_at: now,
            updated_at: now,
        }));
    }
    let mut ids: HashMap<(i64, i64), i64> = HashMap::with_capacity(rows.len());
    if !rows.is_empty() {
        // The database does not promise RETURNING order: match rows by (conversation, seq).
        for m in messages::Entity::insert_many(rows)
            .exec_with_returning(&txn)
            .await?
        {
            ids.insert((m.conversation_id, m.seq), m.id);
        }
    }
    if !read_upto.is_empty() {
        let mut set = CaseStatement::new();
        let mut rows = Condition::any();
        for (&(conv, user), &seq) in &read_upto {
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
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    for out in outcomes.iter_mut().flatten() {
        out.id = ids
            .get(&(out.conversation.id, out.seq))
            .copied()
            .unwrap_or_default();
    }
    Ok(outcomes)
}
