//! Core data rules, on SQLite and PostgreSQL: sequences, read pointers, unread
//! counts, refresh rotation and reuse detection, group rights.

use chatwire::core::{
    Error, conversations,
    conversations::groups,
    identity::{auth, space::Space},
    messages::{self, Cursor, Delivery},
    model::Kind,
};
use entity::users;

use crate::helpers::core_fixtures::{direct_chat, group, text, three_users, user};
use crate::helpers::spawn_app;

#[tokio::test]
async fn sequences_reads_and_unread_counts() {
    let app = spawn_app().await;
    let core = &app.core;
    let (a, b) = (user(&app, "ann").await, user(&app, "bob").await);
    let (dm, created) = conversations::open_direct(core, &a, b.id, None)
        .await
        .unwrap();
    assert!(created);
    let (again, created) = conversations::open_direct(core, &b, a.id, None)
        .await
        .unwrap();
    assert_eq!(
        (again.id, created),
        (dm.id, false),
        "one direct chat per pair"
    );
    for (i, c) in ["one", "two", "three"].iter().enumerate() {
        let m = messages::send(
            core,
            &a,
            text(dm.id, c),
            &[Kind::Direct],
            Delivery::Members,
            None,
        )
        .await
        .unwrap();
        assert_eq!(m.seq, i as i64 + 1);
    }
    let list = conversations::list_for_user(core, b.id, &[Kind::Direct])
        .await
        .unwrap();
    assert_eq!(list[0].unread, 3);
    assert_eq!(list[0].partner.as_ref().unwrap().1, "ann");
    assert_eq!(
        conversations::list_for_user(core, a.id, &[Kind::Direct])
            .await
            .unwrap()[0]
            .unread,
        0
    );
    messages::mark_read(core, b.id, dm.id, None, &[Kind::Direct], None)
        .await
        .unwrap();
    assert_eq!(
        conversations::list_for_user(core, b.id, &[Kind::Direct])
            .await
            .unwrap()[0]
            .unread,
        0
    );
    let conv = conversations::get(core, dm.id).await.unwrap();
    let page = messages::history(core, &conv, Cursor::default(), 2)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
        ["three", "two"]
    );
    let older = messages::history(
        core,
        &conv,
        Cursor {
            after: None,
            before: Some(page[1].id),
        },
        2,
    )
    .await
    .unwrap();
    assert_eq!(
        older.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
        ["one"]
    );
    app.stop().await;
}

#[tokio::test]
async fn outsiders_and_bad_content_are_refused() {
    let app = spawn_app().await;
    let core = &app.core;
    let (a, b, c) = three_users(&app).await;
    let dm = direct_chat(&app, &a, &b).await;
    let r = messages::send(
        core,
        &c,
        text(dm.id, "hi"),
        &[Kind::Direct],
        Delivery::Members,
        None,
    )
    .await;
    assert!(
        matches!(r, Err(Error::NotFound(_))),
        "a non-member cannot send"
    );
    let r = messages::send(
        core,
        &a,
        text(dm.id, "   "),
        &[Kind::Direct],
        Delivery::Members,
        None,
    )
    .await;
    assert!(matches!(r, Err(Error::InvalidData(_))));
    let long = "x".repeat(core.limits.max_content_len + 1);
    let r = messages::send(
        core,
        &a,
        text(dm.id, &long),
        &[Kind::Direct],
        Delivery::Members,
        None,
    )
    .await;
    assert!(matches!(r, Err(Error::InvalidData(_))));
    let r = messages::send(
        core,
        &a,
        text(dm.id, "hi"),
        &[Kind::Group],
        Delivery::Members,
        None,
    )
    .await;
    assert!(
        matches!(r, Err(Error::NotFound(_))),
        "a direct chat is not a group"
    );
    app.stop().await;
}

#[tokio::test]
async fn group_rights_belong_to_the_admin() {
    let app = spawn_app().await;
    let core = &app.core;
    let (a, b, c) = three_users(&app).await;
    let g = group(&app, &a, &[b.id]).await;
    assert!(matches!(
        groups::add_member(core, b.id, g.id, c.id, None).await,
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        groups::kick(core, b.id, g.id, a.id, None).await,
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        groups::delete_group(core, b.id, g.id, None).await,
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        groups::leave(core, a.id, g.id, None).await,
        Err(Error::PermissionDenied(_))
    ));
    groups::add_member(core, a.id, g.id, c.id, None)
        .await
        .unwrap();
    assert!(matches!(
        groups::add_member(core, a.id, g.id, c.id, None).await,
        Err(Error::Conflict(_))
    ));
    groups::change_admin(core, a.id, g.id, b.id, None)
        .await
        .unwrap();
    groups::leave(core, a.id, g.id, None).await.unwrap();
    groups::kick(core, b.id, g.id, c.id, None).await.unwrap();
    assert_eq!(
        conversations::member_ids(&core.db, g.id).await.unwrap(),
        vec![b.id]
    );
    groups::delete_group(core, b.id, g.id, None).await.unwrap();
    assert!(conversations::get(core, g.id).await.is_err());
    app.stop().await;
}

#[tokio::test]
async fn refresh_rotation_detects_reuse() {
    let app = spawn_app().await;
    let core = &app.core;
    let a = user(&app, "ann").await;
    let shared = Space::Shared;
    let s1 = auth::issue_session(core, &a).await.unwrap();
    let s2 = auth::rotate(core, shared, &s1.refresh_token).await.unwrap();
    let who = auth::access_user(core, shared, &s2.access_token).await;
    assert_eq!(who.map(|u| u.id).ok(), Some(a.id));
    // Replaying the spent token revokes the whole family, the new one included.
    assert!(auth::rotate(core, shared, &s1.refresh_token).await.is_err());
    assert!(auth::rotate(core, shared, &s2.refresh_token).await.is_err());
    // Forged and wrong-type tokens are refused.
    assert!(matches!(
        auth::access_user(core, shared, &s2.refresh_token).await,
        Err(auth::AccessError::Invalid)
    ));
    assert!(matches!(
        auth::access_user(core, shared, "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.").await,
        Err(auth::AccessError::Invalid)
    ));
    app.stop().await;
}

#[tokio::test]
async fn a_group_of_ten_thousand_members_can_be_created() {
    use chrono::Utc;
    use sea_orm::{EntityTrait, Set};
    let app = spawn_app().await;
    let core = &app.core;
    let admin = user(&app, "admin").await;
    // Bulk-insert the members directly: 10,000 sign-ups would test nothing more.
    let now = Utc::now();
    for chunk in (0..10_000).collect::<Vec<_>>().chunks(1000) {
        let rows = chunk.iter().map(|i| users::ActiveModel {
            organization_id: Set(None),
            name: Set(format!("m{i}")),
            username: Set(None),
            email: Set(Some(format!("m{i}@x.io"))),
            password_hash: Set(None),
            role: Set("user".into()),
            email_verified: Set(true),
            avatar: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
        users::Entity::insert_many(rows)
            .exec(&core.db)
            .await
            .unwrap();
    }
    let ids: Vec<i64> = users::Entity::find()
        .all(&core.db)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .filter(|&id| id != admin.id)
        .take(core.limits.max_group_size - 1)
        .collect();
    let g = groups::create_group(core, &admin, "big", None, &ids, Kind::Group, None)
        .await
        .unwrap();
    assert_eq!(
        conversations::member_ids(&core.db, g.id)
            .await
            .unwrap()
            .len(),
        core.limits.max_group_size,
        "MAX_GROUP_SIZE members, the admin included"
    );
    app.stop().await;
}
