//! Accounts: users, their saved addresses, refresh tokens and one-time tokens.
//!
//! Design:
//! - `id` is an internal integer key used for joins only; `pid` (UUID v4) is the only id that
//!   leaves the server (API.md: "Sequential database ids are never exposed").
//! - `email` is stored lower-cased and is unique, so the uniqueness check is the index itself.
//! - Tokens (refresh, verification, reset) are stored as SHA-256 hashes: a database leak does not
//!   hand out live tokens.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Pid,
    Email,
    PasswordHash,
    FirstName,
    LastName,
    Role,
    Active,
    EmailVerifiedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Addresses {
    Table,
    Id,
    Pid,
    UserId,
    Line1,
    Line2,
    City,
    PostalCode,
    Country,
    Phone,
    IsDefault,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    UserId,
    TokenHash,
    Family,
    ExpiresAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum UserTokens {
    Table,
    Id,
    UserId,
    Kind,
    TokenHash,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(pk_auto(Users::Id))
                .col(uuid_uniq(Users::Pid))
                .col(string_len_uniq(Users::Email, 254))
                .col(string(Users::PasswordHash))
                .col(string_len(Users::FirstName, 100))
                .col(string_len(Users::LastName, 100))
                .col(string_len(Users::Role, 32))
                .col(boolean(Users::Active).default(true))
                .col(timestamp_with_time_zone_null(Users::EmailVerifiedAt))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt))
                .to_owned(),
        )
        .await?;
        // The admin users page filters by role and sorts by creation time.
        m.create_index(
            Index::create()
                .name("idx_users_role_created")
                .table(Users::Table)
                .col(Users::Role)
                .col(Users::CreatedAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Addresses::Table)
                .col(pk_auto(Addresses::Id))
                .col(uuid_uniq(Addresses::Pid))
                .col(integer(Addresses::UserId))
                .col(string_len(Addresses::Line1, 200))
                .col(string_len(Addresses::Line2, 200))
                .col(string_len(Addresses::City, 100))
                .col(string_len(Addresses::PostalCode, 20))
                .col(string_len(Addresses::Country, 2))
                .col(string_len(Addresses::Phone, 32))
                .col(boolean(Addresses::IsDefault).default(false))
                .col(timestamp_with_time_zone(Addresses::CreatedAt))
                .col(timestamp_with_time_zone(Addresses::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Addresses::Table, Addresses::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_addresses_user")
                .table(Addresses::Table)
                .col(Addresses::UserId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RefreshTokens::Table)
                .col(pk_auto(RefreshTokens::Id))
                .col(integer(RefreshTokens::UserId))
                .col(string_len_uniq(RefreshTokens::TokenHash, 64))
                // All tokens descending from one login share a family; presenting a rotated
                // (already used) token revokes the whole family (token theft detection).
                .col(uuid(RefreshTokens::Family))
                .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                .col(timestamp_with_time_zone_null(RefreshTokens::RevokedAt))
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
        m.create_index(
            Index::create()
                .name("idx_refresh_tokens_family")
                .table(RefreshTokens::Table)
                .col(RefreshTokens::Family)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_refresh_tokens_user")
                .table(RefreshTokens::Table)
                .col(RefreshTokens::UserId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(UserTokens::Table)
                .col(pk_auto(UserTokens::Id))
                .col(integer(UserTokens::UserId))
                .col(string_len(UserTokens::Kind, 32))
                .col(string_len_uniq(UserTokens::TokenHash, 64))
                .col(timestamp_with_time_zone(UserTokens::ExpiresAt))
                .col(timestamp_with_time_zone_null(UserTokens::UsedAt))
                .col(timestamp_with_time_zone(UserTokens::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(UserTokens::Table, UserTokens::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_user_tokens_user_kind")
                .table(UserTokens::Table)
                .col(UserTokens::UserId)
                .col(UserTokens::Kind)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            UserTokens::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            Addresses::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
