//! The catalogue: products, variants, categories, brands, tags, images, search and caching.
//! Both the JSON API and the storefront/admin pages call these functions.
pub mod cache;
pub mod export;
pub mod groups;
pub mod images;
pub mod import;
pub mod listing;
pub mod products;
pub mod search_index;
pub mod views;

use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter};

use super::_entities::{
    brands, categories, product_images, product_tags, products as product_rows, tags, variants,
};
use crate::errors::AppResult;

/// Variants by id together with their products: two queries whatever the number of rows,
/// for the many lists (cart lines, purchase orders, the ledger) that name variants.
///
/// # Errors
/// Database errors.
pub async fn variants_with_products(
    db: &impl ConnectionTrait,
    variant_ids: impl IntoIterator<Item = i32>,
) -> AppResult<(Vec<variants::Model>, Vec<product_rows::Model>)> {
    let vs = variants::Entity::find()
        .filter(variants::Column::Id.is_in(variant_ids))
        .all(db)
        .await?;
    let ps = product_rows::Entity::find()
        .filter(product_rows::Column::Id.is_in(vs.iter().map(|v| v.product_id)))
        .all(db)
        .await?;
    Ok((vs, ps))
}

/// Deletes the whole catalogue, children before parents (`cargo loco db truncate`, tests).
/// Stored image files are left to the storage's own lifecycle rules.
///
/// # Errors
/// Database errors.
pub async fn delete_all(db: &impl ConnectionTrait) -> AppResult<()> {
    product_images::Entity::delete_many().exec(db).await?;
    product_tags::Entity::delete_many().exec(db).await?;
    tags::Entity::delete_many().exec(db).await?;
    variants::Entity::delete_many().exec(db).await?;
    product_rows::Entity::delete_many().exec(db).await?;
    categories::Entity::delete_many()
        .filter(categories::Column::ParentId.is_not_null())
        .exec(db)
        .await?;
    categories::Entity::delete_many().exec(db).await?;
    brands::Entity::delete_many().exec(db).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("DELETE FROM product_search").await?;
    }
    Ok(())
}
