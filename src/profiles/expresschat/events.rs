//! expresschat's event table: every event the client may send, parsed once into
//! [`ClientEvent`] with its typed payload, then dispatched to its handler. A
//! refusal (unknown event, bad payload, or the core's) is answered in one place,
//! [`error::refuse`].

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Ctx, error, handlers, wire::*};
use crate::core::{Error, Result, bus::ConnId, messages::Committed, model::Kind};
use crate::profiles::kit::{self, PageAsk};
use crate::transport::socketio::{Inbound, Tail};

/// An event of the client with its payload, as the original client sends it.
#[derive(Debug)]
pub enum ClientEvent {
    /// `fetch-user-details` (any payload).
    FetchUserDetails,
    SearchUser(SearchUser),
    CheckChat(Receiver),
    CreatePersonalChat(Receiver),
    SendPersonalMessage(ChatContent),
    ReadPersonalMessage(ChatRef),
    /// With the page it asks for (`After`, `Before`, `Limit`; none: the newest).
    FetchPersonalChat(ChatRef, PageAsk),
    SendSelfMessage(SelfContent),
    /// `fetch-self-chat` (any payload; a page as for the other fetches).
    FetchSelfChat(PageAsk),
    CreateGroupChat(CreateGroup),
    SendGroupMessage(GroupContent),
    ReadGroupMessage(GroupRef),
    FetchGroupChat(GroupRef, PageAsk),
    AddMember(GroupMember),
    Kickout(GroupMember),
    ChangeAdmin(GroupMember),
    LeaveGroup(GroupRef),
    DeleteGroup(GroupRef),
}

/// The payload's typed shape; a refusal carries serde's words as they are (no
/// prefix: this client shows none of them, they reach only `*-fail` and the log).
fn typed<T: DeserializeOwned>(data: Result<Value, String>) -> Result<T> {
    kit::payload(data.map_err(Error::invalid)?, "")
}

/// A fetch's typed payload and the history page it asks for.
fn paged<T: DeserializeOwned>(data: Result<Value, String>) -> Result<(T, PageAsk)> {
    let v = data.map_err(Error::invalid)?;
    let page = PageAsk::from_json(&v, PAGE_FIELDS)?;
    Ok((kit::payload(v, "")?, page))
}

/// Whether a payload names any field of a history page: such a fetch uses the
/// extension, and its refusals are answered (`*-fail`); the original's fetches
/// keep getting none.
fn asks_page(data: &Result<Value, String>) -> bool {
    data.as_ref().is_ok_and(|v| {
        PAGE_FIELDS
            .iter()
            .any(|f| v.get(f).is_some_and(|x| !x.is_null()))
    })
}

impl ClientEvent {
    /// The event named `event` with its first argument `data` (an error when it
    /// was not JSON), or why it is refused.
    pub fn parse(event: &str, data: Result<Value, String>) -> Result<ClientEvent> {
        use ClientEvent as E;
        Ok(match event {
            "fetch-user-details" => E::FetchUserDetails,
            "search-user" => E::SearchUser(typed(data)?),
            "check-chat" => E::CheckChat(typed(data)?),
            "create-personal-chat" => E::CreatePersonalChat(typed(data)?),
            "send-personal-message" => E::SendPersonalMessage(typed(data)?),
            "read-personal-message" => E::ReadPersonalMessage(typed(data)?),
            "fetch-personal-chat" => {
                let (chat, page) = paged(data)?;
                E::FetchPersonalChat(chat, page)
            }
            "send-self-message" => E::SendSelfMessage(typed(data)?),
            "fetch-self-chat" => {
                let v = data.unwrap_or(Value::Null);
                E::FetchSelfChat(PageAsk::from_json(&v, PAGE_FIELDS)?)
            }
            "create-group-chat" => E::CreateGroupChat(typed(data)?),
            "send-group-message" => E::SendGroupMessage(typed(data)?),
            "read-group-message" => E::ReadGroupMessage(typed(data)?),
            "fetch-group-chat" => {
                let (group, page) = paged(data)?;
                E::FetchGroupChat(group, page)
            }
            "add-member" => E::AddMember(typed(data)?),
            "kickout" => E::Kickout(typed(data)?),
            "change-admin" => E::ChangeAdmin(typed(data)?),
            "leave-grp" => E::LeaveGroup(typed(data)?),
            "delete-grp" => E::DeleteGroup(typed(data)?),
            other => return Err(Error::invalid(format!("unknown event {other}"))),
        })
    }

    /// A send queued for the writer (see [`pipelined`]): resolves when committed.
    /// Any other event is handled as by [`ClientEvent::dispatch`].
    pub async fn submit(self, c: &handlers::Caller<'_>) -> Result<Option<Committed>> {
        use ClientEvent as E;
        use handlers::messages;
        match self {
            E::SendPersonalMessage(p) => messages::submit(c, p.chat_id, &p.content, Kind::Direct)
                .await
                .map(Some),
            E::SendGroupMessage(p) => messages::submit(c, p.group_id, &p.content, Kind::Group)
                .await
                .map(Some),
            E::SendSelfMessage(p) => messages::submit_self(c, &p.content).await.map(Some),
            other => other.dispatch(c).await.map(|()| None),
        }
    }

    /// Runs the event's handler for `caller`.
    pub async fn dispatch(self, c: &handlers::Caller<'_>) -> Result<()> {
        use ClientEvent as E;
        use handlers::{group, messages, people, personal};
        match self {
            E::FetchUserDetails => people::fetch_user_details(c).await,
            E::SearchUser(p) => people::search_user(c, p).await,
            E::CheckChat(p) => personal::check_chat(c, p).await,
            E::CreatePersonalChat(p) => personal::create_personal_chat(c, p).await,
            E::SendPersonalMessage(p) => messages::submit(c, p.chat_id, &p.content, Kind::Direct)
                .await?
                .await
                .map(drop),
            E::ReadPersonalMessage(p) => messages::read(c, p.chat_id, Kind::Direct).await,
            E::FetchPersonalChat(p, page) => personal::fetch_personal_chat(c, p, page).await,
            E::SendSelfMessage(p) => messages::submit_self(c, &p.content).await?.await.map(drop),
            E::FetchSelfChat(page) => personal::fetch_self_chat(c, page).await,
            E::CreateGroupChat(p) => group::create_group_chat(c, p).await,
            E::SendGroupMessage(p) => messages::submit(c, p.group_id, &p.content, Kind::Group)
                .await?
                .await
                .map(drop),
            E::ReadGroupMessage(p) => messages::read(c, p.group_id, Kind::Group).await,
            E::FetchGroupChat(p, page) => group::fetch_group_chat(c, p, page).await,
            E::AddMember(p) => group::add_member(c, p).await,
            E::Kickout(p) => group::kickout(c, p).await,
            E::ChangeAdmin(p) => group::change_admin(c, p).await,
            E::LeaveGroup(p) => group::leave_group(c, p).await,
            E::DeleteGroup(p) => group::delete_group(c, p).await,
        }
    }
}

/// The events a socket's inbox may start while its earlier sends are still being
/// committed: the sends themselves, each queued for the writer in arrival order
/// (so a burst of one socket's messages shares the writer's batches). Any other
/// event waits until every earlier send is committed, and every outcome is reported
/// in arrival order, so a client sees what strictly one-by-one handling would show.
pub fn pipelined(event: &str) -> bool {
    matches!(
        event,
        "send-personal-message" | "send-group-message" | "send-self-message"
    )
}

/// Handles one event from a socket's inbox (in arrival order): parse, dispatch,
/// and answer a refusal where the client listens for it. A send ([`pipelined`])
/// returns once its message is queued, leaving its outcome to the returned tail.
pub async fn handle(ctx: &Ctx, user: &entity::users::Model, job: Inbound) -> Option<Tail> {
    let Inbound {
        socket,
        event,
        data,
        ..
    } = job;
    let caller = handlers::Caller {
        ctx,
        socket: &socket,
        user,
        origin: Some(ConnId(socket.id.to_string())),
    };
    let paged = asks_page(&data);
    if pipelined(&event) {
        // A refusal here is reported by the tail too, after the earlier sends'.
        let queued = match ClientEvent::parse(&event, data) {
            Ok(ev) => ev.submit(&caller).await,
            Err(e) => Err(e),
        };
        let user = user.id;
        return Some(Box::pin(async move {
            let result = match queued {
                Ok(Some(committed)) => committed.await.map(drop),
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                error::refuse(&socket, &event, user, &e, paged);
            }
        }));
    }
    let result = match ClientEvent::parse(&event, data) {
        Ok(ev) => ev.dispatch(&caller).await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        error::refuse(&socket, &event, user.id, &e, paged);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_parse_into_their_typed_payloads() {
        let ev = ClientEvent::parse("kickout", Ok(json!({"GroupId": "c4", "Member": "u9"})));
        let Ok(ClientEvent::Kickout(p)) = ev else {
            panic!("expected Kickout, got {ev:?}");
        };
        assert_eq!(
            (p.group_id.get().ok(), p.member.get().ok()),
            (Some(4), Some(9))
        );
        assert!(matches!(
            ClientEvent::parse("fetch-user-details", Err("not JSON".into())),
            Ok(ClientEvent::FetchUserDetails)
        ));
        let Ok(ClientEvent::FetchSelfChat(page)) =
            ClientEvent::parse("fetch-self-chat", Err("not JSON".into()))
        else {
            panic!("fetch-self-chat takes any payload");
        };
        assert!(page.is_empty());
        let ev = ClientEvent::parse(
            "fetch-group-chat",
            Ok(json!({"GroupId": "c4", "After": "m9", "Limit": 10})),
        );
        let Ok(ClientEvent::FetchGroupChat(_, page)) = ev else {
            panic!("expected FetchGroupChat, got {ev:?}");
        };
        assert_eq!(page.after.as_deref(), Some("m9"));
    }

    #[test]
    fn only_fetches_that_name_a_page_field_use_the_extension() {
        assert!(!asks_page(&Ok(json!({"ChatId": "c1"}))));
        assert!(!asks_page(&Ok(json!({"ChatId": "c1", "After": null}))));
        assert!(!asks_page(&Err("not JSON".into())));
        assert!(asks_page(&Ok(json!({"ChatId": "c1", "Limit": "x"}))));
    }

    #[test]
    fn bad_payloads_and_unknown_events_are_refused_as_invalid() {
        let refused =
            |event: &str, data: Result<Value, String>| match ClientEvent::parse(event, data) {
                Err(Error::InvalidData(why)) => why,
                other => panic!("expected a refusal, got {other:?}"),
            };
        assert_eq!(
            refused("leave-grp", Ok(json!({"GroupId": 42}))),
            "invalid type: integer `42`, expected a string"
        );
        assert_eq!(refused("send-self-message", Err("bad".into())), "bad");
        assert_eq!(
            refused("no-such-event", Ok(json!({}))),
            "unknown event no-such-event"
        );
        assert_eq!(
            refused(
                "fetch-personal-chat",
                Ok(json!({"ChatId": "c1", "After": true}))
            ),
            "After must be a string or a number"
        );
    }
}
