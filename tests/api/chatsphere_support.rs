//! chatsphere request helpers: an app with a first client token (minted through
//! the core, as `chatwire token create --client` does), users with user tokens,
//! rooms, and requests with a token in any of the places the original reads.

use chatwire::{
    config::Profile,
    core::{conversations::rooms::shared, identity::api_tokens},
};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

/// A fixed API token secret, so a restarted app accepts the same tokens.
pub const SECRET: &str = "--api-token-secret=test-api-token-secret";

pub struct Sphere {
    pub app: TestApp,
    /// A client token of the user `admin`.
    pub client: String,
    pub admin_id: String,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
}

/// Where a request carries its token.
#[derive(Clone, Copy)]
pub enum Via {
    Bearer,
    Query,
    Cookie,
}

pub async fn sphere() -> Sphere {
    let app = spawn_app_with(&[SECRET]).await;
    let admin = shared::create_user(&app.core, "admin")
        .await
        .expect("admin user");
    let t = api_tokens::issue(
        &app.core,
        &admin,
        api_tokens::Kind::Client,
        None,
        Some("admin@example.com".into()),
    )
    .await
    .expect("client token");
    Sphere {
        app,
        client: t.token,
        admin_id: admin.id.to_string(),
    }
}

pub async fn call_via(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    via: Via,
    body: Option<Value>,
) -> Reply {
    let mut url = app.url(Profile::Chatsphere, path);
    if let (Some(t), Via::Query) = (token, via) {
        url.push_str(if url.contains('?') {
            "&token="
        } else {
            "?token="
        });
        url.push_str(t);
    }
    // A client without a cookie store, so a cookie is only sent when asked for.
    let mut req = reqwest::Client::new().request(method, url);
    match (token, via) {
        (Some(t), Via::Bearer) => req = req.bearer_auth(t),
        (Some(t), Via::Cookie) => req = req.header("cookie", format!("user_api_token={t}")),
        _ => {}
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let body = r.json().await.unwrap_or(Value::Null);
    Reply { status, body }
}

pub async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    call_via(app, method, path, token, Via::Bearer, body).await
}

pub async fn get(app: &TestApp, path: &str, token: Option<&str>) -> Reply {
    call(app, reqwest::Method::GET, path, token, None).await
}

pub async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> Reply {
    call(app, reqwest::Method::POST, path, token, Some(body)).await
}

pub async fn delete(app: &TestApp, path: &str, token: Option<&str>) -> Reply {
    call(app, reqwest::Method::DELETE, path, token, None).await
}

/// A user made with `POST /api/users`: (id, user token, token id).
pub async fn user(s: &Sphere, name: &str) -> (String, String, String) {
    let r = post(
        &s.app,
        "/api/users",
        Some(&s.client),
        json!({"username": name}),
    )
    .await;
    assert_eq!(r.status, 201, "create user {name}: {}", r.body);
    (
        r.body["user"]["id"].as_str().unwrap().to_owned(),
        r.body["token"].as_str().unwrap().to_owned(),
        r.body["id"].as_str().unwrap().to_owned(),
    )
}

/// A room made by the token's user; returns its id.
pub async fn room(s: &Sphere, token: &str, name: &str, private: bool) -> String {
    let r = post(
        &s.app,
        "/api/rooms",
        Some(token),
        json!({"name": name, "isPrivate": private}),
    )
    .await;
    assert_eq!(r.status, 201, "create room: {}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

pub fn error_of(r: &Reply) -> &str {
    r.body["error"].as_str().unwrap_or_default()
}
