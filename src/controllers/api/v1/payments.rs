//! `/api/v1/transactions`: every payment, refund and failed attempt (API.md "Checkout,
//! orders, payments").
use axum::{
    extract::{OriginalUri, Query, State},
    response::IntoResponse,
    Json,
};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    domain::validation::FieldErrors,
    errors::ApiError,
    models::{actor::Actor, payments},
    settings::Settings,
    views::api::{ErrorBody, TransactionPage},
    web::{extract::CurrentUser, pagination::PageQuery},
};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TransactionQuery {
    /// Only this order's transactions.
    pub order: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/transactions", tag = "orders", security(("bearer" = [])), params(TransactionQuery, PageQuery),
    responses((status = 200, body = TransactionPage, description = "The caller's own; everyone's for admins"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<TransactionQuery>,
    Query(page): Query<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let page = page.parse()?;
    let order = match q.order.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
        Some(o) => {
            Some(Uuid::parse_str(o).map_err(|_| FieldErrors::single("order", "Must be an id."))?)
        }
        None => None,
    };
    let (rows, count) = payments::list(
        &ctx.db,
        &Actor::user(&user),
        order,
        page.page,
        page.page_size,
    )
    .await?;
    Ok(Json(page.wrap(
        rows,
        count,
        &Settings::get(&ctx).base_url,
        &uri,
    )))
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new()
        .prefix("/api/v1")
        .add("/transactions", axum::routing::get(list))
}
