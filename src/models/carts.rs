//! Carts: a guest's (found by the hash of its token: the session cookie's for pages,
//! `X-Cart-Token` for the API) or a user's (one per user), their lines, coupon and totals.
//!
//! Design:
//! - Cart lines hold a variant and a quantity only; names and prices are read live, so a cart
//!   always shows today's price. Checkout freezes them into the order.
//! - Adding more than is available answers `insufficient_stock`; a cart never promises stock
//!   it cannot have at that moment. It reserves nothing: only checkout reserves.
//! - At login the guest cart merges into the user's: quantities add up, capped by what is
//!   available and the per-line maximum, and every cap is reported back as a notice.
use std::collections::BTreeMap;

use chrono::Utc;
use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::{Expr, Func},
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::{
    _entities::{cart_items, carts, products, promo_codes, variants},
    db::write_txn,
    promos,
    shipping::{self, Offers, Parcel},
    tax_rates, tokens,
    users::Model as User,
};
use crate::{
    domain::{
        pricing::{self, Line, PriceMode, Totals},
        promo::PromoRejection,
        stock::Shortage,
        validation::FieldErrors,
    },
    errors::{AppError, AppResult},
    settings::Settings,
};

/// How a request names its cart.
#[derive(Debug, Clone)]
pub enum CartKey<'a> {
    User(&'a User),
    /// A guest's secret token.
    Guest(&'a str),
}

/// A cart line as API.md's cart body shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CartItemView {
    pub id: Uuid,
    pub product_id: Uuid,
    pub variant_id: Uuid,
    pub product_slug: String,
    pub sku: String,
    pub name: String,
    #[schema(value_type = Object)]
    pub options: BTreeMap<String, String>,
    pub unit_price_cents: i64,
    pub quantity: i32,
    pub line_total_cents: i64,
    /// What can be bought of this variant right now (0 for an inactive product).
    pub available: i32,
}

/// API.md's cart body.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CartView {
    /// `None` until the cart exists (a guest who added nothing yet).
    pub id: Option<Uuid>,
    pub items: Vec<CartItemView>,
    /// Units in the cart (the mini-cart's number).
    pub item_count: i64,
    pub subtotal_cents: i64,
    pub discount_cents: i64,
    pub shipping_cents: i64,
    pub tax_cents: i64,
    pub total_cents: i64,
    pub tax_rate_bp: u32,
    /// Whether `tax_cents` is included in the prices (shown as "incl. tax") or added.
    pub prices_include_tax: bool,
    pub currency: String,
    pub coupon: Option<String>,
    /// Why the applied coupon gives no discount right now (e.g. below its minimum).
    pub coupon_error: Option<String>,
    /// What changed on its own: lines capped or dropped at a merge.
    pub notices: Vec<String>,
    /// How much more the goods must come to for free shipping, when that is near.
    pub free_shipping_missing_cents: Option<i64>,
    /// The country whose tax and shipping the totals show (the saved address's, else the
    /// shop's).
    pub tax_country: String,
    /// The methods that ship this cart to `tax_country`, cheapest first (the shipping in the
    /// totals is the first one's); shown by the pages, not part of API.md's cart body.
    #[serde(skip)]
    pub shipping_offers: Offers,
    /// The offer the totals use.
    #[serde(skip)]
    pub shipping_choice: Option<Uuid>,
}

/// Where a cart is shown as going: the country (the estimate's when `None`) and the method
/// (the cheapest when `None` or not offered there).
#[derive(Debug, Clone, Default)]
pub struct Destination {
    pub country: Option<String>,
    pub method: Option<Uuid>,
}

/// One priced line, loaded for a view or for checkout.
#[derive(Debug, Clone)]
pub struct PricedLine {
    pub item: cart_items::Model,
    pub variant: variants::Model,
    pub product: products::Model,
}

impl PricedLine {
    #[must_use]
    pub fn available(&self) -> i32 {
        if self.product.active {
            (self.variant.stock - self.variant.reserved).max(0)
        } else {
            0
        }
    }

    #[must_use]
    pub fn display_name(&self) -> String {
        let opts: BTreeMap<String, String> =
            serde_json::from_str(&self.variant.options).unwrap_or_default();
        if opts.is_empty() {
            self.product.name.clone()
        } else {
            let v: Vec<&str> = opts.values().map(String::as_str).collect();
            format!("{} ({})", self.product.name, v.join(", "))
        }
    }

    #[must_use]
    pub fn shortage(&self, requested: i64) -> Shortage {
        Shortage {
            product_id: self.product.pid,
            variant_id: self.variant.pid,
            sku: self.variant.sku.clone(),
            name: self.display_name(),
            requested,
            available: i64::from(self.available()),
        }
    }
}

/// Finds the cart `key` names; none is created.
///
/// # Errors
/// Database errors.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    key: &CartKey<'_>,
) -> AppResult<Option<carts::Model>> {
    let q = carts::Entity::find();
    let q = match key {
        CartKey::User(u) => q.filter(carts::Column::UserId.eq(u.id)),
        CartKey::Guest(token) => {
            if token.is_empty() || token.len() > 128 {
                return Ok(None);
            }
            q.filter(carts::Column::TokenHash.eq(tokens::hash_secret(token)))
                .filter(carts::Column::UserId.is_null())
        }
    };
    Ok(q.one(db).await?)
}

/// The user's cart, created on first use (safe when two requests create it at once).
///
/// # Errors
/// Database errors.
pub async fn for_user<C: ConnectionTrait>(db: &C, user: &User) -> AppResult<carts::Model> {
    if let Some(c) = find(db, &CartKey::User(user)).await? {
        return Ok(c);
    }
    let now = Utc::now().into();
    let inserted = carts::Entity::insert(carts::ActiveModel {
        pid: Set(Uuid::new_v4()),
        token_hash: Set(None),
        user_id: Set(Some(user.id)),
        promo_code_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(carts::Column::UserId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    let _ = inserted;
    find(db, &CartKey::User(user))
        .await?
        .ok_or_else(|| AppError::Internal("user cart vanished".into()))
}

/// A new guest cart and the token that names it (shown to the client once).
///
/// # Errors
/// Database errors.
pub async fn create_guest<C: ConnectionTrait>(db: &C) -> AppResult<(carts::Model, String)> {
    let token = tokens::new_secret();
    let now = Utc::now().into();
    let cart = carts::ActiveModel {
        pid: Set(Uuid::new_v4()),
        token_hash: Set(Some(tokens::hash_secret(&token))),
        user_id: Set(None),
        promo_code_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((cart, token))
}

/// The cart's lines with their variants and products, in the order they were added
/// (three queries, whatever the number of lines).
///
/// # Errors
/// Database errors.
pub async fn lines<C: ConnectionTrait>(db: &C, cart_id: i32) -> AppResult<Vec<PricedLine>> {
    let items = cart_items::Entity::find()
        .filter(cart_items::Column::CartId.eq(cart_id))
        .order_by_asc(cart_items::Column::Id)
        .all(db)
        .await?;
    if items.is_empty() {
        return Ok(vec![]);
    }
    let (vs, ps) =
        super::catalogue::variants_with_products(db, items.iter().map(|i| i.variant_id)).await?;
    Ok(items
        .into_iter()
        .filter_map(|item| {
            let variant = vs.iter().find(|v| v.id == item.variant_id)?.clone();
            let product = ps.iter().find(|p| p.id == variant.product_id)?.clone();
            Some(PricedLine {
                item,
                variant,
                product,
            })
        })
        .collect())
}

/// The discount of the cart's coupon, or why it gives none right now.
///
/// # Errors
/// Database errors.
pub async fn coupon_effect<C: ConnectionTrait>(
    db: &C,
    promo: Option<&promo_codes::Model>,
    subtotal_cents: i64,
    user: Option<&User>,
) -> AppResult<Result<Option<pricing::Discount>, PromoRejection>> {
    let Some(p) = promo else { return Ok(Ok(None)) };
    let uses = match (user, p.per_customer_limit) {
        (Some(u), Some(_)) => Some(promos::customer_uses(db, p.id, u.id).await?),
        _ => None,
    };
    Ok(promos::rules(p)
        .check(Utc::now(), subtotal_cents, uses)
        .map(Some))
}

/// The lines' subtotal at today's prices (what promo minimums are checked against).
#[must_use]
pub fn subtotal(lines: &[PricedLine]) -> i64 {
    lines
        .iter()
        .map(|l| l.variant.price_cents * i64::from(l.item.quantity))
        .sum()
}

/// What shipping is priced for: the goods' value after `discount` and their weight (a variant
/// without a weight counts nothing).
#[must_use]
pub fn parcel(lines: &[PricedLine], discount: Option<pricing::Discount>) -> Parcel {
    let subtotal = subtotal(lines);
    Parcel {
        goods_cents: subtotal - discount.map_or(0, |d| d.amount(subtotal)),
        weight_grams: lines
            .iter()
            .map(|l| {
                l.variant
                    .weight_grams
                    .unwrap_or(0)
                    .saturating_mul(i64::from(l.item.quantity))
            })
            .sum(),
    }
}

/// Computes the totals of `lines` shipped at `shipping`'s fee and threshold.
#[must_use]
pub fn price(
    settings: &Settings,
    lines: &[PricedLine],
    discount: Option<pricing::Discount>,
    tax_rate_bp: u32,
    shipping: pricing::Shipping,
) -> Totals {
    let priced: Vec<Line> = lines
        .iter()
        .map(|l| Line {
            unit_price_cents: l.variant.price_cents,
            quantity: i64::from(l.item.quantity),
        })
        .collect();
    pricing::totals(
        &priced,
        discount,
        shipping,
        tax_rate_bp,
        settings.checkout.price_mode,
    )
}

/// The country carts are taxed for before checkout: the user's saved address, else the shop's.
async fn estimate_country(ctx: &AppContext, user: Option<&User>) -> AppResult<String> {
    if let Some(u) = user {
        if let Some(a) = super::accounts::addresses::default_for(&ctx.db, u.id).await? {
            return Ok(a.country);
        }
    }
    Ok(Settings::get(ctx).checkout.default_country.clone())
}

/// The whole cart body.
///
/// # Errors
/// Database errors.
pub async fn view(
    ctx: &AppContext,
    cart: Option<&carts::Model>,
    user: Option<&User>,
    notices: Vec<String>,
) -> AppResult<CartView> {
    view_for(ctx, cart, user, notices, Destination::default()).await
}

/// The cart body with tax and shipping for a destination.
///
/// # Errors
/// Database errors.
pub async fn view_for(
    ctx: &AppContext,
    cart: Option<&carts::Model>,
    user: Option<&User>,
    notices: Vec<String>,
    to: Destination,
) -> AppResult<CartView> {
    let settings = Settings::get(ctx);
    let lines = match cart {
        Some(c) => lines(&ctx.db, c.id).await?,
        None => vec![],
    };
    let promo = match cart.and_then(|c| c.promo_code_id) {
        Some(id) => promo_codes::Entity::find_by_id(id).one(&ctx.db).await?,
        None => None,
    };
    let subtotal = subtotal(&lines);
    let effect = coupon_effect(&ctx.db, promo.as_ref(), subtotal, user).await?;
    let (discount, coupon_error) = match effect {
        Ok(d) => (d, None),
        Err(r) => (None, Some(r.to_string())),
    };
    let country = match to.country {
        Some(c) => c,
        None => estimate_country(ctx, user).await?,
    };
    let rate = tax_rates::rate_for(&ctx.db, &country).await?;
    let offers = shipping::offers(&ctx.db, &settings, &country, parcel(&lines, discount)).await?;
    // The cheapest way is what the cart shows until checkout picks one; nothing when nothing
    // ships there (the pages say so).
    let chosen = to
        .method
        .and_then(|id| offers.list.iter().find(|o| o.id == id))
        .or_else(|| offers.list.first());
    let ship = chosen.map_or(
        pricing::Shipping {
            fee_cents: 0,
            free_from_cents: None,
        },
        |o| o.rule.shipping(),
    );
    let totals = price(&settings, &lines, discount, rate, ship);
    Ok(CartView {
        id: cart.map(|c| c.pid),
        item_count: lines.iter().map(|l| i64::from(l.item.quantity)).sum(),
        items: lines
            .iter()
            .map(|l| CartItemView {
                id: l.item.pid,
                product_id: l.product.pid,
                variant_id: l.variant.pid,
                product_slug: l.product.slug.clone(),
                sku: l.variant.sku.clone(),
                name: l.display_name(),
                options: serde_json::from_str(&l.variant.options).unwrap_or_default(),
                unit_price_cents: l.variant.price_cents,
                quantity: l.item.quantity,
                line_total_cents: l.variant.price_cents * i64::from(l.item.quantity),
                available: l.available(),
            })
            .collect(),
        subtotal_cents: totals.subtotal_cents,
        discount_cents: totals.discount_cents,
        shipping_cents: totals.shipping_cents,
        tax_cents: totals.tax_cents,
        total_cents: totals.total_cents,
        tax_rate_bp: rate,
        prices_include_tax: settings.checkout.price_mode == PriceMode::TaxInclusive,
        currency: settings.currency.clone(),
        coupon: promo.map(|p| p.code),
        coupon_error,
        notices,
        free_shipping_missing_cents: ship
            .missing_for_free(totals.subtotal_cents - totals.discount_cents),
        tax_country: country,
        shipping_choice: chosen.map(|o| o.id),
        shipping_offers: offers,
    })
}

/// What to add: a product, and the variant when the product has several.
#[derive(Debug, Clone)]
pub struct AddItem {
    pub product_id: Uuid,
    pub variant_id: Option<Uuid>,
    pub quantity: i32,
}

impl AddItem {
    /// # Errors
    /// A field message for a quantity outside 1..=max.
    pub fn parse(
        product_id: Uuid,
        variant_id: Option<Uuid>,
        quantity: i64,
        max: i32,
    ) -> Result<Self, FieldErrors> {
        let quantity = check_quantity(quantity, 1, max)?;
        Ok(Self {
            product_id,
            variant_id,
            quantity,
        })
    }
}

/// # Errors
/// A field message under `quantity`.
pub fn check_quantity(quantity: i64, min: i64, max: i32) -> Result<i32, FieldErrors> {
    if quantity < min || quantity > i64::from(max) {
        return Err(FieldErrors::single(
            "quantity",
            format!("Must be between {min} and {max}."),
        ));
    }
    Ok(i32::try_from(quantity).unwrap_or(0))
}

/// The variant an add names, which must be on sale.
async fn sellable_variant<C: ConnectionTrait>(
    db: &C,
    add: &AddItem,
) -> AppResult<(products::Model, variants::Model)> {
    let product = products::Entity::find()
        .filter(products::Column::Pid.eq(add.product_id))
        .filter(products::Column::Active.eq(true))
        .one(db)
        .await?
        .ok_or_else(|| FieldErrors::single("product_id", "No such product."))?;
    let mut vs = variants::Entity::find()
        .filter(variants::Column::ProductId.eq(product.id))
        .order_by_asc(variants::Column::Position)
        .all(db)
        .await?;
    let variant = match add.variant_id {
        Some(vid) => vs
            .into_iter()
            .find(|v| v.pid == vid)
            .ok_or_else(|| FieldErrors::single("variant_id", "No such variant of this product."))?,
        None if vs.len() == 1 => vs.remove(0),
        None => {
            return Err(FieldErrors::single(
                "variant_id",
                "This product comes in several variants: choose one.",
            )
            .into())
        }
    };
    Ok((product, variant))
}

/// Adds units of a variant to the cart `key` names, creating a guest cart when there is none
/// (its token is returned, to be handed to the client).
///
/// # Errors
/// 422 for an unknown product/variant or a bad quantity; 409 `insufficient_stock` when the
/// cart would hold more than is available; 409 when the cart is full.
pub async fn add_item(
    ctx: &AppContext,
    key: Option<&CartKey<'_>>,
    add: &AddItem,
) -> AppResult<(carts::Model, Option<String>)> {
    let settings = Settings::get(ctx);
    let txn = write_txn(&ctx.db).await?;
    let (cart, new_token) = match key {
        Some(CartKey::User(u)) => (for_user(&txn, u).await?, None),
        Some(k @ CartKey::Guest(_)) => match find(&txn, k).await? {
            Some(c) => (c, None),
            None => return Err(AppError::NotFound),
        },
        None => {
            let (c, t) = create_guest(&txn).await?;
            (c, Some(t))
        }
    };
    lock(&txn, cart.id).await?;
    super::idempotency::produced(&txn, super::idempotency::Produced::Cart, true).await?;
    let (product, variant) = sellable_variant(&txn, add).await?;
    let existing = cart_items::Entity::find()
        .filter(cart_items::Column::CartId.eq(cart.id))
        .filter(cart_items::Column::VariantId.eq(variant.id))
        .one(&txn)
        .await?;
    let wanted = i64::from(existing.as_ref().map_or(0, |i| i.quantity)) + i64::from(add.quantity);
    let max = settings.checkout.max_line_quantity;
    if wanted > i64::from(max) {
        return Err(FieldErrors::single(
            "quantity",
            format!("At most {max} of one item fit in a cart."),
        )
        .into());
    }
    let line = PricedLine {
        item: existing.clone().unwrap_or_else(|| cart_items::Model {
            id: 0,
            pid: Uuid::nil(),
            cart_id: cart.id,
            variant_id: variant.id,
            quantity: 0,
            created_at: Utc::now().into(),
            updated_at: Utc::now().into(),
        }),
        variant: variant.clone(),
        product,
    };
    if wanted > i64::from(line.available()) {
        return Err(AppError::InsufficientStock(vec![line.shortage(wanted)]));
    }
    let now = Utc::now();
    if let Some(item) = existing {
        let mut row = item.into_active_model();
        row.quantity = Set(i32::try_from(wanted).unwrap_or(max));
        row.updated_at = Set(now.into());
        row.update(&txn).await?;
    } else {
        let count = cart_items::Entity::find()
            .filter(cart_items::Column::CartId.eq(cart.id))
            .count(&txn)
            .await?;
        if count >= settings.checkout.max_cart_lines as u64 {
            return Err(AppError::Conflict(format!(
                "A cart holds at most {} different items.",
                settings.checkout.max_cart_lines
            )));
        }
        cart_items::ActiveModel {
            pid: Set(Uuid::new_v4()),
            cart_id: Set(cart.id),
            variant_id: Set(variant.id),
            quantity: Set(add.quantity),
            created_at: Set(now.into()),
            updated_at: Set(now.into()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    touch(&txn, cart.id).await?;
    txn.commit().await?;
    Ok((cart, new_token))
}

/// Serialises changes to one cart on PostgreSQL (SQLite's write lock already does): two
/// adds at once (a double click) both count, and neither hits the line's unique index.
async fn lock<C: ConnectionTrait>(db: &C, cart_id: i32) -> AppResult<()> {
    carts::Entity::find_by_id(cart_id)
        .lock_exclusive()
        .one(db)
        .await?;
    Ok(())
}

async fn touch<C: ConnectionTrait>(db: &C, cart_id: i32) -> AppResult<()> {
    carts::Entity::update_many()
        .col_expr(
            carts::Column::UpdatedAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .filter(carts::Column::Id.eq(cart_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Sets a line's quantity; 0 removes it.
///
/// # Errors
/// 404 for a line that is not in this cart; 422 for a bad quantity; 409
/// `insufficient_stock` above availability.
pub async fn set_quantity(
    ctx: &AppContext,
    cart: &carts::Model,
    item_id: Uuid,
    quantity: i64,
) -> AppResult<()> {
    let settings = Settings::get(ctx);
    let quantity = check_quantity(quantity, 0, settings.checkout.max_line_quantity)?;
    let txn = write_txn(&ctx.db).await?;
    lock(&txn, cart.id).await?;
    super::idempotency::produced(&txn, super::idempotency::Produced::Cart, false).await?;
    let item = cart_items::Entity::find()
        .filter(cart_items::Column::Pid.eq(item_id))
        .filter(cart_items::Column::CartId.eq(cart.id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if quantity == 0 {
        cart_items::Entity::delete_by_id(item.id).exec(&txn).await?;
    } else {
        let line = lines(&txn, cart.id)
            .await?
            .into_iter()
            .find(|l| l.item.id == item.id)
            .ok_or(AppError::NotFound)?;
        if quantity > line.available() && quantity > item.quantity {
            return Err(AppError::InsufficientStock(vec![
                line.shortage(i64::from(quantity))
            ]));
        }
        let mut row = item.into_active_model();
        row.quantity = Set(quantity);
        row.updated_at = Set(Utc::now().into());
        row.update(&txn).await?;
    }
    touch(&txn, cart.id).await?;
    txn.commit().await?;
    Ok(())
}

/// Applies a promo code to the cart after checking it against the cart as it is.
///
/// # Errors
/// 422 (`code` field) when the code is unknown or does not apply.
pub async fn apply_coupon(
    ctx: &AppContext,
    cart: &carts::Model,
    user: Option<&User>,
    code: &str,
) -> AppResult<carts::Model> {
    if code.trim().is_empty() {
        return Err(FieldErrors::single("code", "Enter a code.").into());
    }
    let promo = promos::find_by_code(&ctx.db, code)
        .await?
        .ok_or_else(|| promos::rejected(PromoRejection::Unknown))?;
    let subtotal = subtotal(&lines(&ctx.db, cart.id).await?);
    coupon_effect(&ctx.db, Some(&promo), subtotal, user)
        .await?
        .map_err(promos::rejected)?;
    let txn = super::db::write_txn(&ctx.db).await?;
    carts::Entity::update_many()
        .col_expr(carts::Column::PromoCodeId, Expr::value(promo.id))
        .col_expr(
            carts::Column::UpdatedAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .filter(carts::Column::Id.eq(cart.id))
        .exec(&txn)
        .await?;
    super::idempotency::produced(&txn, super::idempotency::Produced::Cart, false).await?;
    txn.commit().await?;
    Ok(carts::Model {
        promo_code_id: Some(promo.id),
        ..cart.clone()
    })
}

/// # Errors
/// Database errors.
pub async fn remove_coupon(ctx: &AppContext, cart: &carts::Model) -> AppResult<carts::Model> {
    carts::Entity::update_many()
        .col_expr(carts::Column::PromoCodeId, Expr::value(Option::<i32>::None))
        .filter(carts::Column::Id.eq(cart.id))
        .exec(&ctx.db)
        .await?;
    Ok(carts::Model {
        promo_code_id: None,
        ..cart.clone()
    })
}

/// Merges the guest cart named by `token` into `user`'s cart and deletes it. Quantities add
/// up, capped by availability and the per-line maximum; each cap is a notice. The guest's
/// coupon carries over when the user's cart has none.
///
/// # Errors
/// Database errors.
pub async fn merge_guest(ctx: &AppContext, user: &User, token: &str) -> AppResult<Vec<String>> {
    let max = Settings::get(ctx).checkout.max_line_quantity;
    let txn = write_txn(&ctx.db).await?;
    let Some(guest) = find(&txn, &CartKey::Guest(token)).await? else {
        return Ok(vec![]);
    };
    let target = for_user(&txn, user).await?;
    lock(&txn, target.id).await?;
    // Merging is a step before the request's own change: a retry runs it all again (the
    // guest cart is gone by then, so nothing merges twice).
    super::idempotency::produced(&txn, super::idempotency::Produced::Rerun, false).await?;
    let mut notices = Vec::new();
    let mine = lines(&txn, target.id).await?;
    for line in lines(&txn, guest.id).await? {
        let had = mine
            .iter()
            .find(|m| m.variant.id == line.variant.id)
            .map(|m| m.item.clone());
        let wanted = line.item.quantity + had.as_ref().map_or(0, |h| h.quantity);
        let cap = line.available().min(max);
        let quantity = wanted.min(cap);
        if quantity < wanted {
            notices.push(if quantity == 0 {
                format!(
                    "{} is no longer available and was removed.",
                    line.display_name()
                )
            } else {
                format!(
                    "{}: only {quantity} available, so your cart now holds {quantity}.",
                    line.display_name()
                )
            });
        }
        match had {
            Some(h) if quantity == 0 => {
                cart_items::Entity::delete_by_id(h.id).exec(&txn).await?;
            }
            Some(h) => {
                let mut row = h.into_active_model();
                row.quantity = Set(quantity);
                row.updated_at = Set(Utc::now().into());
                row.update(&txn).await?;
            }
            None if quantity > 0 => {
                let mut row = line.item.clone().into_active_model();
                row.cart_id = Set(target.id);
                row.quantity = Set(quantity);
                row.update(&txn).await?;
            }
            None => {}
        }
    }
    if target.promo_code_id.is_none() && guest.promo_code_id.is_some() {
        carts::Entity::update_many()
            .col_expr(carts::Column::PromoCodeId, Expr::value(guest.promo_code_id))
            .filter(carts::Column::Id.eq(target.id))
            .exec(&txn)
            .await?;
    }
    carts::Entity::delete_by_id(guest.id).exec(&txn).await?;
    touch(&txn, target.id).await?;
    txn.commit().await?;
    Ok(notices)
}

/// Empties a cart after checkout (lines and coupon), in the checkout's transaction.
///
/// # Errors
/// Database errors.
pub async fn clear<C: ConnectionTrait>(db: &C, cart_id: i32) -> AppResult<()> {
    cart_items::Entity::delete_many()
        .filter(cart_items::Column::CartId.eq(cart_id))
        .exec(db)
        .await?;
    carts::Entity::update_many()
        .col_expr(carts::Column::PromoCodeId, Expr::value(Option::<i32>::None))
        .filter(carts::Column::Id.eq(cart_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Units in the cart, for the header's mini-cart (one indexed aggregate).
///
/// # Errors
/// Database errors.
pub async fn item_count(db: &sea_orm::DatabaseConnection, cart_id: i32) -> AppResult<i64> {
    let n: Option<Option<i64>> = cart_items::Entity::find()
        .select_only()
        .column_as(
            Expr::from(Func::sum(Expr::col(cart_items::Column::Quantity))),
            "n",
        )
        .filter(cart_items::Column::CartId.eq(cart_id))
        .into_tuple()
        .one(db)
        .await?;
    Ok(n.flatten().unwrap_or(0))
}

/// Deletes guest carts untouched for `days` (scheduled purge).
///
/// # Errors
/// Database errors.
pub async fn purge_stale_guests(db: &sea_orm::DatabaseConnection, days: i64) -> AppResult<u64> {
    let res = carts::Entity::delete_many()
        .filter(carts::Column::UserId.is_null())
        .filter(carts::Column::UpdatedAt.lt(Utc::now() - chrono::Duration::days(days)))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// What [`add_order_again`] did: the lines put back in the cart, and why the others were not.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Reordered {
    pub added: Vec<String>,
    pub not_added: Vec<String>,
}

/// Puts the lines of the owner's cancelled or expired order back in their cart, each line as
/// a whole where the shop still sells it and has the stock; the others are named with why.
///
/// # Errors
/// `NotFound` for another customer's order; `Conflict` for an order
/// that is not cancelled or expired; database errors.
pub async fn add_order_again(
    ctx: &AppContext,
    user: &User,
    order_pid: Uuid,
) -> AppResult<Reordered> {
    use super::_entities::{order_lines, orders};
    use crate::domain::order_status::OrderStatus;
    let order = orders::Entity::find()
        .filter(orders::Column::Pid.eq(order_pid))
        .filter(orders::Column::UserId.eq(user.id))
        .one(&ctx.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let status: OrderStatus = order.status.parse().unwrap_or(OrderStatus::Pending);
    if !matches!(status, OrderStatus::Cancelled | OrderStatus::Expired) {
        return Err(AppError::Conflict(
            "Only a cancelled or expired order's items can be put back in the cart.".into(),
        ));
    }
    let lines = order_lines::Entity::find()
        .filter(order_lines::Column::OrderId.eq(order.id))
        .order_by_asc(order_lines::Column::Id)
        .all(&ctx.db)
        .await?;
    let variant_ids: Vec<i32> = lines.iter().map(|l| l.variant_id).collect();
    let vs = variants::Entity::find()
        .filter(variants::Column::Id.is_in(variant_ids))
        .all(&ctx.db)
        .await?;
    let product_pids: BTreeMap<i32, Uuid> = products::Entity::find()
        .filter(products::Column::Id.is_in(vs.iter().map(|v| v.product_id)))
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.pid))
        .collect();
    let found: BTreeMap<i32, (Uuid, Uuid)> = vs
        .into_iter()
        .filter_map(|v| product_pids.get(&v.product_id).map(|p| (v.id, (*p, v.pid))))
        .collect();
    let max = Settings::get(ctx).checkout.max_line_quantity;
    let mut out = Reordered::default();
    for line in &lines {
        let Some(&(product_id, variant_id)) = found.get(&line.variant_id) else {
            out.not_added
                .push(format!("{}: no longer sold.", line.name));
            continue;
        };
        let add = AddItem::parse(product_id, Some(variant_id), i64::from(line.quantity), max)?;
        match add_item(ctx, Some(&CartKey::User(user)), &add).await {
            Ok(_) => out.added.push(line.name.clone()),
            Err(AppError::InsufficientStock(short)) => {
                out.not_added.extend(short.iter().map(Shortage::message))
            }
            Err(AppError::Validation(_)) => {
                out.not_added
                    .push(format!("{}: no longer sold.", line.name));
            }
            Err(AppError::Conflict(m)) => out.not_added.push(format!("{}: {m}", line.name)),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
