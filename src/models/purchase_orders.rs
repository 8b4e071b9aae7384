//! Purchase orders: staff order stock from a supplier and receive it, whole or in parts.
//!
//! A delivery is one transaction: it takes the purchase order's row (a write that waits for
//! any other delivery of the same order), reads what is still to come, adds each line's
//! `received_quantity` under a guard that it never passes what was ordered, writes one
//! `receipt` ledger row per line and moves the status by [`po::next`]. So two staff members
//! receiving the same box, or a retried request, can never count goods in twice: the second
//! finds less (or nothing) still to come and is refused. Cancelling is the same compare-and-set
//! from `open`, so it cannot race a first delivery.
use chrono::{DateTime, Utc};
use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::{
    _entities::{purchase_order_lines, purchase_orders},
    actor::Actor,
    counters,
    db::write_txn,
    stock::{self, Change},
};
use crate::{
    domain::{
        purchase_order::{self as po, LineState, PoEvent, PoStatus},
        stock::StockReason,
        validation::FieldErrors,
    },
    errors::{AppError, AppResult},
};

pub const MAX_LINES: usize = 200;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PurchaseOrderLineView {
    pub product_id: Uuid,
    pub variant_id: Uuid,
    pub sku: String,
    pub name: String,
    pub quantity: i32,
    /// How many of `quantity` have arrived.
    pub received_quantity: i32,
    pub unit_cost_cents: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PurchaseOrderView {
    pub id: Uuid,
    pub number: i64,
    pub supplier: String,
    pub expected_at: Option<String>,
    pub status: PoStatus,
    pub lines: Vec<PurchaseOrderLineView>,
    pub total_cost_cents: i64,
    pub created_by: String,
    /// When the last line came in (the order became `received`), and who received it.
    pub received_at: Option<String>,
    pub received_by: Option<String>,
    pub cancelled_at: Option<String>,
    pub cancelled_by: Option<String>,
    pub created_at: String,
}

/// One line as given: a variant, or a product with one variant.
#[derive(Debug, Clone)]
pub struct LineInput {
    pub product_id: Option<Uuid>,
    pub variant_id: Option<Uuid>,
    pub quantity: i64,
    pub unit_cost_cents: i64,
}

#[derive(Debug, Clone)]
pub struct PurchaseOrderInput {
    pub supplier: String,
    pub expected_at: Option<DateTime<Utc>>,
    pub lines: Vec<LineInput>,
}

async fn views<C: ConnectionTrait>(
    db: &C,
    list: Vec<purchase_orders::Model>,
) -> AppResult<Vec<PurchaseOrderView>> {
    let lines = purchase_order_lines::Entity::find()
        .filter(purchase_order_lines::Column::PurchaseOrderId.is_in(list.iter().map(|p| p.id)))
        .order_by_asc(purchase_order_lines::Column::Id)
        .all(db)
        .await?;
    let (vs, ps) =
        super::catalogue::variants_with_products(db, lines.iter().map(|l| l.variant_id)).await?;
    Ok(list
        .into_iter()
        .map(|po| {
            let mine: Vec<PurchaseOrderLineView> = lines
                .iter()
                .filter(|l| l.purchase_order_id == po.id)
                .filter_map(|l| {
                    let v = vs.iter().find(|v| v.id == l.variant_id)?;
                    let p = ps.iter().find(|p| p.id == v.product_id)?;
                    Some(PurchaseOrderLineView {
                        product_id: p.pid,
                        variant_id: v.pid,
                        sku: v.sku.clone(),
                        name: p.name.clone(),
                        quantity: l.quantity,
                        received_quantity: l.received_quantity,
                        unit_cost_cents: l.unit_cost_cents,
                    })
                })
                .collect();
            PurchaseOrderView {
                id: po.pid,
                number: po.number,
                supplier: po.supplier,
                expected_at: po.expected_at.as_ref().map(crate::views::rfc3339),
                status: PoStatus::parse(&po.status).unwrap_or(PoStatus::Open),
                total_cost_cents: mine
                    .iter()
                    .map(|l| l.unit_cost_cents * i64::from(l.quantity))
                    .sum(),
                lines: mine,
                created_by: po.created_by,
                received_at: po.received_at.as_ref().map(crate::views::rfc3339),
                received_by: po.received_by,
                cancelled_at: po.cancelled_at.as_ref().map(crate::views::rfc3339),
                cancelled_by: po.cancelled_by,
                created_at: crate::views::rfc3339(&po.created_at),
            }
        })
        .collect())
}

/// # Errors
/// Field messages for a missing supplier, no lines, bad quantities or unknown products.
pub async fn create(
    ctx: &AppContext,
    input: PurchaseOrderInput,
    actor: &Actor,
) -> AppResult<PurchaseOrderView> {
    let mut errors = FieldErrors::new();
    let supplier = errors.text("supplier", &input.supplier, 200);
    if input.lines.is_empty() {
        errors.add("lines", "Add at least one line.");
    } else if input.lines.len() > MAX_LINES {
        errors.add("lines", format!("At most {MAX_LINES} lines."));
    }
    for (i, l) in input.lines.iter().enumerate() {
        if !(1..=crate::domain::catalogue::MAX_STOCK).contains(&l.quantity) {
            errors.add(
                &format!("lines[{i}].quantity"),
                format!(
                    "Must be between 1 and {}.",
                    crate::domain::catalogue::MAX_STOCK
                ),
            );
        }
        if !(0..=crate::domain::catalogue::MAX_PRICE_CENTS).contains(&l.unit_cost_cents) {
            errors.add(
                &format!("lines[{i}].unit_cost_cents"),
                format!(
                    "Must be between 0 and {}.",
                    crate::domain::catalogue::MAX_PRICE_CENTS
                ),
            );
        }
    }
    errors.into_result()?;
    let txn = write_txn(&ctx.db).await?;
    let mut resolved = Vec::new();
    let mut errors = FieldErrors::new();
    for (i, l) in input.lines.iter().enumerate() {
        match stock::resolve_variant(&txn, &format!("lines[{i}]"), l.product_id, l.variant_id).await
        {
            Ok(v) => resolved.push((v, l)),
            Err(AppError::Validation(f)) => {
                for (k, msgs) in f.0 {
                    for m in msgs {
                        errors.add(&k, m);
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    errors.into_result()?;
    let now = Utc::now();
    let number = counters::next(&txn, "purchase_order", 1).await?;
    let po = purchase_orders::ActiveModel {
        pid: Set(Uuid::new_v4()),
        number: Set(number),
        supplier: Set(supplier),
        expected_at: Set(input.expected_at.map(|t| t.fixed_offset())),
        status: Set("open".into()),
        created_by: Set(actor.label.clone()),
        received_at: Set(None),
        received_by: Set(None),
        created_at: Set(now.into()),
        updated_at: Set(now.into()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for (v, l) in resolved {
        purchase_order_lines::ActiveModel {
            purchase_order_id: Set(po.id),
            variant_id: Set(v.id),
            quantity: Set(i32::try_from(l.quantity).unwrap_or(0)),
            unit_cost_cents: Set(l.unit_cost_cents),
            received_quantity: Set(0),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    let out = views(&txn, vec![po])
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    super::idempotency::answer(&txn, 201, &out).await?;
    txn.commit().await?;
    Ok(out)
}

async fn find<C: ConnectionTrait>(db: &C, pid: Uuid) -> AppResult<purchase_orders::Model> {
    purchase_orders::Entity::find()
        .filter(purchase_orders::Column::Pid.eq(pid))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// # Errors
/// `NotFound`.
pub async fn show(db: &DatabaseConnection, pid: Uuid) -> AppResult<PurchaseOrderView> {
    let po = find(db, pid).await?;
    views(db, vec![po]).await?.pop().ok_or(AppError::NotFound)
}

/// One page of purchase orders, newest first, optionally only those in one status.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &DatabaseConnection,
    status: Option<PoStatus>,
    page: u64,
    page_size: u64,
) -> AppResult<(Vec<PurchaseOrderView>, u64)> {
    let mut q = purchase_orders::Entity::find()
        .order_by_desc(purchase_orders::Column::CreatedAt)
        .order_by_desc(purchase_orders::Column::Id);
    if let Some(s) = status {
        q = q.filter(purchase_orders::Column::Status.eq(s.as_str()));
    }
    let paginator = q.paginate(db, page_size);
    let count = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((views(db, rows).await?, count))
}

/// What a delivery brings: `None` for everything still to come, or `(variant id, quantity)`
/// pairs for part of it.
pub type Delivery = Option<Vec<(Uuid, i64)>>;

/// Takes the purchase order for this transaction. The update is the lock: on PostgreSQL it
/// holds the row until commit, so a racing delivery or cancel waits and then reads what this
/// one wrote (on SQLite the write transaction already runs alone).
async fn take<C: ConnectionTrait>(db: &C, pid: Uuid) -> AppResult<purchase_orders::Model> {
    let taken = purchase_orders::Entity::update_many()
        .col_expr(
            purchase_orders::Column::UpdatedAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .filter(purchase_orders::Column::Pid.eq(pid))
        .exec(db)
        .await?;
    if taken.rows_affected != 1 {
        return Err(AppError::NotFound);
    }
    find(db, pid).await
}

async fn view_of<C: ConnectionTrait>(db: &C, pid: Uuid) -> AppResult<PurchaseOrderView> {
    views(db, vec![find(db, pid).await?])
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

fn status_of(row: &purchase_orders::Model) -> PoStatus {
    PoStatus::parse(&row.status).unwrap_or(PoStatus::Open)
}

/// Adds a delivery to stock: everything still to come, or the part named.
///
/// # Errors
/// `NotFound`; `Conflict` when nothing more can be received (already received or cancelled);
/// field messages for a part that names other goods or more than is still to come.
pub async fn receive(
    ctx: &AppContext,
    pid: Uuid,
    delivery: Delivery,
    actor: &Actor,
) -> AppResult<PurchaseOrderView> {
    if delivery.as_ref().is_some_and(|d| d.len() > MAX_LINES) {
        return Err(FieldErrors::single("lines", format!("At most {MAX_LINES} lines.")).into());
    }
    let txn = write_txn(&ctx.db).await?;
    let order = take(&txn, pid).await?;
    let from = status_of(&order);
    // A finished order refuses any delivery with its own sentence, before the lines are read.
    po::next(from, PoEvent::Receive { complete: true }).map_err(AppError::Conflict)?;
    let lines = purchase_order_lines::Entity::find()
        .filter(purchase_order_lines::Column::PurchaseOrderId.eq(order.id))
        .order_by_asc(purchase_order_lines::Column::Id)
        .all(&txn)
        .await?;
    let (variants, _) =
        super::catalogue::variants_with_products(&txn, lines.iter().map(|l| l.variant_id)).await?;
    let state: Vec<LineState<i32>> = lines
        .iter()
        .map(|l| LineState {
            variant: l.variant_id,
            ordered: l.quantity,
            received: l.received_quantity,
        })
        .collect();
    // The delivery's variant ids, as the lines know them (an unknown id stays `None`).
    let asked: Option<Vec<(Option<i32>, i64)>> = delivery.map(|parts| {
        parts
            .into_iter()
            .map(|(vpid, q)| (variants.iter().find(|v| v.pid == vpid).map(|v| v.id), q))
            .collect()
    });
    let plan = po::plan_receipt(&state, asked.as_deref())?;
    if plan.is_empty() {
        return Err(AppError::Conflict(
            "Everything on this purchase order has already been received.".into(),
        ));
    }
    let complete = po::complete_after(&state, &plan);
    let to = po::next(from, PoEvent::Receive { complete }).map_err(AppError::Conflict)?;
    let note = if complete && from == PoStatus::Open {
        format!("purchase order {} from {}", order.number, order.supplier)
    } else {
        format!(
            "purchase order {} from {} (part delivery)",
            order.number, order.supplier
        )
    };
    let mut availability_changed = false;
    for (j, quantity) in &plan {
        let line = &lines[*j];
        let counted = purchase_order_lines::Entity::update_many()
            .col_expr(
                purchase_order_lines::Column::ReceivedQuantity,
                Expr::col(purchase_order_lines::Column::ReceivedQuantity).add(*quantity),
            )
            .filter(purchase_order_lines::Column::Id.eq(line.id))
            .filter(
                Expr::col(purchase_order_lines::Column::ReceivedQuantity)
                    .add(*quantity)
                    .lte(Expr::col(purchase_order_lines::Column::Quantity)),
            )
            .exec(&txn)
            .await?;
        if counted.rows_affected != 1 {
            return Err(AppError::Conflict(
                "Another delivery of this purchase order was received at the same moment: reload and try again.".into(),
            ));
        }
        let levels = stock::apply(
            &txn,
            &Change {
                variant_id: line.variant_id,
                reason: StockReason::Receipt,
                quantity: *quantity,
                order_id: None,
                purchase_order_id: Some(order.id),
                note: &note,
                actor,
            },
        )
        .await?
        .ok_or_else(|| {
            AppError::Conflict(format!(
                "This delivery would take a variant's stock past {}: correct the stock first.",
                crate::domain::catalogue::MAX_STOCK
            ))
        })?;
        availability_changed |= levels.availability_flipped;
    }
    let now = Utc::now().fixed_offset();
    let mut update = purchase_orders::Entity::update_many()
        .col_expr(purchase_orders::Column::Status, Expr::value(to.as_str()))
        .col_expr(purchase_orders::Column::UpdatedAt, Expr::value(now))
        .filter(purchase_orders::Column::Id.eq(order.id))
        .filter(purchase_orders::Column::Status.eq(from.as_str()));
    if to == PoStatus::Received {
        update = update
            .col_expr(purchase_orders::Column::ReceivedAt, Expr::value(now))
            .col_expr(
                purchase_orders::Column::ReceivedBy,
                Expr::value(actor.label.clone()),
            );
    }
    if update.exec(&txn).await?.rows_affected != 1 {
        return Err(AppError::Conflict(
            "This purchase order changed while the delivery was counted: reload and try again."
                .into(),
        ));
    }
    let out = view_of(&txn, pid).await?;
    super::idempotency::answer(&txn, 200, &out).await?;
    txn.commit().await?;
    if availability_changed {
        super::catalogue::cache::availability_changed(&ctx.cache).await;
    }
    Ok(out)
}

/// Cancels a purchase order sent by mistake, while nothing of it has arrived.
///
/// # Errors
/// `NotFound`; `Conflict` once anything was received, or when already cancelled.
pub async fn cancel(ctx: &AppContext, pid: Uuid, actor: &Actor) -> AppResult<PurchaseOrderView> {
    let txn = write_txn(&ctx.db).await?;
    let order = take(&txn, pid).await?;
    let from = status_of(&order);
    let to = po::next(from, PoEvent::Cancel).map_err(AppError::Conflict)?;
    let now = Utc::now().fixed_offset();
    let done = purchase_orders::Entity::update_many()
        .col_expr(purchase_orders::Column::Status, Expr::value(to.as_str()))
        .col_expr(purchase_orders::Column::CancelledAt, Expr::value(now))
        .col_expr(
            purchase_orders::Column::CancelledBy,
            Expr::value(actor.label.clone()),
        )
        .col_expr(purchase_orders::Column::UpdatedAt, Expr::value(now))
        .filter(purchase_orders::Column::Id.eq(order.id))
        .filter(purchase_orders::Column::Status.eq(from.as_str()))
        .exec(&txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(AppError::Conflict(
            "This purchase order changed at the same moment: reload and try again.".into(),
        ));
    }
    let out = view_of(&txn, pid).await?;
    super::idempotency::answer(&txn, 200, &out).await?;
    txn.commit().await?;
    Ok(out)
}

/// The receipt rows a purchase order wrote into the stock ledger, oldest first.
///
/// # Errors
/// `NotFound`; database errors.
pub async fn receipts(db: &DatabaseConnection, pid: Uuid) -> AppResult<Vec<stock::LedgerEntry>> {
    let order = find(db, pid).await?;
    stock::of_purchase_order(db, order.id).await
}
