//! chatwire: one Rust real-time chat server behind five chat frontends.
//!
//! A tour of the tree:
//! - [`config`]: the one typed `Config`, from environment, `.env` and flags.
//! - [`cli`]: `chatwire serve | migrate | user create`.
//! - [`app`]: start-up (core, listeners) and graceful shutdown.
//! - [`core`]: the rules and the data, shared by every profile, read bottom-up:
//!   [`core::model`] (what the bus carries), the infrastructure (bus, db, mail,
//!   secrets, rate limits), then the domains [`core::identity`],
//!   [`core::conversations`], [`core::messages`], [`core::presence`] and
//!   [`core::calls`]. It knows no wire shape.
//! - [`profiles`]: one folder per frontend, each with the same files for the same
//!   jobs (`mod.rs` its table of contents, `rest.rs`, `handshake.rs`, `events.rs`,
//!   `handlers`, `render.rs`, `wire.rs`, `error.rs`), over [`profiles::kit`].
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
