//! chatsphere's room and message routes. Client tokens reach every room of the
//! shared space; user tokens reach the rooms they are members of (and see a
//! public room's details). Answers are bare JSON, refusals `{error}` (error.rs).

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::StatusCode,
};
use entity::conversations;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    Ctx,
    caller::Call,
    error::{ApiError, NO_ACCESS},
    wire::*,
};
use crate::core::{Error, conversations::rooms::shared as rooms, messages::page_limit};
use crate::profiles::api_docs::{self, Scheme};
use crate::profiles::kit::{Id, PageAsk, numeric_id, present};

/// The document's frame: the refusal envelope and the API token's ways in; the
/// paths come from the handlers' `#[utoipa::path]` (here and in `accounts.rs`).
#[derive(OpenApi)]
#[openapi(
    components(schemas(ErrorBody)),
    tags(
        (name = "rooms", description = "Rooms of the shared space and their messages"),
        (name = "messages", description = "Messages across rooms"),
        (name = "accounts", description = "Health, profile and users"),
        (name = "tokens", description = "API tokens: client tokens reach every room, user tokens their own"),
    )
)]
struct ApiDoc;

/// The document of the REST routes (`router()` and `accounts::router()` fill
/// in the paths).
pub fn api_doc() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    api_docs::describe(
        &mut doc,
        "chatsphere",
        "REST of the chatsphere frontend. Every route but `/api/health` needs an API token \
         (a JWT issued by `/api/tokens/*` or `chatwire token create`), checked against its \
         record on every request: `Authorization: Bearer`, `?token=`, the body's `token` \
         field, or the `user_api_token` cookie, in that order. Answers are bare JSON, \
         refusals `{error}` with the status. The WebSocket is on any other path.",
    );
    api_docs::secure(
        &mut doc,
        &[
            ("bearer", Scheme::Bearer("An API token (client or user)")),
            (
                "tokenQuery",
                Scheme::Query("token", "An API token as a query parameter"),
            ),
            (
                "tokenCookie",
                Scheme::Cookie(
                    "user_api_token",
                    "A user token in the cookie the original UI keeps it in",
                ),
            ),
        ],
    );
    doc
}

/// The room and message routes, each documented by its `#[utoipa::path]`.
pub fn router() -> OpenApiRouter<Arc<Ctx>> {
    OpenApiRouter::with_openapi(api_doc())
        .routes(routes!(list_rooms, create_room))
        .routes(routes!(get_room, delete_room))
        .routes(routes!(add_user))
        .routes(routes!(room_messages, post_message))
        .routes(routes!(all_messages))
        .routes(routes!(my_messages))
        .routes(routes!(user_messages))
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

/// Client tokens: every room; user tokens: the rooms they are members of.
#[utoipa::path(
    get, path = "/api/rooms", tag = "rooms",
    security(("bearer" = []), ("tokenQuery" = []), ("tokenCookie" = [])),
    responses(
        (status = 200, description = "Rooms with their counts", body = Vec<RoomOut>),
        (status = 401, description = "No token, or one that is invalid, expired or revoked", body = ErrorBody),
    )
)]
async fn list_rooms(State(ctx): State<Arc<Ctx>>, call: Call) -> Answer<Vec<RoomOut>> {
    let member = (!call.is_client()).then(|| call.user_id());
    let list = rooms::list(&ctx.core, member).await?;
    Ok(Json(list.iter().map(RoomOut::from).collect()))
}

#[utoipa::path(
    post, path = "/api/rooms", tag = "rooms",
    security(("bearer" = []), ("tokenQuery" = []), ("tokenCookie" = [])),
    request_body = CreateRoomBody,
    responses(
        (status = 201, description = "Created; the creator is its first member", body = RoomOut),
        (status = 400, description = "Not JSON, or no name", body = ErrorBody),
        (status = 401, description = "No token, or one that is invalid, expired or revoked", body = ErrorBody),
        (status = 403, description = "A user token naming another `userId`", body = ErrorBody),
        (status = 404, description = "`userId` names no user", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    )
)]
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

/// A room with its members; a private one only to members and client tokens.
#[utoipa::path(
    get, path = "/api/rooms/{id}", tag = "rooms",
    security(("bearer" = []), ("tokenQuery" = []), ("tokenCookie" = [])),
    params(("id" = String, Path, description = "The room's id")),
    responses(
        (status = 200, description = "The room and its users", body = RoomDetail),
        (status = 401, description = "No token, or one that is invalid, expired or revoked", body = ErrorBody),
        (status = 403, description = "A private room the caller is not in", body = ErrorBody),
        (status = 404, description = "No such room", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    delete, path = "/api/rooms/{id}", tag = "rooms",
    security(("bearer" = []), ("tokenQuery" = []), ("tokenCookie" = [])),
    params(("id" = String, Path, description = "The room's id")),
    responses(
        (status = 200, description = "Deleted", body = Done),
        (status = 401, description = "No token, or one that is invalid, expired or revoked", body = ErrorBody),
        (status = 403, description = "Neither a client token nor the room's creator", body = ErrorBody),
        (status = 404, description = "No such room", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    post, path = "/api/rooms/{id}/users", tag = "rooms",
    security(("bearer" = []), ("tokenQuery" = []), ("tokenCookie" = [])),
    params(("id" = String, Path, description = "The room's id")),
    request_body = UserIdBody,
    responses(
        (status = 200, description = "Added (adding a member again is no error)", body = Done),
        (status = 400, description = "Not JSON, or no `userId`", body = ErrorBody),
        (status = 401, description = "No token, or one that is invalid, expired or revoked", body = ErrorBody),
        (status = 403, description = "A room the caller is not in", body = ErrorBody),
        (status = 404, description = "No such room or user", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    get, path = "/api/rooms/{id}/messages", tag = "rooms",
    security(("bearer" = []), ("tokenQuery" = []), ("tokenCookie" = [])),
    params(
        ("id" = String, Path, description = "The room's id"),
        ("after" = Option<String>, Query, description = "Newer than this message id"),
        ("before" = Option<String>, Query, description = "Older than this message id"),
        ("limit" = Option<u64>, Query, description = "At most `HISTORY_PAGE` (its default)"),
    ),
    responses(
        (status = 200, description = "Messages, oldest first", body = Vec<Message>),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
        (status = 401, description = "No token, or one that is invalid, expired or revoked", body = ErrorBody),
        (status = 403, description = "A room the caller is not in", body = ErrorBody),
        (status = 404, description = "No such room", body = ErrorBody),
    )
)]
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

/// Sends a message to the room (its WebSocket connections get `new_message`).
#[utoipa::path(
    post, path = "/api/rooms/{id}/messages", tag = "rooms",
    security(("bearer" = []), ("tokenQuery" = []), ("tokenCookie" = [])),
    params(("id" = String, Path, description = "The room's id")),
    request_body = ContentBody,
    responses(
        (status = 201, description = "Sent", body = Message),
        (status = 400, description = "Not JSON, or no content", body = ErrorBody),
        (status = 401, description = "No token, or one that is invalid, expired or revoked", body = ErrorBody),
        (status = 403, description = "A room the caller is not in", body = ErrorBody),
        (status = 404, description = "No such room", body = ErrorBody),
        (status = 429, description = "The message budget is spent (`Retry-After`)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
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

/// The newest messages of every room (client tokens only).
#[utoipa::path(
    get, path = "/api/messages", tag = "messages",
    security(("bearer" = []), ("tokenQuery" = []), ("tokenCookie" = [])),
    responses(
        (status = 200, description = "Messages", body = Vec<Message>),
        (status = 401, description = "No token, or one that is invalid, expired or revoked", body = ErrorBody),
        (status = 403, description = "Not a client token", body = ErrorBody),
    )
)]
async fn all_messages(State(ctx): State<Arc<Ctx>>, call: Call) -> Answer<Vec<Message>> {
    if !call.is_client() {
        return Err(Error::PermissionDenied("Only client tokens can access all messages").into());
    }
    let ms = rooms::messages(&ctx.core, None, ctx.history_page).await?;
    Ok(Json(messages(&ms)))
}

/// The caller's own newest messages.
#[utoipa::path(
    get, path = "/api/messages/user", tag = "messages",
    security(("bearer" = []), ("tokenQuery" = []), ("tokenCookie" = [])),
    responses(
        (status = 200, description = "Messages", body = Vec<Message>),
        (status = 401, description = "No token, or one that is invalid, expired or revoked", body = ErrorBody),
    )
)]
async fn my_messages(State(ctx): State<Arc<Ctx>>, call: Call) -> Answer<Vec<Message>> {
    let ms = rooms::messages(&ctx.core, Some(call.user_id()), ctx.history_page).await?;
    Ok(Json(messages(&ms)))
}

/// A user's newest messages (a user token: only its own).
#[utoipa::path(
    get, path = "/api/users/{id}/messages", tag = "messages",
    security(("bearer" = []), ("tokenQuery" = []), ("tokenCookie" = [])),
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 200, description = "Messages", body = Vec<Message>),
        (status = 401, description = "No token, or one that is invalid, expired or revoked", body = ErrorBody),
        (status = 403, description = "A user token asking for another user's", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
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
