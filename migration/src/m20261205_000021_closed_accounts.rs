//! When an account was closed (issue 20). A closed account is kept, anonymised, for the orders
//! that point at it; the mark makes closing final: an admin cannot reopen it, give it an
//! address or mail it a reset link.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Email,
    ClosedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(timestamp_with_time_zone_null(Users::ClosedAt))
                .to_owned(),
        )
        .await?;
        // Accounts closed before the mark existed carry the address closing gives them.
        m.exec_stmt(
            Query::update()
                .table(Users::Table)
                .value(Users::ClosedAt, Expr::current_timestamp())
                .and_where(Expr::col(Users::Email).like("closed-%@closed.invalid"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .drop_column(Users::ClosedAt)
                .to_owned(),
        )
        .await
    }
}
