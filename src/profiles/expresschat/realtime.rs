//! expresschat's Socket.IO side: the handshake, the three events after connect, and
//! the event table. Each event is parsed into its typed payload, handed to one core
//! service, and answered to the asking socket; what other users see is rendered
//! from the bus in `render.rs`.

use std::{collections::BTreeMap, sync::Arc};

use serde::de::DeserializeOwned;
use serde_json::json;
use socketioxide::extract::SocketRef;

use super::{Ctx, wire::*};
use crate::core::{
    Error, Result, accounts, auth,
    bus::ConnId,
    conversations::{self, Kind},
    messages::{self, Delivery, NewMessage},
    presence,
};
use crate::transport::socketio::{self, Inbound, emit};

/// The authenticated user of a socket, set by the handshake.
#[derive(Clone, Debug)]
struct Session {
    user_id: i64,
    /// A fresh access token, when the handshake's one had expired.
    new_access: Option<String>,
}

pub fn register(ctx: Arc<Ctx>) {
    let io = ctx.io.clone();
    let for_mw = ctx.clone();
    let handler = move |socket: SocketRef| {
        let ctx = ctx.clone();
        async move { connected(ctx, socket).await }
    };
    let middleware = move |socket: SocketRef| {
        let ctx = for_mw.clone();
        async move {
            handshake(&ctx, &socket).await;
            Ok::<(), std::convert::Infallible>(())
        }
    };
    io.ns(
        "/",
        socketioxide::handler::ConnectHandler::with(handler, middleware),
    );
}

/// Reads the tokens from cookies or query, never rejects: a failed handshake is
/// answered after connect with `auth-failure` (what the original client expects).
async fn handshake(ctx: &Ctx, socket: &SocketRef) {
    let parts = socket.req_parts();
    let mut access = None;
    let mut refresh = None;
    for header in parts.headers.get_all(axum::http::header::COOKIE) {
        for c in cookie::Cookie::split_parse(header.to_str().unwrap_or_default()).flatten() {
            match c.name() {
                "access_token" => access = Some(c.value().to_owned()),
                "refresh_token" => refresh = Some(c.value().to_owned()),
                _ => {}
            }
        }
    }
    if let Some(q) = parts.uri.query() {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            match k.as_ref() {
                "accessToken" if access.is_none() => access = Some(v.into_owned()),
                "refreshToken" if refresh.is_none() => refresh = Some(v.into_owned()),
                _ => {}
            }
        }
    }
    let session = match access.as_deref().map(|t| auth::verify_access(&ctx.core, t)) {
        Some(Ok(user_id)) => Some(Session {
            user_id,
            new_access: None,
        }),
        // An expired (or absent) access token with a good refresh token: mint a
        // new access token and tell the client (`access-token`).
        Some(Err(auth::AccessError::Expired)) | None => match refresh {
            Some(r) => {
                auth::access_from_refresh(&ctx.core, &r)
                    .await
                    .ok()
                    .map(|(user_id, token)| Session {
                        user_id,
                        new_access: Some(token),
                    })
            }
            None => None,
        },
        Some(Err(auth::AccessError::Invalid)) => None,
    };
    // The user must still exist and be verified.
    let session = match session {
        Some(s) => match accounts::get(&ctx.core, s.user_id).await {
            Ok(u) if u.email_verified => Some(s),
            _ => None,
        },
        None => None,
    };
    if let Some(s) = session {
        socket.join(socketio::user_room(s.user_id));
        socket.extensions.insert(s);
        socketio::prepare_inbox(socket, ctx.inbox_capacity);
    }
}

async fn connected(ctx: Arc<Ctx>, socket: SocketRef) {
    let Some(session) = socket.extensions.get::<Session>() else {
        emit(
            &socket,
            "auth-failure",
            &json!({"reason": "Authentication failed"}),
        );
        let _ = socket.disconnect();
        return;
    };
    metrics::gauge!("chatwire_connections", "profile" => "expresschat").increment(1.0);
    let dctx = ctx.clone();
    socket.on_disconnect(async move |s: SocketRef| {
        socketio::close_inbox(&s);
        metrics::gauge!("chatwire_connections", "profile" => "expresschat").decrement(1.0);
        if let Some(sess) = s.extensions.get::<Session>() {
            let _ = presence::disconnected(&dctx.core, sess.user_id).await;
        }
    });
    if let Some(token) = &session.new_access {
        emit(&socket, "access-token", &json!({"accessToken": token}));
    }
    if let Err(e) = greet(&ctx, &socket, session.user_id).await {
        tracing::debug!(error = %e, "expresschat greeting failed");
    }
    let _ = presence::connected(&ctx.core, session.user_id).await;
    let wctx = ctx.clone();
    socketio::start_inbox(&socket, "expresschat", move |job| {
        let ctx = wctx.clone();
        async move { handle(&ctx, session.user_id, job).await }
    });
}

/// The three events after connect, in order.
async fn greet(ctx: &Ctx, socket: &SocketRef, me: i64) -> Result<()> {
    let user = accounts::get(&ctx.core, me).await?;
    emit(
        socket,
        "user-id",
        &json!({"userId": user_id(me), "userName": user.name}),
    );
    let personal: Vec<PersonalChatEntry> =
        conversations::list_for_user(&ctx.core, me, &[Kind::Direct])
            .await?
            .into_iter()
            .map(|s| PersonalChatEntry {
                id: chat_id(s.conversation.id),
                last_chat: timestamp(conversations::last_activity(&s.conversation)),
                partner: s.partner.map(|p| p.1).unwrap_or_default(),
                unread: s.unread,
            })
            .collect();
    emit(
        socket,
        "personal-chat-list",
        &json!({"PersonalChatList": personal}),
    );
    let groups: Vec<GroupChatEntry> = conversations::list_for_user(&ctx.core, me, &[Kind::Group])
        .await?
        .into_iter()
        .map(|s| GroupChatEntry {
            id: chat_id(s.conversation.id),
            name: s.conversation.name.clone().unwrap_or_default(),
            last_chat: timestamp(conversations::last_activity(&s.conversation)),
            unread: s.unread,
        })
        .collect();
    emit(socket, "group-chat-list", &json!({"GroupChatList": groups}));
    Ok(())
}

/// Parses an event's payload into its typed shape.
fn payload<T: DeserializeOwned>(job: &Inbound) -> Result<T> {
    let v = job.data.as_ref().map_err(Error::invalid)?;
    serde_json::from_value(v.clone()).map_err(Error::invalid)
}

fn chat(s: &str) -> Result<i64> {
    parse_chat(s).ok_or(Error::NotFound("conversation"))
}

fn user(s: &str) -> Result<i64> {
    parse_user(s).ok_or(Error::NotFound("user"))
}

/// The event table: one line per event the client may send.
async fn handle(ctx: &Ctx, me: i64, job: Inbound) {
    let s = &job.socket;
    let origin = Some(ConnId(s.id.to_string()));
    let result = match job.event.as_str() {
        "fetch-user-details" => fetch_user_details(ctx, s, me).await,
        "search-user" => search_user(ctx, s, me, &job).await,
        "check-chat" => check_chat(ctx, s, me, &job).await,
        "create-personal-chat" => create_personal_chat(ctx, s, me, &job, origin).await,
        "send-personal-message" => send_message(ctx, me, &job, Kind::Direct, origin).await,
        "read-personal-message" => read(ctx, me, &job, Kind::Direct, origin).await,
        "fetch-personal-chat" => fetch_personal_chat(ctx, s, me, &job).await,
        "send-self-message" => send_self_message(ctx, me, &job, origin).await,
        "fetch-self-chat" => fetch_self_chat(ctx, s, me).await,
        "create-group-chat" => create_group_chat(ctx, me, &job, origin).await,
        "send-group-message" => send_message(ctx, me, &job, Kind::Group, origin).await,
        "read-group-message" => read(ctx, me, &job, Kind::Group, origin).await,
        "fetch-group-chat" => fetch_group_chat(ctx, s, me, &job).await,
        "add-member" => fail_with(
            s,
            "add-member-fail",
            add_member(ctx, me, &job, origin).await,
        ),
        "kickout" => fail_with(s, "kickout-fail", kickout(ctx, me, &job, origin).await),
        "change-admin" => fail_with(
            s,
            "change-admin-fail",
            change_admin(ctx, me, &job, origin).await,
        ),
        "leave-grp" => leave_group(ctx, s, me, &job, origin).await,
        "delete-grp" => fail_with(
            s,
            "delete-grp-fail",
            delete_group(ctx, me, &job, origin).await,
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
async fn partner(ctx: &Ctx, me: i64, id: &str) -> Result<entity::users::Model> {
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
    me: i64,
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
    let sender = accounts::get(&ctx.core, me).await?;
    let msg = NewMessage {
        conversation_id: conv,
        content: &content,
        kind: "text",
        client_ref: None,
    };
    messages::send(&ctx.core, &sender, msg, &[kind], Delivery::Members, origin).await?;
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

fn read_status(
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

async fn fetch_personal_chat(ctx: &Ctx, s: &SocketRef, me: i64, job: &Inbound) -> Result<()> {
    let p: ChatRef = payload(job)?;
    let (conv, _) =
        conversations::require_member(&ctx.core, chat(&p.chat_id)?, me, &[Kind::Direct]).await?;
    let members = conversations::members(&ctx.core, conv.id).await?;
    let history = messages::history(&ctx.core, &conv, None, ctx.core.limits.history_page).await?;
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
    me: i64,
    job: &Inbound,
    origin: Option<ConnId>,
) -> Result<()> {
    let p: SelfContent = payload(job)?;
    let conv = conversations::self_chat(&ctx.core, me).await?;
    let sender = accounts::get(&ctx.core, me).await?;
    let msg = NewMessage {
        conversation_id: conv.id,
        content: &p.content,
        kind: "text",
        client_ref: None,
    };
    messages::send(
        &ctx.core,
        &sender,
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

async fn create_group_chat(
    ctx: &Ctx,
    me: i64,
    job: &Inbound,
    origin: Option<ConnId>,
) -> Result<()> {
    let p: CreateGroup = payload(job)?;
    let participants = p
        .participants
        .iter()
        .map(|id| user(id))
        .collect::<Result<Vec<_>>>()?;
    let creator = accounts::get(&ctx.core, me).await?;
    conversations::create_group(
        &ctx.core,
        &creator,
        &p.name,
        p.description.as_deref(),
        &participants,
        Kind::Group,
        origin,
    )
    .await?;
    Ok(())
}

async fn fetch_group_chat(ctx: &Ctx, s: &SocketRef, me: i64, job: &Inbound) -> Result<()> {
    let p: GroupRef = payload(job)?;
    let (conv, _) =
        conversations::require_member(&ctx.core, chat(&p.group_id)?, me, &[Kind::Group]).await?;
    let members = conversations::members(&ctx.core, conv.id).await?;
    let history = messages::history(&ctx.core, &conv, None, ctx.core.limits.history_page).await?;
    let msgs: Vec<GroupMessage> = history
        .into_iter()
        .map(|m| GroupMessage {
            read_status: read_status(&members, m.sender_id, m.seq),
            content: m.content,
            sender: m.sender_name,
            timestamp: timestamp(m.created_at),
            id: message_id(m.id),
        })
        .collect();
    let participants: BTreeMap<String, String> = members
        .iter()
        .map(|m| (user_id(m.user_id), m.name.clone()))
        .collect();
    emit(
        s,
        "group-chat",
        &json!({
            "Admin": conv.admin_id.map(user_id),
            "Name": conv.name,
            "Description": conv.description.unwrap_or_default(),
            "Participants": participants,
            "Messages": msgs,
        }),
    );
    Ok(())
}

async fn add_member(ctx: &Ctx, me: i64, job: &Inbound, origin: Option<ConnId>) -> Result<()> {
    let p: GroupMember = payload(job)?;
    let member = partner(ctx, me, &p.member).await?;
    conversations::add_member(&ctx.core, me, chat(&p.group_id)?, member.id, origin).await?;
    Ok(())
}

async fn kickout(ctx: &Ctx, me: i64, job: &Inbound, origin: Option<ConnId>) -> Result<()> {
    let p: GroupMember = payload(job)?;
    conversations::kick(&ctx.core, me, chat(&p.group_id)?, user(&p.member)?, origin).await?;
    Ok(())
}

async fn change_admin(ctx: &Ctx, me: i64, job: &Inbound, origin: Option<ConnId>) -> Result<()> {
    let p: GroupMember = payload(job)?;
    conversations::change_admin(&ctx.core, me, chat(&p.group_id)?, user(&p.member)?, origin)
        .await?;
    Ok(())
}

async fn leave_group(
    ctx: &Ctx,
    s: &SocketRef,
    me: i64,
    job: &Inbound,
    origin: Option<ConnId>,
) -> Result<()> {
    let result = async {
        let p: GroupRef = payload(job)?;
        conversations::leave(&ctx.core, me, chat(&p.group_id)?, origin).await?;
        Ok(())
    }
    .await;
    if result.is_err() {
        // The original answers the admin's attempt with a bare `group-left-fail`.
        emit(s, "group-left-fail", &());
    }
    result
}

async fn delete_group(ctx: &Ctx, me: i64, job: &Inbound, origin: Option<ConnId>) -> Result<()> {
    let p: GroupRef = payload(job)?;
    conversations::delete_group(&ctx.core, me, chat(&p.group_id)?, origin).await?;
    Ok(())
}
