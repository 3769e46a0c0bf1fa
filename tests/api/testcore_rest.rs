//! testcore REST: the user routes, every chat route with success and refusal,
//! both path forms, case-insensitive names, the `UserChatToken` cookie, and the
//! error envelopes (401, 404, 409, 429, bad JSON).

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};
use crate::testcore_support::*;

#[tokio::test]
async fn register_login_and_every_auth_refusal() {
    let app = spawn_app().await;
    let r = call(
        &app,
        Method::POST,
        "/api/v1/user/register",
        Auth::None,
        Some(json!({"name": "Asha", "email": "asha@tc.test", "password": "pw12345"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["statusCode"], 200);
    assert_eq!(r.body["data"]["userData"]["name"], "Asha");
    assert!(r.body["data"]["userData"].get("password_hash").is_none());
    for name in ["accessToken=", "refreshToken="] {
        let c = r.cookies.iter().find(|c| c.starts_with(name)).expect(name);
        assert!(c.contains("HttpOnly"), "{c}");
    }
    let again = call(
        &app,
        Method::POST,
        "/api/v1/user/register",
        Auth::None,
        Some(json!({"name": "A", "email": "ASHA@tc.test", "password": "x"})),
    )
    .await;
    assert_error(&again, 409);
    let missing = call(
        &app,
        Method::POST,
        "/api/v1/user/register",
        Auth::None,
        Some(json!({"name": "A"})),
    )
    .await;
    assert_error(&missing, 400);

    let login = call(
        &app,
        Method::POST,
        "/api/v1/user/login",
        Auth::None,
        Some(json!({"email": "asha@tc.test", "password": "pw12345"})),
    )
    .await;
    assert_eq!(login.status, 200, "{}", login.body);
    let token = login.body["data"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = call(
        &app,
        Method::POST,
        "/api/v1/user/login",
        Auth::None,
        Some(json!({"email": "asha@tc.test", "password": "nope"})),
    )
    .await;
    assert_error(&wrong, 401);

    // No token, a forged one, a refresh token: 401. The cookie works like Bearer.
    assert_error(
        &call(&app, Method::GET, "/api/v1/chat/getChat", Auth::None, None).await,
        401,
    );
    assert_error(
        &call(
            &app,
            Method::GET,
            "/api/v1/chat/getChat",
            Auth::Bearer("x.y.z"),
            None,
        )
        .await,
        401,
    );
    let refresh = login
        .cookies
        .iter()
        .find(|c| c.starts_with("refreshToken="))
        .unwrap();
    let refresh = refresh
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("refreshToken=");
    assert_error(
        &call(
            &app,
            Method::GET,
            "/api/v1/chat/getChat",
            Auth::Bearer(refresh),
            None,
        )
        .await,
        401,
    );
    let cookie = format!("accessToken={token}");
    let r = call(
        &app,
        Method::POST,
        "/api/v1/chat/createChat",
        Auth::Cookie(&cookie),
        Some(json!({"roomName": "cookies"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Malformed JSON and unknown routes get the envelope too.
    let resp = bare()
        .post(app.url(
            chatwire::config::Profile::Testcore,
            "/api/v1/chat/createChat",
        ))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        (body["success"].clone(), body["errors"].clone()),
        (json!(false), json!([]))
    );
    assert_error(
        &call(
            &app,
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
    let ann = register(&app, "Ann").await;
    let bob = register(&app, "Bob").await;
    let r = as_user(
        &app,
        Method::POST,
        "/api/v1/chat/createChat",
        &ann,
        Some(json!({"roomName": "General"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let room = &r.body["data"];
    assert_eq!(room["roomName"], "General");
    assert_eq!(room["AdminId"], ann.id.as_str());
    assert!(
        room["_id"].is_string() && room["createdAt"].is_string() && room["updatedAt"].is_string()
    );
    let room_id = room["_id"].clone();
    assert_error(
        &as_user(
            &app,
            Method::POST,
            "/api/v1/chat/createChat",
            &ann,
            Some(json!({})),
        )
        .await,
        400,
    );

    // Both spellings of getChat (and any case); the creator is a member.
    for path in [
        "/api/v1/chat/getChat",
        "/api/v1/chat/getchat",
        "/api/v1/chat/GETCHAT",
    ] {
        let r = as_user(&app, Method::GET, path, &ann, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.body["data"][0]["_id"], ann.id.as_str());
        assert_eq!(r.body["data"][0]["profile"]["name"], "Ann");
        assert_eq!(
            r.body["data"][0]["chatData"],
            json!([{"_id": room_id, "roomName": "General"}])
        );
    }
    assert_error(
        &as_user(&app, Method::GET, "/api/v1/chat/getChat", &bob, None).await,
        404,
    );

    // Creating a name that exists (in any case) opens that room and joins it.
    let r = as_user(
        &app,
        Method::POST,
        "/api/v1/chat/createChat",
        &bob,
        Some(json!({"roomName": "GENERAL"})),
    )
    .await;
    assert_eq!(r.body["data"]["_id"], room_id);
    assert_eq!(r.body["data"]["AdminId"], ann.id.as_str());
    let r = as_user(&app, Method::GET, "/api/v1/chat/getchat", &bob, None).await;
    assert_eq!(r.body["data"][0]["chatData"][0]["roomName"], "General");
    app.stop().await;
}

#[tokio::test]
async fn chat_query_joins_leaves_and_lists_on_both_path_forms() {
    let app = spawn_app().await;
    let ann = register(&app, "Ann").await;
    let bob = register(&app, "Bob").await;
    as_user(
        &app,
        Method::POST,
        "/api/v1/chat/createChat",
        &ann,
        Some(json!({"roomName": "Delhi/CSE"})),
    )
    .await;
    as_user(
        &app,
        Method::POST,
        "/api/v1/chat/createChat",
        &ann,
        Some(json!({"roomName": "lobby"})),
    )
    .await;

    let r = as_user(
        &app,
        Method::POST,
        "/api/v1/chat/ChatQuery/delhi/cse",
        &bob,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["roomName"], "Delhi/CSE");
    let r = as_user(
        &app,
        Method::GET,
        "/api/v1/chat/chatquery/DELHI/Cse",
        &bob,
        None,
    )
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

    let r = as_user(
        &app,
        Method::PUT,
        "/api/v1/chat/ChatQuery/Delhi/CSE",
        &bob,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = as_user(
        &app,
        Method::GET,
        "/api/v1/chat/ChatQuery/Delhi/CSE",
        &bob,
        None,
    )
    .await;
    assert_eq!(r.body["data"][0]["UserCount"], 1);
    assert!(
        r.body["data"][0].get("messages").is_none(),
        "history is for members"
    );

    // The one-segment form.
    let r = as_user(
        &app,
        Method::POST,
        "/api/v1/chat/ChatQuery/LOBBY",
        &bob,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = as_user(
        &app,
        Method::GET,
        "/api/v1/chat/ChatQuery/Lobby",
        &bob,
        None,
    )
    .await;
    assert_eq!(r.body["data"][0]["UserCount"], 2);
    assert_eq!(r.body["data"][0]["messages"], json!([]));
    let r = as_user(
        &app,
        Method::PUT,
        "/api/v1/chat/ChatQuery/lobby",
        &bob,
        None,
    )
    .await;
    assert_eq!(r.status, 200);

    for m in [Method::POST, Method::PUT, Method::GET] {
        assert_error(
            &as_user(
                &app,
                m.clone(),
                "/api/v1/chat/ChatQuery/nowhere",
                &bob,
                None,
            )
            .await,
            404,
        );
        assert_error(
            &as_user(
                &app,
                m.clone(),
                "/api/v1/chat/ChatQuery/No/Where",
                &bob,
                None,
            )
            .await,
            404,
        );
        assert_error(
            &call(&app, m, "/api/v1/chat/ChatQuery/lobby", Auth::None, None).await,
            401,
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn connect_chat_checks_membership_and_sets_the_chat_cookie() {
    let app = spawn_app().await;
    let ann = register(&app, "Ann").await;
    let eve = register(&app, "Eve").await;
    as_user(
        &app,
        Method::POST,
        "/api/v1/chat/createChat",
        &ann,
        Some(json!({"roomName": "Pune/IT"})),
    )
    .await;
    as_user(
        &app,
        Method::POST,
        "/api/v1/chat/createChat",
        &ann,
        Some(json!({"roomName": "solo"})),
    )
    .await;

    for path in [
        "/api/v1/chat/connectChat/pune/it",
        "/api/v1/chat/connectChat/SOLO",
    ] {
        let r = as_user(&app, Method::POST, path, &ann, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(r.body["data"]["roomName"].is_string());
        assert!(r.body["data"]["token"].is_string());
        let c = r
            .cookies
            .iter()
            .find(|c| c.starts_with("UserChatToken="))
            .expect("cookie");
        assert!(c.contains("HttpOnly"), "{c}");
        let r = as_user(&app, Method::POST, path, &eve, None).await;
        assert_error(&r, 409);
        assert_eq!(r.body["message"], "user don't have access to chat");
    }
    assert_error(
        &as_user(
            &app,
            Method::POST,
            "/api/v1/chat/connectChat/none",
            &ann,
            None,
        )
        .await,
        404,
    );
    assert_error(
        &call(
            &app,
            Method::POST,
            "/api/v1/chat/connectChat/solo",
            Auth::None,
            None,
        )
        .await,
        401,
    );
    app.stop().await;
}

#[tokio::test]
async fn the_rate_limit_answers_429_per_address() {
    let app = spawn_app_with(&[
        "--testcore-rate-limit=3",
        "--testcore-rate-limit-window-secs=900",
    ])
    .await;
    for _ in 0..3 {
        let r = call(&app, Method::GET, "/api/v1/chat/getChat", Auth::None, None).await;
        assert_eq!(r.status, 401);
    }
    let r = call(
        &app,
        Method::POST,
        "/api/v1/user/login",
        Auth::None,
        Some(json!({})),
    )
    .await;
    assert_error(&r, 429);
    // Health checks are not budgeted.
    let h = bare()
        .get(app.url(chatwire::config::Profile::Testcore, "/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(h.status().as_u16(), 200);
    app.stop().await;
}
