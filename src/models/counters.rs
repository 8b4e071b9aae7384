//! Gap-free sequential numbers (orders, invoices, purchase orders).
//!
//! `next` bumps the counter row inside the caller's transaction. The row stays locked until
//! that transaction ends (PostgreSQL row lock; SQLite's single writer), so numbers are handed
//! out in commit order, and a transaction that rolls back gives its number back: no gaps.
use sea_orm::{
    sea_query::{Expr, ExprTrait, OnConflict, Query},
    ConnectionTrait,
};

use super::_entities::counters;
use crate::errors::{AppError, AppResult};

/// The next number of sequence `name`, starting at `first`.
///
/// # Errors
/// Database errors.
pub async fn next<C: ConnectionTrait>(db: &C, name: &str, first: i64) -> AppResult<i64> {
    let stmt = Query::insert()
        .into_table(counters::Entity)
        .columns([counters::Column::Name, counters::Column::Value])
        .values_panic([name.into(), first.into()])
        .on_conflict(
            OnConflict::column(counters::Column::Name)
                .value(
                    counters::Column::Value,
                    Expr::col((counters::Entity, counters::Column::Value)).add(1),
                )
                .to_owned(),
        )
        .returning_col(counters::Column::Value)
        .to_owned();
    let row = db
        .query_one(&stmt)
        .await?
        .ok_or_else(|| AppError::Internal("counter update returned no row".into()))?;
    Ok(row.try_get("", "value")?)
}
