//! chatsphere rooms and messages over REST: who sees which rooms, membership,
//! history order, deletion, isolation from orgchat, and a restart.

use serde_json::json;

use crate::helpers::Reply;
use crate::helpers::chatsphere::{SECRET, error_of, sphere};

#[tokio::test]
async fn rooms_are_listed_per_token_kind_and_membership() {
    let s = sphere().await;
    let cs = s.app.chatsphere();
    let client = Some(s.client.as_str());
    let (ann_id, ann, _) = cs.user(&s.client, "ann").await;
    let (bob_id, bob, _) = cs.user(&s.client, "bob").await;
    let r = cs
        .create_room(
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
    let secret = cs.room(&bob, "secret", true).await;

    let ids = |r: &Reply| -> Vec<String> {
        r.body
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&cs.rooms(Some(&ann)).await), vec![general.clone()]);
    assert_eq!(ids(&cs.rooms(Some(&bob)).await), vec![secret.clone()]);
    assert_eq!(
        ids(&cs.rooms(client).await),
        vec![general.clone(), secret.clone()]
    );

    // Details: public rooms to anyone, private ones to members and clients.
    let r = cs.room_details(Some(&bob), &general).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["users"], json!([{"id": ann_id, "username": "ann"}]));
    let r = cs.room_details(Some(&ann), &secret).await;
    assert_eq!(r.status, 403);
    assert_eq!(cs.room_details(client, &secret).await.status, 200);
    for bad in ["999999", "abc"] {
        let r = cs.room_details(Some(&ann), bad).await;
        assert_eq!(r.status, 404);
        assert_eq!(error_of(&r), "Room not found");
    }

    // Adding a member: by a member or a client token.
    assert_eq!(
        cs.add_member(Some(&ann), &secret, &ann_id).await.status,
        403
    );
    let r = cs.add_member(Some(&ann), &general, &bob_id).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["message"], "User added to room successfully");
    assert_eq!(cs.add_member(client, &secret, "999999").await.status, 404);
    let r = cs
        .post(
            &format!("/api/rooms/{general}/users"),
            Some(&ann),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(ids(&cs.rooms(Some(&bob)).await).len(), 2);

    // Creation refusals and the creator named by a client token.
    let r = cs
        .create_room(Some(&ann), json!({"description": "x"}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(error_of(&r), "Name and userId are required");
    let r = cs
        .create_room(Some(&ann), json!({"name": "x", "userId": bob_id}))
        .await;
    assert_eq!(r.status, 403);
    let r = cs
        .create_room(client, json!({"name": "for bob", "userId": bob_id}))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["createdBy"], bob_id.as_str());

    // Deletion: the creator or a client token.
    assert_eq!(cs.delete_room(Some(&bob), &general).await.status, 403);
    assert_eq!(cs.delete_room(Some(&ann), &general).await.status, 200);
    assert_eq!(cs.room_details(Some(&ann), &general).await.status, 404);
    assert_eq!(cs.delete_room(client, &secret).await.status, 200);
    s.app.stop().await;
}

#[tokio::test]
async fn messages_need_membership_and_come_in_order() {
    let s = sphere().await;
    let cs = s.app.chatsphere();
    let client = Some(s.client.as_str());
    let (ann_id, ann, _) = cs.user(&s.client, "ann").await;
    let (bob_id, bob, _) = cs.user(&s.client, "bob").await;
    let general = cs.room(&ann, "general", false).await;

    let r = cs.messages(Some(&bob), &general).await;
    assert_eq!(r.status, 403);
    assert_eq!(error_of(&r), "You don't have access to this room");
    assert_eq!(
        cs.send_message(Some(&bob), &general, "hi").await.status,
        403
    );
    assert_eq!(
        cs.send_message(Some(&ann), &general, "  ").await.status,
        400
    );
    assert_eq!(cs.send_message(None, &general, "x").await.status, 401);

    for i in 1..=3 {
        let r = cs
            .send_message(Some(&ann), &general, &format!("m{i}"))
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
    let r = cs.send_message(client, &general, "from the client").await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["userId"], s.admin_id.as_str());

    let r = cs.messages(Some(&ann), &general).await;
    let contents: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["m1", "m2", "m3", "from the client"]);
    let r = cs.room_details(Some(&ann), &general).await;
    assert_eq!(r.body["_count"]["messages"], 4);

    // All messages: client tokens only.
    let r = cs.all_messages(Some(&ann)).await;
    assert_eq!(r.status, 403);
    assert_eq!(error_of(&r), "Only client tokens can access all messages");
    assert_eq!(
        cs.all_messages(client).await.body.as_array().unwrap().len(),
        4
    );

    // A user's messages, newest first: their own, or anyone's for a client token.
    let r = cs.my_messages(Some(&ann)).await;
    let contents: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["m3", "m2", "m1"]);
    assert_eq!(
        cs.user_messages(Some(&ann), &ann_id)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(cs.user_messages(Some(&bob), &ann_id).await.status, 403);
    assert_eq!(cs.user_messages(client, &ann_id).await.status, 200);
    assert_eq!(cs.my_messages(Some(&bob)).await.body, json!([]));
    let _ = bob_id;
    s.app.stop().await;
}

#[tokio::test]
async fn orgchat_rooms_and_users_never_show_on_chatsphere() {
    let s = sphere().await;
    let cs = s.app.chatsphere();
    let client = Some(s.client.as_str());
    let oc = s.app.orgchat();
    let org = oc.member("olga", "Acme", "admin").await;
    let org_room = oc.room(&org, "acme-only").await.to_string();
    let r = cs.rooms(client).await;
    assert_eq!(r.body, json!([]));
    let r = cs.room_details(client, &org_room).await;
    assert_eq!(r.status, 404);
    let r = cs.send_message(client, &org_room, "x").await;
    assert_eq!(r.status, 404);
    let r = cs.issue_user_token(client, json!({"userId": org.id})).await;
    assert_eq!(r.status, 404);
    let r = cs.users(client).await;
    let org_id = org.id.to_string();
    assert!(
        r.body
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["id"].as_str() != Some(org_id.as_str()))
    );
    // And the other way: orgchat's list does not show chatsphere rooms.
    let _ = cs.room(&s.client, "sphere-only", false).await;
    let r = oc.rooms(Some(&org.access)).await;
    assert_eq!(r.body["total"], 1);
    s.app.stop().await;
}

#[tokio::test]
async fn a_message_survives_a_restart() {
    let s = sphere().await;
    let cs = s.app.chatsphere();
    let (_, ann, _) = cs.user(&s.client, "ann").await;
    let general = cs.room(&ann, "general", false).await;
    let r = cs.send_message(Some(&ann), &general, "still here").await;
    assert_eq!(r.status, 201);

    let app = s.app.restart(&[SECRET]).await;
    let r = app.chatsphere().messages(Some(&ann), &general).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body[0]["content"], "still here");
    app.stop().await;
}
