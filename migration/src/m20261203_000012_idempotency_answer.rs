//! The answer of an idempotent request, written by its use-case in the transaction of its
//! effect (issue 18): a retry after a crash between that commit and the stored response
//! repeats it exactly, without a view to rebuild it from.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    OutcomeBody,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(IdempotencyKeys::Table)
                .add_column(binary_null(IdempotencyKeys::OutcomeBody))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(IdempotencyKeys::Table)
                .drop_column(IdempotencyKeys::OutcomeBody)
                .to_owned(),
        )
        .await
    }
}
