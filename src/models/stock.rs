//! Stock levels and the stock ledger: every change of a variant's `stock` or `reserved` goes
//! through [`apply`], which makes the change with a guarded update and appends the ledger row
//! with the levels it produced, in the caller's transaction.
//!
//! Design:
//! - The guard is in the `UPDATE … WHERE`: the new levels must satisfy `stock ≥ 0`,
//!   `reserved ≥ 0` and `reserved ≤ stock`. Two checkouts racing for the last unit both run
//!   the update; the database applies them one after the other and the second finds the guard
//!   false (0 rows). That holds on SQLite (one writer at a time) and PostgreSQL (the row lock
//!   makes the second update re-check the guard on the committed row) alike. The CHECK
//!   constraints on `variants` are the second line of defence.
//! - Callers that touch several variants do so in ascending variant id, so two transactions
//!   on PostgreSQL never wait on each other's rows in opposite orders (no deadlock).
use chrono::Utc;
use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::{Expr, ExprTrait, Func, Query},
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::{
    _entities::{orders, products, purchase_orders, stock_ledger, variants},
    actor::Actor,
    db::write_txn,
};
use crate::{
    domain::{stock::StockReason, validation::FieldErrors},
    errors::{AppError, AppResult},
};

/// One change to apply.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub variant_id: i32,
    pub reason: StockReason,
    /// Units moved (reserve, release, sale, receipt, restock) or the signed delta (adjustment).
    pub quantity: i32,
    pub order_id: Option<i32>,
    pub purchase_order_id: Option<i32>,
    pub note: &'a str,
    pub actor: &'a Actor,
}

/// The levels after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    pub stock: i32,
    pub reserved: i32,
    /// Whether the change sold the variant out or brought it back (its available quantity
    /// went from some to none or from none to some): lists filtered by availability change.
    pub availability_flipped: bool,
}

/// Applies `change` if the guard allows it and records it in the ledger.
///
/// Returns `None` (and changes nothing) when the change would make a level negative, reserve
/// more than is on hand, or take stock above the largest level the shop accepts: for a
/// reservation that means "not enough available".
///
/// # Errors
/// Database errors.
pub async fn apply<C: ConnectionTrait>(db: &C, change: &Change<'_>) -> AppResult<Option<Levels>> {
    let (ds, dr) = change.reason.deltas(change.quantity);
    let new_stock = Expr::col(variants::Column::Stock).add(ds);
    let new_reserved = Expr::col(variants::Column::Reserved).add(dr);
    let update = Query::update()
        .table(variants::Entity)
        .value(variants::Column::Stock, new_stock.clone())
        .value(variants::Column::Reserved, new_reserved.clone())
        .value(variants::Column::UpdatedAt, Utc::now().fixed_offset())
        .and_where(Expr::col(variants::Column::Id).eq(change.variant_id))
        .and_where(new_stock.clone().gte(0))
        .and_where(new_reserved.clone().gte(0))
        .and_where(new_reserved.lte(new_stock.clone()))
        .and_where(new_stock.lte(crate::domain::catalogue::MAX_STOCK))
        .returning(
            Query::returning().columns([variants::Column::Stock, variants::Column::Reserved]),
        )
        .to_owned();
    let Some(row) = db.query_one(&update).await? else {
        return Ok(None);
    };
    let (stock, reserved): (i32, i32) = (row.try_get("", "stock")?, row.try_get("", "reserved")?);
    let available_after = stock - reserved;
    let available_before = available_after - (ds - dr);
    let levels = Levels {
        stock,
        reserved,
        availability_flipped: (available_before > 0) != (available_after > 0),
    };
    stock_ledger::ActiveModel {
        pid: Set(Uuid::new_v4()),
        variant_id: Set(change.variant_id),
        reason: Set(change.reason.as_str().to_string()),
        stock_delta: Set(ds),
        reserved_delta: Set(dr),
        stock_after: Set(levels.stock),
        reserved_after: Set(levels.reserved),
        order_id: Set(change.order_id),
        purchase_order_id: Set(change.purchase_order_id),
        note: Set(change.note.chars().take(500).collect()),
        actor: Set(change.actor.label.clone()),
        created_at: Set(Utc::now().into()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(Some(levels))
}

/// Sets a variant's on-hand stock to `target` (the catalogue editor's stock field), recorded as
/// an adjustment of the difference. The variant row is locked first on PostgreSQL so a sale
/// committing in between cannot make the recorded delta wrong.
///
/// # Errors
/// `Conflict` when `target` is below what open orders have reserved; database errors.
pub async fn set_on_hand<C: ConnectionTrait>(
    db: &C,
    variant_id: i32,
    target: i32,
    note: &str,
    actor: &Actor,
) -> AppResult<()> {
    put_on_hand(db, variant_id, target, note, actor, true).await
}

/// The first stock of a variant just created: in the ledger like any level, but not in the
/// audit log, which records changes to what existed.
///
/// # Errors
/// As [`set_on_hand`].
pub async fn set_initial<C: ConnectionTrait>(
    db: &C,
    variant_id: i32,
    target: i32,
    actor: &Actor,
) -> AppResult<()> {
    put_on_hand(db, variant_id, target, "initial stock", actor, false).await
}

async fn put_on_hand<C: ConnectionTrait>(
    db: &C,
    variant_id: i32,
    target: i32,
    note: &str,
    actor: &Actor,
    audited: bool,
) -> AppResult<()> {
    let current = variants::Entity::find_by_id(variant_id)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let delta = target - current.stock;
    if delta == 0 {
        return Ok(());
    }
    if audited {
        audit_stock(db, actor, current.pid, current.stock, target, note).await?;
    }
    let applied = apply(
        db,
        &Change {
            variant_id,
            reason: StockReason::Adjustment,
            quantity: delta,
            order_id: None,
            purchase_order_id: None,
            note,
            actor,
        },
    )
    .await?;
    applied.map(|_| ()).ok_or_else(below_reserved)
}

/// The audit-log row of a manual stock change (an adjustment, the editor's stock field).
async fn audit_stock<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    variant: Uuid,
    before: i32,
    after: i32,
    reason: &str,
) -> AppResult<()> {
    super::audit::record(
        db,
        actor,
        super::audit::Action::StockAdjusted,
        super::audit::Target::new(super::audit::TargetType::Variant, variant),
        Some(serde_json::json!({ "stock": before })),
        Some(serde_json::json!({ "stock": after, "reason": reason })),
    )
    .await
}

fn below_reserved() -> AppError {
    AppError::Conflict("Stock cannot go below the quantity reserved by open orders.".into())
}

/// An admin's manual adjustment (`POST /admin/stock-adjustments`, the inventory page).
#[derive(Debug, Clone)]
pub struct Adjustment {
    pub variant_id: Uuid,
    pub delta: i32,
    pub reason: String,
}

impl Adjustment {
    /// # Errors
    /// Field messages for a zero or huge delta and a missing reason.
    pub fn parse(variant_id: Uuid, delta: i64, reason: &str) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let delta = match i32::try_from(delta) {
            Ok(0) => {
                errors.add("delta", "Must not be zero.");
                0
            }
            Ok(d) if i64::from(d).abs() <= crate::domain::catalogue::MAX_STOCK => d,
            _ => {
                errors.add("delta", "Is too large.");
                0
            }
        };
        let reason = errors.text("reason", reason, 500);
        errors.into_result()?;
        Ok(Self {
            variant_id,
            delta,
            reason,
        })
    }
}

/// Applies a manual adjustment and returns the ledger row it wrote.
///
/// # Errors
/// `NotFound` for an unknown variant; `Conflict` when it would take stock below zero or below
/// what is reserved.
pub async fn adjust(ctx: &AppContext, adj: &Adjustment, actor: &Actor) -> AppResult<LedgerEntry> {
    let txn = write_txn(&ctx.db).await?;
    let variant = variants::Entity::find()
        .filter(variants::Column::Pid.eq(adj.variant_id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let levels = apply(
        &txn,
        &Change {
            variant_id: variant.id,
            reason: StockReason::Adjustment,
            quantity: adj.delta,
            order_id: None,
            purchase_order_id: None,
            note: &adj.reason,
            actor,
        },
    )
    .await?
    .ok_or_else(below_reserved)?;
    let row = stock_ledger::Entity::find()
        .filter(stock_ledger::Column::VariantId.eq(variant.id))
        .order_by_desc(stock_ledger::Column::Id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let entry = entries(&txn, vec![row])
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    audit_stock(
        &txn,
        actor,
        variant.pid,
        entry.stock_after - entry.stock_delta,
        entry.stock_after,
        &adj.reason,
    )
    .await?;
    super::idempotency::answer(&txn, 201, &entry).await?;
    txn.commit().await?;
    if levels.availability_flipped {
        super::catalogue::cache::availability_changed(&ctx.cache).await;
    }
    Ok(entry)
}

/// A ledger row as the API and the admin show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LedgerEntry {
    pub id: Uuid,
    pub product_id: Uuid,
    pub variant_id: Uuid,
    pub sku: String,
    pub product_name: String,
    pub reason: StockReason,
    pub stock_delta: i32,
    pub reserved_delta: i32,
    pub stock_after: i32,
    pub reserved_after: i32,
    pub available_after: i32,
    pub order_id: Option<Uuid>,
    pub order_number: Option<i64>,
    pub purchase_order_id: Option<Uuid>,
    pub note: String,
    pub actor: String,
    pub created_at: String,
}

/// Resolves the ids of ledger rows with batched lookups (no query per row).
async fn entries<C: ConnectionTrait>(
    db: &C,
    rows: Vec<stock_ledger::Model>,
) -> AppResult<Vec<LedgerEntry>> {
    let (vs, ps) =
        super::catalogue::variants_with_products(db, rows.iter().map(|r| r.variant_id)).await?;
    let order_ids: Vec<i32> = rows.iter().filter_map(|r| r.order_id).collect();
    let os: Vec<(i32, Uuid, i64)> = if order_ids.is_empty() {
        vec![]
    } else {
        orders::Entity::find()
            .select_only()
            .columns([
                orders::Column::Id,
                orders::Column::Pid,
                orders::Column::Number,
            ])
            .filter(orders::Column::Id.is_in(order_ids))
            .into_tuple()
            .all(db)
            .await?
    };
    let po_ids: Vec<i32> = rows.iter().filter_map(|r| r.purchase_order_id).collect();
    let pos: Vec<(i32, Uuid)> = if po_ids.is_empty() {
        vec![]
    } else {
        purchase_orders::Entity::find()
            .select_only()
            .columns([purchase_orders::Column::Id, purchase_orders::Column::Pid])
            .filter(purchase_orders::Column::Id.is_in(po_ids))
            .into_tuple()
            .all(db)
            .await?
    };
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let v = vs.iter().find(|v| v.id == r.variant_id)?;
            let p = ps.iter().find(|p| p.id == v.product_id)?;
            let order = r.order_id.and_then(|id| os.iter().find(|o| o.0 == id));
            Some(LedgerEntry {
                id: r.pid,
                product_id: p.pid,
                variant_id: v.pid,
                sku: v.sku.clone(),
                product_name: p.name.clone(),
                reason: StockReason::parse(&r.reason).unwrap_or(StockReason::Adjustment),
                stock_delta: r.stock_delta,
                reserved_delta: r.reserved_delta,
                stock_after: r.stock_after,
                reserved_after: r.reserved_after,
                available_after: r.stock_after - r.reserved_after,
                order_id: order.map(|o| o.1),
                order_number: order.map(|o| o.2),
                purchase_order_id: r
                    .purchase_order_id
                    .and_then(|id| pos.iter().find(|p| p.0 == id).map(|p| p.1)),
                note: r.note,
                actor: r.actor,
                created_at: crate::views::rfc3339(&r.created_at),
            })
        })
        .collect())
}

/// Which ledger rows to list.
#[derive(Debug, Clone, Default)]
pub struct LedgerFilter {
    pub product: Option<Uuid>,
    pub variant: Option<Uuid>,
    pub reason: Option<StockReason>,
}

impl LedgerFilter {
    /// Reads the filter as typed into a query string (API and admin page alike); empty
    /// values mean "any".
    ///
    /// # Errors
    /// Field messages for a malformed id or an unknown reason.
    pub fn parse(product: &str, variant: &str, reason: &str) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut id = |field: &str, v: &str| {
            let v = v.trim();
            if v.is_empty() {
                return None;
            }
            let parsed = Uuid::parse_str(v).ok();
            if parsed.is_none() {
                errors.add(field, "Must be an id.");
            }
            parsed
        };
        let product = id("product", product);
        let variant = id("variant", variant);
        let reason = match reason.trim() {
            "" => None,
            r => {
                let parsed = StockReason::parse(r);
                if parsed.is_none() {
                    errors.add("reason", "Unknown reason.");
                }
                parsed
            }
        };
        errors.into_result()?;
        Ok(Self {
            product,
            variant,
            reason,
        })
    }
}

/// One page of the ledger, newest first.
///
/// # Errors
/// `NotFound` for an unknown product or variant filter; database errors.
pub async fn ledger(
    db: &sea_orm::DatabaseConnection,
    filter: &LedgerFilter,
    page: u64,
    page_size: u64,
) -> AppResult<(Vec<LedgerEntry>, u64)> {
    let mut q = stock_ledger::Entity::find().order_by_desc(stock_ledger::Column::Id);
    if let Some(pid) = filter.variant {
        let v = variants::Entity::find()
            .filter(variants::Column::Pid.eq(pid))
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        q = q.filter(stock_ledger::Column::VariantId.eq(v.id));
    }
    if let Some(pid) = filter.product {
        let p = products::Entity::find()
            .filter(products::Column::Pid.eq(pid))
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        q = q.filter(
            stock_ledger::Column::VariantId.in_subquery(
                Query::select()
                    .column(variants::Column::Id)
                    .from(variants::Entity)
                    .and_where(Expr::col(variants::Column::ProductId).eq(p.id))
                    .to_owned(),
            ),
        );
    }
    if let Some(r) = filter.reason {
        q = q.filter(stock_ledger::Column::Reason.eq(r.as_str()));
    }
    let paginator = q.paginate(db, page_size);
    let count = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((entries(db, rows).await?, count))
}

/// The rows a purchase order's deliveries wrote, oldest first (its page shows them).
///
/// # Errors
/// Database errors.
pub async fn of_purchase_order<C: ConnectionTrait>(
    db: &C,
    purchase_order_id: i32,
) -> AppResult<Vec<LedgerEntry>> {
    let rows = stock_ledger::Entity::find()
        .filter(stock_ledger::Column::PurchaseOrderId.eq(purchase_order_id))
        .order_by_asc(stock_ledger::Column::Id)
        .all(db)
        .await?;
    entries(db, rows).await
}

/// Resolves a product-or-variant reference (API.md: lines name a `variant_id`, or a
/// `product_id` for a product with one variant) to the variant row.
///
/// # Errors
/// Field messages under `field` for unknown ids or a product with several variants.
pub async fn resolve_variant<C: ConnectionTrait>(
    db: &C,
    field: &str,
    product_id: Option<Uuid>,
    variant_id: Option<Uuid>,
) -> Result<variants::Model, AppError> {
    if let Some(vid) = variant_id {
        let v = variants::Entity::find()
            .filter(variants::Column::Pid.eq(vid))
            .one(db)
            .await?
            .ok_or_else(|| FieldErrors::single(field, "No such variant."))?;
        if let Some(pid) = product_id {
            let p = products::Entity::find_by_id(v.product_id).one(db).await?;
            if p.is_none_or(|p| p.pid != pid) {
                return Err(
                    FieldErrors::single(field, "The variant is not of this product.").into(),
                );
            }
        }
        return Ok(v);
    }
    let Some(pid) = product_id else {
        return Err(FieldErrors::single(field, "Name a variant_id or a product_id.").into());
    };
    let p = products::Entity::find()
        .filter(products::Column::Pid.eq(pid))
        .one(db)
        .await?
        .ok_or_else(|| FieldErrors::single(field, "No such product."))?;
    let mut vs = variants::Entity::find()
        .filter(variants::Column::ProductId.eq(p.id))
        .limit(2)
        .all(db)
        .await?;
    if vs.len() != 1 {
        return Err(FieldErrors::single(
            field,
            "This product has several variants: name the variant_id.",
        )
        .into());
    }
    Ok(vs.remove(0))
}

/// Sums of the ledger per variant, for checking that it explains the current levels.
///
/// # Errors
/// Database errors.
pub async fn ledger_sums<C: ConnectionTrait>(db: &C, variant_id: i32) -> AppResult<(i64, i64)> {
    let sums: Option<(Option<i64>, Option<i64>)> = stock_ledger::Entity::find()
        .select_only()
        .column_as(
            Expr::from(Func::sum(Expr::col(stock_ledger::Column::StockDelta))),
            "s",
        )
        .column_as(
            Expr::from(Func::sum(Expr::col(stock_ledger::Column::ReservedDelta))),
            "r",
        )
        .filter(stock_ledger::Column::VariantId.eq(variant_id))
        .into_tuple()
        .one(db)
        .await?;
    let (s, r) = sums.unwrap_or((None, None));
    Ok((s.unwrap_or(0), r.unwrap_or(0)))
}
