//! Shipping by destination (API.md "Checkout" and "Back office"): the methods that ship the
//! caller's cart to a country, and the admin's zones and methods.
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::IntoResponse,
    Json,
};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::Deserialize;
use uuid::Uuid;

use super::{back_office::double_option, cart::CartCaller};
use crate::{
    domain::{
        shipping::{MethodInput, ZoneDraft},
        validation::FieldErrors,
    },
    errors::{ApiError, AppError},
    models::{
        carts::{self, CartKey, Destination},
        shipping::{
            methods::{self, MethodView},
            zones::{self, ZoneView},
        },
    },
    views::api::{ErrorBody, MethodPage, OfferPage, ZonePage},
    web::{
        extract::{AdminOnly, ApiJson, Authorized},
        pagination::{Listing, PageQuery},
    },
};

type Admin = Authorized<AdminOnly>;

fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::NotFound)
}

// ---- what ships the caller's cart ------------------------------------------------------

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct OffersQuery {
    /// ISO 3166-1 alpha-2; the caller's default address's country (or the shop's) when left
    /// out.
    #[param(value_type = Option<crate::domain::countries::CountryCode>)]
    pub country: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/shipping-methods", tag = "orders",
    params(OffersQuery, PageQuery, ("X-Cart-Token" = Option<String>, Header, description = "A guest cart's token")),
    description = "The methods that ship the caller's cart (a user's, or a guest's by `X-Cart-Token`; an empty one without either) to `country`, priced for that cart, cheapest first. A shop with no shipping zone ships everywhere at its flat rate (the id `00000000-0000-0000-0000-000000000000`); once zones exist, a country in none of them has no method.",
    responses((status = 200, body = OfferPage), (status = 422, body = ErrorBody, description = "Not an ISO 3166-1 country")))]
async fn offers(
    State(ctx): State<AppContext>,
    caller: CartCaller,
    Query(q): Query<OffersQuery>,
    page: Listing,
) -> Result<impl IntoResponse, ApiError> {
    let country = match q.country.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => {
            let code = c.to_ascii_uppercase();
            if let Some(problem) = crate::domain::countries::problem(&code) {
                return Err(FieldErrors::single("country", problem).into());
            }
            Some(code)
        }
    };
    // A look-up never merges or creates carts; a guest token that names none is an empty cart.
    let cart = match (&caller.user, &caller.token) {
        (Some(u), _) => carts::find(&ctx.db, &CartKey::User(u)).await?,
        (None, Some(t)) => carts::find(&ctx.db, &CartKey::Guest(t)).await?,
        (None, None) => None,
    };
    let to = Destination {
        country,
        method: None,
    };
    let view = carts::view_for(&ctx, cart.as_ref(), caller.user.as_ref(), vec![], to).await?;
    let all = view.shipping_offers.list;
    let count = all.len() as u64;
    let skip = usize::try_from((page.page - 1) * page.page_size).unwrap_or(usize::MAX);
    let take = usize::try_from(page.page_size).unwrap_or(usize::MAX);
    let results = all.into_iter().skip(skip).take(take).collect();
    Ok(page.answer(results, count))
}

// ---- zones -----------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneRequest {
    #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
    pub name: String,
    /// ISO 3166-1 alpha-2 codes; a country may be in several zones.
    #[schema(value_type = Vec<crate::domain::countries::CountryCode>, min_items = 1, max_items = 249, example = json!(["DE", "AT"]))]
    pub countries: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZonePatch {
    #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
    pub name: Option<String>,
    /// Replaces the zone's countries.
    #[schema(value_type = Option<Vec<crate::domain::countries::CountryCode>>, min_items = 1, max_items = 249)]
    pub countries: Option<Vec<String>>,
}

#[utoipa::path(get, path = "/api/v1/admin/shipping-zones", tag = "back office", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = ZonePage), (status = 403, body = ErrorBody)))]
async fn list_zones(
    State(ctx): State<AppContext>,
    _a: Admin,
    page: Listing,
) -> Result<impl IntoResponse, ApiError> {
    let (rows, count) = zones::list(&ctx.db, page.page, page.page_size).await?;
    Ok(page.answer(rows, count))
}

#[utoipa::path(post, path = "/api/v1/admin/shipping-zones", tag = "back office", security(("bearer" = [])), request_body = ZoneRequest,
    responses((status = 201, body = ZoneView), (status = 422, body = ErrorBody)))]
async fn create_zone(
    State(ctx): State<AppContext>,
    _a: Admin,
    ApiJson(req): ApiJson<ZoneRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let d = ZoneDraft::parse(&req.name, &req.countries)?;
    Ok((StatusCode::CREATED, Json(zones::create(&ctx.db, d).await?)))
}

#[utoipa::path(get, path = "/api/v1/admin/shipping-zones/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ZoneView), (status = 404, body = ErrorBody)))]
async fn show_zone(
    State(ctx): State<AppContext>,
    _a: Admin,
    Path(id): Path<String>,
) -> Result<Json<ZoneView>, ApiError> {
    Ok(Json(zones::get(&ctx.db, parse_id(&id)?).await?))
}

#[utoipa::path(patch, path = "/api/v1/admin/shipping-zones/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ZonePatch,
    responses((status = 200, body = ZoneView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_zone(
    State(ctx): State<AppContext>,
    _a: Admin,
    Path(id): Path<String>,
    ApiJson(p): ApiJson<ZonePatch>,
) -> Result<Json<ZoneView>, ApiError> {
    let pid = parse_id(&id)?;
    let current = zones::get(&ctx.db, pid).await?;
    let d = ZoneDraft::parse(
        p.name.as_deref().unwrap_or(&current.name),
        p.countries.as_deref().unwrap_or(&current.countries),
    )?;
    Ok(Json(zones::update(&ctx.db, pid, d).await?))
}

#[utoipa::path(delete, path = "/api/v1/admin/shipping-zones/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    description = "Deletes the zone with its methods; orders keep the method they were placed with.",
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_zone(
    State(ctx): State<AppContext>,
    _a: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    zones::delete(&ctx.db, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- methods ---------------------------------------------------------------------------

const fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodRequest {
    pub zone_id: Uuid,
    #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 80)]
    pub carrier: String,
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub price_cents: i64,
    /// Free from this subtotal (after discount).
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub free_from_cents: Option<i64>,
    /// Offered from this subtotal ...
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub min_subtotal_cents: Option<i64>,
    /// ... up to this one (not below `min_subtotal_cents`).
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub max_subtotal_cents: Option<i64>,
    /// Offered for parcels up to this weight (variants' `weight_grams` × quantity).
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub max_weight_grams: Option<i64>,
    #[schema(minimum = 0, maximum = 365)]
    pub min_days: Option<i64>,
    /// Not below `min_days`.
    #[schema(minimum = 0, maximum = 365)]
    pub max_days: Option<i64>,
    #[serde(default = "yes")]
    pub active: bool,
}

/// Fields left out stay; `null` clears an optional one.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodPatch {
    pub zone_id: Option<Uuid>,
    pub name: Option<String>,
    pub carrier: Option<String>,
    pub price_cents: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub free_from_cents: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub min_subtotal_cents: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub max_subtotal_cents: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub max_weight_grams: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub min_days: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub max_days: Option<Option<i64>>,
    pub active: Option<bool>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct MethodQuery {
    /// Only this zone's methods.
    pub zone: Option<Uuid>,
}

#[utoipa::path(get, path = "/api/v1/admin/shipping-methods", tag = "back office", security(("bearer" = [])), params(MethodQuery, PageQuery),
    responses((status = 200, body = MethodPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody, description = "An unknown zone")))]
async fn list_methods(
    State(ctx): State<AppContext>,
    _a: Admin,
    Query(q): Query<MethodQuery>,
    page: Listing,
) -> Result<impl IntoResponse, ApiError> {
    let (rows, count) = methods::list(&ctx.db, q.zone, page.page, page.page_size).await?;
    Ok(page.answer(rows, count))
}

#[utoipa::path(post, path = "/api/v1/admin/shipping-methods", tag = "back office", security(("bearer" = [])), request_body = MethodRequest,
    responses((status = 201, body = MethodView), (status = 422, body = ErrorBody)))]
async fn create_method(
    State(ctx): State<AppContext>,
    _a: Admin,
    ApiJson(r): ApiJson<MethodRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let d = MethodInput {
        name: r.name,
        carrier: r.carrier,
        price_cents: r.price_cents,
        free_from_cents: r.free_from_cents,
        min_subtotal_cents: r.min_subtotal_cents,
        max_subtotal_cents: r.max_subtotal_cents,
        max_weight_grams: r.max_weight_grams,
        min_days: r.min_days,
        max_days: r.max_days,
        active: r.active,
    }
    .parse()?;
    Ok((
        StatusCode::CREATED,
        Json(methods::create(&ctx.db, r.zone_id, d).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/admin/shipping-methods/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = MethodView), (status = 404, body = ErrorBody)))]
async fn show_method(
    State(ctx): State<AppContext>,
    _a: Admin,
    Path(id): Path<String>,
) -> Result<Json<MethodView>, ApiError> {
    Ok(Json(methods::get(&ctx.db, parse_id(&id)?).await?))
}

#[utoipa::path(patch, path = "/api/v1/admin/shipping-methods/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = MethodPatch,
    responses((status = 200, body = MethodView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_method(
    State(ctx): State<AppContext>,
    _a: Admin,
    Path(id): Path<String>,
    ApiJson(p): ApiJson<MethodPatch>,
) -> Result<Json<MethodView>, ApiError> {
    let pid = parse_id(&id)?;
    let current = methods::get(&ctx.db, pid).await?;
    let was = MethodInput::from(&current);
    let d = MethodInput {
        name: p.name.unwrap_or(was.name),
        carrier: p.carrier.unwrap_or(was.carrier),
        price_cents: p.price_cents.unwrap_or(was.price_cents),
        free_from_cents: p.free_from_cents.unwrap_or(was.free_from_cents),
        min_subtotal_cents: p.min_subtotal_cents.unwrap_or(was.min_subtotal_cents),
        max_subtotal_cents: p.max_subtotal_cents.unwrap_or(was.max_subtotal_cents),
        max_weight_grams: p.max_weight_grams.unwrap_or(was.max_weight_grams),
        min_days: p.min_days.unwrap_or(was.min_days),
        max_days: p.max_days.unwrap_or(was.max_days),
        active: p.active.unwrap_or(was.active),
    }
    .parse()?;
    let zone = p.zone_id.unwrap_or(current.zone_id);
    Ok(Json(methods::update(&ctx.db, pid, zone, d).await?))
}

#[utoipa::path(delete, path = "/api/v1/admin/shipping-methods/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    description = "Orders keep the method they were placed with.",
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_method(
    State(ctx): State<AppContext>,
    _a: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    methods::delete(&ctx.db, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::get;
    Routes::new()
        .prefix("/api/v1")
        .add("/shipping-methods", get(offers))
        .add("/admin/shipping-zones", get(list_zones).post(create_zone))
        .add(
            "/admin/shipping-zones/{id}",
            get(show_zone).patch(update_zone).delete(delete_zone),
        )
        .add(
            "/admin/shipping-methods",
            get(list_methods).post(create_method),
        )
        .add(
            "/admin/shipping-methods/{id}",
            get(show_method).patch(update_method).delete(delete_method),
        )
}
