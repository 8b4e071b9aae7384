//! `/admin/transactions`: every payment, refund and failed attempt, newest first (admins).
use axum::extract::{OriginalUri, Query};
use loco_rs::prelude::Routes;
use serde_json::json;

use crate::{
    domain::role::Role,
    errors::PageError,
    models::payments,
    views,
    web::{html::Page, pagination::PageQuery},
};

async fn index(
    page: Page,
    OriginalUri(uri): OriginalUri,
    Query(paging): Query<PageQuery>,
) -> Result<axum::response::Response, PageError> {
    let user = page.require_role(&[Role::Admin])?;
    let paging = paging.parse().unwrap_or_default();
    let (rows, count) = payments::list(
        &page.ctx.db,
        &crate::models::actor::Actor::user(user),
        None,
        paging.page,
        paging.page_size,
    )
    .await?;
    let pagination = paging.page_nav(count, &uri)?;
    page.render(
        "admin/transactions/index.html",
        "Transactions",
        json!({"transactions": views::orders::transactions(&rows), "count": count, "pagination": pagination}),
    )
    .await
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new().add("/admin/transactions", axum::routing::get(index))
}
