//! Arrange steps that go through the core directly, for the tests of core rules:
//! users, a direct chat, a group, a text message, and calls with the bus events
//! they publish.

use std::{future::Future, panic::Location, sync::Arc, time::Duration};

use chatwire::core::{
    CoreRef,
    bus::{Event, EventKind},
    calls::{self, CallChange, CallEvent, CallInfo, CallType},
    conversations::groups,
    identity::accounts::{self, NewUser},
    messages::NewMessage,
    model::Kind,
};
use entity::{conversations, users};
use tokio::sync::broadcast::Receiver;

use super::TestApp;

/// A verified user `name` with the email `{name}@x.io`.
pub async fn user(app: &TestApp, name: &str) -> users::Model {
    accounts::create_user(
        &app.core,
        NewUser {
            name: name.into(),
            email: Some(format!("{name}@x.io")),
            username: None,
            password: Some("pw".into()),
            organization_id: None,
            role: "user".into(),
            verified: true,
        },
    )
    .await
    .unwrap()
}

/// ann, bob and cy.
pub async fn three_users(app: &TestApp) -> (users::Model, users::Model, users::Model) {
    (
        user(app, "ann").await,
        user(app, "bob").await,
        user(app, "cy").await,
    )
}

/// ann, ben and cid, each with a connection, so they can be called.
pub async fn three_online(app: &TestApp) -> (users::Model, users::Model, users::Model) {
    let (a, b, c) = (
        user(app, "ann").await,
        user(app, "ben").await,
        user(app, "cid").await,
    );
    for u in [&a, &b, &c] {
        app.core.calls.endpoint_up(u.id);
    }
    (a, b, c)
}

/// The direct chat of `a` and `b`, opened by `a`.
pub async fn direct_chat(
    app: &TestApp,
    a: &users::Model,
    b: &users::Model,
) -> conversations::Model {
    chatwire::core::conversations::open_direct(&app.core, a, b.id, None)
        .await
        .unwrap()
        .0
}

/// A group "g" made by `admin` with `members`.
pub async fn group(app: &TestApp, admin: &users::Model, members: &[i64]) -> conversations::Model {
    groups::create_group(&app.core, admin, "g", None, members, Kind::Group, None)
        .await
        .unwrap()
}

pub fn text(conv: i64, content: &str) -> NewMessage<'_> {
    NewMessage {
        conversation_id: conv,
        content,
        kind: "text",
        client_ref: None,
    }
}

/// The bus as a call test sees it (subscribed when made): call events only.
pub struct CallBus<'a> {
    core: &'a CoreRef,
    rx: Receiver<Arc<Event>>,
}

impl<'a> CallBus<'a> {
    pub fn new(core: &'a CoreRef) -> Self {
        CallBus {
            core,
            rx: core.bus.subscribe(),
        }
    }

    /// The next call event (other events are skipped), within 5 s; a timeout
    /// names the line that awaited it.
    #[track_caller]
    pub fn next(&mut self) -> impl Future<Output = CallEvent> + '_ {
        let at = Location::caller();
        async move {
            tokio::time::timeout(Duration::from_secs(5), async {
                loop {
                    let ev = self.rx.recv().await.expect("bus open");
                    if let EventKind::Call(c) = &ev.kind {
                        return c.clone();
                    }
                }
            })
            .await
            .unwrap_or_else(|_| panic!("no call event within 5 s (awaited at {at})"))
        }
    }

    /// The call set-up: `from` calls `to`, which rings for `ring` at most;
    /// returns once the ringing is on the bus.
    pub async fn ringing(
        &mut self,
        from: &users::Model,
        to: &users::Model,
        kind: CallType,
        ring: Duration,
    ) -> CallInfo {
        let call = calls::initiate(self.core, from, to.id, kind, ring)
            .await
            .unwrap();
        let ev = self.next().await;
        assert!(matches!(ev.change, CallChange::Ringing), "{ev:?}");
        call
    }

    /// `ringing`, then `to` accepts; returns once the acceptance is on the bus.
    pub async fn accepted(
        &mut self,
        from: &users::Model,
        to: &users::Model,
        kind: CallType,
        ring: Duration,
    ) -> CallInfo {
        let call = self.ringing(from, to, kind, ring).await;
        calls::respond(self.core, to.id, call.handle(), true)
            .await
            .unwrap();
        let ev = self.next().await;
        assert!(matches!(ev.change, CallChange::Accepted { .. }), "{ev:?}");
        call
    }
}
