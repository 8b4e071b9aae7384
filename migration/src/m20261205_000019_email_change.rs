//! E-mail change (issue 20): the confirmation link sent to the new address carries the
//! address it confirms, on the one-time token itself, so nothing about the account changes
//! until the link is followed.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UserTokens {
    Table,
    NewEmail,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(UserTokens::Table)
                .add_column(string_len_null(UserTokens::NewEmail, 254))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(UserTokens::Table)
                .drop_column(UserTokens::NewEmail)
                .to_owned(),
        )
        .await
    }
}
