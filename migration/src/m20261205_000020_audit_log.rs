//! The audit log (issue 20): who changed what in the back office, when, and the values before
//! and after. Rows are written in the transaction of the change they describe, so a change and
//! its record commit together or not at all. The actor is kept by label and by user id (not a
//! foreign key: the log outlives deleted accounts), so a closed account's rows can be found
//! and anonymised.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    Pid,
    ActorId,
    Actor,
    Action,
    TargetType,
    TargetId,
    Before,
    After,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .if_not_exists()
                .col(pk_auto(AuditLog::Id))
                .col(uuid_uniq(AuditLog::Pid))
                .col(uuid_null(AuditLog::ActorId))
                .col(string_len(AuditLog::Actor, 320))
                .col(string_len(AuditLog::Action, 64))
                .col(string_len(AuditLog::TargetType, 32))
                .col(string_len(AuditLog::TargetId, 64))
                .col(text_null(AuditLog::Before))
                .col(text_null(AuditLog::After))
                .col(timestamp_with_time_zone(AuditLog::At))
                .to_owned(),
        )
        .await?;
        // The filters of `GET /admin/audit-log` and the customer page, newest first.
        m.create_index(
            Index::create()
                .name("idx_audit_log_target")
                .table(AuditLog::Table)
                .col(AuditLog::TargetType)
                .col(AuditLog::TargetId)
                .col(AuditLog::Id)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_audit_log_actor")
                .table(AuditLog::Table)
                .col(AuditLog::ActorId)
                .col(AuditLog::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await
    }
}
