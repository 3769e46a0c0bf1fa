//! Per-user message budgets (`MESSAGES_PER_MINUTE`), kept by the core's send
//! path: a user past the budget is refused with `RateLimited` and a retry time,
//! whatever the conversation or the way of sending; nothing refused is stored
//! or published; other users keep theirs; a refused non-member spends nothing.

use chatwire::core::{
    Error,
    bus::EventKind,
    messages::{self, Cursor, Delivery, direct},
    model::Kind,
};

use crate::helpers::core_fixtures::{direct_chat, group, text, three_users};
use crate::helpers::spawn_app_with;

#[tokio::test]
async fn a_user_past_the_budget_is_refused_everywhere_and_others_are_not() {
    let app = spawn_app_with(&["--messages-per-minute=3"]).await;
    let core = &app.core;
    let (a, b, c) = three_users(&app).await;
    let g = group(&app, &a, &[b.id, c.id]).await;
    let dm = direct_chat(&app, &a, &b).await;
    let send = |who, conv, content| {
        let kinds: &'static [Kind] = if conv == g.id {
            &[Kind::Group]
        } else {
            &[Kind::Direct]
        };
        messages::send(
            core,
            who,
            text(conv, content),
            kinds,
            Delivery::Members,
            None,
        )
    };

    // Sending where one may not spends nothing.
    let ghost = send(&c, dm.id, "not my chat").await;
    assert!(matches!(ghost, Err(Error::NotFound(_))), "{ghost:?}");
    for _ in 0..3 {
        let r = send(&c, g.id, "c").await;
        assert!(r.is_ok(), "c's budget is whole: {r:?}");
    }

    // Ann's three messages, in two conversations and by two ways of sending.
    send(&a, g.id, "a1").await.unwrap();
    send(&a, dm.id, "a2").await.unwrap();
    direct::send(core, &a, b.id, "a3", "text", None)
        .await
        .unwrap();
    let mut bus = core.bus.subscribe();
    for refused in [
        send(&a, g.id, "a4").await.map(|_| ()),
        direct::send(core, &a, b.id, "a5", "text", None)
            .await
            .map(|_| ()),
    ] {
        match refused {
            Err(Error::RateLimited { retry_after_secs }) => {
                assert!((1..=60).contains(&retry_after_secs), "{retry_after_secs}")
            }
            other => panic!("expected RateLimited, got {other:?}"),
        }
    }
    // Bob's budget is his own.
    let ok = send(&b, g.id, "b1").await.unwrap();
    assert_eq!(ok.content, "b1");
    let first = bus.recv().await.unwrap();
    match &first.kind {
        EventKind::MessageCreated(m) => {
            assert_eq!(m.content, "b1", "nothing refused was published")
        }
        other => panic!("expected Bob's message on the bus, got {other:?}"),
    }

    let stored: Vec<String> = messages::history(core, &g, Cursor::default(), 50)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(
        stored,
        ["b1", "a1", "c", "c", "c"],
        "newest first, nothing refused"
    );
    let dm_stored = messages::history(core, &dm, Cursor::default(), 50)
        .await
        .unwrap();
    assert_eq!(dm_stored.len(), 2, "a2 and a3 only");
}
