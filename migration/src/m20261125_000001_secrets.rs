//! Generated secrets (token signing keys, the message key) kept in the database
//! when config does not provide them, so tokens and encrypted messages survive a
//! restart and every process on the same database (cluster mode, the CLI) agrees.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Secrets::Table)
                .col(string(Secrets::Name).primary_key())
                .col(string(Secrets::Value))
                .col(timestamp_with_time_zone(Secrets::CreatedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Secrets::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Secrets {
    Table,
    Name,
    Value,
    CreatedAt,
}
