//! The customer's wishlist: products kept for later. Adding twice is not an error.
use chrono::Utc;
use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::OnConflict, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::{
    _entities::{products, wishlist_items},
    catalogue::{products::find_product, views::ProductView},
    users::Model as User,
};
use crate::errors::AppResult;

/// Adds a product; returns whether it was new.
///
/// # Errors
/// `NotFound` for an unknown or inactive product.
pub async fn add(ctx: &AppContext, user: &User, product: &str) -> AppResult<bool> {
    let p = find_product(&ctx.db, product, false).await?;
    let txn = super::db::write_txn(&ctx.db).await?;
    let n = wishlist_items::Entity::insert(wishlist_items::ActiveModel {
        user_id: Set(user.id),
        product_id: Set(p.id),
        created_at: Set(Utc::now().into()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            wishlist_items::Column::UserId,
            wishlist_items::Column::ProductId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    super::idempotency::produced(&txn, super::idempotency::Produced::Wishlist, n == 1).await?;
    txn.commit().await?;
    Ok(n == 1)
}

/// Removes a product (removing one that is not there is fine).
///
/// # Errors
/// `NotFound` for an unknown product.
pub async fn remove(ctx: &AppContext, user: &User, product: &str) -> AppResult<()> {
    let p = find_product(&ctx.db, product, true).await?;
    wishlist_items::Entity::delete_many()
        .filter(wishlist_items::Column::UserId.eq(user.id))
        .filter(wishlist_items::Column::ProductId.eq(p.id))
        .exec(&ctx.db)
        .await?;
    Ok(())
}

/// Whether the product is on the user's wishlist (the heart's state).
///
/// # Errors
/// Database errors.
pub async fn contains(ctx: &AppContext, user: &User, product_id: i32) -> AppResult<bool> {
    Ok(wishlist_items::Entity::find()
        .filter(wishlist_items::Column::UserId.eq(user.id))
        .filter(wishlist_items::Column::ProductId.eq(product_id))
        .count(&ctx.db)
        .await?
        > 0)
}

/// The wishlist's products (active ones), most recently added first.
///
/// # Errors
/// Database or storage errors.
pub async fn list(ctx: &AppContext, user: &User) -> AppResult<Vec<ProductView>> {
    let items = wishlist_items::Entity::find()
        .filter(wishlist_items::Column::UserId.eq(user.id))
        .order_by_desc(wishlist_items::Column::CreatedAt)
        .order_by_desc(wishlist_items::Column::Id)
        .all(&ctx.db)
        .await?;
    let ps = products::Entity::find()
        .filter(products::Column::Id.is_in(items.iter().map(|i| i.product_id)))
        .filter(products::Column::Active.eq(true))
        .all(&ctx.db)
        .await?;
    let ordered: Vec<products::Model> = items
        .iter()
        .filter_map(|i| ps.iter().find(|p| p.id == i.product_id).cloned())
        .collect();
    let settings = crate::settings::Settings::get(ctx);
    let store = crate::storage::get(ctx);
    super::catalogue::views::assemble(
        &ctx.db,
        store.as_ref(),
        crate::storage::UrlWindow::now(settings.storage.url_ttl_secs),
        &settings.currency,
        ordered,
    )
    .await
}
