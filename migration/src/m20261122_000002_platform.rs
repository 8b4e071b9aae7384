//! Platform tables: web sessions, idempotency records, the mail outbox and failed jobs.
//!
//! Design:
//! - `sessions` backs tower-sessions for every web process (SQLite or PostgreSQL alike).
//! - `idempotency_keys` is unique on (owner, key): the insert itself is the lock that stops two
//!   concurrent requests with the same key from both running.
//! - `mail_outbox` is written in the same transaction as the change that causes a mail, so a
//!   crash can never lose or invent a mail (transactional outbox); delivery is a job.
//! - `dead_jobs` records jobs of the in-process backend that exhausted their retries (the Redis
//!   backend keeps Sidekiq's own dead set).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    Data,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    Owner,
    Key,
    RequestHash,
    State,
    ResponseStatus,
    ResponseHeaders,
    ResponseBody,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    Id,
    Pid,
    Kind,
    ToAddress,
    Subject,
    TextBody,
    HtmlBody,
    Status,
    Attempts,
    LastError,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum DeadJobs {
    Table,
    Id,
    Pid,
    Kind,
    Payload,
    Error,
    Attempts,
    FailedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(string_len(Sessions::Id, 64).primary_key())
                .col(text(Sessions::Data))
                .col(big_integer(Sessions::ExpiresAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_sessions_expires")
                .table(Sessions::Table)
                .col(Sessions::ExpiresAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(pk_auto(IdempotencyKeys::Id))
                .col(string_len(IdempotencyKeys::Owner, 100))
                .col(string_len(IdempotencyKeys::Key, 255))
                .col(string_len(IdempotencyKeys::RequestHash, 64))
                .col(string_len(IdempotencyKeys::State, 16))
                .col(integer_null(IdempotencyKeys::ResponseStatus))
                .col(text_null(IdempotencyKeys::ResponseHeaders))
                .col(binary_null(IdempotencyKeys::ResponseBody))
                .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_idempotency_owner_key")
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::Owner)
                .col(IdempotencyKeys::Key)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_idempotency_created")
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::CreatedAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(MailOutbox::Table)
                .col(pk_auto(MailOutbox::Id))
                .col(uuid_uniq(MailOutbox::Pid))
                .col(string_len(MailOutbox::Kind, 50))
                .col(string_len(MailOutbox::ToAddress, 254))
                .col(string_len(MailOutbox::Subject, 300))
                .col(text(MailOutbox::TextBody))
                .col(text(MailOutbox::HtmlBody))
                .col(string_len(MailOutbox::Status, 16))
                .col(integer(MailOutbox::Attempts).default(0))
                .col(text_null(MailOutbox::LastError))
                .col(timestamp_with_time_zone(MailOutbox::CreatedAt))
                .col(timestamp_with_time_zone_null(MailOutbox::SentAt))
                .to_owned(),
        )
        .await?;
        // The redelivery sweep looks for pending mail by age; the outbox page lists newest first.
        m.create_index(
            Index::create()
                .name("idx_mail_outbox_status_created")
                .table(MailOutbox::Table)
                .col(MailOutbox::Status)
                .col(MailOutbox::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_mail_outbox_created")
                .table(MailOutbox::Table)
                .col(MailOutbox::CreatedAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(DeadJobs::Table)
                .col(pk_auto(DeadJobs::Id))
                .col(uuid_uniq(DeadJobs::Pid))
                .col(string_len(DeadJobs::Kind, 64))
                .col(text(DeadJobs::Payload))
                .col(text(DeadJobs::Error))
                .col(integer(DeadJobs::Attempts))
                .col(timestamp_with_time_zone(DeadJobs::FailedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            DeadJobs::Table.into_iden(),
            MailOutbox::Table.into_iden(),
            IdempotencyKeys::Table.into_iden(),
            Sessions::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
