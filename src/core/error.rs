//! The one core error enum. Every variant has a stable upper-case code; each profile
//! maps the enum to its own status codes and envelopes in one place. Internal details
//! are logged where they happen and never reach a client.

use std::fmt;

/// What went wrong, in terms a client may see.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No session, or the session's token is missing, expired, forged or revoked.
    #[error("authentication required")]
    AuthRequired,
    /// Email and password do not match a user.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The account exists but its email address is not verified yet.
    #[error("email not verified")]
    EmailNotVerified,
    /// The payload is malformed or out of bounds; the text says which field.
    #[error("{0}")]
    InvalidData(String),
    /// The named thing does not exist (or the caller may not know it exists).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller is known but lacks the right.
    #[error("{0}")]
    PermissionDenied(&'static str),
    /// A unique thing exists already.
    #[error("{0}")]
    Conflict(&'static str),
    /// Too many requests; retry after the given number of seconds.
    #[error("rate limit exceeded")]
    RateLimited { retry_after_secs: u64 },
    /// The recipient has no live connection.
    #[error("user is not connected")]
    UserNotConnected,
    /// One of the parties is already in a call.
    #[error("a call is already in progress")]
    CallInProgress,
    /// Anything else: the cause was logged; the client sees only the code.
    #[error("internal error")]
    Internal,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The stable code sent to clients that carry codes.
    pub fn code(&self) -> &'static str {
        match self {
            Error::AuthRequired => "AUTH_REQUIRED",
            Error::InvalidCredentials => "INVALID_CREDENTIALS",
            Error::EmailNotVerified => "EMAIL_NOT_VERIFIED",
            Error::InvalidData(_) => "INVALID_DATA",
            Error::NotFound(_) => "NOT_FOUND",
            Error::PermissionDenied(_) => "PERMISSION_DENIED",
            Error::Conflict(_) => "CONFLICT",
            Error::RateLimited { .. } => "RATE_LIMITED",
            Error::UserNotConnected => "USER_NOT_CONNECTED",
            Error::CallInProgress => "CALL_IN_PROGRESS",
            Error::Internal => "INTERNAL",
        }
    }

    /// An `InvalidData` from anything printable.
    pub fn invalid(msg: impl fmt::Display) -> Self {
        Error::InvalidData(msg.to_string())
    }

    /// Logs an unexpected failure with its cause and returns `Internal`.
    #[track_caller]
    pub fn internal(cause: impl fmt::Display) -> Self {
        let at = std::panic::Location::caller();
        tracing::error!(%cause, %at, "internal error");
        Error::Internal
    }
}

impl From<sea_orm::DbErr> for Error {
    #[track_caller]
    fn from(e: sea_orm::DbErr) -> Self {
        if is_nul_in_text(&e) {
            return nul_refused();
        }
        Error::internal(e)
    }
}

impl From<sea_orm::TransactionError<Error>> for Error {
    #[track_caller]
    fn from(e: sea_orm::TransactionError<Error>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) if is_nul_in_text(&db) => nul_refused(),
            sea_orm::TransactionError::Connection(db) => Error::internal(db),
            sea_orm::TransactionError::Transaction(e) => e,
        }
    }
}

/// PostgreSQL refuses a NUL character in any text value (SQLSTATE 22021); SQLite
/// stores it. The only way one reaches a query is from a client's text (a path,
/// a query string, a JSON string with `\u0000`), so it is the client's invalid
/// input, refused on the profile's channel like any other, not a server error
/// (the reliability suite found these as 500s on PostgreSQL, issue 14).
fn is_nul_in_text(e: &sea_orm::DbErr) -> bool {
    let text = e.to_string();
    text.contains("invalid byte sequence for encoding") && text.contains("0x00")
}

fn nul_refused() -> Error {
    Error::invalid("text must not contain NUL characters")
}

/// True when a database error is a unique-constraint violation, which callers turn
/// into `Conflict` where the query is made.
pub fn is_unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_refused_by_postgresql_is_invalid_input_not_internal() {
        let pg = sea_orm::DbErr::Custom(
            "error returned from database: invalid byte sequence for encoding \"UTF8\": 0x00"
                .into(),
        );
        assert!(matches!(Error::from(pg), Error::InvalidData(_)));
        let other = sea_orm::DbErr::Custom("connection refused".into());
        assert!(matches!(Error::from(other), Error::Internal));
    }

    #[test]
    fn codes_are_stable() {
        assert_eq!(Error::AuthRequired.code(), "AUTH_REQUIRED");
        assert_eq!(Error::invalid("x").code(), "INVALID_DATA");
        assert_eq!(
            Error::RateLimited {
                retry_after_secs: 1
            }
            .code(),
            "RATE_LIMITED"
        );
        assert_eq!(Error::CallInProgress.code(), "CALL_IN_PROGRESS");
        assert_eq!(Error::Internal.to_string(), "internal error");
    }
}
