//! The address book (issue 19): several addresses per customer, one default for shipping (the
//! existing `is_default`, which `/me/address` has always shown) and one for billing. The
//! partial unique indexes keep it to at most one default of each kind, whoever races.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Addresses {
    Table,
    IsDefaultBilling,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Addresses::Table)
                .add_column(boolean(Addresses::IsDefaultBilling).default(false))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        // Two requests setting the default at once could each leave one before this index
        // existed; the oldest stays the default, or the index below could not be made.
        db.execute_unprepared(
            "UPDATE addresses SET is_default = false WHERE is_default AND id > \
             (SELECT MIN(o.id) FROM addresses o WHERE o.user_id = addresses.user_id AND o.is_default)",
        )
        .await?;
        // Until now a customer had one address, used for both.
        db.execute_unprepared("UPDATE addresses SET is_default_billing = is_default")
            .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX uq_addresses_default_shipping ON addresses (user_id) WHERE is_default",
        )
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX uq_addresses_default_billing ON addresses (user_id) WHERE is_default_billing",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS uq_addresses_default_shipping")
            .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS uq_addresses_default_billing")
            .await?;
        m.alter_table(
            Table::alter()
                .table(Addresses::Table)
                .drop_column(Addresses::IsDefaultBilling)
                .to_owned(),
        )
        .await
    }
}
