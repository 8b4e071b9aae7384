//! `/api/v1/admin/webhooks*`: outgoing webhook endpoints and their delivery log (API.md "Back
//! office"). Admins only; API keys cannot reach these routes (no scope covers them).
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::IntoResponse,
    Json,
};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    domain::{
        validation::FieldErrors,
        webhook::{EndpointDraft, EndpointPatch},
    },
    errors::{ApiError, AppError},
    models::webhooks::{self, DeliveryView, EndpointView, Status},
    sealing::Sealer,
    views::api::{DeliveryPage, ErrorBody, WebhookPage},
    web::{
        extract::{AdminOnly, ApiJson, Authorized},
        pagination::{Listing, PageQuery},
    },
};

type Admin = Authorized<AdminOnly>;

fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::NotFound)
}

#[utoipa::path(get, path = "/api/v1/admin/webhooks", tag = "back office", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = WebhookPage), (status = 403, body = ErrorBody)))]
async fn list(
    State(ctx): State<AppContext>,
    _a: Admin,
    page: Listing,
) -> Result<impl IntoResponse, ApiError> {
    let (rows, count) = webhooks::list(&ctx.db, page.page, page.page_size).await?;
    Ok(page.answer(rows, count))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// Where deliveries are POSTed (http or https, without credentials).
    #[schema(format = "uri", max_length = 2000, pattern = "^https?://[^@/]+(/.*)?$")]
    pub url: String,
    /// Any of `order.created`, `order.paid`, `order.shipped`, `order.completed`,
    /// `order.cancelled`, `order.expired`, `order.refunded`, `product.changed`, `stock.low`.
    #[schema(value_type = Vec<crate::domain::webhook::Event>, min_items = 1)]
    pub events: Vec<String>,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub description: String,
}

#[utoipa::path(post, path = "/api/v1/admin/webhooks", tag = "back office", security(("bearer" = [])), request_body = WebhookRequest,
    responses((status = 201, body = EndpointView, description = "`secret` signs every delivery: `X-Emporium-Signature: t=<unix>,v1=<hex HMAC-SHA256 of \"t.body\">`"),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(ctx): State<AppContext>,
    admin: Admin,
    ApiJson(req): ApiJson<WebhookRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let draft = EndpointDraft::parse(
        &req.url,
        &req.description,
        &req.events,
        webhooks::allow_private(&ctx),
    )?;
    Ok(crate::web::idempotency::shows_secret((
        StatusCode::CREATED,
        Json(webhooks::create(&ctx.db, &Sealer::get(&ctx), &admin.0, draft).await?),
    )))
}

#[utoipa::path(get, path = "/api/v1/admin/webhooks/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = EndpointView), (status = 404, body = ErrorBody)))]
async fn show(
    State(ctx): State<AppContext>,
    _a: Admin,
    Path(id): Path<String>,
) -> Result<Json<EndpointView>, ApiError> {
    Ok(Json(
        webhooks::find(&ctx.db, &Sealer::get(&ctx), parse_id(&id)?).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatchRequest {
    #[schema(format = "uri", max_length = 2000, pattern = "^https?://[^@/]+(/.*)?$")]
    pub url: Option<String>,
    #[schema(value_type = Option<Vec<crate::domain::webhook::Event>>, min_items = 1)]
    pub events: Option<Vec<String>>,
    #[schema(max_length = 200)]
    pub description: Option<String>,
    /// A disabled endpoint gets no new deliveries; pending ones fail.
    pub active: Option<bool>,
    /// Issue a new signing secret; the old one stops signing at once.
    #[serde(default)]
    pub rotate_secret: bool,
}

#[utoipa::path(patch, path = "/api/v1/admin/webhooks/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = WebhookPatchRequest,
    responses((status = 200, body = EndpointView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(ctx): State<AppContext>,
    a: Admin,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<WebhookPatchRequest>,
) -> Result<Json<EndpointView>, ApiError> {
    let id = parse_id(&id)?;
    let patch = EndpointPatch::parse(
        req.url.as_deref(),
        req.description.as_deref(),
        req.events.as_deref(),
        req.active,
        webhooks::allow_private(&ctx),
    )?;
    Ok(Json(
        webhooks::update(
            &ctx.db,
            &Sealer::get(&ctx),
            &crate::models::actor::Actor::user(&a.0),
            id,
            patch,
            req.rotate_secret,
        )
        .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/admin/webhooks/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted with its delivery log"), (status = 404, body = ErrorBody)))]
async fn destroy(
    State(ctx): State<AppContext>,
    a: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    webhooks::delete(
        &ctx.db,
        &crate::models::actor::Actor::user(&a.0),
        parse_id(&id)?,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeliveryQuery {
    /// `pending`, `succeeded` or `failed`.
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/admin/webhooks/{id}/deliveries", tag = "back office", security(("bearer" = [])),
    params(("id" = Uuid, Path), DeliveryQuery, PageQuery),
    responses((status = 200, body = DeliveryPage), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn deliveries(
    State(ctx): State<AppContext>,
    _a: Admin,
    Path(id): Path<String>,
    Query(q): Query<DeliveryQuery>,
    page: Listing,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(&id)?;
    let status =
        match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(Status::parse(s).ok_or_else(|| {
                FieldErrors::single("status", "Use pending, succeeded or failed.")
            })?),
        };
    let (rows, count) =
        webhooks::deliveries(&ctx.db, id, status, page.page, page.page_size).await?;
    Ok(page.answer(rows, count))
}

#[utoipa::path(post, path = "/api/v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "back office", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses((status = 202, body = DeliveryView, description = "A new delivery of the same event (same `event_id`), queued"),
        (status = 404, body = ErrorBody)))]
async fn redeliver(
    State(ctx): State<AppContext>,
    _a: Admin,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let view = webhooks::redeliver(&ctx, parse_id(&id)?, parse_id(&delivery)?).await?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .prefix("/api/v1/admin")
        .add("/webhooks", get(list).post(create))
        .add("/webhooks/{id}", get(show).patch(update).delete(destroy))
        .add("/webhooks/{id}/deliveries", get(deliveries))
        .add(
            "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            post(redeliver),
        )
}
