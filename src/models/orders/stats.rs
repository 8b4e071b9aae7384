//! The summaries the order steps keep for the back office (migration 22): orders by status and
//! sales by day. A year of a busy shop is a million orders; counting them per page view would
//! read them all. Every write that changes what a summary counts updates it in the same
//! transaction, so a crash leaves both or neither, and the summaries equal what counting the
//! orders would give ([`recount`] proves it and repairs a database changed by hand).
//!
//! Rows are split into shards by order id, so two checkouts or payments at the same moment
//! rarely wait on the same row. Rows are always taken in one order, so two steps never wait
//! on each other's rows crosswise (a PostgreSQL deadlock): after the variants (stock), first
//! `daily_sales` ([`sale_changed`], [`refunded`]), then `order_status_counts`
//! ([`status_moved`]); within a table by day or status, then shard.
use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use sea_orm::{
    sea_query::{Alias, Expr, OnConflict, Query},
    ConnectionTrait, DatabaseConnection, Statement,
};

use crate::{domain::order_status::OrderStatus, errors::AppResult, models::_entities::orders};

const SHARDS: i32 = 8;

fn shard(order_id: i32) -> i32 {
    order_id.rem_euclid(SHARDS)
}

/// Adds `delta` to the count of `status` (in the order's shard).
async fn add_count(
    db: &impl ConnectionTrait,
    order_id: i32,
    status: OrderStatus,
    delta: i64,
) -> AppResult<()> {
    let table = Alias::new("order_status_counts");
    let stmt = Query::insert()
        .into_table(table.clone())
        .columns([Alias::new("status"), Alias::new("shard"), Alias::new("n")])
        .values_panic([status.as_str().into(), shard(order_id).into(), delta.into()])
        .on_conflict(
            OnConflict::columns([Alias::new("status"), Alias::new("shard")])
                .value(
                    Alias::new("n"),
                    Expr::cust("order_status_counts.n + excluded.n"),
                )
                .to_owned(),
        )
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// Records that an order entered `to` (from `from`, or newly placed).
///
/// # Errors
/// Database errors.
pub async fn status_moved(
    db: &impl ConnectionTrait,
    order_id: i32,
    from: Option<OrderStatus>,
    to: OrderStatus,
) -> AppResult<()> {
    if from == Some(to) {
        return Ok(());
    }
    let mut moves: Vec<(OrderStatus, i64)> = from.map(|f| (f, -1)).into_iter().collect();
    moves.push((to, 1));
    moves.sort_by_key(|(s, _)| s.as_str());
    for (status, delta) in moves {
        add_count(db, order_id, status, delta).await?;
    }
    Ok(())
}

/// What of an order the sales figures read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaleState {
    pub status: OrderStatus,
    pub paid_at: Option<DateTime<FixedOffset>>,
    pub total_cents: i64,
    pub refunded_cents: i64,
}

impl SaleState {
    #[must_use]
    pub fn of(order: &orders::Model) -> Self {
        Self {
            status: order.status.parse().unwrap_or(OrderStatus::Pending),
            paid_at: order.paid_at,
            total_cents: order.total_cents,
            refunded_cents: order.refunded_cents,
        }
    }

    /// The day it counts on and what it kept, when it counts as a sale.
    fn sale(&self) -> Option<(NaiveDate, i64)> {
        let paid = self.paid_at?;
        self.status.is_sale().then(|| {
            (
                paid.with_timezone(&Utc).date_naive(),
                self.total_cents - self.refunded_cents,
            )
        })
    }
}

async fn add_sales(
    db: &impl ConnectionTrait,
    order_id: i32,
    day: NaiveDate,
    orders: i64,
    revenue_cents: i64,
) -> AppResult<()> {
    let stmt = Query::insert()
        .into_table(Alias::new("daily_sales"))
        .columns([
            Alias::new("day"),
            Alias::new("shard"),
            Alias::new("orders"),
            Alias::new("revenue_cents"),
        ])
        .values_panic([
            day.format("%Y-%m-%d").to_string().into(),
            shard(order_id).into(),
            orders.into(),
            revenue_cents.into(),
        ])
        .on_conflict(
            OnConflict::columns([Alias::new("day"), Alias::new("shard")])
                .values([
                    (
                        Alias::new("orders"),
                        Expr::cust("daily_sales.orders + excluded.orders"),
                    ),
                    (
                        Alias::new("revenue_cents"),
                        Expr::cust("daily_sales.revenue_cents + excluded.revenue_cents"),
                    ),
                ])
                .to_owned(),
        )
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// Records a change of what an order counts for in the sales figures (paid, refunded in part
/// or whole, cancelled after payment). Nothing is written when nothing changed.
///
/// # Errors
/// Database errors.
pub async fn sale_changed(
    db: &impl ConnectionTrait,
    order_id: i32,
    before: SaleState,
    after: SaleState,
) -> AppResult<()> {
    let (was, is) = (before.sale(), after.sale());
    if was == is {
        return Ok(());
    }
    let mut changes: BTreeMap<NaiveDate, (i64, i64)> = BTreeMap::new();
    if let Some((day, kept)) = was {
        let e = changes.entry(day).or_default();
        e.0 -= 1;
        e.1 -= kept;
    }
    if let Some((day, kept)) = is {
        let e = changes.entry(day).or_default();
        e.0 += 1;
        e.1 += kept;
    }
    for (day, (orders, revenue)) in changes {
        if (orders, revenue) != (0, 0) {
            add_sales(db, order_id, day, orders, revenue).await?;
        }
    }
    Ok(())
}

/// Records `amount` more given back on `order` (the row as it was before, read under its lock).
///
/// # Errors
/// Database errors.
pub async fn refunded(
    db: &impl ConnectionTrait,
    order: &orders::Model,
    amount: i64,
) -> AppResult<()> {
    let before = SaleState::of(order);
    let after = SaleState {
        refunded_cents: before.refunded_cents + amount,
        ..before
    };
    sale_changed(db, order.id, before, after).await
}

/// Orders by status (statuses without orders are absent).
///
/// # Errors
/// Database errors.
pub async fn counts_by_status(db: &impl ConnectionTrait) -> AppResult<BTreeMap<String, i64>> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT status, CAST(SUM(n) AS BIGINT) AS n FROM order_status_counts GROUP BY status",
        ))
        .await?;
    let mut out = BTreeMap::new();
    for r in rows {
        let n: i64 = r.try_get("", "n")?;
        if n != 0 {
            out.insert(r.try_get::<String>("", "status")?, n);
        }
    }
    Ok(out)
}

/// How many orders there are, in `status` or in all.
///
/// # Errors
/// Database errors.
pub async fn count(db: &impl ConnectionTrait, status: Option<OrderStatus>) -> AppResult<u64> {
    let counts = counts_by_status(db).await?;
    let n = match status {
        Some(s) => counts.get(s.as_str()).copied().unwrap_or(0),
        None => counts.values().sum(),
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Sales per day from `first` to `last` (inclusive): `(orders, revenue_cents)` for the days
/// that had any.
///
/// # Errors
/// Database errors.
pub async fn sales_by_day(
    db: &impl ConnectionTrait,
    first: NaiveDate,
    last: NaiveDate,
) -> AppResult<BTreeMap<NaiveDate, (i64, i64)>> {
    let backend = db.get_database_backend();
    let sql = "SELECT day, CAST(SUM(orders) AS BIGINT) AS orders, \
               CAST(SUM(revenue_cents) AS BIGINT) AS revenue FROM daily_sales \
               WHERE day >= ? AND day <= ? GROUP BY day";
    let sql = if backend == sea_orm::DatabaseBackend::Postgres {
        sql.replacen('?', "$1", 1).replacen('?', "$2", 1)
    } else {
        sql.to_string()
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                first.format("%Y-%m-%d").to_string().into(),
                last.format("%Y-%m-%d").to_string().into(),
            ],
        ))
        .await?;
    let mut out = BTreeMap::new();
    for r in rows {
        let day: String = r.try_get("", "day")?;
        if let Ok(d) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") {
            out.insert(d, (r.try_get("", "orders")?, r.try_get("", "revenue")?));
        }
    }
    Ok(out)
}

async fn all_sales(db: &impl ConnectionTrait) -> AppResult<BTreeMap<NaiveDate, (i64, i64)>> {
    let first = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or_default();
    let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default();
    sales_by_day(db, first, last).await
}

/// Counts both summaries again from the orders and replaces them, in one transaction (a
/// repair after orders were changed outside the use-cases, e.g. by hand in SQL); returns
/// whether they had drifted.
///
/// # Errors
/// Database errors.
pub async fn recount(db: &DatabaseConnection) -> AppResult<bool> {
    let txn = crate::models::db::write_txn(db).await?;
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // Order steps wait until the recount commits, and apply their change after it: the
        // orders they have not committed yet are not in the recount's snapshot either.
        txn.execute_unprepared("LOCK TABLE daily_sales, order_status_counts IN EXCLUSIVE MODE")
            .await?;
    }
    let before = (counts_by_status(&txn).await?, all_sales(&txn).await?);
    let day = match txn.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => "to_char(paid_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        _ => "strftime('%Y-%m-%d', paid_at)",
    };
    let sold: Vec<String> = OrderStatus::sale_names()
        .into_iter()
        .map(|s| format!("'{s}'"))
        .collect();
    for sql in [
        "DELETE FROM order_status_counts".to_string(),
        format!(
            "INSERT INTO order_status_counts (status, shard, n) \
             SELECT status, id % {SHARDS}, COUNT(*) FROM orders GROUP BY status, id % {SHARDS}"
        ),
        "DELETE FROM daily_sales".to_string(),
        format!(
            "INSERT INTO daily_sales (day, shard, orders, revenue_cents) \
             SELECT {day}, id % {SHARDS}, COUNT(*), SUM(total_cents - refunded_cents) FROM orders \
             WHERE status IN ({}) AND paid_at IS NOT NULL GROUP BY {day}, id % {SHARDS}",
            sold.join(", ")
        ),
    ] {
        txn.execute_unprepared(&sql).await?;
    }
    let after = (counts_by_status(&txn).await?, all_sales(&txn).await?);
    txn.commit().await?;
    Ok(before != after)
}
