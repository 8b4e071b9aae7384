//! `/api/v1/checkout`, `/api/v1/orders*`: API.md "Checkout, orders, payments".
use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::Deserialize;
use uuid::Uuid;

use super::{cart::CartCaller, me::AddressRequest};
use crate::{
    domain::{account::Address, email::Email, refund::RefundAsk, validation::FieldErrors},
    errors::{ApiError, AppError},
    models::{
        accounts::addresses,
        actor::Actor,
        carts,
        checkout::{self, Buyer, PlaceOrder, Placed},
        invoices::{self, InvoiceView},
        orders::{self, Action, OrderFilter, OrderView},
        payments::{self, PayView},
        refunds::{self, CreditNoteView, RefundCommand, RefundView},
    },
    settings::Settings,
    views::api::{ErrorBody, OrderPage},
    web::{
        extract::{ApiJson, ClientId, CurrentUser, MaybeUser, OptionalJson},
        idempotency::shows_secret,
        pagination::{KeysetQuery, Listing, PageQuery},
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
    /// One of `GET /shipping-methods` for the shipping country; required when more than one
    /// method ships there.
    pub shipping_method_id: Option<Uuid>,
    /// Guests (with `X-Cart-Token`, no bearer token): where the order's mail goes. Signed
    /// in, only the account's own address is accepted (the mail goes there anyway).
    #[schema(
        format = "email",
        max_length = 254,
        pattern = r"^\s*[^@\s<>.]+(\.[^@\s<>.]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\s*$"
    )]
    pub email: Option<String>,
}

/// The answer of a checkout: the order, and for a guest its access token.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CheckoutAnswer {
    #[serde(flatten)]
    pub order: OrderView,
    /// Guests only, shown this once: send it as `X-Order-Token` to read, pay or cancel the
    /// order. The shop keeps only its hash; the confirmation mail links the order too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_token: Option<String>,
}

/// The header a guest reaches their order with.
pub const ORDER_TOKEN: &str = "x-order-token";

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

/// A guest's checkout: given addresses only (a guest has no address book) and an e-mail.
fn guest_order_command(r: &CheckoutRequest) -> Result<(Email, PlaceOrder), AppError> {
    let mut e = FieldErrors::new();
    let email = match Email::parse(r.email.as_deref().unwrap_or_default()) {
        Ok(m) => Some(m),
        Err(m) => {
            e.add("email", m);
            None
        }
    };
    for (given, field) in [
        (r.shipping_address_id, "shipping_address_id"),
        (r.billing_address_id, "billing_address_id"),
    ] {
        if given.is_some() {
            e.add(field, "Sign in to use your address book.");
        }
    }
    let mut address = |a: Option<&AddressRequest>, field: &str| {
        a.map(|a| parse_address(a, field))
            .transpose()
            .unwrap_or_else(|f| {
                e.merge(f);
                None
            })
    };
    let shipping = address(r.shipping_address.as_ref(), "shipping_address");
    let billing = address(r.billing_address.as_ref(), "billing_address");
    if r.shipping_address.is_none() {
        e.add("shipping_address", "This field is required.");
    }
    e.into_result()?;
    match (email, shipping) {
        (Some(email), Some(shipping)) => Ok((
            email,
            PlaceOrder {
                shipping,
                billing,
                shipping_method: r.shipping_method_id,
            },
        )),
        _ => Err(FieldErrors::single("shipping_address", "This field is required.").into()),
    }
}

/// The checkout the request asks for, with every field message at once.
async fn place_order_command(
    ctx: &AppContext,
    user: &crate::models::users::Model,
    r: &CheckoutRequest,
) -> Result<PlaceOrder, AppError> {
    // A front end that always sends the address may send the account's own; another one
    // would mislead the caller into thinking the mail goes there.
    let own = |e: &str| Email::parse(e).is_ok_and(|e| e.as_str() == user.email.as_str());
    if r.email.as_deref().is_some_and(|e| !own(e)) {
        return Err(FieldErrors::single(
            "email",
            "Signed in, the order's mail goes to your account's address.",
        )
        .into());
    }
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
        (Ok(Some(shipping)), Ok(billing)) => Ok(PlaceOrder {
            shipping,
            billing,
            shipping_method: r.shipping_method_id,
        }),
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

#[utoipa::path(post, path = "/api/v1/checkout", tag = "orders", security(("bearer" = []), ()), request_body = CheckoutRequest,
    params(("X-Cart-Token" = Option<String>, Header, description = "A guest's cart (no bearer token): the guest checks out with `email`")),
    responses((status = 201, body = CheckoutAnswer, description = "A pending order; its stock is reserved until `expires_at`. A guest's answer carries `order_token`, shown once"),
        (status = 401, body = ErrorBody, description = "Neither a bearer token nor a guest's cart token"), (status = 409, body = ErrorBody, description = "`insufficient_stock`: nothing was reserved; `too_many_pending_orders`: the customer already holds the most unpaid orders the shop allows (`MAX_PENDING_ORDERS`, default 3)"),
        (status = 422, body = ErrorBody, description = "`validation_failed`: empty cart (`details.cart`), a bad address (a country not in ISO 3166-1 included) or a promo code that no longer applies; `shipping_unavailable`: no shipping method takes this order to the shipping country; `details.shipping_method_id`: the method named does not ship it there, or none was named and there is a choice")))]
async fn place(
    State(ctx): State<AppContext>,
    caller: CartCaller,
    ClientId(client): ClientId,
    ApiJson(req): ApiJson<CheckoutRequest>,
) -> Result<Response, ApiError> {
    match (&caller.user, &caller.token) {
        (Some(user), token) => {
            // As on the cart's endpoints, a guest cart sent along joins the user's first.
            if let Some(t) = token {
                carts::merge_guest(&ctx, user, t).await?;
            }
            let cmd = place_order_command(&ctx, user, &req).await?;
            let placed = checkout::place(&ctx, Buyer::Customer(user), cmd).await?;
            Ok(created(placed))
        }
        (None, Some(token)) => {
            let (email, cmd) = guest_order_command(&req)?;
            let buyer = Buyer::Guest {
                cart_token: token,
                email: email.as_str(),
                client: &client,
            };
            let placed = checkout::place(&ctx, buyer, cmd).await?;
            // The token is shown once: a repeat of this request is not answered with it.
            Ok(shows_secret(created(placed)))
        }
        (None, None) => Err(AppError::Unauthorized(
            "Sign in, or check out as a guest with your cart's X-Cart-Token.".into(),
        )
        .into()),
    }
}

fn created(placed: Placed) -> Response {
    (
        StatusCode::CREATED,
        Json(CheckoutAnswer {
            order: placed.order,
            order_token: placed.access_token,
        }),
    )
        .into_response()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct OrderQuery {
    /// Only orders in this status.
    pub status: Option<String>,
    /// Staff and admin: a customer's id or e-mail.
    #[param(max_length = 254, pattern = "^[^\\u0000]*$")]
    pub customer: Option<String>,
    /// Staff and admin: an order number or part of an e-mail.
    #[param(max_length = 254, pattern = "^[^\\u0000]*$")]
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

#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])), params(OrderQuery, PageQuery, KeysetQuery),
    responses((status = 200, body = OrderPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    Query(filter): Query<OrderQuery>,
    page: Listing,
) -> Result<impl IntoResponse, ApiError> {
    let filter = filter.parse()?;
    let (rows, count) = orders::list(
        &ctx.db,
        &Actor::user(&user),
        &filter,
        page.page,
        page.page_size,
        page.cursor,
    )
    .await?;
    Ok(page.answer_keyed(rows, count, orders::ends))
}

fn order_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::NotFound)
}

/// Who asks about one order: a signed-in user, or a guest with that order's `X-Order-Token`.
pub struct OrderCaller {
    user: Option<crate::models::users::Model>,
    token: Option<String>,
}

impl axum::extract::FromRequestParts<AppContext> for OrderCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        ctx: &AppContext,
    ) -> Result<Self, Self::Rejection> {
        let MaybeUser(user) = MaybeUser::from_request_parts(parts, ctx).await?;
        let token = parts
            .headers
            .get(ORDER_TOKEN)
            .and_then(|v| v.to_str().ok())
            .map(|t| t.trim().to_string());
        Ok(Self { user, token })
    }
}

impl OrderCaller {
    /// The actor for order `pid`; a token that is not that order's is `NotFound`.
    async fn actor(&self, ctx: &AppContext, pid: Uuid) -> Result<Actor, AppError> {
        match (&self.user, &self.token) {
            (Some(u), _) => Ok(Actor::user(u)),
            (None, Some(t)) => orders::guest_access(&ctx.db, pid, t).await,
            (None, None) => Err(AppError::Unauthorized(
                "The access token is missing, invalid or expired.".into(),
            )),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = []), ()), params(("id" = Uuid, Path), OrderTokenHeader),
    responses((status = 200, body = OrderView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody, description = "Not the caller's order, or not the order of the token")))]
pub(crate) async fn show(
    State(ctx): State<AppContext>,
    caller: OrderCaller,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let pid = order_id(&id)?;
    let order = orders::find_for(&ctx.db, pid, &caller.actor(&ctx, pid).await?).await?;
    Ok(Json(orders::view(&ctx.db, order).await?))
}

/// A guest's order token (the `order_token` of their checkout).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct OrderTokenHeader {
    /// A guest's order token, instead of a bearer token.
    #[param(rename = "X-Order-Token")]
    #[allow(dead_code)]
    x_order_token: Option<String>,
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

#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", security(("bearer" = []), ()), params(("id" = Uuid, Path), OrderTokenHeader),
    responses((status = 200, body = OrderView, description = "Owner (or the guest holding the order's token): while pending. Admin: pending or paid (restocked; the payment is refunded)."),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "`invalid_transition`")))]
async fn cancel(
    State(ctx): State<AppContext>,
    caller: OrderCaller,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let pid = order_id(&id)?;
    let actor = caller.actor(&ctx, pid).await?;
    Ok(Json(orders::act(&ctx, pid, Action::Cancel, &actor).await?))
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

/// One line of a refund: which item, and how many of it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundLineRequest {
    pub variant_id: Uuid,
    #[schema(minimum = 1)]
    pub quantity: i64,
}

/// A refund: lines, an amount, or both; an empty body refunds everything that is left.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// The items refunded; each is worth its share of what was paid for it.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub lines: Vec<RefundLineRequest>,
    /// The amount that goes back, instead of what the lines are worth (shipping, a goodwill
    /// amount, less for a used item).
    #[schema(minimum = 1)]
    pub amount_cents: Option<i64>,
    /// Put the refunded goods of a shipped order back in stock (goods of an order that
    /// never shipped always go back).
    #[serde(default)]
    pub restock: bool,
    /// Why, kept with the refund, on its credit note and in the order's timeline.
    #[schema(max_length = 200)]
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/refund", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = RefundRequest,
    responses((status = 201, body = RefundView, description = "The refund went through; its credit note is numbered. The order is `partially_refunded`, or `refunded` once nothing is left."),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`conflict`: more than is left of what was paid; `invalid_transition`: the order was not paid"),
        (status = 422, body = ErrorBody, description = "Lines that are not the order's, quantities beyond what is left, a non-positive amount"),
        (status = 503, body = ErrorBody, description = "The payment provider refused or cannot be reached; nothing was refunded")))]
async fn refund(
    State(ctx): State<AppContext>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    OptionalJson(req): OptionalJson<RefundRequest>,
) -> Result<(StatusCode, Json<RefundView>), ApiError> {
    let cmd = RefundCommand {
        ask: RefundAsk {
            lines: req
                .lines
                .iter()
                .map(|l| (l.variant_id, l.quantity))
                .collect(),
            amount_cents: req.amount_cents,
        },
        restock: req.restock,
        reason: crate::domain::refund::api_reason(req.reason.as_deref())?,
        cancels: false,
    };
    let (out, _) = refunds::refund(&ctx, order_id(&id)?, cmd, &Actor::user(&user)).await?;
    Ok((StatusCode::CREATED, Json(out)))
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

#[utoipa::path(post, path = "/api/v1/orders/{id}/pay", tag = "orders", security(("bearer" = []), ()), params(("id" = Uuid, Path), OrderTokenHeader),
    responses((status = 200, body = PayView, description = "Open the provider's checkout page at `checkout_url`; the amount is the order's total"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "`invalid_transition`: the order is not pending; `conflict`: its time to pay has run out (paying never extends it)"),
        (status = 503, body = ErrorBody, description = "The payment provider cannot be reached")))]
async fn pay(
    State(ctx): State<AppContext>,
    caller: OrderCaller,
    Path(id): Path<String>,
) -> Result<Json<PayView>, ApiError> {
    let pid = order_id(&id)?;
    let pay = payments::start(&ctx, pid, &caller.actor(&ctx, pid).await?).await?;
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
    if !(actor.is_admin() || actor.owns(&order)) {
        return Err(AppError::NotFound.into());
    }
    let inv = invoices::for_order(&ctx.db, &Settings::get(&ctx), order).await?;
    invoice_answer(&ctx, &headers, inv)
}

/// An invoice as JSON, or as its printable page for `Accept: text/html` (here and at
/// `/invoices/{number}`).
pub(crate) fn invoice_answer(
    ctx: &AppContext,
    headers: &HeaderMap,
    inv: InvoiceView,
) -> Result<Response, ApiError> {
    if crate::web::html::wants_html(headers) {
        return Ok(crate::views::orders::invoice_html(ctx, &inv, None)?.into_response());
    }
    Ok(Json(inv).into_response())
}

#[utoipa::path(get, path = "/api/v1/orders/{id}/credit-notes/{number}", tag = "orders", security(("bearer" = []), ()), params(("id" = Uuid, Path), ("number" = i64, Path), OrderTokenHeader),
    responses((status = 200, body = CreditNoteView, description = "JSON; with `Accept: text/html` the printable page"),
        (status = 404, body = ErrorBody, description = "Not the caller's order, or no such credit note of it")))]
async fn credit_note(
    State(ctx): State<AppContext>,
    caller: OrderCaller,
    Path((id, number)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pid = order_id(&id)?;
    let actor = caller.actor(&ctx, pid).await?;
    let number: i64 = number.parse().map_err(|_| AppError::NotFound)?;
    let order = orders::find_for(&ctx.db, pid, &actor).await?;
    // As invoices: the owner and admins.
    if !(actor.is_admin() || actor.owns(&order)) {
        return Err(AppError::NotFound.into());
    }
    let note = refunds::credit_note(&ctx.db, &Settings::get(&ctx), order, number).await?;
    if crate::web::html::wants_html(&headers) {
        return Ok(crate::views::orders::credit_note_html(&ctx, &note, None)?.into_response());
    }
    Ok(Json(note).into_response())
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
        .add("/orders/{id}/credit-notes/{number}", get(credit_note))
}
