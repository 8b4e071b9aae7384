//! `/admin/notifications`: what the shop wants staff to look at (low stock now), newest first,
//! with read/unread marks. Staff and admins read and mark; admins also delete and can run the
//! scheduled stock check at once (`notifications::check_stock`, the job's own call).
use axum::{
    extract::{OriginalUri, Path, Query},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use loco_rs::prelude::Routes;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::inventory::STOCK_VIEWERS;
use crate::{
    domain::role::Role,
    errors::{AppError, PageError},
    models::notifications::{self, NotificationView},
    views::orders::when,
    web::{
        html::{flash, Page},
        pagination::PageQuery,
    },
};

const ADMIN: &[Role] = &[Role::Admin];

fn parse_id(id: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(id).map_err(|_| PageError(AppError::NotFound))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Filter {
    /// "1": unread only.
    unread: String,
    page: String,
}

impl Filter {
    fn unread_only(&self) -> bool {
        matches!(self.unread.as_str(), "1" | "true" | "on")
    }

    /// Where a button on the list returns to: the same filter and page.
    fn back(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if self.unread_only() {
            s.append_pair("unread", "1");
        }
        if !self.page.is_empty() {
            s.append_pair("page", &self.page);
        }
        let q = s.finish();
        if q.is_empty() {
            "/admin/notifications".to_string()
        } else {
            format!("/admin/notifications?{q}")
        }
    }
}

fn present(n: &NotificationView) -> Value {
    let mut v = json!(n);
    v["when"] = json!(when(&n.created_at));
    v
}

async fn index(
    page: Page,
    OriginalUri(uri): OriginalUri,
    Query(filter): Query<Filter>,
    Query(paging): Query<PageQuery>,
) -> Result<Response, PageError> {
    let user = page.require_role(STOCK_VIEWERS)?;
    let is_admin = ADMIN.contains(&user.role());
    let request = paging.parse()?;
    let (rows, count) = notifications::list(
        &page.ctx.db,
        filter.unread_only(),
        request.page,
        request.page_size,
    )
    .await?;
    let unread = notifications::unread_count(&page.ctx.db).await?;
    let back = filter.back();
    let query = back.strip_prefix("/admin/notifications").unwrap_or("");
    page.render(
        "admin/notifications/index.html",
        "Notifications",
        json!({
            "notifications": rows.iter().map(present).collect::<Vec<_>>(),
            "unread_only": filter.unread_only(),
            "unread_count": unread,
            "query": query,
            "is_admin": is_admin,
            "pagination": request.page_nav(count, &uri)?,
        }),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MarkForm {
    /// "true" marks read, anything else unread.
    read: String,
}

async fn mark(
    page: Page,
    Path(id): Path<String>,
    Query(filter): Query<Filter>,
    Form(f): Form<MarkForm>,
) -> Result<Response, PageError> {
    page.require_role(STOCK_VIEWERS)?;
    let read = f.read == "true";
    notifications::set_read(&page.ctx.db, parse_id(&id)?, read).await?;
    let what = if read { "read" } else { "unread" };
    flash(&page.session, "success", format!("Marked as {what}.")).await;
    Ok(Redirect::to(&filter.back()).into_response())
}

async fn delete(
    page: Page,
    Path(id): Path<String>,
    Query(filter): Query<Filter>,
) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    notifications::delete(&page.ctx.db, parse_id(&id)?).await?;
    flash(&page.session, "success", "Deleted the notification.").await;
    Ok(Redirect::to(&filter.back()).into_response())
}

async fn check(page: Page) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    let done = notifications::check_stock(&page.ctx).await?;
    let message = match (done.opened, done.closed) {
        (0, 0) => "Stock check done: nothing new.".to_string(),
        (opened, closed) => format!(
            "Stock check done: {opened} new low-stock {}, {closed} closed (restocked).",
            if opened == 1 {
                "notification"
            } else {
                "notifications"
            }
        ),
    };
    flash(&page.session, "success", message).await;
    Ok(Redirect::to("/admin/notifications").into_response())
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/admin/notifications", get(index))
        .add("/admin/notifications/check", post(check))
        .add("/admin/notifications/{id}/read", post(mark))
        .add("/admin/notifications/{id}/delete", post(delete))
}
