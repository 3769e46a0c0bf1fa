//! expresschat's event table: every event the client may send, parsed once into
//! [`ClientEvent`] with its typed payload, then dispatched to its handler. A
//! refusal (unknown event, bad payload, or the core's) is answered in one place,
//! [`error::refuse`].

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Ctx, error, handlers, wire::*};
use crate::core::{Error, Result, bus::ConnId, model::Kind};
use crate::profiles::kit;
use crate::transport::socketio::Inbound;

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
    FetchPersonalChat(ChatRef),
    SendSelfMessage(SelfContent),
    /// `fetch-self-chat` (any payload).
    FetchSelfChat,
    CreateGroupChat(CreateGroup),
    SendGroupMessage(GroupContent),
    ReadGroupMessage(GroupRef),
    FetchGroupChat(GroupRef),
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
            "fetch-personal-chat" => E::FetchPersonalChat(typed(data)?),
            "send-self-message" => E::SendSelfMessage(typed(data)?),
            "fetch-self-chat" => E::FetchSelfChat,
            "create-group-chat" => E::CreateGroupChat(typed(data)?),
            "send-group-message" => E::SendGroupMessage(typed(data)?),
            "read-group-message" => E::ReadGroupMessage(typed(data)?),
            "fetch-group-chat" => E::FetchGroupChat(typed(data)?),
            "add-member" => E::AddMember(typed(data)?),
            "kickout" => E::Kickout(typed(data)?),
            "change-admin" => E::ChangeAdmin(typed(data)?),
            "leave-grp" => E::LeaveGroup(typed(data)?),
            "delete-grp" => E::DeleteGroup(typed(data)?),
            other => return Err(Error::invalid(format!("unknown event {other}"))),
        })
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
            E::SendPersonalMessage(p) => {
                messages::send(c, p.chat_id, &p.content, Kind::Direct).await
            }
            E::ReadPersonalMessage(p) => messages::read(c, p.chat_id, Kind::Direct).await,
            E::FetchPersonalChat(p) => personal::fetch_personal_chat(c, p).await,
            E::SendSelfMessage(p) => messages::send_self(c, &p.content).await,
            E::FetchSelfChat => personal::fetch_self_chat(c).await,
            E::CreateGroupChat(p) => group::create_group_chat(c, p).await,
            E::SendGroupMessage(p) => messages::send(c, p.group_id, &p.content, Kind::Group).await,
            E::ReadGroupMessage(p) => messages::read(c, p.group_id, Kind::Group).await,
            E::FetchGroupChat(p) => group::fetch_group_chat(c, p).await,
            E::AddMember(p) => group::add_member(c, p).await,
            E::Kickout(p) => group::kickout(c, p).await,
            E::ChangeAdmin(p) => group::change_admin(c, p).await,
            E::LeaveGroup(p) => group::leave_group(c, p).await,
            E::DeleteGroup(p) => group::delete_group(c, p).await,
        }
    }
}

/// Handles one event from a socket's inbox (in arrival order): parse, dispatch,
/// and answer a refusal where the client listens for it.
pub async fn handle(ctx: &Ctx, user: &entity::users::Model, job: Inbound) {
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
    let result = match ClientEvent::parse(&event, data) {
        Ok(ev) => ev.dispatch(&caller).await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        error::refuse(&socket, &event, user.id, &e);
    }
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
    }
}
