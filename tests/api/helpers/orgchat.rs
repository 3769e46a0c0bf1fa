//! orgchat's named requests: register, log in, refresh, and the rooms of
//! `/api/chat`, with the access token as Bearer.

use chatwire::config::Profile;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Auth, ProfileClient, Reply, TestApp};

pub struct Orgchat<'a> {
    app: &'a TestApp,
}

impl TestApp {
    pub fn orgchat(&self) -> Orgchat<'_> {
        Orgchat { app: self }
    }
}

/// A registered and logged-in orgchat user.
#[derive(Clone, Debug)]
pub struct OrgUser {
    pub id: i64,
    pub org: i64,
    pub email: String,
    pub access: String,
    pub refresh: String,
}

impl<'a> Orgchat<'a> {
    fn api(&self) -> ProfileClient<'a> {
        self.app.profile(Profile::Orgchat)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: impl Into<Option<Value>>,
    ) -> Reply {
        self.api()
            .call(method, path, Auth::bearer(token), body)
            .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, body).await
    }

    /// `POST /api/auth/register` with a body that is not JSON at all.
    pub async fn register_raw(&self, text: &str) -> Reply {
        self.api()
            .request(Method::POST, "/api/auth/register")
            .raw(Some("application/json"), text)
            .send()
            .await
    }

    /// Registers `username` in organization `org` (made when new) with the
    /// email `{username}@{org}.test`.
    pub async fn register(&self, username: &str, org: &str, role: &str) -> Reply {
        self.post(
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

    pub async fn login(&self, body: Value) -> Reply {
        self.post("/api/auth/login", None, body).await
    }

    pub async fn refresh(&self, body: Value) -> Reply {
        self.post("/api/auth/refresh-token", None, body).await
    }

    /// Registers and logs in.
    pub async fn member(&self, username: &str, org: &str, role: &str) -> OrgUser {
        let r = self.register(username, org, role).await;
        assert_eq!(r.status, 201, "register {username}: {}", r.body);
        let email = r.body["user"]["email"].as_str().unwrap().to_owned();
        let l = self
            .login(json!({"email": email, "password": "password1234"}))
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

    /// `GET /api/chat`, the first page of the rooms.
    pub async fn rooms(&self, token: Option<&str>) -> Reply {
        self.get("/api/chat", token).await
    }

    /// `GET /api/chat?{query}`.
    pub async fn rooms_page(&self, token: Option<&str>, query: &str) -> Reply {
        self.get(&format!("/api/chat?{query}"), token).await
    }

    pub async fn create_room(&self, token: Option<&str>, body: Value) -> Reply {
        self.post("/api/chat", token, body).await
    }

    /// The room set-up: `user` creates room `name`; its id.
    pub async fn room(&self, user: &OrgUser, name: &str) -> i64 {
        let r = self
            .create_room(Some(&user.access), json!({"name": name}))
            .await;
        assert_eq!(r.status, 201, "create room: {}", r.body);
        r.body["id"].as_i64().unwrap()
    }
}
