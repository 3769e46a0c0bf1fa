//! The user routes (the document names a User API without describing it):
//! `POST /api/v1/user/register {name, email, password}` (`username`, `userName`
//! or `fullName` may stand for `name`) and `POST /api/v1/user/login {email,
//! password}`. Both answer `data: {userData, accessToken}` and set the httpOnly
//! cookies `accessToken` and `refreshToken`. Accounts are those of the shared,
//! organization-less space (expresschat, calls); a testcore registration is
//! verified at once (the frontend has no verification step).

use std::sync::Arc;

use axum::{
    extract::State,
    response::{IntoResponse, Response},
};
use axum_extra::extract::cookie::CookieJar;
use entity::users;

use super::super::{
    Ctx,
    error::ApiError,
    wire::{ACCESS_COOKIE, LoginBody, REFRESH_COOKIE, RegisterBody, SignedIn, UserData, ok},
};
use super::extract::Body;
use crate::core::{Error, identity::accounts, identity::auth};
use crate::profiles::kit::{auth_cookie, present};

/// POST `register`: a verified account of the shared space, signed in.
pub async fn register(
    State(ctx): State<Arc<Ctx>>,
    Body(b): Body<RegisterBody>,
) -> Result<Response, ApiError> {
    let (Some(name), Some(email), Some(password)) = (
        present(&b.name).or(present(&b.username)),
        present(&b.email),
        b.password.as_deref().filter(|p| !p.is_empty()),
    ) else {
        return Err(Error::invalid("name, email and password are required").into());
    };
    let new = accounts::NewUser {
        name: name.to_owned(),
        email: Some(email.to_owned()),
        username: None,
        password: Some(password.to_owned()),
        organization_id: None,
        role: "user".into(),
        verified: true,
    };
    let user = accounts::create_user(&ctx.core, new)
        .await
        .map_err(|e| match e {
            Error::Conflict(_) => Error::Conflict("user already exists"),
            e => e,
        })?;
    signed_in(&ctx, user, "user registered").await
}

/// POST `login`: a wrong password, an unknown email and an organization
/// (orgchat) account are all 401 "invalid credentials".
pub async fn login(
    State(ctx): State<Arc<Ctx>>,
    Body(b): Body<LoginBody>,
) -> Result<Response, ApiError> {
    let (Some(email), Some(password)) = (
        present(&b.email),
        b.password.as_deref().filter(|p| !p.is_empty()),
    ) else {
        return Err(Error::invalid("email and password are required").into());
    };
    let user = match accounts::check_login(&ctx.core, email, password).await {
        // Organization accounts live in another space.
        Ok(user) if user.organization_id.is_none() => user,
        Ok(_) | Err(Error::NotFound(_)) => return Err(Error::InvalidCredentials.into()),
        Err(e) => return Err(e.into()),
    };
    signed_in(&ctx, user, "user logged in").await
}

/// A new session for the user: its tokens as httpOnly cookies and in the answer.
async fn signed_in(ctx: &Ctx, user: users::Model, message: &str) -> Result<Response, ApiError> {
    let session = auth::issue_session(&ctx.core, user.id).await?;
    let keys = &ctx.core.keys;
    let jar = CookieJar::new()
        .add(auth_cookie(
            ACCESS_COOKIE,
            session.access_token.clone(),
            keys.access_ttl,
            ctx.cookie_secure,
        ))
        .add(auth_cookie(
            REFRESH_COOKIE,
            session.refresh_token,
            keys.refresh_ttl,
            ctx.cookie_secure,
        ));
    let data = SignedIn {
        user_data: UserData::of(&user),
        access_token: session.access_token,
    };
    Ok((jar, ok(data, message)).into_response())
}
