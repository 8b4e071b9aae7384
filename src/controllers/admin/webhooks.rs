//! `/admin/webhooks`: register endpoints for events, see each endpoint's secret and delivery
//! log (status, answer, attempts), redeliver an event. Admins only.
use axum::{
    extract::{OriginalUri, Path, Query},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::Form;
use loco_rs::prelude::Routes;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    domain::{
        role::Role,
        webhook::{EndpointDraft, EndpointPatch, Event},
    },
    errors::PageError,
    models::webhooks::{self, Status},
    sealing::Sealer,
    web::{
        html::{flash, form_errors, Page},
        pagination::PageQuery,
    },
};

const ADMIN: &[Role] = &[Role::Admin];

fn event_names() -> Vec<&'static str> {
    Event::ALL.iter().map(|e| e.as_str()).collect()
}

async fn render_index(
    page: &Page,
    uri: &axum::http::Uri,
    paging: &PageQuery,
    status: StatusCode,
    form: Value,
    errors: Value,
) -> Result<Response, PageError> {
    let paging = paging.parse().unwrap_or_default();
    let (endpoints, count) = webhooks::list(&page.ctx.db, paging.page, paging.page_size).await?;
    page.render_status(
        status,
        "admin/webhooks/index.html",
        "Webhooks",
        json!({"endpoints": endpoints, "events": event_names(), "form": form, "errors": errors,
               "pagination": paging.page_nav(count, uri)?}),
    )
    .await
}

async fn index(
    page: Page,
    OriginalUri(uri): OriginalUri,
    Query(paging): Query<PageQuery>,
) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    render_index(
        &page,
        &uri,
        &paging,
        StatusCode::OK,
        json!({"events": []}),
        json!({}),
    )
    .await
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct EndpointForm {
    url: String,
    description: String,
    events: Vec<String>,
    /// An unchecked checkbox sends nothing: absence means "disabled" on the edit form.
    active: Option<String>,
}

async fn create(
    page: Page,
    OriginalUri(uri): OriginalUri,
    Form(f): Form<EndpointForm>,
) -> Result<Response, PageError> {
    let admin = page.require_role(ADMIN)?.clone();
    let allow = webhooks::allow_private(&page.ctx);
    let result = match EndpointDraft::parse(&f.url, &f.description, &f.events, allow) {
        Ok(d) => webhooks::create(&page.ctx.db, &Sealer::get(&page.ctx), &admin, d).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(e) => {
            flash(
                &page.session,
                "success",
                "The endpoint is registered. Verify deliveries with the signing secret below.",
            )
            .await;
            Ok(Redirect::to(&format!("/admin/webhooks/{}", e.id)).into_response())
        }
        Err(e) => {
            let errors = json!(form_errors(e)?);
            let form = json!({"url": f.url, "description": f.description, "events": f.events});
            render_index(
                &page,
                &uri,
                &PageQuery::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
            )
            .await
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct LogFilter {
    status: String,
}

/// The endpoint's page; `form` is what the settings form shows (the endpoint itself, or the
/// refused input).
#[allow(clippy::too_many_arguments)]
async fn render_show(
    page: &Page,
    id: Uuid,
    uri: &axum::http::Uri,
    filter: &LogFilter,
    paging: &PageQuery,
    status: StatusCode,
    form: Option<Value>,
    errors: Value,
) -> Result<Response, PageError> {
    let endpoint = webhooks::find(&page.ctx.db, &Sealer::get(&page.ctx), id).await?;
    let form = form.unwrap_or_else(|| {
        json!({"url": endpoint.url, "description": endpoint.description,
               "events": endpoint.events, "active": endpoint.active})
    });
    let paging = paging.parse().unwrap_or_default();
    let only = Status::parse(filter.status.trim());
    let (deliveries, count) =
        webhooks::deliveries(&page.ctx.db, id, only, paging.page, paging.page_size).await?;
    let deliveries: Vec<Value> = deliveries
        .into_iter()
        .map(|d| {
            let payload = serde_json::to_string_pretty(&d.payload).unwrap_or_default();
            let mut v = json!(d);
            v["payload_text"] = json!(payload);
            v
        })
        .collect();
    let title = endpoint.url.clone();
    page.render_status(
        status,
        "admin/webhooks/show.html",
        &title,
        json!({
            "endpoint": endpoint, "form": form, "deliveries": deliveries, "events": event_names(),
            "status": only.map(Status::as_str).unwrap_or_default(),
            "statuses": Status::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "pagination": paging.page_nav(count, uri)?, "errors": errors,
        }),
    )
    .await
}

async fn show(
    page: Page,
    Path(id): Path<Uuid>,
    OriginalUri(uri): OriginalUri,
    Query(filter): Query<LogFilter>,
    Query(paging): Query<PageQuery>,
) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    render_show(
        &page,
        id,
        &uri,
        &filter,
        &paging,
        StatusCode::OK,
        None,
        json!({}),
    )
    .await
}

async fn update(
    page: Page,
    Path(id): Path<Uuid>,
    OriginalUri(uri): OriginalUri,
    Form(f): Form<EndpointForm>,
) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    let allow = webhooks::allow_private(&page.ctx);
    let active = Some(f.active.as_deref() == Some("true"));
    let result = match EndpointPatch::parse(
        Some(&f.url),
        Some(&f.description),
        Some(&f.events),
        active,
        allow,
    ) {
        Ok(p) => {
            let by = page.actor();
            webhooks::update(&page.ctx.db, &Sealer::get(&page.ctx), &by, id, p, false).await
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(_) => {
            flash(&page.session, "success", "Saved.").await;
            Ok(Redirect::to(&format!("/admin/webhooks/{id}")).into_response())
        }
        Err(e) => {
            let errors = json!(form_errors(e)?);
            let form = json!({"url": f.url, "description": f.description, "events": f.events,
                              "active": active == Some(true)});
            render_show(
                &page,
                id,
                &uri,
                &LogFilter::default(),
                &PageQuery::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(form),
                errors,
            )
            .await
        }
    }
}

async fn rotate(page: Page, Path(id): Path<Uuid>) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    webhooks::update(
        &page.ctx.db,
        &Sealer::get(&page.ctx),
        &page.actor(),
        id,
        EndpointPatch::default(),
        true,
    )
    .await?;
    flash(
        &page.session,
        "success",
        "A new signing secret is in use; update the receiver.",
    )
    .await;
    Ok(Redirect::to(&format!("/admin/webhooks/{id}")).into_response())
}

async fn delete(page: Page, Path(id): Path<Uuid>) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    webhooks::delete(&page.ctx.db, &page.actor(), id).await?;
    flash(
        &page.session,
        "success",
        "The endpoint and its log are deleted.",
    )
    .await;
    Ok(Redirect::to("/admin/webhooks").into_response())
}

async fn redeliver(
    page: Page,
    Path((id, delivery)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    let d = webhooks::redeliver(&page.ctx, id, delivery).await?;
    flash(
        &page.session,
        "success",
        format!("The {} event is queued for delivery again.", d.event),
    )
    .await;
    Ok(Redirect::to(&format!("/admin/webhooks/{id}")).into_response())
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/admin/webhooks", get(index).post(create))
        .add("/admin/webhooks/{id}", get(show).post(update))
        .add("/admin/webhooks/{id}/rotate", post(rotate))
        .add("/admin/webhooks/{id}/delete", post(delete))
        .add(
            "/admin/webhooks/{id}/deliveries/{delivery}/redeliver",
            post(redeliver),
        )
}
