//! chatsphere's named requests: an app with a first client token (minted through
//! the core, as `chatwire token create --client` does), users with user tokens,
//! rooms and messages, and a token in any of the places the original reads.
//! Requests go out without a cookie jar, so a cookie is only sent when asked for.

use chatwire::{
    config::Profile,
    core::{conversations::rooms::shared, identity::api_tokens},
};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Auth, ProfileClient, Reply, TestApp, spawn_app_with};

/// A fixed API token secret, so a restarted app accepts the same tokens.
pub const SECRET: &str = "--api-token-secret=test-api-token-secret";

pub struct Sphere {
    pub app: TestApp,
    /// A client token of the user `admin`.
    pub client: String,
    pub admin_id: String,
}

/// An app whose user `admin` holds a client token.
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

/// Where a request carries its token.
#[derive(Clone, Copy)]
pub enum Via {
    Bearer,
    Query,
    /// The cookie `user_api_token`.
    Cookie,
}

pub struct Chatsphere<'a> {
    app: &'a TestApp,
}

impl TestApp {
    pub fn chatsphere(&self) -> Chatsphere<'_> {
        Chatsphere { app: self }
    }
}

impl<'a> Chatsphere<'a> {
    fn api(&self) -> ProfileClient<'a> {
        self.app.profile(Profile::Chatsphere).without_cookies()
    }

    pub async fn call_via(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        via: Via,
        body: impl Into<Option<Value>>,
    ) -> Reply {
        let cookie;
        let auth = match (token, via) {
            (None, _) => Auth::None,
            (Some(t), Via::Bearer) => Auth::Bearer(t),
            (Some(t), Via::Query) => Auth::Query(t),
            (Some(t), Via::Cookie) => {
                cookie = format!("user_api_token={t}");
                Auth::Cookie(&cookie)
            }
        };
        self.api().call(method, path, auth, body).await
    }

    /// A request with the token (if any) as Bearer.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: impl Into<Option<Value>>,
    ) -> Reply {
        self.call_via(method, path, token, Via::Bearer, body).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, body).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::DELETE, path, token, None).await
    }

    pub async fn health(&self) -> Reply {
        self.get("/api/health", None).await
    }

    /// `POST /api/users` (a client token's right).
    pub async fn create_user(&self, token: Option<&str>, body: Value) -> Reply {
        self.post("/api/users", token, body).await
    }

    /// The user set-up: `client` (a client token) creates user `name`; returns
    /// (id, user token, token id).
    pub async fn user(&self, client: &str, name: &str) -> (String, String, String) {
        let r = self
            .create_user(Some(client), json!({"username": name}))
            .await;
        assert_eq!(r.status, 201, "create user {name}: {}", r.body);
        (
            r.body["user"]["id"].as_str().unwrap().to_owned(),
            r.body["token"].as_str().unwrap().to_owned(),
            r.body["id"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn users(&self, token: Option<&str>) -> Reply {
        self.get("/api/users", token).await
    }

    pub async fn profile(&self, token: Option<&str>) -> Reply {
        self.get("/api/auth/profile", token).await
    }

    pub async fn update_profile(&self, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::PUT, "/api/auth/profile", token, body)
            .await
    }

    /// `POST /api/tokens/user`.
    pub async fn issue_user_token(&self, token: Option<&str>, body: Value) -> Reply {
        self.post("/api/tokens/user", token, body).await
    }

    /// `POST /api/tokens/client`.
    pub async fn issue_client_token(&self, token: Option<&str>, body: Value) -> Reply {
        self.post("/api/tokens/client", token, body).await
    }

    /// `DELETE /api/tokens/{id}`.
    pub async fn delete_token(&self, token: Option<&str>, id: &str) -> Reply {
        self.delete(&format!("/api/tokens/{id}"), token).await
    }

    /// `PUT /api/tokens/{id}/revoke`.
    pub async fn revoke_token(&self, token: Option<&str>, id: &str) -> Reply {
        let path = format!("/api/tokens/{id}/revoke");
        self.call(Method::PUT, &path, token, None).await
    }

    /// `GET /api/rooms`.
    pub async fn rooms(&self, token: Option<&str>) -> Reply {
        self.get("/api/rooms", token).await
    }

    /// `POST /api/rooms`.
    pub async fn create_room(&self, token: Option<&str>, body: Value) -> Reply {
        self.post("/api/rooms", token, body).await
    }

    /// The room set-up: the token's user creates room `name`; its id.
    pub async fn room(&self, token: &str, name: &str, private: bool) -> String {
        let r = self
            .create_room(Some(token), json!({"name": name, "isPrivate": private}))
            .await;
        assert_eq!(r.status, 201, "create room: {}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// `GET /api/rooms/{id}`.
    pub async fn room_details(&self, token: Option<&str>, room: &str) -> Reply {
        self.get(&format!("/api/rooms/{room}"), token).await
    }

    /// `DELETE /api/rooms/{id}`.
    pub async fn delete_room(&self, token: Option<&str>, room: &str) -> Reply {
        self.delete(&format!("/api/rooms/{room}"), token).await
    }

    /// `POST /api/rooms/{id}/users` with `userId`.
    pub async fn add_member(&self, token: Option<&str>, room: &str, user: &str) -> Reply {
        let path = format!("/api/rooms/{room}/users");
        self.post(&path, token, json!({"userId": user})).await
    }

    /// `GET /api/rooms/{id}/messages`.
    pub async fn messages(&self, token: Option<&str>, room: &str) -> Reply {
        self.get(&format!("/api/rooms/{room}/messages"), token)
            .await
    }

    /// `POST /api/rooms/{id}/messages` with `content`.
    pub async fn send_message(&self, token: Option<&str>, room: &str, content: &str) -> Reply {
        let path = format!("/api/rooms/{room}/messages");
        self.post(&path, token, json!({"content": content})).await
    }

    /// `GET /api/messages`: every message (a client token's right).
    pub async fn all_messages(&self, token: Option<&str>) -> Reply {
        self.get("/api/messages", token).await
    }

    /// `GET /api/messages/user`: the token's user's messages.
    pub async fn my_messages(&self, token: Option<&str>) -> Reply {
        self.get("/api/messages/user", token).await
    }

    /// `GET /api/users/{id}/messages`.
    pub async fn user_messages(&self, token: Option<&str>, user: &str) -> Reply {
        self.get(&format!("/api/users/{user}/messages"), token)
            .await
    }
}

/// The `error` string of a chatsphere refusal.
pub fn error_of(r: &Reply) -> &str {
    r.body["error"].as_str().unwrap_or_default()
}
