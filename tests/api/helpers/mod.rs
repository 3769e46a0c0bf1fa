//! The test client. `spawn_app()` starts the whole server on port 0 with a fresh
//! database. A `Request` (from `app.profile(..)`) is the one way a test talks
//! HTTP to it, and `Reply` the one answer. Each profile's named requests live in
//! its own file and hang off the app: `app.testcore().create_chat(..)`,
//! `app.orgchat().member(..)`, `app.chatsphere()`, `app.calls()`,
//! `app.expresschat()`. `ws` is the raw WebSocket client; `core_fixtures` the
//! Arrange steps that go through the core directly (users, messages, calls) for
//! tests of core rules.

pub mod calls;
pub mod chatsphere;
pub mod core_fixtures;
pub mod expresschat;
pub mod orgchat;
pub mod testcore;
pub mod ws;

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
use reqwest::{Method, header::HeaderMap};
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;

pub struct TestApp {
    pub running: Option<Running>,
    pub core: CoreRef,
    pub outbox: Arc<Mutex<Vec<Mail>>>,
    /// Keeps cookies, as a browser does: expresschat's session lives in it.
    client: reqwest::Client,
    /// Keeps no cookies, so a request carries only the credential it is given.
    bare: reqwest::Client,
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
        bare: reqwest::Client::new(),
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

    /// `profile`'s listener, reached from the client that keeps cookies; the
    /// base of that profile's named requests.
    pub fn profile(&self, profile: Profile) -> ProfileClient<'_> {
        ProfileClient {
            app: self,
            profile,
            cookies: true,
        }
    }

    /// Opens a link (from a mail) as the browser would: GET, cookies kept.
    pub async fn follow(&self, link: &str) -> Reply {
        Request {
            app: self,
            cookies: true,
            method: Method::GET,
            url: link.to_owned(),
            auth: Auth::None,
            body: None,
        }
        .send()
        .await
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

/// One profile's listener: what each profile file builds its named requests on.
#[derive(Clone, Copy)]
pub struct ProfileClient<'a> {
    app: &'a TestApp,
    profile: Profile,
    cookies: bool,
}

impl<'a> ProfileClient<'a> {
    /// Requests go out from the client that keeps no cookies: each carries only
    /// the credential it is given.
    pub fn without_cookies(self) -> Self {
        ProfileClient {
            cookies: false,
            ..self
        }
    }

    pub fn request(&self, method: Method, path: &str) -> Request<'a> {
        Request {
            app: self.app,
            cookies: self.cookies,
            method,
            url: self.app.url(self.profile, path),
            auth: Auth::None,
            body: None,
        }
    }

    /// Sends `method path` with a credential and a JSON body (`None`: no body).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: impl Into<Option<Value>>,
    ) -> Reply {
        self.request(method, path)
            .auth(auth)
            .json(body)
            .send()
            .await
    }
}

/// Where a request carries its credential.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    /// `token=…` in the query string.
    Query(&'a str),
    /// A whole `Cookie` header, such as `accessToken=…`.
    Cookie(&'a str),
}

impl<'a> Auth<'a> {
    /// The token, if any, as Bearer.
    pub fn bearer(token: Option<&'a str>) -> Self {
        token.map_or(Auth::None, Auth::Bearer)
    }
}

enum Body {
    Json(Value),
    /// Sent as it is: for bodies that are not JSON at all.
    Raw {
        content_type: Option<&'static str>,
        text: String,
    },
}

/// One request, made by `ProfileClient::request` and sent by `send`.
pub struct Request<'a> {
    app: &'a TestApp,
    cookies: bool,
    method: Method,
    url: String,
    auth: Auth<'a>,
    body: Option<Body>,
}

impl<'a> Request<'a> {
    pub fn auth(mut self, auth: Auth<'a>) -> Self {
        self.auth = auth;
        self
    }

    /// A JSON body (`None`: no body).
    pub fn json(mut self, body: impl Into<Option<Value>>) -> Self {
        self.body = body.into().map(Body::Json);
        self
    }

    /// A body sent as it is, such as malformed JSON.
    pub fn raw(mut self, content_type: Option<&'static str>, text: &str) -> Self {
        self.body = Some(Body::Raw {
            content_type,
            text: text.to_owned(),
        });
        self
    }

    pub async fn send(self) -> Reply {
        let mut url = self.url;
        if let Auth::Query(t) = self.auth {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str("token=");
            url.push_str(t);
        }
        let client = if self.cookies {
            &self.app.client
        } else {
            &self.app.bare
        };
        let mut req = client.request(self.method, url);
        match self.auth {
            Auth::None | Auth::Query(_) => {}
            Auth::Bearer(t) => req = req.bearer_auth(t),
            Auth::Cookie(c) => req = req.header("cookie", c),
        }
        match self.body {
            None => {}
            Some(Body::Json(b)) => req = req.json(&b),
            Some(Body::Raw { content_type, text }) => {
                if let Some(t) = content_type {
                    req = req.header("content-type", t);
                }
                req = req.body(text);
            }
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.expect("response body");
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
            headers,
        }
    }
}

/// The answer to a request.
pub struct Reply {
    pub status: u16,
    /// The body as JSON; `Null` when it is not JSON.
    pub body: Value,
    /// The body as it came.
    pub text: String,
    pub headers: HeaderMap,
}

impl Reply {
    /// Every `Set-Cookie` header, attributes included.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    /// The `Set-Cookie` header of cookie `name`, attributes included.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.split_once('=').is_some_and(|(n, _)| n.trim() == name))
    }

    /// (name, value) of every cookie set, as a cookie jar would store them.
    pub fn cookies(&self) -> Vec<(&str, &str)> {
        self.set_cookies()
            .into_iter()
            .filter_map(|c| c.split(';').next()?.split_once('='))
            .map(|(n, v)| (n.trim(), v.trim()))
            .collect()
    }

    /// The value cookie `name` is set to.
    pub fn cookie_value(&self, name: &str) -> Option<&str> {
        self.cookies()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }
}
