//! Product CSV export: every product with its variants, one row per variant, in the format the
//! import reads back (`domain::product_csv`).
use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
};

use crate::{
    domain::{
        catalogue::{ProductOption, MAX_OPTIONS},
        product_csv::COLUMNS,
    },
    errors::AppResult,
    models::_entities::{brands, categories, product_tags, products, tags, variants},
    views::csv,
};

/// Products are read this many at a time (three queries per batch, whatever its size).
const BATCH: u64 = 500;

/// The whole catalogue as CSV, products in creation order: the header, then one chunk per
/// batch of products, each read (keyset by id) only when the one before has been sent.
pub fn products_csv(
    db: DatabaseConnection,
) -> impl futures_util::Stream<Item = AppResult<String>> + Send + 'static {
    futures_util::stream::unfold(Some(0), move |after| {
        let db = db.clone();
        async move {
            let after = after?;
            match batch_csv(&db, after).await {
                Ok((text, next)) => Some((Ok(text), next)),
                Err(e) => Some((Err(e), None)),
            }
        }
    })
}

/// The rows of the products after id `after` (the header first, for 0), and where the next
/// batch starts (`None` after the last).
async fn batch_csv(db: &DatabaseConnection, after: i32) -> AppResult<(String, Option<i32>)> {
    let mut out = if after == 0 {
        csv::row(&COLUMNS)
    } else {
        String::new()
    };
    // Categories and brands are few (each batch reads them again rather than hold them).
    let category_slugs: HashMap<i32, String> = categories::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.slug))
        .collect();
    let brand_slugs: HashMap<i32, String> = brands::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|b| (b.id, b.slug))
        .collect();
    {
        let batch = products::Entity::find()
            .filter(products::Column::Id.gt(after))
            .order_by_asc(products::Column::Id)
            .limit(BATCH)
            .all(db)
            .await?;
        let next = batch
            .last()
            .map(|p| p.id)
            .filter(|_| batch.len() as u64 == BATCH);
        let ids: Vec<i32> = batch.iter().map(|p| p.id).collect();
        let mut variants_of: HashMap<i32, Vec<variants::Model>> = HashMap::new();
        for v in variants::Entity::find()
            .filter(variants::Column::ProductId.is_in(ids.clone()))
            .order_by_asc(variants::Column::ProductId)
            .order_by_asc(variants::Column::Position)
            .all(db)
            .await?
        {
            variants_of.entry(v.product_id).or_default().push(v);
        }
        let tag_rows: Vec<(i32, String)> = product_tags::Entity::find()
            .select_only()
            .column(product_tags::Column::ProductId)
            .column(tags::Column::Name)
            .join(
                JoinType::InnerJoin,
                product_tags::Entity::belongs_to(tags::Entity)
                    .from(product_tags::Column::TagId)
                    .to(tags::Column::Id)
                    .into(),
            )
            .filter(product_tags::Column::ProductId.is_in(ids))
            .order_by_asc(tags::Column::Name)
            .into_tuple()
            .all(db)
            .await?;
        let mut tags_of: HashMap<i32, Vec<String>> = HashMap::new();
        for (product, name) in tag_rows {
            tags_of.entry(product).or_default().push(name);
        }
        for p in &batch {
            let options: Vec<ProductOption> = serde_json::from_str(&p.options).unwrap_or_default();
            let tags = tags_of.get(&p.id).map(|t| t.join(", ")).unwrap_or_default();
            for v in variants_of.get(&p.id).into_iter().flatten() {
                let chosen: HashMap<String, String> =
                    serde_json::from_str(&v.options).unwrap_or_default();
                let mut row: Vec<String> = vec![
                    p.pid.to_string(),
                    p.slug.clone(),
                    p.name.clone(),
                    p.description.clone(),
                    p.seo_title.clone(),
                    p.seo_description.clone(),
                    p.category_id
                        .and_then(|c| category_slugs.get(&c).cloned())
                        .unwrap_or_default(),
                    p.brand_id
                        .and_then(|b| brand_slugs.get(&b).cloned())
                        .unwrap_or_default(),
                    tags.clone(),
                    p.featured.to_string(),
                    p.active.to_string(),
                ];
                for i in 0..MAX_OPTIONS {
                    match options.get(i) {
                        Some(o) => {
                            row.push(o.name.clone());
                            row.push(chosen.get(&o.name).cloned().unwrap_or_default());
                        }
                        None => row.extend([String::new(), String::new()]),
                    }
                }
                row.extend([
                    v.pid.to_string(),
                    v.sku.clone(),
                    v.price_cents.to_string(),
                    v.stock.to_string(),
                    v.low_stock_threshold.to_string(),
                    v.weight_grams.map_or_else(String::new, |w| w.to_string()),
                ]);
                out.push_str(&csv::row(&row));
            }
        }
        Ok((out, next))
    }
}
