//! calls' error mapping, in one place: `ApiError` renders a refusal in the REST
//! envelope `{success:false, error:{code, message}}`, and `refuse` renders one on
//! the socket (`error {message, code}`, or `auth:error {message}` for `join`,
//! and the ack `{error:{message, code}}`). Both word a core error the same way.

use axum::{
    Json,
    extract::rejection::JsonRejection,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use socketioxide::extract::{AckSender, SocketRef};

use super::wire::AuthError;
use crate::core::Error;
use crate::profiles::kit;
use crate::transport::socketio::emit;

/// A refused REST request.
#[derive(Debug)]
pub enum ApiError {
    /// A core refusal, with its status (401 UNAUTHORIZED, 400 INVALID_DATA, 404
    /// USER_NOT_FOUND or NOT_FOUND, 403 PERMISSION_DENIED, 409, 429
    /// RATE_LIMITED); an unexpected failure is a 500 with the code `internal`.
    Core {
        error: Error,
        internal: &'static str,
    },
    /// 409 USER_EXISTS: registration with an email that is taken.
    UserExists,
    /// 413 PAYLOAD_TOO_LARGE: a body over `MAX_FRAME_BYTES`.
    TooLarge,
}

impl ApiError {
    /// `error`, with `internal` as the code of an unexpected failure (the document
    /// names MESSAGE_SEND_FAILED and CALL_FAILED).
    pub fn failed_as(internal: &'static str) -> impl Fn(Error) -> ApiError {
        move |error| ApiError::Core { error, internal }
    }

    fn parts(&self) -> (StatusCode, &'static str, String) {
        use StatusCode as S;
        let error = match self {
            ApiError::UserExists => {
                return (
                    S::CONFLICT,
                    "USER_EXISTS",
                    "A user with this email already exists".into(),
                );
            }
            ApiError::TooLarge => {
                return (
                    S::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    "Request body too large".into(),
                );
            }
            ApiError::Core { error, .. } => error,
        };
        match error {
            Error::AuthRequired => (
                S::UNAUTHORIZED,
                "UNAUTHORIZED",
                "Invalid or missing token".into(),
            ),
            // Only login checks a password.
            Error::InvalidCredentials => (
                S::UNAUTHORIZED,
                "UNAUTHORIZED",
                "Invalid email or password".into(),
            ),
            Error::EmailNotVerified => {
                (S::UNAUTHORIZED, "UNAUTHORIZED", "Email not verified".into())
            }
            Error::NotFound("user") => (S::NOT_FOUND, "USER_NOT_FOUND", "User not found".into()),
            Error::NotFound(what) => (S::NOT_FOUND, "NOT_FOUND", format!("{what} not found")),
            Error::InvalidData(m) => (S::BAD_REQUEST, "INVALID_DATA", m.clone()),
            Error::RateLimited { retry_after_secs } => (
                S::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                format!("Too many requests, retry in {retry_after_secs} s"),
            ),
            Error::UserNotConnected | Error::CallInProgress => (
                S::CONFLICT,
                "USER_UNAVAILABLE",
                "User is offline or busy".into(),
            ),
            Error::PermissionDenied(m) => (S::FORBIDDEN, "PERMISSION_DENIED", (*m).into()),
            Error::Conflict(m) => (S::CONFLICT, "CONFLICT", (*m).into()),
            Error::Internal => (
                S::INTERNAL_SERVER_ERROR,
                self.internal(),
                "Something went wrong".into(),
            ),
        }
    }

    fn internal(&self) -> &'static str {
        match self {
            ApiError::Core { internal, .. } => internal,
            ApiError::UserExists | ApiError::TooLarge => "INTERNAL",
        }
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError::Core {
            error,
            internal: "INTERNAL",
        }
    }
}

/// A body that is not the JSON the route expects is INVALID_DATA in the
/// envelope; one over the size limit is PAYLOAD_TOO_LARGE.
impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::TooLarge;
        }
        Error::invalid(format!("invalid JSON body: {}", e.body_text())).into()
    }
}

impl IntoResponse for ApiError {
    /// The envelope; a 429 also says when to retry (`Retry-After`, seconds).
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        let body = RestError {
            success: false,
            error: SocketError { code, message },
        };
        let mut r = (status, Json(body)).into_response();
        if let ApiError::Core {
            error: Error::RateLimited { retry_after_secs },
            ..
        } = self
        {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        r
    }
}

/// The envelope of a refusal no handler wrote (an unknown route, another
/// method, a body or URI over the limit, a path or query that does not parse):
/// `{success:false, error:{code, message}}`, the code named after the status.
pub fn envelope(status: StatusCode, message: &str) -> serde_json::Value {
    let code = match status.as_u16() {
        401 => "UNAUTHORIZED",
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_ALLOWED",
        413 => "PAYLOAD_TOO_LARGE",
        414 => "URI_TOO_LONG",
        415 => "UNSUPPORTED_MEDIA_TYPE",
        429 => "RATE_LIMITED",
        431 => "HEADERS_TOO_LARGE",
        s if s >= 500 => "INTERNAL",
        _ => "INVALID_DATA",
    };
    serde_json::json!({"success": false, "error": {"code": code, "message": message}})
}

/// The REST refusal: `{success:false, error:{code, message}}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RestError {
    success: bool,
    error: SocketError,
}

/// `{message, code}`: the socket's `error` event and an ack's `error`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SocketError {
    pub message: String,
    pub code: &'static str,
}

/// A refused event.
#[derive(Debug)]
pub enum Refusal {
    /// `join` failed: `auth:error {message}`; its ack carries AUTH_REQUIRED.
    Join(&'static str),
    /// Anything else: `error {message, code}`.
    Event(Error),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Event(e)
    }
}

/// How a core error reads on the socket; internal details stay in the log.
/// `internal` is the code of an unexpected failure of the event.
pub fn socket_error(e: &Error, internal: &'static str) -> SocketError {
    let (code, message) = match e {
        Error::AuthRequired => (
            "AUTH_REQUIRED",
            "Authentication required: send join with a valid token first".to_owned(),
        ),
        Error::NotFound("user") => ("USER_NOT_FOUND", "User not found".to_owned()),
        Error::NotFound(what) => ("NOT_FOUND", format!("{} not found", capitalize(what))),
        Error::UserNotConnected => ("USER_NOT_CONNECTED", "User is not connected".to_owned()),
        Error::CallInProgress => ("CALL_IN_PROGRESS", "User is already in a call".to_owned()),
        Error::RateLimited { retry_after_secs } => (
            "RATE_LIMITED",
            format!("Too many requests, retry in {retry_after_secs} s"),
        ),
        Error::Internal => (internal, "Something went wrong".to_owned()),
        other => (other.code(), other.to_string()),
    };
    SocketError { message, code }
}

#[derive(Serialize)]
struct AckError {
    error: SocketError,
}

/// Answers a refused `event` of `user` (None before `join`): on its channel, and as
/// the ack when the client asked for one.
pub fn refuse(
    socket: &SocketRef,
    ack: AckSender,
    event: &str,
    user: Option<i64>,
    refusal: Refusal,
    internal: &'static str,
) {
    let body = match refusal {
        Refusal::Join(message) => {
            kit::count_refusal("calls", "AUTH_REQUIRED", event, user, &message);
            emit(socket, "auth:error", &AuthError { message });
            socket_error(&Error::AuthRequired, internal)
        }
        Refusal::Event(e) => {
            kit::count_refusal("calls", e.code(), event, user, &e);
            let body = socket_error(&e, internal);
            emit(socket, "error", &body);
            body
        }
    };
    let _ = ack.send(&AckError { error: body });
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
