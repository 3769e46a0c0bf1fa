//! Who is calling, and how refusals look: the API token of a request (query,
//! Bearer, `body.token` or cookie `user_api_token`), verified against its record
//! on every request; the one mapping from core errors to `{error}` answers.
// The `Err` of these helpers is the finished HTTP answer, made at most once per
// request: boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::{
    Json,
    extract::{FromRequest, Request},
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::Ctx;
use crate::core::{
    Error,
    identity::api_tokens::{self, Kind, Principal},
};
use crate::profiles::kit::request_token;

pub const NO_TOKEN: &str = "Unauthorized: No token provided";
pub const INVALID_TOKEN: &str = "Unauthorized: Invalid token";
/// The cookie the original's UI keeps the user token in.
pub const COOKIE: &str = "user_api_token";

pub fn fail(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

/// "room" -> "Room not found", as the original words it.
pub fn not_found(what: &str) -> String {
    let mut c = what.chars();
    match c.next() {
        Some(f) => format!("{}{} not found", f.to_uppercase(), c.as_str()),
        None => "Not found".into(),
    }
}

/// The text a client sees for a core error (internal details never).
pub fn error_message(e: &Error) -> String {
    match e {
        Error::AuthRequired => INVALID_TOKEN.into(),
        Error::InvalidData(m) => m.clone(),
        Error::NotFound(what) => not_found(what),
        Error::PermissionDenied(m) | Error::Conflict(m) => (*m).into(),
        _ => "Internal server error".into(),
    }
}

/// The one mapping from core errors to this profile's statuses.
pub fn error(e: Error) -> Response {
    let status = match &e {
        Error::AuthRequired => StatusCode::UNAUTHORIZED,
        Error::InvalidData(_) => StatusCode::BAD_REQUEST,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::PermissionDenied(_) => StatusCode::FORBIDDEN,
        Error::Conflict(_) => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    fail(status, error_message(&e))
}

/// The token of a request: query `token` or `Authorization: Bearer`, then the
/// body's `token`, then the cookie.
pub fn token_from(headers: &HeaderMap, uri: &Uri, body: Option<&Value>) -> Option<String> {
    request_token(headers, uri)
        .or_else(|| {
            body.and_then(|b| b.get("token"))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        })
        .or_else(|| cookie_token(headers))
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| cookie::Cookie::split_parse(v.to_owned()).flatten())
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|t| !t.is_empty())
}

/// Verifies a token: `Err` is the 401 answer.
pub async fn principal(ctx: &Ctx, token: Option<String>) -> Result<Principal, Response> {
    let token = token.ok_or_else(|| fail(StatusCode::UNAUTHORIZED, NO_TOKEN))?;
    api_tokens::verify(&ctx.core, &token).await.map_err(|e| {
        super::count_error(&e, "auth", 0);
        match e {
            Error::AuthRequired => fail(StatusCode::UNAUTHORIZED, INVALID_TOKEN),
            other => error(other),
        }
    })
}

/// An authenticated request with its JSON body (empty when none was sent).
pub struct Call {
    pub who: Principal,
    body: Result<Value, ()>,
}

impl FromRequest<Arc<Ctx>> for Call {
    type Rejection = Response;

    async fn from_request(req: Request, ctx: &Arc<Ctx>) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, ctx.max_frame_bytes)
            .await
            .map_err(|_| fail(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"))?;
        let body = if bytes.iter().all(u8::is_ascii_whitespace) {
            Ok(Value::Null)
        } else {
            serde_json::from_slice::<Value>(&bytes).map_err(|_| ())
        };
        let token = token_from(&parts.headers, &parts.uri, body.as_ref().ok());
        let who = principal(ctx, token).await?;
        Ok(Call { who, body })
    }
}

impl Call {
    pub fn user_id(&self) -> i64 {
        self.who.user.id
    }

    pub fn is_client(&self) -> bool {
        self.who.kind == Kind::Client
    }

    /// 403 unless the token is a client token.
    pub fn require_client(&self) -> Result<(), Response> {
        if self.is_client() {
            Ok(())
        } else {
            Err(fail(
                StatusCode::FORBIDDEN,
                "Forbidden: Client access required",
            ))
        }
    }

    /// 403 unless the token is a user token.
    pub fn require_user(&self) -> Result<(), Response> {
        if self.is_client() {
            Err(fail(
                StatusCode::FORBIDDEN,
                "Forbidden: User token required",
            ))
        } else {
            Ok(())
        }
    }

    /// The body as `T`: no body is `T::default()`; bad JSON or a field of the
    /// wrong type is a 400.
    pub fn body<T: DeserializeOwned + Default>(&self) -> Result<T, Response> {
        match &self.body {
            Err(()) => Err(fail(StatusCode::BAD_REQUEST, "Invalid JSON body")),
            Ok(Value::Null) => Ok(T::default()),
            Ok(v) => serde_json::from_value(v.clone())
                .map_err(|_| fail(StatusCode::BAD_REQUEST, "Invalid request body")),
        }
    }
}

/// A non-empty trimmed string field.
pub fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_query_header_body_or_cookie() {
        let mut h = HeaderMap::new();
        let uri: Uri = "/api/rooms?token=q".parse().unwrap();
        assert_eq!(token_from(&h, &uri, None).as_deref(), Some("q"));
        let plain: Uri = "/api/rooms".parse().unwrap();
        let body = json!({"token": "b"});
        assert_eq!(token_from(&h, &plain, Some(&body)).as_deref(), Some("b"));
        h.insert(header::COOKIE, "a=1; user_api_token=c".parse().unwrap());
        assert_eq!(token_from(&h, &plain, None).as_deref(), Some("c"));
        h.insert(header::AUTHORIZATION, "Bearer h".parse().unwrap());
        assert_eq!(token_from(&h, &plain, None).as_deref(), Some("h"));
    }

    #[test]
    fn not_found_reads_like_the_original() {
        assert_eq!(not_found("room"), "Room not found");
        assert_eq!(error_message(&Error::NotFound("user")), "User not found");
    }
}
