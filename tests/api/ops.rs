//! Health, readiness and metrics on every listener.

use chatwire::{
    config::Profile,
    core::{
        crypto,
        identity::{auth, space::Space},
    },
};

use crate::helpers::{core_fixtures::user, spawn_app};

#[tokio::test]
async fn health_ready_and_metrics_answer() {
    let app = spawn_app().await;
    let ex = app.expresschat();
    let r = ex.get("/healthz").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text, "ok");
    let r = ex.get("/readyz").await;
    assert_eq!(r.status, 200);
    // Generate at least one metric, then read the exposition.
    ex.signup(serde_json::json!({})).await;
    let r = ex.get("/metrics").await;
    assert_eq!(r.status, 200);
    app.stop().await;
}

#[tokio::test]
async fn shutdown_completes() {
    let app = spawn_app().await;
    let url = app.url(Profile::Expresschat, "/healthz");
    app.stop().await;
    assert!(
        reqwest::get(url).await.is_err(),
        "listener is closed after stop"
    );
}

#[tokio::test]
async fn generated_secrets_survive_a_restart() {
    let app = spawn_app().await;
    let ann = user(&app, "ann").await;
    let token = auth::issue_access(&app.core, &ann).unwrap();
    let sealed = app
        .core
        .cipher
        .seal("kept", &crypto::message_aad(1, 1))
        .unwrap();
    let app = app.restart(&[]).await;
    assert_eq!(
        auth::access_user(&app.core, Space::Shared, &token)
            .await
            .map(|u| u.id)
            .ok(),
        Some(ann.id),
        "same signing secret after a restart"
    );
    assert_eq!(
        app.core
            .cipher
            .open(&sealed, &crypto::message_aad(1, 1))
            .unwrap(),
        "kept",
        "same message key"
    );
    app.stop().await;
}
