//! testcore's error mapping, in one place: a REST failure is an [`ApiError`],
//! answered as the envelope `{statusCode, data: null, message, success: false,
//! errors: []}`; a realtime refusal is a [`Refusal`], answered by closing the
//! connection with 4000 (1011 for an internal failure) and the reason, except a
//! spent message budget ([`throttled`]), answered with a frame.

use std::sync::Arc;

use axum::{
    extract::{
        rejection::{JsonRejection, PathRejection},
        ws::close_code,
    },
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::wire::{Post, ThrottledFrame, fail};
use crate::core::Error;
use crate::profiles::kit::count_refusal;
use crate::transport::ws::Conn;

/// The close code of every refused frame or connection (the original's).
pub const CLOSE_REFUSED: u16 = 4000;

/// A failed REST request: its status, the code it is counted under and the
/// message the envelope carries.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds for `Retry-After` (429 only).
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 401 "Unauthorized request": no token, a bad one, or not a user of the
    /// shared space (the original answered every auth failure alike).
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "AUTH_REQUIRED",
            "Unauthorized request",
        )
    }
}

impl From<Error> for ApiError {
    /// Auth failures are 401, bad data 400, unknown things 404, a missing right
    /// 403, a clash 409, a spent budget 429 with `Retry-After`; anything else
    /// 500 without details (the cause was logged where it happened).
    fn from(e: Error) -> ApiError {
        let code = e.code();
        let (status, message) = match &e {
            Error::AuthRequired | Error::InvalidCredentials | Error::EmailNotVerified => {
                (StatusCode::UNAUTHORIZED, e.to_string())
            }
            Error::InvalidData(m) => (StatusCode::BAD_REQUEST, m.clone()),
            Error::NotFound(what) => (StatusCode::NOT_FOUND, format!("{what} not found")),
            Error::PermissionDenied(m) => (StatusCode::FORBIDDEN, (*m).to_owned()),
            Error::Conflict(m) => (StatusCode::CONFLICT, (*m).to_owned()),
            Error::RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests, please try again later".to_owned(),
            ),
            Error::UserNotConnected | Error::CallInProgress | Error::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "something went wrong".to_owned(),
            ),
        };
        let retry_after = match e {
            Error::RateLimited { retry_after_secs } => Some(retry_after_secs.max(1)),
            _ => None,
        };
        ApiError {
            status,
            code,
            message,
            retry_after,
        }
    }
}

/// A body that is not the JSON the route expects: 400, as every other error;
/// one over the size limit: 413.
impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> ApiError {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(e.status(), "INVALID_DATA", "Request body too large");
        }
        Error::invalid("Invalid JSON body").into()
    }
}

/// A path segment that does not decode: 400.
impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> ApiError {
        Error::invalid("Invalid path").into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        count_refusal("testcore", self.code, "rest", None, &self.message);
        let mut r = fail(self.status, &self.message);
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    }
}

/// The envelope of a refusal no handler wrote (a body or URI over the limit, a
/// query that does not parse): `{statusCode, data: null, message, success:
/// false, errors: []}`, as every other refusal.
pub fn envelope(status: StatusCode, message: &str) -> serde_json::Value {
    serde_json::json!({
        "statusCode": status.as_u16(),
        "data": null,
        "message": message,
        "success": false,
        "errors": [],
    })
}

/// Why a frame or a connection was refused: the close code and reason.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: u16,
    pub reason: String,
    /// The counted code (`INVALID_DATA` unless the core said otherwise).
    counted: &'static str,
}

impl Refusal {
    /// A refusal with the original's close code.
    pub fn new(reason: impl Into<String>) -> Refusal {
        Refusal {
            code: CLOSE_REFUSED,
            reason: reason.into(),
            counted: "INVALID_DATA",
        }
    }
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Refusal {
        let counted = e.code();
        let (code, reason) = match e {
            Error::Internal => (close_code::ERROR, "internal error".to_owned()),
            Error::NotFound(what) => (CLOSE_REFUSED, format!("{what} not found")),
            other => (CLOSE_REFUSED, other.to_string()),
        };
        Refusal {
            code,
            reason,
            counted,
        }
    }
}

/// Answers a SEND_MESSAGE over the sender's message budget with a
/// [`ThrottledFrame`] on its connection, which stays open: the one refusal that
/// does not close (the client did nothing wrong but send too fast).
pub fn throttled(conn: &Conn, post: &Post, user: i64, retry_after_secs: u64) {
    let e = Error::RateLimited { retry_after_secs };
    count_refusal("testcore", e.code(), "frame", Some(user), &e);
    conn.send_json(&ThrottledFrame::new(post, user, retry_after_secs));
}

/// Answers a refused frame on the realtime error channel: the connection is
/// closed with the refusal's code and reason (nothing else is touched).
pub fn close_with(conn: &Arc<Conn>, user: Option<i64>, refusal: Refusal) {
    count_refusal("testcore", refusal.counted, "frame", user, &refusal.reason);
    conn.close(refusal.code, &clip(&refusal.reason));
}

/// A close reason fits in 123 bytes.
fn clip(reason: &str) -> String {
    let mut end = reason.len().min(120);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_map_to_statuses_and_close_codes() {
        let e = ApiError::from(Error::NotFound("room"));
        assert_eq!(
            (e.status, e.message.as_str()),
            (StatusCode::NOT_FOUND, "room not found")
        );
        let e = ApiError::from(Error::RateLimited {
            retry_after_secs: 0,
        });
        assert_eq!(
            (e.status, e.retry_after),
            (StatusCode::TOO_MANY_REQUESTS, Some(1))
        );
        let r = e.into_response();
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        assert_eq!(Refusal::from(Error::Internal).code, close_code::ERROR);
        assert_eq!(
            Refusal::from(Error::NotFound("message")).reason,
            "message not found"
        );
        assert_eq!(clip(&"é".repeat(100)).len(), 120);
    }
}
