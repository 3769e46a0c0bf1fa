//! The call state machine (`core::calls`), on SQLite and PostgreSQL: every
//! transition and failure path, what the bus says, and what is persisted.

use std::time::Duration;

use chatwire::core::{
    CoreRef, Error,
    calls::{self, CallChange, CallInfo, CallType, EndReason},
};
use entity::calls as call_rows;
use sea_orm::EntityTrait;

use crate::helpers::core_fixtures::{CallBus, three_online, user};
use crate::helpers::spawn_app;

const RING: Duration = Duration::from_secs(30);

async fn row(core: &CoreRef, id: i64) -> call_rows::Model {
    call_rows::Entity::find_by_id(id)
        .one(&core.db)
        .await
        .unwrap()
        .expect("the call is persisted")
}

#[tokio::test]
async fn ringing_accepted_ended_is_persisted_with_duration() {
    let app = spawn_app().await;
    let core = &app.core;
    let (a, b, _) = three_online(&app).await;
    let mut bus = CallBus::new(core);
    let call = calls::initiate(core, &a, b.id, CallType::Video, RING)
        .await
        .unwrap();
    assert_eq!(call.room_name, format!("call_{}", call.handle()));
    assert!(call.handle().starts_with(&format!("{}_", call.id)));
    assert!(call.handle().len() > 10, "the room name carries a secret");
    let ev = bus.next().await;
    assert!(matches!(ev.change, CallChange::Ringing));
    assert_eq!(
        (ev.call.caller_name.as_str(), ev.call.callee_name.as_str()),
        ("ann", "ben")
    );
    let r = row(core, call.id).await;
    assert_eq!(
        (r.status.as_str(), r.call_type.as_str()),
        ("ringing", "video")
    );
    assert_eq!(core.calls.current(a.id), Some(call.id));
    assert_eq!(core.calls.current(b.id), Some(call.id));

    calls::respond(core, b.id, call.handle(), true)
        .await
        .unwrap();
    let ev = bus.next().await;
    assert!(matches!(ev.change, CallChange::Accepted { by } if by == b.id));
    let r = row(core, call.id).await;
    assert_eq!(r.status, "accepted");
    assert!(r.answered_at.is_some());

    let ended = calls::end(core, a.id, call.handle()).await.unwrap();
    let ev = bus.next().await;
    assert!(matches!(
        ev.change,
        CallChange::Ended { by: Some(by), reason: EndReason::UserEnded } if by == a.id
    ));
    let r = row(core, call.id).await;
    assert_eq!(r.status, "ended");
    assert_eq!(r.end_reason.as_deref(), Some("user_ended"));
    assert_eq!(r.ended_by, Some(a.id));
    let (answered, ended_at) = (r.answered_at.unwrap(), r.ended_at.unwrap());
    assert_eq!(
        r.duration_secs,
        Some((ended_at - answered).num_seconds()),
        "duration counts from the answer"
    );
    assert_eq!(ended.duration_secs, r.duration_secs);
    assert_eq!(
        core.calls.current(a.id),
        None,
        "both parties are free again"
    );
    assert_eq!(core.calls.current(b.id), None);
    // Ending it again: it is gone.
    assert!(matches!(
        calls::end(core, a.id, call.handle()).await,
        Err(Error::NotFound(_))
    ));
    app.stop().await;
}

#[tokio::test]
async fn a_rejected_call_frees_both_and_is_kept() {
    let app = spawn_app().await;
    let core = &app.core;
    let (a, b, _) = three_online(&app).await;
    let mut bus = CallBus::new(core);
    let call = bus.ringing(&a, &b, CallType::Voice, RING).await;
    calls::respond(core, b.id, call.handle(), false)
        .await
        .unwrap();
    let ev = bus.next().await;
    assert!(matches!(ev.change, CallChange::Rejected { by } if by == b.id));
    let r = row(core, call.id).await;
    assert_eq!(
        (r.status.as_str(), r.end_reason.as_deref(), r.duration_secs),
        ("rejected", Some("rejected"), Some(0))
    );
    assert_eq!(r.ended_by, Some(b.id));
    // Free again: the callee can call back.
    calls::initiate(core, &b, a.id, CallType::Voice, RING)
        .await
        .unwrap();
    app.stop().await;
}

#[tokio::test]
async fn an_unreachable_callee_fails_and_the_attempt_is_kept() {
    let app = spawn_app().await;
    let core = &app.core;
    let a = user(&app, "ann").await;
    let b = user(&app, "ben").await;
    core.calls.endpoint_up(a.id);
    let r = calls::initiate(core, &a, b.id, CallType::Voice, RING).await;
    assert!(matches!(r, Err(Error::UserNotConnected)), "{r:?}");
    assert_eq!(core.calls.current(a.id), None);
    let hist = calls::history(core, a.id, None, 10).await.unwrap();
    assert_eq!(hist.len(), 1);
    assert_eq!(
        (hist[0].status.as_str(), hist[0].end_reason.as_deref()),
        ("failed", Some("user_unavailable"))
    );
    // Unknown users and oneself.
    assert!(matches!(
        calls::initiate(core, &a, 9_999, CallType::Voice, RING).await,
        Err(Error::NotFound("user"))
    ));
    assert!(matches!(
        calls::initiate(core, &a, a.id, CallType::Voice, RING).await,
        Err(Error::InvalidData(_))
    ));
    app.stop().await;
}

#[tokio::test]
async fn a_party_already_in_a_call_is_busy() {
    let app = spawn_app().await;
    let core = &app.core;
    let (a, b, c) = three_online(&app).await;
    let first = CallBus::new(core)
        .ringing(&a, &b, CallType::Voice, RING)
        .await;
    for (from, to) in [(&c, b.id), (&c, a.id), (&b, c.id), (&a, c.id)] {
        let r = calls::initiate(core, from, to, CallType::Video, RING).await;
        assert!(
            matches!(r, Err(Error::CallInProgress)),
            "{} -> {to}: {r:?}",
            from.name
        );
    }
    assert_eq!(
        core.calls.current(c.id),
        None,
        "the refused party stays free"
    );
    assert_eq!(calls::history(core, c.id, None, 10).await.unwrap().len(), 0);
    // Accepted calls are busy too.
    calls::respond(core, b.id, first.handle(), true)
        .await
        .unwrap();
    assert!(matches!(
        calls::initiate(core, &c, b.id, CallType::Voice, RING).await,
        Err(Error::CallInProgress)
    ));
    app.stop().await;
}

#[tokio::test]
async fn unanswered_calls_time_out() {
    let app = spawn_app().await;
    let core = &app.core;
    let (a, b, _) = three_online(&app).await;
    let mut bus = CallBus::new(core);
    let ring = Duration::from_millis(200);
    let call = bus.ringing(&a, &b, CallType::Voice, ring).await;
    let ev = bus.next().await;
    assert!(matches!(
        ev.change,
        CallChange::Ended {
            by: None,
            reason: EndReason::Timeout
        }
    ));
    let r = row(core, call.id).await;
    assert_eq!(
        (
            r.status.as_str(),
            r.end_reason.as_deref(),
            r.ended_by,
            r.duration_secs
        ),
        ("ended", Some("timeout"), None, Some(0))
    );
    assert!(matches!(
        calls::respond(core, b.id, call.handle(), true).await,
        Err(Error::NotFound(_))
    ));
    // An answered call does not time out.
    let call = bus.accepted(&a, &b, CallType::Voice, ring).await;
    // The next event is the end we cause after the ring time has passed.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(core.calls.current(a.id), Some(call.id), "still in the call");
    calls::end(core, b.id, call.handle()).await.unwrap();
    let ev = bus.next().await;
    assert!(matches!(
        ev.change,
        CallChange::Ended {
            reason: EndReason::UserEnded,
            ..
        }
    ));
    app.stop().await;
}

#[tokio::test]
async fn losing_the_last_connection_ends_the_call() {
    let app = spawn_app().await;
    let core = &app.core;
    let (a, b, _) = three_online(&app).await;
    core.calls.endpoint_up(b.id); // a second tab
    let mut bus = CallBus::new(core);
    let call = bus.accepted(&a, &b, CallType::Video, RING).await;
    calls::endpoint_closed(core, b.id).await;
    assert_eq!(core.calls.current(b.id), Some(call.id), "one tab is left");
    calls::endpoint_closed(core, b.id).await;
    let ev = bus.next().await;
    assert!(matches!(
        ev.change,
        CallChange::Ended { by: Some(by), reason: EndReason::NetworkError } if by == b.id
    ));
    let r = row(core, call.id).await;
    assert_eq!(r.end_reason.as_deref(), Some("network_error"));
    assert_eq!(core.calls.current(a.id), None);
    // The caller dropping while it rings ends it too.
    core.calls.endpoint_up(b.id);
    let call = bus.ringing(&a, &b, CallType::Voice, RING).await;
    calls::endpoint_closed(core, a.id).await;
    let ev = bus.next().await;
    assert!(matches!(
        ev.change,
        CallChange::Ended {
            reason: EndReason::NetworkError,
            ..
        }
    ));
    assert_eq!(ev.call.id, call.id);
    app.stop().await;
}

#[tokio::test]
async fn only_the_parties_act_and_only_the_callee_answers() {
    let app = spawn_app().await;
    let core = &app.core;
    let (a, b, c) = three_online(&app).await;
    let call: CallInfo = CallBus::new(core)
        .ringing(&a, &b, CallType::Voice, RING)
        .await;
    let h = call.handle().to_owned();
    assert!(matches!(
        calls::respond(core, c.id, &h, true).await,
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        calls::end(core, c.id, &h).await,
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        calls::respond(core, a.id, &h, true).await,
        Err(Error::PermissionDenied(_)),
    ));
    // A guessed handle (right id, wrong secret) names nothing.
    let guessed = format!("{}_0000", call.id);
    assert!(matches!(
        calls::end(core, a.id, &guessed).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        calls::end(core, a.id, "nonsense").await,
        Err(Error::NotFound(_))
    ));
    calls::respond(core, b.id, &h, true).await.unwrap();
    assert!(matches!(
        calls::respond(core, b.id, &h, false).await,
        Err(Error::InvalidData(_))
    ));
    assert_eq!(row(core, call.id).await.status, "accepted");
    calls::end(core, b.id, &h).await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn history_lists_a_users_calls_newest_first() {
    let app = spawn_app().await;
    let core = &app.core;
    let (a, b, c) = three_online(&app).await;
    let one = calls::initiate(core, &a, b.id, CallType::Voice, RING)
        .await
        .unwrap();
    calls::end(core, a.id, one.handle()).await.unwrap();
    let two = calls::initiate(core, &c, a.id, CallType::Video, RING)
        .await
        .unwrap();
    calls::respond(core, a.id, two.handle(), false)
        .await
        .unwrap();
    let hist = calls::history(core, a.id, None, 10).await.unwrap();
    let ids: Vec<i64> = hist.iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![two.id, one.id]);
    assert_eq!(
        (hist[0].caller_name.as_str(), hist[0].callee_name.as_str()),
        ("cid", "ann")
    );
    let older = calls::history(core, a.id, Some(two.id), 10).await.unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!(calls::history(core, b.id, None, 10).await.unwrap().len(), 1);
    app.stop().await;
}
