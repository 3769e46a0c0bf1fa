//! testcore REST: the user routes, every chat route with success and refusal,
//! both path forms, case-insensitive names, the `UserChatToken` cookie, and the
//! error envelopes (401, 404, 409, 429, bad JSON).

use reqwest::Method;
use serde_json::json;

use crate::helpers::testcore::assert_error;
use crate::helpers::{Auth, spawn_app, spawn_app_with};

#[tokio::test]
async fn register_login_and_every_auth_refusal() {
    let app = spawn_app().await;
    let tc = app.testcore();
    let r = tc
        .register(json!({"name": "Asha", "email": "asha@tc.test", "password": "pw12345"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["statusCode"], 200);
    assert_eq!(r.body["data"]["userData"]["name"], "Asha");
    assert!(r.body["data"]["userData"].get("password_hash").is_none());
    for name in ["accessToken", "refreshToken"] {
        let c = r.set_cookie(name).expect(name);
        assert!(c.contains("HttpOnly"), "{c}");
    }
    let again = tc
        .register(json!({"name": "A", "email": "ASHA@tc.test", "password": "x"}))
        .await;
    assert_error(&again, 409);
    let missing = tc.register(json!({"name": "A"})).await;
    assert_error(&missing, 400);

    let login = tc
        .login(json!({"email": "asha@tc.test", "password": "pw12345"}))
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
    let token = login.body["data"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = tc
        .login(json!({"email": "asha@tc.test", "password": "nope"}))
        .await;
    assert_error(&wrong, 401);

    // No token, a forged one, a refresh token: 401. The cookie works like Bearer.
    assert_error(&tc.get_chat(Auth::None).await, 401);
    assert_error(&tc.get_chat(Auth::Bearer("x.y.z")).await, 401);
    let refresh = login.cookie_value("refreshToken").unwrap();
    assert_error(&tc.get_chat(Auth::Bearer(refresh)).await, 401);
    let cookie = format!("accessToken={token}");
    let r = tc
        .create_chat(Auth::Cookie(&cookie), json!({"roomName": "cookies"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Malformed JSON and unknown routes get the envelope too.
    let r = tc.create_chat_raw(Auth::Bearer(&token), "{nope").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        (r.body["success"].clone(), r.body["errors"].clone()),
        (json!(false), json!([]))
    );
    assert_error(
        &tc.call(
            Method::GET,
            "/api/v1/chat/nothing",
            Auth::Bearer(&token),
            None,
        )
        .await,
        404,
    );
    app.stop().await;
}

#[tokio::test]
async fn create_chat_get_chat_and_case_insensitive_names() {
    let app = spawn_app().await;
    let tc = app.testcore();
    let ann = tc.user("Ann").await;
    let bob = tc.user("Bob").await;
    let r = tc.create_chat(&ann, json!({"roomName": "General"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let room = &r.body["data"];
    assert_eq!(room["roomName"], "General");
    assert_eq!(room["AdminId"], ann.id.as_str());
    assert!(
        room["_id"].is_string() && room["createdAt"].is_string() && room["updatedAt"].is_string()
    );
    let room_id = room["_id"].clone();
    assert_error(&tc.create_chat(&ann, json!({})).await, 400);

    // Both spellings of getChat (and any case); the creator is a member.
    for path in [
        "/api/v1/chat/getChat",
        "/api/v1/chat/getchat",
        "/api/v1/chat/GETCHAT",
    ] {
        let r = tc.as_user(&ann, Method::GET, path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.body["data"][0]["_id"], ann.id.as_str());
        assert_eq!(r.body["data"][0]["profile"]["name"], "Ann");
        assert_eq!(
            r.body["data"][0]["chatData"],
            json!([{"_id": room_id, "roomName": "General"}])
        );
    }
    assert_error(&tc.get_chat(&bob).await, 404);

    // Creating a name that exists (in any case) opens that room and joins it.
    let r = tc.create_chat(&bob, json!({"roomName": "GENERAL"})).await;
    assert_eq!(r.body["data"]["_id"], room_id);
    assert_eq!(r.body["data"]["AdminId"], ann.id.as_str());
    let r = tc.as_user(&bob, Method::GET, "/api/v1/chat/getchat").await;
    assert_eq!(r.body["data"][0]["chatData"][0]["roomName"], "General");
    app.stop().await;
}

#[tokio::test]
async fn chat_query_joins_leaves_and_lists_on_both_path_forms() {
    let app = spawn_app().await;
    let tc = app.testcore();
    let ann = tc.user("Ann").await;
    let bob = tc.user("Bob").await;
    tc.room(&ann, "Delhi/CSE").await;
    tc.room(&ann, "lobby").await;

    let r = tc.chat_query(&bob, Method::POST, "delhi/cse").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["roomName"], "Delhi/CSE");
    let r = tc
        .as_user(&bob, Method::GET, "/api/v1/chat/chatquery/DELHI/Cse")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let entry = &r.body["data"][0];
    assert_eq!(entry["roomName"], "Delhi/CSE");
    assert_eq!(entry["AdminId"], ann.id.as_str());
    assert_eq!(entry["UserCount"], 2);
    let ids: Vec<&str> = entry["ChatUsers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [ann.id.as_str(), bob.id.as_str()]);
    assert!(
        entry["ChatUsers"][0].get("email").is_none(),
        "no emails of others"
    );

    let r = tc.chat_query(&bob, Method::PUT, "Delhi/CSE").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = tc.chat_query(&bob, Method::GET, "Delhi/CSE").await;
    assert_eq!(r.body["data"][0]["UserCount"], 1);
    assert!(
        r.body["data"][0].get("messages").is_none(),
        "history is for members"
    );

    // The one-segment form.
    let r = tc.chat_query(&bob, Method::POST, "LOBBY").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = tc.chat_query(&bob, Method::GET, "Lobby").await;
    assert_eq!(r.body["data"][0]["UserCount"], 2);
    assert_eq!(r.body["data"][0]["messages"], json!([]));
    let r = tc.chat_query(&bob, Method::PUT, "lobby").await;
    assert_eq!(r.status, 200);

    for m in [Method::POST, Method::PUT, Method::GET] {
        assert_error(&tc.chat_query(&bob, m.clone(), "nowhere").await, 404);
        assert_error(&tc.chat_query(&bob, m.clone(), "No/Where").await, 404);
        assert_error(&tc.chat_query(Auth::None, m, "lobby").await, 401);
    }
    app.stop().await;
}

#[tokio::test]
async fn connect_chat_checks_membership_and_sets_the_chat_cookie() {
    let app = spawn_app().await;
    let tc = app.testcore();
    let ann = tc.user("Ann").await;
    let eve = tc.user("Eve").await;
    tc.room(&ann, "Pune/IT").await;
    tc.room(&ann, "solo").await;

    for room in ["pune/it", "SOLO"] {
        let r = tc.connect_chat(&ann, room).await;
        assert_eq!(r.status, 200, "{room}: {}", r.body);
        assert!(r.body["data"]["roomName"].is_string());
        assert!(r.body["data"]["token"].is_string());
        let c = r.set_cookie("UserChatToken").expect("cookie");
        assert!(c.contains("HttpOnly"), "{c}");
        let r = tc.connect_chat(&eve, room).await;
        assert_error(&r, 409);
        assert_eq!(r.body["message"], "user don't have access to chat");
    }
    assert_error(&tc.connect_chat(&ann, "none").await, 404);
    assert_error(&tc.connect_chat(Auth::None, "solo").await, 401);
    app.stop().await;
}

#[tokio::test]
async fn the_rate_limit_answers_429_per_address() {
    let app = spawn_app_with(&[
        "--testcore-rate-limit=3",
        "--testcore-rate-limit-window-secs=900",
    ])
    .await;
    let tc = app.testcore();
    for _ in 0..3 {
        let r = tc.get_chat(Auth::None).await;
        assert_eq!(r.status, 401);
    }
    let r = tc.login(json!({})).await;
    assert_error(&r, 429);
    // Health checks are not budgeted.
    assert_eq!(tc.health().await.status, 200);
    app.stop().await;
}
