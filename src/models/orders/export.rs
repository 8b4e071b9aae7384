//! The order export: every order a filter matches as CSV, one row per order, streamed.
//!
//! A year of a busy shop is a million orders. The export reads them in keyset pages (by id,
//! newest first: one index range per page, as fast on the last page as on the first), turns
//! each page into CSV and hands it on before reading the next, so the first byte leaves at
//! once and memory stays one page whatever the total. When the client goes away the stream is
//! dropped and no further page is read.
use futures_util::Stream;
use sea_orm::{ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder, QuerySelect};

use super::{matching, views, OrderFilter, OrderView};
use crate::{
    errors::AppResult,
    models::{_entities::orders, actor::Actor},
    views::{csv, money},
};

/// Orders read and written per step.
const PAGE: u64 = 500;

const COLUMNS: [&str; 16] = [
    "number",
    "placed_at",
    "status",
    "email",
    "items",
    "subtotal",
    "discount",
    "shipping",
    "tax",
    "total",
    "currency",
    "coupon",
    "country",
    "paid_at",
    "shipped_at",
    "tracking_number",
];

fn line(o: &OrderView) -> String {
    csv::row(&[
        o.number.to_string(),
        o.created_at.clone(),
        o.status.as_str().to_string(),
        o.email.clone(),
        o.items
            .iter()
            .map(|i| i64::from(i.quantity))
            .sum::<i64>()
            .to_string(),
        money::plain(o.subtotal_cents),
        money::plain(o.discount_cents),
        money::plain(o.shipping_cents),
        money::plain(o.tax_cents),
        money::plain(o.total_cents),
        o.currency.clone(),
        o.coupon.clone().unwrap_or_default(),
        o.shipping_address.country.clone(),
        o.paid_at.clone().unwrap_or_default(),
        o.shipped_at.clone().unwrap_or_default(),
        o.tracking_number.clone().unwrap_or_default(),
    ])
}

enum Step {
    Header,
    Before(Option<i32>),
    Done,
}

/// The CSV of every order `viewer` may see that matches `filter`, newest first: the header,
/// then one chunk per page of orders.
pub fn csv_chunks(
    db: DatabaseConnection,
    viewer: Actor,
    filter: OrderFilter,
) -> impl Stream<Item = AppResult<String>> + Send + 'static {
    futures_util::stream::unfold(Step::Header, move |step| {
        let (db, viewer, filter) = (db.clone(), viewer.clone(), filter.clone());
        async move {
            let before = match step {
                Step::Header => return Some((Ok(csv::row(&COLUMNS)), Step::Before(None))),
                Step::Before(before) => before,
                Step::Done => return None,
            };
            let page = async {
                let mut q = matching(&db, &viewer, &filter).await?;
                if let Some(id) = before {
                    q = q.filter(orders::Column::Id.lt(id));
                }
                let rows = q
                    .order_by_desc(orders::Column::Id)
                    .limit(PAGE)
                    .all(&db)
                    .await?;
                let last = rows.last().map(|o| o.id);
                let full = rows.len() as u64 == PAGE;
                let text: String = views(&db, rows).await?.iter().map(line).collect();
                AppResult::Ok((text, last.filter(|_| full)))
            };
            match page.await {
                Ok((text, Some(last))) => Some((Ok(text), Step::Before(Some(last)))),
                Ok((text, None)) => Some((Ok(text), Step::Done)),
                Err(e) => Some((Err(e), Step::Done)),
            }
        }
    })
}
