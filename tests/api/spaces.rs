//! Account spaces (`core::identity::space`), on SQLite and PostgreSQL: logins,
//! access, refresh, chat and API tokens admit only their own space; a refresh
//! token presented to the other space is refused unspent; tokens minted before
//! audiences (no `aud`) stay within their user's space; a token whose audience
//! is the other space's is refused even for a user of this one.

use chatwire::core::{
    Error,
    identity::{
        accounts, api_tokens,
        auth::{self, AccessClaims, AccessError, RefreshClaims},
        organizations::{self, Registration, Role},
        space::Space,
    },
};
use entity::users;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

use crate::helpers::{TestApp, core_fixtures::user, spawn_app_with};

const ACCESS_SECRET: &str = "spaces-test-access-secret-0123456789";
const REFRESH_SECRET: &str = "spaces-test-refresh-secret-0123456789";

/// A server whose JWT secrets the test knows, so it can forge tokens as an
/// older chatwire minted them.
async fn app() -> TestApp {
    spawn_app_with(&[
        &format!("--jwt-access-secret={ACCESS_SECRET}"),
        &format!("--jwt-refresh-secret={REFRESH_SECRET}"),
    ])
    .await
}

/// An orgchat member `name` of Acme, password "pw".
async fn member(app: &TestApp, name: &str) -> users::Model {
    let r = Registration {
        username: name.into(),
        email: format!("{name}@acme.io"),
        password: "pw".into(),
        organization_name: "Acme".into(),
        role: Role::User,
    };
    organizations::register(&app.core, r, true).await.unwrap().0
}

fn sign<T: serde::Serialize>(claims: &T, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn access_claims(user: &users::Model, aud: Option<&str>) -> AccessClaims {
    let now = chrono::Utc::now().timestamp();
    AccessClaims {
        sub: user.id.to_string(),
        iat: now,
        exp: now + 600,
        typ: "access".into(),
        aud: aud.map(str::to_owned),
    }
}

/// The claims of a refresh token the server issued (to re-sign them changed).
fn refresh_claims(token: &str) -> RefreshClaims {
    let mut v = Validation::new(Algorithm::HS256);
    v.validate_aud = false;
    jsonwebtoken::decode::<RefreshClaims>(
        token,
        &DecodingKey::from_secret(REFRESH_SECRET.as_bytes()),
        &v,
    )
    .unwrap()
    .claims
}

async fn admitted(app: &TestApp, space: Space, token: &str) -> Option<i64> {
    match auth::access_user(&app.core, space, token).await {
        Ok(u) => Some(u.id),
        Err(AccessError::Invalid) => None,
        Err(e) => panic!("unexpected {e:?}"),
    }
}

#[tokio::test]
async fn access_and_chat_tokens_admit_only_their_space() {
    let app = app().await;
    let (ann, oz) = (user(&app, "ann").await, member(&app, "oz").await);
    let a = auth::issue_session(&app.core, &ann).await.unwrap();
    let o = auth::issue_session(&app.core, &oz).await.unwrap();
    assert_eq!(
        admitted(&app, Space::Shared, &a.access_token).await,
        Some(ann.id)
    );
    assert_eq!(
        admitted(&app, Space::Organization, &a.access_token).await,
        None
    );
    assert_eq!(
        admitted(&app, Space::Organization, &o.access_token).await,
        Some(oz.id)
    );
    assert_eq!(admitted(&app, Space::Shared, &o.access_token).await, None);

    let chat = auth::issue_chat(&app.core, &ann, 5).unwrap();
    let (u, room) = auth::chat_user(&app.core, Space::Shared, &chat)
        .await
        .unwrap();
    assert_eq!((u.id, room), (ann.id, 5));
    let org_chat = auth::issue_chat(&app.core, &oz, 5).unwrap();
    assert!(matches!(
        auth::chat_user(&app.core, Space::Shared, &org_chat).await,
        Err(AccessError::Invalid)
    ));
    app.stop().await;
}

#[tokio::test]
async fn a_refresh_token_of_the_other_space_is_refused_unspent() {
    let app = app().await;
    let (ann, oz) = (user(&app, "ann").await, member(&app, "oz").await);
    let a = auth::issue_session(&app.core, &ann).await.unwrap();
    let o = auth::issue_session(&app.core, &oz).await.unwrap();
    let core = &app.core;

    // orgchat's refresh-token route is handed ann's (expresschat) refresh token.
    assert!(matches!(
        auth::rotate(core, Space::Organization, &a.refresh_token).await,
        Err(Error::AuthRequired)
    ));
    assert!(
        auth::access_from_refresh(core, Space::Organization, &a.refresh_token)
            .await
            .is_err()
    );
    // Logging out of the wrong space revokes nothing.
    auth::revoke_refresh(core, Space::Organization, &a.refresh_token)
        .await
        .unwrap();
    auth::revoke_refresh(core, Space::Shared, &o.refresh_token)
        .await
        .unwrap();
    // Not spent: its own space still rotates it (a spent one would be reuse).
    let a2 = auth::rotate(core, Space::Shared, &a.refresh_token)
        .await
        .unwrap();
    assert_eq!(
        admitted(&app, Space::Shared, &a2.access_token).await,
        Some(ann.id)
    );

    assert!(
        auth::rotate(core, Space::Shared, &o.refresh_token)
            .await
            .is_err()
    );
    let o2 = auth::rotate(core, Space::Organization, &o.refresh_token)
        .await
        .unwrap();
    assert_eq!(
        admitted(&app, Space::Organization, &o2.access_token).await,
        Some(oz.id)
    );
    app.stop().await;
}

#[tokio::test]
async fn logins_know_only_their_space_and_say_nothing_of_the_other() {
    let app = app().await;
    let (_ann, _oz) = (user(&app, "ann").await, member(&app, "oz").await);
    let core = &app.core;
    // An account of the other space reads as an unknown email, right password
    // or wrong.
    for password in ["pw", "wrong"] {
        assert!(matches!(
            accounts::check_login(core, Space::Shared, "oz@acme.io", password).await,
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            accounts::check_login(core, Space::Organization, "ann@x.io", password).await,
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            organizations::login(core, "ann@x.io", password).await,
            Err(Error::InvalidCredentials)
        ));
    }
    assert!(
        accounts::check_login(core, Space::Shared, "ann@x.io", "pw")
            .await
            .is_ok()
    );
    assert!(organizations::login(core, "oz@acme.io", "pw").await.is_ok());
    assert!(
        accounts::find_in_space(core, Space::Shared, "oz@acme.io")
            .await
            .unwrap()
            .is_none()
    );
    app.stop().await;
}

#[tokio::test]
async fn tokens_without_audience_stay_in_their_users_space() {
    let app = app().await;
    let (ann, oz) = (user(&app, "ann").await, member(&app, "oz").await);
    // Access tokens as chatwire minted them before audiences.
    let old_ann = sign(&access_claims(&ann, None), ACCESS_SECRET);
    let old_oz = sign(&access_claims(&oz, None), ACCESS_SECRET);
    assert_eq!(admitted(&app, Space::Shared, &old_ann).await, Some(ann.id));
    assert_eq!(admitted(&app, Space::Organization, &old_ann).await, None);
    assert_eq!(
        admitted(&app, Space::Organization, &old_oz).await,
        Some(oz.id)
    );
    assert_eq!(admitted(&app, Space::Shared, &old_oz).await, None);

    // A recorded refresh token, re-signed without its audience.
    let s = auth::issue_session(&app.core, &ann).await.unwrap();
    let mut c = refresh_claims(&s.refresh_token);
    assert_eq!(c.aud.as_deref(), Some(Space::Shared.audience()));
    c.aud = None;
    let old_refresh = sign(&c, REFRESH_SECRET);
    assert!(
        auth::rotate(&app.core, Space::Organization, &old_refresh)
            .await
            .is_err()
    );
    let next = auth::rotate(&app.core, Space::Shared, &old_refresh)
        .await
        .unwrap();
    // What it is rotated into carries the audience.
    assert_eq!(
        refresh_claims(&next.refresh_token).aud.as_deref(),
        Some(Space::Shared.audience())
    );
    app.stop().await;
}

#[tokio::test]
async fn a_token_of_the_other_audience_is_refused_even_for_a_user_of_this_space() {
    let app = app().await;
    let ann = user(&app, "ann").await;
    let wrong = sign(
        &access_claims(&ann, Some(Space::Organization.audience())),
        ACCESS_SECRET,
    );
    assert_eq!(admitted(&app, Space::Shared, &wrong).await, None);
    assert_eq!(admitted(&app, Space::Organization, &wrong).await, None);
    let odd = sign(&access_claims(&ann, Some("someone-else")), ACCESS_SECRET);
    assert_eq!(admitted(&app, Space::Shared, &odd).await, None);
    app.stop().await;
}

#[tokio::test]
async fn api_tokens_admit_only_the_shared_space() {
    let app = app().await;
    let (ann, oz) = (user(&app, "ann").await, member(&app, "oz").await);
    let kind = api_tokens::Kind::User;
    let t = api_tokens::issue(&app.core, &ann, kind, None, None)
        .await
        .unwrap();
    let p = api_tokens::verify(&app.core, Space::Shared, &t.token)
        .await
        .unwrap();
    assert_eq!(p.user.id, ann.id);
    assert!(
        api_tokens::verify(&app.core, Space::Organization, &t.token)
            .await
            .is_err()
    );
    // Even if one were minted for an organization member, chatsphere refuses it.
    let t = api_tokens::issue(&app.core, &oz, kind, None, None)
        .await
        .unwrap();
    assert!(matches!(
        api_tokens::verify(&app.core, Space::Shared, &t.token).await,
        Err(Error::AuthRequired)
    ));
    app.stop().await;
}
