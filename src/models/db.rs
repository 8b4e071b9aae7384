//! Transactions that write.
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

/// Begins a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`: it takes the write
/// lock up front (waiting out `busy_timeout`), because a deferred transaction that reads and then
/// writes fails with "database is locked" when another writer got there in between. PostgreSQL
/// ignores the option.
///
/// # Errors
/// Database errors, including a lock that could not be had within the busy timeout.
pub async fn write_txn(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    // Inside a request sent with an Idempotency-Key, the claim learns in this very
    // transaction that something was written (see `models::idempotency`).
    super::idempotency::stamp(&txn).await?;
    Ok(txn)
}
