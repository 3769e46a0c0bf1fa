//! One integration-test binary (faster to link than one per file). Each test gets
//! its own server on port 0 and its own fresh database: SQLite in a temp dir, or a
//! fresh PostgreSQL database when `DATABASE_URL` points at a PostgreSQL server.

mod calls_core;
mod calls_rest;
mod chatsphere_rest;
mod chatsphere_tokens;
mod core_data;
mod demo_page;
mod expresschat_rest;
mod helpers;
mod history_cursor;
mod message_batches;
mod message_budgets;
mod ops;
mod orgchat_core;
mod orgchat_rest;
mod secrets;
mod spaces;
mod testcore_rest;
mod testcore_ws;
