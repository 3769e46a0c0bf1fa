//! What the REST handlers take from a request, each refusing with the envelope:
//! the signed-in [`Caller`], a JSON [`Body`], and the [`RoomName`] of a path.

use std::sync::Arc;

use axum::{
    Json,
    extract::{FromRequest, FromRequestParts, Path},
    http::request::Parts,
};
use entity::users;

use super::super::{Ctx, SPACE, error::ApiError, wire::ACCESS_COOKIE};
use crate::core::identity::auth::{self, AccessError};
use crate::profiles::kit::{cookie, request_token};

/// The signed-in user of the shared (organization-less) space: an access token
/// from `Authorization: Bearer` (or `?token=`), else the `accessToken` cookie.
/// Any failure is 401 "Unauthorized request".
pub struct Caller(pub users::Model);

impl FromRequestParts<Arc<Ctx>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<Ctx>) -> Result<Self, ApiError> {
        let refused = |why: &str| {
            tracing::debug!(why, "testcore caller refused");
            ApiError::unauthorized()
        };
        let token = request_token(&parts.headers, &parts.uri)
            .or_else(|| cookie(&parts.headers, ACCESS_COOKIE))
            .ok_or_else(|| refused("no token"))?;
        // A token of the organization space (orgchat's) is as bad as a forged one.
        match auth::access_user(&ctx.core, SPACE, &token).await {
            Ok(u) => Ok(Caller(u)),
            Err(AccessError::Failed(e)) => Err(e.into()),
            Err(_) => Err(refused("bad token")),
        }
    }
}

/// A JSON body; a malformed one is 400 "Invalid JSON body".
#[derive(FromRequest)]
#[from_request(via(Json), rejection(ApiError))]
pub struct Body<T>(pub T);

/// The room a path names: `/{roomName}`, or `/{College}/{Branch}` for the room
/// `College/Branch`.
pub struct RoomName(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RoomName {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(segments) = Path::<Vec<String>>::from_request_parts(parts, state).await?;
        Ok(RoomName(segments.join("/")))
    }
}
