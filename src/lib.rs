//! chatwire: one Rust real-time chat server behind five chat frontends.
//!
//! A tour of the tree:
//! - [`config`]: the one typed `Config`, from environment, `.env` and flags.
//! - [`cli`]: `chatwire serve | migrate | user create`.
//! - [`app`]: start-up (core, listeners) and graceful shutdown.
//! - [`core`]: the rules and the data, shared by every profile: accounts, auth,
//!   conversations, messages, presence, mail, and the [`core::bus`] every delivery
//!   goes through. It knows no wire shape.
//! - [`profiles`]: one folder per frontend (`rest.rs`, `realtime.rs`, `render.rs`,
//!   `wire.rs`); each `mod.rs` lists the routes and events it serves.
//! - [`transport`]: Socket.IO plumbing (the ordered per-connection inbox) and the
//!   HTTP routes every listener carries (`/healthz`, `/readyz`, `/metrics`).
//! - [`telemetry`]: logs and Prometheus metrics.

pub mod app;
pub mod cli;
pub mod config;
pub mod core;
pub mod profiles;
pub mod telemetry;
pub mod transport;
