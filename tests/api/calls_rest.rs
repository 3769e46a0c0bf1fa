//! calls REST: login and registration, the `{success, error:{code, message}}`
//! envelopes, message history paging and sending, call history, rate limits, and
//! one account for expresschat and calls.

use serde_json::json;

use crate::helpers::calls::code;
use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn register_and_login_answer_in_the_envelope() {
    let app = spawn_app().await;
    let calls = app.calls();
    let r = calls
        .register(json!({"name": "Alice Johnson", "email": "Alice@Example.com", "password": "password123"}))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["success"], json!(true));
    assert_eq!(
        r.body["user"],
        json!({"id": "1", "name": "Alice Johnson", "email": "alice@example.com"})
    );
    assert!(r.body["token"].as_str().unwrap().len() > 20);
    let r = calls
        .register(json!({"name": "Other", "email": "alice@example.com", "password": "x"}))
        .await;
    assert_eq!((r.status, code(&r)), (409, "USER_EXISTS"));
    let r = calls.register(json!({"email": "x@y.z"})).await;
    assert_eq!((r.status, code(&r)), (400, "INVALID_DATA"));

    let r = calls
        .login(json!({"email": "alice@example.com", "password": "password123"}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["user"]["id"], json!("1"));
    let token = r.body["token"].as_str().unwrap();
    let s = calls.messages(Some(token)).await.status;
    assert_eq!(s, 200, "the login token works as Bearer");
    for wrong in [
        json!({"email": "alice@example.com", "password": "nope"}),
        json!({"email": "nobody@example.com", "password": "password123"}),
    ] {
        let r = calls.login(wrong).await;
        assert_eq!((r.status, code(&r)), (401, "UNAUTHORIZED"));
    }
    // Not JSON at all: the same envelope, not axum's plain text.
    let r = calls.login_raw("{nope").await;
    assert_eq!(r.status, 400);
    assert_eq!(code(&r), "INVALID_DATA");
    app.stop().await;
}

#[tokio::test]
async fn routes_need_a_bearer_token() {
    let app = spawn_app().await;
    let calls = app.calls();
    for token in [
        None,
        Some("garbage"),
        Some("eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."),
    ] {
        let r = calls.messages(token).await;
        assert_eq!((r.status, code(&r)), (401, "UNAUTHORIZED"));
        let r = calls.send_message(token, json!({})).await;
        assert_eq!((r.status, code(&r)), (401, "UNAUTHORIZED"));
        let r = calls.call_history(token).await;
        assert_eq!((r.status, code(&r)), (401, "UNAUTHORIZED"));
    }
    app.stop().await;
}

#[tokio::test]
async fn messages_are_sent_and_paged() {
    let app = spawn_app().await;
    let calls = app.calls();
    let (ta, a) = calls.user("ann").await;
    let (tb, b) = calls.user("ben").await;
    let (_, c) = calls.user("cid").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = calls
            .send_message(
                Some(&ta),
                json!({"receiverId": b, "content": format!("m{i}"), "type": "text"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let m = &r.body["message"];
        assert_eq!(
            (
                &m["senderId"],
                &m["senderName"],
                &m["receiverId"],
                &m["type"]
            ),
            (&json!(a), &json!("ann"), &json!(b), &json!("text"))
        );
        assert!(m["timestamp"].as_str().unwrap().ends_with('Z'));
        ids.push(m["id"].as_str().unwrap().to_owned());
    }
    // A number works as an id too, and a message to someone else.
    let r = calls
        .send_message(
            Some(&ta),
            json!({"receiverId": c.parse::<i64>().unwrap(), "content": "hi cid"}),
        )
        .await;
    assert_eq!(r.status, 201);

    let all = calls.messages(Some(&ta)).await.body;
    assert_eq!(all["messages"].as_array().unwrap().len(), 6);
    let page = calls
        .messages_where(Some(&tb), &format!("with={a}&limit=2"))
        .await
        .body;
    let contents: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["m3", "m4"], "the newest page, oldest first");
    assert_eq!(page["hasMore"], json!(true));
    let oldest = page["messages"][0]["id"].as_str().unwrap();
    let older = calls
        .messages_where(Some(&tb), &format!("with={a}&before={oldest}&limit=10"))
        .await
        .body;
    assert_eq!(older["messages"].as_array().unwrap().len(), 3);
    assert_eq!(older["hasMore"], json!(false));
    assert_eq!(older["messages"][0]["content"], json!("m0"));
    // ben sees only his conversation with ann.
    let bens = calls.messages(Some(&tb)).await.body;
    assert_eq!(bens["messages"].as_array().unwrap().len(), 5);
    assert_eq!(bens["messages"][0]["readBy"], json!([]));
    app.stop().await;
}

#[tokio::test]
async fn message_refusals_have_their_codes() {
    let app = spawn_app().await;
    let calls = app.calls();
    let (ta, a) = calls.user("ann").await;
    let (_, b) = calls.user("ben").await;
    let cases = [
        (
            json!({"receiverId": "999", "content": "x"}),
            404,
            "USER_NOT_FOUND",
        ),
        (
            json!({"receiverId": "u1", "content": "x"}),
            404,
            "USER_NOT_FOUND",
        ),
        (
            json!({"receiverId": a, "content": "to myself"}),
            400,
            "INVALID_DATA",
        ),
        (
            json!({"receiverId": b, "content": "   "}),
            400,
            "INVALID_DATA",
        ),
        (json!({"receiverId": b}), 400, "INVALID_DATA"),
        (
            json!({"receiverId": b, "content": "x", "type": "video"}),
            400,
            "INVALID_DATA",
        ),
        (
            json!({"receiverId": true, "content": "x"}),
            400,
            "INVALID_DATA",
        ),
        (
            json!({"receiverId": b, "content": "x".repeat(10_001)}),
            400,
            "INVALID_DATA",
        ),
    ];
    for (body, status, expected) in cases {
        let r = calls.send_message(Some(&ta), body.clone()).await;
        assert_eq!((r.status, code(&r)), (status, expected), "{body}");
    }
    for q in ["limit=0", "limit=x", "before=yesterday", "with=999"] {
        let r = calls.messages_where(Some(&ta), q).await;
        let s = r.status;
        assert!(s == 400 || s == 404, "{q}: {s}");
        assert!(
            ["INVALID_DATA", "USER_NOT_FOUND"].contains(&code(&r)),
            "{q}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn messages_are_rate_limited_per_user() {
    let app = spawn_app_with(&["--calls-messages-per-minute=3"]).await;
    let calls = app.calls();
    let (ta, _) = calls.user("ann").await;
    let (tb, b) = calls.user("ben").await;
    let (_, c) = calls.user("cid").await;
    for _ in 0..3 {
        let r = calls
            .send_message(Some(&ta), json!({"receiverId": b, "content": "x"}))
            .await;
        assert_eq!(r.status, 201);
    }
    let r = calls
        .send_message(Some(&ta), json!({"receiverId": b, "content": "x"}))
        .await;
    assert_eq!((r.status, code(&r)), (429, "RATE_LIMITED"));
    let r = calls
        .send_message(Some(&tb), json!({"receiverId": c, "content": "x"}))
        .await;
    assert_eq!(r.status, 201, "another user has their own allowance");
    app.stop().await;
}

#[tokio::test]
async fn one_account_for_expresschat_and_calls() {
    let app = spawn_app().await;
    let calls = app.calls();
    let ex = app.expresschat();
    ex.signup_verified("Eve Express", "eve@x.io", "pw-eve")
        .await;
    let r = calls
        .login(json!({"email": "eve@x.io", "password": "pw-eve"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user"]["name"], json!("Eve Express"));
    // An expresschat sign-up that is not verified yet cannot log in here.
    ex.signup(json!({"name": "Una", "email": "una@x.io", "password": "pw"}))
        .await;
    let r = calls
        .login(json!({"email": "una@x.io", "password": "pw"}))
        .await;
    assert_eq!((r.status, code(&r)), (401, "UNAUTHORIZED"));
    // A calls registration logs in on expresschat.
    calls.user("cal").await;
    let r = ex
        .login(json!({"email": "cal@calls.test", "password": "secret"}))
        .await;
    assert_eq!((r.status, &r.body["success"]), (200, &json!(1)));
    app.stop().await;
}

#[tokio::test]
async fn call_history_is_served() {
    let app = spawn_app().await;
    let calls = app.calls();
    let (ta, _) = calls.user("ann").await;
    let (_, b) = calls.user("ben").await;
    let ann = chatwire::core::identity::accounts::find_by_email(&app.core, "ann@calls.test")
        .await
        .unwrap()
        .unwrap();
    // ben is offline: a failed call is kept.
    app.core.calls.endpoint_up(ann.id);
    let r = chatwire::core::calls::initiate(
        &app.core,
        &ann,
        b.parse().unwrap(),
        chatwire::core::calls::CallType::Video,
        std::time::Duration::from_secs(30),
    )
    .await;
    assert!(r.is_err());
    let r = calls.call_history(Some(&ta)).await;
    assert_eq!(r.status, 200);
    let c = &r.body["calls"][0];
    assert_eq!(
        (
            &c["from"],
            &c["to"],
            &c["toName"],
            &c["type"],
            &c["status"],
            &c["endReason"],
            &c["duration"]
        ),
        (
            &json!("1"),
            &json!(b),
            &json!("ben"),
            &json!("video"),
            &json!("failed"),
            &json!("user_unavailable"),
            &json!(0)
        )
    );
    assert_eq!(
        c["roomName"],
        json!(format!("call_{}", c["id"].as_str().unwrap()))
    );
    app.stop().await;
}
