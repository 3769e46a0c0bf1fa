//! The chat routes under `/api/v1/chat`: create a room, list one's rooms, join,
//! leave or list a room (`ChatQuery`), and get a room's chat token
//! (`connectChat`). Room names are matched case-insensitively.

use std::sync::Arc;

use axum::{
    extract::{RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use axum_extra::extract::cookie::CookieJar;
use entity::conversations;

use super::super::{
    Ctx,
    error::ApiError,
    wire::{
        CHAT_COOKIE, ChatList, ChatRef, ConnectOut, CreateChatBody, HistoryEntry, MemberOut,
        RoomOut, RoomUsers, UserData, id, ok,
    },
};
use super::extract::{Body, Caller, RoomName};
use crate::core::{
    Error,
    conversations::rooms::named as rooms,
    identity::auth,
    messages::{Cursor, page_limit},
};
use crate::profiles::kit::{PageAsk, auth_cookie};

/// POST `createChat {roomName}`: creates the room, or joins the caller to the
/// room of that name (the document's "if the room exists, updates it").
pub async fn create(
    State(ctx): State<Arc<Ctx>>,
    Caller(user): Caller,
    Body(b): Body<CreateChatBody>,
) -> Result<Response, ApiError> {
    let name = b
        .room_name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| Error::invalid("group name or Admin id is not provided"))?;
    let room = rooms::create(&ctx.core, &user, &name).await?;
    Ok(ok(RoomOut::of(&room), "chat room created"))
}

/// GET `getChat`: the caller and their rooms, oldest first; 404 when none.
pub async fn list(State(ctx): State<Arc<Ctx>>, Caller(user): Caller) -> Result<Response, ApiError> {
    let rooms = rooms::of_user(&ctx.core, user.id).await?;
    if rooms.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "no chat room currently",
        ));
    }
    let chat_data = rooms
        .into_iter()
        .map(|r| ChatRef {
            id: id(r.id),
            room_name: r.name,
        })
        .collect();
    let entry = ChatList {
        id: id(user.id),
        profile: UserData::of(&user),
        chat_data,
    };
    Ok(ok([entry], "chat rooms found"))
}

/// POST `ChatQuery/{room}`: joins the room (joining twice is no error).
pub async fn join(
    State(ctx): State<Arc<Ctx>>,
    Caller(user): Caller,
    RoomName(name): RoomName,
) -> Result<Response, ApiError> {
    let room = rooms::join(&ctx.core, user.id, &name).await?;
    Ok(ok(RoomOut::of(&room), "user joined chat"))
}

/// PUT `ChatQuery/{room}`: leaves the room (leaving one is not in is no error).
pub async fn leave(
    State(ctx): State<Arc<Ctx>>,
    Caller(user): Caller,
    RoomName(name): RoomName,
) -> Result<Response, ApiError> {
    let room = rooms::leave(&ctx.core, user.id, &name).await?;
    Ok(ok(RoomOut::of(&room), "user removed"))
}

/// GET `ChatQuery/{room}`: the room with its users; members also get its latest
/// messages (`messages`, oldest first): the room's history. `?after=` /
/// `?before=` (a `MessageId` as the history shows it) and `?limit=` ask for
/// another page of it (an extension, issue 14); a non-member who asks for one is
/// refused (409) rather than answered without `messages`.
pub async fn users(
    State(ctx): State<Arc<Ctx>>,
    Caller(user): Caller,
    RoomName(name): RoomName,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let page = PageAsk::from_query(query.as_deref());
    let limit = page_limit(&ctx.core, page.limit()?, ctx.core.limits.history_page)?;
    let room = rooms::find(&ctx.core, &name).await?;
    let members = rooms::members(&ctx.core, room.id).await?;
    let member = members.iter().any(|m| m.id == user.id);
    if !member && !page.is_empty() {
        return Err(Error::Conflict("user don't have access to chat").into());
    }
    let messages = if member {
        let cursor = Cursor {
            after: bound(&ctx, &room, page.after.as_deref(), "after").await?,
            before: bound(&ctx, &room, page.before.as_deref(), "before").await?,
        };
        let history = rooms::history(&ctx.core, &room, cursor, limit).await?;
        Some(history.iter().map(HistoryEntry::of).collect())
    } else {
        None
    };
    let entry = RoomUsers {
        id: id(room.id),
        room_name: room.name,
        admin_id: room.admin_id.map(id),
        user_count: members.len(),
        chat_users: members.iter().map(MemberOut::of).collect(),
        messages,
    };
    Ok(ok([entry], "Total user"))
}

/// A bound of a history page: the message the client names by its `MessageId`.
async fn bound(
    ctx: &Ctx,
    room: &conversations::Model,
    shown: Option<&str>,
    name: &str,
) -> Result<Option<i64>, ApiError> {
    match shown {
        None => Ok(None),
        Some(id) => Ok(Some(
            rooms::message_by_ref(&ctx.core, room, id, name).await?,
        )),
    }
}

/// POST `connectChat/{room}`: checks membership (409 otherwise) and sets the
/// `UserChatToken` cookie, a token that admits the user to this room's WebSocket
/// only; the token is also in `data.token`.
pub async fn connect(
    State(ctx): State<Arc<Ctx>>,
    Caller(user): Caller,
    RoomName(name): RoomName,
) -> Result<Response, ApiError> {
    let room = rooms::find(&ctx.core, &name).await?;
    if !rooms::is_member(&ctx.core, room.id, user.id).await? {
        return Err(Error::Conflict("user don't have access to chat").into());
    }
    let token = auth::issue_chat(&ctx.core, &user, room.id)?;
    let cookie = auth_cookie(
        CHAT_COOKIE,
        token.clone(),
        ctx.core.keys.access_ttl,
        ctx.cookie_secure,
    );
    let data = ConnectOut {
        room: RoomOut::of(&room),
        token,
    };
    Ok((
        CookieJar::new().add(cookie),
        ok(data, "Token create succesfuly"),
    )
        .into_response())
}
