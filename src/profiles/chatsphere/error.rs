//! chatsphere's refusals in one place: `ApiError` turns a core error (or one of
//! the two refusals the core has no word for) into the original's `{error}`
//! answer with its status, so REST handlers return `Result<_, ApiError>` and use
//! `?`; `refuse` answers a refused WebSocket frame with `{type:"error", message}`
//! on that connection only.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::wire::{ErrorBody, OutFrame};
use crate::core::Error;
use crate::profiles::kit::count_refusal;
use crate::transport::ws::Conn;

pub const NO_TOKEN: &str = "Unauthorized: No token provided";
pub const INVALID_TOKEN: &str = "Unauthorized: Invalid token";
/// A room the caller may not read or write in (REST and frames alike).
pub const NO_ACCESS: &str = "You don't have access to this room";

/// A refused REST request or upgrade.
#[derive(Debug)]
pub enum ApiError {
    /// A core refusal, by kind: `AuthRequired` 401 "Unauthorized: Invalid
    /// token", `InvalidData` 400, `NotFound` 404 "Room not found",
    /// `PermissionDenied` 403, `Conflict` 409, `RateLimited` 429 with
    /// `Retry-After`, anything else 500 with no detail.
    Core(Error),
    /// 401 "Unauthorized: No token provided": no credential anywhere.
    NoToken,
    /// 413 "Request body too large".
    TooLarge,
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Core(e)
    }
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::NoToken => StatusCode::UNAUTHORIZED,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Core(e) => match e {
                Error::AuthRequired => StatusCode::UNAUTHORIZED,
                Error::InvalidData(_) => StatusCode::BAD_REQUEST,
                Error::NotFound(_) => StatusCode::NOT_FOUND,
                Error::PermissionDenied(_) => StatusCode::FORBIDDEN,
                Error::Conflict(_) => StatusCode::CONFLICT,
                Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = match &self {
            ApiError::NoToken => NO_TOKEN.to_owned(),
            ApiError::TooLarge => "Request body too large".to_owned(),
            ApiError::Core(e) => message(e),
        };
        let mut r = (self.status(), Json(ErrorBody { error })).into_response();
        if let ApiError::Core(Error::RateLimited { retry_after_secs }) = self {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        r
    }
}

/// The envelope of a refusal no handler wrote (an unknown route, another
/// method, a body or URI over the limit, a path or query that does not
/// parse): `{error}`, as every other refusal.
pub fn envelope(_status: StatusCode, message: &str) -> serde_json::Value {
    serde_json::json!({ "error": message })
}

/// The text a client sees for a core error (internal details never).
pub fn message(e: &Error) -> String {
    match e {
        Error::AuthRequired => INVALID_TOKEN.into(),
        Error::InvalidData(m) => m.clone(),
        Error::NotFound(what) => not_found(what),
        Error::PermissionDenied(m) | Error::Conflict(m) => (*m).into(),
        Error::RateLimited { retry_after_secs } => {
            format!("Too many messages, retry in {retry_after_secs} s")
        }
        _ => "Internal server error".into(),
    }
}

/// "room" -> "Room not found", as the original words it.
pub fn not_found(what: &str) -> String {
    let mut c = what.chars();
    match c.next() {
        Some(f) => format!("{}{} not found", f.to_uppercase(), c.as_str()),
        None => "Not found".into(),
    }
}

/// Answers a refused frame (`what` is its type, for the log) on its connection,
/// which stays open.
pub fn refuse(conn: &Conn, what: &str, e: &Error) {
    count_refusal("chatsphere", e.code(), what, Some(conn.user_id), e);
    conn.send_json(&OutFrame::Error {
        message: message(e),
        retry_after: match e {
            Error::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        },
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_reads_like_the_original() {
        assert_eq!(not_found("room"), "Room not found");
        assert_eq!(message(&Error::NotFound("user")), "User not found");
    }

    #[test]
    fn statuses_follow_the_kind_of_refusal() {
        let status = |e: ApiError| e.into_response().status();
        assert_eq!(status(ApiError::NoToken), StatusCode::UNAUTHORIZED);
        assert_eq!(status(Error::AuthRequired.into()), StatusCode::UNAUTHORIZED);
        assert_eq!(status(Error::invalid("x").into()), StatusCode::BAD_REQUEST);
        assert_eq!(
            status(Error::PermissionDenied("x").into()),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status(Error::Internal.into()),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn a_spent_budget_is_a_429_that_says_when_to_retry() {
        let r = ApiError::from(Error::RateLimited {
            retry_after_secs: 4,
        })
        .into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "4");
    }
}
