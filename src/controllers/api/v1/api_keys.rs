//! `/api/v1/admin/api-keys*`: keys for third parties (API.md "Back office"). Admins only;
//! keys themselves cannot manage keys (no scope covers these routes).
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
    Json,
};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    errors::{ApiError, AppError},
    models::api_keys::{self, ApiKeyView, KeyDraft, NewApiKey},
    views::api::{ApiKeyPage, ErrorBody},
    web::{
        extract::{AdminOnly, ApiJson, Authorized},
        pagination::{Listing, PageQuery, Paginated},
    },
};

type Admin = Authorized<AdminOnly>;

#[utoipa::path(get, path = "/api/v1/admin/api-keys", tag = "back office", security(("bearer" = [])),
    params(PageQuery), responses((status = 200, body = ApiKeyPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(ctx): State<AppContext>,
    _a: Admin,
    page: Listing,
) -> Result<Json<Paginated<ApiKeyView>>, ApiError> {
    Ok(page.answer_all(api_keys::list(&ctx.db).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRequest {
    #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
    pub name: String,
    /// Any of `catalogue:read`, `catalogue:write`, `orders:read`, `orders:write`, `inventory`.
    #[schema(value_type = Vec<crate::domain::api_key::Scope>, min_items = 1)]
    pub scopes: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/admin/api-keys", tag = "back office", security(("bearer" = [])), request_body = ApiKeyRequest,
    responses((status = 201, body = NewApiKey, description = "`secret` is shown this once; send it as `Authorization: Bearer <secret>`"),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(ctx): State<AppContext>,
    admin: Admin,
    ApiJson(req): ApiJson<ApiKeyRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let draft = KeyDraft::parse(&req.name, &req.scopes)?;
    Ok(crate::web::idempotency::shows_secret((
        StatusCode::CREATED,
        Json(api_keys::create(&ctx, &admin.0, draft).await?),
    )))
}

#[utoipa::path(delete, path = "/api/v1/admin/api-keys/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204, description = "Revoked at once"), (status = 404, body = ErrorBody)))]
async fn revoke(
    State(ctx): State<AppContext>,
    a: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    api_keys::revoke(&ctx.db, &crate::models::actor::Actor::user(&a.0), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{delete, get};
    Routes::new()
        .prefix("/api/v1/admin")
        .add("/api-keys", get(list).post(create))
        .add("/api-keys/{id}", delete(revoke))
}
