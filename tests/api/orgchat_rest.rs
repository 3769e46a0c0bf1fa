//! orgchat REST: registration, login, refresh rotation and reuse, the token on
//! every route, room pagination, organization scoping and the rate limit.

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn register_checks_fields_roles_and_uniqueness() {
    let app = spawn_app().await;
    let oc = app.orgchat();
    let r = oc
        .post("/api/auth/register", None, json!({"username": "ann"}))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("required"));
    let r = oc.register("ann", "Acme", "owner").await;
    assert_eq!(r.status, 400, "unknown role");
    let r = oc.register("manoj singh", "Acme SN Corp", "admin").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let user = &r.body["user"];
    assert_eq!(user["username"], "manoj singh");
    assert_eq!(user["role"], "admin");
    let acme = user["organization_id"].as_i64().unwrap();
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());

    // Same organization name: same organization. A new name: a new one.
    let r = oc.register("bob", "Acme SN Corp", "user").await;
    assert_eq!(r.body["user"]["organization_id"], acme);
    let r = oc.register("cid", "Other Inc", "moderator").await;
    assert_ne!(r.body["user"]["organization_id"], acme);

    // Usernames and emails are unique.
    let r = oc.register("bob", "Other Inc", "user").await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = oc
        .post(
            "/api/auth/register",
            None,
            json!({"username": "bob2", "email": "BOB@acmesncorp.test", "password": "x",
                   "organizationName": "Acme SN Corp", "role": "user"}),
        )
        .await;
    assert_eq!(r.status, 409, "email taken (case-insensitively)");

    // Not JSON at all.
    assert_eq!(oc.register_raw("{nope").await.status, 400);
    app.stop().await;
}

#[tokio::test]
async fn joiners_get_user_role_when_roles_are_closed() {
    let app = spawn_app_with(&["--orgchat-open-roles=false"]).await;
    let oc = app.orgchat();
    let r = oc.register("founder", "Closed Co", "admin").await;
    assert_eq!(
        r.body["user"]["role"], "admin",
        "the creator keeps the role"
    );
    let r = oc.register("joiner", "Closed Co", "admin").await;
    assert_eq!(r.body["user"]["role"], "user");
    app.stop().await;
}

#[tokio::test]
async fn login_refresh_rotates_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let oc = app.orgchat();
    let ann = oc.member("ann", "Acme", "user").await;
    let bad = oc
        .login(json!({"email": ann.email, "password": "wrong"}))
        .await;
    assert_eq!(
        (bad.status, bad.body["message"].as_str()),
        (401, Some("Invalid credentials"))
    );
    let unknown = oc
        .login(json!({"email": "nobody@x.io", "password": "wrong"}))
        .await;
    assert_eq!(unknown.status, 401, "same answer for an unknown email");
    let missing = oc.login(json!({"email": ann.email})).await;
    assert_eq!(missing.status, 400);

    let r = oc.refresh(json!({"refreshToken": ann.refresh})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let access = r.body["accessToken"].as_str().unwrap().to_owned();
    let rotated = r.body["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(rotated, ann.refresh);
    assert_eq!(oc.rooms(Some(&access)).await.status, 200);

    // The spent token again: refused, and its whole family with it.
    let reuse = oc.refresh(json!({"refreshToken": ann.refresh})).await;
    assert_eq!(reuse.status, 403, "{}", reuse.body);
    let after = oc.refresh(json!({"refreshToken": rotated})).await;
    assert_eq!(
        after.status, 403,
        "the rotated token was revoked with its family"
    );
    let none = oc.refresh(json!({})).await;
    assert_eq!(none.status, 400);
    let forged = oc.refresh(json!({"refreshToken": ann.access})).await;
    assert_eq!(forged.status, 403, "an access token is no refresh token");
    app.stop().await;
}

#[tokio::test]
async fn every_chat_route_needs_an_organization_access_token() {
    let app = spawn_app().await;
    let oc = app.orgchat();
    let ann = oc.member("ann", "Acme", "user").await;
    for (status, path) in [
        (oc.rooms(None).await.status, "GET no token"),
        (oc.rooms(Some("garbage")).await.status, "GET garbage"),
        (
            oc.rooms(Some(&ann.refresh)).await.status,
            "GET refresh token",
        ),
        (
            oc.create_room(None, json!({"name": "x"})).await.status,
            "POST no token",
        ),
    ] {
        assert_eq!(status, 401, "{path}");
    }
    // An account of the organization-less space (expresschat) is not a member.
    app.expresschat()
        .signup_verified("Exp", "exp@x.io", "pw")
        .await;
    let exp = chatwire::core::identity::accounts::find_by_email(&app.core, "exp@x.io")
        .await
        .unwrap()
        .unwrap();
    let token = chatwire::core::identity::auth::issue_access(&app.core, &exp).unwrap();
    assert_eq!(oc.rooms(Some(&token)).await.status, 401);
    // `?token=` works like the header.
    let url = format!("/api/chat?token={}", ann.access);
    assert_eq!(oc.get(&url, None).await.status, 200);
    app.stop().await;
}

#[tokio::test]
async fn rooms_paginate_newest_first() {
    let app = spawn_app().await;
    let oc = app.orgchat();
    let ann = oc.member("ann", "Acme", "admin").await;
    let token = Some(ann.access.as_str());
    let r = oc.rooms(token).await;
    assert_eq!(
        r.body,
        json!({"total": 0, "pages": 0, "currentPage": 1, "data": []})
    );
    let mut ids = Vec::new();
    for i in 0..11 {
        ids.push(oc.room(&ann, &format!("room {i}")).await);
    }
    let r = oc.rooms_page(token, "page=1&pageSize=10").await;
    assert_eq!(
        (r.body["total"].as_i64(), r.body["pages"].as_i64()),
        (Some(11), Some(2))
    );
    assert_eq!(r.body["currentPage"], 1);
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 10);
    assert_eq!(data[0]["id"].as_i64(), ids.last().copied(), "newest first");
    assert_eq!(data[0]["name"], "room 10");
    assert_eq!(data[0]["organization_id"], ann.org);
    let mut keys: Vec<_> = data[0].as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["createdAt", "id", "name", "organization_id", "updatedAt"]
    );
    assert!(data[0]["createdAt"].as_str().unwrap().ends_with('Z'));

    let last = oc.rooms_page(token, "page=2&pageSize=10").await;
    assert_eq!(last.body["currentPage"], 2);
    assert_eq!(last.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(last.body["data"][0]["id"].as_i64(), Some(ids[0]));
    let past = oc.rooms_page(token, "page=3&pageSize=10").await;
    assert_eq!(
        (past.status, past.body["data"].as_array().unwrap().len()),
        (200, 0)
    );
    assert_eq!(past.body["total"], 11);

    // Defaults (also for empty parameters) and bounds.
    let r = oc.rooms_page(token, "page=&pageSize=").await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 10);
    let r = oc.rooms_page(token, "pageSize=1000").await;
    assert_eq!(
        r.body["data"].as_array().unwrap().len(),
        11,
        "capped, not refused"
    );
    let r = oc.rooms_page(token, "pageSize=3&page=4").await;
    assert_eq!(
        (
            r.body["pages"].as_i64(),
            r.body["data"].as_array().unwrap().len()
        ),
        (Some(4), 2)
    );
    for bad in [
        "page=0",
        "pageSize=0",
        "page=-1",
        "page=abc",
        "pageSize=1.5",
    ] {
        let r = oc.rooms_page(token, bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    app.stop().await;
}

#[tokio::test]
async fn rooms_stay_inside_their_organization() {
    let app = spawn_app().await;
    let oc = app.orgchat();
    let ann = oc.member("ann", "Acme", "admin").await;
    let bea = oc.member("bea", "Acme", "user").await;
    let eve = oc.member("eve", "Evil Corp", "admin").await;
    oc.room(&ann, "acme only").await;
    let r = oc.rooms(Some(&eve.access)).await;
    assert_eq!(
        r.body["total"], 0,
        "another organization's rooms are not listed"
    );
    // Inviting someone of another organization is refused, and nothing is made.
    let r = oc
        .create_room(
            Some(&eve.access),
            json!({"name": "lure", "invitedUsers": [ann.id]}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(oc.rooms(Some(&eve.access)).await.body["total"], 0);
    // A colleague can be invited (also as a numeric string).
    let r = oc
        .create_room(
            Some(&ann.access),
            json!({"name": "team", "invitedUsers": [bea.id.to_string()]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["created_by"], ann.id);
    let r = oc
        .create_room(Some(&ann.access), json!({"name": " "}))
        .await;
    assert_eq!(r.status, 400);
    app.stop().await;
}

#[tokio::test]
async fn chat_routes_are_rate_limited_per_user() {
    let app = spawn_app_with(&["--orgchat-rate-limit-per-minute=3"]).await;
    let oc = app.orgchat();
    let ann = oc.member("ann", "Acme", "admin").await;
    let bob = oc.member("bob", "Acme", "user").await;
    assert_eq!(oc.rooms(Some(&ann.access)).await.status, 200);
    assert_eq!(
        oc.create_room(Some(&ann.access), json!({"name": "r"}))
            .await
            .status,
        201
    );
    assert_eq!(oc.rooms(Some(&ann.access)).await.status, 200);
    let r = oc.rooms(Some(&ann.access)).await;
    assert_eq!(r.status, 429, "{}", r.body);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert!(r.body["message"].is_string());
    let r = oc
        .create_room(Some(&ann.access), json!({"name": "r2"}))
        .await;
    assert_eq!(r.status, 429, "POST shares the budget");
    assert_eq!(
        oc.rooms(Some(&bob.access)).await.status,
        200,
        "another user has their own budget"
    );
    app.stop().await;
}
