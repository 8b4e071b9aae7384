//! `/admin/reviews`: review moderation (product managers and admins): hide, publish, delete.
use axum::{
    extract::{OriginalUri, Path, Query},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use loco_rs::prelude::Routes;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::{
    domain::role::Role,
    errors::PageError,
    models::reviews,
    web::{
        html::{flash, Page},
        pagination::PageQuery,
    },
};

#[derive(Debug, Deserialize, Default, serde::Serialize)]
#[serde(default)]
struct Filter {
    status: String,
}

async fn index(
    page: Page,
    OriginalUri(uri): OriginalUri,
    Query(filter): Query<Filter>,
    Query(paging): Query<PageQuery>,
) -> Result<Response, PageError> {
    page.require_role(Role::CATALOGUE_MANAGERS)?;
    let paging = paging.parse().unwrap_or_default();
    let status = match filter.status.as_str() {
        s @ (reviews::PUBLISHED | reviews::HIDDEN) => Some(s),
        _ => None,
    };
    let (rows, count) = reviews::all(&page.ctx.db, status, paging.page, paging.page_size).await?;
    let list: Vec<_> = rows
        .into_iter()
        .map(|(r, product)| {
            let mut v = json!(r);
            v["product_name"] = json!(product);
            v["at_display"] = json!(crate::views::orders::when(&r.created_at));
            v
        })
        .collect();
    let pagination = paging.page_nav(count, &uri)?;
    page.render(
        "admin/reviews/index.html",
        "Reviews",
        json!({"reviews": list, "count": count, "filter": filter, "pagination": pagination}),
    )
    .await
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct StatusForm {
    publish: String,
}

async fn set_status(
    page: Page,
    Path(id): Path<Uuid>,
    Form(f): Form<StatusForm>,
) -> Result<Response, PageError> {
    let user = page.require_role(Role::CATALOGUE_MANAGERS)?;
    let publish = f.publish == "1";
    reviews::moderate(
        &page.ctx,
        &crate::models::actor::Actor::user(user),
        id,
        publish,
    )
    .await?;
    flash(
        &page.session,
        "success",
        if publish {
            "The review is published."
        } else {
            "The review is hidden."
        },
    )
    .await;
    Ok(Redirect::to("/admin/reviews").into_response())
}

async fn delete(page: Page, Path(id): Path<Uuid>) -> Result<Response, PageError> {
    let user = page.require_role(Role::CATALOGUE_MANAGERS)?;
    reviews::delete(&page.ctx, &crate::models::actor::Actor::user(user), id).await?;
    flash(&page.session, "success", "The review is deleted.").await;
    Ok(Redirect::to("/admin/reviews").into_response())
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/admin/reviews", get(index))
        .add("/admin/reviews/{id}/status", post(set_status))
        .add("/admin/reviews/{id}/delete", post(delete))
}
