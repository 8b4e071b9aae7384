//! Account security (issue 16).
//!
//! Design:
//! - `users.session_version` is bumped whenever every other session of the user must end
//!   (password change or reset, two-factor login turned on, deactivation, "sign out everywhere
//!   else"). Browser sessions, access tokens and refresh tokens carry the version they were
//!   opened under and stop working once it is stale: one comparison against the user row that
//!   every authenticated request loads anyway, no list of sessions to hunt down.
//! - `users.session_kept_family` is the API session (refresh-token family) that asked for the
//!   last bump and so keeps working under the old version; NULL when a browser asked, whose own
//!   session is moved to the new version instead.
//! - TOTP and webhook signing secrets are now stored sealed (`crate::sealing`), which is longer
//!   than the plain values their columns were sized for. PostgreSQL enforces the length, so the
//!   columns widen there; SQLite does not (and cannot alter a column's type).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    SessionVersion,
    SessionKeptFamily,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    SessionVersion,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(big_integer(Users::SessionVersion).default(0))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(uuid_null(Users::SessionKeptFamily))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(RefreshTokens::Table)
                .add_column(big_integer(RefreshTokens::SessionVersion).default(0))
                .to_owned(),
        )
        .await?;
        if m.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            let db = m.get_connection();
            db.execute_unprepared("ALTER TABLE users ALTER COLUMN totp_secret TYPE varchar(255)")
                .await?;
            db.execute_unprepared(
                "ALTER TABLE webhook_endpoints ALTER COLUMN secret TYPE varchar(255)",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(RefreshTokens::Table)
                .drop_column(RefreshTokens::SessionVersion)
                .to_owned(),
        )
        .await?;
        for col in [Users::SessionKeptFamily, Users::SessionVersion] {
            m.alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
