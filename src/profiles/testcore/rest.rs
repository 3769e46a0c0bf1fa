//! testcore's chat routes under `/api/v1/chat`. Every route needs a signed-in
//! user of the shared (organization-less) space: `Authorization: Bearer` or the
//! `accessToken` cookie; any failure is 401. Room names are matched
//! case-insensitively; `/{College}/{Branch}` names the room `College/Branch`.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Path, State, rejection::JsonRejection},
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use axum_extra::extract::cookie::CookieJar;
use entity::users;
use serde_json::{Value, json};

use super::{Ctx, wire::*};
use crate::core::{
    Error, conversations::rooms::named as rooms, identity::accounts, identity::auth,
};
use crate::profiles::kit::request_token;

pub fn router() -> Router<Arc<Ctx>> {
    Router::new()
        .route("/api/v1/chat/createChat", post(create_chat))
        .route("/api/v1/chat/getChat", get(get_chats))
        .route(
            "/api/v1/chat/ChatQuery/{room}",
            post(join).put(leave).get(room_users),
        )
        .route(
            "/api/v1/chat/ChatQuery/{college}/{branch}",
            post(join2).put(leave2).get(room_users2),
        )
        .route("/api/v1/chat/connectChat/{room}", post(connect))
        .route(
            "/api/v1/chat/connectChat/{college}/{branch}",
            post(connect2),
        )
}

/// The access token of a request: Bearer (or `?token=`), else the `accessToken`
/// cookie.
pub fn access_token(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    request_token(headers, uri).or_else(|| {
        CookieJar::from_headers(headers)
            .get("accessToken")
            .map(|c| c.value().to_owned())
            .filter(|t| !t.is_empty())
    })
}

/// The signed-in user of the shared space, or the 401 envelope.
pub async fn caller(ctx: &Ctx, headers: &HeaderMap, uri: &Uri) -> Result<users::Model, Response> {
    let unauthorized = |why: &str| {
        super::count_error("AUTH_REQUIRED", why, 0);
        fail(StatusCode::UNAUTHORIZED, "Unauthorized request")
    };
    let token = access_token(headers, uri).ok_or_else(|| unauthorized("no token"))?;
    let id = auth::verify_access(&ctx.core, &token).map_err(|_| unauthorized("bad token"))?;
    match accounts::get(&ctx.core, id).await {
        Ok(u) if u.organization_id.is_none() => Ok(u),
        Ok(_) => Err(unauthorized("organization account")),
        Err(Error::NotFound(_)) => Err(unauthorized("user gone")),
        Err(e) => Err(error(&e)),
    }
}

/// A JSON body, or `InvalidData` (answered as the 400 envelope).
pub fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, Error> {
    b.map(|Json(t)| t)
        .map_err(|_| Error::invalid("Invalid JSON body"))
}

fn answer<T>(r: Result<T, Error>, f: impl FnOnce(T) -> Response) -> Response {
    match r {
        Ok(t) => f(t),
        Err(e) => {
            super::count_error(e.code(), &e.to_string(), 0);
            error(&e)
        }
    }
}

async fn create_chat(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    uri: Uri,
    b: Result<Json<CreateChatBody>, JsonRejection>,
) -> Response {
    let user = match caller(&ctx, &headers, &uri).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let b = match body(b) {
        Ok(b) => b,
        Err(e) => return error(&e),
    };
    let Some(name) = b.room_name.filter(|n| !n.trim().is_empty()) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "group name or Admin id is not provided",
        );
    };
    answer(rooms::create(&ctx.core, &user, &name).await, |r| {
        ok(room_json(&r), "chat room created")
    })
}

async fn get_chats(State(ctx): State<Arc<Ctx>>, headers: HeaderMap, uri: Uri) -> Response {
    let user = match caller(&ctx, &headers, &uri).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    answer(rooms::of_user(&ctx.core, user.id).await, |list| {
        if list.is_empty() {
            return fail(StatusCode::NOT_FOUND, "no chat room currently");
        }
        let chat_data: Vec<Value> = list
            .iter()
            .map(|r| json!({"_id": id(r.id), "roomName": r.name}))
            .collect();
        let data =
            json!([{"_id": id(user.id), "profile": self_json(&user), "chatData": chat_data}]);
        ok(data, "chat rooms found")
    })
}

fn two(college: &str, branch: &str) -> String {
    format!("{college}/{branch}")
}

async fn join_room(ctx: &Ctx, headers: &HeaderMap, uri: &Uri, name: &str) -> Response {
    let user = match caller(ctx, headers, uri).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    answer(rooms::join(&ctx.core, user.id, name).await, |r| {
        ok(room_json(&r), "user joined chat")
    })
}

async fn leave_room(ctx: &Ctx, headers: &HeaderMap, uri: &Uri, name: &str) -> Response {
    let user = match caller(ctx, headers, uri).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    answer(rooms::leave(&ctx.core, user.id, name).await, |r| {
        ok(room_json(&r), "user removed")
    })
}

/// The room with its users; members also get its latest messages (`messages`,
/// oldest first): the room's history.
async fn users_of(ctx: &Ctx, headers: &HeaderMap, uri: &Uri, name: &str) -> Response {
    let user = match caller(ctx, headers, uri).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let found = async {
        let room = rooms::find(&ctx.core, name).await?;
        let members = rooms::members(&ctx.core, room.id).await?;
        let history = if members.iter().any(|m| m.id == user.id) {
            Some(rooms::history(&ctx.core, &room).await?)
        } else {
            None
        };
        Ok((room, members, history))
    }
    .await;
    answer(found, |(room, members, history)| {
        let mut entry = json!({
            "_id": id(room.id),
            "roomName": room.name,
            "AdminId": room.admin_id.map(id),
            "ChatUsers": members.iter().map(member_json).collect::<Vec<_>>(),
            "UserCount": members.len(),
        });
        if let Some(h) = history {
            entry["messages"] = h.iter().map(history_json).collect();
        }
        ok(json!([entry]), "Total user")
    })
}

/// Checks membership and sets the `UserChatToken` cookie, a token that admits the
/// user to this room's WebSocket only; the token is also in `data.token` for
/// clients that pass it as `?token=`.
async fn connect_room(ctx: &Ctx, headers: &HeaderMap, uri: &Uri, name: &str) -> Response {
    let user = match caller(ctx, headers, uri).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let granted = async {
        let room = rooms::find(&ctx.core, name).await?;
        if !rooms::is_member(&ctx.core, room.id, user.id).await? {
            return Err(Error::Conflict("user don't have access to chat"));
        }
        let token = auth::issue_chat(&ctx.core, user.id, room.id)?;
        Ok((room, token))
    }
    .await;
    answer(granted, |(room, token)| {
        let cookie = crate::profiles::kit::auth_cookie(
            "UserChatToken",
            token.clone(),
            ctx.core.keys.access_ttl,
            ctx.cookie_secure,
        );
        let mut data = room_json(&room);
        data["token"] = json!(token);
        (
            CookieJar::new().add(cookie),
            ok(data, "Token create succesfuly"),
        )
            .into_response()
    })
}

// One thin handler per route form; the two-segment form names `College/Branch`.

async fn join(State(c): State<Arc<Ctx>>, h: HeaderMap, u: Uri, Path(r): Path<String>) -> Response {
    join_room(&c, &h, &u, &r).await
}

async fn join2(
    State(c): State<Arc<Ctx>>,
    h: HeaderMap,
    u: Uri,
    Path((a, b)): Path<(String, String)>,
) -> Response {
    join_room(&c, &h, &u, &two(&a, &b)).await
}

async fn leave(State(c): State<Arc<Ctx>>, h: HeaderMap, u: Uri, Path(r): Path<String>) -> Response {
    leave_room(&c, &h, &u, &r).await
}

async fn leave2(
    State(c): State<Arc<Ctx>>,
    h: HeaderMap,
    u: Uri,
    Path((a, b)): Path<(String, String)>,
) -> Response {
    leave_room(&c, &h, &u, &two(&a, &b)).await
}

async fn room_users(
    State(c): State<Arc<Ctx>>,
    h: HeaderMap,
    u: Uri,
    Path(r): Path<String>,
) -> Response {
    users_of(&c, &h, &u, &r).await
}

async fn room_users2(
    State(c): State<Arc<Ctx>>,
    h: HeaderMap,
    u: Uri,
    Path((a, b)): Path<(String, String)>,
) -> Response {
    users_of(&c, &h, &u, &two(&a, &b)).await
}

async fn connect(
    State(c): State<Arc<Ctx>>,
    h: HeaderMap,
    u: Uri,
    Path(r): Path<String>,
) -> Response {
    connect_room(&c, &h, &u, &r).await
}

async fn connect2(
    State(c): State<Arc<Ctx>>,
    h: HeaderMap,
    u: Uri,
    Path((a, b)): Path<(String, String)>,
) -> Response {
    connect_room(&c, &h, &u, &two(&a, &b)).await
}
