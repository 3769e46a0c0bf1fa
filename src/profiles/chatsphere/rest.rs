//! chatsphere's room and message routes. Client tokens reach every room of the
//! shared space; user tokens reach the rooms they are members of (and see a
//! public room's details). Answers are bare JSON, refusals `{error}` (error.rs).

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Path, RawQuery, State},
    http::StatusCode,
    routing::{get, post},
};
use entity::conversations;

use super::{
    Ctx,
    caller::Call,
    error::{ApiError, NO_ACCESS},
    wire::*,
};
use crate::core::{Error, conversations::rooms::shared as rooms, messages::page_limit};
use crate::profiles::kit::{Id, PageAsk, numeric_id, present};

pub fn router() -> Router<Arc<Ctx>> {
    Router::new()
        .route("/api/rooms", get(list_rooms).post(create_room))
        .route("/api/rooms/{id}", get(get_room).delete(delete_room))
        .route("/api/rooms/{id}/users", post(add_user))
        .route(
            "/api/rooms/{id}/messages",
            get(room_messages).post(post_message),
        )
        .route("/api/messages", get(all_messages))
        .route("/api/messages/user", get(my_messages))
        .route("/api/users/{id}/messages", get(user_messages))
}

type Answer<T> = Result<Json<T>, ApiError>;
type Created<T> = Result<(StatusCode, Json<T>), ApiError>;

/// The room a path names; one that does not exist (or a non-numeric id) is 404.
async fn find(ctx: &Ctx, id: &str) -> Result<conversations::Model, ApiError> {
    Ok(rooms::find(&ctx.core, Id::parse(id).get("room")?).await?)
}

/// The room, if the caller may read and write in it: client tokens always, user
/// tokens when they are members.
async fn accessible(ctx: &Ctx, call: &Call, id: &str) -> Result<conversations::Model, ApiError> {
    let room = find(ctx, id).await?;
    if call.is_client() || rooms::is_member(&ctx.core, room.id, call.user_id()).await? {
        Ok(room)
    } else {
        Err(Error::PermissionDenied(NO_ACCESS).into())
    }
}

/// A room with its message and member counts.
async fn counted(ctx: &Ctx, room: conversations::Model) -> Result<RoomOut, ApiError> {
    let info = rooms::with_counts(&ctx.core, vec![room])
        .await?
        .pop()
        .ok_or(Error::Internal)?;
    Ok(RoomOut::from(&info))
}

async fn list_rooms(State(ctx): State<Arc<Ctx>>, call: Call) -> Answer<Vec<RoomOut>> {
    let member = (!call.is_client()).then(|| call.user_id());
    let list = rooms::list(&ctx.core, member).await?;
    Ok(Json(list.iter().map(RoomOut::from).collect()))
}

async fn create_room(State(ctx): State<Arc<Ctx>>, call: Call) -> Created<RoomOut> {
    let b: CreateRoomBody = call.body()?;
    let name = present(&b.name).ok_or_else(|| Error::invalid("Name and userId are required"))?;
    // The creator: `userId` when given (a user token may only name itself), else
    // the token's user.
    let creator = match b.user_id {
        Some(Id(Some(id))) if id != call.user_id() => {
            if !call.is_client() {
                return Err(Error::PermissionDenied(
                    "userId does not match the authenticated user",
                )
                .into());
            }
            rooms::user(&ctx.core, id).await?
        }
        Some(Id(None)) => return Err(Error::NotFound("user").into()),
        _ => call.who.user.clone(),
    };
    let room = rooms::create(
        &ctx.core,
        &creator,
        name,
        present(&b.description),
        b.is_private.unwrap_or(false),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(counted(&ctx, room).await?)))
}

async fn get_room(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    call: Call,
) -> Answer<RoomDetail> {
    let room = find(&ctx, &id).await?;
    if room.is_private
        && !call.is_client()
        && !rooms::is_member(&ctx.core, room.id, call.user_id()).await?
    {
        return Err(Error::PermissionDenied(NO_ACCESS).into());
    }
    let members = rooms::members(&ctx.core, room.id).await?;
    Ok(Json(RoomDetail {
        room: counted(&ctx, room).await?,
        users: members.iter().map(MemberOut::from).collect(),
    }))
}

async fn delete_room(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    call: Call,
) -> Answer<Done> {
    let room = find(&ctx, &id).await?;
    if !call.is_client() && room.admin_id != Some(call.user_id()) {
        return Err(Error::PermissionDenied("Only the room creator can delete this room").into());
    }
    rooms::delete(&ctx.core, room.id).await?;
    // Live connections stop being in a room that no longer exists.
    for c in ctx.hub.in_room(room.id) {
        ctx.hub.leave(&c, room.id);
    }
    Ok(Json(Done {
        message: "Room deleted successfully",
    }))
}

async fn add_user(State(ctx): State<Arc<Ctx>>, Path(id): Path<String>, call: Call) -> Answer<Done> {
    let b: UserIdBody = call.body()?;
    let room = accessible(&ctx, &call, &id).await?;
    let user_id = b
        .user_id
        .ok_or_else(|| Error::invalid("UserId is required"))?
        .get("user")?;
    let user = rooms::user(&ctx.core, user_id).await?;
    rooms::add_member(&ctx.core, room.id, user.id).await?;
    Ok(Json(Done {
        message: "User added to room successfully",
    }))
}

/// `GET /api/rooms/:id/messages`: the newest `HISTORY_PAGE` messages, ascending;
/// with `?after=` / `?before=` (message ids) and `?limit=`, that page of the
/// room instead (an extension, issue 14), ascending too.
async fn room_messages(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    call: Call,
) -> Answer<Vec<Message>> {
    let page = PageAsk::from_query(query.as_deref());
    let cursor = page.cursor(numeric_id)?;
    let limit = page_limit(&ctx.core, page.limit()?, ctx.history_page)?;
    let room = accessible(&ctx, &call, &id).await?;
    let ms = rooms::history(&ctx.core, &room, cursor, limit).await?;
    Ok(Json(messages(&ms)))
}

async fn post_message(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    call: Call,
) -> Created<Message> {
    let b: ContentBody = call.body()?;
    let room = accessible(&ctx, &call, &id).await?;
    let content = b
        .content
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| Error::invalid("Message content is required"))?;
    // A client token writes as its own user, who becomes a member (a message
    // always has a member as its sender).
    if call.is_client() {
        rooms::add_member(&ctx.core, room.id, call.user_id()).await?;
    }
    let m = rooms::send(&ctx.core, &call.who.user, &room, content, None).await?;
    Ok((StatusCode::CREATED, Json(Message::from(&m))))
}

async fn all_messages(State(ctx): State<Arc<Ctx>>, call: Call) -> Answer<Vec<Message>> {
    if !call.is_client() {
        return Err(Error::PermissionDenied("Only client tokens can access all messages").into());
    }
    let ms = rooms::messages(&ctx.core, None, ctx.history_page).await?;
    Ok(Json(messages(&ms)))
}

async fn my_messages(State(ctx): State<Arc<Ctx>>, call: Call) -> Answer<Vec<Message>> {
    let ms = rooms::messages(&ctx.core, Some(call.user_id()), ctx.history_page).await?;
    Ok(Json(messages(&ms)))
}

async fn user_messages(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    call: Call,
) -> Answer<Vec<Message>> {
    let user_id = Id::parse(&id).get("user")?;
    if !call.is_client() && user_id != call.user_id() {
        return Err(Error::PermissionDenied("You can only read your own messages").into());
    }
    let user = rooms::user(&ctx.core, user_id).await?;
    let ms = rooms::messages(&ctx.core, Some(user.id), ctx.history_page).await?;
    Ok(Json(messages(&ms)))
}
