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

use chrono::{DateTime, Utc};
use entity::{conversations, memberships, messages};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, Set,
    TransactionTrait,
    sea_query::{CaseStatement, Expr, ExprTrait},
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

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

/// The sending side; the task ends when the last one is dropped, or at
/// [`Writer::close`].
pub struct Writer {
    tx: mpsc::Sender<Job>,
    /// Cancelled to stop taking messages (shutdown).
    stop: CancellationToken,
    /// Cancelled by the task once every message it took is committed and answered.
    finished: CancellationToken,
}

impl Writer {
    pub fn spawn(db: DatabaseConnection, bus: Bus) -> Writer {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        let (stop, finished) = (CancellationToken::new(), CancellationToken::new());
        let (task_stop, task_finished) = (stop.clone(), finished.clone());
        tokio::spawn(async move {
            run(db, bus, rx, task_stop).await;
            task_finished.cancel();
        });
        Writer { tx, stop, finished }
    }

    /// Shutdown: from now on a new message is refused (`Error::Internal`);
    /// the messages already queued are committed, published and answered in
    /// batches as usual. Resolves when the last of them is answered.
    pub async fn close(&self) {
        self.stop.cancel();
        self.finished.cancelled().await;
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

async fn run(
    db: DatabaseConnection,
    bus: Bus,
    mut rx: mpsc::Receiver<Job>,
    stop: CancellationToken,
) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    loop {
        let taken = tokio::select! {
            biased;
            // Closing refuses new sends; what is queued is still taken.
            _ = stop.cancelled(), if !rx.is_closed() => {
                rx.close();
                continue;
            }
            n = rx.recv_many(&mut jobs, MAX_BATCH) => n,
        };
        if taken == 0 {
            break;
        }
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
    let txn = db.begin().await?;
    // Sequence numbers first: the write takes SQLite's lock at once.
    let placed = bump_sequences(&txn, drafts, now).await?;
    let mut batch = prepare(drafts, &placed, now);
    let ids = insert_messages(&txn, std::mem::take(&mut batch.rows)).await?;
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

/// Where each draft goes: its sequence number and its conversation, or None when
/// the conversation is gone.
struct Placed {
    slots: Vec<Option<(i64, usize)>>,
    convs: Vec<conversations::Model>,
}

/// Moves each conversation's `last_seq` on by its number of messages in the batch,
/// in one statement, and hands out the numbers in between.
async fn bump_sequences(
    txn: &DatabaseTransaction,
    drafts: &[&Draft],
    now: DateTime<Utc>,
) -> Result<Placed, sea_orm::DbErr> {
    let mut by_conv: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (i, d) in drafts.iter().enumerate() {
        by_conv.entry(d.conversation_id).or_default().push(i);
    }
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
    let mut placed = Placed {
        slots: vec![None; drafts.len()],
        convs: Vec::with_capacity(bumped.len()),
    };
    for c in bumped {
        // A conversation deleted meanwhile is not among them.
        let Some(idx) = by_conv.get(&c.id) else {
            continue;
        };
        let first = c.last_seq - idx.len() as i64 + 1;
        for (k, &i) in idx.iter().enumerate() {
            placed.slots[i] = Some((first + k as i64, placed.convs.len()));
        }
        placed.convs.push(c);
    }
    Ok(placed)
}

/// The rows to insert, each draft's outcome (ids filled in after the insert), and
/// how far each sender has now read (their own message).
struct Batch {
    rows: Vec<messages::ActiveModel>,
    outcomes: Vec<Result<MessageOut>>,
    read_upto: HashMap<(i64, i64), i64>,
}

fn prepare(drafts: &[&Draft], placed: &Placed, now: DateTime<Utc>) -> Batch {
    let mut batch = Batch {
        rows: Vec::with_capacity(drafts.len()),
        outcomes: Vec::with_capacity(drafts.len()),
        read_upto: HashMap::new(),
    };
    for (d, slot) in drafts.iter().zip(&placed.slots) {
        let Some((seq, c)) = *slot else {
            batch.outcomes.push(Err(Error::NotFound("conversation")));
            continue;
        };
        let stored = ConvRef::of(&placed.convs[c]).and_then(|conversation| {
            let content = match &d.seal {
                Some(cipher) => cipher.seal(&d.content, &message_aad(d.conversation_id, seq))?,
                None => d.content.clone(),
            };
            Ok((conversation, content))
        });
        let (conversation, content) = match stored {
            Ok(v) => v,
            Err(e) => {
                batch.outcomes.push(Err(e));
                continue;
            }
        };
        batch.rows.push(messages::ActiveModel {
            conversation_id: Set(d.conversation_id),
            seq: Set(seq),
            sender_id: Set(d.sender_id),
            content: Set(content),
            kind: Set(d.kind.clone()),
            is_encrypted: Set(d.seal.is_some()),
            client_ref: Set(d.client_ref.clone()),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
            ..Default::default()
        });
        let r = batch
            .read_upto
            .entry((d.conversation_id, d.sender_id))
            .or_default();
        *r = std::cmp::max(*r, seq);
        batch.outcomes.push(Ok(MessageOut {
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
    batch
}

/// One multi-row insert; the new ids by (conversation, seq), since the database
/// does not promise RETURNING order.
async fn insert_messages(
    txn: &DatabaseTransaction,
    rows: Vec<messages::ActiveModel>,
) -> Result<HashMap<(i64, i64), i64>, sea_orm::DbErr> {
    let mut ids = HashMap::with_capacity(rows.len());
    if rows.is_empty() {
        return Ok(ids);
    }
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
