//! `/admin/inventory`: every variant's on-hand, reserved and available stock, with search, a
//! low-stock filter and, for admins, a manual adjustment per variant; and `/admin/stock-ledger`,
//! the history that explains those numbers. Staff and admins see both; only admins adjust
//! (API.md "Back office": `POST /admin/stock-adjustments` is admin).
//!
//! An adjustment is `stock::adjust`, the call the API makes: the page only reads the typed
//! numbers. A refused one (zero, no reason, below what open orders reserved) comes back as the
//! same list with the message on that variant's row (422).
use axum::{
    extract::{OriginalUri, Path, Query},
    http::{StatusCode, Uri},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use loco_rs::prelude::Routes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    domain::{role::Role, stock::StockReason, validation::FieldErrors},
    errors::{AppError, PageError},
    models::{
        inventory::{self, InventoryFilter, InventoryRow},
        stock::{self, Adjustment, LedgerEntry, LedgerFilter},
    },
    views::orders::when,
    web::{
        html::{flash, form_errors, Page},
        pagination::PageQuery,
    },
};

/// Who sees stock (API.md: the ledger and purchase orders are staff and admin).
pub const STOCK_VIEWERS: &[Role] = &[Role::Staff, Role::Admin];
const ADJUSTERS: &[Role] = &[Role::Admin];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Filter {
    q: String,
    /// "1": low stock only.
    low: String,
}

impl Filter {
    fn low_only(&self) -> bool {
        matches!(self.low.as_str(), "1" | "true" | "on")
    }

    /// The list's query string (filters and page), so a form posted from the list returns to
    /// the same view.
    fn query(&self, paging: &PageQuery) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if !self.q.trim().is_empty() {
            s.append_pair("q", self.q.trim());
        }
        if self.low_only() {
            s.append_pair("low", "1");
        }
        if let Some(p) = paging.page.as_deref().filter(|p| !p.is_empty()) {
            s.append_pair("page", p);
        }
        if let Some(p) = paging.page_size.as_deref().filter(|p| !p.is_empty()) {
            s.append_pair("page_size", p);
        }
        s.finish()
    }
}

/// An adjustment as typed in a row.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct AdjustForm {
    delta: String,
    reason: String,
}

/// The row whose adjustment was refused, with what was typed and why.
struct Refused {
    variant_id: Uuid,
    form: AdjustForm,
    errors: FieldErrors,
}

fn row(r: &InventoryRow) -> Value {
    let mut v = json!(r);
    v["label"] = json!(r.options.values().cloned().collect::<Vec<_>>().join(" / "));
    v
}

async fn list_page(
    page: &Page,
    uri: &Uri,
    filter: &Filter,
    paging: &PageQuery,
    refused: Option<Refused>,
) -> Result<Response, PageError> {
    let user = page.require_role(STOCK_VIEWERS)?;
    let can_adjust = ADJUSTERS.contains(&user.role());
    let request = paging.parse()?;
    let (rows, count) = inventory::list(
        &page.ctx.db,
        &InventoryFilter {
            q: filter.q.clone(),
            low_only: filter.low_only(),
        },
        request.page,
        request.page_size,
    )
    .await?;
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let refused = refused.map_or_else(
        || json!({"id": "", "sku": "", "form": {}, "errors": {}}),
        |r| {
            let sku = rows
                .iter()
                .find(|row| row.variant_id == r.variant_id)
                .map_or_else(String::new, |row| row.sku.clone());
            json!({"id": r.variant_id, "sku": sku, "form": r.form, "errors": r.errors})
        },
    );
    let query = filter.query(paging);
    page.render_status(
        status,
        "admin/inventory/index.html",
        "Inventory",
        json!({
            "rows": rows.iter().map(row).collect::<Vec<_>>(),
            "q": filter.q, "low": filter.low_only(),
            "query": if query.is_empty() { String::new() } else { format!("?{query}") },
            "can_adjust": can_adjust,
            "refused": refused,
            "pagination": request.page_nav(count, uri)?,
        }),
    )
    .await
}

async fn index(
    page: Page,
    OriginalUri(uri): OriginalUri,
    Query(filter): Query<Filter>,
    Query(paging): Query<PageQuery>,
) -> Result<Response, PageError> {
    list_page(&page, &uri, &filter, &paging, None).await
}

async fn adjust(
    page: Page,
    Path(id): Path<String>,
    Query(filter): Query<Filter>,
    Query(paging): Query<PageQuery>,
    Form(f): Form<AdjustForm>,
) -> Result<Response, PageError> {
    page.require_role(ADJUSTERS)?;
    let variant_id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let delta = match f.delta.trim() {
        "" => Err(FieldErrors::single("delta", "This field is required.")),
        t => t
            .parse::<i64>()
            .map_err(|_| FieldErrors::single("delta", "Enter a whole number, e.g. 5 or -2.")),
    };
    let result = match delta.and_then(|d| Adjustment::parse(variant_id, d, &f.reason)) {
        Ok(adj) => stock::adjust(&page.ctx, &adj, &page.actor()).await,
        Err(e) => Err(e.into()),
    };
    let query = filter.query(&paging);
    let list = if query.is_empty() {
        "/admin/inventory".to_string()
    } else {
        format!("/admin/inventory?{query}")
    };
    match result {
        Ok(entry) => {
            flash(
                &page.session,
                "success",
                format!(
                    "Adjusted {} by {:+}: {} on hand, {} available.",
                    entry.sku, entry.stock_delta, entry.stock_after, entry.available_after
                ),
            )
            .await;
            Ok(Redirect::to(&list).into_response())
        }
        Err(e) => {
            let refused = Refused {
                variant_id,
                form: f,
                errors: form_errors(e)?,
            };
            let uri: Uri = list.parse().map_err(AppError::internal)?;
            list_page(&page, &uri, &filter, &paging, Some(refused)).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The ledger

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct LedgerQuery {
    /// A product id: the rows of all its variants.
    product: String,
    /// A variant id.
    variant: String,
    reason: String,
}

impl LedgerQuery {
    fn parse(&self) -> Result<LedgerFilter, FieldErrors> {
        LedgerFilter::parse(&self.product, &self.variant, &self.reason)
    }
}

fn ledger_row(e: &LedgerEntry) -> Value {
    let mut v = json!(e);
    v["when"] = json!(when(&e.created_at));
    v["stock_delta_display"] = json!(signed(e.stock_delta));
    v["reserved_delta_display"] = json!(signed(e.reserved_delta));
    v
}

/// "+3", "-2", "0".
fn signed(n: i32) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

async fn ledger(
    page: Page,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<LedgerQuery>,
    Query(paging): Query<PageQuery>,
) -> Result<Response, PageError> {
    page.require_role(STOCK_VIEWERS)?;
    let request = paging.parse()?;
    // Filters that name nothing show an empty ledger with the reason, not an error page.
    let found = match q.parse() {
        Ok(filter) => {
            match stock::ledger(&page.ctx.db, &filter, request.page, request.page_size).await {
                Ok(found) => Ok(found),
                Err(AppError::NotFound) => Err(FieldErrors::single(
                    "_form",
                    "No product or variant has this id.",
                )),
                Err(e) => return Err(e.into()),
            }
        }
        Err(e) => Err(e),
    };
    let (status, rows, count, errors) = match found {
        Ok((rows, count)) => (StatusCode::OK, rows, count, FieldErrors::new()),
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, Vec::new(), 0, e),
    };
    let subject = if q.variant.trim().is_empty() && q.product.trim().is_empty() {
        Value::Null
    } else {
        rows.first().map_or(
            Value::Null,
            |e| json!({"name": e.product_name, "sku": e.sku}),
        )
    };
    let reasons: Vec<&str> = StockReason::ALL.iter().map(|r| r.as_str()).collect();
    // The reason select shows its own message; the id filters are hidden, so theirs go on top.
    let filter_errors: Vec<&String> = errors
        .0
        .iter()
        .filter(|(k, _)| k.as_str() != "reason")
        .flat_map(|(_, m)| m)
        .collect();
    page.render_status(
        status,
        "admin/stock_ledger/index.html",
        "Stock ledger",
        json!({
            "rows": rows.iter().map(ledger_row).collect::<Vec<_>>(),
            "filter": q, "reasons": reasons, "subject": subject,
            "errors": errors, "filter_errors": filter_errors, "pagination": request.page_nav(count, &uri)?,
        }),
    )
    .await
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/admin/inventory", get(index))
        .add("/admin/inventory/{variant_id}/adjust", post(adjust))
        .add("/admin/stock-ledger", get(ledger))
}
