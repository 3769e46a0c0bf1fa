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
        CHAT_COOKIE, ChatList, ChatListAnswer, ChatRef, ConnectAnswer, ConnectOut, CreateChatBody,
        Failure, HistoryEntry, MemberOut, RoomAnswer, RoomOut, RoomUsers, RoomUsersAnswer,
        UserData, id, ok,
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
#[utoipa::path(
    post, path = "/api/v1/chat/createChat", tag = "chat",
    security(("bearer" = []), ("tokenQuery" = []), ("accessCookie" = [])),
    request_body = CreateChatBody,
    responses(
        (status = 200, description = "\"chat room created\" (or joined)", body = RoomAnswer),
        (status = 400, description = "Not JSON, or no `roomName`", body = Failure),
        (status = 401, description = "\"Unauthorized request\": no token, or a bad one", body = Failure),
        (status = 429, description = "Over the address's request budget (`Retry-After`)", body = Failure,
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
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
#[utoipa::path(
    get, path = "/api/v1/chat/getChat", tag = "chat",
    security(("bearer" = []), ("tokenQuery" = []), ("accessCookie" = [])),
    responses(
        (status = 200, description = "The caller and their rooms", body = ChatListAnswer),
        (status = 401, description = "\"Unauthorized request\": no token, or a bad one", body = Failure),
        (status = 404, description = "\"no chat room currently\"", body = Failure),
        (status = 429, description = "Over the address's request budget (`Retry-After`)", body = Failure,
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
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
#[utoipa::path(
    post, path = "/api/v1/chat/ChatQuery/{room}", tag = "chat",
    security(("bearer" = []), ("tokenQuery" = []), ("accessCookie" = [])),
    params(("room" = String, Path, description = "The room's name (any case)")),
    responses(
        (status = 200, description = "\"user joined chat\" (joining twice is no error)", body = RoomAnswer),
        (status = 401, description = "\"Unauthorized request\": no token, or a bad one", body = Failure),
        (status = 404, description = "No such room", body = Failure),
        (status = 429, description = "Over the address's request budget (`Retry-After`)", body = Failure,
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
pub async fn join(
    State(ctx): State<Arc<Ctx>>,
    Caller(user): Caller,
    RoomName(name): RoomName,
) -> Result<Response, ApiError> {
    let room = rooms::join(&ctx.core, user.id, &name).await?;
    Ok(ok(RoomOut::of(&room), "user joined chat"))
}

/// PUT `ChatQuery/{room}`: leaves the room (leaving one is not in is no error).
#[utoipa::path(
    put, path = "/api/v1/chat/ChatQuery/{room}", tag = "chat",
    security(("bearer" = []), ("tokenQuery" = []), ("accessCookie" = [])),
    params(("room" = String, Path, description = "The room's name (any case)")),
    responses(
        (status = 200, description = "\"user removed\" (leaving a room one is not in is no error)", body = RoomAnswer),
        (status = 401, description = "\"Unauthorized request\": no token, or a bad one", body = Failure),
        (status = 404, description = "No such room", body = Failure),
        (status = 429, description = "Over the address's request budget (`Retry-After`)", body = Failure,
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
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
#[utoipa::path(
    get, path = "/api/v1/chat/ChatQuery/{room}", tag = "chat",
    security(("bearer" = []), ("tokenQuery" = []), ("accessCookie" = [])),
    params(
        ("room" = String, Path, description = "The room's name (any case)"),
        ("after" = Option<String>, Query, description = "Newer than this `MessageId`"),
        ("before" = Option<String>, Query, description = "Older than this `MessageId`"),
        ("limit" = Option<u64>, Query, description = "At most `HISTORY_PAGE` (its default)"),
    ),
    responses(
        (status = 200, description = "The room with its users; members also get its history (`messages`)", body = RoomUsersAnswer),
        (status = 400, description = "A bad cursor or limit", body = Failure),
        (status = 401, description = "\"Unauthorized request\": no token, or a bad one", body = Failure),
        (status = 404, description = "No such room", body = Failure),
        (status = 409, description = "A non-member asked for a history page", body = Failure),
        (status = 429, description = "Over the address's request budget (`Retry-After`)", body = Failure,
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
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
#[utoipa::path(
    post, path = "/api/v1/chat/connectChat/{room}", tag = "chat",
    security(("bearer" = []), ("tokenQuery" = []), ("accessCookie" = [])),
    params(("room" = String, Path, description = "The room's name (any case)")),
    responses(
        (status = 200, description = "\"Token create succesfuly\": the chat token, also set as the `UserChatToken` cookie", body = ConnectAnswer,
            headers(("Set-Cookie" = String, description = "`UserChatToken` (httpOnly)"))),
        (status = 401, description = "\"Unauthorized request\": no token, or a bad one", body = Failure),
        (status = 404, description = "No such room", body = Failure),
        (status = 409, description = "\"user don't have access to chat\": not a member", body = Failure),
        (status = 429, description = "Over the address's request budget (`Retry-After`)", body = Failure,
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
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

// The same routes for a room named `College/Branch` (two path segments).

#[utoipa::path(
    post, path = "/api/v1/chat/ChatQuery/{college}/{branch}", tag = "chat",
    security(("bearer" = []), ("tokenQuery" = []), ("accessCookie" = [])),
    params(("college" = String, Path, description = "First part of the room name `College/Branch`"),
        ("branch" = String, Path, description = "Second part of the room name")),
    responses(
        (status = 200, description = "\"user joined chat\" (joining twice is no error)", body = RoomAnswer),
        (status = 401, description = "\"Unauthorized request\": no token, or a bad one", body = Failure),
        (status = 404, description = "No such room", body = Failure),
        (status = 429, description = "Over the address's request budget (`Retry-After`)", body = Failure,
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
pub async fn join_branch(
    ctx: State<Arc<Ctx>>,
    caller: Caller,
    name: RoomName,
) -> Result<Response, ApiError> {
    join(ctx, caller, name).await
}

#[utoipa::path(
    put, path = "/api/v1/chat/ChatQuery/{college}/{branch}", tag = "chat",
    security(("bearer" = []), ("tokenQuery" = []), ("accessCookie" = [])),
    params(("college" = String, Path, description = "First part of the room name `College/Branch`"),
        ("branch" = String, Path, description = "Second part of the room name")),
    responses(
        (status = 200, description = "\"user removed\" (leaving a room one is not in is no error)", body = RoomAnswer),
        (status = 401, description = "\"Unauthorized request\": no token, or a bad one", body = Failure),
        (status = 404, description = "No such room", body = Failure),
        (status = 429, description = "Over the address's request budget (`Retry-After`)", body = Failure,
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
pub async fn leave_branch(
    ctx: State<Arc<Ctx>>,
    caller: Caller,
    name: RoomName,
) -> Result<Response, ApiError> {
    leave(ctx, caller, name).await
}

#[utoipa::path(
    get, path = "/api/v1/chat/ChatQuery/{college}/{branch}", tag = "chat",
    security(("bearer" = []), ("tokenQuery" = []), ("accessCookie" = [])),
    params(
        ("college" = String, Path, description = "First part of the room name `College/Branch`"),
        ("branch" = String, Path, description = "Second part of the room name"),
        ("after" = Option<String>, Query, description = "Newer than this `MessageId`"),
        ("before" = Option<String>, Query, description = "Older than this `MessageId`"),
        ("limit" = Option<u64>, Query, description = "At most `HISTORY_PAGE` (its default)"),
    ),
    responses(
        (status = 200, description = "The room with its users; members also get its history (`messages`)", body = RoomUsersAnswer),
        (status = 400, description = "A bad cursor or limit", body = Failure),
        (status = 401, description = "\"Unauthorized request\": no token, or a bad one", body = Failure),
        (status = 404, description = "No such room", body = Failure),
        (status = 409, description = "A non-member asked for a history page", body = Failure),
        (status = 429, description = "Over the address's request budget (`Retry-After`)", body = Failure,
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
pub async fn users_branch(
    ctx: State<Arc<Ctx>>,
    caller: Caller,
    name: RoomName,
    query: RawQuery,
) -> Result<Response, ApiError> {
    users(ctx, caller, name, query).await
}

#[utoipa::path(
    post, path = "/api/v1/chat/connectChat/{college}/{branch}", tag = "chat",
    security(("bearer" = []), ("tokenQuery" = []), ("accessCookie" = [])),
    params(("college" = String, Path, description = "First part of the room name `College/Branch`"),
        ("branch" = String, Path, description = "Second part of the room name")),
    responses(
        (status = 200, description = "\"Token create succesfuly\": the chat token, also set as the `UserChatToken` cookie", body = ConnectAnswer,
            headers(("Set-Cookie" = String, description = "`UserChatToken` (httpOnly)"))),
        (status = 401, description = "\"Unauthorized request\": no token, or a bad one", body = Failure),
        (status = 404, description = "No such room", body = Failure),
        (status = 409, description = "\"user don't have access to chat\": not a member", body = Failure),
        (status = 429, description = "Over the address's request budget (`Retry-After`)", body = Failure,
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
pub async fn connect_branch(
    ctx: State<Arc<Ctx>>,
    caller: Caller,
    name: RoomName,
) -> Result<Response, ApiError> {
    connect(ctx, caller, name).await
}
