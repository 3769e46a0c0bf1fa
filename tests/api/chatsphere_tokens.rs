//! chatsphere auth, users, profile and API tokens: where a token may come from,
//! what each kind may do, issuing and revoking (revocation applies at once).

use reqwest::Method;
use serde_json::json;

use crate::helpers::chatsphere::{Via, error_of, sphere};

#[tokio::test]
async fn health_needs_no_token_and_everything_else_does() {
    let s = sphere().await;
    let cs = s.app.chatsphere();
    let r = cs.health().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");

    let r = cs.rooms(None).await;
    assert_eq!(r.status, 401);
    assert_eq!(error_of(&r), "Unauthorized: No token provided");
    let r = cs.rooms(Some("not-a-jwt")).await;
    assert_eq!(r.status, 401);
    assert_eq!(error_of(&r), "Unauthorized: Invalid token");
    // A core access token (another secret, no `type`) is not an API token.
    let someone = crate::helpers::core_fixtures::user(&s.app, "someone").await;
    let access = chatwire::core::identity::auth::issue_access(&s.app.core, &someone).unwrap();
    assert_eq!(cs.rooms(Some(&access)).await.status, 401);

    for via in [Via::Bearer, Via::Query, Via::Cookie] {
        let r = cs
            .call_via(Method::GET, "/api/rooms", Some(&s.client), via, None)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // body.token
    let r = cs
        .create_room(None, json!({"name": "lobby", "token": s.client}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    s.app.stop().await;
}

#[tokio::test]
async fn users_are_created_with_a_client_token_only() {
    let s = sphere().await;
    let cs = s.app.chatsphere();
    let r = cs
        .create_user(Some(&s.client), json!({"username": "ann"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["user"]["username"], "ann");
    assert_eq!(r.body["user"]["role"], "MEMBER");
    assert!(r.body["user"]["id"].is_string());
    assert!(r.body["token"].is_string() && r.body["expiresAt"].is_string());
    assert!(r.body["id"].is_string(), "the token's id: {}", r.body);
    let ann_token = r.body["token"].as_str().unwrap().to_owned();

    let r = cs
        .create_user(Some(&s.client), json!({"username": "ann"}))
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(error_of(&r), "Username already exists");
    let r = cs
        .create_user(Some(&ann_token), json!({"username": "bob"}))
        .await;
    assert_eq!(r.status, 403);
    let r = cs.create_user(Some(&s.client), json!({})).await;
    assert_eq!(r.status, 400);
    let r = cs
        .call(Method::POST, "/api/users", Some(&s.client), None)
        .await;
    assert_eq!(r.status, 400);

    let r = cs.users(Some(&ann_token)).await;
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
    let cs = s.app.chatsphere();
    let (id, token, _) = cs.user(&s.client, "carl").await;
    let r = cs.profile(Some(&token)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["user"]["id"], id.as_str());
    assert_eq!(r.body["user"]["username"], "carl");
    assert_eq!(cs.profile(Some(&s.client)).await.status, 403);
    assert_eq!(cs.profile(None).await.status, 401);

    let r = cs
        .update_profile(Some(&token), json!({"username": "carla"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user"]["username"], "carla");
    let r = cs
        .update_profile(Some(&token), json!({"username": "admin"}))
        .await;
    assert_eq!(r.status, 409);
    let r = cs
        .update_profile(Some(&token), json!({"username": 5}))
        .await;
    assert_eq!(r.status, 400);
    s.app.stop().await;
}

#[tokio::test]
async fn tokens_are_issued_by_client_tokens_and_revoked_at_once() {
    let s = sphere().await;
    let cs = s.app.chatsphere();
    let client = Some(s.client.as_str());
    let (id, user_token, user_token_id) = cs.user(&s.client, "dora").await;

    let r = cs
        .issue_user_token(client, json!({"userId": id, "permissions": {"read": true}}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["user"]["username"], "dora");
    let second = r.body["token"].as_str().unwrap().to_owned();
    let second_id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(cs.profile(Some(&second)).await.status, 200);

    // Refusals: user token, missing userId, unknown user, missing email.
    let r = cs
        .issue_user_token(Some(&user_token), json!({"userId": id}))
        .await;
    assert_eq!(r.status, 403);
    let r = cs.issue_user_token(client, json!({})).await;
    assert_eq!(r.status, 400);
    let r = cs
        .issue_user_token(client, json!({"userId": "999999"}))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(error_of(&r), "User not found");
    let r = cs.issue_client_token(client, json!({"userId": id})).await;
    assert_eq!(r.status, 400);
    assert_eq!(error_of(&r), "User ID and email are required");

    // A client token for dora: it may create users.
    let r = cs
        .issue_client_token(client, json!({"userId": id, "email": "d@x.io"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let dora_client = r.body["token"].as_str().unwrap().to_owned();
    let r = cs
        .create_user(Some(&dora_client), json!({"username": "eve"}))
        .await;
    assert_eq!(r.status, 201);
    let eve_token = r.body["token"].as_str().unwrap().to_owned();

    // A user token cannot revoke another user's token; it may revoke its own.
    let r = cs.delete_token(Some(&eve_token), &second_id).await;
    assert_eq!(r.status, 404);
    let r = cs.revoke_token(Some(&user_token), &second_id).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["message"], "Token revoked successfully");
    let r = cs.profile(Some(&second)).await;
    assert_eq!(r.status, 401);
    assert_eq!(error_of(&r), "Unauthorized: Invalid token");

    // The client token revokes any token; the revoked one is refused everywhere.
    let r = cs.delete_token(client, &user_token_id).await;
    assert_eq!(r.status, 200);
    for via in [Via::Bearer, Via::Query, Via::Cookie] {
        let r = cs
            .call_via(Method::GET, "/api/rooms", Some(&user_token), via, None)
            .await;
        assert_eq!(r.status, 401);
    }
    assert_eq!(cs.delete_token(client, "424242").await.status, 404);
    assert_eq!(cs.delete_token(client, "nope").await.status, 404);
    s.app.stop().await;
}
