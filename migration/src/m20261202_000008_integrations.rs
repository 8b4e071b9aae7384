//! Outgoing webhooks, staff two-factor login and product imports.
//!
//! Design:
//! - A webhook delivery row is written in the same transaction as the change it reports
//!   (transactional outbox, as mail is): an event is sent if and only if its change committed.
//!   `event_id` is shared by every endpoint's delivery of one event and by redeliveries, so a
//!   receiver can de-duplicate on it.
//! - `next_attempt_at` is when the queue should try a pending delivery again; the sweep uses it
//!   to find deliveries whose retry was lost (a restarted in-process queue).
//! - The endpoint secret signs deliveries, so it must be readable: it is stored as issued.
//! - Mail gets the same lease as webhook deliveries (`locked_until`): a claimed mail is not
//!   claimed again until its attempt has ended or the lease has run out.
//! - The TOTP secret lives on the user; `totp_last_step` is the last accepted time step, so a
//!   code cannot be used twice. Recovery codes are stored as SHA-256 hashes, each usable once.
//! - A product import keeps the uploaded file until it has been applied, and its outcome
//!   (counts and row-level errors as JSON) afterwards; a successful outcome is written in the
//!   transaction that applies the file, so `running` long after `started_at` means nothing
//!   was applied.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    TotpSecret,
    TotpEnabledAt,
    TotpLastStep,
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    LockedUntil,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    Pid,
    Url,
    Description,
    Events,
    Secret,
    Active,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    Pid,
    EndpointId,
    EventId,
    Event,
    Payload,
    Status,
    Attempts,
    ResponseStatus,
    ResponseBody,
    LastError,
    DurationMs,
    NextAttemptAt,
    DeliveredAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ProductImports {
    Table,
    Id,
    Pid,
    Filename,
    Content,
    Status,
    TotalRows,
    CreatedCount,
    UpdatedCount,
    Errors,
    UpdateStock,
    CreatedBy,
    CreatedAt,
    StartedAt,
    FinishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(WebhookEndpoints::Table)
                .col(pk_auto(WebhookEndpoints::Id))
                .col(uuid_uniq(WebhookEndpoints::Pid))
                .col(string_len(WebhookEndpoints::Url, 2000))
                .col(string_len(WebhookEndpoints::Description, 200).default(""))
                // Comma-separated event names (`order.paid,product.changed`).
                .col(string_len(WebhookEndpoints::Events, 500))
                .col(string_len(WebhookEndpoints::Secret, 100))
                .col(boolean(WebhookEndpoints::Active).default(true))
                .col(integer_null(WebhookEndpoints::CreatedBy))
                .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookEndpoints::Table, WebhookEndpoints::CreatedBy)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhook_endpoints_created_by")
                .table(WebhookEndpoints::Table)
                .col(WebhookEndpoints::CreatedBy)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(WebhookDeliveries::Table)
                .col(pk_auto(WebhookDeliveries::Id))
                .col(uuid_uniq(WebhookDeliveries::Pid))
                .col(integer(WebhookDeliveries::EndpointId))
                .col(uuid(WebhookDeliveries::EventId))
                .col(string_len(WebhookDeliveries::Event, 50))
                .col(text(WebhookDeliveries::Payload))
                .col(string_len(WebhookDeliveries::Status, 16).default("pending"))
                .col(integer(WebhookDeliveries::Attempts).default(0))
                .col(small_integer_null(WebhookDeliveries::ResponseStatus))
                // The start of the receiver's answer, for the log (at most 1 KiB).
                .col(text_null(WebhookDeliveries::ResponseBody))
                .col(text_null(WebhookDeliveries::LastError))
                .col(integer_null(WebhookDeliveries::DurationMs))
                .col(timestamp_with_time_zone_null(
                    WebhookDeliveries::NextAttemptAt,
                ))
                .col(timestamp_with_time_zone_null(
                    WebhookDeliveries::DeliveredAt,
                ))
                .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                .col(timestamp_with_time_zone(WebhookDeliveries::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                        .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // The endpoint's log, newest first.
        m.create_index(
            Index::create()
                .name("idx_webhook_deliveries_endpoint_created")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::EndpointId)
                .col(WebhookDeliveries::CreatedAt)
                .to_owned(),
        )
        .await?;
        // The sweep: pending deliveries whose next attempt is overdue.
        m.create_index(
            Index::create()
                .name("idx_webhook_deliveries_status_next")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::Status)
                .col(WebhookDeliveries::NextAttemptAt)
                .to_owned(),
        )
        .await?;

        // A delivery attempt holds its mail until then, so a second worker (a sweep, a
        // redelivered job) cannot send the same mail while the first is still sending.
        m.alter_table(
            Table::alter()
                .table(MailOutbox::Table)
                .add_column(timestamp_with_time_zone_null(MailOutbox::LockedUntil))
                .to_owned(),
        )
        .await?;

        // SQLite alters one column per statement.
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(string_len_null(Users::TotpSecret, 64))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(timestamp_with_time_zone_null(Users::TotpEnabledAt))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(big_integer_null(Users::TotpLastStep))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RecoveryCodes::Table)
                .col(pk_auto(RecoveryCodes::Id))
                .col(integer(RecoveryCodes::UserId))
                .col(string_len(RecoveryCodes::CodeHash, 64))
                .col(timestamp_with_time_zone_null(RecoveryCodes::UsedAt))
                .col(timestamp_with_time_zone(RecoveryCodes::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(RecoveryCodes::Table, RecoveryCodes::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_recovery_codes_user_hash")
                .table(RecoveryCodes::Table)
                .col(RecoveryCodes::UserId)
                .col(RecoveryCodes::CodeHash)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ProductImports::Table)
                .col(pk_auto(ProductImports::Id))
                .col(uuid_uniq(ProductImports::Pid))
                .col(string_len(ProductImports::Filename, 200))
                // Emptied once the import has finished.
                .col(text(ProductImports::Content))
                .col(string_len(ProductImports::Status, 16))
                .col(integer(ProductImports::TotalRows).default(0))
                .col(integer(ProductImports::CreatedCount).default(0))
                .col(integer(ProductImports::UpdatedCount).default(0))
                .col(text(ProductImports::Errors).default("[]"))
                // Whether the file's stock column overwrites existing variants' stock (an
                // export edited for prices would otherwise undo the sales since it was made).
                .col(boolean(ProductImports::UpdateStock).default(false))
                .col(integer_null(ProductImports::CreatedBy))
                .col(timestamp_with_time_zone(ProductImports::CreatedAt))
                .col(timestamp_with_time_zone_null(ProductImports::StartedAt))
                .col(timestamp_with_time_zone_null(ProductImports::FinishedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ProductImports::Table, ProductImports::CreatedBy)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_product_imports_created_by")
                .table(ProductImports::Table)
                .col(ProductImports::CreatedBy)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ProductImports::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(RecoveryCodes::Table).to_owned())
            .await?;
        for col in [Users::TotpLastStep, Users::TotpEnabledAt, Users::TotpSecret] {
            m.alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(MailOutbox::Table)
                .drop_column(MailOutbox::LockedUntil)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned())
            .await
    }
}
