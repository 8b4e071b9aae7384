//! Purchase orders: staff order stock from a supplier and receive it, exactly once.
//!
//! Receiving is a compare-and-set from `open` to `received` followed by one `receipt` ledger
//! row per line, in one transaction: a second receive (a double click, two staff members,
//! a retried request) finds the order no longer open and answers 409.
use chrono::{DateTime, Utc};
use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
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
    domain::{stock::StockReason, validation::FieldErrors},
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
    pub unit_cost_cents: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PurchaseOrderView {
    pub id: Uuid,
    pub number: i64,
    pub supplier: String,
    pub expected_at: Option<String>,
    /// `open` or `received`.
    pub status: String,
    pub lines: Vec<PurchaseOrderLineView>,
    pub total_cost_cents: i64,
    pub created_by: String,
    pub received_at: Option<String>,
    pub received_by: Option<String>,
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
                        unit_cost_cents: l.unit_cost_cents,
                    })
                })
                .collect();
            PurchaseOrderView {
                id: po.pid,
                number: po.number,
                supplier: po.supplier,
                expected_at: po.expected_at.as_ref().map(crate::views::rfc3339),
                status: po.status,
                total_cost_cents: mine
                    .iter()
                    .map(|l| l.unit_cost_cents * i64::from(l.quantity))
                    .sum(),
                lines: mine,
                created_by: po.created_by,
                received_at: po.received_at.as_ref().map(crate::views::rfc3339),
                received_by: po.received_by,
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
            errors.add(&format!("lines[{i}].quantity"), "Must be at least 1.");
        }
        if !(0..=crate::domain::catalogue::MAX_PRICE_CENTS).contains(&l.unit_cost_cents) {
            errors.add(
                &format!("lines[{i}].unit_cost_cents"),
                "Must be zero or more.",
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

/// One page of purchase orders, newest first, optionally only `open` or `received` ones.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &DatabaseConnection,
    status: Option<&str>,
    page: u64,
    page_size: u64,
) -> AppResult<(Vec<PurchaseOrderView>, u64)> {
    let mut q = purchase_orders::Entity::find()
        .order_by_desc(purchase_orders::Column::CreatedAt)
        .order_by_desc(purchase_orders::Column::Id);
    if let Some(s) = status {
        q = q.filter(purchase_orders::Column::Status.eq(s));
    }
    let paginator = q.paginate(db, page_size);
    let count = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((views(db, rows).await?, count))
}

/// Adds the purchase order's quantities to stock, once.
///
/// # Errors
/// `NotFound`; `Conflict` when it was already received.
pub async fn receive(ctx: &AppContext, pid: Uuid, actor: &Actor) -> AppResult<PurchaseOrderView> {
    let txn = write_txn(&ctx.db).await?;
    let po = find(&txn, pid).await?;
    let now = Utc::now();
    let claimed = purchase_orders::Entity::update_many()
        .col_expr(purchase_orders::Column::Status, Expr::value("received"))
        .col_expr(
            purchase_orders::Column::ReceivedAt,
            Expr::value(now.fixed_offset()),
        )
        .col_expr(
            purchase_orders::Column::ReceivedBy,
            Expr::value(actor.label.clone()),
        )
        .col_expr(
            purchase_orders::Column::UpdatedAt,
            Expr::value(now.fixed_offset()),
        )
        .filter(purchase_orders::Column::Id.eq(po.id))
        .filter(purchase_orders::Column::Status.eq("open"))
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(AppError::Conflict(
            "This purchase order has already been received.".into(),
        ));
    }
    let lines = purchase_order_lines::Entity::find()
        .filter(purchase_order_lines::Column::PurchaseOrderId.eq(po.id))
        .order_by_asc(purchase_order_lines::Column::VariantId)
        .all(&txn)
        .await?;
    let note = format!("purchase order {} from {}", po.number, po.supplier);
    for l in &lines {
        stock::apply(
            &txn,
            &Change {
                variant_id: l.variant_id,
                reason: StockReason::Receipt,
                quantity: l.quantity,
                order_id: None,
                purchase_order_id: Some(po.id),
                note: &note,
                actor,
            },
        )
        .await?
        .ok_or_else(|| AppError::Internal("receipt refused by the stock guard".into()))?;
    }
    let fresh = find(&txn, pid).await?;
    let out = views(&txn, vec![fresh])
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    super::idempotency::answer(&txn, 200, &out).await?;
    txn.commit().await?;
    super::catalogue::cache::invalidate(&ctx.cache).await;
    Ok(out)
}
