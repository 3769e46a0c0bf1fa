//! `spawn_app()`: the whole server on port 0 with a fresh database, and a
//! `TestApp` with request helpers.

use std::sync::{Arc, Mutex};

use chatwire::{
    app::{self, Running},
    config::{Config, Profile},
    core::{
        CoreRef,
        mail::{Mail, Mailer},
    },
};
use clap::Parser;
use sea_orm::{ConnectionTrait, Database};

pub struct TestApp {
    pub running: Option<Running>,
    pub core: CoreRef,
    pub outbox: Arc<Mutex<Vec<Mail>>>,
    pub client: reqwest::Client,
    /// The database this app runs on (a restart reuses it).
    pub database_url: String,
    _dir: tempfile::TempDir,
}

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    config: Config,
}

/// A database URL for one test: a new SQLite file, or a new PostgreSQL database.
pub async fn fresh_database(dir: &tempfile::TempDir) -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let name = format!("cw_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(url.as_str())
                .await
                .expect("connect to PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            let (base, _) = url
                .rsplit_once('/')
                .expect("DATABASE_URL has a database name");
            format!("{base}/{name}")
        }
        _ => format!("sqlite://{}/chatwire.db?mode=rwc", dir.path().display()),
    }
}

/// A config for tests: every listener on 127.0.0.1:0, cheap bcrypt; secrets are
/// generated and kept in the test's database, as on a fresh install.
pub fn test_config(database_url: &str, extra: &[&str]) -> Config {
    let mut args = vec![
        "chatwire".to_owned(),
        format!("--database-url={database_url}"),
        "--database-max-connections=5".into(),
        "--bcrypt-cost=4".into(),
    ];
    for p in Profile::ALL {
        args.push(format!("--{}-addr=127.0.0.1:0", p.name()));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    Args::try_parse_from(args).expect("test config").config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database(&dir).await;
    start_on(dir, url, extra).await
}

/// Starts a server on an existing database (`dir` keeps a SQLite file alive).
async fn start_on(dir: tempfile::TempDir, url: String, extra: &[&str]) -> TestApp {
    let cfg = test_config(&url, extra);
    let outbox = Arc::new(Mutex::new(Vec::new()));
    let core = app::build_core_with(&cfg, Some(Mailer::Capture(outbox.clone())))
        .await
        .expect("core");
    let running = app::start_core(cfg, core.clone())
        .await
        .expect("server starts");
    TestApp {
        running: Some(running),
        core,
        outbox,
        client: reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client"),
        database_url: url,
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, p: Profile, path: &str) -> String {
        let base = self
            .running
            .as_ref()
            .and_then(|r| r.url(p))
            .expect("profile is served");
        format!("{base}{path}")
    }

    pub fn express(&self, path: &str) -> String {
        self.url(Profile::Expresschat, path)
    }

    /// The newest mail sent to `to`.
    pub fn last_mail(&self, to: &str) -> Mail {
        self.outbox
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m.to == to)
            .cloned()
            .unwrap_or_else(|| panic!("no mail to {to}"))
    }

    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let r = self
            .client
            .post(self.express(path))
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Signs up, verifies through the mailed link and logs in (cookies kept by
    /// `self.client`).
    pub async fn signup_verified(&self, name: &str, email: &str, password: &str) {
        let (s, _) = self
            .post_json(
                "/signup",
                serde_json::json!({"name": name, "email": email, "password": password}),
            )
            .await;
        assert_eq!(s, 200);
        let link = self.last_mail(email).link.expect("mail has a link");
        let r = self.client.get(link).send().await.expect("verify");
        assert_eq!(r.status().as_u16(), 200);
    }

    /// Stops this server and starts a new one on the same database (a restart).
    pub async fn restart(mut self, extra: &[&str]) -> TestApp {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        let TestApp {
            database_url, _dir, ..
        } = self;
        start_on(_dir, database_url, extra).await
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }
}
