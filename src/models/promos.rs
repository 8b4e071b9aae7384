//! Promo codes: admin CRUD, lookup for carts, and usage that counts only placed orders.
//!
//! Usage is taken by [`redeem`] inside the checkout transaction with a conditional increment
//! (`used_count < usage_limit`), so the last use of a code goes to exactly one order however
//! many checkouts race for it; [`release`] gives it back when the order is cancelled or
//! expires. The per-customer limit counts the customer's unreleased redemptions; checkouts of
//! one customer are serialised by the lock on their cart.
use chrono::{DateTime, Utc};
use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::_entities::{promo_codes, promo_redemptions};
use crate::{
    domain::promo::{normalise_code, PromoDraft, PromoKind, PromoRejection, PromoRules},
    errors::{AppError, AppResult, DbResultExt},
};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PromoView {
    pub id: Uuid,
    pub code: String,
    pub kind: PromoKind,
    /// Minor units for `fixed`, basis points for `percent`.
    pub value: i64,
    pub max_discount_cents: Option<i64>,
    pub min_subtotal_cents: Option<i64>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub usage_limit: Option<i32>,
    pub per_customer_limit: Option<i32>,
    pub used_count: i32,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&promo_codes::Model> for PromoView {
    fn from(p: &promo_codes::Model) -> Self {
        Self {
            id: p.pid,
            code: p.code.clone(),
            kind: PromoKind::parse(&p.kind).unwrap_or(PromoKind::Fixed),
            value: p.value,
            max_discount_cents: p.max_discount_cents,
            min_subtotal_cents: p.min_subtotal_cents,
            starts_at: p.starts_at.as_ref().map(crate::views::rfc3339),
            ends_at: p.ends_at.as_ref().map(crate::views::rfc3339),
            usage_limit: p.usage_limit,
            per_customer_limit: p.per_customer_limit,
            used_count: p.used_count,
            active: p.active,
            created_at: crate::views::rfc3339(&p.created_at),
            updated_at: crate::views::rfc3339(&p.updated_at),
        }
    }
}

/// The pure rules of a stored code.
#[must_use]
pub fn rules(p: &promo_codes::Model) -> PromoRules {
    PromoRules {
        kind: PromoKind::parse(&p.kind).unwrap_or(PromoKind::Fixed),
        value: p.value,
        max_discount_cents: p.max_discount_cents,
        min_subtotal_cents: p.min_subtotal_cents,
        starts_at: p.starts_at.map(|t| t.with_timezone(&Utc)),
        ends_at: p.ends_at.map(|t| t.with_timezone(&Utc)),
        usage_limit: p.usage_limit,
        per_customer_limit: p.per_customer_limit,
        used_count: p.used_count,
        active: p.active,
    }
}

/// # Errors
/// Database errors.
pub async fn find_by_code<C: ConnectionTrait>(
    db: &C,
    code: &str,
) -> AppResult<Option<promo_codes::Model>> {
    let code = normalise_code(code);
    if code.is_empty() || code.len() > crate::domain::promo::MAX_CODE_LEN * 4 {
        return Ok(None);
    }
    Ok(promo_codes::Entity::find()
        .filter(promo_codes::Column::Code.eq(code))
        .one(db)
        .await?)
}

/// How often `user_id` has used the code in orders that still count.
///
/// # Errors
/// Database errors.
pub async fn customer_uses<C: ConnectionTrait>(
    db: &C,
    promo_id: i32,
    user_id: i32,
) -> AppResult<i64> {
    let n = promo_redemptions::Entity::find()
        .filter(promo_redemptions::Column::PromoCodeId.eq(promo_id))
        .filter(promo_redemptions::Column::UserId.eq(user_id))
        .filter(promo_redemptions::Column::ReleasedAt.is_null())
        .count(db)
        .await?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Takes one use of the code for `order_id`, atomically against its total limit.
///
/// # Errors
/// `PromoRejection::UsedUp` (as a validation error) when another order took the last use.
pub async fn redeem<C: ConnectionTrait>(
    db: &C,
    promo: &promo_codes::Model,
    order_id: i32,
    user_id: Option<i32>,
) -> AppResult<()> {
    let taken = promo_codes::Entity::update_many()
        .col_expr(
            promo_codes::Column::UsedCount,
            Expr::col(promo_codes::Column::UsedCount).add(1),
        )
        .filter(promo_codes::Column::Id.eq(promo.id))
        .filter(
            Condition::any()
                .add(promo_codes::Column::UsageLimit.is_null())
                .add(
                    Expr::col(promo_codes::Column::UsedCount)
                        .lt(Expr::col(promo_codes::Column::UsageLimit)),
                ),
        )
        .exec(db)
        .await?;
    if taken.rows_affected != 1 {
        return Err(rejected(PromoRejection::UsedUp));
    }
    promo_redemptions::ActiveModel {
        promo_code_id: Set(promo.id),
        order_id: Set(order_id),
        user_id: Set(user_id),
        released_at: Set(None),
        created_at: Set(Utc::now().into()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Gives back the use an order took, once (a second call finds nothing to release).
///
/// # Errors
/// Database errors.
pub async fn release<C: ConnectionTrait>(db: &C, order_id: i32) -> AppResult<()> {
    let Some(r) = promo_redemptions::Entity::find()
        .filter(promo_redemptions::Column::OrderId.eq(order_id))
        .filter(promo_redemptions::Column::ReleasedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let released = promo_redemptions::Entity::update_many()
        .col_expr(
            promo_redemptions::Column::ReleasedAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .filter(promo_redemptions::Column::Id.eq(r.id))
        .filter(promo_redemptions::Column::ReleasedAt.is_null())
        .exec(db)
        .await?;
    if released.rows_affected == 1 {
        promo_codes::Entity::update_many()
            .col_expr(
                promo_codes::Column::UsedCount,
                Expr::col(promo_codes::Column::UsedCount).sub(1),
            )
            .filter(promo_codes::Column::Id.eq(r.promo_code_id))
            .filter(promo_codes::Column::UsedCount.gt(0))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// A promo rejection as the API and forms show it: a message on the `code` field.
#[must_use]
pub fn rejected(r: PromoRejection) -> AppError {
    AppError::Validation(crate::domain::validation::FieldErrors::single(
        "code",
        r.to_string(),
    ))
}

fn to_fixed(t: Option<DateTime<Utc>>) -> Option<sea_orm::prelude::DateTimeWithTimeZone> {
    t.map(|t| t.fixed_offset())
}

fn duplicate() -> AppError {
    AppError::Conflict("A promo code with this code already exists.".into())
}

/// # Errors
/// `Conflict` for a duplicate code.
pub async fn create(ctx: &AppContext, d: PromoDraft) -> AppResult<PromoView> {
    let now = Utc::now().into();
    let txn = super::db::write_txn(&ctx.db).await?;
    let row = promo_codes::ActiveModel {
        pid: Set(Uuid::new_v4()),
        code: Set(d.code),
        kind: Set(d.kind.as_str().to_string()),
        value: Set(d.value),
        max_discount_cents: Set(d.max_discount_cents),
        min_subtotal_cents: Set(d.min_subtotal_cents),
        starts_at: Set(to_fixed(d.starts_at)),
        ends_at: Set(to_fixed(d.ends_at)),
        usage_limit: Set(d.usage_limit),
        per_customer_limit: Set(d.per_customer_limit),
        used_count: Set(0),
        active: Set(d.active),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .on_unique(duplicate)?;
    let view = PromoView::from(&row);
    super::idempotency::answer(&txn, 201, &view).await?;
    txn.commit().await?;
    Ok(view)
}

/// # Errors
/// `NotFound`.
pub async fn find(db: &DatabaseConnection, pid: Uuid) -> AppResult<promo_codes::Model> {
    promo_codes::Entity::find()
        .filter(promo_codes::Column::Pid.eq(pid))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Replaces a code's definition; its usage count is kept.
///
/// # Errors
/// `NotFound`; `Conflict` for a duplicate code.
pub async fn update(ctx: &AppContext, pid: Uuid, d: PromoDraft) -> AppResult<PromoView> {
    let mut row = find(&ctx.db, pid).await?.into_active_model();
    row.code = Set(d.code);
    row.kind = Set(d.kind.as_str().to_string());
    row.value = Set(d.value);
    row.max_discount_cents = Set(d.max_discount_cents);
    row.min_subtotal_cents = Set(d.min_subtotal_cents);
    row.starts_at = Set(to_fixed(d.starts_at));
    row.ends_at = Set(to_fixed(d.ends_at));
    row.usage_limit = Set(d.usage_limit);
    row.per_customer_limit = Set(d.per_customer_limit);
    row.active = Set(d.active);
    row.updated_at = Set(Utc::now().into());
    let row = row.update(&ctx.db).await.on_unique(duplicate)?;
    Ok(PromoView::from(&row))
}

/// Deletes a code; orders keep the code's text, carts simply lose it.
///
/// # Errors
/// `NotFound`.
pub async fn delete(ctx: &AppContext, pid: Uuid) -> AppResult<()> {
    let row = find(&ctx.db, pid).await?;
    promo_codes::Entity::delete_by_id(row.id)
        .exec(&ctx.db)
        .await?;
    Ok(())
}

/// One page of codes, newest first, optionally filtered by a code fragment.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &DatabaseConnection,
    q: &str,
    page: u64,
    page_size: u64,
) -> AppResult<(Vec<PromoView>, u64)> {
    let mut query = promo_codes::Entity::find()
        .order_by_desc(promo_codes::Column::CreatedAt)
        .order_by_desc(promo_codes::Column::Id);
    let q = normalise_code(q);
    if !q.is_empty() {
        query = query.filter(promo_codes::Column::Code.contains(q));
    }
    let paginator = query.paginate(db, page_size);
    let count = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((rows.iter().map(PromoView::from).collect(), count))
}
