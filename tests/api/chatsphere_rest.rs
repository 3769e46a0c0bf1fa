//! chatsphere rooms and messages over REST: who sees which rooms, membership,
//! history order, deletion, isolation from orgchat, and a restart.

use serde_json::json;

use crate::chatsphere_support::*;
use crate::helpers::TestApp;

#[tokio::test]
async fn rooms_are_listed_per_token_kind_and_membership() {
    let s = sphere().await;
    let (ann_id, ann, _) = user(&s, "ann").await;
    let (bob_id, bob, _) = user(&s, "bob").await;
    let r = post(
        &s.app,
        "/api/rooms",
        Some(&ann),
        json!({"name": "general", "description": "talk"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    for k in [
        "id",
        "name",
        "description",
        "isPrivate",
        "createdAt",
        "updatedAt",
    ] {
        assert!(r.body.get(k).is_some(), "{k} in {}", r.body);
    }
    assert_eq!(
        r.body["_count"],
        json!({"messages": 0, "users": 1, "members": 1})
    );
    let general = r.body["id"].as_str().unwrap().to_owned();
    let secret = room(&s, &bob, "secret", true).await;

    let ids = |r: &Reply| -> Vec<String> {
        r.body
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(&get(&s.app, "/api/rooms", Some(&ann)).await),
        vec![general.clone()]
    );
    assert_eq!(
        ids(&get(&s.app, "/api/rooms", Some(&bob)).await),
        vec![secret.clone()]
    );
    assert_eq!(
        ids(&get(&s.app, "/api/rooms", Some(&s.client)).await),
        vec![general.clone(), secret.clone()]
    );

    // Details: public rooms to anyone, private ones to members and clients.
    let r = get(&s.app, &format!("/api/rooms/{general}"), Some(&bob)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["users"], json!([{"id": ann_id, "username": "ann"}]));
    let r = get(&s.app, &format!("/api/rooms/{secret}"), Some(&ann)).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        get(&s.app, &format!("/api/rooms/{secret}"), Some(&s.client))
            .await
            .status,
        200
    );
    for bad in ["999999", "abc"] {
        let r = get(&s.app, &format!("/api/rooms/{bad}"), Some(&ann)).await;
        assert_eq!(r.status, 404);
        assert_eq!(error_of(&r), "Room not found");
    }

    // Adding a member: by a member or a client token.
    let add = |room: String, token: String, user: String| {
        let app = &s.app;
        async move {
            post(
                app,
                &format!("/api/rooms/{room}/users"),
                Some(&token),
                json!({"userId": user}),
            )
            .await
        }
    };
    assert_eq!(
        add(secret.clone(), ann.clone(), ann_id.clone())
            .await
            .status,
        403
    );
    let r = add(general.clone(), ann.clone(), bob_id.clone()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["message"], "User added to room successfully");
    assert_eq!(
        add(secret.clone(), s.client.clone(), "999999".into())
            .await
            .status,
        404
    );
    let r = post(
        &s.app,
        &format!("/api/rooms/{general}/users"),
        Some(&ann),
        json!({}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(ids(&get(&s.app, "/api/rooms", Some(&bob)).await).len(), 2);

    // Creation refusals and the creator named by a client token.
    let r = post(
        &s.app,
        "/api/rooms",
        Some(&ann),
        json!({"description": "x"}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(error_of(&r), "Name and userId are required");
    let r = post(
        &s.app,
        "/api/rooms",
        Some(&ann),
        json!({"name": "x", "userId": bob_id}),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = post(
        &s.app,
        "/api/rooms",
        Some(&s.client),
        json!({"name": "for bob", "userId": bob_id}),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["createdBy"], bob_id.as_str());

    // Deletion: the creator or a client token.
    assert_eq!(
        delete(&s.app, &format!("/api/rooms/{general}"), Some(&bob))
            .await
            .status,
        403
    );
    assert_eq!(
        delete(&s.app, &format!("/api/rooms/{general}"), Some(&ann))
            .await
            .status,
        200
    );
    assert_eq!(
        get(&s.app, &format!("/api/rooms/{general}"), Some(&ann))
            .await
            .status,
        404
    );
    assert_eq!(
        delete(&s.app, &format!("/api/rooms/{secret}"), Some(&s.client))
            .await
            .status,
        200
    );
    s.app.stop().await;
}

#[tokio::test]
async fn messages_need_membership_and_come_in_order() {
    let s = sphere().await;
    let (ann_id, ann, _) = user(&s, "ann").await;
    let (bob_id, bob, _) = user(&s, "bob").await;
    let general = room(&s, &ann, "general", false).await;
    let path = format!("/api/rooms/{general}/messages");

    let r = get(&s.app, &path, Some(&bob)).await;
    assert_eq!(r.status, 403);
    assert_eq!(error_of(&r), "You don't have access to this room");
    assert_eq!(
        post(&s.app, &path, Some(&bob), json!({"content": "hi"}))
            .await
            .status,
        403
    );
    assert_eq!(
        post(&s.app, &path, Some(&ann), json!({"content": "  "}))
            .await
            .status,
        400
    );
    assert_eq!(
        post(&s.app, &path, None, json!({"content": "x"}))
            .await
            .status,
        401
    );

    for i in 1..=3 {
        let r = post(
            &s.app,
            &path,
            Some(&ann),
            json!({"content": format!("m{i}")}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["userId"], ann_id.as_str());
        assert_eq!(r.body["roomId"], general.as_str());
        assert_eq!(r.body["user"], json!({"id": ann_id, "username": "ann"}));
        assert!(
            r.body["id"].is_string()
                && r.body["createdAt"].is_string()
                && r.body["updatedAt"].is_string()
        );
    }
    // A client token writes as its own user.
    let r = post(
        &s.app,
        &path,
        Some(&s.client),
        json!({"content": "from the client"}),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["userId"], s.admin_id.as_str());

    let r = get(&s.app, &path, Some(&ann)).await;
    let contents: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["m1", "m2", "m3", "from the client"]);
    let r = get(&s.app, &format!("/api/rooms/{general}"), Some(&ann)).await;
    assert_eq!(r.body["_count"]["messages"], 4);

    // All messages: client tokens only.
    let r = get(&s.app, "/api/messages", Some(&ann)).await;
    assert_eq!(r.status, 403);
    assert_eq!(error_of(&r), "Only client tokens can access all messages");
    assert_eq!(
        get(&s.app, "/api/messages", Some(&s.client))
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // A user's messages, newest first: their own, or anyone's for a client token.
    let r = get(&s.app, "/api/messages/user", Some(&ann)).await;
    let contents: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["m3", "m2", "m1"]);
    assert_eq!(
        get(&s.app, &format!("/api/users/{ann_id}/messages"), Some(&ann))
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        get(&s.app, &format!("/api/users/{ann_id}/messages"), Some(&bob))
            .await
            .status,
        403
    );
    assert_eq!(
        get(
            &s.app,
            &format!("/api/users/{ann_id}/messages"),
            Some(&s.client)
        )
        .await
        .status,
        200
    );
    assert_eq!(
        get(&s.app, "/api/messages/user", Some(&bob)).await.body,
        json!([])
    );
    let _ = bob_id;
    s.app.stop().await;
}

#[tokio::test]
async fn orgchat_rooms_and_users_never_show_on_chatsphere() {
    let s = sphere().await;
    let oc = s.app.orgchat();
    let org = oc.member("olga", "Acme", "admin").await;
    let org_room = oc.room(&org, "acme-only").await;
    let r = get(&s.app, "/api/rooms", Some(&s.client)).await;
    assert_eq!(r.body, json!([]));
    let r = get(&s.app, &format!("/api/rooms/{org_room}"), Some(&s.client)).await;
    assert_eq!(r.status, 404);
    let r = post(
        &s.app,
        &format!("/api/rooms/{org_room}/messages"),
        Some(&s.client),
        json!({"content": "x"}),
    )
    .await;
    assert_eq!(r.status, 404);
    let r = post(
        &s.app,
        "/api/tokens/user",
        Some(&s.client),
        json!({"userId": org.id}),
    )
    .await;
    assert_eq!(r.status, 404);
    let r = get(&s.app, "/api/users", Some(&s.client)).await;
    let org_id = org.id.to_string();
    assert!(
        r.body
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["id"].as_str() != Some(org_id.as_str()))
    );
    // And the other way: orgchat's list does not show chatsphere rooms.
    let _ = room(&s, &s.client, "sphere-only", false).await;
    let r = oc.rooms(Some(&org.access)).await;
    assert_eq!(r.body["total"], 1);
    s.app.stop().await;
}

#[tokio::test]
async fn a_message_survives_a_restart() {
    let s = sphere().await;
    let (_, ann, _) = user(&s, "ann").await;
    let general = room(&s, &ann, "general", false).await;
    let path = format!("/api/rooms/{general}/messages");
    let r = post(&s.app, &path, Some(&ann), json!({"content": "still here"})).await;
    assert_eq!(r.status, 201);

    let app: TestApp = s.app.restart(&[SECRET]).await;
    let r = get(&app, &path, Some(&ann)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body[0]["content"], "still here");
    app.stop().await;
}
