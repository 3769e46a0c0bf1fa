//! The core model: organizations, users, sessions (refresh tokens), API tokens,
//! email verifications, conversations with memberships and read pointers,
//! messages with a per-conversation sequence, reactions and calls.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Organizations::Table)
                .col(big_pk_auto(Organizations::Id))
                .col(string_uniq(Organizations::Name))
                .col(timestamp_with_time_zone(Organizations::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(big_pk_auto(Users::Id))
                .col(big_integer_null(Users::OrganizationId))
                .col(string(Users::Name))
                .col(string_null(Users::Username).unique_key())
                .col(string_null(Users::Email).unique_key())
                .col(string_null(Users::PasswordHash))
                .col(string(Users::Role).default("user"))
                .col(boolean(Users::EmailVerified).default(false))
                .col(string_null(Users::Avatar))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Users::Table, Users::OrganizationId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // Case-insensitive name search (expresschat `search-user`) scans names; the
        // organization index serves org-scoped listings.
        index(
            m,
            "idx_users_organization",
            Users::Table,
            &[Users::OrganizationId],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(EmailVerifications::Table)
                .col(big_pk_auto(EmailVerifications::Id))
                .col(big_integer(EmailVerifications::UserId))
                .col(string(EmailVerifications::TokenHash))
                .col(string(EmailVerifications::CodeHash))
                .col(timestamp_with_time_zone(EmailVerifications::ExpiresAt))
                .col(timestamp_with_time_zone(EmailVerifications::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(EmailVerifications::Table, EmailVerifications::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "idx_email_verifications_user",
            EmailVerifications::Table,
            &[EmailVerifications::UserId],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RefreshTokens::Table)
                .col(big_pk_auto(RefreshTokens::Id))
                .col(big_integer(RefreshTokens::UserId))
                .col(string_uniq(RefreshTokens::Jti))
                .col(string(RefreshTokens::Family))
                .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                .col(timestamp_with_time_zone_null(RefreshTokens::RevokedAt))
                .col(boolean(RefreshTokens::Rotated).default(false))
                .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(RefreshTokens::Table, RefreshTokens::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "idx_refresh_tokens_family",
            RefreshTokens::Table,
            &[RefreshTokens::Family],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ApiTokens::Table)
                .col(big_pk_auto(ApiTokens::Id))
                .col(big_integer(ApiTokens::UserId))
                .col(string_uniq(ApiTokens::Jti))
                .col(string(ApiTokens::Kind))
                .col(text_null(ApiTokens::Scope))
                .col(timestamp_with_time_zone(ApiTokens::ExpiresAt))
                .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ApiTokens::Table, ApiTokens::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "idx_api_tokens_user",
            ApiTokens::Table,
            &[ApiTokens::UserId],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Conversations::Table)
                .col(big_pk_auto(Conversations::Id))
                .col(string(Conversations::Kind))
                .col(string_null(Conversations::Name))
                .col(text_null(Conversations::Description))
                .col(big_integer_null(Conversations::OrganizationId))
                .col(big_integer_null(Conversations::AdminId))
                .col(boolean(Conversations::IsPrivate).default(false))
                .col(string_null(Conversations::DirectKey).unique_key())
                .col(big_integer(Conversations::LastSeq).default(0))
                .col(timestamp_with_time_zone_null(Conversations::LastMessageAt))
                .col(timestamp_with_time_zone(Conversations::CreatedAt))
                .col(timestamp_with_time_zone(Conversations::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Conversations::Table, Conversations::OrganizationId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Conversations::Table, Conversations::AdminId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        // Rooms are listed per organization, newest first (orgchat `GET /api/chat`).
        index(
            m,
            "idx_conversations_org_created",
            Conversations::Table,
            &[Conversations::OrganizationId, Conversations::CreatedAt],
        )
        .await?;
        index(
            m,
            "idx_conversations_kind_name",
            Conversations::Table,
            &[Conversations::Kind, Conversations::Name],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Memberships::Table)
                .col(big_integer(Memberships::ConversationId))
                .col(big_integer(Memberships::UserId))
                .col(string(Memberships::Role).default("member"))
                .col(big_integer(Memberships::ReadSeq).default(0))
                .col(timestamp_with_time_zone(Memberships::JoinedAt))
                .primary_key(
                    Index::create()
                        .col(Memberships::ConversationId)
                        .col(Memberships::UserId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Memberships::Table, Memberships::ConversationId)
                        .to(Conversations::Table, Conversations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Memberships::Table, Memberships::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // "Which conversations is this user in" is asked at every connect.
        index(
            m,
            "idx_memberships_user",
            Memberships::Table,
            &[Memberships::UserId],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Messages::Table)
                .col(big_pk_auto(Messages::Id))
                .col(big_integer(Messages::ConversationId))
                .col(big_integer(Messages::Seq))
                .col(big_integer(Messages::SenderId))
                .col(text(Messages::Content))
                .col(string(Messages::Kind).default("text"))
                .col(boolean(Messages::IsEncrypted).default(false))
                .col(string_null(Messages::ClientRef))
                .col(timestamp_with_time_zone(Messages::CreatedAt))
                .col(timestamp_with_time_zone(Messages::UpdatedAt))
                .col(timestamp_with_time_zone_null(Messages::DeletedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Messages::Table, Messages::ConversationId)
                        .to(Conversations::Table, Conversations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Messages::Table, Messages::SenderId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // History pages walk (conversation, seq); the unique index also guards the
        // sequence against two writers.
        m.create_index(
            Index::create()
                .name("uq_messages_conversation_seq")
                .table(Messages::Table)
                .col(Messages::ConversationId)
                .col(Messages::Seq)
                .unique()
                .to_owned(),
        )
        .await?;
        index(
            m,
            "idx_messages_sender_created",
            Messages::Table,
            &[Messages::SenderId, Messages::CreatedAt],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Reactions::Table)
                .col(big_integer(Reactions::MessageId))
                .col(big_integer(Reactions::UserId))
                .col(string(Reactions::Reaction))
                .col(timestamp_with_time_zone(Reactions::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(Reactions::MessageId)
                        .col(Reactions::UserId)
                        .col(Reactions::Reaction),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Reactions::Table, Reactions::MessageId)
                        .to(Messages::Table, Messages::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Reactions::Table, Reactions::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Calls::Table)
                .col(big_pk_auto(Calls::Id))
                .col(big_integer(Calls::CallerId))
                .col(big_integer(Calls::CalleeId))
                .col(string(Calls::CallType))
                .col(string(Calls::Status))
                .col(string(Calls::RoomName))
                .col(string_null(Calls::EndReason))
                .col(big_integer_null(Calls::EndedBy))
                .col(timestamp_with_time_zone(Calls::CreatedAt))
                .col(timestamp_with_time_zone_null(Calls::AnsweredAt))
                .col(timestamp_with_time_zone_null(Calls::EndedAt))
                .col(big_integer_null(Calls::DurationSecs))
                .foreign_key(
                    ForeignKey::create()
                        .from(Calls::Table, Calls::CallerId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Calls::Table, Calls::CalleeId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "idx_calls_caller",
            Calls::Table,
            &[Calls::CallerId, Calls::CreatedAt],
        )
        .await?;
        index(
            m,
            "idx_calls_callee",
            Calls::Table,
            &[Calls::CalleeId, Calls::CreatedAt],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Calls::Table.into_iden(),
            Reactions::Table.into_iden(),
            Messages::Table.into_iden(),
            Memberships::Table.into_iden(),
            Conversations::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            EmailVerifications::Table.into_iden(),
            Users::Table.into_iden(),
            Organizations::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

async fn index<T: IntoIden + Copy, C: IntoIden + Copy>(
    m: &SchemaManager<'_>,
    name: &str,
    table: T,
    cols: &[C],
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for c in cols {
        stmt.col(*c);
    }
    m.create_index(stmt.to_owned()).await
}

#[derive(DeriveIden, Clone, Copy)]
enum Organizations {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
    OrganizationId,
    Name,
    Username,
    Email,
    PasswordHash,
    Role,
    EmailVerified,
    Avatar,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum EmailVerifications {
    Table,
    Id,
    UserId,
    TokenHash,
    CodeHash,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RefreshTokens {
    Table,
    Id,
    UserId,
    Jti,
    Family,
    ExpiresAt,
    RevokedAt,
    Rotated,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    Jti,
    Kind,
    Scope,
    ExpiresAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Conversations {
    Table,
    Id,
    Kind,
    Name,
    Description,
    OrganizationId,
    AdminId,
    IsPrivate,
    DirectKey,
    LastSeq,
    LastMessageAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Memberships {
    Table,
    ConversationId,
    UserId,
    Role,
    ReadSeq,
    JoinedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Messages {
    Table,
    Id,
    ConversationId,
    Seq,
    SenderId,
    Content,
    Kind,
    IsEncrypted,
    ClientRef,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Reactions {
    Table,
    MessageId,
    UserId,
    Reaction,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Calls {
    Table,
    Id,
    CallerId,
    CalleeId,
    CallType,
    Status,
    RoomName,
    EndReason,
    EndedBy,
    CreatedAt,
    AnsweredAt,
    EndedAt,
    DurationSecs,
}
