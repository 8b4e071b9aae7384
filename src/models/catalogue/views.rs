//! The product read model (API.md's product body, also rendered by the pages) and its batch
//! assembly: any number of products costs the same six queries, never one per product.
use std::collections::{BTreeMap, HashMap};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::images::{ImageStatus, Renditions};
use crate::{
    domain::catalogue::ProductOption,
    errors::{AppError, AppResult},
    models::_entities::{
        brands, categories, product_images, product_tags, products, tags, variants,
    },
    storage::{ObjectStore, UrlWindow},
};

/// A category or brand as embedded in a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupRef {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImageView {
    pub id: Uuid,
    /// The original upload (signed, expiring URL).
    pub url: String,
    /// Rendition width in pixels → URL; empty until the rendition job has run.
    pub renditions: BTreeMap<String, String>,
    /// Ready-made `srcset` attribute value (renditions, or the original until they exist).
    pub srcset: String,
    pub status: ImageStatus,
    pub width: i32,
    pub height: i32,
    pub alt: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VariantView {
    pub id: Uuid,
    pub sku: String,
    #[schema(value_type = Object)]
    pub options: BTreeMap<String, String>,
    pub price_cents: i64,
    pub stock: i32,
    /// `stock - reserved`.
    pub available: i32,
    pub low_stock_threshold: i32,
    /// Packed weight, for shipping methods with a weight limit.
    pub weight_grams: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProductView {
    pub id: Uuid,
    /// The only variant's SKU, or the base SKU of a product with several variants.
    pub sku: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub seo_title: String,
    pub seo_description: String,
    /// The only variant's price, or the lowest variant price.
    pub price_cents: i64,
    /// The highest variant price (equal to `price_cents` for one variant).
    pub price_max_cents: i64,
    pub currency: String,
    /// The only variant's stock, or the sum over variants.
    pub stock: i32,
    pub available: i32,
    /// The only variant's weight; `null` for a product with several variants (see each).
    pub weight_grams: Option<i64>,
    pub category: Option<GroupRef>,
    pub brand: Option<GroupRef>,
    pub tags: Vec<String>,
    pub featured: bool,
    pub active: bool,
    pub images: Vec<ImageView>,
    pub rating: f64,
    pub review_count: i32,
    pub options: Vec<ProductOption>,
    pub variants: Vec<VariantView>,
    pub created_at: String,
    pub updated_at: String,
}

impl ProductView {
    /// The variant whose options are exactly `chosen` (every option named, each value one the
    /// variant has); `None` when an option is missing or no variant has that combination.
    #[must_use]
    pub fn variant_with(&self, chosen: &BTreeMap<String, String>) -> Option<&VariantView> {
        if self.options.is_empty() || self.options.iter().any(|o| !chosen.contains_key(&o.name)) {
            return None;
        }
        self.variants.iter().find(|v| {
            v.options
                .iter()
                .all(|(k, val)| chosen.get(k).is_some_and(|c| c == val))
        })
    }
}

fn available(v: &variants::Model) -> i32 {
    available_of(v.stock, v.reserved)
}

/// What can be bought: on hand less what open orders reserved.
fn available_of(stock: i32, reserved: i32) -> i32 {
    (stock - reserved).max(0)
}

impl ProductView {
    /// The product's levels from its variants' (one variant: its own; several: the sums).
    fn total_stock(&mut self) {
        self.stock = self.variants.iter().map(|v| v.stock).sum();
        self.available = self.variants.iter().map(|v| v.available).sum();
    }
}

/// Replaces the stock levels of cached `views` by the database's current ones, with one
/// query by the variants' unique ids whatever the number of products. A variant gone since
/// the view was cached (a catalogue write, which also invalidates the entry) counts as none
/// left.
///
/// # Errors
/// Database errors.
pub async fn with_live_stock(
    db: &impl ConnectionTrait,
    views: &mut [ProductView],
) -> AppResult<()> {
    let ids: Vec<Uuid> = views
        .iter()
        .flat_map(|p| p.variants.iter().map(|v| v.id))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let levels: HashMap<Uuid, (i32, i32)> = variants::Entity::find()
        .select_only()
        .column(variants::Column::Pid)
        .column(variants::Column::Stock)
        .column(variants::Column::Reserved)
        .filter(variants::Column::Pid.is_in(ids))
        .into_tuple::<(Uuid, i32, i32)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, stock, reserved)| (id, (stock, reserved)))
        .collect();
    for p in views {
        for v in &mut p.variants {
            let (stock, reserved) = levels.get(&v.id).copied().unwrap_or((0, 0));
            v.stock = stock;
            v.available = available_of(stock, reserved);
        }
        p.total_stock();
    }
    Ok(())
}

impl From<&variants::Model> for VariantView {
    fn from(v: &variants::Model) -> Self {
        Self {
            id: v.pid,
            sku: v.sku.clone(),
            options: serde_json::from_str(&v.options).unwrap_or_default(),
            price_cents: v.price_cents,
            stock: v.stock,
            available: available(v),
            low_stock_threshold: v.low_stock_threshold,
            weight_grams: v.weight_grams,
        }
    }
}

impl From<&categories::Model> for GroupRef {
    fn from(c: &categories::Model) -> Self {
        Self {
            id: c.pid,
            slug: c.slug.clone(),
            name: c.name.clone(),
        }
    }
}

impl From<&brands::Model> for GroupRef {
    fn from(b: &brands::Model) -> Self {
        Self {
            id: b.pid,
            slug: b.slug.clone(),
            name: b.name.clone(),
        }
    }
}

/// Signs the URLs of one image.
///
/// # Errors
/// Storage errors (an invalid key; S3 presigning failures).
pub async fn image_view(
    store: &dyn ObjectStore,
    window: UrlWindow,
    img: &product_images::Model,
) -> AppResult<ImageView> {
    let url = store
        .url(&img.original_key, window)
        .await
        .map_err(AppError::internal)?;
    let status = ImageStatus::parse(&img.status);
    let stored: Renditions = serde_json::from_str(&img.renditions).unwrap_or_default();
    let mut renditions = BTreeMap::new();
    let mut srcset = Vec::new();
    if status == ImageStatus::Ready {
        for (width, r) in &stored.0 {
            let u = store
                .url(&r.key, window)
                .await
                .map_err(AppError::internal)?;
            srcset.push(format!("{u} {}w", r.width));
            renditions.insert(width.to_string(), u);
        }
    }
    if srcset.is_empty() {
        srcset.push(format!("{url} {}w", img.width));
    }
    Ok(ImageView {
        id: img.pid,
        url,
        renditions,
        srcset: srcset.join(", "),
        status,
        width: img.width,
        height: img.height,
        alt: img.alt.clone(),
    })
}

/// Builds the views of `rows`, in their order, with six queries whatever their number.
///
/// # Errors
/// Database or storage errors.
pub async fn assemble(
    db: &impl ConnectionTrait,
    store: &dyn ObjectStore,
    window: UrlWindow,
    currency: &str,
    rows: Vec<products::Model>,
) -> AppResult<Vec<ProductView>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i32> = rows.iter().map(|p| p.id).collect();
    let mut vars: HashMap<i32, Vec<variants::Model>> = HashMap::new();
    for v in variants::Entity::find()
        .filter(variants::Column::ProductId.is_in(ids.clone()))
        .order_by_asc(variants::Column::Position)
        .order_by_asc(variants::Column::Id)
        .all(db)
        .await?
    {
        vars.entry(v.product_id).or_default().push(v);
    }
    let mut imgs: HashMap<i32, Vec<product_images::Model>> = HashMap::new();
    for i in product_images::Entity::find()
        .filter(product_images::Column::ProductId.is_in(ids.clone()))
        .order_by_asc(product_images::Column::Position)
        .order_by_asc(product_images::Column::Id)
        .all(db)
        .await?
    {
        imgs.entry(i.product_id).or_default().push(i);
    }
    let links = product_tags::Entity::find()
        .filter(product_tags::Column::ProductId.is_in(ids))
        .all(db)
        .await?;
    let tag_names: HashMap<i32, String> = if links.is_empty() {
        HashMap::new()
    } else {
        tags::Entity::find()
            .filter(tags::Column::Id.is_in(links.iter().map(|l| l.tag_id).collect::<Vec<_>>()))
            .all(db)
            .await?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect()
    };
    let mut product_tag_names: HashMap<i32, Vec<String>> = HashMap::new();
    for l in &links {
        if let Some(n) = tag_names.get(&l.tag_id) {
            product_tag_names
                .entry(l.product_id)
                .or_default()
                .push(n.clone());
        }
    }
    let cat_ids: Vec<i32> = rows.iter().filter_map(|p| p.category_id).collect();
    let cats: HashMap<i32, GroupRef> = if cat_ids.is_empty() {
        HashMap::new()
    } else {
        categories::Entity::find()
            .filter(categories::Column::Id.is_in(cat_ids))
            .all(db)
            .await?
            .iter()
            .map(|c| (c.id, GroupRef::from(c)))
            .collect()
    };
    let brand_ids: Vec<i32> = rows.iter().filter_map(|p| p.brand_id).collect();
    let brand_refs: HashMap<i32, GroupRef> = if brand_ids.is_empty() {
        HashMap::new()
    } else {
        brands::Entity::find()
            .filter(brands::Column::Id.is_in(brand_ids))
            .all(db)
            .await?
            .iter()
            .map(|b| (b.id, GroupRef::from(b)))
            .collect()
    };

    let mut out = Vec::with_capacity(rows.len());
    for p in rows {
        let vs = vars.remove(&p.id).unwrap_or_default();
        let mut images = Vec::new();
        for img in imgs.remove(&p.id).unwrap_or_default() {
            images.push(image_view(store, window, &img).await?);
        }
        let mut names = product_tag_names.remove(&p.id).unwrap_or_default();
        names.sort();
        out.push(product_view(
            p,
            &vs,
            images,
            names,
            &cats,
            &brand_refs,
            currency,
        ));
    }
    Ok(out)
}

fn product_view(
    p: products::Model,
    vs: &[variants::Model],
    images: Vec<ImageView>,
    tags: Vec<String>,
    cats: &HashMap<i32, GroupRef>,
    brands: &HashMap<i32, GroupRef>,
    currency: &str,
) -> ProductView {
    let (sku, price, stock, avail, weight) = match vs {
        [only] => (
            only.sku.clone(),
            only.price_cents,
            only.stock,
            available(only),
            only.weight_grams,
        ),
        _ => (
            p.sku.clone(),
            vs.iter().map(|v| v.price_cents).min().unwrap_or(0),
            vs.iter().map(|v| v.stock).sum(),
            vs.iter().map(available).sum(),
            None,
        ),
    };
    ProductView {
        id: p.pid,
        sku,
        slug: p.slug,
        name: p.name,
        description: p.description,
        seo_title: p.seo_title,
        seo_description: p.seo_description,
        price_cents: price,
        price_max_cents: vs.iter().map(|v| v.price_cents).max().unwrap_or(price),
        currency: currency.to_string(),
        stock,
        available: avail,
        weight_grams: weight,
        category: p.category_id.and_then(|id| cats.get(&id).cloned()),
        brand: p.brand_id.and_then(|id| brands.get(&id).cloned()),
        tags,
        featured: p.featured,
        active: p.active,
        images,
        rating: p.rating,
        review_count: p.review_count,
        options: serde_json::from_str(&p.options).unwrap_or_default(),
        variants: vs.iter().map(VariantView::from).collect(),
        created_at: crate::views::rfc3339(&p.created_at),
        updated_at: crate::views::rfc3339(&p.updated_at),
    }
}
