//! Who is calling, for REST and the WebSocket upgrade alike: the API token of a
//! request (query `token` or Bearer, then the body's `token`, then the cookie
//! `user_api_token`), verified against its record on every request so that a
//! revocation applies at once; and `Call`, the REST extractor that carries the
//! verified caller with its JSON body.

use std::sync::Arc;

use axum::{
    extract::{FromRequest, Request},
    http::{HeaderMap, Uri},
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Ctx, SPACE, error::ApiError};
use crate::core::{
    Error,
    identity::api_tokens::{self, Kind, Principal},
};
use crate::profiles::kit::{cookie, count_refusal, request_token};

/// The cookie the original's UI keeps the user token in.
pub const COOKIE: &str = "user_api_token";

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
        .or_else(|| cookie(headers, COOKIE))
}

/// Verifies a token against its record: no token is `NoToken`, a forged,
/// expired or revoked one `AuthRequired`.
pub async fn principal(ctx: &Ctx, token: Option<String>) -> Result<Principal, ApiError> {
    let token = token.ok_or(ApiError::NoToken)?;
    api_tokens::verify(&ctx.core, SPACE, &token)
        .await
        .map_err(|e| {
            count_refusal("chatsphere", e.code(), "auth", None, &e);
            ApiError::from(e)
        })
}

/// An authenticated request with its JSON body (`Null` when none was sent).
pub struct Call {
    pub who: Principal,
    /// `Err` when a body was sent that is not JSON: refused only by a handler
    /// that reads the body, as the original did.
    body: Result<Value, ()>,
}

impl FromRequest<Arc<Ctx>> for Call {
    type Rejection = ApiError;

    async fn from_request(req: Request, ctx: &Arc<Ctx>) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, ctx.max_frame_bytes)
            .await
            .map_err(|_| ApiError::TooLarge)?;
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
    pub fn require_client(&self) -> Result<(), ApiError> {
        if self.is_client() {
            Ok(())
        } else {
            Err(Error::PermissionDenied("Forbidden: Client access required").into())
        }
    }

    /// 403 unless the token is a user token.
    pub fn require_user(&self) -> Result<(), ApiError> {
        if self.is_client() {
            Err(Error::PermissionDenied("Forbidden: User token required").into())
        } else {
            Ok(())
        }
    }

    /// The body as `T`: no body is `T::default()`; bad JSON or a field of the
    /// wrong type is a 400.
    pub fn body<T: DeserializeOwned + Default>(&self) -> Result<T, ApiError> {
        match &self.body {
            Err(()) => Err(Error::invalid("Invalid JSON body").into()),
            Ok(Value::Null) => Ok(T::default()),
            Ok(v) => serde_json::from_value(v.clone())
                .map_err(|_| Error::invalid("Invalid request body").into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header;
    use serde_json::json;

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
}
