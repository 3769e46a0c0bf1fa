//! Group commit for new messages.
//!
//! Every new message goes through one writer. It takes all messages waiting (up
//! to [`MAX_BATCH`]) and commits them in one transaction: the sequence of every
//! conversation concerned is moved on, the messages are stored, the senders' read
//! pointers move to their own messages. It then publishes them on the bus in
//! commit order and answers each sender. A lone message waits for nothing:
//! batches form only while a commit is in flight.
//!
//! Two stores do the transaction (same SQL semantics):
//! - `sqlite.rs`: a SQLite file, on a connection and an OS thread of the writer's
//!   own, with cached prepared statements, one row per statement (in-process
//!   calls cost microseconds). The whole loop runs there: no hop to a database
//!   worker thread per statement and result row as through sqlx.
//! - `pooled.rs`: PostgreSQL (or SQLite in memory) through sea-orm, three
//!   statements per batch whatever its size, since each statement is a round trip.
//!
//! Why group commit: one transaction per message made the commit the bottleneck
//! (BENCHMARKS.md, persisted direct messages): on PostgreSQL each commit is a
//! round trip and a WAL flush, on SQLite concurrent writers waited on the lock.
//!
//! Rules kept: persist, then deliver (publishing follows the commit); order is
//! decided once (sequence numbers are assigned inside the transaction, in arrival
//! order within a conversation); nothing confirmed is lost (a sender hears of its
//! message only after the commit). Conversations are bumped in ascending id order,
//! so two processes committing batches on one PostgreSQL cannot deadlock.

mod pooled;
mod sqlite;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::core::bus::{Audience, Bus, ConnId, EventKind, MessageOut};
use crate::core::crypto::{MessageCipher, message_aad};
use crate::core::model::{ConvRef, Kind};
use crate::core::{Error, Result};

/// Most messages committed in one transaction (ten bound values each in the
/// pooled store's insert: 10,240, below SQLite's 32,766 and PostgreSQL's 65,535
/// per statement). Pipelined sends (a socket queues its next message before the
/// last is committed) make batches larger than the number of senders; at
/// saturation 1,024 cost less CPU per message than 256 (bench/analysis.md).
const MAX_BATCH: usize = 1024;

/// Where the writer commits.
pub enum Store {
    /// Through sea-orm: a connection of the writer's own, or the pool.
    Pooled(DatabaseConnection),
    /// A SQLite file through a connection of the writer's own, on its own thread.
    Sqlite(rusqlite::Connection),
}

impl Store {
    /// The writer's store for `url`: its own SQLite connection for a SQLite file,
    /// else its own sea-orm connection; None (share the pool) for SQLite in memory,
    /// which a second connection would not see.
    pub async fn open(url: &str) -> anyhow::Result<Option<Store>> {
        if url.contains("memory") {
            return Ok(None);
        }
        if url.starts_with("sqlite:") {
            return Ok(Some(Store::Sqlite(sqlite::open(url)?)));
        }
        Ok(Some(Store::Pooled(crate::core::db::connect(url, 1).await?)))
    }
}

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

/// The sending side; the writer ends when the last one is dropped, or at
/// [`Writer::close`].
pub struct Writer {
    tx: mpsc::Sender<Job>,
    /// Cancelled to stop taking messages (shutdown).
    stop: CancellationToken,
    /// Cancelled by the writer once every message it took is committed and answered.
    finished: CancellationToken,
}

impl Writer {
    /// Starts the writer (within the runtime).
    pub fn spawn(store: Store, bus: Bus) -> Writer {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        let (stop, finished) = (CancellationToken::new(), CancellationToken::new());
        let intake = Intake {
            rx,
            stop: stop.clone(),
            jobs: Vec::with_capacity(MAX_BATCH),
        };
        // Cancelled however the writer ends (a panic included), so `close` returns.
        let done = finished.clone().drop_guard();
        match store {
            Store::Pooled(db) => {
                tokio::spawn(async move {
                    pooled::run(db, bus, intake).await;
                    drop(done);
                });
            }
            Store::Sqlite(conn) => sqlite::spawn(conn, bus, intake, done),
        }
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
        self.submit(draft).await?.await
    }

    /// Queues the message (waiting while the queue is full) and returns what
    /// resolves once it is committed and published. Messages are committed in the
    /// order they were queued, so a caller may queue several before awaiting the
    /// first: their batches then grow, and a socket's messages share them.
    pub async fn submit(&self, draft: Draft) -> Result<Committed> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { draft, reply })
            .await
            .map_err(|_| Error::Internal)?;
        Ok(Committed(answer))
    }
}

/// A queued message: resolves to it as published, once committed.
pub struct Committed(oneshot::Receiver<Result<MessageOut>>);

impl std::future::Future for Committed {
    type Output = Result<MessageOut>;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<MessageOut>> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(Error::Internal)))
    }
}

/// The writer's side of the queue.
struct Intake {
    rx: mpsc::Receiver<Job>,
    stop: CancellationToken,
    /// The batch being committed (drained by [`Intake::settle`]).
    jobs: Vec<Job>,
}

impl Intake {
    /// Waits for messages and takes every one waiting (up to [`MAX_BATCH`]);
    /// false once the queue is closed and empty.
    async fn next_batch(&mut self) -> bool {
        loop {
            let taken = tokio::select! {
                biased;
                // Closing refuses new sends; what is queued is still taken.
                _ = self.stop.cancelled(), if !self.rx.is_closed() => {
                    self.rx.close();
                    continue;
                }
                n = self.rx.recv_many(&mut self.jobs, MAX_BATCH) => n,
            };
            if taken > 0 {
                metrics::histogram!("chatwire_message_batch_size").record(taken as f64);
            }
            return taken > 0;
        }
    }

    fn drafts(&self) -> Vec<&Draft> {
        self.jobs.iter().map(|j| &j.draft).collect()
    }

    /// After the commit (or its failure): publishes each committed message in
    /// commit order, then answers its sender.
    fn settle<E: std::fmt::Display>(
        &mut self,
        bus: &Bus,
        outcome: std::result::Result<Vec<Result<MessageOut>>, E>,
    ) {
        match outcome {
            Ok(outcomes) => {
                for (job, outcome) in self.jobs.drain(..).zip(outcomes) {
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
                tracing::error!(error = %e, messages = self.jobs.len(), "message batch not committed");
                for job in self.jobs.drain(..) {
                    let _ = job.reply.send(Err(Error::Internal));
                }
            }
        }
    }
}

/// The drafts' indexes by conversation, conversations in ascending id order.
fn by_conversation(drafts: &[&Draft]) -> BTreeMap<i64, Vec<usize>> {
    let mut by_conv: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (i, d) in drafts.iter().enumerate() {
        by_conv.entry(d.conversation_id).or_default().push(i);
    }
    by_conv
}

/// A conversation as its sequence bump returns it.
struct ConvRow {
    id: i64,
    kind: String,
    name: Option<String>,
    organization_id: Option<i64>,
    /// After the bump.
    last_seq: i64,
}

/// Where each draft goes: its sequence number and its conversation, or None when
/// the conversation is gone.
struct Placed {
    slots: Vec<Option<(i64, usize)>>,
    convs: Vec<ConvRow>,
}

impl Placed {
    fn new(drafts: usize) -> Placed {
        Placed {
            slots: vec![None; drafts],
            convs: Vec::new(),
        }
    }

    /// Hands out the numbers a bump of `c` by `idx.len()` made room for.
    fn place(&mut self, idx: &[usize], c: ConvRow) {
        let first = c.last_seq - idx.len() as i64 + 1;
        for (k, &i) in idx.iter().enumerate() {
            self.slots[i] = Some((first + k as i64, self.convs.len()));
        }
        self.convs.push(c);
    }
}

/// A message row to insert.
struct Row {
    /// Its draft's index (and outcome's).
    draft: usize,
    conversation_id: i64,
    seq: i64,
    sender_id: i64,
    /// As stored: sealed when `is_encrypted`.
    content: String,
    kind: String,
    is_encrypted: bool,
    client_ref: Option<String>,
}

/// The rows to insert, each draft's outcome (ids filled in after the insert), and
/// how far each sender has now read (their own message).
struct Batch {
    rows: Vec<Row>,
    outcomes: Vec<Result<MessageOut>>,
    read_upto: HashMap<(i64, i64), i64>,
}

fn prepare(drafts: &[&Draft], placed: &Placed, now: DateTime<Utc>) -> Batch {
    let mut batch = Batch {
        rows: Vec::with_capacity(drafts.len()),
        outcomes: Vec::with_capacity(drafts.len()),
        read_upto: HashMap::new(),
    };
    for (i, (d, slot)) in drafts.iter().zip(&placed.slots).enumerate() {
        let Some((seq, c)) = *slot else {
            batch.outcomes.push(Err(Error::NotFound("conversation")));
            continue;
        };
        let c = &placed.convs[c];
        let stored = Kind::parse(&c.kind).and_then(|kind| {
            let content = match &d.seal {
                Some(cipher) => cipher.seal(&d.content, &message_aad(d.conversation_id, seq))?,
                None => d.content.clone(),
            };
            let conversation = ConvRef {
                id: c.id,
                kind,
                name: c.name.clone(),
                organization_id: c.organization_id,
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
        batch.rows.push(Row {
            draft: i,
            conversation_id: d.conversation_id,
            seq,
            sender_id: d.sender_id,
            content,
            kind: d.kind.clone(),
            is_encrypted: d.seal.is_some(),
            client_ref: d.client_ref.clone(),
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
