//! Payments: every payment attempt, success, failure and refund as a transaction row, and the
//! provider events already handled.
//!
//! Design:
//! - `transactions` is unique on (provider, kind, provider_ref): a payment session or a
//!   refund is recorded once however often its events arrive, and the row's status moves
//!   only by compare-and-set (`models::payments`).
//! - `payment_events` is unique on (provider, event_id): a webhook delivered twice finds its
//!   event already there and changes nothing.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Transactions {
    Table,
    Id,
    Pid,
    OrderId,
    Kind,
    Status,
    AmountCents,
    Currency,
    Provider,
    ProviderRef,
    PaymentRef,
    CheckoutUrl,
    FailureReason,
    ExpiresAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PaymentEvents {
    Table,
    Id,
    Provider,
    EventId,
    Kind,
    ReceivedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Transactions::Table)
                .col(pk_auto(Transactions::Id))
                .col(uuid_uniq(Transactions::Pid))
                .col(integer(Transactions::OrderId))
                .col(string_len(Transactions::Kind, 16))
                .col(string_len(Transactions::Status, 16))
                .col(big_integer(Transactions::AmountCents))
                .col(string_len(Transactions::Currency, 3))
                .col(string_len(Transactions::Provider, 16))
                // The provider's id of the session (payments) or the refund (refunds).
                .col(string_len(Transactions::ProviderRef, 255))
                // The provider's id of the captured payment (Stripe's payment intent), needed
                // to refund it.
                .col(string_len_null(Transactions::PaymentRef, 255))
                .col(text_null(Transactions::CheckoutUrl))
                .col(string_len_null(Transactions::FailureReason, 500))
                .col(timestamp_with_time_zone_null(Transactions::ExpiresAt))
                .col(timestamp_with_time_zone(Transactions::CreatedAt))
                .col(timestamp_with_time_zone(Transactions::UpdatedAt))
                .check(Expr::col(Transactions::AmountCents).gte(0))
                .foreign_key(
                    ForeignKey::create()
                        .from(Transactions::Table, Transactions::OrderId)
                        .to(Orders::Table, Orders::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_transactions_provider_ref")
                .table(Transactions::Table)
                .col(Transactions::Provider)
                .col(Transactions::Kind)
                .col(Transactions::ProviderRef)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_transactions_order")
                .table(Transactions::Table)
                .col(Transactions::OrderId)
                .col(Transactions::Id)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_transactions_payment_ref")
                .table(Transactions::Table)
                .col(Transactions::PaymentRef)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_transactions_created")
                .table(Transactions::Table)
                .col(Transactions::CreatedAt)
                .to_owned(),
        )
        .await?;

        // At most one open checkout session per order: two "Pay now" clicks at once cannot
        // open two sessions (and two payments) for one order.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX idx_transactions_open_session ON transactions (order_id) \
                 WHERE kind = 'payment' AND status = 'pending'",
            )
            .await?;

        m.create_table(
            Table::create()
                .table(PaymentEvents::Table)
                .col(pk_auto(PaymentEvents::Id))
                .col(string_len(PaymentEvents::Provider, 16))
                .col(string_len(PaymentEvents::EventId, 255))
                .col(string_len(PaymentEvents::Kind, 80))
                .col(timestamp_with_time_zone(PaymentEvents::ReceivedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_payment_events_event")
                .table(PaymentEvents::Table)
                .col(PaymentEvents::Provider)
                .col(PaymentEvents::EventId)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(PaymentEvents::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Transactions::Table).to_owned())
            .await
    }
}
