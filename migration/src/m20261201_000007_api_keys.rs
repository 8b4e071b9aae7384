//! API keys for third parties: shown once, stored as a SHA-256 hash, found by a public prefix.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Pid,
    Name,
    Prefix,
    SecretHash,
    Scopes,
    CreatedBy,
    LastUsedAt,
    RevokedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ApiKeys::Table)
                .col(pk_auto(ApiKeys::Id))
                .col(uuid_uniq(ApiKeys::Pid))
                .col(string_len(ApiKeys::Name, 120))
                // The key's first characters, shown in lists and used to find the row.
                .col(string_len_uniq(ApiKeys::Prefix, 16))
                .col(string_len(ApiKeys::SecretHash, 64))
                .col(string_len(ApiKeys::Scopes, 200))
                .col(integer(ApiKeys::CreatedBy))
                .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ApiKeys::Table, ApiKeys::CreatedBy)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_api_keys_created_by")
                .table(ApiKeys::Table)
                .col(ApiKeys::CreatedBy)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ApiKeys::Table).to_owned())
            .await
    }
}
