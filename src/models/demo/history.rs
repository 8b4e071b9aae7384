//! A month of demo order history for a newcomer's first start, so the dashboard, its charts
//! and the reports have something to show: customers and guests buying from the demo
//! catalogue, orders paid, shipped, completed, cancelled, partly and wholly refunded.
//!
//! Every order goes through the real use-cases (cart, checkout, the state machine, refunds),
//! so stock, the ledger, invoices, credit notes and mail are what they would be; only the
//! times are moved back afterwards, each order to its own day of the past month. Payments
//! are recorded as received offline, so a first start never calls a payment provider.
use chrono::{DateTime, Duration, Utc};
use loco_rs::app::AppContext;
use rand::{rngs::StdRng, Rng, SeedableRng};
use sea_orm::{
    sea_query::Expr, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use crate::{
    domain::{
        account::{Address, Registration},
        refund::RefundAsk,
        role::Role,
    },
    errors::AppResult,
    models::{
        _entities::{
            invoices, order_events, orders, products, refunds as refund_rows, stock_ledger,
            transactions, users, variants,
        },
        accounts::{self, Origin},
        actor::Actor,
        carts::{self, AddItem, CartKey, Destination},
        checkout::{self, Buyer, PlaceOrder},
        orders::{self as order_model, Action},
        refunds::{self, RefundCommand},
    },
};

/// Who buys in the demo: name, e-mail, street, city, postal code, country.
const PEOPLE: [(&str, &str, &str, &str, &str, &str, &str); 6] = [
    (
        "Lena",
        "Schmidt",
        "lena.schmidt@example.com",
        "Holstenstraße 12",
        "Kiel",
        "24103",
        "DE",
    ),
    (
        "Jonas",
        "Weber",
        "jonas.weber@example.com",
        "Sendlinger Str. 4",
        "München",
        "80331",
        "DE",
    ),
    (
        "Marie",
        "Dubois",
        "marie.dubois@example.com",
        "12 Rue Oberkampf",
        "Paris",
        "75011",
        "FR",
    ),
    (
        "Lukas",
        "Gruber",
        "lukas.gruber@example.com",
        "Mariahilfer Str. 8",
        "Wien",
        "1060",
        "AT",
    ),
    (
        "Sanne",
        "de Vries",
        "sanne.devries@example.com",
        "Prinsengracht 21",
        "Amsterdam",
        "1015 DV",
        "NL",
    ),
    (
        "Nora",
        "Keller",
        "nora.keller@example.com",
        "Bahnhofstrasse 3",
        "Zürich",
        "8001",
        "CH",
    ),
];

/// How many orders the month holds.
const ORDERS: usize = 40;

/// Places and moves the demo month's orders, when the shop has none yet. Returns how many.
///
/// # Errors
/// Database errors, or a use-case refusing (which would be a bug in the demo data).
pub async fn ensure_demo_history(ctx: &AppContext) -> AppResult<usize> {
    if orders::Entity::find().count(&ctx.db).await? > 0 {
        return Ok(0);
    }
    // The same month on every first start.
    let mut rng = StdRng::seed_from_u64(2026);
    let mut people = Vec::new();
    for (first, last, email, line1, city, postal, country) in PEOPLE {
        let password = format!("demo-{}", loco_rs::hash::random_string(16));
        let reg = Registration::parse(email, &password, first, last, Role::Customer)?;
        let user = accounts::register(ctx, reg, Origin::Provisioned).await?;
        let address = Address::parse(line1, "", city, postal, country, "")?;
        people.push((user, address));
    }
    let stocked: Vec<(i32, Uuid)> = products::Entity::find()
        .filter(products::Column::Active.eq(true))
        .order_by_asc(products::Column::Id)
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.pid))
        .collect();
    // Staff steps are taken by the demo admin, as the timeline then says.
    let Some(admin) = users::Entity::find()
        .filter(users::Column::Email.eq(super::DEMO_ADMIN_EMAIL))
        .one(&ctx.db)
        .await?
    else {
        return Ok(0);
    };
    let admin = Actor::user(&admin);
    let now = Utc::now();
    let mut placed = 0;
    for i in 0..ORDERS {
        // Spread over the past 30 days, newest last, at shop hours.
        let days_ago = 30 - i64::try_from(i * 30 / ORDERS).unwrap_or(0);
        let at = now - Duration::days(days_ago) + Duration::minutes(rng.random_range(-300..300));
        let guest = i % 5 == 4;
        let Some(order_pid) = place_one(ctx, &mut rng, &people, &stocked, i, guest).await? else {
            continue;
        };
        placed += 1;
        // What became of it: older orders went further.
        let roll: u32 = rng.random_range(0..100);
        let outcome = match (days_ago, roll) {
            (_, 0..=7) => Outcome::Cancelled,
            (_, 8..=11) => Outcome::Expired,
            (0..=2, _) => Outcome::Paid,
            (3..=6, _) => Outcome::Shipped,
            (_, 12..=24) => Outcome::PartlyRefunded,
            (_, 25..=31) => Outcome::Refunded,
            _ => Outcome::Completed,
        };
        outcome.take(ctx, order_pid, &admin).await?;
        backdate(&ctx.db, order_pid, at).await?;
    }
    // The orders were moved back in time after their steps counted them today.
    crate::models::orders::stats::recount(&ctx.db).await?;
    Ok(placed)
}

/// One order: a customer's (or a guest's, every fifth) cart of one to three products,
/// checked out by the cheapest method to their country.
async fn place_one(
    ctx: &AppContext,
    rng: &mut StdRng,
    people: &[(users::Model, Address)],
    stocked: &[(i32, Uuid)],
    i: usize,
    guest: bool,
) -> AppResult<Option<Uuid>> {
    let (user, address) = &people[i % people.len()];
    let mut guest_token: Option<String> = None;
    for _ in 0..rng.random_range(1..=3) {
        let (product_id, product) = stocked[rng.random_range(0..stocked.len())];
        let variant = variants::Entity::find()
            .filter(variants::Column::ProductId.eq(product_id))
            .filter(variants::Column::Stock.gt(10))
            .order_by_asc(variants::Column::Position)
            .one(&ctx.db)
            .await?;
        let Some(variant) = variant else { continue };
        let add = AddItem::parse(product, Some(variant.pid), rng.random_range(1..=2), 99)?;
        let key = match (&guest_token, guest) {
            (_, false) => Some(CartKey::User(user)),
            (Some(t), true) => Some(CartKey::Guest(t.as_str())),
            (None, true) => None,
        };
        let (_, token) = carts::add_item(ctx, key.as_ref(), &add).await?;
        if token.is_some() {
            guest_token = token;
        }
    }
    let key = match &guest_token {
        Some(t) => CartKey::Guest(t.as_str()),
        None if guest => return Ok(None),
        None => CartKey::User(user),
    };
    let cart = carts::find(&ctx.db, &key).await?;
    let Some(cart) = cart else { return Ok(None) };
    let priced = carts::view_for(
        ctx,
        Some(&cart),
        (!guest).then_some(user),
        vec![],
        Destination {
            country: Some(address.country.clone()),
            method: None,
        },
    )
    .await?;
    if priced.items.is_empty() {
        return Ok(None);
    }
    let mut shipping = address.clone();
    let email = format!("guest{i}@example.com");
    let buyer = match &guest_token {
        Some(t) => {
            shipping.name = format!("Guest Shopper {i}");
            Buyer::Guest {
                cart_token: t,
                email: &email,
                client: "demo",
            }
        }
        None => Buyer::Customer(user),
    };
    let placed = checkout::place(
        ctx,
        buyer,
        PlaceOrder {
            shipping,
            billing: None,
            shipping_method: priced.shipping_choice,
        },
    )
    .await?;
    Ok(Some(placed.order.id))
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Cancelled,
    Expired,
    Paid,
    Shipped,
    Completed,
    PartlyRefunded,
    Refunded,
}

impl Outcome {
    async fn take(self, ctx: &AppContext, pid: Uuid, admin: &Actor) -> AppResult<()> {
        let step = |a: Action| order_model::act(ctx, pid, a, admin);
        match self {
            Self::Cancelled => {
                step(Action::Cancel).await?;
                return Ok(());
            }
            Self::Expired => {
                step(Action::Expire).await?;
                return Ok(());
            }
            _ => {}
        }
        // Recorded by the admin as received outside the shop: no provider is called.
        step(Action::Pay).await?;
        if matches!(self, Self::Paid) {
            return Ok(());
        }
        let tracking = format!("00340{}", &pid.simple().to_string()[..9]);
        step(Action::ship(Some("DHL"), Some(&tracking))?).await?;
        match self {
            Self::Completed => {
                step(Action::Complete).await?;
            }
            Self::PartlyRefunded => {
                step(Action::Complete).await?;
                let order = order_model::view(
                    &ctx.db,
                    orders::Entity::find()
                        .filter(orders::Column::Pid.eq(pid))
                        .one(&ctx.db)
                        .await?
                        .ok_or(crate::errors::AppError::NotFound)?,
                )
                .await?;
                let first = &order.items[0];
                refunds::refund(
                    ctx,
                    pid,
                    RefundCommand {
                        ask: RefundAsk {
                            lines: vec![(first.variant_id, 1)],
                            amount_cents: None,
                        },
                        restock: true,
                        reason: Some("Arrived damaged".into()),
                        cancels: false,
                    },
                    admin,
                )
                .await?;
            }
            Self::Refunded => {
                refunds::refund(
                    ctx,
                    pid,
                    RefundCommand {
                        restock: true,
                        reason: Some("Requested by the customer".into()),
                        ..RefundCommand::default()
                    },
                    admin,
                )
                .await?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// When each step of an order happened, counted from its placing.
fn offset(status: &str) -> Duration {
    match status {
        "paid" => Duration::minutes(9),
        "expired" => Duration::minutes(15),
        "cancelled" => Duration::minutes(40),
        "shipped" => Duration::hours(26),
        "completed" => Duration::days(4),
        "partially_refunded" | "refunded" => Duration::days(5),
        _ => Duration::zero(),
    }
}

/// Moves an order and what it wrote (timeline, payments, refunds, invoice, ledger rows) back
/// to `at`, keeping the order of its steps.
async fn backdate<C: ConnectionTrait>(db: &C, pid: Uuid, at: DateTime<Utc>) -> AppResult<()> {
    let Some(order) = orders::Entity::find()
        .filter(orders::Column::Pid.eq(pid))
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let t = |d: Duration| (at + d).fixed_offset();
    let events = order_events::Entity::find()
        .filter(order_events::Column::OrderId.eq(order.id))
        .all(db)
        .await?;
    let mut last = Duration::zero();
    for e in &events {
        let d = offset(&e.to_status);
        last = last.max(d);
        order_events::Entity::update_many()
            .col_expr(order_events::Column::CreatedAt, Expr::value(t(d)))
            .filter(order_events::Column::Id.eq(e.id))
            .exec(db)
            .await?;
    }
    orders::Entity::update_many()
        .col_expr(orders::Column::CreatedAt, Expr::value(t(Duration::zero())))
        .col_expr(orders::Column::UpdatedAt, Expr::value(t(last)))
        .col_expr(
            orders::Column::ExpiresAt,
            Expr::value(order.expires_at.map(|_| t(Duration::minutes(15)))),
        )
        .col_expr(
            orders::Column::PaidAt,
            Expr::value(order.paid_at.map(|_| t(offset("paid")))),
        )
        .col_expr(
            orders::Column::ShippedAt,
            Expr::value(order.shipped_at.map(|_| t(offset("shipped")))),
        )
        .filter(orders::Column::Id.eq(order.id))
        .exec(db)
        .await?;
    for (kind, d) in [("payment", offset("paid")), ("refund", offset("refunded"))] {
        transactions::Entity::update_many()
            .col_expr(transactions::Column::CreatedAt, Expr::value(t(d)))
            .col_expr(transactions::Column::UpdatedAt, Expr::value(t(d)))
            .filter(transactions::Column::OrderId.eq(order.id))
            .filter(transactions::Column::Kind.eq(kind))
            .exec(db)
            .await?;
    }
    refund_rows::Entity::update_many()
        .col_expr(
            refund_rows::Column::CreatedAt,
            Expr::value(t(offset("refunded"))),
        )
        .col_expr(
            refund_rows::Column::UpdatedAt,
            Expr::value(t(offset("refunded"))),
        )
        .filter(refund_rows::Column::OrderId.eq(order.id))
        .exec(db)
        .await?;
    invoices::Entity::update_many()
        .col_expr(invoices::Column::IssuedAt, Expr::value(t(offset("paid"))))
        .filter(invoices::Column::OrderId.eq(order.id))
        .exec(db)
        .await?;
    for (reason, d) in [
        ("reserve", Duration::zero()),
        ("sale", offset("paid")),
        ("release", offset("cancelled")),
        ("restock", offset("refunded")),
    ] {
        stock_ledger::Entity::update_many()
            .col_expr(stock_ledger::Column::CreatedAt, Expr::value(t(d)))
            .filter(stock_ledger::Column::OrderId.eq(order.id))
            .filter(stock_ledger::Column::Reason.eq(reason))
            .exec(db)
            .await?;
    }
    Ok(())
}
