//! `/admin/purchase-orders`: the list (by status), a form to order stock from a supplier by
//! SKU, and the detail page that receives deliveries (all that is still to come, or the
//! quantities typed per line), cancels an order sent by mistake and lists the ledger rows its
//! deliveries wrote. Staff and admins.
//!
//! The form speaks in SKUs and shop money ("12.50"); each filled line becomes the API's
//! `LineInput` naming the variant, and `purchase_orders::create` checks every rule. Receiving
//! is `purchase_orders::receive`, which never counts goods in twice: a second press finds
//! less (or nothing) still to come and is answered with the page and its message.
use std::collections::BTreeMap;

use axum::{
    extract::{OriginalUri, Path, Query},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    Form,
};
use chrono::{NaiveDate, NaiveTime};
use loco_rs::prelude::Routes;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::inventory::STOCK_VIEWERS;
use crate::{
    domain::{purchase_order::PoStatus, validation::FieldErrors},
    errors::{AppError, PageError},
    models::{
        inventory,
        purchase_orders::{self, LineInput, PurchaseOrderInput, PurchaseOrderView},
    },
    settings::Settings,
    views::{money, orders::when},
    web::{
        html::{flash, form_errors, Page},
        pagination::PageQuery,
    },
};

/// Line rows the new form offers; more are kept when a refused form had more filled.
const FORM_ROWS: usize = 5;

fn parse_id(id: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(id).map_err(|_| PageError(AppError::NotFound))
}

/// A purchase order for the pages: the view plus amounts and times for people.
fn present(po: &PurchaseOrderView, currency: &str) -> Value {
    let mut v = json!(po);
    v["total_cost_display"] = json!(money::format(po.total_cost_cents, currency));
    v["created_display"] = json!(when(&po.created_at));
    v["expected_display"] = json!(po
        .expected_at
        .as_deref()
        .map(|t| t.get(..10).unwrap_or(t).to_string()));
    v["received_display"] = json!(po.received_at.as_deref().map(when));
    v["cancelled_display"] = json!(po.cancelled_at.as_deref().map(when));
    v["units"] = json!(po.lines.iter().map(|l| i64::from(l.quantity)).sum::<i64>());
    v["units_to_come"] = json!(po
        .lines
        .iter()
        .map(|l| i64::from(l.quantity - l.received_quantity))
        .sum::<i64>());
    v["status_label"] = json!(match po.status {
        PoStatus::Open => "Open",
        PoStatus::PartiallyReceived => "Partly received",
        PoStatus::Received => "Received",
        PoStatus::Cancelled => "Cancelled",
    });
    v["awaits_goods"] = json!(po.status.awaits_goods());
    if let Some(lines) = v["lines"].as_array_mut() {
        for (line, l) in lines.iter_mut().zip(&po.lines) {
            line["to_come"] = json!(l.quantity - l.received_quantity);
            line["unit_cost_display"] = json!(money::format(l.unit_cost_cents, currency));
            line["line_total_display"] = json!(money::format(
                l.unit_cost_cents * i64::from(l.quantity),
                currency
            ));
        }
    }
    v
}

// ---------------------------------------------------------------------------------------------
// The list

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListFilter {
    /// "" or a status.
    status: String,
}

async fn index(
    page: Page,
    OriginalUri(uri): OriginalUri,
    Query(filter): Query<ListFilter>,
    Query(paging): Query<PageQuery>,
) -> Result<Response, PageError> {
    page.require_role(STOCK_VIEWERS)?;
    let request = paging.parse()?;
    let status = PoStatus::parse(&filter.status);
    let (rows, count) =
        purchase_orders::list(&page.ctx.db, status, request.page, request.page_size).await?;
    let currency = Settings::get(&page.ctx).currency.clone();
    page.render(
        "admin/purchase_orders/index.html",
        "Purchase orders",
        json!({
            "orders": rows.iter().map(|po| present(po, &currency)).collect::<Vec<_>>(),
            "status": status.map_or("", PoStatus::as_str),
            "pagination": request.page_nav(count, &uri)?,
        }),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// The new form

/// One line row as typed.
#[derive(Debug, Clone, Default, serde::Serialize)]
struct LineRow {
    sku: String,
    quantity: String,
    unit_cost: String,
}

impl LineRow {
    fn is_blank(&self) -> bool {
        self.sku.trim().is_empty()
            && self.quantity.trim().is_empty()
            && self.unit_cost.trim().is_empty()
    }
}

/// The form as typed: `supplier`, `expected_at` (a date) and `lines[<row>][sku|quantity|unit_cost]`.
struct NewForm {
    supplier: String,
    expected_at: String,
    rows: Vec<LineRow>,
    /// "More lines" was pressed: show the form again with more blank rows.
    more: bool,
}

impl NewForm {
    fn read(fields: BTreeMap<String, String>) -> Self {
        let mut rows: BTreeMap<usize, LineRow> = BTreeMap::new();
        let mut supplier = String::new();
        let mut expected_at = String::new();
        let mut more = false;
        for (key, value) in fields {
            match key.as_str() {
                "supplier" => supplier = value,
                "expected_at" => expected_at = value,
                "more" => more = true,
                _ => {
                    let Some((row, field)) = key
                        .strip_prefix("lines[")
                        .and_then(|k| k.split_once("]["))
                        .and_then(|(i, f)| Some((i.parse::<usize>().ok()?, f.strip_suffix(']')?)))
                    else {
                        continue;
                    };
                    if row >= purchase_orders::MAX_LINES {
                        continue;
                    }
                    let line = rows.entry(row).or_default();
                    match field {
                        "sku" => line.sku = value,
                        "quantity" => line.quantity = value,
                        "unit_cost" => line.unit_cost = value,
                        _ => {}
                    }
                }
            }
        }
        let mut rows: Vec<LineRow> = rows.into_values().collect();
        rows.retain(|r| !r.is_blank());
        Self {
            supplier,
            expected_at,
            rows,
            more,
        }
    }

    /// The rows to show again: the filled ones, then blank ones up to [`FORM_ROWS`] (one
    /// blank at least).
    fn shown_rows(&self) -> Vec<LineRow> {
        let mut rows = self.rows.clone();
        let blanks = if self.more {
            FORM_ROWS
        } else {
            FORM_ROWS.saturating_sub(rows.len()).max(1)
        };
        let blanks = blanks.min(purchase_orders::MAX_LINES.saturating_sub(rows.len()));
        rows.extend(std::iter::repeat_with(LineRow::default).take(blanks));
        rows
    }
}

/// Messages per form row (`rows[i]`) and for the whole form (`_form`, `supplier`, …).
#[derive(Default)]
struct Refusal {
    fields: FieldErrors,
    rows: BTreeMap<usize, Vec<String>>,
}

impl Refusal {
    fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.rows.is_empty()
    }

    fn row(&mut self, i: usize, message: impl Into<String>) {
        self.rows.entry(i).or_default().push(message.into());
    }

    /// Sorts the model's messages: `lines[2].quantity` belongs to the row that became line 2.
    fn absorb(&mut self, errors: FieldErrors, row_of_line: &[usize]) {
        for (key, messages) in errors.0 {
            let line = key
                .strip_prefix("lines[")
                .and_then(|k| k.split(']').next())
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| row_of_line.get(i).copied());
            let label = if key.ends_with(".quantity") {
                "Quantity: "
            } else if key.ends_with(".unit_cost_cents") {
                "Unit cost: "
            } else {
                ""
            };
            for m in messages {
                match line {
                    Some(row) => self.row(row, format!("{label}{m}")),
                    None => self.fields.add(&key, m),
                }
            }
        }
    }
}

/// Reads the date input as midnight UTC.
fn expected_at(errors: &mut FieldErrors, text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Some(d.and_time(NaiveTime::MIN).and_utc())
    } else {
        errors.add("expected_at", "Enter a date like 2026-12-31.");
        None
    }
}

async fn form_page(
    page: &Page,
    form: &NewForm,
    refusal: &Refusal,
    status: StatusCode,
) -> Result<Response, PageError> {
    page.require_role(STOCK_VIEWERS)?;
    let rows: Vec<Value> = form
        .shown_rows()
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({
                "index": i, "sku": r.sku, "quantity": r.quantity, "unit_cost": r.unit_cost,
                "errors": refusal.rows.get(&i).cloned().unwrap_or_default(),
            })
        })
        .collect();
    page.render_status(
        status,
        "admin/purchase_orders/new.html",
        "New purchase order",
        json!({
            "form": {"supplier": form.supplier, "expected_at": form.expected_at},
            "rows": rows,
            "errors": refusal.fields,
            "currency": Settings::get(&page.ctx).currency,
        }),
    )
    .await
}

/// The SKU picker's suggestions (htmx fills the lines' shared datalist as staff type): up to
/// 20 variants whose SKU or product name contains what was typed. htmx sends the typing row's
/// own field (`lines[3][sku]`), or `q`.
async fn sku_options(
    page: Page,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    page.require_role(STOCK_VIEWERS)?;
    let typed = q
        .iter()
        .find(|(k, _)| *k == "q" || k.ends_with("[sku]"))
        .map_or("", |(_, v)| v.as_str());
    let found = inventory::search_skus(&page.ctx.db, typed, 20).await?;
    let options: Vec<Value> = found
        .into_iter()
        .map(|(sku, name)| json!({"sku": sku, "name": name}))
        .collect();
    page.render(
        "admin/purchase_orders/_sku_options.html",
        "SKUs",
        json!({ "options": options }),
    )
    .await
}

async fn new(page: Page) -> Result<Response, PageError> {
    let form = NewForm {
        supplier: String::new(),
        expected_at: String::new(),
        rows: Vec::new(),
        more: false,
    };
    form_page(&page, &form, &Refusal::default(), StatusCode::OK).await
}

async fn create(
    page: Page,
    Form(fields): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    page.require_role(STOCK_VIEWERS)?;
    let form = NewForm::read(fields);
    if form.more {
        return form_page(&page, &form, &Refusal::default(), StatusCode::OK).await;
    }
    let mut refusal = Refusal::default();
    let expected_at = expected_at(&mut refusal.fields, &form.expected_at);
    let skus: Vec<String> = form
        .rows
        .iter()
        .map(|r| r.sku.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let known = inventory::find_by_skus(&page.ctx.db, &skus).await?;
    let mut lines = Vec::new();
    let mut row_of_line = Vec::new();
    for (i, r) in form.rows.iter().enumerate() {
        let sku = r.sku.trim();
        let variant = if sku.is_empty() {
            refusal.row(i, "Enter the SKU.");
            None
        } else {
            // Any case finds the SKU; an exact match wins where two differ only in case.
            let exact = known.iter().find(|v| v.sku == sku);
            let folded: Vec<_> = known
                .iter()
                .filter(|v| v.sku.eq_ignore_ascii_case(sku))
                .collect();
            let v = exact.or(match folded.as_slice() {
                [one] => Some(*one),
                _ => None,
            });
            if v.is_none() {
                if folded.len() > 1 {
                    refusal.row(
                        i,
                        format!("Several SKUs read “{sku}” in another case: type it exactly."),
                    );
                } else {
                    refusal.row(i, format!("No variant has the SKU “{sku}”."));
                }
            }
            v
        };
        let mut e = FieldErrors::new();
        let quantity = e.whole_number("quantity", &r.quantity);
        if r.quantity.trim().is_empty() {
            e.add("quantity", "Enter a quantity.");
        }
        let unit_cost = money::read(&mut e, "unit_cost", &r.unit_cost);
        for (field, messages) in e.0 {
            let label = if field == "quantity" {
                "Quantity"
            } else {
                "Unit cost"
            };
            for m in messages {
                refusal.row(i, format!("{label}: {m}"));
            }
        }
        if let (Some(v), Some(quantity)) = (variant, quantity) {
            lines.push(LineInput {
                product_id: None,
                variant_id: Some(v.pid),
                quantity,
                unit_cost_cents: unit_cost.unwrap_or(0),
            });
            row_of_line.push(i);
        }
    }
    if form.rows.is_empty() {
        refusal.fields.add("lines", "Add at least one line.");
    }
    if !refusal.is_empty() {
        return form_page(&page, &form, &refusal, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let input = PurchaseOrderInput {
        supplier: form.supplier.clone(),
        expected_at,
        lines,
    };
    match purchase_orders::create(&page.ctx, input, &page.actor()).await {
        Ok(po) => {
            flash(
                &page.session,
                "success",
                format!(
                    "Created purchase order #{} from {}.",
                    po.number, po.supplier
                ),
            )
            .await;
            Ok(Redirect::to(&format!("/admin/purchase-orders/{}", po.id)).into_response())
        }
        Err(e) => {
            refusal.absorb(form_errors(e)?, &row_of_line);
            form_page(&page, &form, &refusal, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Detail and receiving

/// The detail page; `typed` and `errors` bring back a refused delivery form.
async fn show_page(
    page: &Page,
    pid: Uuid,
    typed: &BTreeMap<String, String>,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    page.require_role(STOCK_VIEWERS)?;
    let po = purchase_orders::show(&page.ctx.db, pid).await?;
    let receipts = purchase_orders::receipts(&page.ctx.db, pid).await?;
    let currency = Settings::get(&page.ctx).currency.clone();
    let mut shown = present(&po, &currency);
    if let Some(lines) = shown["lines"].as_array_mut() {
        for (i, line) in lines.iter_mut().enumerate() {
            let key = format!("received[{i}]");
            line["typed"] = json!(typed.get(&key));
            line["errors"] = json!(errors.0.get(&format!("lines[{i}].quantity")));
        }
    }
    page.render_status(
        status,
        "admin/purchase_orders/show.html",
        &format!("Purchase order #{}", po.number),
        json!({
            "po": shown,
            "receipts": receipts.iter().map(|r| json!({
                "sku": r.sku, "product_name": r.product_name, "quantity": r.stock_delta,
                "stock_after": r.stock_after, "note": r.note, "actor": r.actor,
                "at": when(&r.created_at),
            })).collect::<Vec<_>>(),
            "errors": errors,
        }),
    )
    .await
}

async fn show(page: Page, Path(id): Path<String>) -> Result<Response, PageError> {
    let pid = parse_id(&id)?;
    show_page(
        &page,
        pid,
        &BTreeMap::new(),
        &FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

/// The delivery form: `all` receives everything still to come; otherwise `received[<line>]`
/// holds the quantity that arrived of each line (blank or 0: none of it).
async fn receive(
    page: Page,
    Path(id): Path<String>,
    Form(fields): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    page.require_role(STOCK_VIEWERS)?;
    let pid = parse_id(&id)?;
    let delivery = if fields.contains_key("all") {
        None
    } else {
        let po = purchase_orders::show(&page.ctx.db, pid).await?;
        let mut errors = FieldErrors::new();
        let mut parts = Vec::new();
        for (i, line) in po.lines.iter().enumerate() {
            let typed = fields
                .get(&format!("received[{i}]"))
                .map_or("", |v| v.trim());
            if typed.is_empty() {
                continue;
            }
            match errors.whole_number(&format!("lines[{i}].quantity"), typed) {
                Some(0) | None => {}
                Some(q) => parts.push((line.variant_id, q)),
            }
        }
        if parts.is_empty() && errors.is_empty() {
            errors.add("_form", "Type how many of each line arrived.");
        }
        if !errors.is_empty() {
            return show_page(
                &page,
                pid,
                &fields,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        // The model names a line by its place among the delivery's parts; the page by its row.
        Some(parts)
    };
    let part = delivery.is_some();
    match purchase_orders::receive(&page.ctx, pid, delivery, &page.actor()).await {
        Ok(po) => {
            let message = if po.status == PoStatus::Received {
                format!(
                    "Received purchase order #{}: every line is in stock.",
                    po.number
                )
            } else {
                let to_come: i64 = po
                    .lines
                    .iter()
                    .map(|l| i64::from(l.quantity - l.received_quantity))
                    .sum();
                format!(
                    "Received part of purchase order #{}: {to_come} units still to come.",
                    po.number
                )
            };
            flash(&page.session, "success", message).await;
        }
        Err(AppError::Conflict(m)) => flash(&page.session, "error", m).await,
        Err(AppError::Validation(e)) if part => {
            // Sent again as rows: the model's `lines[k]` is the k-th non-blank row.
            let rows: Vec<usize> = (0..purchase_orders::MAX_LINES)
                .filter(|i| {
                    fields
                        .get(&format!("received[{i}]"))
                        .and_then(|v| v.trim().parse::<i64>().ok())
                        .is_some_and(|q| q != 0)
                })
                .collect();
            let mut errors = FieldErrors::new();
            for (key, messages) in e.0 {
                let row = key
                    .strip_prefix("lines[")
                    .and_then(|k| k.split(']').next())
                    .and_then(|k| k.parse::<usize>().ok())
                    .and_then(|k| rows.get(k).copied());
                for m in messages {
                    match row {
                        Some(r) => errors.add(&format!("lines[{r}].quantity"), m),
                        None => errors.add("_form", m),
                    }
                }
            }
            return show_page(
                &page,
                pid,
                &fields,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/admin/purchase-orders/{pid}")).into_response())
}

async fn cancel(page: Page, Path(id): Path<String>) -> Result<Response, PageError> {
    page.require_role(STOCK_VIEWERS)?;
    let pid = parse_id(&id)?;
    match purchase_orders::cancel(&page.ctx, pid, &page.actor()).await {
        Ok(po) => {
            flash(
                &page.session,
                "success",
                format!("Cancelled purchase order #{}.", po.number),
            )
            .await;
        }
        Err(AppError::Conflict(m)) => flash(&page.session, "error", m).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/admin/purchase-orders/{pid}")).into_response())
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/admin/purchase-orders", get(index).post(create))
        .add("/admin/purchase-orders/new", get(new))
        .add("/admin/purchase-orders/skus", get(sku_options))
        .add("/admin/purchase-orders/{id}", get(show))
        .add("/admin/purchase-orders/{id}/receive", post(receive))
        .add("/admin/purchase-orders/{id}/cancel", post(cancel))
}
