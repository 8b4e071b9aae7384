//! Back office look-ups and deliveries in parts (issue 20): invoices are listed by date, and a
//! purchase order's lines count what of them has arrived, so a delivery in two boxes is two
//! receipts and the order is `partially_received` in between; an order sent by mistake is
//! cancelled, by whom and when.
use sea_orm_migration::{prelude::*, schema::*, sea_orm::ConnectionTrait};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invoices {
    Table,
    IssuedAt,
}

#[derive(DeriveIden)]
enum PurchaseOrders {
    Table,
    CancelledAt,
    CancelledBy,
}

#[derive(DeriveIden)]
enum PurchaseOrderLines {
    Table,
    ReceivedQuantity,
}

const INVOICES_ISSUED: &str = "idx_invoices_issued";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name(INVOICES_ISSUED)
                .table(Invoices::Table)
                .col(Invoices::IssuedAt)
                .to_owned(),
        )
        .await?;
        // `partially_received` is longer than the 16 characters statuses had; SQLite does not
        // enforce a VARCHAR's length, PostgreSQL does.
        if m.get_database_backend() == sea_orm::DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "ALTER TABLE purchase_orders ALTER COLUMN status TYPE varchar(32)",
                )
                .await?;
        }
        m.alter_table(
            Table::alter()
                .table(PurchaseOrders::Table)
                .add_column(timestamp_with_time_zone_null(PurchaseOrders::CancelledAt))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(PurchaseOrders::Table)
                .add_column(string_len_null(PurchaseOrders::CancelledBy, 300))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(PurchaseOrderLines::Table)
                .add_column(integer(PurchaseOrderLines::ReceivedQuantity).default(0))
                .to_owned(),
        )
        .await?;
        // Orders received before arrived whole.
        m.get_connection()
            .execute_unprepared(
                "UPDATE purchase_order_lines SET received_quantity = quantity \
                 WHERE purchase_order_id IN (SELECT id FROM purchase_orders WHERE status = 'received')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(PurchaseOrderLines::Table)
                .drop_column(PurchaseOrderLines::ReceivedQuantity)
                .to_owned(),
        )
        .await?;
        for col in [PurchaseOrders::CancelledBy, PurchaseOrders::CancelledAt] {
            m.alter_table(
                Table::alter()
                    .table(PurchaseOrders::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_index(
            Index::drop()
                .name(INVOICES_ISSUED)
                .table(Invoices::Table)
                .to_owned(),
        )
        .await
    }
}
