//! expresschat's refusals in one place: [`RestError`], the `{success, message}`
//! envelope of its REST routes with the original's status codes and texts, and
//! [`refuse`], which answers a refused event on that event's own `*-fail`
//! channel (the only error channel the original client listens to).

use axum::{
    Json,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;
use socketioxide::extract::SocketRef;

use super::wire::{Failure, Note, Outcome, Throttled};
use crate::core::Error;
use crate::profiles::kit;
use crate::transport::socketio::emit;

/// A refused REST request. Most come from the core through `?` ([`RestError::Core`]);
/// the others are the refusals only this API words.
#[derive(Debug)]
pub enum RestError {
    /// A core error, rendered as the original answered its case:
    /// `Conflict` 404 `{success:0, "User Already Exists"}`; `InvalidData` 404
    /// `{success:-1, "Enter All credentials properly"}`; `NotFound` 404
    /// `{success:0, "NO Such User"}`; `EmailNotVerified` 404 `{success:-2,
    /// "Account Exist but Email not verified"}`; `InvalidCredentials` **200**
    /// `{success:0, "Incorrect PassWord"}`; `RateLimited` 429 `{success:-1}` with
    /// `Retry-After`; anything else 500 `{success:-1, "Something went wrong"}`
    /// (the core logged the cause).
    Core(Error),
    /// 404 `{success:-1, message:"Enter All credentials properly"}`: signup without
    /// a name, email or password.
    MissingCredentials,
    /// 404 `{success:-1, msg:"Bad request"}` (the key is `msg`, as the original's):
    /// login without email or password.
    BadLoginRequest,
    /// 404 `{success:-1, message:"Enter Email properly"}`: resend without email.
    MissingEmail,
    /// 404 `{success:0, message:"Email already verified"}`: resend for a verified
    /// account.
    AlreadyVerified,
    /// 400 `{success:0, message:"Invalid verification link"}`: a link without
    /// email or token.
    BadVerifyLink,
    /// 400 `{success:0, message:"Invalid or expired verification token"}`.
    BadVerifyToken,
    /// 500 `{success:-1, message:"Could not send the verification mail"}`.
    MailFailed,
    /// 400 `{message:"Invalid access token"}` (no `success`, like every answer of
    /// `/update-access-token`).
    InvalidAccessToken,
    /// 413 `{success:-1, message:"Request body too large"}`: a body over
    /// `MAX_FRAME_BYTES` (chatwire's; the original had Express's 100 KB limit).
    TooLarge,
}

impl From<Error> for RestError {
    fn from(e: Error) -> Self {
        RestError::Core(e)
    }
}

impl RestError {
    /// The status and body of every refusal but `RateLimited`'s header.
    fn parts(&self) -> (StatusCode, serde_json::Value) {
        use StatusCode as S;
        let outcome = |status, success, message| {
            let body = serde_json::to_value(Outcome { success, message });
            (status, body.unwrap_or_default())
        };
        match self {
            RestError::Core(e) => match e {
                Error::Conflict(_) => outcome(S::NOT_FOUND, 0, "User Already Exists"),
                Error::InvalidData(_) => {
                    outcome(S::NOT_FOUND, -1, "Enter All credentials properly")
                }
                Error::NotFound(_) => outcome(S::NOT_FOUND, 0, "NO Such User"),
                Error::EmailNotVerified => {
                    outcome(S::NOT_FOUND, -2, "Account Exist but Email not verified")
                }
                Error::InvalidCredentials => outcome(S::OK, 0, "Incorrect PassWord"),
                Error::RateLimited { .. } => outcome(
                    S::TOO_MANY_REQUESTS,
                    -1,
                    "Too many login attempts, try again later",
                ),
                _ => outcome(S::INTERNAL_SERVER_ERROR, -1, "Something went wrong"),
            },
            RestError::MissingCredentials => {
                outcome(S::NOT_FOUND, -1, "Enter All credentials properly")
            }
            RestError::BadLoginRequest => {
                (S::NOT_FOUND, json!({"success": -1, "msg": "Bad request"}))
            }
            RestError::MissingEmail => outcome(S::NOT_FOUND, -1, "Enter Email properly"),
            RestError::AlreadyVerified => outcome(S::NOT_FOUND, 0, "Email already verified"),
            RestError::BadVerifyLink => outcome(S::BAD_REQUEST, 0, "Invalid verification link"),
            RestError::BadVerifyToken => {
                outcome(S::BAD_REQUEST, 0, "Invalid or expired verification token")
            }
            RestError::MailFailed => outcome(
                S::INTERNAL_SERVER_ERROR,
                -1,
                "Could not send the verification mail",
            ),
            RestError::TooLarge => outcome(S::PAYLOAD_TOO_LARGE, -1, "Request body too large"),
            RestError::InvalidAccessToken => {
                let body = serde_json::to_value(Note {
                    message: "Invalid access token",
                });
                (S::BAD_REQUEST, body.unwrap_or_default())
            }
        }
    }
}

/// The envelope of a refusal no handler wrote (an unknown route, another
/// method, a body or URI over the limit, a query that does not parse):
/// `{success: -1, message}`, as the original's failures.
pub fn envelope(_status: StatusCode, message: &str) -> serde_json::Value {
    json!({"success": -1, "message": message})
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let (status, body) = self.parts();
        let mut response = (status, Json(body)).into_response();
        if let RestError::Core(Error::RateLimited { retry_after_secs }) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after_secs.into());
        }
        response
    }
}

/// Answers a refused event (bad payload or a core refusal) where the original
/// client listens for it, then counts and logs it. Events without a `*-fail`
/// event of their own get no answer: the original client has nowhere to show
/// one. A fetch that asked for a history page (`paged`: the extension of issue
/// 14) is answered on `fetch-*-fail {Message}`; the original's fetches, which
/// name no page, still get nothing.
/// A send over the message budget is the exception: it is answered on
/// `<event>-fail {Message, RetryAfter}` (a channel of chatwire's, in the
/// original's pattern), so a client can tell its message was not sent.
pub fn refuse(socket: &SocketRef, event: &str, user: i64, e: &Error, paged: bool) {
    if let Error::RateLimited { retry_after_secs } = e {
        let channel = match event {
            "send-personal-message" => Some("send-personal-message-fail"),
            "send-group-message" => Some("send-group-message-fail"),
            "send-self-message" => Some("send-self-message-fail"),
            _ => None,
        };
        if let Some(channel) = channel {
            let message = format!("Too many messages, retry in {retry_after_secs} s");
            let retry_after = *retry_after_secs;
            emit(
                socket,
                channel,
                &Throttled {
                    message,
                    retry_after,
                },
            );
        }
    }
    match event {
        "add-member" => fail(socket, "add-member-fail", event, e),
        "kickout" => fail(socket, "kickout-fail", event, e),
        "change-admin" => fail(socket, "change-admin-fail", event, e),
        "delete-grp" => fail(socket, "delete-grp-fail", event, e),
        "fetch-personal-chat" if paged => fail(socket, "fetch-personal-chat-fail", event, e),
        "fetch-group-chat" if paged => fail(socket, "fetch-group-chat-fail", event, e),
        "fetch-self-chat" if paged => fail(socket, "fetch-self-chat-fail", event, e),
        // The original answers an admin's attempt to leave with a bare
        // `group-left-fail`; every refusal of `leave-grp` gets the same.
        "leave-grp" => emit(socket, "group-left-fail", &()),
        _ => {}
    }
    kit::count_refusal("expresschat", e.code(), event, Some(user), e);
}

fn fail(socket: &SocketRef, channel: &'static str, event: &str, e: &Error) {
    let message = fail_message(event, e);
    emit(socket, channel, &Failure { message });
}

/// The `Message` of a `*-fail` event: the original's words where it had any
/// (its `add-member` was the only operation that checked anything), ours
/// otherwise. Internal causes stay in the log.
fn fail_message(event: &str, e: &Error) -> String {
    match (event, e) {
        ("add-member", Error::PermissionDenied(_)) => "You Should be admin to add a member".into(),
        ("add-member", Error::Conflict(_)) => "Already in Group".into(),
        ("fetch-personal-chat" | "fetch-self-chat", Error::NotFound(_)) => "Chat not found".into(),
        ("fetch-group-chat", Error::NotFound(_)) => "Group not found".into(),
        (_, Error::Internal) => "Something went wrong".into(),
        (_, Error::NotFound(_)) => "Group or member not found".into(),
        (_, other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(e: RestError) -> (u16, serde_json::Value) {
        let (status, body) = e.parts();
        (status.as_u16(), body)
    }

    #[test]
    fn rest_refusals_keep_the_original_codes_and_words() {
        assert_eq!(
            answer(Error::Conflict("email").into()),
            (404, json!({"success": 0, "message": "User Already Exists"}))
        );
        assert_eq!(
            answer(Error::NotFound("user").into()),
            (404, json!({"success": 0, "message": "NO Such User"}))
        );
        assert_eq!(
            answer(Error::EmailNotVerified.into()),
            (
                404,
                json!({"success": -2, "message": "Account Exist but Email not verified"})
            )
        );
        assert_eq!(
            answer(Error::InvalidCredentials.into()),
            (200, json!({"success": 0, "message": "Incorrect PassWord"}))
        );
        assert_eq!(
            answer(RestError::BadLoginRequest),
            (404, json!({"success": -1, "msg": "Bad request"}))
        );
        assert_eq!(
            answer(RestError::InvalidAccessToken),
            (400, json!({"message": "Invalid access token"}))
        );
        assert_eq!(answer(Error::Internal.into()).0, 500);
    }

    #[test]
    fn rate_limited_logins_say_when_to_retry() {
        let r = RestError::from(Error::RateLimited {
            retry_after_secs: 7,
        })
        .into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "7");
    }

    #[test]
    fn fail_messages_are_the_originals_where_it_had_them() {
        let denied = Error::PermissionDenied("only the admin can do that");
        assert_eq!(
            fail_message("add-member", &denied),
            "You Should be admin to add a member"
        );
        assert_eq!(
            fail_message("add-member", &Error::Conflict("user is already a member")),
            "Already in Group"
        );
        assert_eq!(
            fail_message("kickout", &Error::Internal),
            "Something went wrong"
        );
        assert_eq!(
            fail_message("kickout", &denied),
            "only the admin can do that"
        );
        assert_eq!(
            fail_message("kickout", &Error::NotFound("member")),
            "Group or member not found"
        );
        assert_eq!(
            fail_message("fetch-group-chat", &Error::NotFound("conversation")),
            "Group not found"
        );
        assert_eq!(
            fail_message(
                "fetch-personal-chat",
                &Error::invalid("After must be a message id")
            ),
            "After must be a message id"
        );
    }
}
