//! expresschat's event table (the handshake is in `connect.rs`). Each event is
//! parsed into its typed payload, handed to one core service, and answered to the
//! asking socket; what other users see is rendered
//! from the bus in `render.rs`.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::json;
use socketioxide::extract::SocketRef;

use super::{Ctx, group_events, wire::*};
use crate::core::{
    Error, Result,
    bus::ConnId,
    conversations,
    identity::accounts,
    messages::{self, Delivery, NewMessage},
    model::Kind,
};
use crate::transport::socketio::{Inbound, emit};

/// Parses an event's payload into its typed shape.
pub(super) fn payload<T: DeserializeOwned>(job: &Inbound) -> Result<T> {
    let v = job.data.as_ref().map_err(Error::invalid)?;
    serde_json::from_value(v.clone()).map_err(Error::invalid)
}

pub(super) fn chat(s: &str) -> Result<i64> {
    parse_chat(s).ok_or(Error::NotFound("conversation"))
}

pub(super) fn user(s: &str) -> Result<i64> {
    parse_user(s).ok_or(Error::NotFound("user"))
}

/// The event table: one line per event the client may send.
pub(super) async fn handle(ctx: &Ctx, user: &entity::users::Model, job: Inbound) {
    let me = user.id;
    let s = &job.socket;
    let origin = Some(ConnId(s.id.to_string()));
    let result = match job.event.as_str() {
        "fetch-user-details" => fetch_user_details(ctx, s, me).await,
        "search-user" => search_user(ctx, s, me, &job).await,
        "check-chat" => check_chat(ctx, s, me, &job).await,
        "create-personal-chat" => create_personal_chat(ctx, s, me, &job, origin).await,
        "send-personal-message" => send_message(ctx, user, &job, Kind::Direct, origin).await,
        "read-personal-message" => read(ctx, me, &job, Kind::Direct, origin).await,
        "fetch-personal-chat" => fetch_personal_chat(ctx, s, me, &job).await,
        "send-self-message" => send_self_message(ctx, user, &job, origin).await,
        "fetch-self-chat" => fetch_self_chat(ctx, s, me).await,
        "create-group-chat" => group_events::create_group_chat(ctx, me, &job, origin).await,
        "send-group-message" => send_message(ctx, user, &job, Kind::Group, origin).await,
        "read-group-message" => read(ctx, me, &job, Kind::Group, origin).await,
        "fetch-group-chat" => group_events::fetch_group_chat(ctx, s, me, &job).await,
        "add-member" => fail_with(
            s,
            "add-member-fail",
            group_events::add_member(ctx, me, &job, origin).await,
        ),
        "kickout" => fail_with(
            s,
            "kickout-fail",
            group_events::kickout(ctx, me, &job, origin).await,
        ),
        "change-admin" => fail_with(
            s,
            "change-admin-fail",
            group_events::change_admin(ctx, me, &job, origin).await,
        ),
        "leave-grp" => group_events::leave_group(ctx, s, me, &job, origin).await,
        "delete-grp" => fail_with(
            s,
            "delete-grp-fail",
            group_events::delete_group(ctx, me, &job, origin).await,
        ),
        other => Err(Error::invalid(format!("unknown event {other}"))),
    };
    if let Err(e) = result {
        metrics::counter!("chatwire_errors_total", "profile" => "expresschat", "code" => e.code())
            .increment(1);
        tracing::debug!(event = %job.event, user = me, code = e.code(), error = %e, "expresschat event refused");
    }
}

/// Answers a failure on the event's own `*-fail` channel with `{Message}`.
fn fail_with(s: &SocketRef, event: &'static str, r: Result<()>) -> Result<()> {
    if let Err(e) = &r {
        let message = match e {
            Error::Internal => "Something went wrong".to_owned(),
            Error::NotFound(_) => "Group or member not found".to_owned(),
            other => other.to_string(),
        };
        emit(s, event, &json!({"Message": message}));
    }
    r
}

async fn fetch_user_details(ctx: &Ctx, s: &SocketRef, me: i64) -> Result<()> {
    let u = accounts::get(&ctx.core, me).await?;
    emit(
        s,
        "user-details",
        &json!({"Name": u.name, "Email": u.email, "Id": user_id(me)}),
    );
    Ok(())
}

async fn search_user(ctx: &Ctx, s: &SocketRef, me: i64, job: &Inbound) -> Result<()> {
    let p: SearchUser = payload(job)?;
    if p.name.chars().count() > ctx.core.limits.max_name_len {
        return Err(Error::invalid("search text is too long"));
    }
    let (limit, event) = if p.kind == "Add" {
        (3, "added-user-match")
    } else {
        (8, "searched-user")
    };
    let users: Vec<FoundUser> = accounts::search_by_name(&ctx.core, &p.name, me, limit)
        .await?
        .into_iter()
        .map(|u| FoundUser {
            id: user_id(u.id),
            name: u.name,
            email: u.email.unwrap_or_default(),
        })
        .collect();
    emit(s, event, &json!({"Users": users}));
    Ok(())
}

/// The other user of the shared space, or NotFound.
pub(super) async fn partner(ctx: &Ctx, me: i64, id: &str) -> Result<entity::users::Model> {
    let other = accounts::get(&ctx.core, user(id)?).await?;
    if other.id == me || other.organization_id.is_some() || !other.email_verified {
        return Err(Error::NotFound("user"));
    }
    Ok(other)
}

async fn check_chat(ctx: &Ctx, s: &SocketRef, me: i64, job: &Inbound) -> Result<()> {
    let p: CheckChat = payload(job)?;
    let other = partner(ctx, me, &p.receiver).await?;
    match conversations::find_direct(&ctx.core, me, other.id).await? {
        Some(c) => emit(
            s,
            "create-chat-result",
            &json!({"Exists": 1, "ChatId": chat_id(c.id), "Partner": other.name}),
        ),
        None => emit(
            s,
            "create-chat-result",
            &json!({"Exists": 0, "Partner": other.name}),
        ),
    }
    Ok(())
}

async fn create_personal_chat(
    ctx: &Ctx,
    s: &SocketRef,
    me: i64,
    job: &Inbound,
    origin: Option<ConnId>,
) -> Result<()> {
    let p: CreatePersonalChat = payload(job)?;
    let other = partner(ctx, me, &p.receiver).await?;
    let mine = accounts::get(&ctx.core, me).await?;
    let (conv, created) = conversations::open_direct(&ctx.core, &mine, other.id, origin).await?;
    if !created {
        // Already there: answer the asker only; the partner knows the chat.
        emit(
            s,
            "create-personal-chat-creator",
            &json!({"ChatId": chat_id(conv.id), "Partner": other.name}),
        );
    }
    Ok(())
}

async fn send_message(
    ctx: &Ctx,
    sender: &entity::users::Model,
    job: &Inbound,
    kind: Kind,
    origin: Option<ConnId>,
) -> Result<()> {
    let (conv, content) = if kind == Kind::Direct {
        let p: ChatContent = payload(job)?;
        (chat(&p.chat_id)?, p.content)
    } else {
        let p: GroupContent = payload(job)?;
        (chat(&p.group_id)?, p.content)
    };
    let msg = NewMessage {
        conversation_id: conv,
        content: &content,
        kind: "text",
        client_ref: None,
    };
    messages::send(&ctx.core, sender, msg, &[kind], Delivery::Members, origin).await?;
    Ok(())
}

async fn read(ctx: &Ctx, me: i64, job: &Inbound, kind: Kind, origin: Option<ConnId>) -> Result<()> {
    let conv = if kind == Kind::Direct {
        chat(&payload::<ChatRef>(job)?.chat_id)?
    } else {
        chat(&payload::<GroupRef>(job)?.group_id)?
    };
    messages::mark_read(&ctx.core, me, conv, None, &[kind], origin).await?;
    Ok(())
}

pub(super) fn read_status(
    members: &[conversations::Member],
    sender: i64,
    seq: i64,
) -> BTreeMap<String, &'static str> {
    members
        .iter()
        .filter(|m| m.user_id != sender)
        .map(|m| {
            (
                user_id(m.user_id),
                if m.read_seq >= seq { "Read" } else { "Unread" },
            )
        })
        .collect()
}

/// A chat the caller is a member of, with its members and newest history page:
/// what both `fetch-personal-chat` and `fetch-group-chat` answer from.
pub(super) async fn open_chat(
    ctx: &Ctx,
    id: &str,
    me: i64,
    kind: Kind,
) -> Result<(
    entity::conversations::Model,
    Vec<conversations::Member>,
    Vec<crate::core::bus::MessageOut>,
)> {
    let (conv, _) = conversations::require_member(&ctx.core, chat(id)?, me, &[kind]).await?;
    let members = conversations::members(&ctx.core, conv.id).await?;
    let history = messages::history(&ctx.core, &conv, None, ctx.core.limits.history_page).await?;
    Ok((conv, members, history))
}

async fn fetch_personal_chat(ctx: &Ctx, s: &SocketRef, me: i64, job: &Inbound) -> Result<()> {
    let p: ChatRef = payload(job)?;
    let (_, members, history) = open_chat(ctx, &p.chat_id, me, Kind::Direct).await?;
    let msgs: Vec<PersonalMessage> = history
        .into_iter()
        .map(|m| PersonalMessage {
            id: message_id(m.id),
            sender: user_id(m.sender_id),
            read_status: read_status(&members, m.sender_id, m.seq),
            content: m.content,
            timestamp: timestamp(m.created_at),
        })
        .collect();
    let my_name = members
        .iter()
        .find(|m| m.user_id == me)
        .map(|m| m.name.clone())
        .unwrap_or_default();
    let partner = members
        .iter()
        .find(|m| m.user_id != me)
        .map(|m| m.name.clone())
        .unwrap_or_default();
    emit(
        s,
        "personal-chat",
        &json!({"Messages": msgs, "UserId": user_id(me), "User": my_name, "Partner": partner}),
    );
    Ok(())
}

async fn send_self_message(
    ctx: &Ctx,
    sender: &entity::users::Model,
    job: &Inbound,
    origin: Option<ConnId>,
) -> Result<()> {
    let p: SelfContent = payload(job)?;
    let conv = conversations::self_chat(&ctx.core, sender.id).await?;
    let msg = NewMessage {
        conversation_id: conv.id,
        content: &p.content,
        kind: "text",
        client_ref: None,
    };
    messages::send(
        &ctx.core,
        sender,
        msg,
        &[Kind::SelfChat],
        Delivery::Members,
        origin,
    )
    .await?;
    Ok(())
}

async fn fetch_self_chat(ctx: &Ctx, s: &SocketRef, me: i64) -> Result<()> {
    let conv = conversations::self_chat(&ctx.core, me).await?;
    let user = accounts::get(&ctx.core, me).await?;
    let msgs: Vec<SelfMessage> =
        messages::history(&ctx.core, &conv, None, ctx.core.limits.history_page)
            .await?
            .into_iter()
            .map(|m| SelfMessage {
                id: message_id(m.id),
                content: m.content,
                timestamp: timestamp(m.created_at),
            })
            .collect();
    emit(
        s,
        "self-chat",
        &json!({"Messages": msgs, "Name": user.name}),
    );
    Ok(())
}
