//! Database migrations: append-only, each with `down`. The first one creates the
//! core model that all five profiles share (see `m20261121_000001_core`).

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_core;
mod m20261122_000001_orgchat_rooms;
mod m20261124_000001_testcore_refs;
mod m20261125_000001_secrets;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_core::Migration),
            Box::new(m20261122_000001_orgchat_rooms::Migration),
            Box::new(m20261124_000001_testcore_refs::Migration),
            Box::new(m20261125_000001_secrets::Migration),
        ]
    }
}
