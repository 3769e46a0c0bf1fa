//! orgchat's REST routes. Answers are bare JSON; errors are `{message}` with the
//! status of the core error (400, 401, 403, 404, 409, 429 with `Retry-After`, 500).

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Json, Router,
    extract::{ConnectInfo, RawQuery, State, rejection::JsonRejection},
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::json;

use super::{Ctx, wire::*};
use crate::core::{
    Error,
    conversations::rooms::org as rooms,
    identity::accounts,
    identity::auth,
    identity::organizations::{self, Member, Registration, Role},
};
use crate::profiles::kit::request_token;

pub fn router() -> Router<Arc<Ctx>> {
    Router::new()
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route("/api/auth/refresh-token", post(refresh))
        .route("/api/chat", post(create_room).get(list_rooms))
}

fn fail(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"message": message.into()}))).into_response()
}

/// The one mapping from core errors to this profile's statuses.
fn error(e: Error) -> Response {
    let status = match &e {
        Error::AuthRequired | Error::InvalidCredentials => StatusCode::UNAUTHORIZED,
        Error::InvalidData(_) => StatusCode::BAD_REQUEST,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::PermissionDenied(_) => StatusCode::FORBIDDEN,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut r = fail(status, error_message(&e));
    if let Error::RateLimited { retry_after_secs } = e {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    }
    r
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A JSON body, or the profile's own 400 for one that is not JSON.
fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, Error> {
    b.map(|Json(t)| t)
        .map_err(|_| Error::invalid("Invalid JSON body"))
}

/// The caller of a protected route: a valid access token of an organization
/// member, within their request budget.
async fn caller(ctx: &Ctx, headers: &HeaderMap, uri: &Uri) -> Result<Member, Response> {
    let token = request_token(headers, uri)
        .ok_or_else(|| fail(StatusCode::UNAUTHORIZED, "Unauthorized: no token provided"))?;
    let invalid = || {
        fail(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: invalid or expired token",
        )
    };
    let user_id = auth::verify_access(&ctx.core, &token).map_err(|_| invalid())?;
    let member = organizations::member(&ctx.core, user_id)
        .await
        .map_err(|e| match e {
            Error::AuthRequired => invalid(),
            other => error(other),
        })?;
    ctx.limiter.check(&member.id()).map_err(error)?;
    Ok(member)
}

async fn register(
    State(ctx): State<Arc<Ctx>>,
    b: Result<Json<RegisterBody>, JsonRejection>,
) -> Response {
    let b = match body(b) {
        Ok(b) => b,
        Err(e) => return error(e),
    };
    let (Some(username), Some(email), Some(password), Some(org)) = (
        present(&b.username),
        present(&b.email),
        b.password.as_deref().filter(|p| !p.is_empty()),
        present(&b.organization_name),
    ) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "username, email, password and organizationName are required",
        );
    };
    let Some(role) = Role::parse(present(&b.role).unwrap_or("user")) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "role must be one of admin, moderator, user",
        );
    };
    let reg = Registration {
        username: username.to_owned(),
        email: email.to_owned(),
        password: password.to_owned(),
        organization_name: org.to_owned(),
        role,
    };
    match organizations::register(&ctx.core, reg, ctx.open_roles).await {
        Ok((user, _)) => (
            StatusCode::CREATED,
            Json(json!({"message": "User registered successfully", "user": user_json(&user)})),
        )
            .into_response(),
        Err(e) => error(e),
    }
}

async fn login(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    b: Result<Json<LoginBody>, JsonRejection>,
) -> Response {
    if let Err(e) = accounts::throttle_address(&ctx.core, peer.ip()) {
        return error(e);
    }
    let b = match body(b) {
        Ok(b) => b,
        Err(e) => return error(e),
    };
    let (Some(email), Some(password)) = (
        present(&b.email),
        b.password.as_deref().filter(|p| !p.is_empty()),
    ) else {
        return fail(StatusCode::BAD_REQUEST, "email and password are required");
    };
    let member = match organizations::login(&ctx.core, email, password).await {
        Ok(m) => m,
        Err(e) => return error(e),
    };
    match auth::issue_session(&ctx.core, member.id()).await {
        Ok(s) => Json(json!({
            "accessToken": s.access_token,
            "refreshToken": s.refresh_token,
            "user": user_json(&member.user),
        }))
        .into_response(),
        Err(e) => error(e),
    }
}

async fn refresh(
    State(ctx): State<Arc<Ctx>>,
    b: Result<Json<RefreshBody>, JsonRejection>,
) -> Response {
    let b = match body(b) {
        Ok(b) => b,
        Err(e) => return error(e),
    };
    let Some(token) = present(&b.refresh_token) else {
        return fail(StatusCode::BAD_REQUEST, "refreshToken is required");
    };
    // Rotation: the presented token is spent; presenting it again revokes the
    // whole family (every token refreshed from the same login).
    match auth::rotate(&ctx.core, token).await {
        Ok(s) => Json(json!({"accessToken": s.access_token, "refreshToken": s.refresh_token}))
            .into_response(),
        Err(Error::AuthRequired) => fail(StatusCode::FORBIDDEN, "Invalid or expired refresh token"),
        Err(e) => error(e),
    }
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
) -> Response {
    let member = match caller(&ctx, &headers, &uri).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let (page, size) = match paging(query.as_deref(), ctx.max_page_size) {
        Ok(p) => p,
        Err(e) => return error(e),
    };
    match rooms::page(&ctx.core, member.organization_id, page, size).await {
        Ok((total, rows)) => Json(json!({
            "total": total,
            "pages": total.div_ceil(size),
            "currentPage": page,
            "data": rows.iter().map(room_json).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => error(e),
    }
}

async fn create_room(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    uri: Uri,
    b: Result<Json<CreateRoomBody>, JsonRejection>,
) -> Response {
    let member = match caller(&ctx, &headers, &uri).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let b = match body(b) {
        Ok(b) => b,
        Err(e) => return error(e),
    };
    let Some(name) = present(&b.name) else {
        return fail(StatusCode::BAD_REQUEST, "name is required");
    };
    let invitees = match b
        .invited_users
        .iter()
        .map(|u| u.get("user"))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(v) => v,
        Err(e) => return error(e),
    };
    match rooms::create(&ctx.core, &member, name, &invitees, None).await {
        Ok(room) => (StatusCode::CREATED, Json(created_room_json(&room))).into_response(),
        Err(e) => error(e),
    }
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
