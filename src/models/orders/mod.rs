//! Orders: reading them, and moving them through the state machine.
//!
//! Design:
//! - [`act`] is the one entry point for every transition, called by the API, the admin pages,
//!   the expiry job and (issue 5) the payment webhooks. It asks `OrderStatus::apply` whether
//!   the step exists, checks who may take it, persists it with a compare-and-set on the
//!   status (`… WHERE id = ? AND status = <from>`), writes the timeline row and then performs
//!   the step's side effects explicitly, all in one transaction: stock (release, sale,
//!   restock), promo usage, the invoice, and the mail (outbox row; delivered after commit).
//! - Two actors racing (expiry against payment, two admins) both try the compare-and-set;
//!   exactly one matches, the other gets `invalid_transition` from the state it lost to.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::{Alias, Expr, ExprTrait, Query},
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select, Set,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

pub mod export;
pub mod stats;

use super::{
    _entities::{invoices, order_events, order_lines, orders, products, users, variants},
    accounts::addresses::AddressView,
    actor::Actor,
    db::write_txn,
    invoices as invoice_model, promos,
    stock::{self, Change},
};
use crate::{
    domain::{
        order_status::{InvalidTransition, OrderEvent, OrderStatus},
        paging::{self, Cursor},
        pricing::PriceMode,
        stock::StockReason,
        validation::FieldErrors,
        webhook::Event,
    },
    errors::{AppError, AppResult},
    jobs::{Job, Jobs},
    mail::{self, Mail, OrderMail},
    settings::Settings,
    views::money,
};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderLineView {
    pub product_id: Uuid,
    pub variant_id: Uuid,
    pub sku: String,
    pub name: String,
    pub unit_price_cents: i64,
    pub quantity: i32,
    pub line_total_cents: i64,
    /// How many of `quantity` were refunded.
    pub refunded_quantity: i32,
}

/// One step of the order timeline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub status: OrderStatus,
    /// `place` for the order's creation, otherwise the event that led to `status`.
    pub event: String,
    pub at: String,
    pub actor: String,
    pub note: String,
}

/// API.md's order body.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    pub id: Uuid,
    pub number: i64,
    pub status: OrderStatus,
    pub email: String,
    pub customer_id: Option<Uuid>,
    pub items: Vec<OrderLineView>,
    pub subtotal_cents: i64,
    pub discount_cents: i64,
    pub shipping_cents: i64,
    pub tax_cents: i64,
    pub total_cents: i64,
    pub tax_rate_bp: i32,
    pub prices_include_tax: bool,
    pub currency: String,
    pub coupon: Option<String>,
    pub shipping_address: AddressView,
    pub billing_address: AddressView,
    /// How it ships, as chosen at checkout (`null` for orders from before shipping methods).
    pub shipping_method: Option<super::shipping::OrderMethod>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub timeline: Vec<TimelineEntry>,
    pub expires_at: Option<String>,
    pub paid_at: Option<String>,
    pub shipped_at: Option<String>,
    pub invoice_number: Option<i64>,
    /// What went back to the customer so far.
    pub refunded_cents: i64,
    /// The refunds that went through, each with its credit note, oldest first.
    pub refunds: Vec<super::refunds::RefundSummary>,
    pub created_at: String,
    pub updated_at: String,
}

/// Reads an address stored as JSON on the order.
fn address(text: &str) -> AddressView {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .map(|v| AddressView {
            name: v["name"].as_str().unwrap_or_default().into(),
            company: v["company"].as_str().unwrap_or_default().into(),
            line1: v["line1"].as_str().unwrap_or_default().into(),
            line2: v["line2"].as_str().unwrap_or_default().into(),
            city: v["city"].as_str().unwrap_or_default().into(),
            postal_code: v["postal_code"].as_str().unwrap_or_default().into(),
            country: v["country"].as_str().unwrap_or_default().into(),
            phone: v["phone"].as_str().unwrap_or_default().into(),
        })
        .unwrap_or_default()
}

/// An order line as [`views`] reads it, with its product's and variant's public ids.
#[derive(Debug, sea_orm::FromQueryResult)]
struct LineRow {
    order_id: i32,
    sku: String,
    name: String,
    unit_price_cents: i64,
    quantity: i32,
    line_total_cents: i64,
    refunded_quantity: i32,
    product_pid: Option<Uuid>,
    variant_pid: Option<Uuid>,
}

/// Builds the views of several orders with one query per child table (no N+1).
///
/// # Errors
/// Database errors.
pub async fn views<C: ConnectionTrait>(
    db: &C,
    list: Vec<orders::Model>,
) -> AppResult<Vec<OrderView>> {
    if list.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<i32> = list.iter().map(|o| o.id).collect();
    // The lines with the public ids of what they sold, in one query.
    let lines: Vec<LineRow> = order_lines::Entity::find()
        .select_only()
        .columns([
            order_lines::Column::OrderId,
            order_lines::Column::Sku,
            order_lines::Column::Name,
            order_lines::Column::UnitPriceCents,
            order_lines::Column::Quantity,
            order_lines::Column::LineTotalCents,
            order_lines::Column::RefundedQuantity,
        ])
        .column_as(products::Column::Pid, "product_pid")
        .column_as(variants::Column::Pid, "variant_pid")
        .join(
            JoinType::LeftJoin,
            order_lines::Entity::belongs_to(products::Entity)
                .from(order_lines::Column::ProductId)
                .to(products::Column::Id)
                .into(),
        )
        .join(
            JoinType::LeftJoin,
            order_lines::Entity::belongs_to(variants::Entity)
                .from(order_lines::Column::VariantId)
                .to(variants::Column::Id)
                .into(),
        )
        .filter(order_lines::Column::OrderId.is_in(ids.clone()))
        .order_by_asc(order_lines::Column::Id)
        .into_model()
        .all(db)
        .await?;
    let events = order_events::Entity::find()
        .filter(order_events::Column::OrderId.is_in(ids.clone()))
        .order_by_asc(order_events::Column::Id)
        .all(db)
        .await?;
    let user_pids: BTreeMap<i32, Uuid> = users::Entity::find()
        .select_only()
        .columns([users::Column::Id, users::Column::Pid])
        .filter(users::Column::Id.is_in(list.iter().filter_map(|o| o.user_id)))
        .into_tuple::<(i32, Uuid)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let refunds = super::refunds::summaries(db, &ids).await?;
    let invoice_numbers: BTreeMap<i32, i64> = invoices::Entity::find()
        .select_only()
        .columns([invoices::Column::OrderId, invoices::Column::Number])
        .filter(invoices::Column::OrderId.is_in(ids))
        .into_tuple::<(i32, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(list
        .into_iter()
        .map(|o| OrderView {
            id: o.pid,
            number: o.number,
            status: o.status.parse().unwrap_or(OrderStatus::Pending),
            email: o.email.clone(),
            customer_id: o.user_id.and_then(|u| user_pids.get(&u).copied()),
            items: lines
                .iter()
                .filter(|l| l.order_id == o.id)
                .map(|l| OrderLineView {
                    product_id: l.product_pid.unwrap_or_default(),
                    variant_id: l.variant_pid.unwrap_or_default(),
                    sku: l.sku.clone(),
                    name: l.name.clone(),
                    unit_price_cents: l.unit_price_cents,
                    quantity: l.quantity,
                    line_total_cents: l.line_total_cents,
                    refunded_quantity: l.refunded_quantity,
                })
                .collect(),
            subtotal_cents: o.subtotal_cents,
            discount_cents: o.discount_cents,
            shipping_cents: o.shipping_cents,
            tax_cents: o.tax_cents,
            total_cents: o.total_cents,
            tax_rate_bp: o.tax_rate_bp,
            prices_include_tax: PriceMode::parse(&o.price_mode) == PriceMode::TaxInclusive,
            currency: o.currency.clone(),
            coupon: o.coupon.clone(),
            shipping_address: address(&o.shipping_address),
            billing_address: address(&o.billing_address),
            shipping_method: super::shipping::OrderMethod::read(o.shipping_method.as_deref()),
            carrier: o.carrier.clone(),
            tracking_number: o.tracking_number.clone(),
            timeline: events
                .iter()
                .filter(|e| e.order_id == o.id)
                .map(|e| TimelineEntry {
                    status: e.to_status.parse().unwrap_or(OrderStatus::Pending),
                    event: e.event.clone(),
                    at: crate::views::rfc3339(&e.created_at),
                    actor: e.actor.clone(),
                    note: e.note.clone(),
                })
                .collect(),
            expires_at: o.expires_at.as_ref().map(crate::views::rfc3339),
            paid_at: o.paid_at.as_ref().map(crate::views::rfc3339),
            shipped_at: o.shipped_at.as_ref().map(crate::views::rfc3339),
            invoice_number: invoice_numbers.get(&o.id).copied(),
            refunded_cents: o.refunded_cents,
            refunds: refunds
                .iter()
                .filter(|(order_id, _)| *order_id == o.id)
                .map(|(_, r)| r.clone())
                .collect(),
            created_at: crate::views::rfc3339(&o.created_at),
            updated_at: crate::views::rfc3339(&o.updated_at),
        })
        .collect())
}

/// # Errors
/// Database errors.
pub async fn view<C: ConnectionTrait>(db: &C, order: orders::Model) -> AppResult<OrderView> {
    views(db, vec![order])
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

/// The order `pid` as `viewer` may see it: their own, or any for staff. Someone else's order
/// is `NotFound`, never `Forbidden` (API.md: never reveal it exists).
///
/// # Errors
/// `NotFound`.
pub async fn find_for<C: ConnectionTrait>(
    db: &C,
    pid: Uuid,
    viewer: &Actor,
) -> AppResult<orders::Model> {
    let order = orders::Entity::find()
        .filter(orders::Column::Pid.eq(pid))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if viewer.reads_all_orders() || viewer.owns(&order) {
        Ok(order)
    } else {
        Err(AppError::NotFound)
    }
}

/// The guest that `token` makes of its bearer: the owner of the order `pid` when the token is
/// that order's and the order is still a guest's, else `NotFound` (as for anyone else's
/// order).
///
/// # Errors
/// `NotFound`.
pub async fn guest_access<C: ConnectionTrait>(db: &C, pid: Uuid, token: &str) -> AppResult<Actor> {
    if token.is_empty() || token.len() > 128 {
        return Err(AppError::NotFound);
    }
    let order = orders::Entity::find()
        .filter(orders::Column::Pid.eq(pid))
        .filter(orders::Column::UserId.is_null())
        .filter(orders::Column::AccessTokenHash.eq(super::tokens::hash_secret(token)))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Actor::guest(&order))
}

/// Gives `user` the orders placed as a guest with their (now verified) e-mail address, and the
/// promo uses those orders took. Returns how many orders.
///
/// # Errors
/// Database errors.
pub async fn attach_guest_orders<C: ConnectionTrait>(
    db: &C,
    user: &users::Model,
) -> AppResult<u64> {
    use super::_entities::promo_redemptions;
    let ids: Vec<i32> = orders::Entity::find()
        .select_only()
        .column(orders::Column::Id)
        .filter(orders::Column::UserId.is_null())
        .filter(orders::Column::Email.eq(user.email.as_str()))
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    // The guest's token and links stop working: the order is the account's now, and whoever
    // else held the link (who may have placed it) must not see the account's later changes.
    let attached = orders::Entity::update_many()
        .col_expr(orders::Column::UserId, Expr::value(user.id))
        .col_expr(
            orders::Column::AccessTokenHash,
            Expr::value(Option::<String>::None),
        )
        .filter(orders::Column::Id.is_in(ids.clone()))
        .filter(orders::Column::UserId.is_null())
        .exec(db)
        .await?;
    promo_redemptions::Entity::update_many()
        .col_expr(promo_redemptions::Column::UserId, Expr::value(user.id))
        .filter(promo_redemptions::Column::OrderId.is_in(ids))
        .filter(promo_redemptions::Column::UserId.is_null())
        .exec(db)
        .await?;
    Ok(attached.rows_affected)
}

/// Which orders to list.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    /// A customer's id or e-mail (staff only).
    pub customer: Option<String>,
    /// An order number or an e-mail fragment (the admin search box).
    pub q: Option<String>,
}

/// The orders `viewer` may see that match `filter`, unordered.
///
/// # Errors
/// Database errors.
pub async fn matching(
    db: &impl ConnectionTrait,
    viewer: &Actor,
    filter: &OrderFilter,
) -> AppResult<Select<orders::Entity>> {
    // Typed by people: an e-mail is at most 254 characters, and PostgreSQL text takes no NUL.
    let mut e = FieldErrors::new();
    for (field, value) in [("customer", &filter.customer), ("q", &filter.q)] {
        if let Some(v) = value {
            e.optional_text(field, v, 254);
        }
    }
    e.into_result()?;
    let mut q = orders::Entity::find();
    if !viewer.reads_all_orders() {
        q = q.filter(orders::Column::UserId.eq(viewer.user_id.unwrap_or(-1)));
    } else if let Some(c) = filter
        .customer
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        let (user, email) = match Uuid::parse_str(c) {
            Ok(pid) => (
                users::Entity::find()
                    .filter(users::Column::Pid.eq(pid))
                    .one(db)
                    .await?,
                None,
            ),
            Err(_) => (
                users::Entity::find()
                    .filter(users::Column::Email.eq(c.to_lowercase()))
                    .one(db)
                    .await?,
                Some(c.to_lowercase()),
            ),
        };
        // By address, a customer's orders include those placed as a guest with it.
        let mut whose = Condition::any().add(orders::Column::UserId.eq(user.map_or(-1, |u| u.id)));
        if let Some(e) = email {
            whose = whose.add(
                Condition::all()
                    .add(orders::Column::UserId.is_null())
                    .add(orders::Column::Email.eq(e)),
            );
        }
        q = q.filter(whose);
    }
    if let Some(s) = filter.status {
        q = q.filter(orders::Column::Status.eq(s.as_str()));
    }
    if let Some(term) = filter.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let fragment = format!("%{}%", term.to_lowercase());
        // An e-mail fragment: found among the distinct addresses (`order_emails`, migration
        // 24), whose orders an index on the e-mail gives. PostgreSQL answers the LIKE from a
        // trigram index; SQLite from the FTS5 trigram table `order_search` once the term is
        // long enough to hold a trigram, by a scan of the addresses below that.
        let emails = Alias::new("order_emails");
        let mut addresses = Query::select();
        addresses
            .column((emails.clone(), Alias::new("email")))
            .from(emails.clone());
        if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite
            && term.chars().count() >= 3
        {
            addresses.and_where(
                Expr::col((emails, Alias::new("id"))).in_subquery(
                    Query::select()
                        .column(Alias::new("rowid"))
                        .from(Alias::new("order_search"))
                        .and_where(Expr::col(Alias::new("email")).like(fragment))
                        .to_owned(),
                ),
            );
        } else {
            addresses.and_where(Expr::col((emails, Alias::new("email"))).like(fragment));
        }
        let by_email = Expr::col((orders::Entity, orders::Column::Email)).in_subquery(addresses);
        let mut any = Condition::any().add(by_email);
        if let Ok(n) = term.trim_start_matches('#').parse::<i64>() {
            any = any.add(orders::Column::Number.eq(n));
        }
        q = q.filter(any);
    }
    Ok(q)
}

/// One page of orders, newest first: the viewer's own, or everyone's for staff. Page `page`
/// of `page_size`, or, with a `cursor` from a `next`/`previous` link, the rows beside that one.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &DatabaseConnection,
    viewer: &Actor,
    filter: &OrderFilter,
    page: u64,
    page_size: u64,
    cursor: Option<Cursor>,
) -> AppResult<(Vec<OrderView>, u64)> {
    let q = matching(db, viewer, filter).await?;
    let everyone = viewer.reads_all_orders()
        && [filter.customer.as_deref(), filter.q.as_deref()]
            .iter()
            .all(|f| f.is_none_or(|f| f.trim().is_empty()));
    // All orders, or all of one status: the summary knows the total without reading them.
    let count = if everyone {
        stats::count(db, filter.status).await?
    } else {
        q.clone().count(db).await?
    };
    if count == 0 {
        return Ok((Vec::new(), 0));
    }
    let beside = match cursor {
        Some(c) => beside(db, &q, c, page_size).await?,
        None => None,
    };
    let rows = match beside {
        Some(rows) => rows,
        None => numbered(db, q, paging::window(count, page, page_size)).await?,
    };
    Ok((views(db, rows).await?, count))
}

/// The ids of a page's first and last orders, which its `previous`/`next` links start from.
#[must_use]
pub fn ends(page: &[OrderView]) -> Option<(Uuid, Uuid)> {
    page.first().zip(page.last()).map(|(f, l)| (f.id, l.id))
}

/// Newest first (`forward`) or oldest first; the id orders orders placed in the same instant.
fn newest_first(q: Select<orders::Entity>, forward: bool) -> Select<orders::Entity> {
    let order = if forward {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    q.order_by(orders::Column::CreatedAt, order.clone())
        .order_by(orders::Column::Id, order)
}

/// The `size` rows of `q` after or before the row `cursor` names (one range of the list
/// indexes of migration 23); `None` when that row is not in `q` (gone, filtered out, or not
/// the viewer's: a position is no way to learn about someone else's order).
async fn beside(
    db: &DatabaseConnection,
    q: &Select<orders::Entity>,
    cursor: Cursor,
    size: u64,
) -> AppResult<Option<Vec<orders::Model>>> {
    let (pid, forward) = match cursor {
        Cursor::After(pid) => (pid, true),
        Cursor::Before(pid) => (pid, false),
    };
    let at = q
        .clone()
        .select_only()
        .column(orders::Column::Id)
        .filter(orders::Column::Pid.eq(pid));
    // The time is compared as stored: SQLite keeps it as text, and a value read back and
    // written again in another format would compare wrongly.
    let anchor: Option<(i32, sea_orm::Value)> =
        if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            at.column(orders::Column::CreatedAt)
                .into_tuple::<(i32, sea_orm::prelude::DateTimeWithTimeZone)>()
                .one(db)
                .await?
                .map(|(id, t)| (id, t.into()))
        } else {
            at.column(orders::Column::CreatedAt)
                .into_tuple::<(i32, String)>()
                .one(db)
                .await?
                .map(|(id, t)| (id, t.into()))
        };
    let Some((id, created_at)) = anchor else {
        return Ok(None);
    };
    let position = Expr::tuple([
        Expr::col((orders::Entity, orders::Column::CreatedAt)),
        Expr::col((orders::Entity, orders::Column::Id)),
    ]);
    let anchor = Expr::tuple([Expr::val(created_at), Expr::val(id)]);
    let beyond = if forward {
        position.lt(anchor)
    } else {
        position.gt(anchor)
    };
    let mut rows = newest_first(q.clone().filter(beyond), forward)
        .limit(size)
        .all(db)
        .await?;
    if !forward {
        rows.reverse();
    }
    Ok(Some(rows))
}

/// The rows of a numbered page, read from the nearer end of the list.
async fn numbered(
    db: &DatabaseConnection,
    q: Select<orders::Entity>,
    w: paging::Window,
) -> AppResult<Vec<orders::Model>> {
    if w.take == 0 {
        return Ok(Vec::new());
    }
    let mut rows = if w.skip == 0 {
        newest_first(q, w.forward).limit(w.take).all(db).await?
    } else {
        // Skip over the index alone, then read only the page's rows from the table.
        let ids = newest_first(q.select_only().column(orders::Column::Id), w.forward)
            .offset(w.skip)
            .limit(w.take)
            .into_query();
        let page = orders::Entity::find()
            .filter(Expr::col((orders::Entity, orders::Column::Id)).in_subquery(ids));
        newest_first(page, w.forward).all(db).await?
    };
    if !w.forward {
        rows.reverse();
    }
    Ok(rows)
}

/// A step someone asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Payment arrived (issue 5's webhooks), or an admin records a payment made offline.
    Pay,
    Ship {
        carrier: Option<String>,
        tracking_number: Option<String>,
    },
    Complete,
    Cancel,
    /// `restock` puts the goods of a shipped or completed order back on the shelf; a paid,
    /// unshipped order is always restocked (its goods never left).
    Refund {
        restock: bool,
        /// Why, for the timeline (staff choose one; the API may give one).
        reason: Option<String>,
    },
    /// Part of the payment went back (`models::refunds` takes this step once the refund
    /// went through); `note` says what, for the timeline.
    RefundPart {
        note: String,
    },
    Expire,
}

impl Action {
    /// The ship step from what the API body or the admin form gave (both optional).
    ///
    /// # Errors
    /// Field messages for an over-long carrier or tracking number.
    pub fn ship(carrier: Option<&str>, tracking: Option<&str>) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut read = |field: &str, v: Option<&str>, max: usize| {
            let v = v.map(str::trim).filter(|v| !v.is_empty())?;
            Some(errors.optional_text(field, v, max))
        };
        let carrier = read("carrier", carrier, 80);
        let tracking_number = read("tracking_number", tracking, 120);
        errors.into_result()?;
        Ok(Self::Ship {
            carrier,
            tracking_number,
        })
    }

    #[must_use]
    pub const fn event(&self) -> OrderEvent {
        match self {
            Self::Pay => OrderEvent::Pay,
            Self::Ship { .. } => OrderEvent::Ship,
            Self::Complete => OrderEvent::Complete,
            Self::Cancel => OrderEvent::Cancel,
            Self::Refund { .. } => OrderEvent::Refund,
            Self::RefundPart { .. } => OrderEvent::RefundPart,
            Self::Expire => OrderEvent::Expire,
        }
    }
}

/// Who may take which step, before the state machine is asked: admins take every step; the
/// system (jobs, the payment provider) may pay and expire; the owner may ask to cancel.
fn may(actor: &Actor, order: &orders::Model, event: OrderEvent) -> AppResult<()> {
    let allowed = match event {
        _ if actor.is_admin() => true,
        // The system finishes a refund that cancels a paid order when its process died.
        OrderEvent::Cancel => actor.owns(order) || actor.is_system(),
        // The provider reports payments and refunds made on its side; jobs expire orders.
        OrderEvent::Pay | OrderEvent::Expire | OrderEvent::Refund | OrderEvent::RefundPart => {
            actor.is_system()
        }
        OrderEvent::Ship | OrderEvent::Complete => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// What a committed step still has to do outside its transaction.
#[derive(Debug, Default)]
#[must_use]
pub struct AfterCommit {
    pub mail_ids: Vec<Uuid>,
    /// A variant sold out or came back: lists filtered by availability are stale. (Other
    /// stock changes need nothing: cached catalogue bodies read stock live.)
    pub availability_changed: bool,
    /// Outgoing webhook deliveries recorded by the step.
    pub webhook_ids: Vec<Uuid>,
    /// Dashboard events of the step (notifications it raised).
    pub live: Vec<crate::live::LiveEvent>,
    /// Follow-up jobs (closing checkout sessions at the provider, refunding late payments).
    pub jobs: Vec<Job>,
}

impl AfterCommit {
    /// Enqueues the step's mail and drops stale catalogue reads.
    pub async fn run(self, ctx: &AppContext) {
        if !self.mail_ids.is_empty() {
            Jobs::get(ctx)
                .enqueue_all(
                    self.mail_ids
                        .into_iter()
                        .map(|mail_id| Job::DeliverMail { mail_id }),
                )
                .await;
        }
        if self.availability_changed {
            super::catalogue::cache::availability_changed(&ctx.cache).await;
        }
        super::webhooks::enqueue(ctx, self.webhook_ids).await;
        if !self.jobs.is_empty() {
            Jobs::get(ctx).enqueue_all(self.jobs).await;
        }
        for event in self.live {
            crate::live::publish(ctx, event).await;
        }
    }

    pub fn merge(&mut self, other: Self) {
        self.mail_ids.extend(other.mail_ids);
        self.availability_changed |= other.availability_changed;
        self.webhook_ids.extend(other.webhook_ids);
        self.live.extend(other.live);
        self.jobs.extend(other.jobs);
    }
}

/// Whether taking `event` from `from` moves money: a refund, or cancelling a paid order.
#[must_use]
pub const fn moves_money(from: OrderStatus, event: OrderEvent) -> bool {
    matches!(
        (from, event),
        (_, OrderEvent::Refund | OrderEvent::RefundPart) | (OrderStatus::Paid, OrderEvent::Cancel)
    )
}

/// Takes one step of the state machine with its side effects; see the module notes. Steps
/// that move money (payment recorded by hand, refunds, cancelling a paid order) go through
/// `models::payments`, which records the transaction and then takes the step with
/// [`act_in`] in the same transaction.
///
/// # Errors
/// `NotFound` (not the viewer's order), `Forbidden` (role), `InvalidTransition` (no such
/// step from the current state, also when another request moved the order first),
/// `Unavailable` when the payment provider refuses a refund.
#[tracing::instrument(name = "orders::act", skip_all, fields(order_id = %pid, event = ?action.event()))]
pub async fn act(
    ctx: &AppContext,
    pid: Uuid,
    action: Action,
    actor: &Actor,
) -> AppResult<OrderView> {
    let event = action.event();
    let order = find_for(&ctx.db, pid, actor).await?;
    let from: OrderStatus = order.status.parse().unwrap_or(OrderStatus::Pending);
    check(actor, &order, from, event)?;
    if moves_money(from, event) {
        let cmd = match action {
            Action::Refund { restock, reason } => super::refunds::RefundCommand {
                restock,
                reason,
                ..Default::default()
            },
            _ => super::refunds::RefundCommand {
                cancels: true,
                ..Default::default()
            },
        };
        return Ok(super::refunds::refund(ctx, pid, cmd, actor).await?.1);
    }
    if event == OrderEvent::Pay && !actor.is_system() {
        return super::payments::record_offline_payment(ctx, &order, actor).await;
    }
    let settings = Settings::get(ctx);
    let txn = write_txn(&ctx.db).await?;
    let (view, after) = act_in(&txn, &settings, pid, action, actor).await?;
    txn.commit().await?;
    after.run(ctx).await;
    Ok(view)
}

/// Who may take the step and whether the state machine has it.
fn check(
    actor: &Actor,
    order: &orders::Model,
    from: OrderStatus,
    event: OrderEvent,
) -> AppResult<()> {
    may(actor, order, event)?;
    from.apply(event)?;
    // A partially refunded order may be on either side of shipping: it ships once, and
    // completes only once shipped.
    let shipped = order.shipped_at.is_some();
    if (event == OrderEvent::Ship && shipped) || (event == OrderEvent::Complete && !shipped) {
        return Err(InvalidTransition { from, event }.into());
    }
    if event == OrderEvent::Cancel
        && from != OrderStatus::Pending
        && !(actor.is_admin() || actor.is_system())
    {
        // The state machine allows cancelling a paid order, but only an admin, who refunds it.
        return Err(InvalidTransition { from, event }.into());
    }
    Ok(())
}

/// The step itself, inside the caller's write transaction: compare-and-set on the status,
/// the timeline row, stock, promo usage, the invoice and the mail's outbox row.
///
/// # Errors
/// As [`act`].
pub async fn act_in(
    txn: &DatabaseTransaction,
    settings: &Settings,
    pid: Uuid,
    action: Action,
    actor: &Actor,
) -> AppResult<(OrderView, AfterCommit)> {
    let event = action.event();
    let order = find_for(txn, pid, actor).await?;
    let from: OrderStatus = order.status.parse().unwrap_or(OrderStatus::Pending);
    check(actor, &order, from, event)?;
    let to = from.apply(event)?;
    let now = Utc::now();
    let mut cas = orders::Entity::update_many()
        .col_expr(orders::Column::Status, Expr::value(to.as_str()))
        .col_expr(orders::Column::UpdatedAt, Expr::value(now.fixed_offset()))
        .filter(orders::Column::Id.eq(order.id))
        .filter(orders::Column::Status.eq(from.as_str()));
    match &action {
        Action::Pay => {
            cas = cas.col_expr(orders::Column::PaidAt, Expr::value(now.fixed_offset()));
        }
        Action::Ship {
            carrier,
            tracking_number,
        } => {
            cas = cas
                .col_expr(orders::Column::ShippedAt, Expr::value(now.fixed_offset()))
                .col_expr(orders::Column::Carrier, Expr::value(carrier.clone()))
                .col_expr(
                    orders::Column::TrackingNumber,
                    Expr::value(tracking_number.clone()),
                );
        }
        _ => {}
    }
    super::idempotency::produced(txn, super::idempotency::Produced::Order(pid), false).await?;
    if cas.exec(txn).await?.rows_affected != 1 {
        // Another request moved the order between our read and our write (PostgreSQL; on
        // SQLite the write lock taken at BEGIN rules this out). Reading again in this
        // transaction sees what it committed.
        let current = orders::Entity::find_by_id(order.id)
            .one(txn)
            .await?
            .ok_or(AppError::NotFound)?;
        return Err(InvalidTransition {
            from: current.status.parse().unwrap_or(from),
            event,
        }
        .into());
    }
    let note = match &action {
        Action::Ship {
            carrier,
            tracking_number,
        } => [carrier.as_deref(), tracking_number.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
        Action::Refund { restock, reason } => reason
            .iter()
            .map(String::as_str)
            .chain(restock.then_some("goods restocked"))
            .collect::<Vec<_>>()
            .join("; "),
        Action::RefundPart { note } => note.clone(),
        _ => String::new(),
    };
    record_event(txn, order.id, Some(from), to, event.as_str(), actor, &note).await?;

    // Promo code before variants: checkout takes them in the same order, so the two never
    // wait on each other's rows in opposite orders (PostgreSQL deadlock).
    if matches!(to, OrderStatus::Cancelled | OrderStatus::Expired) {
        promos::release(txn, order.id).await?;
    }
    let lines = order_lines::Entity::find()
        .filter(order_lines::Column::OrderId.eq(order.id))
        .order_by_asc(order_lines::Column::VariantId)
        .all(txn)
        .await?;
    let stock_move = match (&action, from) {
        (Action::Pay, _) => Some(StockReason::Sale),
        (Action::Cancel | Action::Expire, OrderStatus::Pending) => Some(StockReason::Release),
        // Refunds (and cancelling a paid order, which refunds it) put back what they refund,
        // line by line (`models::refunds`).
        _ => None,
    };
    let mut availability_changed = false;
    if let Some(reason) = stock_move {
        for l in &lines {
            let applied = stock::apply(
                txn,
                &Change {
                    variant_id: l.variant_id,
                    reason,
                    quantity: l.quantity,
                    order_id: Some(order.id),
                    purchase_order_id: None,
                    note: &format!("order {}", order.number),
                    actor,
                },
            )
            .await?;
            let Some(levels) = applied else {
                return Err(AppError::Internal(
                    format!(
                        "stock of variant {} does not cover order {}",
                        l.variant_id, order.number
                    )
                    .into(),
                ));
            };
            availability_changed |= levels.availability_flipped;
        }
    }
    // Sales before counts, as every transaction takes the summaries (see `stats`).
    stats::sale_changed(
        txn,
        order.id,
        stats::SaleState::of(&order),
        stats::SaleState {
            status: to,
            paid_at: if action == Action::Pay {
                Some(now.fixed_offset())
            } else {
                order.paid_at
            },
            ..stats::SaleState::of(&order)
        },
    )
    .await?;
    stats::status_moved(txn, order.id, Some(from), to).await?;
    if event == OrderEvent::Pay {
        invoice_model::issue(txn, &order).await?;
    }
    let mail_kind = match to {
        OrderStatus::Paid => Some(OrderMail::Paid),
        OrderStatus::Shipped => Some(OrderMail::Shipped),
        OrderStatus::Cancelled => Some(OrderMail::Cancelled),
        OrderStatus::Expired => Some(OrderMail::Expired),
        // Each refund mails its own amount and credit note (`models::refunds`).
        _ => None,
    };
    let mut after = AfterCommit {
        availability_changed,
        // The shopper's open order page follows (with Redis; the database feed reads the
        // timeline row written above).
        live: vec![crate::live::LiveEvent::status(order.pid, to, now)],
        ..AfterCommit::default()
    };
    if matches!(to, OrderStatus::Cancelled | OrderStatus::Expired) && from == OrderStatus::Pending {
        // An open checkout could still take the money of an order that no longer wants it.
        // The session's row stays pending: the provider's own event says how it ended (a
        // payment that beat the expiry is then refunded as late).
        after.jobs.extend(
            super::payments::open_checkouts(txn, order.id)
                .await?
                .into_iter()
                .map(|transaction_id| Job::ExpireCheckout { transaction_id }),
        );
    }
    let fresh = orders::Entity::find_by_id(order.id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(kind) = mail_kind {
        after.mail_ids.push(
            queue_mail(
                txn,
                settings,
                &fresh,
                &lines,
                kind,
                MailAbout {
                    paid: from == OrderStatus::Paid,
                    ..MailAbout::default()
                },
            )
            .await?,
        );
    }
    let out = view(txn, fresh).await?;
    if let Some(event) = Event::for_order(to) {
        let hooks = super::webhooks::subscribed(txn, event).await?;
        after.webhook_ids = super::webhooks::record(txn, &hooks, event, json!(out)).await?;
    }
    Ok((out, after))
}

/// Appends a timeline row.
///
/// # Errors
/// Database errors.
pub async fn record_event<C: ConnectionTrait>(
    db: &C,
    order_id: i32,
    from: Option<OrderStatus>,
    to: OrderStatus,
    event: &str,
    actor: &Actor,
    note: &str,
) -> AppResult<()> {
    order_events::ActiveModel {
        order_id: Set(order_id),
        from_status: Set(from.map(|s| s.as_str().to_string())),
        to_status: Set(to.as_str().to_string()),
        event: Set(event.to_string()),
        actor: Set(actor.label.clone()),
        note: Set(note.to_string()),
        created_at: Set(Utc::now().into()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// What an order mail says besides the order itself.
#[derive(Debug, Default)]
pub struct MailAbout<'a> {
    /// The order had been paid (a cancellation says the money goes back).
    pub paid: bool,
    /// A guest's access token, for the link that opens the order.
    pub access_token: Option<&'a str>,
    /// More variables for the template (a refund's amount and credit note).
    pub extra: serde_json::Value,
}

/// Renders an order mail into the outbox (in the caller's transaction). A guest's order is
/// linked through `access_token` when there is one (the confirmation's link opens the order
/// for whoever follows it); later mails link to the order page, which asks for that link.
///
/// # Errors
/// Database or template errors.
pub async fn queue_mail<C: ConnectionTrait>(
    db: &C,
    settings: &Settings,
    order: &orders::Model,
    lines: &[order_lines::Model],
    kind: OrderMail,
    about: MailAbout<'_>,
) -> AppResult<Uuid> {
    let MailAbout {
        paid,
        access_token,
        extra,
    } = about;
    let user = match order.user_id {
        Some(id) => users::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    let mut vars = json!({
        "number": order.number,
        "total": money::format(order.total_cents, &order.currency),
        "order_url": match access_token {
            // A `token=` parameter: the outbox blanks it once the mail has left.
            Some(t) => format!("{}/orders/{}/access?token={t}", settings.base_url, order.pid),
            None => format!("{}/orders/{}", settings.base_url, order.pid),
        },
        "expires_at": order.expires_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default(),
        "paid": paid,
        "carrier": order.carrier.clone().unwrap_or_default(),
        "tracking_number": order.tracking_number.clone().unwrap_or_default(),
        "lines": lines.iter().map(|l| json!({
            "name": l.name, "quantity": l.quantity,
            "total": money::format(l.line_total_cents, &order.currency),
        })).collect::<Vec<_>>(),
    });
    if let (Some(vars), serde_json::Value::Object(more)) = (vars.as_object_mut(), extra) {
        vars.extend(more);
    }
    mail::queue(
        db,
        settings,
        &order.email,
        &Mail::Order {
            kind,
            first_name: user.map(|u| u.first_name).unwrap_or_default(),
            vars,
        },
    )
    .await
}

/// Expires every pending order whose reservation ran out by `now`: releases its stock and
/// promo usage through [`act`]. An order paid in the meantime is left alone (the
/// compare-and-set refuses). Returns how many expired.
///
/// # Errors
/// Database errors.
pub async fn expire_due(ctx: &AppContext, now: DateTime<Utc>) -> AppResult<usize> {
    let due: Vec<Uuid> = orders::Entity::find()
        .select_only()
        .column(orders::Column::Pid)
        .filter(orders::Column::Status.eq(OrderStatus::Pending.as_str()))
        .filter(orders::Column::ExpiresAt.lte(now.fixed_offset()))
        .order_by_asc(orders::Column::ExpiresAt)
        .limit(500)
        .into_tuple()
        .all(&ctx.db)
        .await?;
    let actor = Actor::system("expiry");
    let mut expired = 0;
    for pid in due {
        match act(ctx, pid, Action::Expire, &actor).await {
            Ok(_) => expired += 1,
            Err(AppError::InvalidTransition(_)) => {}
            Err(e) => tracing::error!(order = %pid, error = %e, "could not expire order"),
        }
    }
    Ok(expired)
}

/// Order counts by status, for the admin.
///
/// # Errors
/// Database errors.
pub async fn count_by_status(db: &DatabaseConnection) -> AppResult<BTreeMap<String, i64>> {
    stats::counts_by_status(db).await
}
