//! The back office's read of stock levels: every variant with its product, what is on hand,
//! reserved and available, for the inventory page; and the SKU lookup purchase-order forms use.
//!
//! Design:
//! - Read only. Levels change through [`super::stock`] (the ledger), never here.
//! - One query joins variants with their products (plus one count), whatever the page size:
//!   no query per row.
//! - "Low" is the stock check's rule (`stock - reserved <= low_stock_threshold`, see
//!   [`super::notifications::check_stock`]), so the page and the notifications agree.
use std::collections::BTreeMap;

use sea_orm::{
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
    Condition, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, JoinType, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use uuid::Uuid;

use super::_entities::{products, variants};
use crate::errors::AppResult;

/// Which variants to list.
#[derive(Debug, Clone, Default)]
pub struct InventoryFilter {
    /// Part of the product name or of the SKU, any case.
    pub q: String,
    /// Only variants at or under their low-stock threshold, the shortest first.
    pub low_only: bool,
}

/// One variant as the inventory page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct InventoryRow {
    pub variant_id: Uuid,
    pub product_id: Uuid,
    pub product_name: String,
    pub product_active: bool,
    pub sku: String,
    pub options: BTreeMap<String, String>,
    pub stock: i32,
    pub reserved: i32,
    /// `stock - reserved`: what can still be sold.
    pub available: i32,
    pub low_stock_threshold: i32,
    /// At or under the threshold.
    pub low: bool,
}

#[derive(Debug, FromQueryResult)]
struct Joined {
    variant_pid: Uuid,
    product_pid: Uuid,
    product_name: String,
    product_active: bool,
    sku: String,
    options: String,
    stock: i32,
    reserved: i32,
    low_stock_threshold: i32,
}

/// `%` and `_` typed into the search box are matched literally.
fn contains_pattern(q: &str) -> LikeExpr {
    let mut p = String::with_capacity(q.len() + 2);
    p.push('%');
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    LikeExpr::new(p).escape('\\')
}

/// Variants (joined with their products) whose product name or SKU contains `text`, any case.
fn name_or_sku_contains(text: &str) -> Condition {
    let pattern = contains_pattern(text);
    let lower = |c: Expr| Expr::expr(Func::lower(c));
    Condition::any()
        .add(lower(Expr::col((products::Entity, products::Column::Name))).like(pattern.clone()))
        .add(lower(Expr::col((variants::Entity, variants::Column::Sku))).like(pattern))
}

fn product_join() -> sea_orm::RelationDef {
    variants::Entity::belongs_to(products::Entity)
        .from(variants::Column::ProductId)
        .to(products::Column::Id)
        .into()
}

/// One page of variants with their products' names, by product name (or, for `low_only`,
/// least available first), and the number of matching variants.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &DatabaseConnection,
    filter: &InventoryFilter,
    page: u64,
    page_size: u64,
) -> AppResult<(Vec<InventoryRow>, u64)> {
    let v = |c: variants::Column| Expr::col((variants::Entity, c));
    let available = v(variants::Column::Stock).sub(v(variants::Column::Reserved));
    let mut q = variants::Entity::find()
        .select_only()
        .column_as(variants::Column::Pid, "variant_pid")
        .column_as(products::Column::Pid, "product_pid")
        .column_as(products::Column::Name, "product_name")
        .column_as(products::Column::Active, "product_active")
        .column_as(variants::Column::Sku, "sku")
        .column_as(variants::Column::Options, "options")
        .column_as(variants::Column::Stock, "stock")
        .column_as(variants::Column::Reserved, "reserved")
        .column_as(variants::Column::LowStockThreshold, "low_stock_threshold")
        .join(JoinType::InnerJoin, product_join());
    let text = filter.q.trim();
    if !text.is_empty() {
        q = q.filter(name_or_sku_contains(text));
    }
    if filter.low_only {
        q = q
            .filter(
                available
                    .clone()
                    .lte(v(variants::Column::LowStockThreshold)),
            )
            .order_by(available, Order::Asc);
    }
    let q = q
        .order_by_asc(products::Column::Name)
        .order_by_asc(variants::Column::Position)
        .order_by_asc(variants::Column::Id)
        .into_model::<Joined>();
    let paginator = q.paginate(db, page_size);
    let count = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((
        rows.into_iter()
            .map(|r| {
                let available = r.stock - r.reserved;
                InventoryRow {
                    variant_id: r.variant_pid,
                    product_id: r.product_pid,
                    product_name: r.product_name,
                    product_active: r.product_active,
                    sku: r.sku,
                    options: serde_json::from_str(&r.options).unwrap_or_default(),
                    stock: r.stock,
                    reserved: r.reserved,
                    available,
                    low_stock_threshold: r.low_stock_threshold,
                    low: available <= r.low_stock_threshold,
                }
            })
            .collect(),
        count,
    ))
}

/// The variants with exactly these SKUs (SKUs are unique), in one query; unknown SKUs are
/// simply absent from the result.
///
/// # Errors
/// Database errors.
pub async fn find_by_skus<C: ConnectionTrait>(
    db: &C,
    skus: &[String],
) -> AppResult<Vec<variants::Model>> {
    if skus.is_empty() {
        return Ok(Vec::new());
    }
    // Staff type SKUs in any case.
    Ok(variants::Entity::find()
        .filter(
            Expr::expr(Func::lower(Expr::col(variants::Column::Sku)))
                .is_in(skus.iter().map(|s| s.to_lowercase())),
        )
        .all(db)
        .await?)
}

/// Up to `limit` (SKU, product name) pairs whose SKU or product name contains `q` (any case),
/// by SKU: the purchase-order form's picker.
///
/// # Errors
/// Database errors.
pub async fn search_skus<C: ConnectionTrait>(
    db: &C,
    q: &str,
    limit: u64,
) -> AppResult<Vec<(String, String)>> {
    let q: String = q.trim().chars().take(64).collect();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    Ok(variants::Entity::find()
        .select_only()
        .column(variants::Column::Sku)
        .column(products::Column::Name)
        .join(JoinType::InnerJoin, product_join())
        .filter(name_or_sku_contains(&q))
        .order_by_asc(variants::Column::Sku)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}
