//! Idempotency claims survive the death of the process that holds them (issue 18): a claim is
//! leased by one attempt (renewed while its request runs), every write transaction of that
//! attempt stamps the claim in the same transaction, and what it produced is named there, so
//! a retry after a crash can tell "nothing happened" (run again) from "it happened" (answer it).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Attempt,
    LockedUntil,
    EffectAt,
    Outcome,
    OutcomeStatus,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        for col in [
            string_len(IdempotencyKeys::Attempt, 36)
                .default("")
                .to_owned(),
            timestamp_with_time_zone_null(IdempotencyKeys::LockedUntil),
            timestamp_with_time_zone_null(IdempotencyKeys::EffectAt),
            string_len_null(IdempotencyKeys::Outcome, 120),
            integer_null(IdempotencyKeys::OutcomeStatus),
        ] {
            let mut col = col;
            m.alter_table(
                Table::alter()
                    .table(IdempotencyKeys::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            IdempotencyKeys::OutcomeStatus,
            IdempotencyKeys::Outcome,
            IdempotencyKeys::EffectAt,
            IdempotencyKeys::LockedUntil,
            IdempotencyKeys::Attempt,
        ] {
            m.alter_table(
                Table::alter()
                    .table(IdempotencyKeys::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
