//! orgchat request helpers: register, log in, call the REST routes with a token.

use chatwire::config::Profile;
use serde_json::{Value, json};

use crate::helpers::{Auth, Reply, TestApp};

/// A registered and logged-in orgchat user.
#[derive(Clone, Debug)]
pub struct OrgUser {
    pub id: i64,
    pub org: i64,
    pub email: String,
    pub access: String,
    pub refresh: String,
}

pub async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let auth = token.map_or(Auth::None, Auth::Bearer);
    app.request(Profile::Orgchat, method, path)
        .auth(auth)
        .json(body)
        .send()
        .await
}

pub async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> Reply {
    call(app, reqwest::Method::POST, path, token, Some(body)).await
}

pub async fn get(app: &TestApp, path: &str, token: Option<&str>) -> Reply {
    call(app, reqwest::Method::GET, path, token, None).await
}

pub async fn register(app: &TestApp, username: &str, org: &str, role: &str) -> Reply {
    post(
        app,
        "/api/auth/register",
        None,
        json!({
            "username": username,
            "email": format!("{}@{}.test", username.replace(' ', "."), org.replace(' ', "")),
            "password": "password1234",
            "organizationName": org,
            "role": role,
        }),
    )
    .await
}

/// Registers and logs in.
pub async fn member(app: &TestApp, username: &str, org: &str, role: &str) -> OrgUser {
    let r = register(app, username, org, role).await;
    assert_eq!(r.status, 201, "register {username}: {}", r.body);
    let email = r.body["user"]["email"].as_str().unwrap().to_owned();
    let l = post(
        app,
        "/api/auth/login",
        None,
        json!({"email": email, "password": "password1234"}),
    )
    .await;
    assert_eq!(l.status, 200, "login {username}: {}", l.body);
    OrgUser {
        id: l.body["user"]["id"].as_i64().unwrap(),
        org: l.body["user"]["organization_id"].as_i64().unwrap(),
        email,
        access: l.body["accessToken"].as_str().unwrap().to_owned(),
        refresh: l.body["refreshToken"].as_str().unwrap().to_owned(),
    }
}

/// Creates a room through `POST /api/chat`; returns its id.
pub async fn room(app: &TestApp, user: &OrgUser, name: &str) -> i64 {
    let r = post(app, "/api/chat", Some(&user.access), json!({"name": name})).await;
    assert_eq!(r.status, 201, "create room: {}", r.body);
    r.body["id"].as_i64().unwrap()
}
