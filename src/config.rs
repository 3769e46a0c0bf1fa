//! Configuration: one typed struct, read once at start from the environment (and a
//! `.env` file), every field documented here and in `.env.example`. The same fields
//! are also command-line flags (`chatwire serve --help`). Secrets never print.

use std::{fmt, net::SocketAddr, str::FromStr, time::Duration};

use clap::Args;

/// The five frontends chatwire serves, each on its own listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Profile {
    Expresschat,
    Calls,
    Orgchat,
    Chatsphere,
    Testcore,
}

impl Profile {
    pub const ALL: [Profile; 5] = [
        Profile::Expresschat,
        Profile::Calls,
        Profile::Orgchat,
        Profile::Chatsphere,
        Profile::Testcore,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Profile::Expresschat => "expresschat",
            Profile::Calls => "calls",
            Profile::Orgchat => "orgchat",
            Profile::Chatsphere => "chatsphere",
            Profile::Testcore => "testcore",
        }
    }
}

impl Profile {
    /// Whether the profile serves Socket.IO (and so the admin UI, when on).
    pub fn speaks_socketio(self) -> bool {
        matches!(
            self,
            Profile::Expresschat | Profile::Calls | Profile::Orgchat
        )
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown profile '{s}'"))
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A secret string whose `Debug` does not show it.
#[derive(Clone, Default)]
pub struct Secret(pub String);

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Clone, Debug, Args)]
pub struct Config {
    /// Database URL: `sqlite://path?mode=rwc` (embedded, the default) or
    /// `postgres://user@host/db`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://chatwire.db?mode=rwc"
    )]
    pub database_url: String,

    /// Most pooled database connections.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,

    /// Profiles to serve, comma separated (expresschat,calls,orgchat,chatsphere,testcore).
    #[arg(
        long,
        env = "CHATWIRE_PROFILES",
        value_delimiter = ',',
        default_value = "expresschat,calls,orgchat,chatsphere,testcore"
    )]
    pub profiles: Vec<Profile>,

    /// Listener of the expresschat profile.
    #[arg(
        long,
        env = "CHATWIRE_EXPRESSCHAT_ADDR",
        default_value = "0.0.0.0:3000"
    )]
    pub expresschat_addr: SocketAddr,
    /// Listener of the calls profile.
    #[arg(long, env = "CHATWIRE_CALLS_ADDR", default_value = "0.0.0.0:3001")]
    pub calls_addr: SocketAddr,
    /// Listener of the orgchat profile.
    #[arg(long, env = "CHATWIRE_ORGCHAT_ADDR", default_value = "0.0.0.0:3002")]
    pub orgchat_addr: SocketAddr,
    /// Listener of the chatsphere profile.
    #[arg(long, env = "CHATWIRE_CHATSPHERE_ADDR", default_value = "0.0.0.0:3003")]
    pub chatsphere_addr: SocketAddr,
    /// Listener of the testcore profile.
    #[arg(long, env = "CHATWIRE_TESTCORE_ADDR", default_value = "0.0.0.0:3004")]
    pub testcore_addr: SocketAddr,

    /// Log filter (tracing-subscriber EnvFilter syntax), e.g. `info,chatwire=debug`.
    #[arg(long, env = "CHATWIRE_LOG", default_value = "info")]
    pub log: String,
    /// Log format: human or json (one JSON object per line, on stderr).
    #[arg(long, env = "CHATWIRE_LOG_FORMAT", value_enum, default_value = "human")]
    pub log_format: LogFormat,

    /// Where secrets that are not set below are generated and kept (mode 0600).
    /// Default: beside a SQLite database file (`chatwire.db.secrets`), else
    /// `chatwire.secrets` in the working directory. Never in the database.
    #[arg(long, env = "CHATWIRE_SECRETS_FILE", default_value = "")]
    pub secrets_file: String,
    /// Secret for access tokens. When unset, one is generated once and kept in the
    /// secrets file (`CHATWIRE_SECRETS_FILE`), as for every secret below.
    #[arg(
        long,
        env = "JWT_ACCESS_SECRET",
        default_value = "",
        hide_default_value = true
    )]
    pub jwt_access_secret: Secret,
    /// Secret for refresh tokens (must differ from the access secret).
    #[arg(
        long,
        env = "JWT_REFRESH_SECRET",
        default_value = "",
        hide_default_value = true
    )]
    pub jwt_refresh_secret: Secret,
    /// Access token lifetime in seconds.
    #[arg(long, env = "ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    pub access_token_ttl_secs: u64,
    /// Refresh token lifetime in seconds.
    #[arg(long, env = "REFRESH_TOKEN_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl_secs: u64,
    /// bcrypt cost for new password hashes (4..=31).
    #[arg(long, env = "BCRYPT_COST", default_value_t = 10, value_parser = clap::value_parser!(u32).range(4..=31))]
    pub bcrypt_cost: u32,
    /// Whether auth cookies carry the `Secure` attribute (set behind HTTPS).
    #[arg(long, env = "COOKIE_SECURE", default_value_t = false)]
    pub cookie_secure: bool,

    /// Base URL used in mailed links; defaults to the expresschat listener's URL.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
    /// SMTP server URL (`smtps://user:pass@host:465` or `smtp://host:25`); mails go to
    /// the log when unset.
    #[arg(long, env = "SMTP_URL", default_value = "", hide_default_value = true)]
    pub smtp_url: Secret,
    /// Sender address of mails.
    #[arg(
        long,
        env = "MAIL_FROM",
        default_value = "chatwire <no-reply@localhost>"
    )]
    pub mail_from: String,

    /// Serve the demo chat page of `examples/web/` at `/demo/` on the expresschat
    /// listener (embedded in the binary). Off by default.
    #[arg(long, env = "CHATWIRE_DEMO_PAGE", default_value_t = false)]
    pub demo_page: bool,

    /// The Socket.IO admin UI (`@socket.io/admin-ui`): its namespace `/admin` and
    /// its page at `/admin/` on every Socket.IO listener (expresschat, calls,
    /// orgchat), on only when both this and `ADMIN_UI_PASSWORD` are set.
    #[arg(long, env = "ADMIN_UI_USER")]
    pub admin_ui_user: Option<String>,
    /// The admin UI's password, or a bcrypt hash of it (`$2b$...`). A plain
    /// password is replaced by its bcrypt hash at start (`admin::hash_config`):
    /// only the hash stays in the running server.
    #[arg(
        long,
        env = "ADMIN_UI_PASSWORD",
        default_value = "",
        hide_default_value = true
    )]
    pub admin_ui_password: Secret,

    /// Origins allowed by CORS, comma separated, with credentials. Empty: any origin,
    /// without credentials (same-origin pages need no CORS at all).
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',', default_value = "")]
    pub cors_origins: Vec<String>,

    /// Longest message content, in characters.
    #[arg(long, env = "MAX_CONTENT_LEN", default_value_t = 10_000)]
    pub max_content_len: usize,
    /// Longest user, group or room name, in characters.
    #[arg(long, env = "MAX_NAME_LEN", default_value_t = 100)]
    pub max_name_len: usize,
    /// Most members a group may be created with.
    #[arg(long, env = "MAX_GROUP_SIZE", default_value_t = 10_000)]
    pub max_group_size: usize,
    /// Largest incoming WebSocket frame / HTTP body / polling payload, in bytes.
    #[arg(long, env = "MAX_FRAME_BYTES", default_value_t = 256 * 1024)]
    pub max_frame_bytes: usize,
    /// Packets buffered per Socket.IO connection before emits fail.
    #[arg(long, env = "SOCKET_BUFFER", default_value_t = 1024)]
    pub socket_buffer: usize,
    /// Milliseconds between the server's Engine.IO pings on a Socket.IO connection
    /// (socket.io's `pingInterval`).
    #[arg(long, env = "SOCKETIO_PING_INTERVAL_MS", default_value_t = 25_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub socketio_ping_interval_ms: u64,
    /// Milliseconds a Socket.IO client has to answer a ping before its connection
    /// is closed (socket.io's `pingTimeout`).
    #[arg(long, env = "SOCKETIO_PING_TIMEOUT_MS", default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub socketio_ping_timeout_ms: u64,
    /// Milliseconds a new Engine.IO session has to send its Socket.IO CONNECT
    /// before it is closed (socket.io's `connectTimeout`, 45 s there): a session
    /// that never connects holds its buffers and tasks until then.
    #[arg(long, env = "SOCKETIO_CONNECT_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub socketio_connect_timeout_ms: u64,
    /// Events a connection may have queued for processing before it is dropped as abusive.
    /// On raw WebSockets also the burst of frames a connection may send at once
    /// before `WS_FRAMES_PER_SECOND` applies.
    #[arg(long, env = "INBOX_CAPACITY", default_value_t = 1024)]
    pub inbox_capacity: usize,
    /// Frames per second a raw WebSocket connection may keep sending once its
    /// burst (`INBOX_CAPACITY` frames) is spent; faster for longer, it is closed as
    /// a flooder (1008; testcore 4000). The default matches the message budget's
    /// pace (30,000 a minute).
    #[arg(long, env = "WS_FRAMES_PER_SECOND", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub ws_frames_per_second: u32,
    /// Messages one user may send per minute, on every profile together (socket,
    /// WebSocket and REST); past it a send is refused on the profile's channel with
    /// a retry time, and the connection stays open. All of it may be spent at once;
    /// it refills evenly over the minute. Generous by default (benchmarks send
    /// 1,000+ a second from one user): lower it for people-only traffic.
    #[arg(long, env = "MESSAGES_PER_MINUTE", default_value_t = 30_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub messages_per_minute: u32,
    /// Most messages one history request returns: the original answers' page,
    /// and the largest `limit` a client may ask for (larger ones are clamped).
    #[arg(long, env = "HISTORY_PAGE", default_value_t = 500)]
    pub history_page: u64,
    /// Login attempts per minute per account (email), on every profile.
    #[arg(long, env = "LOGIN_PER_ACCOUNT_PER_MINUTE", default_value_t = 10)]
    pub login_per_account_per_minute: u32,
    /// Login attempts per minute per client address, on every profile.
    #[arg(long, env = "LOGIN_PER_IP_PER_MINUTE", default_value_t = 100)]
    pub login_per_ip_per_minute: u32,
    /// Events the bus buffers per subscriber before a slow one loses events.
    #[arg(long, env = "BUS_CAPACITY", default_value_t = 65_536)]
    pub bus_capacity: usize,
    /// Cluster mode: the Redis every node shares (e.g. `redis://127.0.0.1:6379/`).
    /// Unset: one process, no Redis. Set: the bus, presence, rate budgets and live
    /// calls ride Redis; needs PostgreSQL and every secret configured (README,
    /// "Cluster mode").
    #[arg(long, env = "REDIS_URL", default_value = "", hide_default_value = true)]
    pub redis_url: Secret,
    /// Cluster mode: this node's name (in logs and Redis keys). Default: random.
    #[arg(long, env = "CHATWIRE_NODE_ID", default_value = "")]
    pub node_id: String,

    /// Key for messages stored encrypted at rest: 64 hex characters (256 bits).
    /// When unset, generated once and kept in the secrets file.
    #[arg(
        long,
        env = "MESSAGE_ENCRYPTION_KEY",
        default_value = "",
        hide_default_value = true
    )]
    pub message_encryption_key: Secret,

    /// orgchat: requests per minute one user may make to `/api/chat` (GET and POST
    /// together); past it the answer is 429 with `Retry-After`.
    #[arg(long, env = "ORGCHAT_RATE_LIMIT_PER_MINUTE", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub orgchat_rate_limit_per_minute: u32,
    /// orgchat: largest `pageSize` of `GET /api/chat` (larger asks get this many).
    #[arg(long, env = "ORGCHAT_MAX_PAGE_SIZE", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub orgchat_max_page_size: u64,
    /// orgchat: store every room message encrypted at rest. When false, only the
    /// messages a client flags with `isEncrypted: true` are.
    #[arg(long, env = "ORGCHAT_ENCRYPT_MESSAGES", default_value_t = true, action = clap::ArgAction::Set)]
    pub orgchat_encrypt_messages: bool,
    /// orgchat: whether a user who registers into an existing organization gets the
    /// role they ask for (the original's behaviour). When false they become `user`;
    /// the creator of a new organization still gets the role they asked for.
    #[arg(long, env = "ORGCHAT_OPEN_ROLES", default_value_t = true, action = clap::ArgAction::Set)]
    pub orgchat_open_roles: bool,

    /// calls: seconds an unanswered call rings before it ends with reason `timeout`.
    #[arg(long, env = "CALL_RING_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub call_ring_timeout_secs: u64,
    /// calls: the Jitsi Meet server sent with every call offer (`domain`).
    #[arg(long, env = "JITSI_DOMAIN", default_value = "meet.jit.si")]
    pub jitsi_domain: String,
    /// calls: messages one user may send per minute (socket and REST together), on
    /// top of `MESSAGES_PER_MINUTE` (a calls message counts against both).
    #[arg(long, env = "CALLS_MESSAGES_PER_MINUTE", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub calls_messages_per_minute: u32,
    /// calls: calls one user may start per minute.
    #[arg(long, env = "CALLS_CALLS_PER_MINUTE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub calls_calls_per_minute: u32,

    /// testcore: whether a raw WebSocket needs a credential (`?token=`, Bearer, the
    /// `UserChatToken` cookie, or the login's `accessToken` cookie from a page of
    /// the same origin or a `CORS_ORIGINS` one). When false, a connection without one acts as the
    /// existing user its first frame's `userId` names (the original client sends
    /// no token).
    #[arg(long, env = "TESTCORE_STRICT_TOKENS", default_value_t = true, action = clap::ArgAction::Set)]
    pub testcore_strict_tokens: bool,
    /// testcore: requests one client address may make under `/api/v1` per window;
    /// past it the answer is 429.
    #[arg(long, env = "TESTCORE_RATE_LIMIT", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub testcore_rate_limit: u32,
    /// testcore: the rate-limit window in seconds (15 minutes, as the original).
    #[arg(long, env = "TESTCORE_RATE_LIMIT_WINDOW_SECS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..))]
    pub testcore_rate_limit_window_secs: u64,

    /// chatsphere: secret of API tokens (client and user). When unset, generated
    /// once and kept in the secrets file (so `chatwire token create` and the server agree).
    #[arg(
        long,
        env = "API_TOKEN_SECRET",
        default_value = "",
        hide_default_value = true
    )]
    pub api_token_secret: Secret,
    /// chatsphere: lifetime of API user tokens, in seconds.
    #[arg(long, env = "API_USER_TOKEN_TTL_SECS", default_value_t = 30 * 24 * 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub api_user_token_ttl_secs: u64,
    /// chatsphere: lifetime of API client tokens, in seconds.
    #[arg(long, env = "API_CLIENT_TOKEN_TTL_SECS", default_value_t = 365 * 24 * 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub api_client_token_ttl_secs: u64,
}

impl Config {
    /// The listener address of a profile.
    pub fn addr(&self, p: Profile) -> SocketAddr {
        match p {
            Profile::Expresschat => self.expresschat_addr,
            Profile::Calls => self.calls_addr,
            Profile::Orgchat => self.orgchat_addr,
            Profile::Chatsphere => self.chatsphere_addr,
            Profile::Testcore => self.testcore_addr,
        }
    }

    pub fn access_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl_secs)
    }

    pub fn refresh_ttl(&self) -> Duration {
        Duration::from_secs(self.refresh_token_ttl_secs)
    }

    /// The enabled profiles, deduplicated, in config order.
    pub fn served_profiles(&self) -> Vec<Profile> {
        let mut out = Vec::new();
        for p in &self.profiles {
            if !out.contains(p) {
                out.push(*p);
            }
        }
        out
    }

    /// A config from defaults and the environment only (no command line).
    pub fn from_env() -> Result<Self, clap::Error> {
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            config: Config,
        }
        use clap::Parser;
        Only::try_parse_from(["chatwire"]).map(|o| o.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse_case_insensitively() {
        assert_eq!("Calls".parse::<Profile>().unwrap(), Profile::Calls);
        assert!("nope".parse::<Profile>().is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret("hunter2".into());
        assert_eq!(format!("{s:?}"), "\"***\"");
    }
}
