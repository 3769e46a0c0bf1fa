//! orgchat rules in the core, on SQLite and PostgreSQL: organization isolation on
//! every room and message action, role rules for deleting, reactions and read
//! pointers, encryption at rest (the raw row), and the query plans of the
//! frequent queries.

use chatwire::core::{
    Error,
    bus::{Event, EventKind},
    conversations::rooms::org as rooms,
    crypto::{MessageCipher, message_aad},
    identity::organizations::{self, Member, Registration, Role},
    messages::reactions,
    messages::{self, Cursor},
};
use entity::{memberships, messages as message_rows, reactions as reaction_rows};
use sea_orm::{
    ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Statement, TransactionTrait,
};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

async fn member(app: &TestApp, name: &str, org: &str, role: Role) -> Member {
    let (user, _) = organizations::register(
        &app.core,
        Registration {
            username: name.into(),
            email: format!("{name}@{}.test", org.to_lowercase()),
            password: "pw".into(),
            organization_name: org.into(),
            role,
        },
        true,
    )
    .await
    .unwrap();
    organizations::member(&app.core, user.id).await.unwrap()
}

fn drain(rx: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<Event>>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        out.push(format!("{:?}", ev.kind).chars().take(40).collect());
    }
    out
}

#[tokio::test]
async fn another_organization_can_touch_nothing() {
    let app = spawn_app().await;
    let core = &app.core;
    let ann = member(&app, "ann", "Acme", Role::Admin).await;
    let eve = member(&app, "eve", "Evil", Role::Admin).await;
    let room = rooms::create(core, &ann, "acme", &[], None).await.unwrap();
    let msg = rooms::send(core, &ann, room.id, "secret plan", false, None)
        .await
        .unwrap();
    let mut rx = core.bus.subscribe();
    let nf = |r: Result<(), Error>, what: &str| {
        assert!(matches!(r, Err(Error::NotFound(_))), "{what}: {r:?}");
    };
    nf(
        rooms::join(core, &eve, room.id, None, |_| panic!("attached"))
            .await
            .map(|_| ()),
        "join",
    );
    nf(
        rooms::leave(core, &eve, room.id, None, |_| panic!("detached"))
            .await
            .map(|_| ()),
        "leave",
    );
    nf(
        rooms::typing(core, &eve, room.id, true, None).await,
        "typing",
    );
    nf(
        rooms::send(core, &eve, room.id, "hi", false, None)
            .await
            .map(|_| ()),
        "send",
    );
    nf(
        reactions::react(core, &eve, msg.id, "👍", None).await,
        "react",
    );
    nf(rooms::read_message(core, &eve, msg.id, None).await, "read");
    nf(
        rooms::delete_message(core, &eve, None, msg.id, None).await,
        "delete (even as an admin)",
    );
    nf(
        rooms::invite(core, &eve, Some(room.id), "", &[], None, None)
            .await
            .map(|_| ()),
        "invite to their room",
    );
    nf(
        rooms::invite(core, &eve, None, "x", &[], Some(ann.organization_id), None)
            .await
            .map(|_| ()),
        "claim their organization",
    );
    nf(
        rooms::create(core, &eve, "lure", &[ann.id()], None)
            .await
            .map(|_| ()),
        "invite their user",
    );
    assert_eq!(
        drain(&mut rx),
        Vec::<String>::new(),
        "nothing was published"
    );
    let (total, _) = rooms::page(core, eve.organization_id, 1, 10).await.unwrap();
    assert_eq!(total, 0);
    app.stop().await;
}

#[tokio::test]
async fn deleting_follows_roles() {
    let app = spawn_app().await;
    let core = &app.core;
    let admin = member(&app, "adm", "Acme", Role::Admin).await;
    let moder = member(&app, "mod", "Acme", Role::Moderator).await;
    let u1 = member(&app, "u1", "Acme", Role::User).await;
    let u2 = member(&app, "u2", "Acme", Role::User).await;
    let room = rooms::create(core, &admin, "general", &[], None)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..4 {
        let m = rooms::send(core, &u2, room.id, &format!("m{i}"), false, None)
            .await
            .unwrap();
        ids.push(m.id);
    }
    let denied = rooms::delete_message(core, &u1, Some(room.id), ids[0], None).await;
    match denied {
        Err(Error::PermissionDenied(m)) => assert_eq!(m, "Forbidden: Insufficient permissions"),
        other => panic!("a user deleted another's message: {other:?}"),
    }
    rooms::delete_message(core, &moder, Some(room.id), ids[0], None)
        .await
        .unwrap();
    rooms::delete_message(core, &admin, None, ids[1], None)
        .await
        .unwrap();
    rooms::delete_message(core, &u2, Some(room.id), ids[2], None)
        .await
        .unwrap();
    assert!(matches!(
        rooms::delete_message(core, &admin, None, ids[0], None).await,
        Err(Error::NotFound(_))
    ));
    let other_room = rooms::create(core, &admin, "other", &[], None)
        .await
        .unwrap();
    assert!(
        matches!(
            rooms::delete_message(core, &admin, Some(other_room.id), ids[3], None).await,
            Err(Error::NotFound(_))
        ),
        "the room named must be the message's"
    );
    let left = messages::history(core, &room, Cursor::default(), 10)
        .await
        .unwrap();
    assert_eq!(
        left.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![ids[3]],
        "deleted messages leave the history"
    );
    let row = message_rows::Entity::find_by_id(ids[0])
        .one(&core.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.deleted_at.is_some() && row.content.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn reactions_and_reads_are_kept_and_told_to_the_room() {
    let app = spawn_app().await;
    let core = &app.core;
    let ann = member(&app, "ann", "Acme", Role::User).await;
    let bob = member(&app, "bob", "Acme", Role::User).await;
    let room = rooms::create(core, &ann, "r", &[bob.id()], None)
        .await
        .unwrap();
    let m1 = rooms::send(core, &ann, room.id, "one", false, None)
        .await
        .unwrap();
    let m2 = rooms::send(core, &ann, room.id, "two", false, None)
        .await
        .unwrap();
    let mut rx = core.bus.subscribe();
    reactions::react(core, &bob, m1.id, "👍", None)
        .await
        .unwrap();
    reactions::react(core, &bob, m1.id, "👍", None)
        .await
        .unwrap();
    reactions::react(core, &bob, m1.id, "❤️", None)
        .await
        .unwrap();
    assert!(matches!(
        reactions::react(core, &bob, m1.id, "  ", None).await,
        Err(Error::InvalidData(_))
    ));
    let rows = reaction_rows::Entity::find().all(&core.db).await.unwrap();
    assert_eq!(rows.len(), 2, "one row per (message, user, reaction)");
    rooms::read_message(core, &bob, m2.id, None).await.unwrap();
    rooms::read_message(core, &bob, m1.id, None).await.unwrap();
    let mship = memberships::Entity::find_by_id((room.id, bob.id()))
        .one(&core.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mship.read_seq, m2.seq, "the pointer never moves back");
    let mut kinds = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        assert!(
            matches!(ev.audience, chatwire::core::bus::Audience::Room(r) if r == room.id),
            "room audience"
        );
        kinds.push(match &ev.kind {
            EventKind::Reaction { .. } => "reaction",
            EventKind::ReadUpTo {
                message_id: Some(_),
                ..
            } => "read",
            other => panic!("unexpected {other:?}"),
        });
    }
    assert_eq!(kinds, ["reaction", "reaction", "reaction", "read", "read"]);
    app.stop().await;
}

const KEY: &str = "5f1c0ffee0ddba11c0de5eed5a1ad0b0e5f1c0ffee0ddba11c0de5eed5a1ad0b";

#[tokio::test]
async fn encrypted_messages_are_ciphertext_at_rest() {
    let app = spawn_app_with(&[&format!("--message-encryption-key={KEY}")]).await;
    let core = &app.core;
    let ann = member(&app, "ann", "Acme", Role::User).await;
    let room = rooms::create(core, &ann, "vault", &[], None).await.unwrap();
    let secret = "the launch code is 0000";
    let sent = rooms::send(core, &ann, room.id, secret, true, None)
        .await
        .unwrap();
    assert_eq!(sent.content, secret, "the sender sees plaintext");
    assert!(sent.is_encrypted);
    let plain = rooms::send(core, &ann, room.id, "hello", false, None)
        .await
        .unwrap();

    let row = message_rows::Entity::find_by_id(sent.id)
        .one(&core.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.is_encrypted);
    assert!(!row.content.contains("launch"), "stored: {}", row.content);
    assert!(row.content.starts_with("xc1:"));
    // Raw SQL too: what the database holds is not the plaintext.
    let raw = core
        .db
        .query_one_raw(Statement::from_string(
            core.db.get_database_backend(),
            format!("SELECT content FROM messages WHERE id = {}", sent.id),
        ))
        .await
        .unwrap()
        .unwrap();
    let stored: String = raw.try_get_by_index(0).unwrap();
    assert_ne!(stored, secret);
    // It opens with the configured key, bound to its row.
    let cipher = MessageCipher::from_hex(KEY).unwrap();
    assert_eq!(
        cipher
            .open(&stored, &message_aad(room.id, row.seq))
            .unwrap(),
        secret
    );
    assert!(
        cipher
            .open(&stored, &message_aad(room.id, row.seq + 1))
            .is_err()
    );
    let plain_row = message_rows::Entity::find_by_id(plain.id)
        .one(&core.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (plain_row.is_encrypted, plain_row.content.as_str()),
        (false, "hello")
    );
    // History reads it back transparently.
    let history = messages::history(core, &room, Cursor::default(), 10)
        .await
        .unwrap();
    let contents: Vec<&str> = history.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(contents, ["hello", secret]);
    app.stop().await;
}

/// The plan the database picks for a query, as text.
async fn plan<C: ConnectionTrait>(db: &C, sql: &str) -> String {
    let backend = db.get_database_backend();
    let explain = match backend {
        DbBackend::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
        _ => format!("EXPLAIN {sql}"),
    };
    let rows = db
        .query_all_raw(Statement::from_string(backend, explain))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            let col = if backend == DbBackend::Sqlite {
                "detail"
            } else {
                "QUERY PLAN"
            };
            r.try_get::<String>("", col).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn frequent_queries_use_their_indexes() {
    let app = spawn_app().await;
    let db = &app.core.db;
    let backend = db.get_database_backend();
    let rooms_page = rooms::page_query(1, 2, 10).build(backend).to_string();
    let history = message_rows::Entity::find()
        .filter(sea_orm::ColumnTrait::eq(
            &message_rows::Column::ConversationId,
            1,
        ))
        .order_by_desc(message_rows::Column::Seq)
        .limit(50)
        .build(backend)
        .to_string();
    let members = "SELECT * FROM memberships WHERE user_id = 1".to_owned();
    // Either organization index serves the room list: SQLite walks
    // (organization_id, created_at) whose rowid tail already orders by id; PostgreSQL
    // takes (organization_id, kind, created_at, id) from the second migration.
    let checks: [(String, &[&str]); 3] = [
        (
            rooms_page,
            &[
                "idx_conversations_org_kind_created",
                "idx_conversations_org_created",
            ],
        ),
        (history, &["uq_messages_conversation_seq"]),
        (members, &["idx_memberships_user"]),
    ];
    // On a tiny table PostgreSQL rightly prefers a sequential scan; forbidding it
    // in this transaction shows whether an index can serve the query at all.
    let txn = db.begin().await.unwrap();
    if backend == DbBackend::Postgres {
        // Bitmap scans off too: on an empty table any index looks as cheap as any
        // other for a bitmap scan plus a sort, which says nothing about ordering.
        txn.execute_unprepared("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")
            .await
            .unwrap();
    }
    for (sql, indexes) in checks {
        let p = plan(&txn, &sql).await;
        assert!(indexes.iter().any(|i| p.contains(i)), "{sql}\nplan:\n{p}");
        assert!(
            !p.contains("TEMP B-TREE") && !p.contains("Seq Scan"),
            "no sort or scan beside the index: {p}"
        );
    }
    txn.rollback().await.unwrap();
    app.stop().await;
}
