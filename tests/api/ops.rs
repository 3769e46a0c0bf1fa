//! Health, readiness and metrics on every listener.

use chatwire::core::{crypto, identity::auth};

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_ready_and_metrics_answer() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.express("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
    let r = app.client.get(app.express("/readyz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // Generate at least one metric, then read the exposition.
    app.post_json("/signup", serde_json::json!({})).await;
    let r = app
        .client
        .get(app.express("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    app.stop().await;
}

#[tokio::test]
async fn shutdown_completes() {
    let app = spawn_app().await;
    let url = app.express("/healthz");
    app.stop().await;
    assert!(
        reqwest::get(url).await.is_err(),
        "listener is closed after stop"
    );
}

#[tokio::test]
async fn generated_secrets_survive_a_restart() {
    let app = spawn_app().await;
    let token = auth::issue_access(&app.core, 42).unwrap();
    let sealed = app
        .core
        .cipher
        .seal("kept", &crypto::message_aad(1, 1))
        .unwrap();
    let app = app.restart(&[]).await;
    assert_eq!(
        auth::verify_access(&app.core, &token),
        Ok(42),
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
