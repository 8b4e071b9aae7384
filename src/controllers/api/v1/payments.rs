//! `/api/v1/transactions`: every payment, refund and failed attempt (API.md "Checkout,
//! orders, payments").
use axum::{
    extract::{Path, Query, State},
    response::IntoResponse,
    Json,
};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    domain::validation::FieldErrors,
    errors::{ApiError, AppError},
    models::{
        actor::Actor,
        payments::{self, TransactionView},
    },
    views::api::{ErrorBody, TransactionPage},
    web::{
        extract::CurrentUser,
        pagination::{Listing, PageQuery},
    },
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
    Query(q): Query<TransactionQuery>,
    page: Listing,
) -> Result<impl IntoResponse, ApiError> {
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
    Ok(page.answer(rows, count))
}

#[utoipa::path(get, path = "/api/v1/transactions/{id}", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = TransactionView),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody, description = "No such transaction, or not the caller's")))]
pub(crate) async fn show(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<TransactionView>, ApiError> {
    let pid = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    Ok(Json(
        payments::find_transaction(&ctx.db, &Actor::user(&user), pid).await?,
    ))
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new()
        .prefix("/api/v1")
        .add("/transactions", axum::routing::get(list))
        .add("/transactions/{id}", axum::routing::get(show))
}
