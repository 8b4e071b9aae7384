//! Checkout: the cart becomes an order, with every line reserved in one transaction.
//!
//! Design:
//! - One write transaction does everything: lock the cart, re-price it, take the promo use,
//!   number the order, freeze the lines, reserve every line, write the timeline and the
//!   confirmation mail, empty the cart. Any failure rolls all of it back, so a checkout that
//!   answers `insufficient_stock` has reserved nothing and numbered nothing.
//! - Lines are reserved in ascending variant id (see `models::stock`). A short line does not
//!   stop the loop: every short variant is named in the answer, then the transaction is
//!   rolled back.
//! - Concurrent checkouts of one customer are serialised by the cart row lock (PostgreSQL
//!   `FOR UPDATE`; SQLite takes the write lock at `BEGIN IMMEDIATE`), so the cart cannot be
//!   ordered twice; an `Idempotency-Key` retry is answered by the stored response.
use chrono::{Duration, Utc};
use loco_rs::app::AppContext;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde_json::json;
use uuid::Uuid;

use super::{
    _entities::{carts, order_lines, orders, promo_codes},
    actor::Actor,
    carts as cart_model,
    carts::CartKey,
    counters,
    db::write_txn,
    orders::{queue_mail, record_event, view, OrderView},
    promos,
    shipping::{self, OrderMethod},
    stock::{self, Change},
    tax_rates,
    users::Model as User,
    webhooks,
};
use crate::{
    domain::{
        account::Address, order_status::OrderStatus, stock::StockReason, validation::FieldErrors,
        webhook::Event,
    },
    errors::{AppError, AppResult},
    jobs::{Job, Jobs},
    mail::OrderMail,
    settings::Settings,
};

/// What the shopper confirms at checkout.
#[derive(Debug, Clone)]
pub struct PlaceOrder {
    pub shipping: Address,
    /// `None`: the same as shipping.
    pub billing: Option<Address>,
    /// `None`: the only method that ships there (refused when there is a choice).
    pub shipping_method: Option<Uuid>,
}

fn address_json(a: &Address) -> String {
    json!({
        "name": a.name, "company": a.company,
        "line1": a.line1, "line2": a.line2, "city": a.city,
        "postal_code": a.postal_code, "country": a.country, "phone": a.phone,
    })
    .to_string()
}

/// Who checks out: a signed-in customer, or a guest with the token of their cart and an
/// e-mail address (API.md "POST /checkout (guest)").
#[derive(Debug, Clone, Copy)]
pub enum Buyer<'a> {
    Customer(&'a User),
    Guest {
        cart_token: &'a str,
        email: &'a str,
        /// Who asks (the client's address): guest checkouts send mail to any address, so they
        /// count against the client's and the address's mail budgets.
        client: &'a str,
    },
}

impl Buyer<'_> {
    fn cart(&self) -> CartKey<'_> {
        match self {
            Self::Customer(u) => CartKey::User(u),
            Self::Guest { cart_token, .. } => CartKey::Guest(cart_token),
        }
    }

    fn email(&self) -> String {
        match self {
            Self::Customer(u) => u.email.clone(),
            Self::Guest { email, .. } => (*email).to_string(),
        }
    }
}

/// A placed order, and for a guest the secret that reaches it (shown once, kept hashed).
#[derive(Debug)]
pub struct Placed {
    pub order: OrderView,
    pub access_token: Option<String>,
}

/// Unpaid orders of a customer (or of a guest's e-mail address) that still hold stock (the
/// expiry job has not caught up with those past their time, which hold nothing a shopper could
/// want).
async fn pending_orders<C: sea_orm::ConnectionTrait>(db: &C, buyer: &Buyer<'_>) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    let q = match buyer {
        Buyer::Customer(u) => orders::Entity::find().filter(orders::Column::UserId.eq(u.id)),
        Buyer::Guest { email, .. } => orders::Entity::find()
            .filter(orders::Column::UserId.is_null())
            .filter(orders::Column::Email.eq(*email)),
    };
    Ok(
        q.filter(orders::Column::Status.eq(OrderStatus::Pending.as_str()))
            .filter(orders::Column::ExpiresAt.gt(Utc::now().fixed_offset()))
            .count(db)
            .await?,
    )
}

/// Refuses a shipping country the shop does not ship to (`checkout.ship_to`), as API.md's 422
/// `shipping_unavailable`, naming where it does ship.
///
/// # Errors
/// `Unprocessable { code: "shipping_unavailable" }`.
pub fn check_destination(settings: &Settings, country: &str) -> AppResult<()> {
    if settings.checkout.ships_to(country) {
        return Ok(());
    }
    let name = crate::domain::countries::name(country).unwrap_or(country);
    let mut to: Vec<&str> = settings
        .checkout
        .ship_to
        .iter()
        .filter_map(|c| crate::domain::countries::name(c))
        .collect();
    to.sort_unstable();
    Err(AppError::Unprocessable {
        code: SHIPPING_UNAVAILABLE,
        message: format!("We do not ship to {name}. We ship to: {}.", to.join(", ")),
    })
}

pub use super::shipping::SHIPPING_UNAVAILABLE;

/// Places the user's cart as a pending order.
///
/// # Errors
/// 422 `validation_failed` for an empty cart (field `cart`) or a promo code that no longer
/// applies (field `code`); 409 `insufficient_stock` naming every short product; 409
/// `too_many_pending_orders` when the customer already has the most unpaid orders allowed.
pub async fn place_order(ctx: &AppContext, user: &User, cmd: PlaceOrder) -> AppResult<OrderView> {
    Ok(place(ctx, Buyer::Customer(user), cmd).await?.order)
}

/// Places the cart of a customer or a guest as a pending order. A guest's order belongs to no
/// account: it answers a new access token, of which only the hash is kept.
///
/// # Errors
/// As [`place_order`]; for a guest also 422 when the shipping address names nobody, or the
/// promo code is one limited per customer (a guest cannot be told apart from the next).
#[tracing::instrument(name = "checkout::place", skip_all)]
pub async fn place(ctx: &AppContext, buyer: Buyer<'_>, mut cmd: PlaceOrder) -> AppResult<Placed> {
    let settings = Settings::get(ctx);
    // A parcel needs a name on it: the account holder's unless the address names another.
    let addresses = std::iter::once((&mut cmd.shipping, "shipping_address.name"))
        .chain(cmd.billing.as_mut().map(|b| (b, "billing_address.name")));
    for (a, field) in addresses {
        if a.name.is_empty() {
            match buyer {
                Buyer::Customer(user) => a.name = user.full_name(),
                Buyer::Guest { .. } => {
                    return Err(
                        FieldErrors::single(field, "Give the name it is addressed to.").into(),
                    )
                }
            }
        }
    }
    check_destination(&settings, &cmd.shipping.country)?;
    if let Buyer::Guest { email, client, .. } = buyer {
        use super::accounts::mail_limits::{self, Purpose};
        mail_limits::take(ctx, Purpose::GuestOrder, email, client)
            .await?
            .or_refuse()?;
    }
    let txn = write_txn(&ctx.db).await?;
    let Some(found) = cart_model::find(&txn, &buyer.cart()).await? else {
        return Err(empty_cart());
    };
    // Locked again by id: concurrent checkouts of one cart are serialised on this row.
    let cart = carts::Entity::find_by_id(found.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(empty_cart)?;
    let lines = cart_model::lines(&txn, cart.id).await?;
    if lines.is_empty() {
        return Err(empty_cart());
    }
    // Counted under the cart lock, so parallel checkouts of one customer cannot all pass.
    let limit = settings.checkout.max_pending_orders;
    if pending_orders(&txn, &buyer).await? >= limit {
        return Err(AppError::TooManyPendingOrders { limit });
    }
    let inactive: Vec<_> = lines
        .iter()
        .filter(|l| !l.product.active)
        .map(|l| l.shortage(i64::from(l.item.quantity)))
        .collect();
    if !inactive.is_empty() {
        return Err(AppError::InsufficientStock(inactive));
    }
    let promo = match cart.promo_code_id {
        Some(id) => promo_codes::Entity::find_by_id(id).one(&txn).await?,
        None => None,
    };
    let subtotal = cart_model::subtotal(&lines);
    let user = match buyer {
        Buyer::Customer(u) => Some(u),
        Buyer::Guest { .. } => {
            if promo
                .as_ref()
                .is_some_and(|p| p.per_customer_limit.is_some())
            {
                return Err(FieldErrors::single(
                    "code",
                    "Sign in to use this code: it is limited per customer.",
                )
                .into());
            }
            None
        }
    };
    let discount = cart_model::coupon_effect(&txn, promo.as_ref(), subtotal, user)
        .await?
        .map_err(promos::rejected)?;
    let rate = tax_rates::rate_for(&txn, &cmd.shipping.country).await?;
    let country = &cmd.shipping.country;
    let parcel = cart_model::parcel(&lines, discount);
    let method = shipping::offers(&txn, &settings, country, parcel)
        .await?
        .choose(cmd.shipping_method, country)?;
    let totals = cart_model::price(&settings, &lines, discount, rate, method.rule.shipping());

    let now = Utc::now();
    let number = counters::next(&txn, "order", 1001).await?;
    let access_token = user.is_none().then(super::tokens::new_secret);
    let billing = cmd.billing.as_ref().unwrap_or(&cmd.shipping);
    let order = orders::ActiveModel {
        pid: Set(Uuid::new_v4()),
        number: Set(number),
        user_id: Set(user.map(|u| u.id)),
        email: Set(buyer.email()),
        status: Set(OrderStatus::Pending.as_str().to_string()),
        currency: Set(settings.currency.clone()),
        subtotal_cents: Set(totals.subtotal_cents),
        discount_cents: Set(totals.discount_cents),
        shipping_cents: Set(totals.shipping_cents),
        tax_cents: Set(totals.tax_cents),
        total_cents: Set(totals.total_cents),
        tax_rate_bp: Set(i32::try_from(rate).unwrap_or(0)),
        price_mode: Set(settings.checkout.price_mode.as_str().to_string()),
        promo_code_id: Set(promo.as_ref().map(|p| p.id)),
        coupon: Set(promo.as_ref().map(|p| p.code.clone())),
        shipping_address: Set(address_json(&cmd.shipping)),
        billing_address: Set(address_json(billing)),
        shipping_method: Set(Some(OrderMethod::stored(&method, totals.shipping_cents))),
        carrier: Set(None),
        tracking_number: Set(None),
        expires_at: Set(Some(
            (now + Duration::minutes(settings.checkout.order_ttl_minutes)).into(),
        )),
        paid_at: Set(None),
        shipped_at: Set(None),
        created_at: Set(now.into()),
        updated_at: Set(now.into()),
        access_token_hash: Set(access_token.as_deref().map(super::tokens::hash_secret)),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    // A guest's answer carries the order's token, which is shown once and never kept.
    let produced = if access_token.is_some() {
        super::idempotency::Produced::Secret
    } else {
        super::idempotency::Produced::Order(order.pid)
    };
    super::idempotency::produced(&txn, produced, true).await?;
    if let Some(p) = &promo {
        promos::redeem(&txn, p, order.id, user.map(|u| u.id)).await?;
    }

    let actor = match user {
        Some(u) => Actor::user(u),
        None => Actor::guest(&order),
    };
    let mut sorted: Vec<_> = lines.iter().collect();
    sorted.sort_by_key(|l| l.variant.id);
    let mut short = Vec::new();
    let mut sold_out = false;
    for l in sorted {
        let reserved = stock::apply(
            &txn,
            &Change {
                variant_id: l.variant.id,
                reason: StockReason::Reserve,
                quantity: l.item.quantity,
                order_id: Some(order.id),
                purchase_order_id: None,
                note: &format!("order {number}"),
                actor: &actor,
            },
        )
        .await?;
        match reserved {
            Some(levels) => sold_out |= levels.availability_flipped,
            None => short.push(l.shortage(i64::from(l.item.quantity))),
        }
    }
    if !short.is_empty() {
        // Dropping the transaction rolls back the order, its number and every reservation.
        return Err(AppError::InsufficientStock(short));
    }
    super::orders::stats::status_moved(&txn, order.id, None, OrderStatus::Pending).await?;
    let mut frozen = Vec::with_capacity(lines.len());
    for l in &lines {
        frozen.push(
            order_lines::ActiveModel {
                order_id: Set(order.id),
                product_id: Set(l.product.id),
                variant_id: Set(l.variant.id),
                sku: Set(l.variant.sku.clone()),
                name: Set(l.display_name()),
                unit_price_cents: Set(l.variant.price_cents),
                quantity: Set(l.item.quantity),
                line_total_cents: Set(l.variant.price_cents * i64::from(l.item.quantity)),
                ..Default::default()
            }
            .insert(&txn)
            .await?,
        );
    }
    record_event(
        &txn,
        order.id,
        None,
        OrderStatus::Pending,
        "place",
        &actor,
        "",
    )
    .await?;
    cart_model::clear(&txn, cart.id).await?;
    let mail_id = queue_mail(
        &txn,
        &settings,
        &order,
        &frozen,
        OrderMail::Placed,
        super::orders::MailAbout {
            access_token: access_token.as_deref(),
            ..Default::default()
        },
    )
    .await?;
    let out = view(&txn, order).await?;
    let hooks = webhooks::subscribed(&txn, Event::OrderCreated).await?;
    let webhook_ids = webhooks::record(&txn, &hooks, Event::OrderCreated, json!(out)).await?;
    txn.commit().await?;
    Jobs::get(ctx)
        .enqueue_all([Job::DeliverMail { mail_id }])
        .await;
    webhooks::enqueue(ctx, webhook_ids).await;
    // Cached catalogue bodies stay: their stock is read live. Only lists filtered by
    // availability change, and only when a variant sold out.
    if sold_out {
        super::catalogue::cache::availability_changed(&ctx.cache).await;
    }
    crate::live::publish(ctx, crate::live::LiveEvent::order(&out)).await;
    Ok(Placed {
        order: out,
        access_token,
    })
}

fn empty_cart() -> AppError {
    FieldErrors::single("cart", "Your cart is empty.").into()
}
