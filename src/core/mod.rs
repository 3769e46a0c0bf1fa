//! The core: rules and data shared by every profile. It knows no wire shape; the
//! profiles know no SQL. Services are free functions over [`Core`], grouped by
//! domain; every change they commit is published on the [`bus`].
//!
//! Read it bottom-up: [`model`] (the types the bus carries; imports no domain),
//! then the infrastructure ([`error`], [`db`], [`bus`], [`cluster`], [`crypto`], [`secrets`],
//! [`mail`], [`ratelimit`]), then the domains, each of which may use the ones
//! listed before it: [`identity`] (accounts, auth, API tokens, organizations),
//! [`conversations`] (membership, groups, rooms, the member cache), [`messages`]
//! (send, history, read pointers, the writer, reactions, direct messages),
//! [`presence`] and [`calls`].

pub mod model;

pub mod bus;
pub mod cluster;
pub mod crypto;
pub mod db;
pub mod error;
pub mod mail;
pub mod memory;
pub mod ratelimit;
pub mod secrets;

pub mod calls;
pub mod conversations;
pub mod identity;
pub mod messages;
pub mod presence;

use std::sync::{Arc, OnceLock};

use sea_orm::DatabaseConnection;

pub use error::{Error, Result};

/// Size limits applied by the core (the transports add frame limits of their own).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Longest message content, in characters.
    pub max_content_len: usize,
    /// Longest user, group or room name, in characters.
    pub max_name_len: usize,
    /// Most members a group may be created with.
    pub max_group_size: usize,
    /// Most messages one history page returns.
    pub history_page: u64,
    /// Login attempts per minute per account and per client address.
    pub login_per_account_per_minute: u32,
    pub login_per_ip_per_minute: u32,
    /// Messages per minute per user, every profile together.
    pub messages_per_minute: u32,
}

/// Everything [`Core::new`] needs: built from config at start (see `app.rs`).
pub struct CoreParts {
    pub db: DatabaseConnection,
    /// The message writer's own connection (SQLite: on a thread of its own, its
    /// page cache warm); None shares `db`.
    pub writer_db: Option<messages::WriterStore>,
    pub bus: bus::Bus,
    /// Cluster mode: this node's link to Redis (the bus was made by it too).
    pub cluster: Option<Arc<cluster::Cluster>>,
    pub keys: identity::auth::TokenKeys,
    pub api_keys: identity::api_tokens::ApiKeys,
    pub cipher: crypto::MessageCipher,
    pub mailer: mail::Mailer,
    pub limits: Limits,
    /// Base URL for links in mails, from config; None: the expresschat listener's.
    pub public_url: Option<String>,
}

/// Everything the services need, shared behind an `Arc`.
pub struct Core {
    pub db: DatabaseConnection,
    pub bus: bus::Bus,
    /// Cluster mode: this node's link to Redis; None: one process.
    pub cluster: Option<Arc<cluster::Cluster>>,
    pub keys: identity::auth::TokenKeys,
    /// Keys of API tokens (chatsphere).
    pub api_keys: identity::api_tokens::ApiKeys,
    /// The cipher for messages stored encrypted (orgchat).
    pub cipher: crypto::MessageCipher,
    pub mailer: mail::Mailer,
    pub limits: Limits,
    pub presence: presence::Presence,
    /// Login throttling (per account, per address).
    pub logins: ratelimit::LoginGuard,
    /// Each user's message budget, spent by every send on every profile
    /// (`messages::send`).
    pub message_budget: ratelimit::Limiter<i64>,
    /// Live call state (who is in a call, ring timers).
    pub calls: calls::Calls,
    /// Who is in each conversation (the message hot path's membership check and
    /// audience). Only `conversations::membership` writes memberships, and it
    /// keeps this right (in cluster mode, on every node: `core::cluster`).
    pub members: Arc<conversations::member_cache::MemberCache>,
    /// The group-commit writer for new messages.
    writer: messages::writer::Writer,
    /// Base URL for links in mails, from config.
    public_url: Option<String>,
    /// The expresschat listener's URL, known once it is bound (after the core is
    /// built): the fallback for `public_url`.
    listener_url: OnceLock<String>,
}

pub type CoreRef = Arc<Core>;

impl Core {
    /// Builds the core and starts its message writer (call within the runtime).
    pub fn new(parts: CoreParts) -> Self {
        let CoreParts {
            db,
            writer_db,
            bus,
            cluster,
            keys,
            api_keys,
            cipher,
            mailer,
            limits,
            public_url,
        } = parts;
        let members = Arc::new(conversations::member_cache::MemberCache::default());
        if let Some(c) = &cluster {
            let m = members.clone();
            c.on_members_changed(move |conv| m.changed(conv));
        }
        let logins = ratelimit::LoginGuard::shared(
            limits.login_per_account_per_minute,
            limits.login_per_ip_per_minute,
            cluster.clone(),
        );
        let message_budget = ratelimit::Limiter::per_minute(limits.messages_per_minute).shared(
            "messages",
            cluster.clone(),
            limits.messages_per_minute,
            std::time::Duration::from_secs(60),
        );
        let writer = messages::writer::Writer::spawn(
            writer_db.unwrap_or_else(|| messages::WriterStore::Pooled(db.clone())),
            bus.clone(),
        );
        Core {
            db,
            bus,
            cluster: cluster.clone(),
            keys,
            api_keys,
            cipher,
            mailer,
            limits,
            presence: presence::Presence::new(cluster.clone()),
            logins,
            message_budget,
            calls: calls::Calls::default(),
            members,
            writer,
            public_url: public_url.map(|u| u.trim_end_matches('/').to_owned()),
            listener_url: OnceLock::new(),
        }
    }

    /// Shutdown: stops taking new messages and waits until every message
    /// already handed to the writer is committed and answered.
    pub async fn close_writer(&self) {
        self.writer.close().await;
    }

    /// Records the expresschat listener's URL (the first call wins).
    pub fn set_listener_url(&self, url: String) {
        let _ = self.listener_url.set(url.trim_end_matches('/').to_owned());
    }

    /// Base URL for links in mails: configured, else the expresschat listener's.
    pub fn public_url(&self) -> &str {
        self.public_url
            .as_deref()
            .or(self.listener_url.get().map(String::as_str))
            .unwrap_or("http://localhost:3000")
    }
}
