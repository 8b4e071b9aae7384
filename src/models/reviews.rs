//! Product reviews: 1–5 stars and a comment, only by customers who bought the product (a paid
//! order), one per customer and product, editable; moderated by catalogue managers.
//!
//! Every write recomputes the product's `rating` and `review_count` from its published
//! reviews in the same transaction, so the catalogue never disagrees with the reviews.
use chrono::Utc;
use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::{Expr, Query},
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::{
    _entities::{order_lines, orders, products, reviews, users},
    actor::Actor,
    catalogue::{cache, products::find_product},
    db::write_txn,
};
use crate::{
    domain::{order_status::OrderStatus, role::Role, validation::FieldErrors},
    errors::{AppError, AppResult, DbResultExt},
};

pub const MAX_COMMENT: usize = 4000;
pub const PUBLISHED: &str = "published";
pub const HIDDEN: &str = "hidden";

/// A review as validated from a form or JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewDraft {
    pub rating: i16,
    pub comment: String,
}

impl ReviewDraft {
    /// # Errors
    /// Field messages for a rating outside 1–5 or an over-long comment.
    pub fn parse(rating: i64, comment: &str) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        if !(1..=5).contains(&rating) {
            errors.add("rating", "Choose from 1 to 5 stars.");
        }
        let comment = errors.optional_text("comment", comment, MAX_COMMENT);
        errors.into_result()?;
        Ok(Self {
            rating: i16::try_from(rating).unwrap_or(1),
            comment,
        })
    }
}

/// API.md's review object.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ReviewView {
    pub id: Uuid,
    pub product_id: Uuid,
    pub rating: i16,
    pub comment: String,
    /// The author as shown publicly: first name and last initial.
    pub author: String,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

async fn views<C: ConnectionTrait>(
    db: &C,
    rows: Vec<reviews::Model>,
) -> AppResult<Vec<ReviewView>> {
    let us = users::Entity::find()
        .filter(users::Column::Id.is_in(rows.iter().map(|r| r.user_id)))
        .all(db)
        .await?;
    let ps: Vec<(i32, Uuid)> = products::Entity::find()
        .select_only()
        .columns([products::Column::Id, products::Column::Pid])
        .filter(products::Column::Id.is_in(rows.iter().map(|r| r.product_id)))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let author = us.iter().find(|u| u.id == r.user_id).map_or_else(
                || "A customer".to_string(),
                |u| {
                    let initial = u
                        .last_name
                        .chars()
                        .next()
                        .map(|c| format!(" {c}."))
                        .unwrap_or_default();
                    format!("{}{initial}", u.first_name)
                },
            );
            ReviewView {
                id: r.pid,
                product_id: ps
                    .iter()
                    .find(|p| p.0 == r.product_id)
                    .map(|p| p.1)
                    .unwrap_or_default(),
                rating: r.rating,
                comment: r.comment,
                author,
                status: r.status,
                created_at: crate::views::rfc3339(&r.created_at),
                updated_at: crate::views::rfc3339(&r.updated_at),
            }
        })
        .collect())
}

/// Whether the user has a paid (or later) order with the product.
///
/// # Errors
/// Database errors.
pub async fn has_bought<C: ConnectionTrait>(
    db: &C,
    user_id: i32,
    product_id: i32,
) -> AppResult<bool> {
    let bought = [
        OrderStatus::Paid,
        OrderStatus::Shipped,
        OrderStatus::Completed,
        OrderStatus::PartiallyRefunded,
    ]
    .map(OrderStatus::as_str);
    let n = order_lines::Entity::find()
        .filter(order_lines::Column::ProductId.eq(product_id))
        .filter(
            order_lines::Column::OrderId.in_subquery(
                Query::select()
                    .column(orders::Column::Id)
                    .from(orders::Entity)
                    .and_where(orders::Column::UserId.eq(user_id))
                    .and_where(orders::Column::Status.is_in(bought))
                    .to_owned(),
            ),
        )
        .count(db)
        .await?;
    Ok(n > 0)
}

/// Recomputes the product's rating and review count from its published reviews.
async fn refresh_rating<C: ConnectionTrait>(db: &C, product_id: i32) -> AppResult<()> {
    let ratings: Vec<i16> = reviews::Entity::find()
        .select_only()
        .column(reviews::Column::Rating)
        .filter(reviews::Column::ProductId.eq(product_id))
        .filter(reviews::Column::Status.eq(PUBLISHED))
        .into_tuple()
        .all(db)
        .await?;
    let count = i32::try_from(ratings.len()).unwrap_or(i32::MAX);
    let avg = if ratings.is_empty() {
        0.0
    } else {
        let sum: i64 = ratings.iter().map(|r| i64::from(*r)).sum();
        #[allow(clippy::cast_precision_loss)]
        let avg = sum as f64 / ratings.len() as f64;
        (avg * 100.0).round() / 100.0
    };
    products::Entity::update_many()
        .col_expr(products::Column::Rating, Expr::value(avg))
        .col_expr(products::Column::ReviewCount, Expr::value(count))
        .filter(products::Column::Id.eq(product_id))
        .exec(db)
        .await?;
    Ok(())
}

/// One page of a product's published reviews, newest first.
///
/// # Errors
/// `NotFound` for an unknown or inactive product.
pub async fn list(
    db: &DatabaseConnection,
    product: &str,
    page: u64,
    page_size: u64,
) -> AppResult<(Vec<ReviewView>, u64)> {
    let p = find_product(db, product, false).await?;
    let paginator = reviews::Entity::find()
        .filter(reviews::Column::ProductId.eq(p.id))
        .filter(reviews::Column::Status.eq(PUBLISHED))
        .order_by_desc(reviews::Column::CreatedAt)
        .order_by_desc(reviews::Column::Id)
        .paginate(db, page_size);
    let count = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((views(db, rows).await?, count))
}

/// The user's own review of a product, if any (to offer editing it).
///
/// # Errors
/// Database errors.
pub async fn own(
    db: &DatabaseConnection,
    user_id: i32,
    product_id: i32,
) -> AppResult<Option<ReviewView>> {
    let row = reviews::Entity::find()
        .filter(reviews::Column::ProductId.eq(product_id))
        .filter(reviews::Column::UserId.eq(user_id))
        .one(db)
        .await?;
    Ok(match row {
        Some(r) => views(db, vec![r]).await?.pop(),
        None => None,
    })
}

/// Every review a user wrote, newest first (their personal-data export).
///
/// # Errors
/// Database errors.
pub async fn by_user<C: ConnectionTrait>(db: &C, user_id: i32) -> AppResult<Vec<ReviewView>> {
    let rows = reviews::Entity::find()
        .filter(reviews::Column::UserId.eq(user_id))
        .order_by_desc(reviews::Column::Id)
        .all(db)
        .await?;
    views(db, rows).await
}

/// Deletes every review a user wrote (their account is closing) and recomputes the ratings
/// of the products they rated, in the caller's transaction; the caller invalidates the
/// catalogue cache after committing.
///
/// # Errors
/// Database errors.
pub async fn erase_by_user<C: ConnectionTrait>(db: &C, user_id: i32) -> AppResult<usize> {
    let rated: Vec<i32> = reviews::Entity::find()
        .select_only()
        .column(reviews::Column::ProductId)
        .filter(reviews::Column::UserId.eq(user_id))
        .into_tuple()
        .all(db)
        .await?;
    reviews::Entity::delete_many()
        .filter(reviews::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    for product_id in &rated {
        refresh_rating(db, *product_id).await?;
    }
    Ok(rated.len())
}

/// Writes a customer's review of a product they bought.
///
/// # Errors
/// `Forbidden` when they have not bought it; `Conflict` when they already reviewed it.
pub async fn create(
    ctx: &AppContext,
    user: &users::Model,
    product: &str,
    draft: ReviewDraft,
) -> AppResult<ReviewView> {
    let txn = write_txn(&ctx.db).await?;
    let p = find_product(&txn, product, false).await?;
    if !has_bought(&txn, user.id, p.id).await? {
        return Err(AppError::Forbidden);
    }
    let now = Utc::now().into();
    let row = reviews::ActiveModel {
        pid: Set(Uuid::new_v4()),
        product_id: Set(p.id),
        user_id: Set(user.id),
        rating: Set(draft.rating),
        comment: Set(draft.comment),
        status: Set(PUBLISHED.into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .on_unique(|| {
        AppError::Conflict(
            "You have already reviewed this product; edit your review instead.".into(),
        )
    })?;
    refresh_rating(&txn, p.id).await?;
    let out = views(&txn, vec![row])
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    super::idempotency::answer(&txn, 201, &out).await?;
    txn.commit().await?;
    cache::invalidate(&ctx.cache).await;
    Ok(out)
}

async fn find(db: &impl ConnectionTrait, pid: Uuid) -> AppResult<reviews::Model> {
    reviews::Entity::find()
        .filter(reviews::Column::Pid.eq(pid))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The slug of the product a review is about (to return to its page).
///
/// # Errors
/// `NotFound`.
pub async fn product_slug(db: &DatabaseConnection, pid: Uuid) -> AppResult<String> {
    let r = find(db, pid).await?;
    Ok(products::Entity::find_by_id(r.product_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?
        .slug)
}

/// The author edits their review.
///
/// # Errors
/// `NotFound` for someone else's review.
pub async fn update(
    ctx: &AppContext,
    user: &users::Model,
    pid: Uuid,
    draft: ReviewDraft,
) -> AppResult<ReviewView> {
    let txn = write_txn(&ctx.db).await?;
    let r = find(&txn, pid).await?;
    if r.user_id != user.id {
        return Err(AppError::NotFound);
    }
    let product_id = r.product_id;
    let mut row = r.into_active_model();
    row.rating = Set(draft.rating);
    row.comment = Set(draft.comment);
    row.updated_at = Set(Utc::now().into());
    save(ctx, txn, row, product_id).await
}

/// Writes a changed review, recomputes its product's rating and commits.
async fn save(
    ctx: &AppContext,
    txn: sea_orm::DatabaseTransaction,
    row: reviews::ActiveModel,
    product_id: i32,
) -> AppResult<ReviewView> {
    let row = row.update(&txn).await?;
    refresh_rating(&txn, product_id).await?;
    let out = views(&txn, vec![row])
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    txn.commit().await?;
    cache::invalidate(&ctx.cache).await;
    Ok(out)
}

fn moderates(actor: &Actor) -> bool {
    matches!(actor.role, Some(Role::Admin | Role::ProductManager))
}

/// Deletes a review: its author, or a catalogue manager.
///
/// # Errors
/// `NotFound` for someone else's review (customers).
pub async fn delete(ctx: &AppContext, actor: &Actor, pid: Uuid) -> AppResult<()> {
    let txn = write_txn(&ctx.db).await?;
    let r = find(&txn, pid).await?;
    if !(moderates(actor) || actor.user_id == Some(r.user_id)) {
        return Err(AppError::NotFound);
    }
    reviews::Entity::delete_by_id(r.id).exec(&txn).await?;
    refresh_rating(&txn, r.product_id).await?;
    txn.commit().await?;
    cache::invalidate(&ctx.cache).await;
    Ok(())
}

/// Hides or publishes a review (moderation).
///
/// # Errors
/// `Forbidden` for roles that do not moderate; `NotFound`.
pub async fn moderate(
    ctx: &AppContext,
    actor: &Actor,
    pid: Uuid,
    publish: bool,
) -> AppResult<ReviewView> {
    if !moderates(actor) {
        return Err(AppError::Forbidden);
    }
    let txn = write_txn(&ctx.db).await?;
    let r = find(&txn, pid).await?;
    let product_id = r.product_id;
    let mut row = r.into_active_model();
    row.status = Set(if publish { PUBLISHED } else { HIDDEN }.into());
    row.updated_at = Set(Utc::now().into());
    save(ctx, txn, row, product_id).await
}

/// Every review, newest first, for moderation; `status` filters.
///
/// # Errors
/// Database errors.
pub async fn all(
    db: &DatabaseConnection,
    status: Option<&str>,
    page: u64,
    page_size: u64,
) -> AppResult<(Vec<(ReviewView, String)>, u64)> {
    let mut q = reviews::Entity::find()
        .order_by_desc(reviews::Column::CreatedAt)
        .order_by_desc(reviews::Column::Id);
    if let Some(s) = status {
        q = q.filter(reviews::Column::Status.eq(s));
    }
    let paginator = q.paginate(db, page_size);
    let count = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    let names: Vec<(i32, String)> = products::Entity::find()
        .select_only()
        .columns([products::Column::Id, products::Column::Name])
        .filter(products::Column::Id.is_in(rows.iter().map(|r| r.product_id)))
        .into_tuple()
        .all(db)
        .await?;
    let product_of: Vec<i32> = rows.iter().map(|r| r.product_id).collect();
    let vs = views(db, rows).await?;
    Ok((
        vs.into_iter()
            .zip(product_of)
            .map(|(v, pid)| {
                let name = names
                    .iter()
                    .find(|n| n.0 == pid)
                    .map(|n| n.1.clone())
                    .unwrap_or_default();
                (v, name)
            })
            .collect(),
        count,
    ))
}
