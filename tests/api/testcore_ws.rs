//! testcore over its raw WebSocket from Rust: messages (with an edit and a
//! delete) persist and read back through `GET ChatQuery` after a restart on the
//! same database; refused tokens, users and non-members close with 4000.

use reqwest::Method;

use crate::helpers::spawn_app;
use crate::helpers::testcore::frame;

#[tokio::test]
async fn a_message_survives_a_restart_with_its_edit() {
    let app = spawn_app().await;
    let tc = app.testcore();
    let ann = tc.user("Ann").await;
    tc.room(&ann, "Keep").await;
    let mut ws = tc.ws(&format!("/ws1/?token={}", ann.token)).await;
    ws.send_json(&frame(
        "SEND_MESSAGE",
        "keep",
        "m-1",
        "hello, past",
        &ann.id,
    ))
    .await;
    ws.send_json(&frame(
        "SEND_MESSAGE",
        "Keep",
        "m-2",
        "to be edited",
        &ann.id,
    ))
    .await;
    ws.send_json(&frame("MODIFI_MESSAGE", "Keep", "m-2", "edited", &ann.id))
        .await;
    ws.send_json(&frame(
        "SEND_MESSAGE",
        "Keep",
        "m-3",
        "to be deleted",
        &ann.id,
    ))
    .await;
    ws.send_json(&frame("DELETE_MESSAGE", "Keep", "m-3", "x", &ann.id))
        .await;
    // Frames are handled in order: the close after LEAVE_ROOM proves the rest ran.
    ws.send_json(&frame("LEAVE_ROOM", "Keep", "m-4", "bye", &ann.id))
        .await;
    assert_eq!(ws.closed().await.0, 1000);

    let app = app.restart(&[]).await;
    let r = app.testcore().chat_query(&ann, Method::GET, "KEEP").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let msgs = r.body["data"][0]["messages"].as_array().unwrap().clone();
    let got: Vec<(&str, &str)> = msgs
        .iter()
        .map(|m| {
            (
                m["MessageId"].as_str().unwrap(),
                m["content"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("m-1", "hello, past"), ("m-2", "edited")]);
    assert_eq!(msgs[0]["userId"], ann.id.as_str());
    assert_eq!(msgs[0]["roomName"], "Keep");
    assert_eq!(msgs[1]["edited"], true);
    app.stop().await;
}

#[tokio::test]
async fn websocket_refusals_close_with_4000() {
    let app = spawn_app().await;
    let tc = app.testcore();
    let ann = tc.user("Ann").await;
    let bob = tc.user("Bob").await;
    tc.room(&ann, "Mine").await;

    let mut ws = tc.ws("/ws1/").await;
    assert_eq!(ws.closed().await.0, 4000, "strict mode: no token");
    let mut ws = tc.ws("/ws1/?token=forged").await;
    assert_eq!(ws.closed().await, (4000, "invalid or expired token".into()));
    // Bob's token, Ann's userId.
    let mut ws = tc.ws(&format!("/?token={}", bob.token)).await;
    ws.send_json(&frame("SEND_MESSAGE", "Mine", "1", "hi", &ann.id))
        .await;
    assert_eq!(
        ws.closed().await,
        (4000, "userId does not match the token".into())
    );
    // Bob is not a member.
    let mut ws = tc.ws(&format!("/ws1/?token={}", bob.token)).await;
    ws.send_json(&frame("SEND_MESSAGE", "Mine", "1", "hi", &bob.id))
        .await;
    assert_eq!(
        ws.closed().await,
        (4000, "user don't have access to chat".into())
    );
    app.stop().await;
}
