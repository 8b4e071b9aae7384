//! `/api/v1/products/{id}/reviews`, `/api/v1/reviews/{id}`, `/api/v1/wishlist*`, and review
//! moderation under `/api/v1/admin/reviews` (API.md "Catalogue", "Wishlist").
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
    domain::validation::FieldErrors,
    errors::{ApiError, AppError},
    models::{
        actor::Actor,
        catalogue::views::ProductView,
        reviews::{self, ReviewDraft, ReviewView},
        wishlist,
    },
    views::api::{ErrorBody, ProductPage, ReviewPage},
    web::{
        extract::{ApiJson, Authorized, CatalogueManagers, CurrentUser},
        pagination::{Listing, PageQuery, Paginated},
    },
};

fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::NotFound)
}

#[utoipa::path(get, path = "/api/v1/products/{id}/reviews", tag = "catalogue", params(("id" = String, Path, description = "Product UUID or slug"), PageQuery),
    responses((status = 200, body = ReviewPage), (status = 404, body = ErrorBody)))]
async fn list(
    State(ctx): State<AppContext>,
    Path(id): Path<String>,
    page: Listing,
) -> Result<impl IntoResponse, ApiError> {
    let (rows, count) = reviews::list(&ctx.db, &id, page.page, page.page_size).await?;
    Ok(page.answer(rows, count))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// 1–5.
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i64,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub comment: String,
}

#[utoipa::path(post, path = "/api/v1/products/{id}/reviews", tag = "catalogue", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = ReviewRequest,
    responses((status = 201, body = ReviewView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Only customers who bought the product"),
        (status = 409, body = ErrorBody, description = "Already reviewed: edit it"), (status = 422, body = ErrorBody)))]
async fn create(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReviewRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let draft = ReviewDraft::parse(req.rating, &req.comment)?;
    Ok((
        StatusCode::CREATED,
        Json(reviews::create(&ctx, &user, &id, draft).await?),
    ))
}

#[utoipa::path(patch, path = "/api/v1/reviews/{id}", tag = "catalogue", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ReviewRequest,
    responses((status = 200, body = ReviewView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReviewRequest>,
) -> Result<Json<ReviewView>, ApiError> {
    let draft = ReviewDraft::parse(req.rating, &req.comment)?;
    Ok(Json(
        reviews::update(&ctx, &user, parse_id(&id)?, draft).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/reviews/{id}", tag = "catalogue", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204, description = "Its author, or a product manager or admin"), (status = 404, body = ErrorBody)))]
async fn destroy(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    reviews::delete(&ctx, &Actor::user(&user), parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModerationRequest {
    #[schema(pattern = "^(published|hidden)$", example = "hidden")]
    pub status: String,
}

#[utoipa::path(patch, path = "/api/v1/admin/reviews/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ModerationRequest,
    responses((status = 200, body = ReviewView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn moderate(
    State(ctx): State<AppContext>,
    manager: Authorized<CatalogueManagers>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ModerationRequest>,
) -> Result<Json<ReviewView>, ApiError> {
    let publish = match req.status.as_str() {
        reviews::PUBLISHED => true,
        reviews::HIDDEN => false,
        _ => return Err(FieldErrors::single("status", "Must be published or hidden.").into()),
    };
    Ok(Json(
        reviews::moderate(&ctx, &Actor::user(&manager.0), parse_id(&id)?, publish).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/wishlist", tag = "account", security(("bearer" = [])),
    params(PageQuery), responses((status = 200, body = ProductPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn wishlist_list(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    page: Listing,
) -> Result<Json<Paginated<ProductView>>, ApiError> {
    Ok(page.answer_all(wishlist::list(&ctx, &user).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WishlistRequest {
    pub product_id: String,
}

#[utoipa::path(post, path = "/api/v1/wishlist", tag = "account", security(("bearer" = [])), request_body = WishlistRequest,
    responses((status = 201, body = ProductPage, description = "Added; the wishlist's first page"), (status = 200, body = ProductPage, description = "Already there"), (status = 404, body = ErrorBody)))]
async fn wishlist_add(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    page: Listing,
    ApiJson(req): ApiJson<WishlistRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let added = wishlist::add(&ctx, &user, req.product_id.trim()).await?;
    let items = wishlist::list(&ctx, &user).await?;
    // The wishlist as `GET /wishlist` answers it (a replay after a crash answers with that).
    Ok((
        if added {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        page.answer_all(items),
    ))
}

#[utoipa::path(delete, path = "/api/v1/wishlist/{product_id}", tag = "account", security(("bearer" = [])), params(("product_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn wishlist_remove(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    Path(product_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    wishlist::remove(&ctx, &user, &product_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{delete, get, patch};
    Routes::new()
        .prefix("/api/v1")
        .add("/products/{id}/reviews", get(list).post(create))
        .add("/reviews/{id}", patch(update).delete(destroy))
        .add("/admin/reviews/{id}", patch(moderate))
        .add("/wishlist", get(wishlist_list).post(wishlist_add))
        .add("/wishlist/{product_id}", delete(wishlist_remove))
}
