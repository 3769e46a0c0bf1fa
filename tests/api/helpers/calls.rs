//! The calls profile's named requests (`/api/auth`, `/api/messages`,
//! `/api/calls`, the token as Bearer) and its `{success, error: {code}}` envelope.

use chatwire::config::Profile;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Auth, ProfileClient, Reply, TestApp};

pub struct Calls<'a> {
    app: &'a TestApp,
}

impl TestApp {
    pub fn calls(&self) -> Calls<'_> {
        Calls { app: self }
    }
}

impl<'a> Calls<'a> {
    fn api(&self) -> ProfileClient<'a> {
        self.app.profile(Profile::Calls)
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

    pub async fn register(&self, body: Value) -> Reply {
        self.call(Method::POST, "/api/auth/register", None, body)
            .await
    }

    pub async fn login(&self, body: Value) -> Reply {
        self.call(Method::POST, "/api/auth/login", None, body).await
    }

    /// `POST /api/auth/login` with a body that is not JSON at all.
    pub async fn login_raw(&self, text: &str) -> Reply {
        self.api()
            .request(Method::POST, "/api/auth/login")
            .raw(Some("application/json"), text)
            .send()
            .await
    }

    /// The user set-up: registers `name` as `{name}@calls.test` with the
    /// password `secret`; returns (token, id).
    pub async fn user(&self, name: &str) -> (String, String) {
        let r = self
            .register(
                json!({"name": name, "email": format!("{name}@calls.test"), "password": "secret"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        (
            r.body["token"].as_str().unwrap().to_owned(),
            r.body["user"]["id"].as_str().unwrap().to_owned(),
        )
    }

    /// `GET /api/messages`.
    pub async fn messages(&self, token: Option<&str>) -> Reply {
        self.call(Method::GET, "/api/messages", token, None).await
    }

    /// `GET /api/messages?{query}`.
    pub async fn messages_where(&self, token: Option<&str>, query: &str) -> Reply {
        let path = format!("/api/messages?{query}");
        self.call(Method::GET, &path, token, None).await
    }

    /// `POST /api/messages`.
    pub async fn send_message(&self, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, "/api/messages", token, body).await
    }

    /// `GET /api/calls`: the token's user's call history.
    pub async fn call_history(&self, token: Option<&str>) -> Reply {
        self.call(Method::GET, "/api/calls", token, None).await
    }
}

/// The error code of a refusal (which must say `success: false`).
pub fn code(r: &Reply) -> &str {
    assert_eq!(r.body["success"], json!(false), "{}", r.body);
    r.body["error"]["code"].as_str().unwrap_or_default()
}
