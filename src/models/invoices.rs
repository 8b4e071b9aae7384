//! Invoices: one per paid order, numbered without gaps in the order payments were recorded.
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use sea_orm::{
    sea_query::Query, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::{
    _entities::{invoices, orders, users},
    actor::Actor,
    counters,
    orders::{view, OrderView},
};
use crate::{
    domain::validation::FieldErrors,
    errors::{AppError, AppResult},
    settings::Settings,
};

/// Issues the order's invoice in the caller's transaction (the payment's), taking the next
/// number; an order that already has one keeps it.
///
/// # Errors
/// Database errors.
pub async fn issue<C: ConnectionTrait>(
    db: &C,
    order: &orders::Model,
) -> AppResult<invoices::Model> {
    if let Some(existing) = invoices::Entity::find()
        .filter(invoices::Column::OrderId.eq(order.id))
        .one(db)
        .await?
    {
        return Ok(existing);
    }
    let number = counters::next(db, "invoice", 1).await?;
    Ok(invoices::ActiveModel {
        pid: Set(Uuid::new_v4()),
        order_id: Set(order.id),
        number: Set(number),
        issued_at: Set(Utc::now().into()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// The invoice number as printed.
#[must_use]
pub fn reference(number: i64) -> String {
    format!("INV-{number:06}")
}

/// The invoice document: the seller, the buyer and the frozen order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvoiceView {
    pub id: Uuid,
    pub number: i64,
    /// The number as printed, e.g. `INV-000042`.
    pub reference: String,
    pub issued_at: String,
    pub seller: String,
    /// The seller's postal address, a line each.
    pub seller_address: Vec<String>,
    /// The seller's VAT id; empty when it has none.
    pub seller_vat_id: String,
    pub customer_name: String,
    pub customer_email: String,
    pub order: OrderView,
}

/// The invoice of an order the caller may see.
///
/// # Errors
/// `NotFound` when the order has no invoice (it was never paid).
pub async fn for_order<C: ConnectionTrait>(
    db: &C,
    settings: &Settings,
    order: orders::Model,
) -> AppResult<InvoiceView> {
    let inv = invoices::Entity::find()
        .filter(invoices::Column::OrderId.eq(order.id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let user = match order.user_id {
        Some(id) => users::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    Ok(InvoiceView {
        id: inv.pid,
        number: inv.number,
        reference: reference(inv.number),
        issued_at: crate::views::rfc3339(&inv.issued_at),
        seller: if settings.seller.legal_name.trim().is_empty() {
            settings.shop_name.clone()
        } else {
            settings.seller.legal_name.trim().to_string()
        },
        seller_address: settings.seller.address_lines(),
        seller_vat_id: settings.seller.vat_id.trim().to_string(),
        // A guest's: the name on the billing address.
        customer_name: user.as_ref().map_or_else(
            || {
                serde_json::from_str::<serde_json::Value>(&order.billing_address)
                    .ok()
                    .and_then(|a| a["name"].as_str().map(str::to_string))
                    .unwrap_or_default()
            },
            users::Model::full_name,
        ),
        customer_email: order.email.clone(),
        order: view(db, order).await?,
    })
}

/// An invoice in a list: enough to find it and book it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvoiceSummary {
    pub id: Uuid,
    pub number: i64,
    /// The number as printed, e.g. `INV-000042`.
    pub reference: String,
    pub order_id: Uuid,
    pub order_number: i64,
    pub total_cents: i64,
    pub tax_cents: i64,
    pub currency: String,
    pub issued_at: String,
}

/// Which invoices to list: issued on or after `from`, on or before `to` (whole UTC days).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InvoiceFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl InvoiceFilter {
    /// Reads `from`/`to` as typed (`YYYY-MM-DD`; empty means open-ended).
    ///
    /// # Errors
    /// Field messages for a malformed date or `to` before `from`.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut date = |field: &str, v: Option<&str>| {
            let v = v.map(str::trim).filter(|v| !v.is_empty())?;
            // Four-digit years only: chrono also reads signed and longer ones, which the
            // databases' timestamps cannot hold.
            let parsed = NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .filter(|d| v.len() == 10 && (1..=9999).contains(&d.year()));
            if parsed.is_none() {
                errors.add(field, "Must be a date like 2026-12-31.");
            }
            parsed
        };
        let filter = Self {
            from: date("from", from),
            to: date("to", to),
        };
        if let (Some(f), Some(t)) = (filter.from, filter.to) {
            if t < f {
                errors.add("to", "Must not be before `from`.");
            }
        }
        errors.into_result()?;
        Ok(filter)
    }

    fn start(&self) -> Option<DateTime<Utc>> {
        self.from.map(|d| d.and_time(NaiveTime::MIN).and_utc())
    }

    /// The first instant after the `to` day.
    fn end(&self) -> Option<DateTime<Utc>> {
        self.to
            .and_then(|d| d.succ_opt())
            .map(|d| d.and_time(NaiveTime::MIN).and_utc())
    }
}

/// One page of invoices, newest first: the caller's own, or every one for an admin.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &DatabaseConnection,
    viewer: &Actor,
    filter: &InvoiceFilter,
    page: u64,
    page_size: u64,
) -> AppResult<(Vec<InvoiceSummary>, u64)> {
    let mut q = invoices::Entity::find().order_by_desc(invoices::Column::Number);
    if let Some(start) = filter.start() {
        q = q.filter(invoices::Column::IssuedAt.gte(start.fixed_offset()));
    }
    if let Some(end) = filter.end() {
        q = q.filter(invoices::Column::IssuedAt.lt(end.fixed_offset()));
    }
    if !viewer.is_admin() {
        let own = Query::select()
            .column(orders::Column::Id)
            .from(orders::Entity)
            .and_where(orders::Column::UserId.eq(viewer.user_id.unwrap_or(-1)))
            .to_owned();
        q = q.filter(invoices::Column::OrderId.in_subquery(own));
    }
    let paginator = q.paginate(db, page_size);
    let count = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    let os: Vec<(i32, Uuid, i64, i64, i64, String)> = if rows.is_empty() {
        Vec::new()
    } else {
        orders::Entity::find()
            .select_only()
            .columns([
                orders::Column::Id,
                orders::Column::Pid,
                orders::Column::Number,
                orders::Column::TotalCents,
                orders::Column::TaxCents,
                orders::Column::Currency,
            ])
            .filter(orders::Column::Id.is_in(rows.iter().map(|r| r.order_id)))
            .into_tuple()
            .all(db)
            .await?
    };
    let results = rows
        .into_iter()
        .filter_map(|inv| {
            let o = os.iter().find(|o| o.0 == inv.order_id)?;
            Some(InvoiceSummary {
                id: inv.pid,
                number: inv.number,
                reference: reference(inv.number),
                order_id: o.1,
                order_number: o.2,
                total_cents: o.3,
                tax_cents: o.4,
                currency: o.5.clone(),
                issued_at: crate::views::rfc3339(&inv.issued_at),
            })
        })
        .collect();
    Ok((results, count))
}

/// Reads an invoice number as a caller may give it: `42` or `INV-000042`.
#[must_use]
pub fn parse_number(text: &str) -> Option<i64> {
    let t = text.trim();
    let digits = t
        .strip_prefix("INV-")
        .or_else(|| t.strip_prefix("inv-"))
        .unwrap_or(t);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n > 0)
}

/// The invoice with this number, for its order's owner or an admin (anyone else: not found).
///
/// # Errors
/// `NotFound`; database errors.
pub async fn by_number(
    db: &DatabaseConnection,
    settings: &Settings,
    viewer: &Actor,
    number: i64,
) -> AppResult<InvoiceView> {
    let inv = invoices::Entity::find()
        .filter(invoices::Column::Number.eq(number))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let order = orders::Entity::find_by_id(inv.order_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if !(viewer.is_admin() || viewer.owns(&order)) {
        return Err(AppError::NotFound);
    }
    for_order(db, settings, order).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_plain_or_as_printed() {
        assert_eq!(parse_number("42"), Some(42));
        assert_eq!(parse_number("INV-000042"), Some(42));
        for bad in [
            "",
            "0",
            "-1",
            "INV-",
            "4 2",
            "1e3",
            "9999999999999999999",
            "INV-x",
        ] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_are_whole_days_and_in_order() {
        let f = InvoiceFilter::parse(Some("2026-12-01"), Some("2026-12-31")).unwrap();
        assert_eq!(f.start().unwrap().to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(f.end().unwrap().to_rfc3339(), "2027-01-01T00:00:00+00:00");
        assert_eq!(
            InvoiceFilter::parse(None, Some("")).unwrap(),
            InvoiceFilter::default()
        );
        let e = InvoiceFilter::parse(Some("2026-13-01"), Some("yesterday")).unwrap_err();
        assert!(e.0.contains_key("from") && e.0.contains_key("to"));
        for far in ["-5000-01-01", "+12026-01-01", "0000-01-01"] {
            assert!(InvoiceFilter::parse(Some(far), None).is_err(), "{far}");
        }
        let e = InvoiceFilter::parse(Some("2026-12-02"), Some("2026-12-01")).unwrap_err();
        assert!(e.0.contains_key("to"));
    }
}
