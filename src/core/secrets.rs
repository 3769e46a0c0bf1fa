//! Secrets the operator did not configure: made once, kept in the `secrets` table,
//! and read back by every later start and every process on the same database, so
//! sessions, API tokens and encrypted messages survive restarts without setup.
//! A secret set in config always wins (and is never written to the database).

use chrono::Utc;
use entity::secrets;
use sea_orm::{DatabaseConnection, EntityTrait, Set};

/// The configured value when non-empty, else the stored one, made with `make`
/// on first use. Two processes starting at once agree: the first insert wins.
pub async fn configured_or_stored(
    db: &DatabaseConnection,
    configured: &str,
    name: &str,
    make: impl FnOnce() -> String,
) -> Result<String, sea_orm::DbErr> {
    if !configured.is_empty() {
        return Ok(configured.to_owned());
    }
    if let Some(s) = secrets::Entity::find_by_id(name.to_owned()).one(db).await? {
        return Ok(s.value);
    }
    secrets::Entity::insert(secrets::ActiveModel {
        name: Set(name.to_owned()),
        value: Set(make()),
        created_at: Set(Utc::now()),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(db)
    .await?;
    tracing::info!(
        name,
        "generated a secret and stored it in the database (set it in config to override)"
    );
    secrets::Entity::find_by_id(name.to_owned())
        .one(db)
        .await?
        .map(|s| s.value)
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound(name.to_owned()))
}
