//! The benchmark's order history (`task seed_orders`, docs/PERFORMANCE.md): a long, busy past
//! written straight into the database, because placing a million orders through checkout
//! would take hours. Customers (verified, all with one given password) and orders of a year,
//! spread over the days, in the mix of statuses a real shop ends up with: most completed, some
//! cancelled, expired or refunded, the last days still paid, shipped or pending. Each order has
//! one to three lines of the catalogue's variants. Timelines, invoices and payments are not
//! written (the lists, the dashboard and the exports do not read them); the status and sales
//! summaries are counted from the orders at the end (`orders::stats::recount`).
use chrono::{DateTime, Duration, Utc};
use loco_rs::app::AppContext;
use rand::{rngs::StdRng, Rng, SeedableRng};
use sea_orm::{
    sea_query::{Expr, OnConflict, Query},
    ActiveValue::{NotSet, Set},
    ConnectionTrait, EntityTrait, PaginatorTrait, QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    domain::{order_status::OrderStatus, role::Role},
    errors::{AppError, AppResult},
    models::{
        _entities::{counters, order_lines, orders, users, variants},
        accounts::passwords,
        orders::stats,
    },
};

/// Orders written per statement (their lines follow in statements of at most `LINES`): under
/// both databases' limits on bound values per statement.
const ORDERS: usize = 800;
const LINES: usize = 2000;

/// What was written.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    pub customers: usize,
    pub orders: usize,
    pub lines: usize,
}

/// The e-mail of bench customer `n` (1-based), for the benchmark's logins.
#[must_use]
pub fn customer_email(n: usize) -> String {
    format!("customer{n}@bench.example")
}

/// Writes `customers` customers and `count` orders spread over the `days` days up to now.
///
/// # Errors
/// `Conflict` when the database has orders already or no catalogue; database errors.
pub async fn load(
    ctx: &AppContext,
    count: usize,
    customers: usize,
    days: i64,
    password: &str,
) -> AppResult<Written> {
    let db = &ctx.db;
    if orders::Entity::find().count(db).await? > 0 {
        return Err(AppError::Conflict(
            "There are orders already; seed the history into a database without any.".into(),
        ));
    }
    let catalogue: Vec<(i32, i32, String, i64)> = variants::Entity::find()
        .select_only()
        .columns([
            variants::Column::Id,
            variants::Column::ProductId,
            variants::Column::Sku,
            variants::Column::PriceCents,
        ])
        .order_by_asc(variants::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    if catalogue.is_empty() {
        return Err(AppError::Conflict(
            "There is no catalogue; seed it first (task seed_bench).".into(),
        ));
    }
    let names: std::collections::HashMap<i32, String> =
        crate::models::_entities::products::Entity::find()
            .select_only()
            .columns([
                crate::models::_entities::products::Column::Id,
                crate::models::_entities::products::Column::Name,
            ])
            .into_tuple::<(i32, String)>()
            .all(db)
            .await?
            .into_iter()
            .collect();
    let now = Utc::now();
    let hash = passwords::hash(password).await?;
    let mut people = Vec::with_capacity(customers);
    for chunk in (1..=customers).collect::<Vec<_>>().chunks(ORDERS) {
        let rows = chunk.iter().map(|n| users::ActiveModel {
            id: NotSet,
            pid: Set(Uuid::new_v4()),
            email: Set(customer_email(*n)),
            password_hash: Set(hash.clone()),
            first_name: Set("Bench".into()),
            last_name: Set(format!("Customer {n}")),
            role: Set(Role::Customer.as_str().into()),
            active: Set(true),
            email_verified_at: Set(Some(now.fixed_offset())),
            created_at: Set(now.fixed_offset()),
            updated_at: Set(now.fixed_offset()),
            totp_secret: Set(None),
            totp_enabled_at: Set(None),
            totp_last_step: Set(None),
            session_version: Set(0),
            session_kept_family: Set(None),
            closed_at: Set(None),
        });
        users::Entity::insert_many(rows).exec(db).await?;
    }
    let emails: Vec<String> = (1..=customers).map(customer_email).collect();
    for chunk in emails.chunks(ORDERS) {
        use sea_orm::{ColumnTrait, QueryFilter};
        let found: Vec<(i32, String)> = users::Entity::find()
            .select_only()
            .columns([users::Column::Id, users::Column::Email])
            .filter(users::Column::Email.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        people.extend(found);
    }

    let mut rng = StdRng::seed_from_u64(21);
    let first_id = 1;
    let first_number = 1001;
    let span = Duration::days(days.max(1));
    let start = now - span;
    let mut written = Written {
        customers: people.len(),
        orders: 0,
        lines: 0,
    };
    let mut batch = Vec::with_capacity(ORDERS);
    let mut lines = Vec::with_capacity(LINES);
    for i in 0..count {
        let id = first_id + i32::try_from(i).map_err(AppError::internal)?;
        // Evenly spread in time, in id order (as a shop's orders are).
        let offset = span.num_seconds() * i64::try_from(i).unwrap_or(0)
            / i64::try_from(count).unwrap_or(1).max(1);
        let created = start + Duration::seconds(offset);
        let age = now - created;
        let status = status_for(&mut rng, age);
        let (user_id, email) = if rng.random_range(0..10) == 0 || people.is_empty() {
            (
                None,
                format!("guest{}@bench.example", rng.random_range(0..50_000)),
            )
        } else {
            let (uid, e) = &people[rng.random_range(0..people.len())];
            (Some(*uid), e.clone())
        };
        let mut subtotal = 0;
        for _ in 0..rng.random_range(1..=3) {
            let (vid, pid, sku, price) = &catalogue[rng.random_range(0..catalogue.len())];
            let quantity = rng.random_range(1..=3);
            subtotal += price * i64::from(quantity);
            lines.push(order_lines::ActiveModel {
                id: NotSet,
                order_id: Set(id),
                product_id: Set(*pid),
                variant_id: Set(*vid),
                sku: Set(sku.clone()),
                name: Set(names.get(pid).cloned().unwrap_or_default()),
                unit_price_cents: Set(*price),
                quantity: Set(quantity),
                line_total_cents: Set(price * i64::from(quantity)),
                refunded_quantity: Set(0),
            });
        }
        let shipping = 495;
        let total = subtotal + shipping;
        let tax = total * 1900 / 11900;
        let paid_at = (!matches!(status, OrderStatus::Pending | OrderStatus::Expired))
            .then(|| created + Duration::minutes(3));
        let paid_at = if status == OrderStatus::Cancelled && rng.random_range(0..2) == 0 {
            None
        } else {
            paid_at
        };
        let shipped_at = matches!(
            status,
            OrderStatus::Shipped | OrderStatus::Completed | OrderStatus::PartiallyRefunded
        )
        .then(|| created + Duration::days(1));
        let refunded = match status {
            OrderStatus::Refunded => total,
            OrderStatus::Cancelled if paid_at.is_some() => total,
            OrderStatus::PartiallyRefunded => total / 4,
            _ => 0,
        };
        let address = json!({"name": "Bench Customer", "company": "", "line1": "1 Bench Street",
            "line2": "", "city": "Kiel", "postal_code": "24103", "country": "DE", "phone": ""})
        .to_string();
        let at = |t: DateTime<Utc>| t.fixed_offset();
        batch.push(orders::ActiveModel {
            id: Set(id),
            pid: Set(Uuid::new_v4()),
            number: Set(first_number + i64::from(id)),
            user_id: Set(user_id),
            email: Set(email),
            status: Set(status.as_str().into()),
            currency: Set("EUR".into()),
            subtotal_cents: Set(subtotal),
            discount_cents: Set(0),
            shipping_cents: Set(shipping),
            tax_cents: Set(tax),
            total_cents: Set(total),
            tax_rate_bp: Set(1900),
            price_mode: Set("gross".into()),
            promo_code_id: Set(None),
            coupon: Set(None),
            shipping_address: Set(address.clone()),
            billing_address: Set(address),
            shipping_method: Set(None),
            carrier: Set(shipped_at.map(|_| "DHL".to_string())),
            tracking_number: Set(shipped_at.map(|_| format!("BENCH{id:010}"))),
            expires_at: Set(Some(at(created + Duration::minutes(30)))),
            paid_at: Set(paid_at.map(at)),
            shipped_at: Set(shipped_at.map(at)),
            created_at: Set(at(created)),
            updated_at: Set(at(created)),
            access_token_hash: Set(None),
            refunded_cents: Set(refunded),
        });
        if batch.len() == ORDERS || i + 1 == count {
            written.orders += batch.len();
            orders::Entity::insert_many(std::mem::take(&mut batch))
                .exec(db)
                .await?;
            written.lines += lines.len();
            while !lines.is_empty() {
                let rest = lines.split_off(lines.len().min(LINES));
                order_lines::Entity::insert_many(std::mem::replace(&mut lines, rest))
                    .exec(db)
                    .await?;
            }
        }
    }
    finish(db, first_number + i64::try_from(count).unwrap_or(0)).await?;
    stats::recount(db).await?;
    Ok(written)
}

/// A finished shop's mix: old orders are settled, recent ones still on their way.
fn status_for(rng: &mut StdRng, age: Duration) -> OrderStatus {
    let roll = rng.random_range(0..100);
    if age < Duration::hours(1) {
        return if roll < 40 {
            OrderStatus::Pending
        } else {
            OrderStatus::Paid
        };
    }
    if age < Duration::days(3) {
        return match roll {
            0..=9 => OrderStatus::Expired,
            10..=49 => OrderStatus::Paid,
            _ => OrderStatus::Shipped,
        };
    }
    match roll {
        0..=7 => OrderStatus::Expired,
        8..=12 => OrderStatus::Cancelled,
        13..=15 => OrderStatus::Refunded,
        16..=18 => OrderStatus::PartiallyRefunded,
        _ => OrderStatus::Completed,
    }
}

/// The order number counter continues after the history, and PostgreSQL's id sequences
/// after the ids written here.
async fn finish(db: &impl ConnectionTrait, last_number: i64) -> AppResult<()> {
    let stmt = Query::insert()
        .into_table(counters::Entity)
        .columns([counters::Column::Name, counters::Column::Value])
        .values_panic(["order".into(), last_number.into()])
        .on_conflict(
            OnConflict::column(counters::Column::Name)
                .value(counters::Column::Value, Expr::value(last_number))
                .to_owned(),
        )
        .to_owned();
    db.execute(&stmt).await?;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        for table in ["orders", "order_lines", "users"] {
            db.execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            ))
            .await?;
        }
    }
    Ok(())
}
