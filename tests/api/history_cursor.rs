//! The history cursor of every profile, in the core (issue 14, defect 11), on
//! SQLite and PostgreSQL: pages bounded by message ids, cut by sequence, so a
//! client that pages forward from the last message it saw gets every newer one
//! exactly once, in order; bounds from another conversation, and a zero limit,
//! are refused; a huge limit is clamped to `HISTORY_PAGE`.

use chatwire::core::{
    Error,
    bus::MessageOut,
    messages::{self, Cursor, Delivery, page_limit},
    model::Kind,
};
use entity::{conversations, users};

use crate::helpers::core_fixtures::{direct_chat, text, three_users};
use crate::helpers::{TestApp, spawn_app_with};

async fn send_n(
    app: &TestApp,
    from: &users::Model,
    conv: &conversations::Model,
    n: usize,
) -> Vec<MessageOut> {
    let mut sent = Vec::with_capacity(n);
    for i in 0..n {
        let content = format!("m{i}");
        let m = messages::send(
            &app.core,
            from,
            text(conv.id, &content),
            &[Kind::Direct],
            Delivery::Members,
            None,
        )
        .await
        .unwrap();
        sent.push(m);
    }
    sent
}

fn ids(page: &[MessageOut]) -> Vec<i64> {
    page.iter().map(|m| m.id).collect()
}

#[tokio::test]
async fn paging_forward_from_a_seen_message_yields_every_newer_one_once() {
    let app = spawn_app_with(&["--history-page=10"]).await;
    let core = &app.core;
    let (a, b, _) = three_users(&app).await;
    let dm = direct_chat(&app, &a, &b).await;
    let sent = send_n(&app, &a, &dm, 27).await;
    // The client saw the first two; 25 arrived while it was away.
    let mut seen = sent[1].id;
    let mut caught_up = Vec::new();
    for _ in 0..10 {
        let limit = page_limit(core, Some(1000), 50).unwrap();
        assert_eq!(limit, 10, "a huge limit is clamped to HISTORY_PAGE");
        let cursor = Cursor {
            after: Some(seen),
            before: None,
        };
        let mut page = messages::history(core, &dm, cursor, limit).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 10);
        page.reverse(); // newest first -> oldest first
        seen = page.last().unwrap().id;
        caught_up.extend(ids(&page));
    }
    assert_eq!(caught_up, ids(&sent[2..]));
    app.stop().await;
}

#[tokio::test]
async fn before_pages_back_and_both_bounds_take_the_oldest_between() {
    let app = spawn_app_with(&[]).await;
    let core = &app.core;
    let (a, b, _) = three_users(&app).await;
    let dm = direct_chat(&app, &a, &b).await;
    let sent = send_n(&app, &a, &dm, 8).await;
    let newest = messages::history(core, &dm, Cursor::default(), 3)
        .await
        .unwrap();
    assert_eq!(ids(&newest), [sent[7].id, sent[6].id, sent[5].id]);
    let back = Cursor {
        after: None,
        before: Some(sent[5].id),
    };
    let older = messages::history(core, &dm, back, 3).await.unwrap();
    assert_eq!(ids(&older), [sent[4].id, sent[3].id, sent[2].id]);
    let between = Cursor {
        after: Some(sent[1].id),
        before: Some(sent[6].id),
    };
    let page = messages::history(core, &dm, between, 3).await.unwrap();
    assert_eq!(
        ids(&page),
        [sent[4].id, sent[3].id, sent[2].id],
        "the oldest three between, newest first"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_bound_must_be_a_message_of_the_conversation_and_a_limit_positive() {
    let app = spawn_app_with(&[]).await;
    let core = &app.core;
    let (a, b, c) = three_users(&app).await;
    let ours = direct_chat(&app, &a, &b).await;
    let theirs = direct_chat(&app, &b, &c).await;
    send_n(&app, &a, &ours, 2).await;
    let foreign = send_n(&app, &b, &theirs, 1).await;
    for cursor in [
        Cursor {
            after: Some(foreign[0].id),
            before: None,
        },
        Cursor {
            after: None,
            before: Some(foreign[0].id),
        },
        Cursor {
            after: Some(i64::MAX),
            before: None,
        },
    ] {
        match messages::history(core, &ours, cursor, 10).await {
            Err(Error::InvalidData(why)) => {
                assert!(
                    why.ends_with("is not a message of this conversation"),
                    "{why}"
                )
            }
            other => panic!("{cursor:?}: expected a refusal, got {other:?}"),
        }
    }
    assert!(matches!(
        page_limit(core, Some(0), 50),
        Err(Error::InvalidData(_))
    ));
    assert_eq!(
        page_limit(core, None, 50).unwrap(),
        50,
        "the default as it is"
    );
    app.stop().await;
}
