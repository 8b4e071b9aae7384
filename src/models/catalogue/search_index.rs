//! The full-text index of products: SQLite FTS5 (`product_search`) or PostgreSQL's weighted
//! `products.search_vector`. Both index the same four fields with the same weights order
//! (name > SKUs, tags > description) and English stemming; `listing` queries them.
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Statement};

use crate::{
    errors::{AppError, AppResult},
    models::_entities::{product_tags, products, tags, variants},
};

/// Splits text into words of letters and digits, exactly as `SearchTerms` splits a query and
/// as FTS5's unicode61 tokenizer does. PostgreSQL's own parser would read "KTL-1" as the word
/// "ktl" and the number "-1", and a search for "KTL-1" would then miss it.
fn words(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of each indexed field of one product.
struct Document {
    name: String,
    skus: String,
    tags: String,
    description: String,
}

async fn document(db: &impl ConnectionTrait, product_id: i32) -> AppResult<Document> {
    let p = products::Entity::find_by_id(product_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut skus: Vec<String> = variants::Entity::find()
        .filter(variants::Column::ProductId.eq(product_id))
        .all(db)
        .await?
        .into_iter()
        .map(|v| v.sku)
        .collect();
    skus.push(p.sku.clone());
    let tag_ids: Vec<i32> = product_tags::Entity::find()
        .filter(product_tags::Column::ProductId.eq(product_id))
        .all(db)
        .await?
        .into_iter()
        .map(|l| l.tag_id)
        .collect();
    let tag_names: Vec<String> = if tag_ids.is_empty() {
        Vec::new()
    } else {
        tags::Entity::find()
            .filter(tags::Column::Id.is_in(tag_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect()
    };
    Ok(Document {
        name: words(&p.name),
        skus: words(&skus.join(" ")),
        tags: words(&tag_names.join(" ")),
        description: words(&p.description),
    })
}

/// Rewrites the index entry of one product; call inside the transaction that changed it.
///
/// # Errors
/// Database errors.
pub async fn reindex(db: &impl ConnectionTrait, product_id: i32) -> AppResult<()> {
    let d = document(db, product_id).await?;
    let backend = db.get_database_backend();
    match backend {
        DatabaseBackend::Postgres => {
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                "UPDATE products SET search_vector = \
                 setweight(to_tsvector('english', $1), 'A') || \
                 setweight(to_tsvector('english', $2), 'B') || \
                 setweight(to_tsvector('english', $3), 'B') || \
                 setweight(to_tsvector('english', $4), 'D') \
                 WHERE id = $5",
                [
                    d.name.into(),
                    d.skus.into(),
                    d.tags.into(),
                    d.description.into(),
                    product_id.into(),
                ],
            ))
            .await?;
        }
        _ => {
            remove(db, product_id).await?;
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                "INSERT INTO product_search (rowid, name, skus, tags, description) \
                 VALUES (?, ?, ?, ?, ?)",
                [
                    product_id.into(),
                    d.name.into(),
                    d.skus.into(),
                    d.tags.into(),
                    d.description.into(),
                ],
            ))
            .await?;
        }
    }
    Ok(())
}

/// Drops the index entry of a product (SQLite; PostgreSQL's goes with the row).
///
/// # Errors
/// Database errors.
pub async fn remove(db: &impl ConnectionTrait, product_id: i32) -> AppResult<()> {
    let backend = db.get_database_backend();
    if backend != DatabaseBackend::Postgres {
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            "DELETE FROM product_search WHERE rowid = ?",
            [product_id.into()],
        ))
        .await?;
    }
    Ok(())
}
