//! Product images: upload (checked, stored, queued for renditions), the rendition job, delete.
use std::collections::BTreeMap;

use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{cache, products::find_product, views::ImageView};
use crate::{
    domain::{
        imaging::{self, Format, Limits, Rejection},
        validation::FieldErrors,
    },
    errors::{AppError, AppResult},
    jobs::{Job, JobEnv, Jobs},
    models::{_entities::product_images, db::write_txn},
    settings::{ImageLimits, Settings},
    storage::{self, ObjectStore, UrlWindow},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImageStatus {
    /// Stored; renditions not made yet (pages show the original).
    Pending,
    Ready,
    /// The original could not be decoded; it stays visible as uploaded.
    Failed,
}

impl ImageStatus {
    #[must_use]
    pub fn parse(s: &str) -> Self {
        match s {
            "ready" => Self::Ready,
            "failed" => Self::Failed,
            _ => Self::Pending,
        }
    }

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredRendition {
    pub key: String,
    pub width: u32,
    pub height: u32,
}

/// The `renditions` column: nominal width → stored object.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Renditions(pub BTreeMap<u32, StoredRendition>);

impl From<&ImageLimits> for Limits {
    fn from(l: &ImageLimits) -> Self {
        Self {
            max_bytes: l.max_bytes,
            max_dimension: l.max_dimension,
            max_pixels: l.max_pixels,
        }
    }
}

impl From<Rejection> for AppError {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::NotAnImage => Self::UnsupportedMediaType(r.to_string()),
            Rejection::TooLarge { .. } => Self::PayloadTooLarge,
            Rejection::Empty | Rejection::TooManyPixels { .. } => {
                Self::Validation(FieldErrors::single("image", r.to_string()))
            }
        }
    }
}

fn format_of(content_type: &str) -> Format {
    match content_type {
        "image/png" => Format::Png,
        "image/webp" => Format::WebP,
        _ => Format::Jpeg,
    }
}

/// Stores a new image of a product and queues its renditions.
///
/// # Errors
/// 404 for an unknown product; 415/413/422 for a rejected upload; storage or database errors.
pub async fn upload(
    ctx: &AppContext,
    product: &str,
    bytes: Vec<u8>,
    alt: &str,
) -> AppResult<ImageView> {
    let settings = Settings::get(ctx);
    let inspected = imaging::inspect(&bytes, Limits::from(&settings.images))?;
    let mut errors = FieldErrors::new();
    let alt = errors.optional_text("alt", alt, 200);
    errors.into_result()?;
    let store = storage::get(ctx);
    let p = find_product(&ctx.db, product, true).await?;
    let pid = Uuid::new_v4();
    let key = format!(
        "products/{}/{}/original.{}",
        p.pid.simple(),
        pid.simple(),
        inspected.format.extension()
    );
    let byte_size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    // The object goes first: a row never points at a missing file. If the row then fails,
    // the orphaned object is removed.
    store
        .put(&key, bytes, inspected.format.content_type())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "could not store an uploaded image");
            AppError::Unavailable(
                "Images cannot be stored right now: the file store is unreachable. Nothing was \
                 saved; please upload the image again in a moment."
                    .into(),
            )
        })?;
    let saved = async {
        let txn = write_txn(&ctx.db).await?;
        let existing = product_images::Entity::find()
            .filter(product_images::Column::ProductId.eq(p.id))
            .count(&txn)
            .await?;
        if existing >= settings.images.max_per_product {
            return Err(FieldErrors::single(
                "image",
                format!(
                    "A product has at most {} images.",
                    settings.images.max_per_product
                ),
            )
            .into());
        }
        let last: Option<i32> = product_images::Entity::find()
            .select_only()
            .column_as(product_images::Column::Position.max(), "m")
            .filter(product_images::Column::ProductId.eq(p.id))
            .into_tuple::<Option<i32>>()
            .one(&txn)
            .await?
            .flatten();
        let now = chrono::Utc::now().into();
        let row = product_images::ActiveModel {
            pid: Set(pid),
            product_id: Set(p.id),
            position: Set(last.map_or(0, |l| l + 1)),
            original_key: Set(key.clone()),
            content_type: Set(inspected.format.content_type().to_string()),
            width: Set(i32::try_from(inspected.width).unwrap_or(i32::MAX)),
            height: Set(i32::try_from(inspected.height).unwrap_or(i32::MAX)),
            byte_size: Set(byte_size),
            alt: Set(alt),
            status: Set(ImageStatus::Pending.as_str().to_string()),
            renditions: Set("{}".to_string()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let view = super::views::image_view(
            store.as_ref(),
            UrlWindow::now(settings.storage.url_ttl_secs),
            &row,
        )
        .await?;
        crate::models::idempotency::answer(&txn, 201, &view).await?;
        txn.commit().await?;
        Ok::<_, AppError>(row)
    }
    .await;
    let row = match saved {
        Ok(row) => row,
        Err(e) => {
            store.delete(&key).await.ok();
            return Err(e);
        }
    };
    cache::invalidate(&ctx.cache).await;
    Jobs::get(ctx)
        .enqueue(Job::MakeRenditions { image_id: row.pid })
        .await?;
    // The inline backend (tests) has made the renditions by now; show the current state.
    let current = product_images::Entity::find_by_id(row.id)
        .one(&ctx.db)
        .await?
        .unwrap_or(row);
    super::views::image_view(
        store.as_ref(),
        UrlWindow::now(settings.storage.url_ttl_secs),
        &current,
    )
    .await
}

/// Deletes an image row and its stored objects.
///
/// # Errors
/// 404 when the product or the image (of that product) does not exist.
pub async fn delete(ctx: &AppContext, product: &str, image_id: &str) -> AppResult<()> {
    let image_id = Uuid::parse_str(image_id).map_err(|_| AppError::NotFound)?;
    let p = find_product(&ctx.db, product, true).await?;
    let txn = ctx.db.begin().await?;
    let img = product_images::Entity::find()
        .filter(product_images::Column::Pid.eq(image_id))
        .filter(product_images::Column::ProductId.eq(p.id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    product_images::Entity::delete_by_id(img.id)
        .exec(&txn)
        .await?;
    txn.commit().await?;
    cache::invalidate(&ctx.cache).await;
    remove_objects(storage::get(ctx).as_ref(), &img).await;
    Ok(())
}

/// Best-effort removal of an image's objects after its row is gone (a leftover object is
/// unreachable garbage, never a broken page).
pub async fn remove_objects(store: &dyn ObjectStore, img: &product_images::Model) {
    let renditions: Renditions = serde_json::from_str(&img.renditions).unwrap_or_default();
    let keys =
        std::iter::once(img.original_key.clone()).chain(renditions.0.into_values().map(|r| r.key));
    for key in keys {
        if let Err(e) = store.delete(&key).await {
            tracing::warn!(error = %e, key, "could not delete an image object");
        }
    }
}

/// The rendition job: decode the original, write one WebP per width, record them. Running it
/// again for a finished (or deleted) image does nothing.
///
/// # Errors
/// Storage or database failures (retried by the queue). An undecodable original is marked
/// `failed` instead, since retrying cannot help.
pub async fn make_renditions(env: &JobEnv, image_id: Uuid) -> AppResult<()> {
    let Some(img) = product_images::Entity::find()
        .filter(product_images::Column::Pid.eq(image_id))
        .one(&env.db)
        .await?
    else {
        return Ok(());
    };
    if ImageStatus::parse(&img.status) != ImageStatus::Pending {
        return Ok(());
    }
    let original = env
        .store
        .get(&img.original_key)
        .await
        .map_err(AppError::internal)?;
    let limits = Limits::from(&env.settings.images);
    let format = format_of(&img.content_type);
    let rendered = tokio::task::spawn_blocking(move || imaging::render(&original, format, limits))
        .await
        .map_err(AppError::internal)?;
    let (status, renditions) = match rendered {
        Ok(list) => {
            let mut stored = Renditions::default();
            let base = img
                .original_key
                .rsplit_once('/')
                .map_or("", |(dir, _)| dir)
                .to_string();
            for r in list {
                let key = format!("{base}/{}.webp", r.nominal);
                env.store
                    .put(&key, r.webp, "image/webp")
                    .await
                    .map_err(AppError::internal)?;
                stored.0.insert(
                    r.nominal,
                    StoredRendition {
                        key,
                        width: r.width,
                        height: r.height,
                    },
                );
            }
            (ImageStatus::Ready, stored)
        }
        Err(e) => {
            tracing::warn!(image = %image_id, error = %e, "image could not be decoded");
            (ImageStatus::Failed, Renditions::default())
        }
    };
    // Conditional on still pending: a concurrent run or a delete wins cleanly.
    product_images::Entity::update_many()
        .col_expr(product_images::Column::Status, Expr::value(status.as_str()))
        .col_expr(
            product_images::Column::Renditions,
            Expr::value(serde_json::to_string(&renditions).map_err(AppError::internal)?),
        )
        .col_expr(
            product_images::Column::UpdatedAt,
            Expr::value(chrono::Utc::now().fixed_offset()),
        )
        .filter(product_images::Column::Id.eq(img.id))
        .filter(product_images::Column::Status.eq(ImageStatus::Pending.as_str()))
        .exec(&env.db)
        .await?;
    cache::invalidate(&env.cache).await;
    Ok(())
}

/// Images still waiting for their renditions after `grace` (their job was lost with a crashed
/// process or queue): the recovery sweep runs them again. Rendering is idempotent.
///
/// # Errors
/// Database errors.
pub async fn stale_pending(
    db: &sea_orm::DatabaseConnection,
    grace: chrono::Duration,
    limit: u64,
) -> AppResult<Vec<Uuid>> {
    use sea_orm::QuerySelect;
    Ok(product_images::Entity::find()
        .select_only()
        .column(product_images::Column::Pid)
        .filter(product_images::Column::Status.eq(ImageStatus::Pending.as_str()))
        .filter(product_images::Column::CreatedAt.lt((chrono::Utc::now() - grace).fixed_offset()))
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

/// Images of one product in display order (admin rendition status).
///
/// # Errors
/// Database errors.
pub async fn of_product(
    db: &impl sea_orm::ConnectionTrait,
    product_id: i32,
) -> AppResult<Vec<product_images::Model>> {
    Ok(product_images::Entity::find()
        .filter(product_images::Column::ProductId.eq(product_id))
        .order_by_asc(product_images::Column::Position)
        .all(db)
        .await?)
}
