//! `/api/v1/checkout`, `/api/v1/orders*`: API.md "Checkout, orders, payments".
use axum::{
    extract::{OriginalUri, Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::Deserialize;
use uuid::Uuid;

use super::me::AddressRequest;
use crate::{
    domain::{account::Address, validation::FieldErrors},
    errors::{ApiError, AppError},
    models::{
        accounts::addresses,
        actor::Actor,
        checkout::{self, PlaceOrder},
        invoices::{self, InvoiceView},
        orders::{self, Action, OrderFilter, OrderView},
        payments::{self, PayView},
    },
    settings::Settings,
    views::api::{ErrorBody, OrderPage},
    web::{
        extract::{ApiJson, CurrentUser, OptionalJson},
        pagination::PageQuery,
    },
};

/// The address object of `/me/address`, with field messages prefixed with the address's name
/// (`shipping_address.city`).
fn parse_address(a: &AddressRequest, prefix: &str) -> Result<Address, FieldErrors> {
    Address::try_from(a).map_err(|e| {
        let mut out = FieldErrors::new();
        for (k, msgs) in e.0 {
            for m in msgs {
                out.add(&format!("{prefix}.{k}"), m);
            }
        }
        out
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// Required unless `shipping_address_id` names an address of the caller's address book.
    pub shipping_address: Option<AddressRequest>,
    /// Defaults to the shipping address.
    pub billing_address: Option<AddressRequest>,
    /// An address of the caller's address book (`/me/addresses`), instead of
    /// `shipping_address`.
    pub shipping_address_id: Option<Uuid>,
    /// An address of the caller's address book, instead of `billing_address`.
    pub billing_address_id: Option<Uuid>,
}

/// One address of a checkout: given, or named from the address book (not both).
async fn checkout_address(
    ctx: &AppContext,
    user: &crate::models::users::Model,
    given: Option<&AddressRequest>,
    saved: Option<Uuid>,
    field: &str,
) -> Result<Option<Address>, AppError> {
    let id_field = format!("{field}_id");
    match (given, saved) {
        (Some(_), Some(_)) => Err(FieldErrors::single(
            &id_field,
            format!("Give `{field}` or `{id_field}`, not both."),
        )
        .into()),
        (Some(a), None) => Ok(Some(parse_address(a, field)?)),
        (None, Some(pid)) => Ok(Some(
            addresses::resolve(&ctx.db, user.id, pid, &id_field).await?,
        )),
        (None, None) => Ok(None),
    }
}

/// The checkout the request asks for, with every field message at once.
async fn place_order_command(
    ctx: &AppContext,
    user: &crate::models::users::Model,
    r: &CheckoutRequest,
) -> Result<PlaceOrder, AppError> {
    let shipping = checkout_address(
        ctx,
        user,
        r.shipping_address.as_ref(),
        r.shipping_address_id,
        "shipping_address",
    )
    .await;
    let billing = checkout_address(
        ctx,
        user,
        r.billing_address.as_ref(),
        r.billing_address_id,
        "billing_address",
    )
    .await;
    match (shipping, billing) {
        (Ok(Some(shipping)), Ok(billing)) => Ok(PlaceOrder { shipping, billing }),
        (s, b) => {
            let mut all = FieldErrors::new();
            if matches!(s, Ok(None)) {
                all.add(
                    "shipping_address",
                    "Give the shipping address, or `shipping_address_id` from your address book.",
                );
            }
            for e in [s.err(), b.err()].into_iter().flatten() {
                match e {
                    AppError::Validation(f) => all.merge(f),
                    other => return Err(other),
                }
            }
            Err(all.into())
        }
    }
}

#[utoipa::path(post, path = "/api/v1/checkout", tag = "orders", security(("bearer" = [])), request_body = CheckoutRequest,
    responses((status = 201, body = OrderView, description = "A pending order; its stock is reserved until `expires_at`"),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody, description = "`insufficient_stock`: nothing was reserved; `too_many_pending_orders`: the customer already holds the most unpaid orders the shop allows (`MAX_PENDING_ORDERS`, default 3)"),
        (status = 422, body = ErrorBody, description = "`validation_failed`: empty cart (`details.cart`), a bad address (a country not in ISO 3166-1 included) or a promo code that no longer applies; `shipping_unavailable`: the shop does not ship to the shipping country")))]
async fn place(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    ApiJson(req): ApiJson<CheckoutRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let cmd = place_order_command(&ctx, &user, &req).await?;
    let order = checkout::place_order(&ctx, &user, cmd).await?;
    Ok((StatusCode::CREATED, Json(order)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct OrderQuery {
    /// Only orders in this status.
    pub status: Option<String>,
    /// Staff and admin: a customer's id or e-mail.
    pub customer: Option<String>,
    /// Staff and admin: an order number or part of an e-mail.
    pub q: Option<String>,
}

impl OrderQuery {
    fn parse(&self) -> Result<OrderFilter, FieldErrors> {
        let status = match self.status.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(s.parse().map_err(|m| FieldErrors::single("status", m))?),
            None => None,
        };
        Ok(OrderFilter {
            status,
            customer: self.customer.clone(),
            q: self.q.clone(),
        })
    }
}

#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])), params(OrderQuery, PageQuery),
    responses((status = 200, body = OrderPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    OriginalUri(uri): OriginalUri,
    Query(filter): Query<OrderQuery>,
    Query(page): Query<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let page = page.parse()?;
    let filter = filter.parse()?;
    let (rows, count) = orders::list(
        &ctx.db,
        &Actor::user(&user),
        &filter,
        page.page,
        page.page_size,
    )
    .await?;
    Ok(Json(page.wrap(
        rows,
        count,
        &Settings::get(&ctx).base_url,
        &uri,
    )))
}

fn order_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::NotFound)
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = OrderView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn show(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = orders::find_for(&ctx.db, order_id(&id)?, &Actor::user(&user)).await?;
    Ok(Json(orders::view(&ctx.db, order).await?))
}

async fn step(
    ctx: &AppContext,
    user: &crate::models::users::Model,
    id: &str,
    action: Action,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(
        orders::act(ctx, order_id(id)?, action, &Actor::user(user)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = OrderView, description = "Owner: while pending. Admin: pending or paid (restocked; the payment is refunded)."),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "`invalid_transition`")))]
async fn cancel(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    step(&ctx, &user, &id, Action::Cancel).await
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipRequest {
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/ship", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ShipRequest,
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn ship(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    OptionalJson(req): OptionalJson<ShipRequest>,
) -> Result<Json<OrderView>, ApiError> {
    let action = Action::ship(req.carrier.as_deref(), req.tracking_number.as_deref())?;
    step(&ctx, &user, &id, action).await
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/complete", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn complete(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    step(&ctx, &user, &id, Action::Complete).await
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Put the goods of a shipped or completed order back in stock (a paid, unshipped
    /// order is always restocked).
    #[serde(default)]
    pub restock: bool,
    /// Why, kept in the order's timeline.
    #[schema(max_length = 200)]
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/refund", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = RefundRequest,
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn refund(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    OptionalJson(req): OptionalJson<RefundRequest>,
) -> Result<Json<OrderView>, ApiError> {
    step(
        &ctx,
        &user,
        &id,
        Action::Refund {
            restock: req.restock,
            reason: crate::domain::refund::api_reason(req.reason.as_deref())?,
        },
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/mark-paid", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = OrderView, description = "Admin: record a payment received outside the shop (bank transfer, cash); the reservation becomes a sale and the invoice is issued."),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn mark_paid(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    step(&ctx, &user, &id, Action::Pay).await
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/pay", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = PayView, description = "Open the provider's checkout page at `checkout_url`; the amount is the order's total"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "`invalid_transition`: the order is not pending; `conflict`: its time to pay has run out (paying never extends it)"),
        (status = 503, body = ErrorBody, description = "The payment provider cannot be reached")))]
async fn pay(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<PayView>, ApiError> {
    let pay = payments::start(&ctx, order_id(&id)?, &Actor::user(&user)).await?;
    Ok(Json(pay.absolute(&Settings::get(&ctx).base_url)))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}/invoice", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = InvoiceView, description = "JSON; with `Accept: text/html` the printable page"),
        (status = 404, body = ErrorBody, description = "Not the caller's order, or not paid yet")))]
async fn invoice(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let actor = Actor::user(&user);
    let order = orders::find_for(&ctx.db, order_id(&id)?, &actor).await?;
    // API.md: owner and admin; other staff roles have no business with invoices.
    if !(actor.is_admin() || actor.user_id == Some(order.user_id)) {
        return Err(AppError::NotFound.into());
    }
    let inv = invoices::for_order(&ctx.db, &Settings::get(&ctx), order).await?;
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html {
        let html = crate::views::orders::invoice_html(&ctx, &inv, None)?;
        return Ok(html.into_response());
    }
    Ok(Json(inv).into_response())
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .prefix("/api/v1")
        .add("/checkout", post(place))
        .add("/orders", get(list))
        .add("/orders/{id}", get(show))
        .add("/orders/{id}/cancel", post(cancel))
        .add("/orders/{id}/ship", post(ship))
        .add("/orders/{id}/complete", post(complete))
        .add("/orders/{id}/refund", post(refund))
        .add("/orders/{id}/mark-paid", post(mark_paid))
        .add("/orders/{id}/pay", post(pay))
        .add("/orders/{id}/invoice", get(invoice))
}
