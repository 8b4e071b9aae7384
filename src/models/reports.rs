//! The admin dashboard's figures: sales today / 7 / 30 days, daily sales for the chart, and
//! the best-selling products. Sales are orders that were paid (paid, shipped or completed,
//! by the time they were paid), in the shop's currency.
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{
    sea_query::{Expr, Func, Query},
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;

use super::_entities::{order_lines, orders};
use crate::{domain::order_status::OrderStatus, errors::AppResult};

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Period {
    pub orders: i64,
    pub revenue_cents: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sales {
    pub today: Period,
    pub week: Period,
    pub month: Period,
    /// The last 30 days, oldest first (days without sales are zero).
    pub daily: Vec<(NaiveDate, Period)>,
}

/// # Errors
/// Database errors.
pub async fn sales(db: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<Sales> {
    let today = now.date_naive();
    let first = today - Duration::days(29);
    // The summary the order steps keep (`orders::stats`): at most 30 × 8 rows, however
    // many orders the month had.
    let days = super::orders::stats::sales_by_day(db, first, today).await?;
    let by_day: BTreeMap<NaiveDate, Period> = (0..30)
        .map(|i| {
            let day = first + Duration::days(i);
            let (orders, revenue_cents) = days.get(&day).copied().unwrap_or_default();
            (
                day,
                Period {
                    orders,
                    revenue_cents,
                },
            )
        })
        .collect();
    let sum = |from: NaiveDate| {
        by_day
            .range(from..)
            .fold(Period::default(), |acc, (_, p)| Period {
                orders: acc.orders + p.orders,
                revenue_cents: acc.revenue_cents + p.revenue_cents,
            })
    };
    Ok(Sales {
        today: sum(today),
        week: sum(today - Duration::days(6)),
        month: sum(first),
        daily: by_day.into_iter().collect(),
    })
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct TopProduct {
    pub name: String,
    pub sku: String,
    pub units: i64,
}

/// How long the dashboard's best sellers are kept (the page says so).
pub const BEST_SELLERS_SECS: u64 = 300;

/// [`top_products`] as the dashboard shows them: counted at most every
/// [`BEST_SELLERS_SECS`] (shared by the web processes through the cache), because counting
/// reads every line sold in 30 days — a few hundred thousand in a busy shop — while a ranking
/// of a month hardly moves in five minutes. One request per process counts; the others wait
/// for its answer rather than count too.
///
/// # Errors
/// Database errors.
pub async fn best_sellers(
    ctx: &loco_rs::app::AppContext,
    now: DateTime<Utc>,
    limit: u64,
) -> AppResult<Vec<TopProduct>> {
    use crate::resilience::CACHE;
    static COUNTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let key = format!("emporium:report:best-sellers:{limit}");
    let cached = || async {
        CACHE
            .call(ctx.cache.get::<Vec<TopProduct>>(&key))
            .await
            .ok()
            .flatten()
    };
    if let Some(hit) = cached().await {
        return Ok(hit);
    }
    let _counting = COUNTING.lock().await;
    if let Some(hit) = cached().await {
        return Ok(hit);
    }
    let fresh = top_products(&ctx.db, now, limit).await?;
    if let Err(e) = CACHE
        .call(ctx.cache.insert_with_expiry(
            &key,
            &fresh,
            std::time::Duration::from_secs(BEST_SELLERS_SECS),
        ))
        .await
    {
        tracing::warn!(error = %e, "could not keep the best sellers");
    }
    Ok(fresh)
}

/// The best sellers of the last 30 days by units.
///
/// # Errors
/// Database errors.
pub async fn top_products(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    limit: u64,
) -> AppResult<Vec<TopProduct>> {
    let since = now - Duration::days(30);
    let rows: Vec<(String, String, i64)> = order_lines::Entity::find()
        .select_only()
        .column(order_lines::Column::Name)
        .column(order_lines::Column::Sku)
        .column_as(
            Expr::from(Func::sum(Expr::col(order_lines::Column::Quantity))),
            "units",
        )
        .filter(
            order_lines::Column::OrderId.in_subquery(
                Query::select()
                    .column(orders::Column::Id)
                    .from(orders::Entity)
                    .and_where(orders::Column::Status.is_in(OrderStatus::sale_names()))
                    .and_where(orders::Column::PaidAt.gte(since.fixed_offset()))
                    .to_owned(),
            ),
        )
        .group_by(order_lines::Column::Name)
        .group_by(order_lines::Column::Sku)
        .order_by_desc(Expr::cust("units"))
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(name, sku, units)| TopProduct { name, sku, units })
        .collect())
}

/// A customer's lifetime value: their sold orders and what they paid, less refunds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Lifetime {
    pub orders: i64,
    pub spent_cents: i64,
}

/// # Errors
/// Database errors.
pub async fn lifetime_value(db: &DatabaseConnection, user_id: i32) -> AppResult<Lifetime> {
    // Refunded orders were sold and then paid back: they count for neither.
    let totals: Vec<i64> = orders::Entity::find()
        .select_only()
        .column(orders::Column::TotalCents)
        .filter(orders::Column::UserId.eq(user_id))
        .filter(orders::Column::Status.is_in(OrderStatus::sale_names()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(Lifetime {
        orders: i64::try_from(totals.len()).unwrap_or(i64::MAX),
        spent_cents: totals.iter().sum(),
    })
}
