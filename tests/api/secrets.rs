//! Generated secrets live in a private file beside the database, never in it
//! (issue 14, defect 10); an install that kept them in the database has them
//! moved into the file, and what they signed or sealed still opens.

use chatwire::core::identity::auth;
use entity::secrets;
use sea_orm::{EntityTrait, PaginatorTrait, Set};

use crate::helpers::spawn_app_with;

fn file_arg(dir: &tempfile::TempDir, name: &str) -> (std::path::PathBuf, String) {
    let path = dir.path().join(name);
    let arg = format!("--secrets-file={}", path.display());
    (path, arg)
}

#[tokio::test]
async fn a_fresh_install_keeps_its_secrets_in_a_private_file_not_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let (path, arg) = file_arg(&dir, "chatwire.secrets");
    let app = spawn_app_with(&[&arg]).await;

    let rows = secrets::Entity::find().count(&app.core.db).await.unwrap();
    assert_eq!(rows, 0, "no secret is stored in the database");
    let text = std::fs::read_to_string(&path).expect("the secrets file exists");
    for name in ["jwt_access", "jwt_refresh", "message_key", "api_token"] {
        assert!(text.contains(&format!("{name}=")), "{name} is in the file");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    }
    app.stop().await;
}

#[tokio::test]
async fn secrets_kept_in_the_database_by_an_older_install_move_into_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (_, first) = file_arg(&dir, "first.secrets");
    let app = spawn_app_with(&[&first]).await;
    // What an older install left behind: its secrets in the `secrets` table.
    let old = [
        ("jwt_access", "a".repeat(64)),
        ("jwt_refresh", "b".repeat(64)),
        ("message_key", "c".repeat(64)),
        ("api_token", "d".repeat(64)),
    ];
    secrets::Entity::insert_many(old.iter().map(|(name, value)| secrets::ActiveModel {
        name: Set(name.to_string()),
        value: Set(value.clone()),
        created_at: Set(chrono::Utc::now()),
    }))
    .exec(&app.core.db)
    .await
    .unwrap();

    let (moved_to, second) = file_arg(&dir, "second.secrets");
    let app = app.restart(&[&second]).await;

    let rows = secrets::Entity::find().count(&app.core.db).await.unwrap();
    assert_eq!(rows, 0, "the database no longer holds them");
    let text = std::fs::read_to_string(&moved_to).unwrap();
    for (name, value) in &old {
        assert!(
            text.contains(&format!("{name}={value}")),
            "{name} moved as it was"
        );
    }
    let someone = crate::helpers::core_fixtures::user(&app, "someone").await;
    let token = auth::issue_access(&app.core, &someone).unwrap();
    // Only the signature is in question here: tokens now carry an audience,
    // which a default `Validation` (expecting none) would refuse.
    let mut only_signature = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    only_signature.validate_aud = false;
    let signed_with_old = jsonwebtoken::decode::<serde_json::Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(old[0].1.as_bytes()),
        &only_signature,
    );
    assert!(
        signed_with_old.is_ok(),
        "the server signs with the moved secret"
    );
    app.stop().await;
}
