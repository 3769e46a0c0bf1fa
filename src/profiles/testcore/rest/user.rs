//! The user routes, as the original's pages call them: `POST
//! /api/v1/user/signup` (the sign-up form: `name, email, password, phoneNumber,
//! address, role, age, collegeID`; 201) with `register` as an alias (200),
//! `GET /api/v1/user/signup` (the form's college list: none here), and `POST
//! /api/v1/user/login {role, email, password}`. Sign-up and login answer `data:
//! {userData, accessToken}` and set the httpOnly cookies `accessToken` and
//! `refreshToken`. Accounts are those of the shared, organization-less space
//! (expresschat, calls); a testcore sign-up is verified at once (the frontend
//! has no verification step).

use std::sync::Arc;

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use axum_extra::extract::cookie::CookieJar;
use entity::users;

use super::super::{
    Ctx, SPACE,
    error::ApiError,
    wire::{
        ACCESS_COOKIE, LoginBody, REFRESH_COOKIE, RegisterBody, SignedIn, UserData, answer, ok,
    },
};
use super::extract::Body;
use crate::core::{Error, identity::accounts, identity::auth};
use crate::profiles::kit::{auth_cookie, present};

/// POST `signup`, the original's route: 201 "User create successfuly".
pub async fn signup(
    State(ctx): State<Arc<Ctx>>,
    Body(b): Body<RegisterBody>,
) -> Result<Response, ApiError> {
    let user = create(&ctx, b).await?;
    signed_in(&ctx, user, StatusCode::CREATED, "User create successfuly").await
}

/// POST `register`, the name chatwire's document gave it: 200.
pub async fn register(
    State(ctx): State<Arc<Ctx>>,
    Body(b): Body<RegisterBody>,
) -> Result<Response, ApiError> {
    let user = create(&ctx, b).await?;
    signed_in(&ctx, user, StatusCode::OK, "user registered").await
}

/// GET `signup`: the colleges a student may pick on the form. chatwire has no
/// colleges, so the list is empty (the form then offers none).
pub async fn colleges() -> Response {
    ok([(); 0], "Successfull")
}

/// A verified account of the shared space; a taken email is 409.
async fn create(ctx: &Ctx, b: RegisterBody) -> Result<users::Model, ApiError> {
    let name = present(&b.name)
        .or(present(&b.username))
        .or(present(&b.user_name))
        .or(present(&b.full_name));
    let (Some(name), Some(email), Some(password)) = (
        name,
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
    Ok(user)
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
    // Organization accounts live in another space: unknown here (NotFound).
    let user = match accounts::check_login(&ctx.core, SPACE, email, password).await {
        Ok(user) => user,
        Err(Error::NotFound(_)) => return Err(Error::InvalidCredentials.into()),
        Err(e) => return Err(e.into()),
    };
    signed_in(&ctx, user, StatusCode::OK, "user logged in").await
}

/// A new session for the user: its tokens as httpOnly cookies and in the answer.
async fn signed_in(
    ctx: &Ctx,
    user: users::Model,
    status: StatusCode,
    message: &str,
) -> Result<Response, ApiError> {
    let session = auth::issue_session(&ctx.core, &user).await?;
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
    Ok((jar, answer(status, data, message)).into_response())
}
