//! orgchat's REST routes. Answers are bare JSON; errors are `{message}` with the
//! status of the core error (400, 401, 403, 404, 409, 429 with `Retry-After`,
//! 500), mapped in `error.rs`. `GET /api/chat/:roomId/messages` is chatwire's
//! (the original had no history call; issue 14).

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Json,
    extract::{
        ConnectInfo, Path, RawQuery, State,
        rejection::{JsonRejection, PathRejection},
    },
    http::{HeaderMap, StatusCode, Uri},
};

use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

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
use crate::profiles::api_docs::{self, Scheme};
use crate::profiles::kit::{Id, PageAsk, numeric_id, present, request_token};

/// Messages a room history answers when the client names no `limit`.
const HISTORY_DEFAULT: u64 = 50;

/// The document's frame: the refusal envelope and the auth schemes; the paths
/// come from the handlers' `#[utoipa::path]`.
#[derive(OpenApi)]
#[openapi(
    components(schemas(ErrorBody)),
    tags(
        (name = "auth", description = "Organization accounts: registration, login, token refresh"),
        (name = "chat", description = "Rooms of the caller's organization (100 requests per user per minute by default)"),
    )
)]
struct ApiDoc;

/// The REST routes with their OpenAPI document (one list: each handler's
/// `#[utoipa::path]` names its method and path).
pub fn router() -> OpenApiRouter<Arc<Ctx>> {
    let mut doc = ApiDoc::openapi();
    api_docs::describe(
        &mut doc,
        "orgchat",
        "REST of the orgchat frontend: organizations, rooms and their history. Messages \
         travel on the raw WebSocket at `/` or on Socket.IO (namespace `/`), with the \
         access token as `?token=` or `auth.token`. Answers are bare JSON, refusals \
         `{message}` with the status.",
    );
    api_docs::secure(
        &mut doc,
        &[
            (
                "bearer",
                Scheme::Bearer("The `accessToken` of login or refresh"),
            ),
            (
                "tokenQuery",
                Scheme::Query("token", "The access token as a query parameter"),
            ),
        ],
    );
    OpenApiRouter::with_openapi(doc)
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(create_room, list_rooms))
        .routes(routes!(room_messages))
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

/// Registers a user into an organization (created when new; its first user is
/// its admin).
#[utoipa::path(
    post, path = "/api/auth/register", tag = "auth",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "Registered", body = Registered),
        (status = 400, description = "Not JSON, a missing field, or a bad role", body = ErrorBody),
        (status = 409, description = "The email or username is taken", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    post, path = "/api/auth/login", tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in: the tokens and the user", body = Tokens),
        (status = 400, description = "Not JSON, or no email or password", body = ErrorBody),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 429, description = "Too many attempts (`Retry-After`)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
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

/// Rotates a refresh token: the presented one is spent; presenting it again
/// revokes every token of its login.
#[utoipa::path(
    post, path = "/api/auth/refresh-token", tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "New tokens (without `user`)", body = Tokens),
        (status = 400, description = "Not JSON, or no `refreshToken`", body = ErrorBody),
        (status = 403, description = "Unknown, spent, revoked or expired refresh token", body = ErrorBody),
    )
)]
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

/// The rooms of the caller's organization, a page at a time.
#[utoipa::path(
    get, path = "/api/chat", tag = "chat",
    security(("bearer" = []), ("tokenQuery" = [])),
    params(
        ("page" = Option<u64>, Query, description = "From 1 (default 1)"),
        ("pageSize" = Option<u64>, Query, description = "Default 10, at most `ORGCHAT_MAX_PAGE_SIZE`"),
    ),
    responses(
        (status = 200, description = "One page", body = RoomPage),
        (status = 400, description = "`page` or `pageSize` not a positive integer", body = ErrorBody),
        (status = 401, description = "No token, or a bad one", body = ErrorBody),
        (status = 429, description = "Over the per-user budget (`Retry-After`)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
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
#[utoipa::path(
    get, path = "/api/chat/{room_id}/messages", tag = "chat",
    security(("bearer" = []), ("tokenQuery" = [])),
    params(
        ("room_id" = String, Path, description = "The room's id"),
        ("after" = Option<String>, Query, description = "Newer than this message id"),
        ("before" = Option<String>, Query, description = "Older than this message id"),
        ("limit" = Option<u64>, Query, description = "Default 50, at most `HISTORY_PAGE`"),
    ),
    responses(
        (status = 200, description = "A page, oldest first", body = MessagePage),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
        (status = 401, description = "No token, or a bad one", body = ErrorBody),
        (status = 404, description = "No such room in the caller's organization", body = ErrorBody),
        (status = 429, description = "Over the per-user budget (`Retry-After`)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
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

/// Creates a room of the caller's organization, with invited members.
#[utoipa::path(
    post, path = "/api/chat", tag = "chat",
    security(("bearer" = []), ("tokenQuery" = [])),
    request_body = CreateRoomBody,
    responses(
        (status = 201, description = "Created", body = CreatedRoom),
        (status = 400, description = "Not JSON, no name, or a bad invitee id", body = ErrorBody),
        (status = 401, description = "No token, or a bad one", body = ErrorBody),
        (status = 403, description = "The caller's role may not create rooms", body = ErrorBody),
        (status = 404, description = "An invitee is not in the organization", body = ErrorBody),
        (status = 429, description = "Over the per-user budget (`Retry-After`)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
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
