//! `/api/v1/products*`, `/api/v1/variants/*`, `/api/v1/categories*`, `/api/v1/brands*`.
use std::collections::BTreeMap;

use axum::{
    extract::{DefaultBodyLimit, Multipart, OriginalUri, Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::{Deserialize, Deserializer, Serialize};

use crate::{
    domain::{
        catalogue::{
            self, ListParams, ProductInput, ProductOption, ProductPatchInput, VariantInput,
            VariantPatchInput,
        },
        validation::FieldErrors,
    },
    errors::{ApiError, AppError},
    models::actor::Actor,
    models::catalogue::{
        groups::{self, BrandView, CategoryView},
        images,
        listing::{self, Facets},
        products::{self, GroupRefs, Removal},
        views::{ImageView, ProductView, VariantView},
    },
    settings::Settings,
    views::api::{BrandPage, CategoryPage, ErrorBody},
    web::{
        extract::{ApiJson, Authorized, CatalogueManagers, Viewer},
        pagination::{Listing, PageQuery, Paginated},
    },
};

type Manager = Authorized<CatalogueManagers>;

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A product list page: API.md's list body plus facet counts for the current filter.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductList {
    pub results: Vec<ProductView>,
    pub count: u64,
    pub page: u64,
    pub page_size: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub facets: Facets,
}

impl ProductList {
    fn new(p: Paginated<ProductView>, facets: Facets) -> Self {
        Self {
            results: p.results,
            count: p.count,
            page: p.page,
            page_size: p.page_size,
            next: p.next,
            previous: p.previous,
            facets,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/products", tag = "catalogue", params(ListParams, PageQuery),
    responses((status = 200, body = ProductList), (status = 422, body = ErrorBody)))]
async fn list(
    State(ctx): State<AppContext>,
    viewer: Viewer,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<ListParams>,
    page: Listing,
) -> Result<Json<ProductList>, ApiError> {
    let mut filter = params.parse()?;
    filter.include_inactive = viewer.is_staff() && params_include_inactive(&uri);
    let found = listing::list(&ctx, &filter, page.page, page.page_size).await?;
    let wrapped = page.wrap(found.results, found.count);
    Ok(Json(ProductList::new(wrapped, found.facets)))
}

/// Staff opt in to seeing inactive products with `include_inactive=true`.
fn params_include_inactive(uri: &axum::http::Uri) -> bool {
    uri.query().is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "include_inactive" && v == "true")
    })
}

#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "catalogue",
    params(("id" = String, Path, description = "Product UUID or slug")),
    responses((status = 200, body = ProductView), (status = 404, body = ErrorBody)))]
pub(crate) async fn show(
    State(ctx): State<AppContext>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Json<ProductView>, ApiError> {
    Ok(Json(products::detail(&ctx, &id, viewer.is_staff()).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantRequest {
    /// Visible ASCII characters, no spaces; unique across the shop.
    #[schema(min_length = 1, max_length = 64, pattern = r"^\s*[!-~]+\s*$")]
    pub sku: String,
    /// One value for each option the product declares, e.g. `{"Size": "M"}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub options: BTreeMap<String, String>,
    #[schema(minimum = 0, maximum = 100_000_000_000i64)]
    pub price_cents: i64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub stock: i64,
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub low_stock_threshold: Option<i64>,
    /// Grams, 1 to 10,000,000.
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub weight_grams: Option<i64>,
}

impl From<VariantRequest> for VariantInput {
    fn from(v: VariantRequest) -> Self {
        Self {
            sku: v.sku,
            options: v.options,
            price_cents: v.price_cents,
            stock: v.stock,
            low_stock_threshold: v.low_stock_threshold,
            weight_grams: v.weight_grams,
        }
    }
}

/// Either the flat fields (`sku`, `price_cents`, `stock`: one variant) or `options` plus
/// `variants`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProductRequest {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// Derived from the name when left out.
    #[schema(max_length = 160, pattern = r"^\s*[a-z0-9]+(-[a-z0-9]+)*\s*$")]
    pub slug: Option<String>,
    /// Required without `variants`.
    #[schema(min_length = 1, max_length = 64, pattern = r"^\s*[!-~]+\s*$")]
    pub sku: Option<String>,
    #[schema(max_length = 20000)]
    pub description: Option<String>,
    #[schema(max_length = 200)]
    pub seo_title: Option<String>,
    #[schema(max_length = 320)]
    pub seo_description: Option<String>,
    /// Required without `variants`.
    #[schema(minimum = 0, maximum = 100_000_000_000i64)]
    pub price_cents: Option<i64>,
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub stock: Option<i64>,
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub low_stock_threshold: Option<i64>,
    /// Grams, 1 to 10,000,000 (simple products; variants take their own).
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub weight_grams: Option<i64>,
    /// Category UUID or slug.
    pub category_id: Option<String>,
    /// Brand UUID or slug.
    pub brand_id: Option<String>,
    /// Tags are 1 to 40 characters with a letter or digit.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub featured: bool,
    pub active: Option<bool>,
    #[serde(default)]
    #[schema(max_items = 3)]
    pub options: Vec<ProductOption>,
    #[serde(default)]
    #[schema(max_items = 100)]
    pub variants: Vec<VariantRequest>,
}

#[utoipa::path(post, path = "/api/v1/products", tag = "catalogue", security(("bearer" = [])),
    request_body = CreateProductRequest,
    responses((status = 201, body = ProductView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(ctx): State<AppContext>,
    m: Manager,
    ApiJson(req): ApiJson<CreateProductRequest>,
) -> Result<Response, ApiError> {
    let input = ProductInput {
        name: req.name,
        slug: req.slug,
        description: req.description,
        seo_title: req.seo_title,
        seo_description: req.seo_description,
        sku: req.sku,
        price_cents: req.price_cents,
        stock: req.stock,
        low_stock_threshold: req.low_stock_threshold,
        weight_grams: req.weight_grams,
        options: req.options,
        variants: req.variants.into_iter().map(VariantInput::from).collect(),
        tags: req.tags,
        featured: req.featured,
        active: req.active.unwrap_or(true),
    };
    let draft = input.parse()?;
    let refs = GroupRefs {
        category: req.category_id.map(Some),
        brand: req.brand_id.map(Some),
    };
    let created = products::create(&ctx, draft, &refs, &Actor::user(&m.0)).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProductRequest {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub sku: Option<String>,
    pub description: Option<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    /// Simple products only (one variant, no options).
    pub price_cents: Option<i64>,
    pub stock: Option<i64>,
    pub low_stock_threshold: Option<i64>,
    /// Grams; `null` removes the weight.
    #[serde(default, deserialize_with = "double_option")]
    pub weight_grams: Option<Option<i64>>,
    /// Category UUID or slug; `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    pub category_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub brand_id: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub featured: Option<bool>,
    pub active: Option<bool>,
    /// Same option names; values may be added, unused values removed.
    pub options: Option<Vec<ProductOption>>,
}

#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "catalogue", security(("bearer" = [])),
    params(("id" = String, Path, description = "Product UUID or slug")), request_body = UpdateProductRequest,
    responses((status = 200, body = ProductView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(ctx): State<AppContext>,
    m: Manager,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateProductRequest>,
) -> Result<Json<ProductView>, ApiError> {
    let patch = ProductPatchInput {
        name: req.name,
        slug: req.slug,
        description: req.description,
        seo_title: req.seo_title,
        seo_description: req.seo_description,
        sku: req.sku,
        price_cents: req.price_cents,
        stock: req.stock,
        low_stock_threshold: req.low_stock_threshold,
        weight_grams: req.weight_grams,
        options: req.options,
        tags: req.tags,
        featured: req.featured,
        active: req.active,
    }
    .parse()?;
    let refs = GroupRefs {
        category: req.category_id,
        brand: req.brand_id,
    };
    Ok(Json(
        products::update(&ctx, &id, patch, &refs, &Actor::user(&m.0)).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/products/{id}", tag = "catalogue", security(("bearer" = [])),
    params(("id" = String, Path, description = "Product UUID or slug")),
    responses((status = 204, description = "Deleted"),
        (status = 200, body = ProductView, description = "Orders refer to it: deactivated instead"),
        (status = 404, body = ErrorBody)))]
async fn destroy(
    State(ctx): State<AppContext>,
    _m: Manager,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(match products::delete(&ctx, &id).await? {
        Removal::Deleted => StatusCode::NO_CONTENT.into_response(),
        Removal::Deactivated(view) => Json(*view).into_response(),
    })
}

#[utoipa::path(post, path = "/api/v1/products/{id}/variants", tag = "catalogue", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = VariantRequest,
    responses((status = 201, body = ProductView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_variant(
    State(ctx): State<AppContext>,
    m: Manager,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<VariantRequest>,
) -> Result<Response, ApiError> {
    let view =
        products::add_variant(&ctx, &id, &VariantInput::from(req), &Actor::user(&m.0)).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateVariantRequest {
    pub sku: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub options: Option<BTreeMap<String, String>>,
    pub price_cents: Option<i64>,
    pub stock: Option<i64>,
    pub low_stock_threshold: Option<i64>,
    /// Grams; `null` removes the weight.
    #[serde(default, deserialize_with = "double_option")]
    pub weight_grams: Option<Option<i64>>,
}

#[utoipa::path(patch, path = "/api/v1/variants/{id}", tag = "catalogue", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)), request_body = UpdateVariantRequest,
    responses((status = 200, body = VariantView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_variant(
    State(ctx): State<AppContext>,
    m: Manager,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateVariantRequest>,
) -> Result<Json<VariantView>, ApiError> {
    let input = VariantPatchInput {
        sku: req.sku,
        options: req.options,
        price_cents: req.price_cents,
        stock: req.stock,
        low_stock_threshold: req.low_stock_threshold,
        weight_grams: req.weight_grams,
    };
    Ok(Json(
        products::update_variant(&ctx, &id, &input, &Actor::user(&m.0)).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/variants/{id}", tag = "catalogue", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`conflict`: the product's last variant, or orders refer to it")))]
async fn delete_variant(
    State(ctx): State<AppContext>,
    _m: Manager,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    products::delete_variant(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/products/{id}/images", tag = "catalogue", security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body(content_type = "multipart/form-data", description = "Fields `image` (JPEG, PNG or WebP) and optional `alt`."),
    responses((status = 201, body = ImageView), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn upload_image(
    State(ctx): State<AppContext>,
    _m: Manager,
    Path(id): Path<String>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, ApiError> {
    let form = form.map_err(|_| {
        AppError::UnsupportedMediaType("Send multipart/form-data with an `image` field.".into())
    })?;
    let (bytes, alt) = crate::web::upload::read_image_form(form).await?;
    let view = images::upload(&ctx, &id, bytes, &alt).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/products/{id}/images/{image_id}", tag = "catalogue", security(("bearer" = [])),
    params(("id" = String, Path), ("image_id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_image(
    State(ctx): State<AppContext>,
    _m: Manager,
    Path((id, image_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    images::delete(&ctx, &id, &image_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRequest {
    /// Made of letters or digits at least in part (the slug comes from it).
    #[schema(min_length = 1, max_length = 120, pattern = "[A-Za-z0-9]")]
    pub name: String,
    /// Lower-case letters, digits and single hyphens; made from the name when left out.
    #[schema(max_length = 120, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$")]
    pub slug: Option<String>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: String,
    /// Categories only: the parent's UUID or slug (one level of nesting).
    pub parent_id: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/categories", tag = "catalogue",
    params(PageQuery), responses((status = 200, body = CategoryPage), (status = 422, body = ErrorBody)))]
async fn list_categories(
    State(ctx): State<AppContext>,
    page: Listing,
) -> Result<Json<Paginated<CategoryView>>, ApiError> {
    Ok(page.answer_all(groups::categories(&ctx).await?))
}

#[utoipa::path(post, path = "/api/v1/categories", tag = "catalogue", security(("bearer" = [])),
    request_body = GroupRequest,
    responses((status = 201, body = CategoryView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_category(
    State(ctx): State<AppContext>,
    _m: Manager,
    ApiJson(req): ApiJson<GroupRequest>,
) -> Result<Response, ApiError> {
    let draft = catalogue::group(&req.name, req.slug.as_deref(), &req.description)?;
    let created = groups::create_category(&ctx, draft, req.parent_id.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn category_view(ctx: &AppContext, key: &str) -> Result<CategoryView, ApiError> {
    let c = groups::find_category(&ctx.db, key).await?;
    groups::categories(ctx)
        .await?
        .into_iter()
        .find(|v| v.id == c.pid)
        .ok_or(ApiError(AppError::NotFound))
}

#[utoipa::path(get, path = "/api/v1/categories/{id}", tag = "catalogue",
    params(("id" = String, Path, description = "Category UUID or slug")),
    responses((status = 200, body = CategoryView), (status = 404, body = ErrorBody)))]
async fn show_category(
    State(ctx): State<AppContext>,
    Path(id): Path<String>,
) -> Result<Json<CategoryView>, ApiError> {
    Ok(Json(category_view(&ctx, &id).await?))
}

#[utoipa::path(put, path = "/api/v1/categories/{id}", tag = "catalogue", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = GroupRequest,
    responses((status = 200, body = CategoryView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_category(
    State(ctx): State<AppContext>,
    _m: Manager,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<GroupRequest>,
) -> Result<Json<CategoryView>, ApiError> {
    let draft = catalogue::group(&req.name, req.slug.as_deref(), &req.description)?;
    let slug = draft.slug.clone();
    groups::update_category(&ctx, &id, draft, req.parent_id.as_deref()).await?;
    Ok(Json(category_view(&ctx, &slug).await?))
}

#[utoipa::path(delete, path = "/api/v1/categories/{id}", tag = "catalogue", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_category(
    State(ctx): State<AppContext>,
    _m: Manager,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    groups::delete_category(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/brands", tag = "catalogue",
    params(PageQuery), responses((status = 200, body = BrandPage), (status = 422, body = ErrorBody)))]
async fn list_brands(
    State(ctx): State<AppContext>,
    page: Listing,
) -> Result<Json<Paginated<BrandView>>, ApiError> {
    Ok(page.answer_all(groups::brands(&ctx).await?))
}

#[utoipa::path(post, path = "/api/v1/brands", tag = "catalogue", security(("bearer" = [])),
    request_body = GroupRequest,
    responses((status = 201, body = BrandView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_brand(
    State(ctx): State<AppContext>,
    _m: Manager,
    ApiJson(req): ApiJson<GroupRequest>,
) -> Result<Response, ApiError> {
    if req.parent_id.is_some() {
        return Err(FieldErrors::single("parent_id", "Brands do not nest.").into());
    }
    let draft = catalogue::group(&req.name, req.slug.as_deref(), &req.description)?;
    Ok((
        StatusCode::CREATED,
        Json(groups::create_brand(&ctx, draft).await?),
    )
        .into_response())
}

async fn brand_view(ctx: &AppContext, key: &str) -> Result<BrandView, ApiError> {
    let b = groups::find_brand(&ctx.db, key).await?;
    groups::brands(ctx)
        .await?
        .into_iter()
        .find(|v| v.id == b.pid)
        .ok_or(ApiError(AppError::NotFound))
}

#[utoipa::path(get, path = "/api/v1/brands/{id}", tag = "catalogue",
    params(("id" = String, Path, description = "Brand UUID or slug")),
    responses((status = 200, body = BrandView), (status = 404, body = ErrorBody)))]
async fn show_brand(
    State(ctx): State<AppContext>,
    Path(id): Path<String>,
) -> Result<Json<BrandView>, ApiError> {
    Ok(Json(brand_view(&ctx, &id).await?))
}

#[utoipa::path(put, path = "/api/v1/brands/{id}", tag = "catalogue", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = GroupRequest,
    responses((status = 200, body = BrandView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_brand(
    State(ctx): State<AppContext>,
    _m: Manager,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<GroupRequest>,
) -> Result<Json<BrandView>, ApiError> {
    if req.parent_id.is_some() {
        return Err(FieldErrors::single("parent_id", "Brands do not nest.").into());
    }
    let draft = catalogue::group(&req.name, req.slug.as_deref(), &req.description)?;
    let slug = draft.slug.clone();
    groups::update_brand(&ctx, &id, draft).await?;
    Ok(Json(brand_view(&ctx, &slug).await?))
}

#[utoipa::path(delete, path = "/api/v1/brands/{id}", tag = "catalogue", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_brand(
    State(ctx): State<AppContext>,
    _m: Manager,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    groups::delete_brand(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[must_use]
pub fn routes(ctx: &AppContext) -> Routes {
    use axum::routing::{delete, get, patch, post};
    let upload_limit = Settings::get(ctx).upload_body_limit();
    Routes::new()
        .prefix("/api/v1")
        .add("/products", get(list).post(create))
        .add("/products/{id}", get(show).patch(update).delete(destroy))
        .add("/products/{id}/variants", post(add_variant))
        .add(
            "/products/{id}/images",
            post(upload_image).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .add("/products/{id}/images/{image_id}", delete(delete_image))
        .add(
            "/variants/{id}",
            patch(update_variant).delete(delete_variant),
        )
        .add("/categories", get(list_categories).post(create_category))
        .add(
            "/categories/{id}",
            get(show_category)
                .put(update_category)
                .delete(delete_category),
        )
        .add("/brands", get(list_brands).post(create_brand))
        .add(
            "/brands/{id}",
            get(show_brand).put(update_brand).delete(delete_brand),
        )
}
