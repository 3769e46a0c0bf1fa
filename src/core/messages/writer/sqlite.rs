//! The writer on a SQLite file: a connection of its own (rusqlite) on an OS
//! thread of its own, which also waits for the batches, publishes and answers.
//! Each statement is prepared once (cached) and runs one row per call, in
//! process: a call costs microseconds, so a lone message is five calls (begin,
//! bump, insert, read pointer, commit) and a batch of n about 2n + 2.
//!
//! Why not sqlx here: its SQLite connection runs on a worker thread of its own,
//! and every statement and every result row crosses between threads (a channel
//! send and a wake-up each way); at saturation that hand-off was about a third of
//! the server's CPU per message (bench/analysis.md). better-sqlite3, which the
//! Node peer uses, calls SQLite synchronously in the same way.

use std::str::FromStr;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use tokio_util::sync::DropGuard;

use super::{ConvRow, Draft, Intake, Placed, by_conversation, prepare};
use crate::core::Result;
use crate::core::bus::{Bus, MessageOut};

/// Opens the database file of a `sqlite:` URL (already created and migrated by
/// the pool) with the pool's settings: WAL, `synchronous = NORMAL`, a 10 s busy
/// timeout, foreign keys on. SQLite's default page cache (2 MB) stays: the
/// writer's hot pages stay cached.
pub(super) fn open(url: &str) -> anyhow::Result<Connection> {
    let opts = SqliteConnectOptions::from_str(url)?;
    let conn = Connection::open_with_flags(
        opts.get_filename(),
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Starts the writer's thread; `done` is dropped when it ends.
pub(super) fn spawn(conn: Connection, bus: Bus, intake: Intake, done: DropGuard) {
    // Waiting for a batch is waiting on a tokio channel: the thread blocks on it
    // through the runtime's handle (no I/O or timer driver needed).
    let rt = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        .name("message-writer".into())
        .spawn(move || {
            let _done = done;
            run(conn, bus, intake, &rt);
        })
        .expect("the system refused a thread for the message writer");
}

fn run(mut conn: Connection, bus: Bus, mut intake: Intake, rt: &tokio::runtime::Handle) {
    while rt.block_on(intake.next_batch()) {
        let outcome = commit(&mut conn, &intake.drafts());
        intake.settle(&bus, outcome);
    }
}

const BUMP: &str = "UPDATE conversations SET last_seq = last_seq + ?1, last_message_at = ?2 \
     WHERE id = ?3 RETURNING kind, name, organization_id, last_seq";
const INSERT: &str = "INSERT INTO messages (conversation_id, seq, sender_id, content, kind, \
     is_encrypted, client_ref, created_at, updated_at, deleted_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, NULL)";
const READ: &str =
    "UPDATE memberships SET read_seq = ?1 WHERE conversation_id = ?2 AND user_id = ?3";

/// One transaction for the batch, begun with the write lock taken (IMMEDIATE).
/// The outer error fails the whole batch (nothing was committed); an inner one
/// concerns one message (its conversation is gone).
fn commit(
    conn: &mut Connection,
    drafts: &[&Draft],
) -> Result<Vec<Result<MessageOut>>, rusqlite::Error> {
    let now = Utc::now();
    // As sqlx encodes a `DateTime<Utc>` for SQLite, so sea-orm reads it back alike.
    let stamp = now.to_rfc3339_opts(SecondsFormat::AutoSi, false);
    let txn = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut placed = Placed::new(drafts.len());
    {
        let mut bump = txn.prepare_cached(BUMP)?;
        for (conv, idx) in by_conversation(drafts) {
            let row = bump
                .query_row(params![idx.len() as i64, stamp, conv], |r| {
                    Ok(ConvRow {
                        id: conv,
                        kind: r.get(0)?,
                        name: r.get(1)?,
                        organization_id: r.get(2)?,
                        last_seq: r.get(3)?,
                    })
                })
                // A conversation deleted meanwhile returns no row.
                .optional()?;
            if let Some(c) = row {
                placed.place(&idx, c);
            }
        }
    }
    let mut batch = prepare(drafts, &placed, now);
    {
        let mut insert = txn.prepare_cached(INSERT)?;
        for r in &batch.rows {
            let id = insert.insert(params![
                r.conversation_id,
                r.seq,
                r.sender_id,
                r.content,
                r.kind,
                r.is_encrypted,
                r.client_ref,
                stamp,
            ])?;
            if let Some(Ok(out)) = batch.outcomes.get_mut(r.draft) {
                out.id = id;
            }
        }
        let mut read = txn.prepare_cached(READ)?;
        for (&(conv, user), &seq) in &batch.read_upto {
            read.execute(params![seq, conv, user])?;
        }
    }
    txn.commit()?;
    Ok(batch.outcomes)
}
