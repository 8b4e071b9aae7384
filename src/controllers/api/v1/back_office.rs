//! `/api/v1/admin/*` for the shop's back office: promo codes, purchase orders, the stock
//! ledger and adjustments, notifications and tax rates (API.md "Back office").
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::IntoResponse,
    Json,
};
use chrono::{DateTime, Utc};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    domain::{
        promo::{PromoDraft, PromoInput},
        purchase_order::PoStatus,
        validation::FieldErrors,
    },
    errors::{ApiError, AppError},
    models::{
        actor::Actor,
        notifications::{self, NotificationView},
        promos::{self, PromoView},
        purchase_orders::{self, LineInput, PurchaseOrderInput, PurchaseOrderView},
        stock::{self, Adjustment, LedgerEntry, LedgerFilter},
        tax_rates::{self, TaxRateDraft, TaxRateView},
    },
    views::api::{
        ErrorBody, LedgerPage, NotificationPage, PromoPage, PurchaseOrderPage, TaxRatePage,
    },
    web::{
        extract::{
            AdminOnly, ApiJson, Authorized, CatalogueManagers, MaybeApiJson, StaffAndAdmins,
        },
        pagination::{Listing, PageQuery, Paginated},
    },
};

type Admin = Authorized<AdminOnly>;
type Manager = Authorized<CatalogueManagers>;
type Staff = Authorized<StaffAndAdmins>;

fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::NotFound)
}

// ---- promo codes ----------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoRequest {
    /// Letters, digits, `-` and `_` (stored upper-case).
    #[schema(
        min_length = 1,
        max_length = 40,
        pattern = r"^\s*[A-Za-z0-9_-]{1,40}\s*$"
    )]
    pub code: String,
    /// `fixed` or `percent`.
    #[schema(value_type = crate::domain::promo::PromoKind)]
    pub kind: String,
    /// Minor units (`fixed`, at least 1) or basis points (`percent`: 1 to 10000, 1500 = 15 %).
    #[schema(minimum = 1)]
    pub value: i64,
    /// Percentage codes only.
    #[schema(minimum = 0)]
    pub max_discount_cents: Option<i64>,
    #[schema(minimum = 0)]
    pub min_subtotal_cents: Option<i64>,
    pub starts_at: Option<DateTime<Utc>>,
    /// After `starts_at`.
    pub ends_at: Option<DateTime<Utc>>,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub usage_limit: Option<i64>,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub per_customer_limit: Option<i64>,
    #[serde(default = "yes")]
    pub active: bool,
}

const fn yes() -> bool {
    true
}

impl From<PromoRequest> for PromoInput {
    fn from(r: PromoRequest) -> Self {
        Self {
            code: r.code,
            kind: r.kind,
            value: r.value,
            max_discount_cents: r.max_discount_cents,
            min_subtotal_cents: r.min_subtotal_cents,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            usage_limit: r.usage_limit,
            per_customer_limit: r.per_customer_limit,
            active: r.active,
        }
    }
}

/// Fields of a promo code; absent ones keep their value.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoPatch {
    pub code: Option<String>,
    pub kind: Option<String>,
    pub value: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub max_discount_cents: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub min_subtotal_cents: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub starts_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub ends_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub usage_limit: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub per_customer_limit: Option<Option<i64>>,
    pub active: Option<bool>,
}

pub(crate) fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PromoQuery {
    /// Part of a code.
    pub q: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/admin/promo-codes", tag = "back office", security(("bearer" = [])), params(PromoQuery, PageQuery),
    responses((status = 200, body = PromoPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_promos(
    State(ctx): State<AppContext>,
    _m: Manager,
    Query(q): Query<PromoQuery>,
    page: Listing,
) -> Result<impl IntoResponse, ApiError> {
    let (rows, count) = promos::list(
        &ctx.db,
        q.q.as_deref().unwrap_or(""),
        page.page,
        page.page_size,
    )
    .await?;
    Ok(page.answer(rows, count))
}

#[utoipa::path(post, path = "/api/v1/admin/promo-codes", tag = "back office", security(("bearer" = [])), request_body = PromoRequest,
    responses((status = 201, body = PromoView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_promo(
    State(ctx): State<AppContext>,
    _m: Manager,
    ApiJson(req): ApiJson<PromoRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let draft = PromoDraft::try_from(PromoInput::from(req))?;
    Ok((
        StatusCode::CREATED,
        Json(promos::create(&ctx, draft).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/admin/promo-codes/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = PromoView), (status = 404, body = ErrorBody)))]
async fn show_promo(
    State(ctx): State<AppContext>,
    _m: Manager,
    Path(id): Path<String>,
) -> Result<Json<PromoView>, ApiError> {
    let row = promos::find(&ctx.db, parse_id(&id)?).await?;
    Ok(Json(PromoView::from(&row)))
}

#[utoipa::path(patch, path = "/api/v1/admin/promo-codes/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = PromoPatch,
    responses((status = 200, body = PromoView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_promo(
    State(ctx): State<AppContext>,
    _m: Manager,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<PromoPatch>,
) -> Result<Json<PromoView>, ApiError> {
    let pid = parse_id(&id)?;
    let current = PromoView::from(&promos::find(&ctx.db, pid).await?);
    let parse_time = |s: &Option<String>| {
        s.as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let input = PromoInput {
        code: patch.code.unwrap_or(current.code),
        kind: patch
            .kind
            .unwrap_or_else(|| current.kind.as_str().to_string()),
        value: patch.value.unwrap_or(current.value),
        max_discount_cents: patch
            .max_discount_cents
            .unwrap_or(current.max_discount_cents),
        min_subtotal_cents: patch
            .min_subtotal_cents
            .unwrap_or(current.min_subtotal_cents),
        starts_at: patch
            .starts_at
            .unwrap_or_else(|| parse_time(&current.starts_at)),
        ends_at: patch
            .ends_at
            .unwrap_or_else(|| parse_time(&current.ends_at)),
        usage_limit: patch
            .usage_limit
            .unwrap_or(current.usage_limit.map(i64::from)),
        per_customer_limit: patch
            .per_customer_limit
            .unwrap_or(current.per_customer_limit.map(i64::from)),
        active: patch.active.unwrap_or(current.active),
    };
    let draft = PromoDraft::try_from(input)?;
    Ok(Json(promos::update(&ctx, pid, draft).await?))
}

#[utoipa::path(delete, path = "/api/v1/admin/promo-codes/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_promo(
    State(ctx): State<AppContext>,
    _m: Manager,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    promos::delete(&ctx, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- purchase orders ------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseOrderLineRequest {
    /// For a product with one variant.
    pub product_id: Option<Uuid>,
    pub variant_id: Option<Uuid>,
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub quantity: i64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100_000_000_000i64)]
    pub unit_cost_cents: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseOrderRequest {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub supplier: String,
    pub expected_at: Option<DateTime<Utc>>,
    #[schema(min_items = 1, max_items = 200)]
    pub lines: Vec<PurchaseOrderLineRequest>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PurchaseOrderQuery {
    /// `open`, `partially_received`, `received` or `cancelled`.
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/admin/purchase-orders", tag = "back office", security(("bearer" = [])), params(PurchaseOrderQuery, PageQuery),
    responses((status = 200, body = PurchaseOrderPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_purchase_orders(
    State(ctx): State<AppContext>,
    _s: Staff,
    Query(q): Query<PurchaseOrderQuery>,
    page: Listing,
) -> Result<impl IntoResponse, ApiError> {
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(PoStatus::parse(s).ok_or_else(|| {
            FieldErrors::single(
                "status",
                "Must be open, partially_received, received or cancelled.",
            )
        })?),
        None => None,
    };
    let (rows, count) = purchase_orders::list(&ctx.db, status, page.page, page.page_size).await?;
    Ok(page.answer(rows, count))
}

#[utoipa::path(post, path = "/api/v1/admin/purchase-orders", tag = "back office", security(("bearer" = [])), request_body = PurchaseOrderRequest,
    responses((status = 201, body = PurchaseOrderView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_purchase_order(
    State(ctx): State<AppContext>,
    staff: Staff,
    ApiJson(req): ApiJson<PurchaseOrderRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let input = PurchaseOrderInput {
        supplier: req.supplier,
        expected_at: req.expected_at,
        lines: req
            .lines
            .into_iter()
            .map(|l| LineInput {
                product_id: l.product_id,
                variant_id: l.variant_id,
                quantity: l.quantity,
                unit_cost_cents: l.unit_cost_cents,
            })
            .collect(),
    };
    let po = purchase_orders::create(&ctx, input, &Actor::user(&staff.0)).await?;
    Ok((StatusCode::CREATED, Json(po)))
}

#[utoipa::path(get, path = "/api/v1/admin/purchase-orders/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = PurchaseOrderView), (status = 404, body = ErrorBody)))]
async fn show_purchase_order(
    State(ctx): State<AppContext>,
    _s: Staff,
    Path(id): Path<String>,
) -> Result<Json<PurchaseOrderView>, ApiError> {
    Ok(Json(purchase_orders::show(&ctx.db, parse_id(&id)?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveLineRequest {
    /// A variant on the purchase order.
    pub variant_id: Uuid,
    /// At least 1, at most what of it is still to come.
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub quantity: i64,
}

/// Part of a delivery. Leave the body (or `lines`) out to receive everything still to come.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveRequest {
    #[serde(default)]
    #[schema(min_items = 1, max_items = 200)]
    pub lines: Option<Vec<ReceiveLineRequest>>,
}

#[utoipa::path(post, path = "/api/v1/admin/purchase-orders/{id}/receive", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body(content = Option<ReceiveRequest>, description = "Leave out to receive everything still to come"),
    responses((status = 200, body = PurchaseOrderView, description = "Stock added, one `receipt` ledger row per line received; `partially_received` until every line is in"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Already received, or cancelled"),
        (status = 422, body = ErrorBody, description = "A line not on the order, or more than is still to come")))]
async fn receive_purchase_order(
    State(ctx): State<AppContext>,
    staff: Staff,
    Path(id): Path<String>,
    MaybeApiJson(req): MaybeApiJson<ReceiveRequest>,
) -> Result<Json<PurchaseOrderView>, ApiError> {
    let delivery = req.and_then(|r| r.lines).map(|lines| {
        lines
            .into_iter()
            .map(|l| (l.variant_id, l.quantity))
            .collect()
    });
    Ok(Json(
        purchase_orders::receive(&ctx, parse_id(&id)?, delivery, &Actor::user(&staff.0)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/admin/purchase-orders/{id}/cancel", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = PurchaseOrderView, description = "Cancelled"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Something was already received, or it is already cancelled")))]
async fn cancel_purchase_order(
    State(ctx): State<AppContext>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<PurchaseOrderView>, ApiError> {
    Ok(Json(
        purchase_orders::cancel(&ctx, parse_id(&id)?, &Actor::user(&staff.0)).await?,
    ))
}

// ---- stock ------------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LedgerQuery {
    /// A product id: its variants' rows.
    pub product: Option<String>,
    /// A variant id.
    pub variant: Option<String>,
    /// reserve, release, sale, receipt, adjustment or restock.
    pub reason: Option<String>,
}

impl LedgerQuery {
    fn parse(&self) -> Result<LedgerFilter, FieldErrors> {
        LedgerFilter::parse(
            self.product.as_deref().unwrap_or_default(),
            self.variant.as_deref().unwrap_or_default(),
            self.reason.as_deref().unwrap_or_default(),
        )
    }
}

#[utoipa::path(get, path = "/api/v1/admin/stock-ledger", tag = "back office", security(("bearer" = [])), params(LedgerQuery, PageQuery),
    responses((status = 200, body = LedgerPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn ledger(
    State(ctx): State<AppContext>,
    _s: Staff,
    Query(q): Query<LedgerQuery>,
    page: Listing,
) -> Result<impl IntoResponse, ApiError> {
    let filter = q.parse()?;
    let (rows, count) = stock::ledger(&ctx.db, &filter, page.page, page.page_size).await?;
    Ok(page.answer(rows, count))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentRequest {
    /// For a product with one variant.
    pub product_id: Option<Uuid>,
    pub variant_id: Option<Uuid>,
    /// Units to add (positive) or remove (negative) from on-hand stock; never zero.
    #[schema(minimum = -1_000_000_000, maximum = 1_000_000_000)]
    pub delta: i64,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/admin/stock-adjustments", tag = "back office", security(("bearer" = [])), request_body = AdjustmentRequest,
    responses((status = 201, body = LedgerEntry), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Would go below zero or below what is reserved"), (status = 422, body = ErrorBody)))]
async fn adjust(
    State(ctx): State<AppContext>,
    admin: Admin,
    ApiJson(req): ApiJson<AdjustmentRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let variant =
        stock::resolve_variant(&ctx.db, "variant_id", req.product_id, req.variant_id).await?;
    let adj = Adjustment::parse(variant.pid, req.delta, &req.reason)?;
    let row = stock::adjust(&ctx, &adj, &Actor::user(&admin.0)).await?;
    Ok((StatusCode::CREATED, Json(row)))
}

// ---- notifications --------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct NotificationQuery {
    /// `true`: unread only.
    pub unread: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/admin/notifications", tag = "back office", security(("bearer" = [])), params(NotificationQuery, PageQuery),
    responses((status = 200, body = NotificationPage), (status = 403, body = ErrorBody)))]
async fn list_notifications(
    State(ctx): State<AppContext>,
    _s: Staff,
    Query(q): Query<NotificationQuery>,
    page: Listing,
) -> Result<impl IntoResponse, ApiError> {
    let (rows, count) = notifications::list(
        &ctx.db,
        q.unread.unwrap_or(false),
        page.page,
        page.page_size,
    )
    .await?;
    Ok(page.answer(rows, count))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationPatch {
    pub read: bool,
}

#[utoipa::path(patch, path = "/api/v1/admin/notifications/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = NotificationPatch,
    responses((status = 200, body = NotificationView), (status = 404, body = ErrorBody)))]
async fn mark_notification(
    State(ctx): State<AppContext>,
    _s: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<NotificationPatch>,
) -> Result<Json<NotificationView>, ApiError> {
    Ok(Json(
        notifications::set_read(&ctx.db, parse_id(&id)?, req.read).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/admin/notifications/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_notification(
    State(ctx): State<AppContext>,
    _a: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    notifications::delete(&ctx.db, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- tax rates ------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRateRequest {
    /// ISO 3166-1 alpha-2.
    #[schema(value_type = crate::domain::countries::CountryCode)]
    pub country: String,
    /// Basis points: 1900 = 19 %.
    #[schema(minimum = 0, maximum = 10000)]
    pub rate_bp: i64,
    #[schema(min_length = 1, max_length = 80, pattern = r"\S")]
    pub name: String,
}

#[utoipa::path(get, path = "/api/v1/admin/tax-rates", tag = "back office", security(("bearer" = [])),
    params(PageQuery), responses((status = 200, body = TaxRatePage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_tax_rates(
    State(ctx): State<AppContext>,
    _a: Admin,
    page: Listing,
) -> Result<Json<Paginated<TaxRateView>>, ApiError> {
    Ok(page.answer_all(tax_rates::list(&ctx).await?))
}

#[utoipa::path(post, path = "/api/v1/admin/tax-rates", tag = "back office", security(("bearer" = [])), request_body = TaxRateRequest,
    responses((status = 201, body = TaxRateView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_tax_rate(
    State(ctx): State<AppContext>,
    _a: Admin,
    ApiJson(req): ApiJson<TaxRateRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let d = TaxRateDraft::parse(&req.country, req.rate_bp, &req.name)?;
    Ok((StatusCode::CREATED, Json(tax_rates::create(&ctx, d).await?)))
}

#[utoipa::path(put, path = "/api/v1/admin/tax-rates/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = TaxRateRequest,
    responses((status = 200, body = TaxRateView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_tax_rate(
    State(ctx): State<AppContext>,
    _a: Admin,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<TaxRateRequest>,
) -> Result<Json<TaxRateView>, ApiError> {
    let d = TaxRateDraft::parse(&req.country, req.rate_bp, &req.name)?;
    Ok(Json(tax_rates::update(&ctx, parse_id(&id)?, d).await?))
}

#[utoipa::path(delete, path = "/api/v1/admin/tax-rates/{id}", tag = "back office", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_tax_rate(
    State(ctx): State<AppContext>,
    _a: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    tax_rates::delete(&ctx, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, patch, post, put};
    Routes::new()
        .prefix("/api/v1/admin")
        .add("/promo-codes", get(list_promos).post(create_promo))
        .add(
            "/promo-codes/{id}",
            get(show_promo).patch(update_promo).delete(delete_promo),
        )
        .add(
            "/purchase-orders",
            get(list_purchase_orders).post(create_purchase_order),
        )
        .add("/purchase-orders/{id}", get(show_purchase_order))
        .add(
            "/purchase-orders/{id}/receive",
            post(receive_purchase_order),
        )
        .add("/purchase-orders/{id}/cancel", post(cancel_purchase_order))
        .add("/stock-ledger", get(ledger))
        .add("/stock-adjustments", post(adjust))
        .add("/notifications", get(list_notifications))
        .add(
            "/notifications/{id}",
            patch(mark_notification).delete(delete_notification),
        )
        .add("/tax-rates", get(list_tax_rates).post(create_tax_rate))
        .add(
            "/tax-rates/{id}",
            put(update_tax_rate).delete(delete_tax_rate),
        )
}
