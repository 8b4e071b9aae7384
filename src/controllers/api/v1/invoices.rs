//! `/api/v1/invoices*`: invoices for integrators and accountants (API.md "Checkout, orders,
//! payments"). A customer sees their own; an admin every one.
use axum::{
    extract::{Path, Query, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::Deserialize;

use crate::{
    errors::{ApiError, AppError},
    models::{
        actor::Actor,
        invoices::{self, InvoiceFilter, InvoiceView},
    },
    settings::Settings,
    views::api::{ErrorBody, InvoicePage},
    web::{
        extract::CurrentUser,
        pagination::{Listing, PageQuery},
    },
};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct InvoiceQuery {
    /// Issued on or after this day (UTC), `YYYY-MM-DD`.
    #[param(pattern = r"^\d{4}-\d{2}-\d{2}$", example = "2026-12-01")]
    pub from: Option<String>,
    /// Issued on or before this day (UTC), `YYYY-MM-DD`; not before `from`.
    #[param(pattern = r"^\d{4}-\d{2}-\d{2}$", example = "2026-12-31")]
    pub to: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/invoices", tag = "orders", security(("bearer" = [])), params(InvoiceQuery, PageQuery),
    responses((status = 200, body = InvoicePage, description = "Newest first: the caller's own; an admin's, every invoice"),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn list(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<InvoiceQuery>,
    page: Listing,
) -> Result<impl IntoResponse, ApiError> {
    let filter = InvoiceFilter::parse(q.from.as_deref(), q.to.as_deref())?;
    let (rows, count) = invoices::list(
        &ctx.db,
        &Actor::user(&user),
        &filter,
        page.page,
        page.page_size,
    )
    .await?;
    Ok(page.answer(rows, count))
}

#[utoipa::path(get, path = "/api/v1/invoices/{number}", tag = "orders", security(("bearer" = [])),
    params(("number" = String, Path, description = "The number (`42`) or as printed (`INV-000042`)", pattern = r"^(INV-)?[0-9]{1,18}$")),
    responses((status = 200, body = InvoiceView, description = "JSON; with `Accept: text/html` the printable page"),
        (status = 404, body = ErrorBody, description = "No such invoice, or not the caller's")))]
pub(crate) async fn show(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    Path(number): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let number = invoices::parse_number(&number).ok_or(AppError::NotFound)?;
    let inv =
        invoices::by_number(&ctx.db, &Settings::get(&ctx), &Actor::user(&user), number).await?;
    super::orders::invoice_answer(&ctx, &headers, inv)
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::get;
    Routes::new()
        .prefix("/api/v1")
        .add("/invoices", get(list))
        .add("/invoices/{number}", get(show))
}
