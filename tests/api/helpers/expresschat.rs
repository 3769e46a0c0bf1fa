//! expresschat's named requests. They go out from the app's cookie-keeping client,
//! so a login or a verified sign-up leaves the session cookies in it, as in a
//! browser.

use chatwire::config::Profile;
use reqwest::Method;
use serde_json::{Value, json};

use super::{ProfileClient, Reply, TestApp};

pub struct Expresschat<'a> {
    app: &'a TestApp,
}

impl TestApp {
    pub fn expresschat(&self) -> Expresschat<'_> {
        Expresschat { app: self }
    }
}

impl<'a> Expresschat<'a> {
    fn api(&self) -> ProfileClient<'a> {
        self.app.profile(Profile::Expresschat)
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.api().request(Method::GET, path).send().await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.api()
            .request(Method::POST, path)
            .json(body)
            .send()
            .await
    }

    /// A POST whose body is not JSON at all (and says no content type).
    pub async fn post_raw(&self, path: &str, text: &str) -> Reply {
        self.api()
            .request(Method::POST, path)
            .raw(None, text)
            .send()
            .await
    }

    pub async fn signup(&self, body: Value) -> Reply {
        self.post("/signup", body).await
    }

    pub async fn login(&self, body: Value) -> Reply {
        self.post("/login", body).await
    }

    pub async fn logout(&self) -> Reply {
        self.api().request(Method::POST, "/logout").send().await
    }

    pub async fn resend(&self, body: Value) -> Reply {
        self.post("/resend", body).await
    }

    /// Signs up and verifies through the mailed link, which logs in (the cookies
    /// stay in the app's client).
    pub async fn signup_verified(&self, name: &str, email: &str, password: &str) {
        let r = self
            .signup(json!({"name": name, "email": email, "password": password}))
            .await;
        assert_eq!(r.status, 200);
        let link = self.app.last_mail(email).link.expect("mail has a link");
        let r = self.app.follow(&link).await;
        assert_eq!(r.status, 200);
    }
}
