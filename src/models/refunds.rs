//! Refunds, whole or partial, each with its credit note.
//!
//! Design:
//! - A refund is a document (`refunds` and its `refund_lines`) beside its money movement (a
//!   refund row in `transactions`). What it may take is planned by `domain::refund::plan`
//!   from the order's lines and money, read with the order row locked, counting refunds that
//!   went through *and* those under way, so two admins refunding at once never return more
//!   than was paid: the second sees the first's claim and is refused (409).
//! - Three steps, each safe to die after:
//!   1. the claim (one transaction): the pending refund, its lines and its pending money row;
//!   2. the provider call, with the refund's own idempotency key (`refund-<refund id>`), so a
//!      second call for the same refund gets the first call's refund back;
//!   3. the completion (one transaction): the money row and the refund succeed, the refund
//!      takes the next credit-note number (its own gapless series), the lines count what was
//!      refunded and go back on the shelf (always when the order never shipped, on request
//!      otherwise), the order adds up `refunded_cents` and takes its step (`refund_part`,
//!      `refund` once nothing is left, or `cancel` for an admin cancelling a paid order),
//!      with its timeline row, the customer's mail and the `order.refunded` webhook.
//! - A refund left pending by a process that died is finished by the retry of the same
//!   request (same Idempotency-Key) or by the recovery sweep ([`resume_stale`]); a provider
//!   that refuses marks it failed, which frees what it held.
use chrono::{Duration, Utc};
use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{
    _entities::{order_lines, orders, refund_lines, refunds, transactions, variants},
    actor::Actor,
    counters,
    db::write_txn,
    orders::{act_in, find_for, stats, view, Action, AfterCommit, OrderView},
    payments,
    stock::{self, Change},
};
use crate::{
    domain::{
        order_status::{OrderEvent, OrderStatus},
        payment::{TransactionKind, TransactionStatus},
        refund::{plan, OrderMoney, RefundAsk, RefundRefused, RefundableLine},
        stock::StockReason,
        webhook::Event,
    },
    errors::{AppError, AppResult},
    mail::OrderMail,
    payments::Payments,
    settings::Settings,
    views::money,
};

/// A refund's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Claimed, the provider not yet answered (or the process died meanwhile).
    Pending,
    Succeeded,
    /// The provider refused; nothing went back and nothing is held.
    Failed,
}

impl RefundStatus {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            _ => Self::Pending,
        }
    }
}

/// One refunded line.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RefundLineView {
    pub variant_id: Uuid,
    pub sku: String,
    pub name: String,
    pub quantity: i32,
    /// What these units were worth to the customer (their share of the discounted, taxed
    /// goods).
    pub amount_cents: i64,
}

/// API.md's refund object.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RefundView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub amount_cents: i64,
    pub currency: String,
    pub status: RefundStatus,
    pub lines: Vec<RefundLineView>,
    /// Whether the refunded goods went back into stock.
    pub restock: bool,
    pub reason: String,
    /// Set once the refund went through.
    pub credit_note_number: Option<i64>,
    /// The number as printed, e.g. `CN-000007`.
    pub credit_note_reference: Option<String>,
    pub created_at: String,
}

/// A refund as the order body lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RefundSummary {
    pub id: Uuid,
    pub amount_cents: i64,
    pub credit_note_number: i64,
    pub created_at: String,
}

/// The credit note number as printed.
#[must_use]
pub fn credit_note_reference(number: i64) -> String {
    format!("CN-{number:06}")
}

/// What someone asks to refund.
#[derive(Debug, Clone, Default)]
pub struct RefundCommand {
    /// Lines by variant id and an amount; neither: everything that is left.
    pub ask: RefundAsk<Uuid>,
    /// Put refunded goods of a shipped order back on the shelf (an order that never shipped
    /// always gets them back).
    pub restock: bool,
    pub reason: Option<String>,
    /// An admin cancelling a paid order: everything goes back and the order is cancelled.
    pub cancels: bool,
}

/// Refunds (part of) a paid order; see the module notes. Admins, and the system.
///
/// # Errors
/// `NotFound`, `Forbidden`; `Validation` for lines and amounts that do not fit the order;
/// `Conflict` for more than is left to refund; `InvalidTransition` for an order that cannot
/// be refunded (pending, cancelled…); `Unavailable` when the provider refuses.
pub async fn refund(
    ctx: &AppContext,
    pid: Uuid,
    cmd: RefundCommand,
    actor: &Actor,
) -> AppResult<(RefundView, OrderView)> {
    if !(actor.is_admin() || actor.is_system()) {
        // Someone else's order stays hidden; one's own cannot be refunded by oneself.
        let order = find_for(&ctx.db, pid, actor).await?;
        drop(order);
        return Err(AppError::Forbidden);
    }
    let refund = claim(ctx, pid, &cmd, actor).await?;
    finish(ctx, refund, actor).await
}

/// Asks the provider for a claimed refund and completes it.
async fn finish(
    ctx: &AppContext,
    refund: refunds::Model,
    actor: &Actor,
) -> AppResult<(RefundView, OrderView)> {
    let made = match money_row(&ctx.db, &refund).await? {
        // The provider's own refund event recorded it on the claim already.
        Some(claim) if claim.status == TransactionStatus::Succeeded.as_str() => {
            let provider_ref = claim.provider_ref.clone();
            Some((claim, provider_ref))
        }
        Some(claim) => match send(ctx, &refund, &claim).await {
            Ok(provider_ref) => Some((claim, provider_ref)),
            // A clear "no": nothing went back, and what the refund held is free again.
            Err(e @ AppError::Conflict(_)) => {
                fail(&ctx.db, &refund, &claim, &e.to_string()).await?;
                return Err(e);
            }
            // No clear answer: the refund may have been made. It stays claimed (holding its
            // money) and the sweep asks again with the same key soon.
            Err(e) => {
                retry_later(&ctx.db, &refund, &e.to_string()).await?;
                return Err(AppError::Unavailable(
                    "The payment provider could not be reached; the refund is claimed and will \
                     be retried automatically."
                        .into(),
                ));
            }
        },
        None => None,
    };
    complete(ctx, refund.id, made, actor).await
}

async fn money_row<C: ConnectionTrait>(
    db: &C,
    refund: &refunds::Model,
) -> AppResult<Option<transactions::Model>> {
    Ok(match refund.transaction_id {
        Some(id) => transactions::Entity::find_by_id(id).one(db).await?,
        None => None,
    })
}

/// Locks the order row (PostgreSQL; SQLite's write transaction holds the database): every
/// write of a refund takes it first, so claims, completions and failures of one order's
/// refunds happen one after the other.
async fn lock_order<C: ConnectionTrait>(db: &C, order_id: i32) -> AppResult<orders::Model> {
    orders::Entity::find_by_id(order_id)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The provider call. One key per refund: a retry (after a timeout, or a crash) gets the
/// refund the first call made, never a second one.
async fn send(
    ctx: &AppContext,
    refund: &refunds::Model,
    claim: &transactions::Model,
) -> AppResult<String> {
    if claim.provider == payments::OFFLINE {
        return Ok(format!("offline-refund-{}", refund.pid));
    }
    Payments::get(ctx)
        .refund(
            claim.payment_ref.as_deref().unwrap_or_default(),
            refund.amount_cents,
            &format!("refund-{}", refund.pid),
        )
        .await
}

/// A try that got no clear answer, on record; the refund stays pending for the sweep.
async fn retry_later(db: &DatabaseConnection, refund: &refunds::Model, why: &str) -> AppResult<()> {
    refunds::Entity::update_many()
        .col_expr(refunds::Column::FailureReason, Expr::value(why))
        .col_expr(
            refunds::Column::UpdatedAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .filter(refunds::Column::Id.eq(refund.id))
        .filter(refunds::Column::Status.eq(RefundStatus::Pending.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// The provider refused: the refund and its money row fail, which frees what they held (the
/// limits count pending and succeeded refunds only).
async fn fail(
    db: &DatabaseConnection,
    refund: &refunds::Model,
    claim: &transactions::Model,
    why: &str,
) -> AppResult<()> {
    let txn = write_txn(db).await?;
    // The order's lock orders this against a completion of the same refund.
    lock_order(&txn, refund.order_id).await?;
    let now = Utc::now().fixed_offset();
    let failed = refunds::Entity::update_many()
        .col_expr(
            refunds::Column::Status,
            Expr::value(RefundStatus::Failed.as_str()),
        )
        .col_expr(refunds::Column::FailureReason, Expr::value(why))
        .col_expr(refunds::Column::UpdatedAt, Expr::value(now))
        .filter(refunds::Column::Id.eq(refund.id))
        .filter(refunds::Column::Status.eq(RefundStatus::Pending.as_str()))
        .exec(&txn)
        .await?;
    if failed.rows_affected == 1 {
        transactions::Entity::update_many()
            .col_expr(
                transactions::Column::Status,
                Expr::value(TransactionStatus::Failed.as_str()),
            )
            // The claim's reference is free again for a retry of the same request.
            .col_expr(
                transactions::Column::ProviderRef,
                Expr::value(format!("failed-{}", claim.pid)),
            )
            .col_expr(transactions::Column::FailureReason, Expr::value(why))
            .col_expr(transactions::Column::UpdatedAt, Expr::value(now))
            .filter(transactions::Column::Id.eq(claim.id))
            .filter(transactions::Column::Status.eq(TransactionStatus::Pending.as_str()))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The reference of a claim's money row: the request's when it came with an Idempotency-Key
/// (its retry finds the claim and resumes it), otherwise the refund's.
fn claim_ref(refund_pid: Uuid) -> String {
    super::idempotency::claim_id().map_or_else(
        || format!("claim-{}", refund_pid.simple()),
        |id| format!("claim-request-{id}"),
    )
}

/// Step 1: plans the refund with the order locked and writes the pending refund, its lines
/// and its pending money row. A retry of a request whose claim is still pending resumes it.
/// [`refund`] goes on to the provider; a process that dies here leaves the claim to the
/// sweep ([`resume_stale`]).
///
/// # Errors
/// As [`refund`], before anything is written.
pub async fn claim(
    ctx: &AppContext,
    pid: Uuid,
    cmd: &RefundCommand,
    actor: &Actor,
) -> AppResult<refunds::Model> {
    if !(actor.is_admin() || actor.is_system()) {
        return Err(AppError::Forbidden);
    }
    let txn = write_txn(&ctx.db).await?;
    let order = orders::Entity::find()
        .filter(orders::Column::Pid.eq(pid))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(resumed) = resumable(&txn, &order).await? {
        txn.commit().await?;
        return Ok(resumed);
    }
    let from: OrderStatus = order.status.parse().unwrap_or(OrderStatus::Pending);
    if cmd.cancels {
        if from != OrderStatus::Paid {
            return Err(crate::domain::order_status::InvalidTransition {
                from,
                event: OrderEvent::Cancel,
            }
            .into());
        }
    } else {
        from.apply(OrderEvent::RefundPart)?;
    }
    let lines = order_lines::Entity::find()
        .filter(order_lines::Column::OrderId.eq(order.id))
        .order_by_asc(order_lines::Column::Id)
        .all(&txn)
        .await?;
    let live = refunds::Entity::find()
        .filter(refunds::Column::OrderId.eq(order.id))
        .filter(refunds::Column::Status.ne(RefundStatus::Failed.as_str()))
        .all(&txn)
        .await?;
    let held: Vec<refund_lines::Model> = if live.is_empty() {
        vec![]
    } else {
        refund_lines::Entity::find()
            .filter(refund_lines::Column::RefundId.is_in(live.iter().map(|r| r.id)))
            .all(&txn)
            .await?
    };
    let variant_pids: Vec<(i32, Uuid)> = variants::Entity::find()
        .select_only()
        .columns([variants::Column::Id, variants::Column::Pid])
        .filter(variants::Column::Id.is_in(lines.iter().map(|l| l.variant_id)))
        .into_tuple()
        .all(&txn)
        .await?;
    let refundable: Vec<RefundableLine<Uuid>> = lines
        .iter()
        .map(|l| RefundableLine {
            id: l.id,
            key: variant_pids
                .iter()
                .find(|v| v.0 == l.variant_id)
                .map_or_else(Uuid::nil, |v| v.1),
            unit_price_cents: l.unit_price_cents,
            quantity: l.quantity,
            refunded_quantity: held
                .iter()
                .filter(|h| h.order_line_id == l.id)
                .map(|h| h.quantity)
                .sum(),
        })
        .collect();
    let payments = transactions::Entity::find()
        .filter(transactions::Column::OrderId.eq(order.id))
        .filter(transactions::Column::Kind.eq(TransactionKind::Payment.as_str()))
        .filter(transactions::Column::Status.eq(TransactionStatus::Succeeded.as_str()))
        .order_by_asc(transactions::Column::Id)
        .all(&txn)
        .await?;
    let money_back = transactions::Entity::find()
        .filter(transactions::Column::OrderId.eq(order.id))
        .filter(transactions::Column::Kind.eq(TransactionKind::Refund.as_str()))
        .filter(transactions::Column::Status.is_in([
            TransactionStatus::Pending.as_str(),
            TransactionStatus::Succeeded.as_str(),
        ]))
        .all(&txn)
        .await?;
    let money = OrderMoney {
        subtotal_cents: order.subtotal_cents,
        discount_cents: order.discount_cents,
        shipping_cents: order.shipping_cents,
        total_cents: order.total_cents,
        // An order paid before payments were recorded (or by hand without a row) was paid
        // its total.
        paid_cents: if payments.is_empty() {
            order.total_cents
        } else {
            payments.iter().map(|p| p.amount_cents).sum()
        },
        refunded_cents: live.iter().map(|r| r.amount_cents).sum(),
    };
    let ask = if cmd.cancels {
        RefundAsk::default()
    } else {
        cmd.ask.clone()
    };
    let planned = plan(&refundable, money, &ask).map_err(|refused| match refused {
        RefundRefused::Fields(f) => AppError::Validation(f),
        RefundRefused::TooMuch { remaining_cents: 0 } => AppError::Conflict(
            "Everything that was paid for this order was refunded already.".into(),
        ),
        RefundRefused::TooMuch { remaining_cents } => AppError::Conflict(format!(
            "Refunds cannot add up to more than was paid: at most {} can still be refunded.",
            money::format(remaining_cents, &order.currency)
        )),
    })?;
    // The payment the money goes back to: the first with enough of it left.
    let payment = if payments.is_empty() {
        None
    } else {
        let left = |p: &transactions::Model| {
            p.amount_cents
                - money_back
                    .iter()
                    .filter(|r| r.payment_ref == p.payment_ref)
                    .map(|r| r.amount_cents)
                    .sum::<i64>()
        };
        Some(
            payments
                .iter()
                .find(|p| left(p) >= planned.amount_cents)
                .cloned()
                .ok_or_else(|| {
                    AppError::Conflict(
                        "No single payment of this order has that much left to refund: refund \
                         less at a time."
                            .into(),
                    )
                })?,
        )
    };
    // A retry after a crash runs the request again: it finds this claim and resumes it.
    super::idempotency::produced(&txn, super::idempotency::Produced::Rerun, false).await?;
    let now = Utc::now().fixed_offset();
    let refund_pid = Uuid::new_v4();
    let reason = cmd.reason.clone().unwrap_or_default();
    let refund = refunds::ActiveModel {
        pid: Set(refund_pid),
        order_id: Set(order.id),
        transaction_id: Set(None),
        amount_cents: Set(planned.amount_cents),
        currency: Set(order.currency.clone()),
        status: Set(RefundStatus::Pending.as_str().into()),
        // What never left the shop goes back on the shelf.
        restock: Set(cmd.restock || cmd.cancels || order.shipped_at.is_none()),
        cancels: Set(cmd.cancels),
        reason: Set(reason.chars().take(300).collect()),
        actor: Set(actor.label.chars().take(200).collect()),
        credit_note_number: Set(None),
        failure_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    super::audit::record(
        &txn,
        actor,
        super::audit::Action::RefundRequested,
        super::audit::Target::new(super::audit::TargetType::Order, order.pid),
        Some(serde_json::json!({ "status": order.status })),
        Some(serde_json::json!({
            "refund_id": refund.pid,
            "amount_cents": planned.amount_cents,
            "restock": refund.restock,
            "cancels": refund.cancels,
            "reason": refund.reason,
        })),
    )
    .await?;
    for l in &planned.lines {
        refund_lines::ActiveModel {
            refund_id: Set(refund.id),
            order_line_id: Set(l.line_id),
            quantity: Set(l.quantity),
            amount_cents: Set(l.amount_cents),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    let refund = match payment {
        Some(p) => {
            let row = payments::insert_refund_claim(
                &txn,
                &order,
                &p,
                planned.amount_cents,
                &claim_ref(refund_pid),
            )
            .await?;
            let mut linked: refunds::ActiveModel = refund.into();
            linked.transaction_id = Set(Some(row.id));
            linked.update(&txn).await?
        }
        None => refund,
    };
    txn.commit().await?;
    Ok(refund)
}

/// The pending refund of this order that the current request (its Idempotency-Key) claimed
/// before its process died.
async fn resumable(
    txn: &DatabaseTransaction,
    order: &orders::Model,
) -> AppResult<Option<refunds::Model>> {
    let Some(id) = super::idempotency::claim_id() else {
        return Ok(None);
    };
    let Some(row) = transactions::Entity::find()
        .filter(transactions::Column::OrderId.eq(order.id))
        .filter(transactions::Column::Kind.eq(TransactionKind::Refund.as_str()))
        .filter(transactions::Column::Status.eq(TransactionStatus::Pending.as_str()))
        .filter(transactions::Column::ProviderRef.eq(format!("claim-request-{id}")))
        .one(txn)
        .await?
    else {
        return Ok(None);
    };
    Ok(refunds::Entity::find()
        .filter(refunds::Column::TransactionId.eq(row.id))
        .filter(refunds::Column::Status.eq(RefundStatus::Pending.as_str()))
        .one(txn)
        .await?)
}

/// Step 3: records what went back and moves the order; see the module notes. `made` is the
/// money row and the provider's reference of the refund (none for an order paid without a
/// recorded payment). A refund completed already (by a run that died before answering) is
/// answered as it is.
async fn complete(
    ctx: &AppContext,
    refund_id: i32,
    made: Option<(transactions::Model, String)>,
    actor: &Actor,
) -> AppResult<(RefundView, OrderView)> {
    let settings = Settings::get(ctx);
    let txn = write_txn(&ctx.db).await?;
    let order_id = refunds::Entity::find_by_id(refund_id)
        .one(&ctx.db)
        .await?
        .ok_or(AppError::NotFound)?
        .order_id;
    // The order first, then the refund as it is now: two completions of one refund (a slow
    // request and the sweep) wait for each other, and the second finds it done.
    let order = lock_order(&txn, order_id).await?;
    let refund = refunds::Entity::find_by_id(refund_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if refund.status != RefundStatus::Pending.as_str() {
        let out = (refund_view(&txn, refund).await?, view(&txn, order).await?);
        txn.commit().await?;
        return Ok(out);
    }
    if let Some((claim, provider_ref)) = &made {
        payments::refund_made(&txn, claim.id, provider_ref).await?;
    }
    let number = counters::next(&txn, "credit_note", 1).await?;
    let now = Utc::now().fixed_offset();
    let won = refunds::Entity::update_many()
        .col_expr(
            refunds::Column::Status,
            Expr::value(RefundStatus::Succeeded.as_str()),
        )
        .col_expr(refunds::Column::CreditNoteNumber, Expr::value(number))
        .col_expr(
            refunds::Column::FailureReason,
            Expr::value(Option::<String>::None),
        )
        .col_expr(refunds::Column::UpdatedAt, Expr::value(now))
        .filter(refunds::Column::Id.eq(refund.id))
        .filter(refunds::Column::Status.eq(RefundStatus::Pending.as_str()))
        .exec(&txn)
        .await?;
    if won.rows_affected != 1 {
        // Only possible without the order lock's protection; nothing was written that
        // counts (the counter's number goes back with the rollback).
        txn.rollback().await?;
        return Err(AppError::Conflict(
            "This refund was recorded already.".into(),
        ));
    }
    let lines = refund_lines::Entity::find()
        .filter(refund_lines::Column::RefundId.eq(refund.id))
        .all(&txn)
        .await?;
    let order_lines_rows = order_lines::Entity::find()
        .filter(order_lines::Column::OrderId.eq(order.id))
        .order_by_asc(order_lines::Column::VariantId)
        .all(&txn)
        .await?;
    // Variants in id order, as checkout and the order steps take them (no deadlock).
    let mut availability_changed = false;
    for ol in &order_lines_rows {
        let Some(l) = lines.iter().find(|l| l.order_line_id == ol.id) else {
            continue;
        };
        order_lines::Entity::update_many()
            .col_expr(
                order_lines::Column::RefundedQuantity,
                Expr::col(order_lines::Column::RefundedQuantity).add(l.quantity),
            )
            .filter(order_lines::Column::Id.eq(ol.id))
            .exec(&txn)
            .await?;
        if refund.restock {
            let levels = stock::apply(
                &txn,
                &Change {
                    variant_id: ol.variant_id,
                    reason: StockReason::Restock,
                    quantity: l.quantity,
                    order_id: Some(order.id),
                    purchase_order_id: None,
                    note: &format!(
                        "order {}, credit note {}",
                        order.number,
                        credit_note_reference(number)
                    ),
                    actor,
                },
            )
            .await?;
            availability_changed |= levels.is_some_and(|l| l.availability_flipped);
        }
    }
    orders::Entity::update_many()
        .col_expr(
            orders::Column::RefundedCents,
            Expr::col(orders::Column::RefundedCents).add(refund.amount_cents),
        )
        .filter(orders::Column::Id.eq(order.id))
        .exec(&txn)
        .await?;
    stats::refunded(&txn, &order, refund.amount_cents).await?;
    let paid: i64 = paid_cents(&txn, &order).await?;
    let settled = order.refunded_cents + refund.amount_cents >= paid;
    let mut note = format!(
        "{} back, credit note {}",
        money::format(refund.amount_cents, &order.currency),
        credit_note_reference(number)
    );
    if !refund.reason.is_empty() {
        note = format!("{note}; {}", refund.reason);
    }
    if refund.restock && !lines.is_empty() {
        note.push_str("; goods restocked");
    }
    let step = if refund.cancels {
        Action::Cancel
    } else if settled {
        Action::Refund {
            restock: false,
            reason: Some(note.clone()),
        }
    } else {
        Action::RefundPart { note: note.clone() }
    };
    // The money went back whatever happened to the order meanwhile (an admin cancelled or
    // refunded it in another tab): the refund is recorded, the step only when it still fits.
    let mut after = match act_in(&txn, &settings, order.pid, step, actor).await {
        Ok((_, after)) => after,
        // A cancel that another refund overtook (the order is partly refunded now): nothing is
        // left, so the order is refunded.
        Err(AppError::InvalidTransition(_)) if settled => {
            let whole = Action::Refund {
                restock: false,
                reason: Some(note.clone()),
            };
            match act_in(&txn, &settings, order.pid, whole, actor).await {
                Ok((_, after)) => after,
                Err(AppError::InvalidTransition(_)) => AfterCommit::default(),
                Err(e) => return Err(e),
            }
        }
        Err(AppError::InvalidTransition(_)) => AfterCommit::default(),
        Err(e) => return Err(e),
    };
    let fresh = orders::Entity::find_by_id(order.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let succeeded = refunds::Entity::find_by_id(refund.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let refund_out = refund_view(&txn, succeeded).await?;
    let order_out = view(&txn, fresh.clone()).await?;
    if !refund.cancels {
        // The cancellation mail says the money goes back (and its step reports
        // `order.cancelled`); any other refund has its own mail and `order.refunded`.
        after.merge(announce(&txn, &settings, &fresh, &refund_out, &order_out).await?);
        super::idempotency::answer(&txn, 201, &refund_out).await?;
    }
    after.availability_changed |= availability_changed;
    txn.commit().await?;
    after.run(ctx).await;
    Ok((refund_out, order_out))
}

/// Tells of a refund that went through: the customer's mail (amount, credit note) and the
/// `order.refunded` webhook (the order with the refund), in the caller's transaction.
async fn announce(
    txn: &DatabaseTransaction,
    settings: &Settings,
    order: &orders::Model,
    refund: &RefundView,
    order_out: &OrderView,
) -> AppResult<AfterCommit> {
    let mut after = AfterCommit::default();
    let lines = order_lines::Entity::find()
        .filter(order_lines::Column::OrderId.eq(order.id))
        .order_by_asc(order_lines::Column::Id)
        .all(txn)
        .await?;
    let number = refund.credit_note_number.unwrap_or_default();
    after.mail_ids.push(
        super::orders::queue_mail(
            txn,
            settings,
            order,
            &lines,
            OrderMail::Refunded,
            super::orders::MailAbout {
                paid: true,
                access_token: None,
                extra: json!({
                    "refunded": money::format(refund.amount_cents, &order.currency),
                    "credit_note": credit_note_reference(number),
                    "credit_note_url": format!(
                        "{}/orders/{}/credit-notes/{number}",
                        settings.base_url, order.pid
                    ),
                }),
            },
        )
        .await?,
    );
    let hooks = super::webhooks::subscribed(txn, Event::OrderRefunded).await?;
    let mut body = json!(order_out);
    body["refund"] = json!(refund);
    after.webhook_ids = super::webhooks::record(txn, &hooks, Event::OrderRefunded, body).await?;
    Ok(after)
}

/// What was paid for the order: its succeeded payments, or its total for an order paid
/// without a recorded payment.
async fn paid_cents<C: ConnectionTrait>(db: &C, order: &orders::Model) -> AppResult<i64> {
    let paid: Vec<i64> = transactions::Entity::find()
        .select_only()
        .column(transactions::Column::AmountCents)
        .filter(transactions::Column::OrderId.eq(order.id))
        .filter(transactions::Column::Kind.eq(TransactionKind::Payment.as_str()))
        .filter(transactions::Column::Status.eq(TransactionStatus::Succeeded.as_str()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(if paid.is_empty() {
        order.total_cents
    } else {
        paid.into_iter().sum()
    })
}

/// A refund the provider reports that was made at the provider directly (its dashboard): it
/// is recorded as an amount refund with its credit note, and the order follows. `claim` is
/// the money row just written for it.
///
/// # Errors
/// Database errors.
pub async fn record_external(
    txn: &DatabaseTransaction,
    settings: &Settings,
    order: &orders::Model,
    claim: &transactions::Model,
) -> AppResult<AfterCommit> {
    // The order first (as every refund write), and its money as it is now.
    let order = lock_order(txn, order.id).await?;
    let amount = std::cmp::max(claim.amount_cents, 1);
    let now = Utc::now().fixed_offset();
    let number = counters::next(txn, "credit_note", 1).await?;
    let row = refunds::ActiveModel {
        pid: Set(Uuid::new_v4()),
        order_id: Set(order.id),
        transaction_id: Set(Some(claim.id)),
        amount_cents: Set(amount),
        currency: Set(order.currency.clone()),
        status: Set(RefundStatus::Succeeded.as_str().into()),
        restock: Set(false),
        cancels: Set(false),
        reason: Set("Refunded at the payment provider".into()),
        actor: Set(claim.provider.clone()),
        credit_note_number: Set(Some(number)),
        failure_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    orders::Entity::update_many()
        .col_expr(
            orders::Column::RefundedCents,
            Expr::col(orders::Column::RefundedCents).add(amount),
        )
        .filter(orders::Column::Id.eq(order.id))
        .exec(txn)
        .await?;
    stats::refunded(txn, &order, amount).await?;
    let settled = order.refunded_cents + amount >= paid_cents(txn, &order).await?;
    let note = format!(
        "{} back at the payment provider, credit note {}",
        money::format(amount, &order.currency),
        credit_note_reference(number)
    );
    let step = if settled {
        Action::Refund {
            restock: false,
            reason: Some(note),
        }
    } else {
        Action::RefundPart { note }
    };
    let mut after = match act_in(txn, settings, order.pid, step, &Actor::system("refund")).await {
        Ok((_, after)) => after,
        // Already refunded or cancelled here: the money movement is recorded all the same.
        Err(AppError::InvalidTransition(_)) => AfterCommit::default(),
        Err(e) => return Err(e),
    };
    let fresh = orders::Entity::find_by_id(order.id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let refund_out = refund_view(txn, row).await?;
    let order_out = view(txn, fresh.clone()).await?;
    after.merge(announce(txn, settings, &fresh, &refund_out, &order_out).await?);
    Ok(after)
}

/// How long a claim may stay pending before the sweep takes it for a dead process's: longer
/// than any provider call takes.
const STALE_SECS: i64 = 180;

/// How long after a try that got no clear answer the sweep asks again.
const RETRY_SECS: i64 = 30;

/// Finishes refunds left pending by a process that died (the recovery sweep): asks the
/// provider again with the refund's own key (which answers with the refund made, or makes
/// it) and completes them. Returns how many were finished.
///
/// # Errors
/// Database errors; a provider that still refuses leaves the refund failed.
pub async fn resume_stale(ctx: &AppContext, limit: u64) -> AppResult<usize> {
    let stale = (Utc::now() - Duration::seconds(STALE_SECS)).fixed_offset();
    // One whose last try got no clear answer is asked again sooner.
    let retry = (Utc::now() - Duration::seconds(RETRY_SECS)).fixed_offset();
    let pending = refunds::Entity::find()
        .filter(refunds::Column::Status.eq(RefundStatus::Pending.as_str()))
        .filter(
            sea_orm::Condition::any()
                .add(refunds::Column::UpdatedAt.lt(stale))
                .add(
                    sea_orm::Condition::all()
                        .add(refunds::Column::FailureReason.is_not_null())
                        .add(refunds::Column::UpdatedAt.lt(retry)),
                ),
        )
        .order_by_asc(refunds::Column::UpdatedAt)
        .limit(limit)
        .all(&ctx.db)
        .await?;
    let actor = Actor::system("refund");
    let mut done = 0;
    for r in pending {
        let pid = r.pid;
        match finish(ctx, r, &actor).await {
            Ok(_) => done += 1,
            Err(e) => tracing::warn!(refund = %pid, error = %e, "could not finish a refund"),
        }
    }
    Ok(done)
}

/// The views of refunds, lines named by their order lines (one query per table).
async fn refund_views<C: ConnectionTrait>(
    db: &C,
    rows: Vec<refunds::Model>,
) -> AppResult<Vec<RefundView>> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let lines = refund_lines::Entity::find()
        .filter(refund_lines::Column::RefundId.is_in(rows.iter().map(|r| r.id)))
        .order_by_asc(refund_lines::Column::Id)
        .all(db)
        .await?;
    let ols = order_lines::Entity::find()
        .filter(order_lines::Column::Id.is_in(lines.iter().map(|l| l.order_line_id)))
        .all(db)
        .await?;
    let vpids: Vec<(i32, Uuid)> = variants::Entity::find()
        .select_only()
        .columns([variants::Column::Id, variants::Column::Pid])
        .filter(variants::Column::Id.is_in(ols.iter().map(|l| l.variant_id)))
        .into_tuple()
        .all(db)
        .await?;
    let opids: Vec<(i32, Uuid)> = orders::Entity::find()
        .select_only()
        .columns([orders::Column::Id, orders::Column::Pid])
        .filter(orders::Column::Id.is_in(rows.iter().map(|r| r.order_id)))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| RefundView {
            id: r.pid,
            order_id: opids
                .iter()
                .find(|o| o.0 == r.order_id)
                .map_or_else(Uuid::nil, |o| o.1),
            amount_cents: r.amount_cents,
            currency: r.currency,
            status: RefundStatus::parse(&r.status),
            lines: lines
                .iter()
                .filter(|l| l.refund_id == r.id)
                .filter_map(|l| {
                    let ol = ols.iter().find(|o| o.id == l.order_line_id)?;
                    Some(RefundLineView {
                        variant_id: vpids
                            .iter()
                            .find(|v| v.0 == ol.variant_id)
                            .map_or_else(Uuid::nil, |v| v.1),
                        sku: ol.sku.clone(),
                        name: ol.name.clone(),
                        quantity: l.quantity,
                        amount_cents: l.amount_cents,
                    })
                })
                .collect(),
            restock: r.restock,
            reason: r.reason,
            credit_note_number: r.credit_note_number,
            credit_note_reference: r.credit_note_number.map(credit_note_reference),
            created_at: crate::views::rfc3339(&r.created_at),
        })
        .collect())
}

async fn refund_view<C: ConnectionTrait>(db: &C, row: refunds::Model) -> AppResult<RefundView> {
    refund_views(db, vec![row])
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

/// The succeeded refunds of some orders, oldest first, for their order bodies.
///
/// # Errors
/// Database errors.
pub async fn summaries<C: ConnectionTrait>(
    db: &C,
    order_ids: &[i32],
) -> AppResult<Vec<(i32, RefundSummary)>> {
    if order_ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(refunds::Entity::find()
        .filter(refunds::Column::OrderId.is_in(order_ids.iter().copied()))
        .filter(refunds::Column::Status.eq(RefundStatus::Succeeded.as_str()))
        .order_by_asc(refunds::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|r| {
            Some((
                r.order_id,
                RefundSummary {
                    id: r.pid,
                    amount_cents: r.amount_cents,
                    credit_note_number: r.credit_note_number?,
                    created_at: crate::views::rfc3339(&r.created_at),
                },
            ))
        })
        .collect())
}

/// Every refund of an order (pending and failed ones too, for staff), oldest first.
///
/// # Errors
/// Database errors.
pub async fn of_order<C: ConnectionTrait>(db: &C, order_id: i32) -> AppResult<Vec<RefundView>> {
    let rows = refunds::Entity::find()
        .filter(refunds::Column::OrderId.eq(order_id))
        .order_by_asc(refunds::Column::Id)
        .all(db)
        .await?;
    refund_views(db, rows).await
}

/// The credit note document: the seller, the buyer, the refund and what it corrects.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreditNoteView {
    pub number: i64,
    /// The number as printed, e.g. `CN-000007`.
    pub reference: String,
    pub issued_at: String,
    /// The invoice it corrects, as printed (`null` when the order has none).
    pub invoice_reference: Option<String>,
    pub seller: String,
    pub seller_address: Vec<String>,
    pub seller_vat_id: String,
    pub customer_name: String,
    pub customer_email: String,
    pub refund: RefundView,
    /// The refunded amount's tax at the order's rate, and the amount without it.
    pub tax_rate_bp: i32,
    pub net_cents: i64,
    pub tax_cents: i64,
    pub order_id: Uuid,
    pub order_number: i64,
}

/// Credit note `number` of an order the caller may see.
///
/// # Errors
/// `NotFound` when the order has no such credit note.
pub async fn credit_note<C: ConnectionTrait>(
    db: &C,
    settings: &Settings,
    order: orders::Model,
    number: i64,
) -> AppResult<CreditNoteView> {
    let row = refunds::Entity::find()
        .filter(refunds::Column::OrderId.eq(order.id))
        .filter(refunds::Column::CreditNoteNumber.eq(number))
        .filter(refunds::Column::Status.eq(RefundStatus::Succeeded.as_str()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let issued_at = crate::views::rfc3339(&row.updated_at);
    let refund = refund_view(db, row).await?;
    // The amount that went back includes its tax (it is part of what was paid); the rate is
    // the order's, as on its invoice.
    let rate = i128::from(std::cmp::max(order.tax_rate_bp, 0));
    let gross = i128::from(refund.amount_cents);
    let tax = i64::try_from((gross * rate + (10_000 + rate) / 2) / (10_000 + rate)).unwrap_or(0);
    let (order_id, order_number, tax_rate_bp) = (order.pid, order.number, order.tax_rate_bp);
    let invoice = super::invoices::for_order(db, settings, order).await.ok();
    let (seller, seller_address, seller_vat_id, customer_name, customer_email) = match &invoice {
        Some(i) => (
            i.seller.clone(),
            i.seller_address.clone(),
            i.seller_vat_id.clone(),
            i.customer_name.clone(),
            i.customer_email.clone(),
        ),
        None => (
            settings.shop_name.clone(),
            settings.seller.address_lines(),
            settings.seller.vat_id.trim().to_string(),
            String::new(),
            String::new(),
        ),
    };
    Ok(CreditNoteView {
        number,
        reference: credit_note_reference(number),
        issued_at,
        invoice_reference: invoice.as_ref().map(|i| i.reference.clone()),
        seller,
        seller_address,
        seller_vat_id,
        customer_name,
        customer_email,
        net_cents: refund.amount_cents - tax,
        tax_cents: tax,
        tax_rate_bp,
        refund,
        order_id,
        order_number,
    })
}
