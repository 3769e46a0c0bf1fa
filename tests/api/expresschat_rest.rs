//! expresschat REST: the original's status codes, numeric `success` and strings.

use chatwire::core::identity::space::Space;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn signup_refusals_use_the_original_answers() {
    let app = spawn_app().await;
    let ex = app.expresschat();
    let r = ex.signup(json!({"name": "A", "email": "a@x.io"})).await;
    assert_eq!(
        (r.status, r.body),
        (
            404,
            json!({"success": -1, "message": "Enter All credentials properly"})
        )
    );
    let r = ex
        .signup(json!({"name": "A", "email": "a@x.io", "password": "pw"}))
        .await;
    assert_eq!(r.status, 200);
    let r = ex
        .signup(json!({"name": "B", "email": "A@X.io", "password": "pw"}))
        .await;
    assert_eq!(
        (r.status, r.body),
        (404, json!({"success": 0, "message": "User Already Exists"}))
    );
    // Not JSON at all reads as missing credentials, not a crash or a 4xx of axum's.
    let r = ex.post_raw("/signup", "{nope").await;
    assert_eq!(r.status, 404);
    app.stop().await;
}

#[tokio::test]
async fn login_answers_each_case() {
    let app = spawn_app().await;
    let ex = app.expresschat();
    let r = ex.login(json!({"email": "a@x.io"})).await;
    assert_eq!(
        (r.status, r.body),
        (404, json!({"success": -1, "msg": "Bad request"}))
    );
    let r = ex
        .login(json!({"email": "nobody@x.io", "password": "pw"}))
        .await;
    assert_eq!(
        (r.status, r.body),
        (404, json!({"success": 0, "message": "NO Such User"}))
    );
    ex.signup(json!({"name": "Al", "email": "a@x.io", "password": "pw"}))
        .await;
    let r = ex.login(json!({"email": "a@x.io", "password": "pw"})).await;
    assert_eq!(
        (r.status, r.body),
        (
            404,
            json!({"success": -2, "message": "Account Exist but Email not verified"})
        )
    );
    let link = app.last_mail("a@x.io").link.unwrap();
    assert!(link.contains("/verify?email=a%40x.io&token="), "{link}");
    app.follow(&link).await;
    let r = ex
        .login(json!({"email": "a@x.io", "password": "bad"}))
        .await;
    assert_eq!(
        (r.status, r.body),
        (200, json!({"success": 0, "message": "Incorrect PassWord"}))
    );
    let r = ex.login(json!({"email": "a@x.io", "password": "pw"})).await;
    assert_eq!(r.status, 200);
    for name in ["access_token", "refresh_token"] {
        let c = r.set_cookie(name).expect(name);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax"), "{c}");
    }
    assert_eq!(r.body["success"], 1);
    app.stop().await;
}

#[tokio::test]
async fn app_signup_verifies_with_a_code() {
    let app = spawn_app().await;
    let ex = app.expresschat();
    let r = ex
        .signup(json!({"name": "Ann", "email": "ann@x.io", "password": "pw", "source": "app"}))
        .await;
    assert_eq!(r.status, 200);
    let mail = app.last_mail("ann@x.io");
    let code = mail.code.expect("app mails carry a code");
    assert_eq!(code.len(), 6);
    assert!(mail.link.is_none());
    let bad = ex
        .get("/verify?email=ann@x.io&token=000000x&source=app")
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["success"], 0);
    let ok = ex
        .get(&format!("/Verify?email=ann@x.io&token={code}&source=app"))
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body["success"], 1);
    let r = ex
        .login(json!({"email": "ann@x.io", "password": "pw"}))
        .await;
    assert_eq!((r.status, r.body["success"].clone()), (200, json!(1)));
    app.stop().await;
}

#[tokio::test]
async fn web_verification_answers_html_and_logs_in() {
    let app = spawn_app().await;
    app.expresschat()
        .signup(json!({"name": "Al", "email": "a@x.io", "password": "pw"}))
        .await;
    let r = app.follow(&app.last_mail("a@x.io").link.unwrap()).await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(r.set_cookies().len(), 2, "access and refresh cookies");
    app.stop().await;
}

#[tokio::test]
async fn resend_sends_a_new_mail_and_refuses_unknown() {
    let app = spawn_app().await;
    let ex = app.expresschat();
    let r = ex.resend(json!({})).await;
    assert_eq!((r.status, r.body["success"].clone()), (404, json!(-1)));
    let r = ex.resend(json!({"email": "no@x.io"})).await;
    assert_eq!((r.status, r.body["success"].clone()), (404, json!(0)));
    ex.signup(json!({"name": "Al", "email": "a@x.io", "password": "pw"}))
        .await;
    let first = app.last_mail("a@x.io").link.unwrap();
    let r = ex.resend(json!({"email": "a@x.io", "source": "app"})).await;
    assert_eq!((r.status, r.body["success"].clone()), (200, json!(1)));
    let code = app.last_mail("a@x.io").code.unwrap();
    // Either the old link or the new code verifies.
    let r = ex
        .get(&format!("/verify?email=a@x.io&token={code}&source=app"))
        .await;
    assert_eq!(r.status, 200);
    assert_ne!(first, code);
    app.stop().await;
}

#[tokio::test]
async fn logout_clears_cookies_and_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let ex = app.expresschat();
    ex.signup_verified("Al", "a@x.io", "pw").await;
    let r = ex.login(json!({"email": "a@x.io", "password": "pw"})).await;
    let refresh = r.cookie_value("refresh_token").unwrap().to_owned();
    assert!(
        chatwire::core::identity::auth::access_from_refresh(&app.core, Space::Shared, &refresh)
            .await
            .is_ok()
    );
    let r = ex.logout().await;
    assert_eq!(r.status, 200);
    let cleared = r.cookies();
    assert!(
        cleared
            .iter()
            .any(|(n, v)| *n == "access_token" && v.is_empty())
    );
    assert!(
        cleared
            .iter()
            .any(|(n, v)| *n == "refresh_token" && v.is_empty())
    );
    assert!(
        chatwire::core::identity::auth::access_from_refresh(&app.core, Space::Shared, &refresh)
            .await
            .is_err(),
        "the refresh token is revoked server-side"
    );
    app.stop().await;
}

#[tokio::test]
async fn update_access_token_sets_only_valid_tokens() {
    let app = spawn_app().await;
    let ex = app.expresschat();
    let r = ex
        .post("/update-access-token", json!({"acessToken": "forged"}))
        .await;
    assert_eq!(r.status, 400);
    ex.signup_verified("Al", "a@x.io", "pw").await;
    let al = chatwire::core::identity::accounts::find_by_email(&app.core, "a@x.io")
        .await
        .unwrap()
        .unwrap();
    let token = chatwire::core::identity::auth::issue_access(&app.core, &al).unwrap();
    let r = ex
        .post("/update-access-token", json!({"acessToken": token}))
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.cookie_value("access_token") == Some(token.as_str())
            && r.set_cookie("access_token")
                .is_some_and(|c| c.contains("HttpOnly"))
    );
    app.stop().await;
}

#[tokio::test]
async fn logins_are_throttled_per_account() {
    let app = spawn_app_with(&["--login-per-account-per-minute=3"]).await;
    let ex = app.expresschat();
    ex.signup_verified("Al", "a@x.io", "pw").await;
    for _ in 0..3 {
        let r = ex
            .login(json!({"email": "a@x.io", "password": "bad"}))
            .await;
        assert_eq!((r.status, r.body["success"].clone()), (200, json!(0)));
    }
    let r = ex.login(json!({"email": "A@x.io", "password": "pw"})).await;
    assert_eq!(
        r.status, 429,
        "the 4th attempt in a minute, even with the right password"
    );
    assert!(
        r.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // Another account is not affected.
    let r = ex.login(json!({"email": "b@x.io", "password": "pw"})).await;
    assert_eq!((r.status, r.body["success"].clone()), (404, json!(0)));
    app.stop().await;
}

#[tokio::test]
async fn logins_are_throttled_per_address() {
    let app = spawn_app_with(&["--login-per-ip-per-minute=2"]).await;
    let ex = app.expresschat();
    for i in 0..2 {
        let r = ex
            .login(json!({"email": format!("n{i}@x.io"), "password": "pw"}))
            .await;
        assert_eq!(r.status, 404);
    }
    let r = ex
        .login(json!({"email": "other@x.io", "password": "pw"}))
        .await;
    assert_eq!((r.status, r.body["success"].clone()), (429, json!(-1)));
    app.stop().await;
}
