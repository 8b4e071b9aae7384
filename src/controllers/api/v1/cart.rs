//! `/api/v1/cart*`: API.md "Cart". A user's cart by bearer token, a guest's by `X-Cart-Token`;
//! a request with both merges the guest cart into the user's.
use axum::{
    extract::{FromRequestParts, Path, State},
    http::{request::Parts, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    errors::{ApiError, AppError, AppResult},
    models::{
        _entities::carts as cart_rows,
        carts::{self, AddItem, CartKey, CartView},
        users::Model as User,
    },
    settings::Settings,
    views::api::ErrorBody,
    web::extract::{ApiJson, MaybeUser},
};

pub const CART_TOKEN: &str = "x-cart-token";

/// The caller of a cart endpoint: a user, a guest token, both, or neither.
pub struct CartCaller {
    pub user: Option<User>,
    pub token: Option<String>,
}

impl FromRequestParts<AppContext> for CartCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &AppContext,
    ) -> Result<Self, Self::Rejection> {
        let MaybeUser(user) = MaybeUser::from_request_parts(parts, ctx).await?;
        let token = parts
            .headers
            .get(CART_TOKEN)
            .and_then(|v| v.to_str().ok())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        Ok(Self { user, token })
    }
}

/// The caller's existing cart, after merging a guest token into a signed-in user's cart.
/// A guest token that names no cart is `NotFound`.
async fn existing(
    ctx: &AppContext,
    caller: &CartCaller,
) -> AppResult<(Option<cart_rows::Model>, Vec<String>)> {
    match (&caller.user, &caller.token) {
        (Some(u), Some(t)) => {
            let notices = carts::merge_guest(ctx, u, t).await?;
            Ok((Some(carts::for_user(&ctx.db, u).await?), notices))
        }
        (Some(u), None) => Ok((carts::find(&ctx.db, &CartKey::User(u)).await?, vec![])),
        (None, Some(t)) => match carts::find(&ctx.db, &CartKey::Guest(t)).await? {
            Some(c) => Ok((Some(c), vec![])),
            None => Err(AppError::NotFound),
        },
        (None, None) => Ok((None, vec![])),
    }
}

/// The caller's cart for a change: a user's is created when missing; a guest must have one.
async fn for_change(
    ctx: &AppContext,
    caller: &CartCaller,
) -> AppResult<(cart_rows::Model, Vec<String>)> {
    let (cart, notices) = existing(ctx, caller).await?;
    match (cart, &caller.user) {
        (Some(c), _) => Ok((c, notices)),
        (None, Some(u)) => Ok((carts::for_user(&ctx.db, u).await?, notices)),
        (None, None) => Err(AppError::NotFound),
    }
}

fn respond(status: StatusCode, view: CartView, new_token: Option<String>) -> Response {
    let mut res = (status, Json(view)).into_response();
    if let Some(t) = new_token.and_then(|t| HeaderValue::from_str(&t).ok()) {
        res.headers_mut().insert(CART_TOKEN, t);
    }
    res
}

#[utoipa::path(get, path = "/api/v1/cart", tag = "cart",
    params(("X-Cart-Token" = Option<String>, Header, description = "A guest cart's token")),
    responses((status = 200, body = CartView), (status = 404, body = ErrorBody)))]
pub(crate) async fn show(
    State(ctx): State<AppContext>,
    caller: CartCaller,
) -> Result<Response, ApiError> {
    let (cart, notices) = existing(&ctx, &caller).await?;
    let view = carts::view(&ctx, cart.as_ref(), caller.user.as_ref(), notices).await?;
    Ok(respond(StatusCode::OK, view, None))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItemRequest {
    pub product_id: Uuid,
    /// Required when the product has several variants.
    pub variant_id: Option<Uuid>,
    /// At most the shop's `checkout.max_line_quantity` (the document shows this shop's).
    #[serde(default = "one")]
    #[schema(minimum = 1, maximum = 99)]
    pub quantity: i64,
}

const fn one() -> i64 {
    1
}

#[utoipa::path(post, path = "/api/v1/cart/items", tag = "cart", request_body = AddItemRequest,
    params(("X-Cart-Token" = Option<String>, Header, description = "A guest cart's token")),
    responses((status = 201, body = CartView, description = "A new guest cart's token is in the `X-Cart-Token` response header"),
        (status = 409, body = ErrorBody, description = "`insufficient_stock`"), (status = 422, body = ErrorBody)))]
async fn add_item(
    State(ctx): State<AppContext>,
    caller: CartCaller,
    ApiJson(req): ApiJson<AddItemRequest>,
) -> Result<Response, ApiError> {
    let max = Settings::get(&ctx).checkout.max_line_quantity;
    let add = AddItem::parse(req.product_id, req.variant_id, req.quantity, max)?;
    // Merge first, so the add lands in the user's cart and is checked against its total.
    let (_, notices) = existing(&ctx, &caller).await?;
    let key = match (&caller.user, &caller.token) {
        (Some(u), _) => Some(CartKey::User(u)),
        (None, Some(t)) => Some(CartKey::Guest(t)),
        (None, None) => None,
    };
    // Without a cart the add creates the guest cart in its own transaction, so a refused add
    // leaves no empty cart behind.
    let (cart, new_token) = carts::add_item(&ctx, key.as_ref(), &add).await?;
    let view = carts::view(&ctx, Some(&cart), caller.user.as_ref(), notices).await?;
    Ok(respond(StatusCode::CREATED, view, new_token))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuantityRequest {
    /// 0 removes the line; at most the shop's `checkout.max_line_quantity`.
    #[schema(minimum = 0, maximum = 99)]
    pub quantity: i64,
}

fn item_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::NotFound)
}

#[utoipa::path(patch, path = "/api/v1/cart/items/{item_id}", tag = "cart", request_body = QuantityRequest,
    params(("item_id" = Uuid, Path), ("X-Cart-Token" = Option<String>, Header)),
    responses((status = 200, body = CartView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_item(
    State(ctx): State<AppContext>,
    caller: CartCaller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<QuantityRequest>,
) -> Result<Response, ApiError> {
    let id = item_id(&id)?;
    let (cart, notices) = existing(&ctx, &caller).await?;
    let cart = cart.ok_or(AppError::NotFound)?;
    carts::set_quantity(&ctx, &cart, id, req.quantity).await?;
    let view = carts::view(&ctx, Some(&cart), caller.user.as_ref(), notices).await?;
    Ok(respond(StatusCode::OK, view, None))
}

#[utoipa::path(delete, path = "/api/v1/cart/items/{item_id}", tag = "cart",
    params(("item_id" = Uuid, Path), ("X-Cart-Token" = Option<String>, Header)),
    responses((status = 200, body = CartView), (status = 404, body = ErrorBody)))]
async fn remove_item(
    State(ctx): State<AppContext>,
    caller: CartCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = item_id(&id)?;
    let (cart, notices) = existing(&ctx, &caller).await?;
    let cart = cart.ok_or(AppError::NotFound)?;
    carts::set_quantity(&ctx, &cart, id, 0).await?;
    let view = carts::view(&ctx, Some(&cart), caller.user.as_ref(), notices).await?;
    Ok(respond(StatusCode::OK, view, None))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponRequest {
    #[schema(
        min_length = 1,
        max_length = 40,
        pattern = r"^\s*[A-Za-z0-9_-]{1,40}\s*$"
    )]
    pub code: String,
}

#[utoipa::path(post, path = "/api/v1/cart/coupon", tag = "cart", request_body = CouponRequest,
    params(("X-Cart-Token" = Option<String>, Header)),
    responses((status = 200, body = CartView), (status = 422, body = ErrorBody, description = "Unknown code, or it does not apply (`details.code`)")))]
async fn apply_coupon(
    State(ctx): State<AppContext>,
    caller: CartCaller,
    ApiJson(req): ApiJson<CouponRequest>,
) -> Result<Response, ApiError> {
    let (cart, notices) = for_change(&ctx, &caller).await?;
    let cart = carts::apply_coupon(&ctx, &cart, caller.user.as_ref(), &req.code).await?;
    let view = carts::view(&ctx, Some(&cart), caller.user.as_ref(), notices).await?;
    Ok(respond(StatusCode::OK, view, None))
}

#[utoipa::path(delete, path = "/api/v1/cart/coupon", tag = "cart",
    params(("X-Cart-Token" = Option<String>, Header)),
    responses((status = 200, body = CartView), (status = 404, body = ErrorBody)))]
async fn remove_coupon(
    State(ctx): State<AppContext>,
    caller: CartCaller,
) -> Result<Response, ApiError> {
    let (mut cart, notices) = existing(&ctx, &caller).await?;
    if let Some(c) = &cart {
        cart = Some(carts::remove_coupon(&ctx, c).await?);
    }
    let view = carts::view(&ctx, cart.as_ref(), caller.user.as_ref(), notices).await?;
    Ok(respond(StatusCode::OK, view, None))
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, patch, post};
    Routes::new()
        .prefix("/api/v1")
        .add("/cart", get(show))
        .add("/cart/items", post(add_item))
        .add(
            "/cart/items/{item_id}",
            patch(update_item).delete(remove_item),
        )
        .add("/cart/coupon", post(apply_coupon).delete(remove_coupon))
}
