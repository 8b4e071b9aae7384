//! Partial refunds with credit notes (issue 19): a refund is a document of its own (what went
//! back, for which lines, why, under which credit-note number), besides the money movement
//! (its `transactions` row). Order lines count what of them was refunded, and orders what
//! money went back, so the limit "never more than was paid" is read from the row it locks.
use sea_orm_migration::{prelude::*, schema::*, sea_orm::ConnectionTrait};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Refunds {
    Table,
    Id,
    Pid,
    OrderId,
    TransactionId,
    AmountCents,
    Currency,
    Status,
    Restock,
    Cancels,
    Reason,
    Actor,
    CreditNoteNumber,
    FailureReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RefundLines {
    Table,
    Id,
    RefundId,
    OrderLineId,
    Quantity,
    AmountCents,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    RefundedCents,
}

#[derive(DeriveIden)]
enum OrderLines {
    Table,
    Id,
    RefundedQuantity,
}

#[derive(DeriveIden)]
enum Transactions {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // `partially_refunded` is longer than the 16 characters statuses had. SQLite does not
        // enforce a VARCHAR's length; PostgreSQL does.
        if m.get_database_backend() == sea_orm::DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "ALTER TABLE orders ALTER COLUMN status TYPE varchar(32); \
                     ALTER TABLE order_events ALTER COLUMN from_status TYPE varchar(32), \
                     ALTER COLUMN to_status TYPE varchar(32)",
                )
                .await?;
        }
        m.create_table(
            Table::create()
                .table(Refunds::Table)
                .col(pk_auto(Refunds::Id))
                .col(uuid_uniq(Refunds::Pid))
                .col(integer(Refunds::OrderId))
                .col(integer_null(Refunds::TransactionId))
                .col(big_integer(Refunds::AmountCents))
                .col(string_len(Refunds::Currency, 3))
                .col(string_len(Refunds::Status, 16))
                .col(boolean(Refunds::Restock).default(false))
                // The refund of an admin cancelling a paid order: done, it cancels the order.
                .col(boolean(Refunds::Cancels).default(false))
                .col(string_len(Refunds::Reason, 300).default(""))
                .col(string_len(Refunds::Actor, 200).default(""))
                .col(big_integer_null(Refunds::CreditNoteNumber).unique_key())
                .col(text_null(Refunds::FailureReason))
                .col(timestamp_with_time_zone(Refunds::CreatedAt))
                .col(timestamp_with_time_zone(Refunds::UpdatedAt))
                .check(Expr::col(Refunds::AmountCents).gt(0))
                .foreign_key(
                    ForeignKey::create()
                        .from(Refunds::Table, Refunds::OrderId)
                        .to(Orders::Table, Orders::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Refunds::Table, Refunds::TransactionId)
                        .to(Transactions::Table, Transactions::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_refunds_order")
                .table(Refunds::Table)
                .col(Refunds::OrderId)
                .to_owned(),
        )
        .await?;
        // The recovery sweep looks for refunds left pending by a process that died.
        m.create_index(
            Index::create()
                .name("idx_refunds_status_updated")
                .table(Refunds::Table)
                .col(Refunds::Status)
                .col(Refunds::UpdatedAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RefundLines::Table)
                .col(pk_auto(RefundLines::Id))
                .col(integer(RefundLines::RefundId))
                .col(integer(RefundLines::OrderLineId))
                .col(integer(RefundLines::Quantity))
                .col(big_integer(RefundLines::AmountCents))
                .check(Expr::col(RefundLines::Quantity).gt(0))
                .foreign_key(
                    ForeignKey::create()
                        .from(RefundLines::Table, RefundLines::RefundId)
                        .to(Refunds::Table, Refunds::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(RefundLines::Table, RefundLines::OrderLineId)
                        .to(OrderLines::Table, OrderLines::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_refund_lines_refund")
                .table(RefundLines::Table)
                .col(RefundLines::RefundId)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Orders::Table)
                .add_column(big_integer(Orders::RefundedCents).default(0))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(OrderLines::Table)
                .add_column(integer(OrderLines::RefundedQuantity).default(0))
                .to_owned(),
        )
        .await?;
        // Orders refunded before: what went back is in their refund transactions.
        m.get_connection()
            .execute_unprepared(
                "UPDATE orders SET refunded_cents = COALESCE((SELECT SUM(t.amount_cents) \
                 FROM transactions t WHERE t.order_id = orders.id AND t.kind = 'refund' \
                 AND t.status = 'succeeded'), 0)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(OrderLines::Table)
                .drop_column(OrderLines::RefundedQuantity)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Orders::Table)
                .drop_column(Orders::RefundedCents)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(RefundLines::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Refunds::Table).to_owned())
            .await
    }
}
