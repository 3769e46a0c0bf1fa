//! chatsphere auth, users, profile and API tokens: where a token may come from,
//! what each kind may do, issuing and revoking (revocation applies at once).

use reqwest::Method;
use serde_json::json;

use crate::chatsphere_support::*;

#[tokio::test]
async fn health_needs_no_token_and_everything_else_does() {
    let s = sphere().await;
    let r = get(&s.app, "/api/health", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");

    let r = get(&s.app, "/api/rooms", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(error_of(&r), "Unauthorized: No token provided");
    let r = get(&s.app, "/api/rooms", Some("not-a-jwt")).await;
    assert_eq!(r.status, 401);
    assert_eq!(error_of(&r), "Unauthorized: Invalid token");
    // A core access token (another secret, no `type`) is not an API token.
    let access = chatwire::core::identity::auth::issue_access(&s.app.core, 1).unwrap();
    assert_eq!(get(&s.app, "/api/rooms", Some(&access)).await.status, 401);

    for via in [Via::Bearer, Via::Query, Via::Cookie] {
        let r = call_via(
            &s.app,
            Method::GET,
            "/api/rooms",
            Some(&s.client),
            via,
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // body.token
    let r = call_via(
        &s.app,
        Method::POST,
        "/api/rooms",
        None,
        Via::Bearer,
        Some(json!({"name": "lobby", "token": s.client})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    s.app.stop().await;
}

#[tokio::test]
async fn users_are_created_with_a_client_token_only() {
    let s = sphere().await;
    let r = post(
        &s.app,
        "/api/users",
        Some(&s.client),
        json!({"username": "ann"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["user"]["username"], "ann");
    assert_eq!(r.body["user"]["role"], "MEMBER");
    assert!(r.body["user"]["id"].is_string());
    assert!(r.body["token"].is_string() && r.body["expiresAt"].is_string());
    assert!(r.body["id"].is_string(), "the token's id: {}", r.body);
    let ann_token = r.body["token"].as_str().unwrap().to_owned();

    let r = post(
        &s.app,
        "/api/users",
        Some(&s.client),
        json!({"username": "ann"}),
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(error_of(&r), "Username already exists");
    let r = post(
        &s.app,
        "/api/users",
        Some(&ann_token),
        json!({"username": "bob"}),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = post(&s.app, "/api/users", Some(&s.client), json!({})).await;
    assert_eq!(r.status, 400);
    let r = call(&s.app, Method::POST, "/api/users", Some(&s.client), None).await;
    assert_eq!(r.status, 400);

    let r = get(&s.app, "/api/users", Some(&ann_token)).await;
    assert_eq!(r.status, 200);
    let names: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"ann") && names.contains(&"admin"),
        "{names:?}"
    );
    s.app.stop().await;
}

#[tokio::test]
async fn profile_is_for_user_tokens() {
    let s = sphere().await;
    let (id, token, _) = user(&s, "carl").await;
    let r = get(&s.app, "/api/auth/profile", Some(&token)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["user"]["id"], id.as_str());
    assert_eq!(r.body["user"]["username"], "carl");
    assert_eq!(
        get(&s.app, "/api/auth/profile", Some(&s.client))
            .await
            .status,
        403
    );
    assert_eq!(get(&s.app, "/api/auth/profile", None).await.status, 401);

    let put = |body| {
        call(
            &s.app,
            Method::PUT,
            "/api/auth/profile",
            Some(&token),
            Some(body),
        )
    };
    let r = put(json!({"username": "carla"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user"]["username"], "carla");
    let r = put(json!({"username": "admin"})).await;
    assert_eq!(r.status, 409);
    let r = put(json!({"username": 5})).await;
    assert_eq!(r.status, 400);
    s.app.stop().await;
}

#[tokio::test]
async fn tokens_are_issued_by_client_tokens_and_revoked_at_once() {
    let s = sphere().await;
    let (id, user_token, user_token_id) = user(&s, "dora").await;

    let r = post(
        &s.app,
        "/api/tokens/user",
        Some(&s.client),
        json!({"userId": id, "permissions": {"read": true}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["user"]["username"], "dora");
    let second = r.body["token"].as_str().unwrap().to_owned();
    let second_id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        get(&s.app, "/api/auth/profile", Some(&second)).await.status,
        200
    );

    // Refusals: user token, missing userId, unknown user, missing email.
    let r = post(
        &s.app,
        "/api/tokens/user",
        Some(&user_token),
        json!({"userId": id}),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = post(&s.app, "/api/tokens/user", Some(&s.client), json!({})).await;
    assert_eq!(r.status, 400);
    let r = post(
        &s.app,
        "/api/tokens/user",
        Some(&s.client),
        json!({"userId": "999999"}),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(error_of(&r), "User not found");
    let r = post(
        &s.app,
        "/api/tokens/client",
        Some(&s.client),
        json!({"userId": id}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(error_of(&r), "User ID and email are required");

    // A client token for dora: it may create users.
    let r = post(
        &s.app,
        "/api/tokens/client",
        Some(&s.client),
        json!({"userId": id, "email": "d@x.io"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let dora_client = r.body["token"].as_str().unwrap().to_owned();
    let r = post(
        &s.app,
        "/api/users",
        Some(&dora_client),
        json!({"username": "eve"}),
    )
    .await;
    assert_eq!(r.status, 201);
    let eve_token = r.body["token"].as_str().unwrap().to_owned();

    // A user token cannot revoke another user's token; it may revoke its own.
    let r = delete(
        &s.app,
        &format!("/api/tokens/{second_id}"),
        Some(&eve_token),
    )
    .await;
    assert_eq!(r.status, 404);
    let r = call(
        &s.app,
        Method::PUT,
        &format!("/api/tokens/{second_id}/revoke"),
        Some(&user_token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["message"], "Token revoked successfully");
    let r = get(&s.app, "/api/auth/profile", Some(&second)).await;
    assert_eq!(r.status, 401);
    assert_eq!(error_of(&r), "Unauthorized: Invalid token");

    // The client token revokes any token; the revoked one is refused everywhere.
    let r = delete(
        &s.app,
        &format!("/api/tokens/{user_token_id}"),
        Some(&s.client),
    )
    .await;
    assert_eq!(r.status, 200);
    for via in [Via::Bearer, Via::Query, Via::Cookie] {
        let r = call_via(
            &s.app,
            Method::GET,
            "/api/rooms",
            Some(&user_token),
            via,
            None,
        )
        .await;
        assert_eq!(r.status, 401);
    }
    assert_eq!(
        delete(&s.app, "/api/tokens/424242", Some(&s.client))
            .await
            .status,
        404
    );
    assert_eq!(
        delete(&s.app, "/api/tokens/nope", Some(&s.client))
            .await
            .status,
        404
    );
    s.app.stop().await;
}
