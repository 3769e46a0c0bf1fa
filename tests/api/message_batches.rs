//! The message writer commits many messages per transaction (group commit) and the
//! member cache answers who may send and who receives. These tests send many
//! messages at once, on SQLite and PostgreSQL, and check what users would see:
//! every message stored once, sequences without gaps or repeats, the bus carrying
//! each conversation's messages in sequence order, read pointers and unread
//! counts, and membership changes taking effect at once.

use std::collections::HashMap;

use chatwire::core::{
    Error,
    bus::EventKind,
    conversations,
    conversations::groups,
    messages::{self, Cursor, Delivery},
    model::Kind,
};
use entity::conversations as conv_entity;
use futures_util::future::join_all;
use sea_orm::EntityTrait;

use crate::helpers::core_fixtures::{direct_chat, group, text, three_users, user};

const GROUP: &[Kind] = &[Kind::Group];
const DIRECT: &[Kind] = &[Kind::Direct];
use crate::helpers::spawn_app;

#[tokio::test]
async fn concurrent_messages_get_gapless_sequences_in_order() {
    let app = spawn_app().await;
    let core = &app.core;
    let (a, b, c) = three_users(&app).await;
    let group = group(&app, &a, &[b.id, c.id]).await;
    let dm = direct_chat(&app, &a, &b).await;
    let mut bus = core.bus.subscribe();

    // 300 messages at once: three senders in the group, two in the direct chat.
    let contents: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let sends = contents.iter().enumerate().map(|(i, content)| {
        let (sender, conv, kind) = match i % 5 {
            0 => (&a, group.id, GROUP),
            1 => (&b, group.id, GROUP),
            2 => (&c, group.id, GROUP),
            3 => (&a, dm.id, DIRECT),
            _ => (&b, dm.id, DIRECT),
        };
        messages::send(
            core,
            sender,
            text(conv, content),
            kind,
            Delivery::Members,
            None,
        )
    });
    let sent: Vec<_> = join_all(sends)
        .await
        .into_iter()
        .map(|r| r.expect("every message is accepted"))
        .collect();

    for (conv, n) in [(group.id, 180), (dm.id, 120)] {
        let mut seqs: Vec<i64> = sent
            .iter()
            .filter(|m| m.conversation.id == conv)
            .map(|m| m.seq)
            .collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "no gap, no repeat");
        let stored = conv_entity::Entity::find_by_id(conv)
            .one(&core.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.last_seq, n);
        // History holds each message once, with the id and content it was sent with.
        let page = messages::history(core, &stored, Cursor::default(), 500)
            .await
            .unwrap();
        assert_eq!(page.len() as i64, n);
        let by_seq: HashMap<i64, _> = page.iter().map(|m| (m.seq, m)).collect();
        for m in sent.iter().filter(|m| m.conversation.id == conv) {
            let h = by_seq[&m.seq];
            assert_eq!(
                (h.id, &h.content, h.sender_id),
                (m.id, &m.content, m.sender_id)
            );
            assert!(m.id > 0);
        }
    }

    // The bus carried all 300, each conversation's in sequence order, each with
    // its members as audience.
    let mut last: HashMap<i64, i64> = HashMap::new();
    let mut seen = 0;
    while seen < 300 {
        let ev = bus.recv().await.unwrap();
        if let EventKind::MessageCreated(m) = &ev.kind {
            let prev = last.insert(m.conversation.id, m.seq).unwrap_or(0);
            assert_eq!(m.seq, prev + 1, "published in sequence order");
            let audience = match &ev.audience {
                chatwire::core::bus::Audience::Users(u) => u.len(),
                other => panic!("unexpected audience {other:?}"),
            };
            assert_eq!(audience, if m.conversation.id == group.id { 3 } else { 2 });
            seen += 1;
        }
    }

    // Each sender has read up to its own last message; unread counts follow.
    let unread = |user: i64| async move {
        conversations::list_for_user(core, user, &[Kind::Group, Kind::Direct])
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.conversation.id, s.unread))
            .collect::<HashMap<_, _>>()
    };
    let last_of = |sender: i64, conv: i64| {
        sent.iter()
            .filter(|m| m.sender_id == sender && m.conversation.id == conv)
            .map(|m| m.seq)
            .max()
            .unwrap()
    };
    let ann = unread(a.id).await;
    assert_eq!(ann[&group.id], 180 - last_of(a.id, group.id));
    assert_eq!(ann[&dm.id], 120 - last_of(a.id, dm.id));
    let cy = unread(c.id).await;
    assert_eq!(cy[&group.id], 180 - last_of(c.id, group.id));
}

#[tokio::test]
async fn membership_changes_apply_to_the_next_message() {
    let app = spawn_app().await;
    let core = &app.core;
    let (a, b, c) = three_users(&app).await;
    let group = group(&app, &a, &[b.id]).await;
    let send = |sender, content| {
        messages::send(
            core,
            sender,
            text(group.id, content),
            GROUP,
            Delivery::Members,
            None,
        )
    };
    let mut bus = core.bus.subscribe();
    send(&b, "hello").await.unwrap();
    let refused = send(&c, "let me in").await;
    assert!(matches!(refused, Err(Error::NotFound(_))), "{refused:?}");

    // Added: cy may send at once and is in the audience of the next message.
    groups::add_member(core, a.id, group.id, c.id, None)
        .await
        .unwrap();
    send(&c, "in").await.unwrap();
    // Kicked: bob is refused at once.
    groups::kick(core, a.id, group.id, b.id, None)
        .await
        .unwrap();
    let refused = send(&b, "still here?").await;
    assert!(matches!(refused, Err(Error::NotFound(_))), "{refused:?}");
    send(&a, "after").await.unwrap();
    let audiences: Vec<(String, Vec<i64>)> = {
        let mut v = Vec::new();
        while v.len() < 3 {
            let ev = bus.recv().await.unwrap();
            if let (EventKind::MessageCreated(m), chatwire::core::bus::Audience::Users(u)) =
                (&ev.kind, &ev.audience)
            {
                let mut u = u.to_vec();
                u.sort_unstable();
                v.push((m.content.clone(), u));
            }
        }
        v
    };
    let sorted = |mut v: Vec<i64>| {
        v.sort_unstable();
        v
    };
    assert_eq!(
        audiences,
        vec![
            ("hello".into(), sorted(vec![a.id, b.id])),
            ("in".into(), sorted(vec![a.id, b.id, c.id])),
            ("after".into(), sorted(vec![a.id, c.id])),
        ]
    );

    // Deleted: nobody may send any more.
    groups::delete_group(core, a.id, group.id, None)
        .await
        .unwrap();
    let refused = send(&a, "anyone?").await;
    assert!(matches!(refused, Err(Error::NotFound(_))), "{refused:?}");
}

#[tokio::test]
async fn a_conversation_gone_fails_alone_within_its_batch() {
    let app = spawn_app().await;
    let core = &app.core;
    let (a, b) = (user(&app, "ann").await, user(&app, "bob").await);
    let dm = direct_chat(&app, &a, &b).await;
    let doomed = group(&app, &a, &[b.id]).await;
    // Warm the member cache, then delete the row behind its back: only the
    // writer's own transaction can notice.
    messages::send(
        core,
        &a,
        text(doomed.id, "first"),
        GROUP,
        Delivery::Members,
        None,
    )
    .await
    .unwrap();
    conv_entity::Entity::delete_by_id(doomed.id)
        .exec(&core.db)
        .await
        .unwrap();
    let sends = (0..40).map(|i| {
        let conv = if i % 2 == 0 { dm.id } else { doomed.id };
        let kind = if i % 2 == 0 { DIRECT } else { GROUP };
        messages::send(core, &a, text(conv, "x"), kind, Delivery::Members, None)
    });
    let results = join_all(sends).await;
    for (i, r) in results.iter().enumerate() {
        if i % 2 == 0 {
            assert!(r.is_ok(), "message {i} to the live chat: {r:?}");
        } else {
            assert!(matches!(r, Err(Error::NotFound(_))), "message {i}: {r:?}");
        }
    }
    let stored = conv_entity::Entity::find_by_id(dm.id)
        .one(&core.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.last_seq, 20);
}

/// Shutdown closes the writer: every message it was handed is committed and
/// answered, one handed over later is refused (never dropped silently), and
/// what was answered is exactly what is stored (issue 14, defect 9).
#[tokio::test]
async fn closing_the_writer_answers_what_it_took_and_refuses_the_rest() {
    let app = spawn_app().await;
    let core = &app.core;
    let (a, b) = (user(&app, "ann").await, user(&app, "bob").await);
    let dm = direct_chat(&app, &a, &b).await;
    let contents: Vec<String> = (0..200).map(|i| format!("c{i}")).collect();
    let sends = contents.iter().map(|content| {
        messages::send(
            core,
            &a,
            text(dm.id, content),
            DIRECT,
            Delivery::Members,
            None,
        )
    });
    // Closed once the first batch is committed (published), while the others
    // are queued or on their way.
    let mut bus = core.bus.subscribe();
    let close = async {
        let _ = bus.recv().await;
        core.close_writer().await;
    };
    let (results, ()) = tokio::join!(join_all(sends), close);
    let mut answered: Vec<&str> = results
        .iter()
        .filter_map(|r| match r {
            Ok(m) => Some(m.content.as_str()),
            Err(Error::Internal) => None,
            Err(e) => panic!("unexpected refusal {e:?}"),
        })
        .collect();
    let late = messages::send(
        core,
        &a,
        text(dm.id, "late"),
        DIRECT,
        Delivery::Members,
        None,
    );
    assert!(
        matches!(late.await, Err(Error::Internal)),
        "refused after close"
    );
    let stored = conv_entity::Entity::find_by_id(dm.id)
        .one(&core.db)
        .await
        .unwrap()
        .unwrap();
    let page = messages::history(core, &stored, Cursor::default(), 500)
        .await
        .unwrap();
    let mut kept: Vec<&str> = page.iter().map(|m| m.content.as_str()).collect();
    kept.sort_unstable();
    answered.sort_unstable();
    assert_eq!(kept, answered, "stored exactly what was answered");
}

/// Presence is announced only when a profile shows it (calls): an expresschat-only
/// server does not look up every co-member on each connect.
#[tokio::test]
async fn presence_is_announced_only_where_a_profile_shows_it() {
    for (profiles, announced) in [("expresschat", false), ("expresschat,calls", true)] {
        let app = crate::helpers::spawn_app_with(&[&format!("--profiles={profiles}")]).await;
        let core = &app.core;
        let (a, b) = (user(&app, "ann").await, user(&app, "bob").await);
        let dm = direct_chat(&app, &a, &b).await;
        let mut bus = core.bus.subscribe();
        chatwire::core::presence::connected(core, a.id)
            .await
            .unwrap();
        // A marker after it: whatever came before the marker was published by `connected`.
        messages::send(
            core,
            &a,
            text(dm.id, "marker"),
            DIRECT,
            Delivery::Members,
            None,
        )
        .await
        .unwrap();
        let mut presence = false;
        loop {
            match &bus.recv().await.unwrap().kind {
                EventKind::Presence {
                    user_id, online, ..
                } => {
                    presence = *user_id == a.id && *online;
                }
                EventKind::MessageCreated(_) => break,
                _ => {}
            }
        }
        assert_eq!(presence, announced, "profiles {profiles}");
    }
}
