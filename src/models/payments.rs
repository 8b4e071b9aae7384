//! Payments and refunds: every money movement is one transaction row, recorded exactly once.
//!
//! Design:
//! - [`start`] opens a checkout session at the provider for a pending order (the amount is
//!   the order's, never the client's) and records it as a pending payment.
//! - [`handle_event`] is the one path for what providers report, used by the Stripe webhook
//!   after its signature check and by the test provider's page. The event id is inserted
//!   first (unique), so a repeated delivery changes nothing; the transaction's status moves
//!   by compare-and-set (`WHERE status = 'pending'`), so the webhook and the shopper's
//!   redirect racing each other record one payment; the order moves by `orders::act_in`, in
//!   the same database transaction.
//! - A payment for an order that expired or was cancelled meanwhile is refunded at once and
//!   an admin notification is raised: money is never kept for an order we will not ship.
//! - Refunds ([`refund`]) first claim the refund: a pending refund row, written with the
//!   payment row locked and only when no other refund of it is pending or done, so a second
//!   click is refused; then ask the provider with the claim's id as idempotency key; then
//!   record the result and move the order.
use chrono::{Duration, Utc};
use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::{Expr, OnConflict},
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::{
    _entities::{notifications, order_lines, orders, payment_events, transactions},
    actor::Actor,
    db::write_txn,
    orders::{act_in, find_for, Action, AfterCommit, OrderView},
};
use crate::{
    domain::{
        order_status::{OrderEvent, OrderStatus},
        payment::{PaymentEvent, TransactionKind, TransactionStatus},
        pricing::PriceMode,
    },
    errors::{AppError, AppResult},
    payments::{CheckoutLine, CheckoutRequest, Payments},
    settings::Settings,
};

/// API.md's transaction object.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TransactionView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub order_number: i64,
    pub kind: TransactionKind,
    pub status: TransactionStatus,
    pub amount_cents: i64,
    pub currency: String,
    pub provider: String,
    pub provider_ref: String,
    pub failure_reason: Option<String>,
    pub created_at: String,
    /// When it reached its status (paid, failed, refunded…).
    pub updated_at: String,
}

/// What `POST /orders/{id}/pay` answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PayView {
    /// The provider's page; a path when the page is the shop's own (the test provider), which
    /// [`PayView::absolute`] completes for API clients.
    pub checkout_url: String,
    pub session_id: String,
}

impl PayView {
    /// The same with `checkout_url` absolute: a path is put under the shop's configured
    /// origin, now rather than when the session was opened.
    #[must_use]
    pub fn absolute(mut self, base_url: &str) -> Self {
        if self.checkout_url.starts_with('/') {
            self.checkout_url = format!("{}{}", base_url.trim_end_matches('/'), self.checkout_url);
        }
        self
    }
}

pub(super) const OFFLINE: &str = "offline";

async fn insert_transaction<C: ConnectionTrait>(
    db: &C,
    order: &orders::Model,
    kind: TransactionKind,
    status: TransactionStatus,
    provider: &str,
    provider_ref: &str,
) -> Result<transactions::Model, sea_orm::DbErr> {
    let now = Utc::now().into();
    transactions::ActiveModel {
        pid: Set(Uuid::new_v4()),
        order_id: Set(order.id),
        kind: Set(kind.as_str().into()),
        status: Set(status.as_str().into()),
        amount_cents: Set(order.total_cents),
        currency: Set(order.currency.clone()),
        provider: Set(provider.into()),
        provider_ref: Set(provider_ref.chars().take(255).collect()),
        payment_ref: Set(None),
        checkout_url: Set(None),
        failure_reason: Set(None),
        expires_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// What the provider's checkout page lists: the order's lines, shipping and added tax, or
/// one line for the whole order when a discount applies (providers take no negative lines).
/// Either way the lines add up to the order's total exactly.
fn checkout_lines(order: &orders::Model, lines: &[order_lines::Model]) -> Vec<CheckoutLine> {
    let whole = || {
        vec![CheckoutLine {
            name: format!("Order #{}", order.number),
            unit_amount_cents: order.total_cents,
            quantity: 1,
        }]
    };
    if order.discount_cents > 0 {
        return whole();
    }
    let mut out: Vec<CheckoutLine> = lines
        .iter()
        .map(|l| CheckoutLine {
            name: l.name.clone(),
            unit_amount_cents: l.unit_price_cents,
            quantity: i64::from(l.quantity),
        })
        .collect();
    if order.shipping_cents > 0 {
        let method = super::shipping::OrderMethod::read(order.shipping_method.as_deref());
        out.push(CheckoutLine {
            name: method.map_or_else(|| "Shipping".into(), |m| format!("Shipping: {}", m.name)),
            unit_amount_cents: order.shipping_cents,
            quantity: 1,
        });
    }
    if PriceMode::parse(&order.price_mode) == PriceMode::TaxExclusive && order.tax_cents > 0 {
        out.push(CheckoutLine {
            name: "Tax".into(),
            unit_amount_cents: order.tax_cents,
            quantity: 1,
        });
    }
    let sum: i64 = out.iter().map(|l| l.unit_amount_cents * l.quantity).sum();
    if sum == order.total_cents {
        out
    } else {
        whole()
    }
}

/// Opens (or reuses) a checkout session for the owner's pending order, and holds the order's
/// stock for as long as that session can be paid.
///
/// # Errors
/// `NotFound` (not theirs), `InvalidTransition` (not pending), `Unavailable` (provider).
pub async fn start(ctx: &AppContext, pid: Uuid, actor: &Actor) -> AppResult<PayView> {
    let order = find_for(&ctx.db, pid, actor).await?;
    if !actor.owns(&order) {
        return Err(AppError::NotFound);
    }
    let status: OrderStatus = order.status.parse().unwrap_or(OrderStatus::Pending);
    status.apply(OrderEvent::Pay)?;
    let provider = Payments::get(ctx);
    let now = Utc::now();
    // Paying would stretch the reservation to the provider's session; an order whose time has
    // run out holds nothing any more and is about to be expired, so it is not revived.
    if order
        .expires_at
        .is_some_and(|t| t.with_timezone(&Utc) <= now)
    {
        return Err(AppError::Conflict(
            "The time to pay for this order has run out; please order again.".into(),
        ));
    }
    // Sessions past their time are over even if the provider's expiry event never came.
    transactions::Entity::update_many()
        .col_expr(
            transactions::Column::Status,
            Expr::value(TransactionStatus::Expired.as_str()),
        )
        .filter(transactions::Column::OrderId.eq(order.id))
        .filter(transactions::Column::Kind.eq(TransactionKind::Payment.as_str()))
        .filter(transactions::Column::Status.eq(TransactionStatus::Pending.as_str()))
        .filter(transactions::Column::ExpiresAt.lte(now.fixed_offset()))
        .exec(&ctx.db)
        .await?;
    if let Some(open) = open_session(&ctx.db, order.id).await? {
        return Ok(open);
    }
    let settings = Settings::get(ctx);
    let lines = order_lines::Entity::find()
        .filter(order_lines::Column::OrderId.eq(order.id))
        .order_by_asc(order_lines::Column::Id)
        .all(&ctx.db)
        .await?;
    let base = &settings.base_url;
    // Stripe keeps a session open for 30 minutes at least; the order's reservation is
    // extended to match below, so a shopper paying in time is never refunded as late.
    let order_expiry = order.expires_at.map_or(now, |t| t.with_timezone(&Utc));
    let expires_at = std::cmp::max(order_expiry, now + Duration::minutes(31));
    let session = provider
        .create_session(&CheckoutRequest {
            order_id: order.pid,
            order_number: order.number,
            email: order.email.clone(),
            currency: order.currency.clone(),
            lines: checkout_lines(&order, &lines),
            total_cents: order.total_cents,
            success_url: format!(
                "{base}/orders/{}/paid?session_id={{CHECKOUT_SESSION_ID}}",
                order.pid
            ),
            cancel_url: format!("{base}/orders/{}", order.pid),
            expires_at,
        })
        .await?;
    let session_expiry = session.expires_at.unwrap_or(expires_at);
    let now_db = Utc::now().into();
    let inserted = transactions::ActiveModel {
        pid: Set(Uuid::new_v4()),
        order_id: Set(order.id),
        kind: Set(TransactionKind::Payment.as_str().into()),
        status: Set(TransactionStatus::Pending.as_str().into()),
        amount_cents: Set(order.total_cents),
        currency: Set(order.currency.clone()),
        provider: Set(provider.name().into()),
        provider_ref: Set(session.id.chars().take(255).collect()),
        payment_ref: Set(None),
        checkout_url: Set(Some(session.url.clone())),
        failure_reason: Set(None),
        expires_at: Set(Some(session_expiry.fixed_offset())),
        created_at: Set(now_db),
        updated_at: Set(now_db),
        ..Default::default()
    }
    .insert(&ctx.db)
    .await;
    match inserted {
        Ok(_) => {}
        // Another click opened a session first (one open session per order, by a unique
        // index): offer that one; this one expires unused at the provider.
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            return open_session(&ctx.db, order.id)
                .await?
                .ok_or(AppError::Conflict(
                    "A payment for this order is being started; try again.".into(),
                ));
        }
        Err(e) => return Err(e.into()),
    }
    orders::Entity::update_many()
        .col_expr(
            orders::Column::ExpiresAt,
            Expr::value(session_expiry.fixed_offset()),
        )
        .filter(orders::Column::Id.eq(order.id))
        .filter(orders::Column::Status.eq(OrderStatus::Pending.as_str()))
        .filter(orders::Column::ExpiresAt.lt(session_expiry.fixed_offset()))
        .filter(orders::Column::ExpiresAt.gt(Utc::now().fixed_offset()))
        .exec(&ctx.db)
        .await?;
    Ok(PayView {
        checkout_url: session.url,
        session_id: session.id,
    })
}

/// The public ids of an order's payment sessions that may still be paid.
///
/// # Errors
/// Database errors.
pub async fn open_checkouts<C: sea_orm::ConnectionTrait>(
    db: &C,
    order_id: i32,
) -> AppResult<Vec<Uuid>> {
    Ok(transactions::Entity::find()
        .select_only()
        .column(transactions::Column::Pid)
        .filter(transactions::Column::OrderId.eq(order_id))
        .filter(transactions::Column::Kind.eq(TransactionKind::Payment.as_str()))
        .filter(transactions::Column::Status.eq(TransactionStatus::Pending.as_str()))
        .into_tuple::<Uuid>()
        .all(db)
        .await?)
}

/// Closes at the provider the checkout session of an order that was cancelled or expired (the
/// `ExpireCheckout` job). Nothing to do when the session has ended meanwhile, belongs to
/// another provider, or its order is still awaiting payment.
///
/// # Errors
/// `Unavailable` when the provider cannot be reached (the job is retried).
pub async fn expire_checkout(env: &crate::jobs::JobEnv, transaction_id: Uuid) -> AppResult<()> {
    let Some(tx) = transactions::Entity::find()
        .filter(transactions::Column::Pid.eq(transaction_id))
        .one(&env.db)
        .await?
    else {
        return Ok(());
    };
    let order = orders::Entity::find_by_id(tx.order_id).one(&env.db).await?;
    let order_over = order.is_some_and(|o| o.status != OrderStatus::Pending.as_str());
    if tx.status != TransactionStatus::Pending.as_str()
        || tx.provider != env.payments.name()
        || !order_over
    {
        return Ok(());
    }
    env.payments.expire_session(&tx.provider_ref).await
}

async fn open_session(db: &DatabaseConnection, order_id: i32) -> AppResult<Option<PayView>> {
    let open = transactions::Entity::find()
        .filter(transactions::Column::OrderId.eq(order_id))
        .filter(transactions::Column::Kind.eq(TransactionKind::Payment.as_str()))
        .filter(transactions::Column::Status.eq(TransactionStatus::Pending.as_str()))
        .one(db)
        .await?;
    Ok(open.and_then(|t| {
        // The test page is the shop's own: its link is made now (rows from before stored an
        // origin that may no longer be where the shop is).
        let checkout_url = if t.provider == crate::payments::test_provider::NAME {
            crate::payments::test_provider::checkout_path(&t.provider_ref)
        } else {
            t.checkout_url?
        };
        Some(PayView {
            checkout_url,
            session_id: t.provider_ref,
        })
    }))
}

/// What handling an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// The event changed something.
    Applied,
    /// Seen before, or nothing left to change (a repeat in other clothes).
    Ignored,
    /// Money arrived for an order that can no longer take it; it was refunded.
    RefundedLate,
}

/// The one path for provider events; see the module notes.
///
/// # Errors
/// Database errors; `Unavailable` when a late payment cannot be refunded (the event is then
/// not marked as handled, so the provider's retry tries again).
#[tracing::instrument(name = "payments::handle_event", skip_all, fields(provider, event_id))]
pub async fn handle_event(
    ctx: &AppContext,
    provider: &str,
    event_id: &str,
    kind: &str,
    event: PaymentEvent,
) -> AppResult<Handled> {
    let settings = Settings::get(ctx);
    let system = Actor::system(&format!("{provider} payment"));
    let txn = write_txn(&ctx.db).await?;
    let fresh = payment_events::Entity::insert(payment_events::ActiveModel {
        provider: Set(provider.into()),
        event_id: Set(event_id.chars().take(255).collect()),
        kind: Set(kind.chars().take(80).collect()),
        received_at: Set(Utc::now().into()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            payment_events::Column::Provider,
            payment_events::Column::EventId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if fresh == 0 {
        return Ok(Handled::Ignored);
    }
    let mut after = AfterCommit::default();
    let mut late: Option<(orders::Model, transactions::Model, &'static str)> = None;
    let handled = match event {
        PaymentEvent::SessionCompleted {
            session_id,
            payment_ref,
            amount_cents,
        } => {
            let Some(tx) = find_tx(&txn, provider, TransactionKind::Payment, &session_id).await?
            else {
                tracing::warn!(%session_id, "completed session of no known order");
                txn.commit().await?;
                return Ok(Handled::Ignored);
            };
            let claimed = transactions::Entity::update_many()
                .col_expr(
                    transactions::Column::Status,
                    Expr::value(TransactionStatus::Succeeded.as_str()),
                )
                .col_expr(
                    transactions::Column::PaymentRef,
                    Expr::value(payment_ref.clone()),
                )
                .col_expr(
                    transactions::Column::AmountCents,
                    Expr::value(std::cmp::max(amount_cents, 0)),
                )
                .col_expr(
                    transactions::Column::UpdatedAt,
                    Expr::value(Utc::now().fixed_offset()),
                )
                .filter(transactions::Column::Id.eq(tx.id))
                .filter(transactions::Column::Status.eq(TransactionStatus::Pending.as_str()))
                .exec(&txn)
                .await?;
            if claimed.rows_affected == 0 {
                Handled::Ignored
            } else {
                let order = orders::Entity::find_by_id(tx.order_id)
                    .one(&txn)
                    .await?
                    .ok_or(AppError::NotFound)?;
                let paid_tx = transactions::Entity::find_by_id(tx.id)
                    .one(&txn)
                    .await?
                    .ok_or(AppError::NotFound)?;
                if amount_cents != order.total_cents {
                    // Not what the order costs: keep nothing and tell the admins.
                    late = Some((
                        order,
                        paid_tx,
                        "the amount paid differs from the order's total",
                    ));
                    Handled::RefundedLate
                } else {
                    match act_in(&txn, &settings, order.pid, Action::Pay, &system).await {
                        Ok((_, a)) => {
                            after.merge(a);
                            Handled::Applied
                        }
                        Err(AppError::InvalidTransition(_)) => {
                            late =
                                Some((order, paid_tx, "the order was no longer awaiting payment"));
                            Handled::RefundedLate
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        PaymentEvent::SessionExpired { session_id } => {
            close_session(
                &txn,
                provider,
                &session_id,
                TransactionStatus::Expired,
                None,
            )
            .await?
        }
        PaymentEvent::SessionFailed { session_id, reason } => {
            close_session(
                &txn,
                provider,
                &session_id,
                TransactionStatus::Failed,
                Some(&reason),
            )
            .await?
        }
        PaymentEvent::PaymentFailed {
            payment_ref,
            order_id,
            reason,
        } => {
            let order = match order_id {
                Some(pid) => {
                    orders::Entity::find()
                        .filter(orders::Column::Pid.eq(pid))
                        .one(&txn)
                        .await?
                }
                None => None,
            };
            match order {
                Some(order) => {
                    // Each declined attempt is a row of its own (the provider reuses the payment
                    // id for retries, so the event id makes it unique); the session stays open.
                    let key = format!("{payment_ref}/{event_id}");
                    let row = insert_transaction(
                        &txn,
                        &order,
                        TransactionKind::Payment,
                        TransactionStatus::Failed,
                        provider,
                        &key,
                    )
                    .await?;
                    transactions::Entity::update_many()
                        .col_expr(
                            transactions::Column::FailureReason,
                            Expr::value(reason.chars().take(500).collect::<String>()),
                        )
                        .col_expr(transactions::Column::PaymentRef, Expr::value(payment_ref))
                        .filter(transactions::Column::Id.eq(row.id))
                        .exec(&txn)
                        .await?;
                    Handled::Applied
                }
                None => Handled::Ignored,
            }
        }
        PaymentEvent::Refunded {
            payment_ref,
            refund_ref,
            amount_cents,
        } => {
            record_provider_refund(
                &txn,
                &settings,
                provider,
                &payment_ref,
                &refund_ref,
                amount_cents,
                &mut after,
            )
            .await?
        }
    };
    if let Some((order, tx, why)) = &late {
        // The refund is claimed here, with the payment, and made by a job: the provider is
        // never called inside this transaction, and a crash or an unreachable provider only
        // delays the refund (the job retries; the recovery sweep finds the claim).
        let (note, refund_id) = claim_late_refund(&txn, order, tx, why).await?;
        after.live.push(crate::live::LiveEvent::notification(&note));
        after
            .jobs
            .push(crate::jobs::Job::RefundLatePayment { refund_id });
    }
    txn.commit().await?;
    after.run(ctx).await;
    Ok(handled)
}

/// Moves an open session's row to `status` (expired, or a delayed payment that failed).
async fn close_session<C: ConnectionTrait>(
    db: &C,
    provider: &str,
    session_id: &str,
    status: TransactionStatus,
    reason: Option<&str>,
) -> AppResult<Handled> {
    let mut update = transactions::Entity::update_many()
        .col_expr(transactions::Column::Status, Expr::value(status.as_str()))
        .col_expr(
            transactions::Column::UpdatedAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .filter(transactions::Column::Provider.eq(provider))
        .filter(transactions::Column::Kind.eq(TransactionKind::Payment.as_str()))
        .filter(transactions::Column::ProviderRef.eq(session_id))
        .filter(transactions::Column::Status.eq(TransactionStatus::Pending.as_str()));
    if let Some(r) = reason {
        update = update.col_expr(transactions::Column::FailureReason, Expr::value(r));
    }
    Ok(if update.exec(db).await?.rows_affected == 1 {
        Handled::Applied
    } else {
        Handled::Ignored
    })
}

/// A refund the provider reports. Ours (a pending claim of the same payment and amount) is
/// recorded on its claim, and the refund call that made it completes the refund; one made
/// at the provider directly (its dashboard) is recorded with its credit note, and the order
/// is partially refunded, or refunded once the refunds add up to what was paid.
#[allow(clippy::too_many_arguments)]
async fn record_provider_refund(
    txn: &sea_orm::DatabaseTransaction,
    settings: &Settings,
    provider: &str,
    payment_ref: &str,
    refund_ref: &str,
    amount_cents: i64,
    after: &mut AfterCommit,
) -> AppResult<Handled> {
    if find_tx(txn, provider, TransactionKind::Refund, refund_ref)
        .await?
        .is_some()
    {
        return Ok(Handled::Ignored);
    }
    let ours = transactions::Entity::find()
        .filter(transactions::Column::Provider.eq(provider))
        .filter(transactions::Column::Kind.eq(TransactionKind::Refund.as_str()))
        .filter(transactions::Column::PaymentRef.eq(payment_ref))
        .filter(transactions::Column::AmountCents.eq(amount_cents))
        .filter(transactions::Column::Status.eq(TransactionStatus::Pending.as_str()))
        .order_by_asc(transactions::Column::Id)
        .one(txn)
        .await?;
    if let Some(claim) = ours {
        transactions::Entity::update_many()
            .col_expr(
                transactions::Column::Status,
                Expr::value(TransactionStatus::Succeeded.as_str()),
            )
            .col_expr(transactions::Column::ProviderRef, Expr::value(refund_ref))
            .filter(transactions::Column::Id.eq(claim.id))
            .exec(txn)
            .await?;
        return Ok(Handled::Applied);
    }
    let Some(payment) = transactions::Entity::find()
        .filter(transactions::Column::Provider.eq(provider))
        .filter(transactions::Column::PaymentRef.eq(payment_ref))
        .filter(transactions::Column::Kind.eq(TransactionKind::Payment.as_str()))
        .filter(transactions::Column::Status.eq(TransactionStatus::Succeeded.as_str()))
        .one(txn)
        .await?
    else {
        return Ok(Handled::Ignored);
    };
    let order = orders::Entity::find_by_id(payment.order_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let row = insert_transaction(
        txn,
        &order,
        TransactionKind::Refund,
        TransactionStatus::Succeeded,
        provider,
        refund_ref,
    )
    .await?;
    set_refund_details(txn, row.id, payment_ref, amount_cents).await?;
    let row = transactions::Model {
        amount_cents: amount_cents.max(0),
        ..row
    };
    after.merge(super::refunds::record_external(txn, settings, &order, &row).await?);
    Ok(Handled::Applied)
}

async fn find_tx<C: ConnectionTrait>(
    db: &C,
    provider: &str,
    kind: TransactionKind,
    provider_ref: &str,
) -> AppResult<Option<transactions::Model>> {
    Ok(transactions::Entity::find()
        .filter(transactions::Column::Provider.eq(provider))
        .filter(transactions::Column::Kind.eq(kind.as_str()))
        .filter(transactions::Column::ProviderRef.eq(provider_ref))
        .one(db)
        .await?)
}

async fn set_refund_details<C: ConnectionTrait>(
    db: &C,
    id: i32,
    payment_ref: &str,
    amount_cents: i64,
) -> AppResult<()> {
    transactions::Entity::update_many()
        .col_expr(transactions::Column::PaymentRef, Expr::value(payment_ref))
        .col_expr(
            transactions::Column::AmountCents,
            Expr::value(std::cmp::max(amount_cents, 0)),
        )
        .filter(transactions::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Writes the pending money row of a refund of `amount_cents` of `payment` (the claim that
/// `models::refunds` completes once the provider made the refund).
///
/// # Errors
/// Database errors.
pub(super) async fn insert_refund_claim<C: ConnectionTrait>(
    db: &C,
    order: &orders::Model,
    payment: &transactions::Model,
    amount_cents: i64,
    provider_ref: &str,
) -> AppResult<transactions::Model> {
    let row = insert_transaction(
        db,
        order,
        TransactionKind::Refund,
        TransactionStatus::Pending,
        &payment.provider,
        provider_ref,
    )
    .await?;
    set_refund_details(
        db,
        row.id,
        payment.payment_ref.as_deref().unwrap_or_default(),
        amount_cents,
    )
    .await?;
    Ok(transactions::Model {
        payment_ref: payment.payment_ref.clone(),
        amount_cents,
        ..row
    })
}

/// The provider reference of the refund claim of a late payment: one per payment (the unique
/// index on provider references makes a second claim impossible), and the idempotency key of
/// the provider call, so the money goes back once however often the job runs.
fn late_refund_ref(payment: &transactions::Model) -> String {
    format!("late-{}", payment.pid)
}

/// Claims the refund of a payment that arrived for an expired or cancelled order (a pending
/// refund row), and tells the admins; [`refund_late`] makes it.
async fn claim_late_refund<C: ConnectionTrait>(
    db: &C,
    order: &orders::Model,
    payment: &transactions::Model,
    why: &str,
) -> AppResult<(notifications::Model, Uuid)> {
    let payment_ref = payment.payment_ref.clone().unwrap_or_default();
    let row = insert_transaction(
        db,
        order,
        TransactionKind::Refund,
        TransactionStatus::Pending,
        &payment.provider,
        &late_refund_ref(payment),
    )
    .await?;
    set_refund_details(db, row.id, &payment_ref, payment.amount_cents).await?;
    let note = notify(
        db,
        "late_payment",
        order.id,
        &format!(
            "A payment of {} arrived for order #{} ({}), but {why}; it is refunded automatically.",
            crate::views::money::format(payment.amount_cents, &payment.currency),
            order.number,
            order.status
        ),
    )
    .await?;
    Ok((note, row.pid))
}

/// Makes the refund of a late payment claimed by [`claim_late_refund`] (the job). Runs any
/// number of times: a refund already made is left alone, and the provider call carries the
/// claim's key, so a retry after a crash gets the refund the first call made.
///
/// # Errors
/// The provider's errors (the job is retried, and the recovery sweep comes back to it).
pub async fn refund_late(env: &crate::jobs::JobEnv, refund_id: Uuid) -> AppResult<()> {
    let Some(claim) = transactions::Entity::find()
        .filter(transactions::Column::Pid.eq(refund_id))
        .filter(transactions::Column::Kind.eq(TransactionKind::Refund.as_str()))
        .one(&env.db)
        .await?
    else {
        return Ok(());
    };
    if claim.status != TransactionStatus::Pending.as_str() {
        return Ok(());
    }
    let payment_ref = claim.payment_ref.clone().unwrap_or_default();
    let refund_ref = match env
        .payments
        .refund(&payment_ref, claim.amount_cents, &claim.provider_ref)
        .await
    {
        Ok(r) => r,
        Err(e) => {
            // `updated_at` moves too: the sweep comes back after its grace, not every minute.
            transactions::Entity::update_many()
                .col_expr(
                    transactions::Column::FailureReason,
                    Expr::value(e.to_string()),
                )
                .col_expr(
                    transactions::Column::UpdatedAt,
                    Expr::value(Utc::now().fixed_offset()),
                )
                .filter(transactions::Column::Id.eq(claim.id))
                .exec(&env.db)
                .await?;
            return Err(e);
        }
    };
    refund_made(&env.db, claim.id, &refund_ref).await
}

/// Records on its claim that a refund went through at the provider. A compare-and-set on the
/// pending claim: the provider's own refund event may have recorded it meanwhile, and then
/// this changes nothing.
pub(super) async fn refund_made<C: ConnectionTrait>(
    db: &C,
    claim_id: i32,
    refund_ref: &str,
) -> AppResult<()> {
    transactions::Entity::update_many()
        .col_expr(
            transactions::Column::Status,
            Expr::value(TransactionStatus::Succeeded.as_str()),
        )
        .col_expr(transactions::Column::ProviderRef, Expr::value(refund_ref))
        .col_expr(
            transactions::Column::FailureReason,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            transactions::Column::UpdatedAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .filter(transactions::Column::Id.eq(claim_id))
        .filter(transactions::Column::Status.eq(TransactionStatus::Pending.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// Late-payment refunds still pending after `grace` (a crash between the claim and its job,
/// a queue that lost the job, a provider that was down): the recovery sweep runs them.
///
/// # Errors
/// Database errors.
pub async fn pending_late_refunds(
    db: &DatabaseConnection,
    grace: Duration,
    limit: u64,
) -> AppResult<Vec<Uuid>> {
    Ok(transactions::Entity::find()
        .select_only()
        .column(transactions::Column::Pid)
        .filter(transactions::Column::Kind.eq(TransactionKind::Refund.as_str()))
        .filter(transactions::Column::Status.eq(TransactionStatus::Pending.as_str()))
        .filter(transactions::Column::ProviderRef.starts_with("late-"))
        .filter(transactions::Column::UpdatedAt.lt((Utc::now() - grace).fixed_offset()))
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

async fn notify<C: ConnectionTrait>(
    db: &C,
    kind: &str,
    order_id: i32,
    message: &str,
) -> AppResult<notifications::Model> {
    Ok(notifications::ActiveModel {
        pid: Set(Uuid::new_v4()),
        kind: Set(kind.into()),
        open_key: Set(None),
        product_id: Set(None),
        variant_id: Set(None),
        order_id: Set(Some(order_id)),
        message: Set(message.chars().take(500).collect()),
        stock: Set(None),
        read_at: Set(None),
        closed_at: Set(None),
        created_at: Set(Utc::now().into()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// An admin records a payment received outside the shop (bank transfer, cash): one
/// succeeded transaction and the order paid, together.
///
/// # Errors
/// As `orders::act`.
pub async fn record_offline_payment(
    ctx: &AppContext,
    order: &orders::Model,
    actor: &Actor,
) -> AppResult<OrderView> {
    let settings = Settings::get(ctx);
    let txn = write_txn(&ctx.db).await?;
    let (out, after) = act_in(&txn, &settings, order.pid, Action::Pay, actor).await?;
    let row = insert_transaction(
        &txn,
        order,
        TransactionKind::Payment,
        TransactionStatus::Succeeded,
        OFFLINE,
        &format!("offline-{}", order.pid),
    )
    .await?;
    transactions::Entity::update_many()
        .col_expr(
            transactions::Column::PaymentRef,
            Expr::value(format!("offline-{}", row.pid)),
        )
        .filter(transactions::Column::Id.eq(row.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    after.run(ctx).await;
    Ok(out)
}

async fn views(
    db: &DatabaseConnection,
    rows: Vec<transactions::Model>,
) -> AppResult<Vec<TransactionView>> {
    let os: Vec<(i32, Uuid, i64)> = orders::Entity::find()
        .select_only_pids(rows.iter().map(|r| r.order_id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|t| {
            let o = os.iter().find(|o| o.0 == t.order_id)?;
            Some(TransactionView {
                id: t.pid,
                order_id: o.1,
                order_number: o.2,
                kind: TransactionKind::parse(&t.kind),
                status: TransactionStatus::parse(&t.status),
                amount_cents: t.amount_cents,
                currency: t.currency,
                provider: t.provider,
                provider_ref: t.provider_ref,
                failure_reason: t.failure_reason,
                created_at: crate::views::rfc3339(&t.created_at),
                updated_at: crate::views::rfc3339(&t.updated_at),
            })
        })
        .collect())
}

trait SelectOrderPids {
    fn select_only_pids(self, ids: impl IntoIterator<Item = i32>) -> Self;
}

impl SelectOrderPids for sea_orm::Select<orders::Entity> {
    fn select_only_pids(self, ids: impl IntoIterator<Item = i32>) -> Self {
        use sea_orm::QuerySelect;
        self.select_only()
            .columns([
                orders::Column::Id,
                orders::Column::Pid,
                orders::Column::Number,
            ])
            .filter(orders::Column::Id.is_in(ids))
    }
}

/// One page of transactions, newest first: the viewer's own, or all for admins; optionally
/// of one order.
///
/// # Errors
/// `NotFound` for an order the viewer may not see.
pub async fn list(
    db: &DatabaseConnection,
    viewer: &Actor,
    order: Option<Uuid>,
    page: u64,
    page_size: u64,
) -> AppResult<(Vec<TransactionView>, u64)> {
    let mut q = transactions::Entity::find()
        .order_by_desc(transactions::Column::CreatedAt)
        .order_by_desc(transactions::Column::Id);
    if let Some(pid) = order {
        let o = find_for(db, pid, viewer).await?;
        q = q.filter(transactions::Column::OrderId.eq(o.id));
    }
    if !viewer.is_admin() {
        let own = sea_orm::sea_query::Query::select()
            .column(orders::Column::Id)
            .from(orders::Entity)
            .and_where(orders::Column::UserId.eq(viewer.user_id.unwrap_or(-1)))
            .to_owned();
        q = q.filter(transactions::Column::OrderId.in_subquery(own));
    }
    let paginator = q.paginate(db, page_size);
    let count = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((views(db, rows).await?, count))
}

/// One transaction, for its order's owner or an admin (anyone else: not found).
///
/// # Errors
/// `NotFound`; database errors.
pub async fn find_transaction(
    db: &DatabaseConnection,
    viewer: &Actor,
    pid: Uuid,
) -> AppResult<TransactionView> {
    let t = transactions::Entity::find()
        .filter(transactions::Column::Pid.eq(pid))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let order = orders::Entity::find_by_id(t.order_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if !(viewer.is_admin() || viewer.owns(&order)) {
        return Err(AppError::NotFound);
    }
    views(db, vec![t]).await?.pop().ok_or(AppError::NotFound)
}

/// The transactions of one order, oldest first (order pages).
///
/// # Errors
/// Database errors.
pub async fn of_order(db: &DatabaseConnection, order_id: i32) -> AppResult<Vec<TransactionView>> {
    let rows = transactions::Entity::find()
        .filter(transactions::Column::OrderId.eq(order_id))
        // In the order their outcomes happened: a session declined and then paid is listed
        // after the decline it outlived.
        .order_by_asc(transactions::Column::UpdatedAt)
        .order_by_asc(transactions::Column::Id)
        .all(db)
        .await?;
    views(db, rows).await
}

/// The shopper came back from the provider's page: ask the provider and record the payment
/// if the webhook has not yet (the two race; the compare-and-set keeps one).
///
/// # Errors
/// `Unavailable` when the provider cannot be asked.
pub async fn confirm_return(ctx: &AppContext, session_id: &str) -> AppResult<Handled> {
    let provider = Payments::get(ctx);
    let Some(state) = provider.session(session_id).await? else {
        return Ok(Handled::Ignored);
    };
    if !state.paid {
        return Ok(Handled::Ignored);
    }
    handle_event(
        ctx,
        provider.name(),
        &format!("return:{session_id}"),
        "checkout.session.return",
        PaymentEvent::SessionCompleted {
            session_id: session_id.to_string(),
            payment_ref: state.payment_ref,
            amount_cents: state.amount_cents,
        },
    )
    .await
}

/// A checkout session of the built-in test provider with its order, for its pay page.
///
/// # Errors
/// `NotFound` for an unknown session.
pub async fn test_session(
    db: &DatabaseConnection,
    session_id: &str,
) -> AppResult<(transactions::Model, OrderView)> {
    let tx = find_tx(
        db,
        crate::payments::test_provider::NAME,
        TransactionKind::Payment,
        session_id,
    )
    .await?
    .ok_or(AppError::NotFound)?;
    let order = orders::Entity::find_by_id(tx.order_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((tx, super::orders::view(db, order).await?))
}

/// The test provider's buttons: what Stripe would report after the shopper paid or their
/// card was declined, sent down the same path as Stripe's webhook.
///
/// # Errors
/// `NotFound` for an unknown session; as [`handle_event`].
pub async fn test_outcome(
    ctx: &AppContext,
    session_id: &str,
    pay: bool,
) -> AppResult<(Handled, Uuid)> {
    let (tx, order) = test_session(&ctx.db, session_id).await?;
    let payment_ref = format!("test_pi_{}", Uuid::new_v4().simple());
    let event_id = format!("test_evt_{}", Uuid::new_v4().simple());
    let (kind, event) = if pay {
        (
            "checkout.session.completed",
            PaymentEvent::SessionCompleted {
                session_id: session_id.to_string(),
                payment_ref: Some(payment_ref),
                amount_cents: tx.amount_cents,
            },
        )
    } else {
        (
            "payment_intent.payment_failed",
            PaymentEvent::PaymentFailed {
                payment_ref,
                order_id: Some(order.id),
                reason: "The card was declined (test provider).".into(),
            },
        )
    };
    let handled = handle_event(
        ctx,
        crate::payments::test_provider::NAME,
        &event_id,
        kind,
        event,
    )
    .await?;
    Ok((handled, order.id))
}
