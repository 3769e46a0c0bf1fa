//! orgchat's error mapping, in one place: core errors (and the few refusals of
//! this profile's own) as REST answers `{message}` with a status, and as the
//! realtime `error` event told to the asking connection only.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::link::Link;
use super::wire::{ErrorBody, ErrorOut};
use crate::core::Error;
use crate::profiles::kit;

/// Why a REST request was refused.
#[derive(Debug)]
pub enum ApiError {
    /// The core's error: 400 invalid data, 401 authentication, 403 permission,
    /// 404 not found, 409 conflict, 429 rate limited (with `Retry-After`), else 500.
    Core(Error),
    /// 401: no access token (`Unauthorized: no token provided`), or one that is
    /// not valid (`Unauthorized: invalid or expired token`).
    Unauthorized(&'static str),
    /// 403: a refresh token that is unknown, spent, revoked or expired.
    BadRefreshToken,
    /// 413: a body over `MAX_FRAME_BYTES`.
    TooLarge,
}

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// The text of a refused connection or request without a token.
pub const NO_TOKEN: &str = "Unauthorized: no token provided";
/// The text of a refused connection or request with a bad token.
pub const BAD_TOKEN: &str = "Unauthorized: invalid or expired token";

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Core(e)
    }
}

impl ApiError {
    /// A 400 with this text.
    pub fn invalid(message: &str) -> Self {
        ApiError::Core(Error::invalid(message))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, text) = match &self {
            ApiError::Core(e) => (status(e), message(e)),
            ApiError::Unauthorized(text) => (StatusCode::UNAUTHORIZED, (*text).to_owned()),
            ApiError::BadRefreshToken => (
                StatusCode::FORBIDDEN,
                "Invalid or expired refresh token".to_owned(),
            ),
            ApiError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request body too large".to_owned(),
            ),
        };
        let mut r = (status, Json(ErrorBody { message: text })).into_response();
        if let ApiError::Core(Error::RateLimited { retry_after_secs }) = self {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        r
    }
}

/// The envelope of a refusal no handler wrote (an unknown route, another
/// method, a body or URI over the limit, a path or query that does not
/// parse): `{message}`, as every other refusal.
pub fn envelope(_status: StatusCode, message: &str) -> serde_json::Value {
    serde_json::json!({ "message": message })
}

fn status(e: &Error) -> StatusCode {
    match e {
        Error::AuthRequired | Error::InvalidCredentials => StatusCode::UNAUTHORIZED,
        Error::InvalidData(_) => StatusCode::BAD_REQUEST,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::PermissionDenied(_) => StatusCode::FORBIDDEN,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The text a client sees for a core error, on REST and realtime alike.
pub fn message(e: &Error) -> String {
    match e {
        Error::AuthRequired => "Unauthorized".into(),
        Error::InvalidCredentials => "Invalid credentials".into(),
        Error::InvalidData(m) => m.clone(),
        Error::NotFound(what) => {
            let mut w = what.to_string();
            if let Some(first) = w.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            format!("{w} not found")
        }
        Error::PermissionDenied(m) => (*m).to_owned(),
        Error::Conflict(m) => (*m).to_owned(),
        Error::RateLimited { .. } => "Too many requests, please try again later.".into(),
        Error::Internal => "Internal server error".into(),
        other => other.to_string(),
    }
}

/// Tells `link` (and only it) that a frame or event of `user` was refused:
/// raw `{type:"error", message, event?, retryAfter?}`, Socket.IO `error
/// {message, event, retryAfter?}`; `event` is absent when the frame named none,
/// `retryAfter` unless the refusal is a spent budget. The connection stays
/// open. Counts the refusal and answers the text, for a Socket.IO
/// acknowledgement.
pub fn refuse(link: &Link, event: Option<&str>, user: i64, e: &Error) -> String {
    kit::count_refusal("orgchat", e.code(), event.unwrap_or(""), Some(user), e);
    let text = message(e);
    link.send(
        "error",
        &ErrorOut {
            message: &text,
            event,
            retry_after: match e {
                Error::RateLimited { retry_after_secs } => Some(*retry_after_secs),
                _ => None,
            },
        },
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_sentences() {
        assert_eq!(message(&Error::NotFound("room")), "Room not found");
        assert_eq!(
            message(&Error::PermissionDenied(
                "Forbidden: Insufficient permissions"
            )),
            "Forbidden: Insufficient permissions"
        );
    }

    #[test]
    fn statuses_follow_the_core_error() {
        let status_of = |e: ApiError| e.into_response().status();
        assert_eq!(status_of(Error::NotFound("room").into()), 404);
        assert_eq!(status_of(ApiError::Unauthorized(NO_TOKEN)), 401);
        assert_eq!(status_of(ApiError::BadRefreshToken), 403);
        let limited = ApiError::from(Error::RateLimited {
            retry_after_secs: 7,
        })
        .into_response();
        assert_eq!(limited.status(), 429);
        assert_eq!(limited.headers()[header::RETRY_AFTER], "7");
    }
}
