//! orgchat's REST routes. Answers are bare JSON; errors are `{message}` with the
//! status of the core error (400, 401, 403, 404, 409, 429 with `Retry-After`,
//! 500), mapped in `error.rs`. `GET /api/chat/:roomId/messages` is chatwire's
//! (the original had no history call; issue 14).

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Json, Router,
    extract::{
        ConnectInfo, Path, RawQuery, State,
        rejection::{JsonRejection, PathRejection},
    },
    http::{HeaderMap, StatusCode, Uri},
    routing::{get, post},
};

use super::{
    Ctx, SPACE,
    error::{ApiError, BAD_TOKEN, NO_TOKEN, Result},
    wire::*,
};
use crate::core::{
    Error,
    conversations::rooms::org as rooms,
    identity::accounts,
    identity::auth,
    identity::organizations::{self, Member, Registration, Role},
    messages::page_limit,
};
use crate::profiles::kit::{Id, PageAsk, numeric_id, present, request_token};

/// Messages a room history answers when the client names no `limit`.
const HISTORY_DEFAULT: u64 = 50;

pub fn router() -> Router<Arc<Ctx>> {
    Router::new()
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route("/api/auth/refresh-token", post(refresh))
        .route("/api/chat", post(create_room).get(list_rooms))
        .route("/api/chat/{room_id}/messages", get(room_messages))
}

/// A JSON body, or the profile's own 400 for one that is not JSON (413 for
/// one over the size limit).
fn body<T>(b: std::result::Result<Json<T>, JsonRejection>) -> Result<T> {
    b.map(|Json(t)| t).map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::invalid("Invalid JSON body")
        }
    })
}

/// A password is taken as sent (no trimming), but must not be empty.
fn password(p: &Option<String>) -> Option<&str> {
    p.as_deref().filter(|p| !p.is_empty())
}

/// The caller of a protected route: a valid access token of an organization
/// member, within their request budget.
async fn caller(ctx: &Ctx, headers: &HeaderMap, uri: &Uri) -> Result<Member> {
    let token = request_token(headers, uri).ok_or(ApiError::Unauthorized(NO_TOKEN))?;
    // A token of the shared space is as bad as a forged one.
    let member = organizations::member_of_token(&ctx.core, &token)
        .await
        .map_err(|e| match e {
            Error::AuthRequired => ApiError::Unauthorized(BAD_TOKEN),
            other => other.into(),
        })?;
    ctx.limiter.take(&member.id()).await?;
    Ok(member)
}

async fn register(
    State(ctx): State<Arc<Ctx>>,
    b: std::result::Result<Json<RegisterBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Registered>)> {
    let b = body(b)?;
    let (Some(username), Some(email), Some(password), Some(org)) = (
        present(&b.username),
        present(&b.email),
        password(&b.password),
        present(&b.organization_name),
    ) else {
        return Err(ApiError::invalid(
            "username, email, password and organizationName are required",
        ));
    };
    let role = Role::parse(present(&b.role).unwrap_or("user"))
        .ok_or_else(|| ApiError::invalid("role must be one of admin, moderator, user"))?;
    let reg = Registration {
        username: username.to_owned(),
        email: email.to_owned(),
        password: password.to_owned(),
        organization_name: org.to_owned(),
        role,
    };
    let (user, _) = organizations::register(&ctx.core, reg, ctx.open_roles).await?;
    let answer = Registered {
        message: "User registered successfully",
        user: UserOut::from(&user),
    };
    Ok((StatusCode::CREATED, Json(answer)))
}

async fn login(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    b: std::result::Result<Json<LoginBody>, JsonRejection>,
) -> Result<Json<Tokens>> {
    accounts::throttle_address(&ctx.core, peer.ip()).await?;
    let b = body(b)?;
    let (Some(email), Some(password)) = (present(&b.email), password(&b.password)) else {
        return Err(ApiError::invalid("email and password are required"));
    };
    let member = organizations::login(&ctx.core, email, password).await?;
    let s = auth::issue_session(&ctx.core, &member.user).await?;
    Ok(Json(Tokens {
        access_token: s.access_token,
        refresh_token: s.refresh_token,
        user: Some(UserOut::from(&member.user)),
    }))
}

async fn refresh(
    State(ctx): State<Arc<Ctx>>,
    b: std::result::Result<Json<RefreshBody>, JsonRejection>,
) -> Result<Json<Tokens>> {
    let b = body(b)?;
    let token =
        present(&b.refresh_token).ok_or_else(|| ApiError::invalid("refreshToken is required"))?;
    // Rotation: the presented token is spent; presenting it again revokes the
    // whole family (every token refreshed from the same login). A refresh token
    // of the shared space is refused unspent.
    let s = auth::rotate(&ctx.core, SPACE, token)
        .await
        .map_err(|e| match e {
            Error::AuthRequired => ApiError::BadRefreshToken,
            other => other.into(),
        })?;
    Ok(Json(Tokens {
        access_token: s.access_token,
        refresh_token: s.refresh_token,
        user: None,
    }))
}

/// `page` and `pageSize` of the list: absent or empty means the default (1, 10);
/// anything but a positive integer is a 400; a page size above the maximum is
/// served as the maximum.
fn paging(query: Option<&str>, max_page_size: u64) -> Result<(u64, u64), Error> {
    let mut page = 1;
    let mut size = 10u64.min(max_page_size);
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let slot = match k.as_ref() {
            "page" => &mut page,
            "pageSize" => &mut size,
            _ => continue,
        };
        if v.trim().is_empty() {
            continue;
        }
        match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => *slot = n,
            _ => return Err(Error::invalid(format!("{k} must be a positive integer"))),
        }
    }
    Ok((page, size.min(max_page_size)))
}

async fn list_rooms(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Json<RoomPage>> {
    let member = caller(&ctx, &headers, &uri).await?;
    let (page, size) = paging(query.as_deref(), ctx.max_page_size)?;
    let (total, rows) = rooms::page(&ctx.core, member.organization_id, page, size).await?;
    Ok(Json(RoomPage {
        total,
        pages: total.div_ceil(size),
        current_page: page,
        data: rows.iter().map(RoomOut::from).collect(),
    }))
}

/// `GET /api/chat/:roomId/messages?after=&before=&limit=`: a page of a room of
/// the caller's organization (any other room is 404), oldest first, as
/// `newMessage` rows with their content decrypted. `after` / `before` are message
/// ids and `limit` at most `HISTORY_PAGE` (default 50), the rule of every
/// profile's history; it counts against the `/api/chat` budget.
async fn room_messages(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    uri: Uri,
    room_id: std::result::Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<MessagePage>> {
    let member = caller(&ctx, &headers, &uri).await?;
    let page = PageAsk::from_query(query.as_deref());
    let cursor = page.cursor(numeric_id)?;
    let default = HISTORY_DEFAULT.min(ctx.core.limits.history_page);
    let limit = page_limit(&ctx.core, page.limit()?, default)?;
    let room_id = room_id.map_or(Id(None), |Path(id)| Id::parse(&id));
    // One more than asked tells whether there are more in the page's direction;
    // the page is newest first, so the extra one is at the far end of it.
    let mut rows =
        rooms::history(&ctx.core, &member, room_id.get("room")?, cursor, limit + 1).await?;
    let has_more = rows.len() as u64 > limit;
    if has_more {
        if cursor.forward() {
            rows.remove(0);
        } else {
            rows.pop();
        }
    }
    Ok(Json(MessagePage {
        data: rows.iter().rev().map(MessageRow::from).collect(),
        has_more,
    }))
}

async fn create_room(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    uri: Uri,
    b: std::result::Result<Json<CreateRoomBody>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedRoom>)> {
    let member = caller(&ctx, &headers, &uri).await?;
    let b = body(b)?;
    let name = present(&b.name).ok_or_else(|| ApiError::invalid("name is required"))?;
    let invitees = b
        .invited_users
        .iter()
        .map(|u| u.get("user"))
        .collect::<Result<Vec<_>, _>>()?;
    let room = rooms::create(&ctx.core, &member, name, &invitees, None).await?;
    Ok((StatusCode::CREATED, Json(CreatedRoom::from(&room))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_defaults_bounds_and_refusals() {
        assert_eq!(paging(None, 100).ok(), Some((1, 10)));
        assert_eq!(paging(Some("page=&pageSize="), 100).ok(), Some((1, 10)));
        assert_eq!(
            paging(Some("page=3&pageSize=500"), 100).ok(),
            Some((3, 100))
        );
        assert!(paging(Some("page=0"), 100).is_err());
        assert!(paging(Some("pageSize=-1"), 100).is_err());
        assert!(paging(Some("page=x"), 100).is_err());
    }
}
