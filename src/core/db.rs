//! Opening the database: SQLite in a file by default (created, WAL, busy timeout),
//! PostgreSQL by URL; migrations run at start so `cargo run` needs nothing installed.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

/// Connects and brings the schema up to date.
pub async fn connect_and_migrate(
    url: &str,
    max_connections: u32,
) -> anyhow::Result<DatabaseConnection> {
    let db = connect(url, max_connections).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

/// Seconds an unused pooled database connection is kept open. sqlx looks for idle
/// connections once per this period, so one is closed between one and two periods
/// after its last use: with 60 s the pool of a burst still held its caches (and its
/// worker threads) 70 s after it, about 5 MB of RSS (issue 14, defect 5).
pub const IDLE_CONNECTION_SECS: u64 = 20;

/// Connects without migrating.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        // sqlx pings every connection it hands out by default: one more round trip
        // (on SQLite, one more hop to the connection's worker thread) per query.
        // Only a connection idle for a while may have gone stale.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        // A connection idle this long is closed (down to min_connections): each
        // holds its own page and statement caches (SQLite: up to 2 MB of pages), so
        // after a burst that opened the whole pool the memory comes back (issue 14).
        .idle_timeout(Duration::from_secs(IDLE_CONNECTION_SECS))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // WAL lets readers run beside the one writer; the busy timeout makes a second
        // writer wait instead of failing. Every write transaction in the core starts
        // with its write, so waiting is enough (no read-then-upgrade deadlocks).
        // A pool of many connections keeps each
        // connection's caches small: every pooled SQLite connection has its own page
        // cache (SQLite's default: 2 MB) and prepared-statement cache (sqlx's: 100),
        // and a burst of varied requests fills all of them. Measured with
        // `RELIABILITY_PHASES=malformed RELIABILITY_PASSES=3 RELIABILITY_PAYLOADS=300
        // tests/reliability/run.sh` (debug build, pool of 16): RSS after each pass
        // 65 / 72 / 77 MB with the defaults, 60 / 63 / 64 MB with these (issue 14,
        // defect 5). A pool of one keeps the defaults. (The message writer opens its
        // own SQLite connection, with SQLite's defaults: core/messages/writer/sqlite.rs.)
        let (statements, cache_kib) = if max_connections > 1 {
            (16, 256)
        } else {
            (100, 2000)
        };
        opts.map_sqlx_sqlite_opts(move |o| {
            o.statement_cache_capacity(statements)
                .pragma("cache_size", format!("-{cache_kib}"))
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .create_if_missing(true)
        });
        opts.map_sqlx_sqlite_pool_opts(|o| {
            o.after_connect(|conn, _| Box::pin(async move { stable_plans(conn).await }))
        });
    }
    Ok(Database::connect(opts).await?)
}

/// Turns on SQLite's query planner stability guarantee (`SQLITE_DBCONFIG_ENABLE_QPSG`)
/// for a new connection.
///
/// Without it, SQLite 3.47+ plans `LIMIT ?` with the value bound to it, so the
/// statement is marked to be compiled again whenever that parameter is bound anew;
/// sqlx rebinds every parameter on each execution, so every `.one()` of sea-orm
/// (`LIMIT ?`) was parsed and planned again on each run despite sqlx's statement
/// cache: about a quarter of a connect's SQLite time (issue 13). With the guarantee
/// the plan does not depend on bound values and the cached statement is reused.
async fn stable_plans(
    conn: &mut sea_orm::sqlx::SqliteConnection,
) -> Result<(), sea_orm::sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is the open connection, exclusively ours while the handle is
    // locked; this option takes an int and an optional out-pointer (none here).
    let rc = unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as std::ffi::c_int,
            std::ptr::null_mut::<std::ffi::c_int>(),
        )
    };
    if rc != libsqlite3_sys::SQLITE_OK {
        tracing::warn!(
            rc,
            "SQLite: could not enable the query planner stability guarantee"
        );
    }
    Ok(())
}
