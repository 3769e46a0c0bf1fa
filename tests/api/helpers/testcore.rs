//! testcore's named requests (`/api/v1`, the token as Bearer or the `accessToken`
//! cookie), its error envelope, and its WebSocket frames. Requests go out without
//! a cookie jar: every credential is explicit.

use chatwire::config::Profile;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Auth, ProfileClient, Reply, TestApp, ws::RawWs};

pub struct Testcore<'a> {
    app: &'a TestApp,
}

impl TestApp {
    pub fn testcore(&self) -> Testcore<'_> {
        Testcore { app: self }
    }
}

/// A registered user: id (as testcore renders it) and access token.
pub struct TcUser {
    pub id: String,
    pub token: String,
}

/// A user's requests carry their access token as Bearer.
impl<'a> From<&'a TcUser> for Auth<'a> {
    fn from(u: &'a TcUser) -> Self {
        Auth::Bearer(&u.token)
    }
}

impl<'a> Testcore<'a> {
    fn api(&self) -> ProfileClient<'a> {
        self.app.profile(Profile::Testcore).without_cookies()
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: impl Into<Option<Value>>,
    ) -> Reply {
        self.api().call(method, path, auth, body).await
    }

    /// `path` as spelled (the routes ignore case), as `user`, without a body.
    pub async fn as_user(&self, user: &TcUser, method: Method, path: &str) -> Reply {
        self.call(method, path, user.into(), None).await
    }

    pub async fn register(&self, body: Value) -> Reply {
        self.call(Method::POST, "/api/v1/user/register", Auth::None, body)
            .await
    }

    pub async fn login(&self, body: Value) -> Reply {
        self.call(Method::POST, "/api/v1/user/login", Auth::None, body)
            .await
    }

    /// Registers `name` (with an email of its own).
    pub async fn user(&self, name: &str) -> TcUser {
        let email = format!(
            "{}.{}@tc.test",
            name.to_lowercase(),
            uuid::Uuid::new_v4().simple()
        );
        let r = self
            .register(json!({"name": name, "email": email, "password": "password123"}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        TcUser {
            id: r.body["data"]["userData"]["_id"]
                .as_str()
                .expect("id")
                .to_owned(),
            token: r.body["data"]["accessToken"]
                .as_str()
                .expect("token")
                .to_owned(),
        }
    }

    pub async fn create_chat<'u>(&self, auth: impl Into<Auth<'u>>, body: Value) -> Reply {
        self.call(Method::POST, "/api/v1/chat/createChat", auth.into(), body)
            .await
    }

    /// `createChat` with a body that is not JSON at all.
    pub async fn create_chat_raw<'u>(&self, auth: impl Into<Auth<'u>>, text: &str) -> Reply {
        self.api()
            .request(Method::POST, "/api/v1/chat/createChat")
            .auth(auth.into())
            .raw(Some("application/json"), text)
            .send()
            .await
    }

    /// The room set-up: `owner` creates room `name`; its id.
    pub async fn room(&self, owner: &TcUser, name: &str) -> String {
        let r = self.create_chat(owner, json!({"roomName": name})).await;
        assert_eq!(r.status, 200, "create room {name}: {}", r.body);
        r.body["data"]["_id"].as_str().expect("room id").to_owned()
    }

    pub async fn get_chat<'u>(&self, auth: impl Into<Auth<'u>>) -> Reply {
        self.call(Method::GET, "/api/v1/chat/getChat", auth.into(), None)
            .await
    }

    /// `ChatQuery/{room}`: POST joins, PUT leaves, GET lists.
    pub async fn chat_query<'u>(
        &self,
        auth: impl Into<Auth<'u>>,
        method: Method,
        room: &str,
    ) -> Reply {
        let path = format!("/api/v1/chat/ChatQuery/{room}");
        self.call(method, &path, auth.into(), None).await
    }

    pub async fn connect_chat<'u>(&self, auth: impl Into<Auth<'u>>, room: &str) -> Reply {
        let path = format!("/api/v1/chat/connectChat/{room}");
        self.call(Method::POST, &path, auth.into(), None).await
    }

    pub async fn health(&self) -> Reply {
        self.call(Method::GET, "/healthz", Auth::None, None).await
    }

    /// The raw WebSocket at `path_and_query` (`/ws1/?token=…`).
    pub async fn ws(&self, path_and_query: &str) -> RawWs {
        RawWs::connect(self.app, Profile::Testcore, path_and_query).await
    }
}

/// Asserts testcore's error envelope.
pub fn assert_error(r: &Reply, status: u16) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["statusCode"], status, "{}", r.body);
    assert_eq!(r.body["success"], false);
    assert!(r.body["data"].is_null());
    assert_eq!(r.body["errors"], json!([]));
    assert!(r.body["message"].is_string());
}

/// A frame for the WebSocket.
pub fn frame(kind: &str, room: &str, id: &str, content: &str, user: &str) -> Value {
    json!({"MessageId": id, "roomName": room, "content": content, "typeOfMessage": kind, "userId": user})
}
