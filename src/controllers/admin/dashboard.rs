//! `/admin`: the staff landing page.
use axum::response::Response;
use loco_rs::prelude::Routes;
use serde_json::json;

use crate::{
    domain::role::Role,
    errors::PageError,
    jobs::Jobs,
    models::{mail_outbox, users},
    web::html::Page,
};

pub const STAFF: &[Role] = &[Role::Staff, Role::ProductManager, Role::Admin];

async fn index(page: Page) -> Result<Response, PageError> {
    page.require_role(STAFF)?;
    let db = &page.ctx.db;
    let total = users::count(db, None).await?;
    let customers = users::count(db, Some(Role::Customer)).await?;
    let stats = json!({
        "users": total,
        "customers": customers,
        "staff": total - customers,
        "mail_pending": mail_outbox::count_by_status(db, mail_outbox::Status::Pending).await?,
        "mail_failed": mail_outbox::count_by_status(db, mail_outbox::Status::Failed).await?,
        "dead_jobs": Jobs::get(&page.ctx).dead(1000).await?.len(),
    });
    page.render(
        "admin/dashboard.html",
        "Dashboard",
        json!({ "stats": stats }),
    )
    .await
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new().add("/admin", axum::routing::get(index))
}
