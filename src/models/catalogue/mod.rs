//! The catalogue: products, variants, categories, brands, tags, images, search and caching.
//! Both the JSON API and the storefront/admin pages call these functions.
pub mod cache;
pub mod groups;
pub mod images;
pub mod listing;
pub mod products;
pub mod search_index;
pub mod views;

use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter};

use super::_entities::{
    brands, categories, product_images, product_tags, products as product_rows, tags, variants,
};
use crate::errors::AppResult;

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
