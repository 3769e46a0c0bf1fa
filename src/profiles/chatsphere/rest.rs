//! chatsphere's room and message routes. Client tokens reach every room of the
//! shared space; user tokens reach the rooms they are members of (and see a
//! public room's details). Answers are bare JSON, errors `{error}`.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use entity::conversations;
use serde_json::{Value, json};

use super::{
    Ctx,
    caller::{Call, error, fail, present},
    wire::*,
};
use crate::core::{Error, bus::MessageOut, conversations::rooms::shared as rooms};

pub fn router() -> Router<Arc<Ctx>> {
    Router::new()
        .route("/api/rooms", get(list_rooms).post(create_room))
        .route("/api/rooms/{id}", get(get_room).delete(delete_room))
        .route("/api/rooms/{id}/users", axum::routing::post(add_user))
        .route(
            "/api/rooms/{id}/messages",
            get(room_messages).post(post_message),
        )
        .route("/api/messages", get(all_messages))
        .route("/api/messages/user", get(my_messages))
        .route("/api/users/{id}/messages", get(user_messages))
}

pub const NO_ACCESS: &str = "You don't have access to this room";

fn messages_json(ms: &[MessageOut]) -> Value {
    Value::Array(ms.iter().map(message_json).collect())
}

fn respond(r: Result<Response, Response>) -> Response {
    r.unwrap_or_else(|e| e)
}

/// The room, if the caller may read and write in it: client tokens always, user
/// tokens when they are members. A room that does not exist is 404.
async fn accessible(ctx: &Ctx, call: &Call, id: &str) -> Result<conversations::Model, Response> {
    let room = find(ctx, id).await?;
    if call.is_client()
        || rooms::is_member(&ctx.core, room.id, call.user_id())
            .await
            .map_err(error)?
    {
        Ok(room)
    } else {
        Err(fail(StatusCode::FORBIDDEN, NO_ACCESS))
    }
}

async fn find(ctx: &Ctx, id: &str) -> Result<conversations::Model, Response> {
    let id = parse_id(id)
        .0
        .ok_or_else(|| error(Error::NotFound("room")))?;
    rooms::find(&ctx.core, id).await.map_err(error)
}

async fn info(ctx: &Ctx, room: conversations::Model) -> Result<rooms::RoomInfo, Response> {
    rooms::with_counts(&ctx.core, vec![room])
        .await
        .map_err(error)?
        .pop()
        .ok_or_else(|| error(Error::Internal))
}

async fn list_rooms(State(ctx): State<Arc<Ctx>>, call: Call) -> Response {
    let member = (!call.is_client()).then(|| call.user_id());
    match rooms::list(&ctx.core, member).await {
        Ok(list) => Json(Value::Array(list.iter().map(room_json).collect())).into_response(),
        Err(e) => error(e),
    }
}

async fn create_room(State(ctx): State<Arc<Ctx>>, call: Call) -> Response {
    respond(
        async {
            let b: CreateRoomBody = call.body()?;
            let Some(name) = present(&b.name) else {
                return Err(fail(
                    StatusCode::BAD_REQUEST,
                    "Name and userId are required",
                ));
            };
            // The creator: `userId` when given (a user token may only name itself),
            // else the token's user.
            let creator = match b.user_id {
                Some(Id(Some(id))) if id != call.user_id() => {
                    if !call.is_client() {
                        return Err(fail(
                            StatusCode::FORBIDDEN,
                            "userId does not match the authenticated user",
                        ));
                    }
                    rooms::user(&ctx.core, id).await.map_err(error)?
                }
                Some(Id(None)) => return Err(error(Error::NotFound("user"))),
                _ => call.who.user.clone(),
            };
            let desc = present(&b.description);
            let room = rooms::create(
                &ctx.core,
                &creator,
                name,
                desc,
                b.is_private.unwrap_or(false),
            )
            .await
            .map_err(error)?;
            let info = info(&ctx, room).await?;
            Ok((StatusCode::CREATED, Json(room_json(&info))).into_response())
        }
        .await,
    )
}

async fn get_room(State(ctx): State<Arc<Ctx>>, Path(id): Path<String>, call: Call) -> Response {
    respond(
        async {
            let room = find(&ctx, &id).await?;
            if room.is_private
                && !call.is_client()
                && !rooms::is_member(&ctx.core, room.id, call.user_id())
                    .await
                    .map_err(error)?
            {
                return Err(fail(StatusCode::FORBIDDEN, NO_ACCESS));
            }
            let members = rooms::members(&ctx.core, room.id).await.map_err(error)?;
            let mut v = room_json(&info(&ctx, room).await?);
            v["users"] = Value::Array(
                members
                    .iter()
                    .map(|u| json!({"id": u.id.to_string(), "username": rooms::username(u)}))
                    .collect(),
            );
            Ok(Json(v).into_response())
        }
        .await,
    )
}

async fn delete_room(State(ctx): State<Arc<Ctx>>, Path(id): Path<String>, call: Call) -> Response {
    respond(
        async {
            let room = find(&ctx, &id).await?;
            if !call.is_client() && room.admin_id != Some(call.user_id()) {
                return Err(fail(
                    StatusCode::FORBIDDEN,
                    "Only the room creator can delete this room",
                ));
            }
            rooms::delete(&ctx.core, room.id).await.map_err(error)?;
            for c in ctx.hub.in_room(room.id) {
                ctx.hub.leave(&c, room.id);
            }
            Ok(Json(json!({"message": "Room deleted successfully"})).into_response())
        }
        .await,
    )
}

async fn add_user(State(ctx): State<Arc<Ctx>>, Path(id): Path<String>, call: Call) -> Response {
    respond(
        async {
            let b: UserIdBody = call.body()?;
            let room = accessible(&ctx, &call, &id).await?;
            let user_id = match b.user_id {
                None => return Err(fail(StatusCode::BAD_REQUEST, "UserId is required")),
                Some(id) => id.0.ok_or_else(|| error(Error::NotFound("user")))?,
            };
            let user = rooms::user(&ctx.core, user_id).await.map_err(error)?;
            rooms::add_member(&ctx.core, room.id, user.id)
                .await
                .map_err(error)?;
            Ok(Json(json!({"message": "User added to room successfully"})).into_response())
        }
        .await,
    )
}

async fn room_messages(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    call: Call,
) -> Response {
    respond(
        async {
            let room = accessible(&ctx, &call, &id).await?;
            let ms = rooms::recent(&ctx.core, &room, ctx.history_page)
                .await
                .map_err(error)?;
            Ok(Json(messages_json(&ms)).into_response())
        }
        .await,
    )
}

async fn post_message(State(ctx): State<Arc<Ctx>>, Path(id): Path<String>, call: Call) -> Response {
    respond(
        async {
            let b: ContentBody = call.body()?;
            let room = accessible(&ctx, &call, &id).await?;
            let Some(content) = b.content.as_deref().filter(|c| !c.trim().is_empty()) else {
                return Err(fail(StatusCode::BAD_REQUEST, "Message content is required"));
            };
            // A client token writes as its own user, who becomes a member (a message
            // always has a member as its sender).
            if call.is_client() {
                rooms::add_member(&ctx.core, room.id, call.user_id())
                    .await
                    .map_err(error)?;
            }
            let m = rooms::send(&ctx.core, &call.who.user, &room, content, None)
                .await
                .map_err(error)?;
            Ok((StatusCode::CREATED, Json(message_json(&m))).into_response())
        }
        .await,
    )
}

async fn all_messages(State(ctx): State<Arc<Ctx>>, call: Call) -> Response {
    if !call.is_client() {
        return fail(
            StatusCode::FORBIDDEN,
            "Only client tokens can access all messages",
        );
    }
    match rooms::messages(&ctx.core, None, ctx.history_page).await {
        Ok(ms) => Json(messages_json(&ms)).into_response(),
        Err(e) => error(e),
    }
}

async fn my_messages(State(ctx): State<Arc<Ctx>>, call: Call) -> Response {
    match rooms::messages(&ctx.core, Some(call.user_id()), ctx.history_page).await {
        Ok(ms) => Json(messages_json(&ms)).into_response(),
        Err(e) => error(e),
    }
}

async fn user_messages(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    call: Call,
) -> Response {
    respond(
        async {
            let user_id = parse_id(&id)
                .0
                .ok_or_else(|| error(Error::NotFound("user")))?;
            if !call.is_client() && user_id != call.user_id() {
                return Err(fail(
                    StatusCode::FORBIDDEN,
                    "You can only read your own messages",
                ));
            }
            let user = rooms::user(&ctx.core, user_id).await.map_err(error)?;
            let ms = rooms::messages(&ctx.core, Some(user.id), ctx.history_page)
                .await
                .map_err(error)?;
            Ok(Json(messages_json(&ms)).into_response())
        }
        .await,
    )
}
