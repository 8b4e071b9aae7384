//! Page contexts for carts, orders and invoices: the API bodies plus amounts formatted for
//! people, so templates never do arithmetic or formatting.
use loco_rs::{
    app::AppContext,
    controller::views::{engines::TeraView, ViewRenderer},
};
use serde_json::{json, Value};

use super::money;
use crate::{
    domain::order_status::OrderStatus,
    errors::{AppError, AppResult},
    models::{
        carts::CartView,
        invoices::InvoiceView,
        orders::OrderView,
        refunds::{credit_note_reference, CreditNoteView},
    },
};

fn add_display(v: &mut Value, fields: &[&str], currency: &str) {
    for f in fields {
        if let Some(cents) = v[*f].as_i64() {
            let key = f.trim_end_matches("_cents").to_string() + "_display";
            v[key] = json!(money::format(cents, currency));
        }
    }
}

const TOTALS: [&str; 5] = [
    "subtotal_cents",
    "discount_cents",
    "shipping_cents",
    "tax_cents",
    "total_cents",
];

/// Basis points as a percentage for people: 1900 → "19", 750 → "7.5".
#[must_use]
pub fn percent(bp: i64) -> String {
    let whole = bp / 100;
    let frac = bp % 100;
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{frac:02}")
            .trim_end_matches('0')
            .to_string()
    }
}

#[must_use]
pub fn cart(c: &CartView) -> Value {
    let mut v = json!(c);
    add_display(&mut v, &TOTALS, &c.currency);
    add_display(&mut v, &["free_shipping_missing_cents"], &c.currency);
    v["tax_rate_display"] = json!(percent(i64::from(c.tax_rate_bp)));
    v["shipping_methods"] = c
        .shipping_offers
        .list
        .iter()
        .map(|o| {
            let mut m = json!(o);
            add_display(&mut m, &["price_cents"], &c.currency);
            m["details"] = json!(o.details());
            m["chosen"] = json!(c.shipping_choice == Some(o.id));
            m
        })
        .collect();
    v["ships_there"] = json!(!c.shipping_offers.list.is_empty());
    v["country_served"] = json!(c.shipping_offers.served);
    if let Some(items) = v["items"].as_array_mut() {
        for item in items {
            add_display(item, &["unit_price_cents", "line_total_cents"], &c.currency);
            let over = item["quantity"].as_i64() > item["available"].as_i64();
            item["short"] = json!(over);
        }
    }
    v
}

/// What the shopper reads for each status.
#[must_use]
pub const fn status_label(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Pending => "Awaiting payment",
        OrderStatus::Paid => "Paid",
        OrderStatus::Shipped => "Shipped",
        OrderStatus::Completed => "Completed",
        OrderStatus::Cancelled => "Cancelled",
        OrderStatus::Expired => "Expired",
        OrderStatus::PartiallyRefunded => "Partly refunded",
        OrderStatus::Refunded => "Refunded",
    }
}

pub use super::dates::when;

#[must_use]
pub fn order(o: &OrderView) -> Value {
    let mut v = json!(o);
    add_display(&mut v, &TOTALS, &o.currency);
    v["status_label"] = json!(status_label(o.status));
    v["shipping_method_display"] = json!(o.shipping_method.as_ref().map(|m| {
        let days = crate::domain::shipping::delivery_days(m.min_days, m.max_days);
        let details: Vec<&str> = [m.carrier.as_str(), days.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        if details.is_empty() {
            m.name.clone()
        } else {
            format!("{} ({})", m.name, details.join(", "))
        }
    }));
    v["tax_rate_display"] = json!(percent(i64::from(o.tax_rate_bp)));
    v["created_display"] = json!(when(&o.created_at));
    v["expires_display"] = json!(o.expires_at.as_deref().map(when));
    v["invoice_reference"] = json!(o.invoice_number.map(crate::models::invoices::reference));
    v["item_count"] = json!(o.items.iter().map(|i| i64::from(i.quantity)).sum::<i64>());
    add_display(&mut v, &["refunded_cents"], &o.currency);
    if let Some(items) = v["items"].as_array_mut() {
        for item in items {
            add_display(item, &["unit_price_cents", "line_total_cents"], &o.currency);
            let left = item["quantity"].as_i64().unwrap_or(0)
                - item["refunded_quantity"].as_i64().unwrap_or(0);
            item["refundable_quantity"] = json!(left.max(0));
        }
    }
    if let Some(refunds) = v["refunds"].as_array_mut() {
        for (r, summary) in refunds.iter_mut().zip(&o.refunds) {
            add_display(r, &["amount_cents"], &o.currency);
            r["at_display"] = json!(when(&summary.created_at));
            r["credit_note_reference"] = json!(credit_note_reference(summary.credit_note_number));
        }
    }
    if let Some(steps) = v["timeline"].as_array_mut() {
        for (step, t) in steps.iter_mut().zip(&o.timeline) {
            step["at_display"] = json!(when(&t.at));
            step["status_label"] = json!(status_label(t.status));
        }
    }
    v
}

/// Payments and refunds for the order pages.
#[must_use]
pub fn transactions(list: &[crate::models::payments::TransactionView]) -> Vec<Value> {
    list.iter()
        .map(|t| {
            let mut v = json!(t);
            v["amount_display"] = json!(money::format(t.amount_cents, &t.currency));
            v["at_display"] = json!(when(&t.updated_at));
            v["kind_label"] = json!(match t.kind {
                crate::domain::payment::TransactionKind::Payment => "Payment",
                crate::domain::payment::TransactionKind::Refund => "Refund",
            });
            v
        })
        .collect()
}

/// Refunds for the admin's order page (pending and failed ones too).
#[must_use]
pub fn refunds(list: &[crate::models::refunds::RefundView]) -> Vec<Value> {
    list.iter()
        .map(|r| {
            let mut v = json!(r);
            v["amount_display"] = json!(money::format(r.amount_cents, &r.currency));
            v["at_display"] = json!(when(&r.created_at));
            v["lines_display"] = json!(r
                .lines
                .iter()
                .map(|l| format!("{} × {}", l.quantity, l.name))
                .collect::<Vec<_>>()
                .join(", "));
            v
        })
        .collect()
}

#[must_use]
pub fn orders(list: &[OrderView]) -> Vec<Value> {
    list.iter().map(order).collect()
}

/// The printable invoice: a standalone page (no shop navigation), for the browser's print,
/// with a way `back` to the order page it was opened from.
///
/// # Errors
/// Template errors.
pub fn invoice_html(
    ctx: &AppContext,
    inv: &InvoiceView,
    back: Option<&str>,
) -> AppResult<axum::response::Html<String>> {
    let engine: std::sync::Arc<TeraView> = crate::web::html::engine(ctx);
    let mut data = json!(inv);
    data["back"] = json!(back);
    data["order"] = order(&inv.order);
    data["issued_display"] = json!(when(&inv.issued_at));
    let html = engine
        .render("orders/invoice.html", data)
        .map_err(AppError::from)?;
    Ok(axum::response::Html(html))
}

/// The printable credit note, like the invoice.
///
/// # Errors
/// Template errors.
pub fn credit_note_html(
    ctx: &AppContext,
    note: &CreditNoteView,
    back: Option<&str>,
) -> AppResult<axum::response::Html<String>> {
    let engine: std::sync::Arc<TeraView> = crate::web::html::engine(ctx);
    let currency = note.refund.currency.as_str();
    let mut data = json!(note);
    data["back"] = json!(back);
    data["issued_display"] = json!(when(&note.issued_at));
    data["tax_rate_display"] = json!(percent(i64::from(note.tax_rate_bp)));
    add_display(&mut data, &["net_cents", "tax_cents"], currency);
    data["amount_display"] = json!(money::format(note.refund.amount_cents, currency));
    if let Some(lines) = data["refund"]["lines"].as_array_mut() {
        for l in lines {
            add_display(l, &["amount_cents"], currency);
        }
    }
    let html = engine
        .render("orders/credit_note.html", data)
        .map_err(AppError::from)?;
    Ok(axum::response::Html(html))
}

#[cfg(test)]
mod tests {
    use super::percent;

    #[test]
    fn basis_points_read_as_percentages() {
        assert_eq!(percent(1900), "19");
        assert_eq!(percent(750), "7.5");
        assert_eq!(percent(5), "0.05");
        assert_eq!(percent(0), "0");
    }
}
