//! expresschat REST: the original's status codes, numeric `success` and strings.

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn signup_refusals_use_the_original_answers() {
    let app = spawn_app().await;
    let (s, b) = app
        .post_json("/signup", json!({"name": "A", "email": "a@x.io"}))
        .await;
    assert_eq!(
        (s, b),
        (
            404,
            json!({"success": -1, "message": "Enter All credentials properly"})
        )
    );
    let (s, _) = app
        .post_json(
            "/signup",
            json!({"name": "A", "email": "a@x.io", "password": "pw"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, b) = app
        .post_json(
            "/signup",
            json!({"name": "B", "email": "A@X.io", "password": "pw"}),
        )
        .await;
    assert_eq!(
        (s, b),
        (404, json!({"success": 0, "message": "User Already Exists"}))
    );
    // Not JSON at all reads as missing credentials, not a crash or a 4xx of axum's.
    let r = app
        .client
        .post(app.express("/signup"))
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    app.stop().await;
}

#[tokio::test]
async fn login_answers_each_case() {
    let app = spawn_app().await;
    let (s, b) = app.post_json("/login", json!({"email": "a@x.io"})).await;
    assert_eq!((s, b), (404, json!({"success": -1, "msg": "Bad request"})));
    let (s, b) = app
        .post_json("/login", json!({"email": "nobody@x.io", "password": "pw"}))
        .await;
    assert_eq!(
        (s, b),
        (404, json!({"success": 0, "message": "NO Such User"}))
    );
    app.post_json(
        "/signup",
        json!({"name": "Al", "email": "a@x.io", "password": "pw"}),
    )
    .await;
    let (s, b) = app
        .post_json("/login", json!({"email": "a@x.io", "password": "pw"}))
        .await;
    assert_eq!(
        (s, b),
        (
            404,
            json!({"success": -2, "message": "Account Exist but Email not verified"})
        )
    );
    let link = app.last_mail("a@x.io").link.unwrap();
    assert!(link.contains("/verify?email=a%40x.io&token="), "{link}");
    app.client.get(link).send().await.unwrap();
    let (s, b) = app
        .post_json("/login", json!({"email": "a@x.io", "password": "bad"}))
        .await;
    assert_eq!(
        (s, b),
        (200, json!({"success": 0, "message": "Incorrect PassWord"}))
    );
    let r = app
        .client
        .post(app.express("/login"))
        .json(&json!({"email": "a@x.io", "password": "pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    for name in ["access_token=", "refresh_token="] {
        let c = cookies.iter().find(|c| c.starts_with(name)).expect(name);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax"), "{c}");
    }
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["success"], 1);
    app.stop().await;
}

#[tokio::test]
async fn app_signup_verifies_with_a_code() {
    let app = spawn_app().await;
    let (s, _) = app
        .post_json(
            "/signup",
            json!({"name": "Ann", "email": "ann@x.io", "password": "pw", "source": "app"}),
        )
        .await;
    assert_eq!(s, 200);
    let mail = app.last_mail("ann@x.io");
    let code = mail.code.expect("app mails carry a code");
    assert_eq!(code.len(), 6);
    assert!(mail.link.is_none());
    let bad = app
        .client
        .get(app.express("/verify?email=ann@x.io&token=000000x&source=app"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert_eq!(bad.json::<serde_json::Value>().await.unwrap()["success"], 0);
    let ok = app
        .client
        .get(app.express(&format!("/Verify?email=ann@x.io&token={code}&source=app")))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(ok.json::<serde_json::Value>().await.unwrap()["success"], 1);
    let (s, b) = app
        .post_json("/login", json!({"email": "ann@x.io", "password": "pw"}))
        .await;
    assert_eq!((s, b["success"].clone()), (200, json!(1)));
    app.stop().await;
}

#[tokio::test]
async fn web_verification_answers_html_and_logs_in() {
    let app = spawn_app().await;
    app.post_json(
        "/signup",
        json!({"name": "Al", "email": "a@x.io", "password": "pw"}),
    )
    .await;
    let r = app
        .client
        .get(app.last_mail("a@x.io").link.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let set: Vec<_> = r.headers().get_all("set-cookie").iter().collect();
    assert_eq!(set.len(), 2, "access and refresh cookies");
    app.stop().await;
}

#[tokio::test]
async fn resend_sends_a_new_mail_and_refuses_unknown() {
    let app = spawn_app().await;
    let (s, b) = app.post_json("/resend", json!({})).await;
    assert_eq!((s, b["success"].clone()), (404, json!(-1)));
    let (s, b) = app.post_json("/resend", json!({"email": "no@x.io"})).await;
    assert_eq!((s, b["success"].clone()), (404, json!(0)));
    app.post_json(
        "/signup",
        json!({"name": "Al", "email": "a@x.io", "password": "pw"}),
    )
    .await;
    let first = app.last_mail("a@x.io").link.unwrap();
    let (s, b) = app
        .post_json("/resend", json!({"email": "a@x.io", "source": "app"}))
        .await;
    assert_eq!((s, b["success"].clone()), (200, json!(1)));
    let code = app.last_mail("a@x.io").code.unwrap();
    // Either the old link or the new code verifies.
    let r = app
        .client
        .get(app.express(&format!("/verify?email=a@x.io&token={code}&source=app")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_ne!(first, code);
    app.stop().await;
}

#[tokio::test]
async fn logout_clears_cookies_and_revokes_the_refresh_token() {
    let app = spawn_app().await;
    app.signup_verified("Al", "a@x.io", "pw").await;
    let r = app
        .client
        .post(app.express("/login"))
        .json(&json!({"email": "a@x.io", "password": "pw"}))
        .send()
        .await
        .unwrap();
    let refresh = r
        .cookies()
        .find(|c| c.name() == "refresh_token")
        .map(|c| c.value().to_owned())
        .unwrap();
    assert!(
        chatwire::core::identity::auth::access_from_refresh(&app.core, &refresh)
            .await
            .is_ok()
    );
    let r = app
        .client
        .post(app.express("/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let cleared: Vec<_> = r
        .cookies()
        .map(|c| (c.name().to_owned(), c.value().to_owned()))
        .collect();
    assert!(
        cleared
            .iter()
            .any(|(n, v)| n == "access_token" && v.is_empty())
    );
    assert!(
        cleared
            .iter()
            .any(|(n, v)| n == "refresh_token" && v.is_empty())
    );
    assert!(
        chatwire::core::identity::auth::access_from_refresh(&app.core, &refresh)
            .await
            .is_err(),
        "the refresh token is revoked server-side"
    );
    app.stop().await;
}

#[tokio::test]
async fn update_access_token_sets_only_valid_tokens() {
    let app = spawn_app().await;
    let (s, _) = app
        .post_json("/update-access-token", json!({"acessToken": "forged"}))
        .await;
    assert_eq!(s, 400);
    let token = chatwire::core::identity::auth::issue_access(&app.core, 1).unwrap();
    let r = app
        .client
        .post(app.express("/update-access-token"))
        .json(&json!({"acessToken": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.cookies()
            .any(|c| c.name() == "access_token" && c.value() == token && c.http_only())
    );
    app.stop().await;
}

#[tokio::test]
async fn logins_are_throttled_per_account() {
    let app = spawn_app_with(&["--login-per-account-per-minute=3"]).await;
    app.signup_verified("Al", "a@x.io", "pw").await;
    for _ in 0..3 {
        let (s, b) = app
            .post_json("/login", json!({"email": "a@x.io", "password": "bad"}))
            .await;
        assert_eq!((s, b["success"].clone()), (200, json!(0)));
    }
    let r = app
        .client
        .post(app.express("/login"))
        .json(&json!({"email": "A@x.io", "password": "pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        429,
        "the 4th attempt in a minute, even with the right password"
    );
    assert!(
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // Another account is not affected.
    let (s, b) = app
        .post_json("/login", json!({"email": "b@x.io", "password": "pw"}))
        .await;
    assert_eq!((s, b["success"].clone()), (404, json!(0)));
    app.stop().await;
}

#[tokio::test]
async fn logins_are_throttled_per_address() {
    let app = spawn_app_with(&["--login-per-ip-per-minute=2"]).await;
    for i in 0..2 {
        let (s, _) = app
            .post_json(
                "/login",
                json!({"email": format!("n{i}@x.io"), "password": "pw"}),
            )
            .await;
        assert_eq!(s, 404);
    }
    let (s, b) = app
        .post_json("/login", json!({"email": "other@x.io", "password": "pw"}))
        .await;
    assert_eq!((s, b["success"].clone()), (429, json!(-1)));
    app.stop().await;
}
