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

/// Orders that count as sales (a partly refunded one counts for what it kept).
const SOLD: [OrderStatus; 4] = [
    OrderStatus::Paid,
    OrderStatus::Shipped,
    OrderStatus::Completed,
    OrderStatus::PartiallyRefunded,
];

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
    let since = first.and_hms_opt(0, 0, 0).map_or(now, |t| t.and_utc());
    // One indexed read of the month's paid orders; summed and bucketed here, the same way on
    // SQLite and PostgreSQL.
    let rows: Vec<(Option<sea_orm::prelude::DateTimeWithTimeZone>, i64, i64)> =
        orders::Entity::find()
            .select_only()
            .columns([
                orders::Column::PaidAt,
                orders::Column::TotalCents,
                orders::Column::RefundedCents,
            ])
            .filter(orders::Column::Status.is_in(SOLD.map(OrderStatus::as_str)))
            .filter(orders::Column::PaidAt.gte(since.fixed_offset()))
            .into_tuple()
            .all(db)
            .await?;
    let mut by_day: BTreeMap<NaiveDate, Period> = (0..30)
        .map(|i| (first + Duration::days(i), Period::default()))
        .collect();
    for (paid_at, total, refunded) in rows {
        let total = total - refunded;
        let Some(day) = paid_at.map(|t| t.with_timezone(&Utc).date_naive()) else {
            continue;
        };
        if let Some(p) = by_day.get_mut(&day) {
            p.orders += 1;
            p.revenue_cents += total;
        }
    }
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

#[derive(Debug, Clone, Serialize)]
pub struct TopProduct {
    pub name: String,
    pub sku: String,
    pub units: i64,
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
                    .and_where(orders::Column::Status.is_in(SOLD.map(OrderStatus::as_str)))
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
        .filter(orders::Column::Status.is_in(SOLD.map(OrderStatus::as_str)))
        .into_tuple()
        .all(db)
        .await?;
    Ok(Lifetime {
        orders: i64::try_from(totals.len()).unwrap_or(i64::MAX),
        spent_cents: totals.iter().sum(),
    })
}
