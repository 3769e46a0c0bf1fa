//! Start-up and shutdown: builds the core from config, binds one listener per
//! enabled profile and serves them until the shutdown signal. Shutdown stops
//! accepting (after serving the connections already queued), lets in-flight
//! requests finish while every realtime connection is closed cleanly, then
//! lets the message writer commit and answer what it was given, each step
//! bounded, before returning.

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    config::{Config, Profile},
    core::{
        Core, CoreParts, CoreRef, Limits,
        bus::Bus,
        cluster,
        crypto::MessageCipher,
        db,
        identity::{
            api_tokens::ApiKeys,
            auth::{self, TokenKeys},
        },
        mail::Mailer,
        messages, secrets,
    },
    profiles,
    transport::listener::{Guarded, LINGER},
};

/// How long shutdown waits for in-flight HTTP requests, and then for the
/// message writer's last batches.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Builds the core: database (migrated), bus, keys, mailer.
pub async fn build_core(cfg: &Config) -> anyhow::Result<CoreRef> {
    build_core_with(cfg, None).await
}

/// As [`build_core`], with a mailer of the caller's (tests capture mails).
pub async fn build_core_with(cfg: &Config, mailer: Option<Mailer>) -> anyhow::Result<CoreRef> {
    // The metrics recorder goes in first: counted from the start, not from the
    // first scrape of /metrics.
    crate::telemetry::metrics();
    let clustered = !cfg.redis_url.0.trim().is_empty();
    if clustered {
        check_cluster_config(cfg)?;
    }
    let db = db::connect_and_migrate(&cfg.database_url, cfg.database_max_connections)
        .await
        .with_context(|| format!("opening database {}", redact_url(&cfg.database_url)))?;
    let configured = [
        ("jwt_access", &cfg.jwt_access_secret.0),
        ("jwt_refresh", &cfg.jwt_refresh_secret.0),
        ("message_key", &cfg.message_encryption_key.0),
        ("api_token", &cfg.api_token_secret.0),
    ];
    let unset: Vec<&'static str> = configured
        .iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(name, _)| *name)
        .collect();
    let generated = if unset.is_empty() {
        Default::default()
    } else {
        let path = secrets::file_for(&cfg.database_url, &cfg.secrets_file);
        secrets::load(&db, &path, &unset, || auth::random_hex(32)).await?
    };
    let secret = |name: &str| -> anyhow::Result<String> {
        let (_, value) = configured
            .iter()
            .find(|(n, _)| *n == name)
            .context("unknown secret")?;
        match value.is_empty() {
            false => Ok((*value).clone()),
            true => generated.get(name).cloned().context("secret not generated"),
        }
    };
    let access = secret("jwt_access")?;
    let refresh = secret("jwt_refresh")?;
    let message_key = secret("message_key")?;
    let api_secret = secret("api_token")?;
    anyhow::ensure!(
        access != refresh,
        "JWT_ACCESS_SECRET and JWT_REFRESH_SECRET must differ"
    );
    let keys = TokenKeys::new(
        access.as_bytes(),
        refresh.as_bytes(),
        cfg.access_ttl(),
        cfg.refresh_ttl(),
        cfg.bcrypt_cost,
    );
    let smtp = Some(cfg.smtp_url.0.as_str()).filter(|s| !s.is_empty());
    let mailer = match mailer {
        Some(m) => m,
        None => Mailer::new(smtp, &cfg.mail_from).context("SMTP_URL")?,
    };
    if smtp.is_none() {
        tracing::info!("SMTP_URL unset: mails are written to the log");
    }
    let limits = Limits {
        max_content_len: cfg.max_content_len,
        max_name_len: cfg.max_name_len,
        max_group_size: cfg.max_group_size,
        history_page: cfg.history_page,
        login_per_account_per_minute: cfg.login_per_account_per_minute,
        login_per_ip_per_minute: cfg.login_per_ip_per_minute,
        messages_per_minute: cfg.messages_per_minute,
    };
    // The message writer keeps a connection of its own (core/messages/writer).
    let writer_db = messages::WriterStore::open(&cfg.database_url).await?;
    let cipher = MessageCipher::from_hex(&message_key)
        .map_err(|e| anyhow::anyhow!("MESSAGE_ENCRYPTION_KEY: {e}"))?;
    let api_keys = ApiKeys::new(
        api_secret.as_bytes(),
        Duration::from_secs(cfg.api_user_token_ttl_secs),
        Duration::from_secs(cfg.api_client_token_ttl_secs),
    );
    let (bus, cluster) = if clustered {
        let node = match cfg.node_id.trim() {
            "" => format!("node-{}", auth::random_hex(4)),
            id => id.to_owned(),
        };
        let (bus, link) = cluster::start(
            cfg.redis_url.0.trim(),
            node,
            cipher.clone(),
            cfg.bus_capacity,
        )?;
        (bus, Some(link))
    } else {
        (Bus::new(cfg.bus_capacity), None)
    };
    let core = Arc::new(Core::new(CoreParts {
        db,
        writer_db,
        bus,
        cluster,
        keys,
        api_keys,
        cipher,
        mailer,
        limits,
        public_url: cfg.public_url.clone(),
    }));
    Ok(core)
}

/// Cluster mode (`REDIS_URL` set) needs a database every node shares and the same
/// secrets on every node: refuses to start otherwise, saying what to set.
fn check_cluster_config(cfg: &Config) -> anyhow::Result<()> {
    anyhow::ensure!(
        cfg.database_url.starts_with("postgres"),
        "cluster mode (REDIS_URL is set) needs PostgreSQL shared by every node, \
         but DATABASE_URL is {}: set DATABASE_URL=postgres://..., or unset REDIS_URL \
         to run one process on SQLite",
        redact_url(&cfg.database_url)
    );
    let missing: Vec<&str> = [
        ("JWT_ACCESS_SECRET", &cfg.jwt_access_secret.0),
        ("JWT_REFRESH_SECRET", &cfg.jwt_refresh_secret.0),
        ("MESSAGE_ENCRYPTION_KEY", &cfg.message_encryption_key.0),
        ("API_TOKEN_SECRET", &cfg.api_token_secret.0),
    ]
    .into_iter()
    .filter(|(_, v)| v.trim().is_empty())
    .map(|(name, _)| name)
    .collect();
    anyhow::ensure!(
        missing.is_empty(),
        "cluster mode (REDIS_URL is set) needs the same secrets on every node, \
         but {} {} not set: give every node the same values (a secret generated \
         per node would split the cluster)",
        missing.join(", "),
        if missing.len() == 1 { "is" } else { "are" }
    );
    Ok(())
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}

/// A running server: its bound addresses and the handle to stop it.
pub struct Running {
    pub core: CoreRef,
    pub addrs: BTreeMap<Profile, SocketAddr>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Signals shutdown and waits until every listener has stopped.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }

    /// The shutdown token: cancelling it stops the server.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits until the server has stopped (after the token was cancelled).
    pub async fn wait(self) {
        let _ = self.task.await;
    }

    pub fn url(&self, p: Profile) -> Option<String> {
        self.addrs.get(&p).map(|a| display_url(*a))
    }
}

/// The URL a person would type for a bound address.
pub fn display_url(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("http://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}

/// Binds every enabled profile's listener and starts serving in the background.
pub async fn start(cfg: Config) -> anyhow::Result<Running> {
    let core = build_core(&cfg).await?;
    start_core(cfg, core).await
}

/// Binds every enabled profile's listener and serves it with a core already built.
pub async fn start_core(cfg: Config, core: CoreRef) -> anyhow::Result<Running> {
    let mut listeners = Vec::new();
    for p in cfg.served_profiles() {
        let addr = cfg.addr(p);
        let l = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {p} on {addr}"))?;
        listeners.push((p, l));
    }
    start_with(cfg, core, listeners).await
}

/// Serves the given listeners (already bound, e.g. on port 0 in tests).
pub async fn start_with(
    cfg: Config,
    core: CoreRef,
    listeners: Vec<(Profile, TcpListener)>,
) -> anyhow::Result<Running> {
    let mut cfg = cfg;
    crate::transport::admin::hash_config(&mut cfg).await?;
    let shutdown = CancellationToken::new();
    let lingering = TaskTracker::new();
    let mut addrs = BTreeMap::new();
    let mut servers = Vec::new();
    let mut closers = Vec::new();
    for (p, listener) in listeners {
        let addr = listener.local_addr()?;
        addrs.insert(p, addr);
        if p == Profile::Expresschat {
            core.set_listener_url(display_url(addr));
        }
        let built = profiles::build(p, core.clone(), &cfg, shutdown.clone())?;
        closers.push(built.closer);
        let listener = Guarded::new(
            listener,
            built.envelope,
            shutdown.clone(),
            lingering.clone(),
        );
        let drained = listener.drained();
        let token = shutdown.clone();
        servers.push(tokio::spawn(async move {
            // Small frames go out at once: with Nagle's algorithm a frame written
            // right after another waited for the peer's delayed ACK (up to 40 ms),
            // e.g. the second and third greeting events (BENCHMARKS.md).
            let listener = listener.tap_io(|io| {
                if let Err(e) = io.tcp().set_nodelay(true) {
                    tracing::debug!(error = %e, "TCP_NODELAY not set");
                }
            });
            // axum stops accepting once the listener drained its queue, lets
            // every request it has begun finish (hyper's graceful shutdown:
            // no keep-alive after the answer) and returns when the last
            // connection closed.
            let router = crate::transport::http::close_when(built.router, token);
            let result = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(drained.cancelled_owned())
            .await;
            if let Err(e) = result {
                tracing::error!(profile = %p, error = %e, "listener failed");
            }
        }));
    }
    // Rate-limit maps keep only keys seen lately, histogram samples are folded into
    // their buckets, freed memory goes back to the system.
    let (tidy_core, tidy_stop) = (core.clone(), shutdown.clone());
    tokio::spawn(async move {
        let mut every = tokio::time::interval(crate::core::memory::EVERY);
        let mut ticks = 0u64;
        loop {
            tokio::select! {
                _ = every.tick() => {
                    ticks += 1;
                    if ticks.is_multiple_of(6) {
                        tidy_core.logins.forget_idle();
                        tidy_core.message_budget.forget_idle();
                    }
                    crate::telemetry::upkeep();
                    tokio::task::spawn_blocking(crate::core::memory::give_back);
                }
                _ = tidy_stop.cancelled() => break,
            }
        }
    });
    // Cluster mode: this node's heartbeat and presence in Redis.
    tokio::spawn(crate::core::presence::keep_cluster(
        core.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(crate::core::calls::keep_cluster(
        core.clone(),
        shutdown.clone(),
    ));
    let token = shutdown.clone();
    let writer_core = core.clone();
    let task = tokio::spawn(async move {
        token.cancelled().await;
        tracing::info!("shutting down: finishing requests, closing realtime connections");
        // HTTP requests finish while the realtime connections are closed (close
        // frames, Socket.IO disconnect packets), each bounded.
        let realtime = async {
            for close in closers.into_iter().flatten() {
                close.await;
            }
        };
        let http = tokio::time::timeout(SHUTDOWN_GRACE, futures_util::future::join_all(servers));
        let (_, http) = tokio::join!(realtime, http);
        if http.is_err() {
            tracing::warn!("requests still in flight at shutdown");
        }
        // Connections closed last still drain what their peers send.
        lingering.close();
        let _ = tokio::time::timeout(LINGER, lingering.wait()).await;
        // Every message a request or event handed over is committed and
        // answered before the process ends; new ones are refused.
        if tokio::time::timeout(SHUTDOWN_GRACE, writer_core.close_writer())
            .await
            .is_err()
        {
            tracing::warn!("message writer still busy at shutdown");
        }
        tracing::info!("stopped");
    });
    Ok(Running {
        core,
        addrs,
        shutdown,
        task,
    })
}
