//! orgchat's room list (`GET /api/chat`): rooms of one organization, newest first.
//! The first migration's (organization_id, created_at) index leaves the planner
//! to filter `kind` row by row, and PostgreSQL may prefer the (kind, name) index
//! instead; this one answers the whole query, filter and order, from the index.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "idx_conversations_org_kind_created";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name(NAME)
                .table(Conversations::Table)
                .col(Conversations::OrganizationId)
                .col(Conversations::Kind)
                .col(Conversations::CreatedAt)
                .col(Conversations::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(NAME)
                .table(Conversations::Table)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    OrganizationId,
    Kind,
    CreatedAt,
    Id,
}
