//! The core: rules and data shared by every profile. It knows no wire shape; the
//! profiles know no SQL. Services are free functions over [`Core`], grouped by
//! domain; every change they commit is published on the [`bus`].

pub mod accounts;
pub mod api_tokens;
pub mod auth;
pub mod bus;
pub mod calls;
pub mod conversations;
pub mod crypto;
pub mod db;
pub mod direct;
pub mod error;
pub mod groups;
pub mod mail;
pub mod member_cache;
mod message_writer;
pub mod messages;
pub mod named_rooms;
pub mod organizations;
pub mod presence;
pub mod ratelimit;
pub mod reactions;
pub mod rooms;
pub mod secrets;
pub mod shared_rooms;

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
}

/// Everything the services need, shared behind an `Arc`.
pub struct Core {
    pub db: DatabaseConnection,
    pub bus: bus::Bus,
    pub keys: auth::TokenKeys,
    pub mailer: mail::Mailer,
    pub limits: Limits,
    pub presence: presence::Presence,
    /// Login throttling (per account, per address).
    pub logins: ratelimit::LoginGuard,
    /// Live call state (who is in a call, ring timers).
    pub calls: calls::Calls,
    /// Who is in each conversation (the message hot path's membership check and
    /// audience); every membership write tells it.
    pub members: member_cache::MemberCache,
    /// The group-commit writer for new messages, started on first use.
    writer: OnceLock<message_writer::Writer>,
    /// The writer's own connection, when set (else it shares `db`).
    writer_db: OnceLock<DatabaseConnection>,
    /// Base URL for links in mails; set from config or, when unset, from the first
    /// bound listener.
    public_url: OnceLock<String>,
    /// The cipher for messages stored encrypted; set from config at start, or a
    /// random key on first use (see [`Core::cipher`]).
    cipher: OnceLock<crypto::MessageCipher>,
    /// Keys of API tokens (chatsphere); set from config at start, or random on
    /// first use (see [`Core::api_keys`]).
    api_keys: OnceLock<api_tokens::ApiKeys>,
}

pub type CoreRef = Arc<Core>;

impl Core {
    pub fn new(
        db: DatabaseConnection,
        bus: bus::Bus,
        keys: auth::TokenKeys,
        mailer: mail::Mailer,
        limits: Limits,
    ) -> Self {
        let logins = ratelimit::LoginGuard::new(
            limits.login_per_account_per_minute,
            limits.login_per_ip_per_minute,
        );
        Core {
            db,
            bus,
            keys,
            mailer,
            limits,
            presence: presence::Presence::default(),
            logins,
            calls: calls::Calls::default(),
            members: member_cache::MemberCache::default(),
            writer: OnceLock::new(),
            writer_db: OnceLock::new(),
            public_url: OnceLock::new(),
            cipher: OnceLock::new(),
            api_keys: OnceLock::new(),
        }
    }

    /// Sets the base URL for links once; later calls are ignored.
    pub fn set_public_url(&self, url: String) {
        let _ = self.public_url.set(url.trim_end_matches('/').to_owned());
    }

    /// Sets the message cipher once; later calls are ignored.
    pub fn set_cipher(&self, cipher: crypto::MessageCipher) {
        let _ = self.cipher.set(cipher);
    }

    /// The message cipher. Without a configured key a random one is made (with a
    /// warning): encrypted messages then become unreadable after a restart.
    pub fn cipher(&self) -> &crypto::MessageCipher {
        self.cipher.get_or_init(|| {
            tracing::warn!(
                "MESSAGE_ENCRYPTION_KEY unset: using a random key; encrypted messages are unreadable after a restart"
            );
            crypto::MessageCipher::random()
        })
    }

    /// Sets the API token keys once; later calls are ignored.
    pub fn set_api_keys(&self, keys: api_tokens::ApiKeys) {
        let _ = self.api_keys.set(keys);
    }

    /// The API token keys. Without a configured secret a random one is made (with
    /// a warning): API tokens then stop working when the process ends.
    pub fn api_keys(&self) -> &api_tokens::ApiKeys {
        self.api_keys.get_or_init(|| {
            tracing::warn!(
                "API_TOKEN_SECRET unset: using a random secret; API tokens end when the process does"
            );
            api_tokens::ApiKeys::random()
        })
    }

    /// Gives the message writer a connection of its own (before its first use).
    pub fn set_writer_db(&self, db: DatabaseConnection) {
        let _ = self.writer_db.set(db);
    }

    /// The message writer; the first call (from within the runtime) starts it.
    fn writer(&self) -> &message_writer::Writer {
        self.writer.get_or_init(|| {
            let db = self.writer_db.get().unwrap_or(&self.db).clone();
            message_writer::Writer::spawn(db, self.bus.clone())
        })
    }

    pub fn public_url(&self) -> &str {
        self.public_url
            .get()
            .map(String::as_str)
            .unwrap_or("http://localhost:3000")
    }
}
