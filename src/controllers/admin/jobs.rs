//! `/admin/jobs`: jobs that exhausted their retries, with retry and discard (admins only).
use axum::{
    extract::Path,
    response::{IntoResponse, Redirect, Response},
};
use loco_rs::prelude::Routes;
use serde_json::json;

use crate::{
    domain::role::Role,
    errors::PageError,
    jobs::Jobs,
    web::html::{flash, Page},
};

const ADMIN: &[Role] = &[Role::Admin];

async fn index(page: Page) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    let jobs = Jobs::get(&page.ctx);
    let dead = jobs.dead(200).await?;
    page.render(
        "admin/jobs.html",
        "Failed jobs",
        json!({ "jobs": dead, "backend": jobs.backend_name() }),
    )
    .await
}

async fn retry(page: Page, Path(id): Path<String>) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    Jobs::get(&page.ctx).retry_dead(&id).await?;
    flash(&page.session, "success", "The job is queued again.").await;
    Ok(Redirect::to("/admin/jobs").into_response())
}

async fn discard(page: Page, Path(id): Path<String>) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    Jobs::get(&page.ctx).discard_dead(&id).await?;
    flash(&page.session, "info", "The job was discarded.").await;
    Ok(Redirect::to("/admin/jobs").into_response())
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/admin/jobs", get(index))
        .add("/admin/jobs/{id}/retry", post(retry))
        .add("/admin/jobs/{id}/delete", post(discard))
}
