//! Categories (one level of nesting) and brands.
use loco_rs::app::AppContext;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{cache, views::GroupRef};
use crate::{
    domain::{catalogue::GroupDraft, validation::FieldErrors},
    errors::{is_foreign_key_violation, AppError, AppResult, DbResultExt},
    models::{
        _entities::{brands, categories, products},
        db::write_txn,
        idempotency,
    },
};

/// A category as listed by the API and the storefront navigation.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CategoryView {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub parent: Option<GroupRef>,
    /// Active products in this category and its sub-categories.
    pub product_count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BrandView {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub product_count: u64,
}

fn by_id_or_slug<C: ColumnTrait>(pid: C, slug: C, key: &str) -> AppResult<sea_orm::Condition> {
    Ok(match Uuid::parse_str(key) {
        Ok(id) => sea_orm::Condition::all().add(pid.eq(id)),
        Err(_) if key.len() <= 160 => sea_orm::Condition::all().add(slug.eq(key)),
        Err(_) => return Err(AppError::NotFound),
    })
}

/// # Errors
/// `NotFound`.
pub async fn find_category(db: &impl ConnectionTrait, key: &str) -> AppResult<categories::Model> {
    categories::Entity::find()
        .filter(by_id_or_slug(
            categories::Column::Pid,
            categories::Column::Slug,
            key,
        )?)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// # Errors
/// `NotFound`.
pub async fn find_brand(db: &impl ConnectionTrait, key: &str) -> AppResult<brands::Model> {
    brands::Entity::find()
        .filter(by_id_or_slug(
            brands::Column::Pid,
            brands::Column::Slug,
            key,
        )?)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Active product counts per category id and per brand id (two grouped queries).
async fn counts(
    db: &impl ConnectionTrait,
    column: products::Column,
) -> AppResult<std::collections::HashMap<i32, u64>> {
    use sea_orm::QuerySelect;
    let rows: Vec<(Option<i32>, i64)> = products::Entity::find()
        .select_only()
        .column(column)
        .column_as(products::Column::Id.count(), "n")
        .filter(products::Column::Active.eq(true))
        .group_by(column)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, n)| id.map(|id| (id, u64::try_from(n).unwrap_or(0))))
        .collect())
}

/// All categories, parents first, each followed by its children, with product counts that
/// include sub-categories. Cached like every catalogue read.
///
/// # Errors
/// Database errors.
pub async fn categories(ctx: &AppContext) -> AppResult<Vec<CategoryView>> {
    let ttl = crate::settings::Settings::get(ctx).catalogue_cache_secs;
    cache::cached(&ctx.cache, ttl, "categories", load_categories(&ctx.db)).await
}

async fn load_categories(db: &impl ConnectionTrait) -> AppResult<Vec<CategoryView>> {
    let all = categories::Entity::find()
        .order_by_asc(categories::Column::Position)
        .order_by_asc(categories::Column::Name)
        .all(db)
        .await?;
    let own = counts(db, products::Column::CategoryId).await?;
    let mut out = Vec::with_capacity(all.len());
    for parent in all.iter().filter(|c| c.parent_id.is_none()) {
        let children: Vec<&categories::Model> = all
            .iter()
            .filter(|c| c.parent_id == Some(parent.id))
            .collect();
        let total = own.get(&parent.id).copied().unwrap_or(0)
            + children
                .iter()
                .map(|c| own.get(&c.id).copied().unwrap_or(0))
                .sum::<u64>();
        out.push(category_view(parent, None, total));
        for child in children {
            out.push(category_view(
                child,
                Some(GroupRef::from(parent)),
                own.get(&child.id).copied().unwrap_or(0),
            ));
        }
    }
    Ok(out)
}

fn category_view(c: &categories::Model, parent: Option<GroupRef>, count: u64) -> CategoryView {
    CategoryView {
        id: c.pid,
        slug: c.slug.clone(),
        name: c.name.clone(),
        description: c.description.clone(),
        parent,
        product_count: count,
    }
}

/// All brands by name, with active product counts.
///
/// # Errors
/// Database errors.
pub async fn brands(ctx: &AppContext) -> AppResult<Vec<BrandView>> {
    let ttl = crate::settings::Settings::get(ctx).catalogue_cache_secs;
    cache::cached(&ctx.cache, ttl, "brands", async {
        let own = counts(&ctx.db, products::Column::BrandId).await?;
        Ok(brands::Entity::find()
            .order_by_asc(brands::Column::Name)
            .all(&ctx.db)
            .await?
            .iter()
            .map(|b| BrandView {
                id: b.pid,
                slug: b.slug.clone(),
                name: b.name.clone(),
                description: b.description.clone(),
                product_count: own.get(&b.id).copied().unwrap_or(0),
            })
            .collect())
    })
    .await
}

/// Resolves and checks a parent: it must exist and be top-level (one level of nesting).
async fn parent_id(
    db: &impl ConnectionTrait,
    parent: Option<&str>,
    this: Option<&categories::Model>,
) -> AppResult<Option<i32>> {
    let Some(key) = parent.map(str::trim).filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    let p = find_category(db, key)
        .await
        .map_err(|_| FieldErrors::single("parent_id", "No such category."))?;
    if p.parent_id.is_some() {
        return Err(FieldErrors::single(
            "parent_id",
            "Categories nest one level: choose a top-level parent.",
        )
        .into());
    }
    if let Some(this) = this {
        if this.id == p.id {
            return Err(
                FieldErrors::single("parent_id", "A category cannot contain itself.").into(),
            );
        }
        let has_children = categories::Entity::find()
            .filter(categories::Column::ParentId.eq(this.id))
            .count(db)
            .await?
            > 0;
        if has_children {
            return Err(FieldErrors::single(
                "parent_id",
                "This category has sub-categories, so it must stay top-level.",
            )
            .into());
        }
    }
    Ok(Some(p.id))
}

fn slug_taken() -> AppError {
    AppError::Conflict("Another one already uses this slug.".into())
}

/// # Errors
/// 422 (bad parent), 409 (slug taken).
pub async fn create_category(
    ctx: &AppContext,
    draft: GroupDraft,
    parent: Option<&str>,
) -> AppResult<CategoryView> {
    let txn = write_txn(&ctx.db).await?;
    let parent_id = parent_id(&txn, parent, None).await?;
    let now = chrono::Utc::now().into();
    let row = categories::ActiveModel {
        pid: Set(Uuid::new_v4()),
        slug: Set(draft.slug),
        name: Set(draft.name),
        description: Set(draft.description),
        parent_id: Set(parent_id),
        position: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .on_unique(slug_taken)?;
    let parent = match parent_id {
        Some(id) => categories::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .map(|p| GroupRef::from(&p)),
        None => None,
    };
    let view = category_view(&row, parent, 0);
    idempotency::answer(&txn, 201, &view).await?;
    txn.commit().await?;
    cache::invalidate(&ctx.cache).await;
    Ok(view)
}

/// # Errors
/// 404, 422, 409.
pub async fn update_category(
    ctx: &AppContext,
    key: &str,
    draft: GroupDraft,
    parent: Option<&str>,
) -> AppResult<()> {
    let txn = write_txn(&ctx.db).await?;
    let current = find_category(&txn, key).await?;
    let parent_id = parent_id(&txn, parent, Some(&current)).await?;
    let mut row = current.into_active_model();
    row.slug = Set(draft.slug);
    row.name = Set(draft.name);
    row.description = Set(draft.description);
    row.parent_id = Set(parent_id);
    row.updated_at = Set(chrono::Utc::now().into());
    row.update(&txn).await.on_unique(slug_taken)?;
    txn.commit().await?;
    cache::invalidate(&ctx.cache).await;
    Ok(())
}

fn in_use(what: &str) -> impl Fn(sea_orm::DbErr) -> AppError + '_ {
    move |e| {
        if is_foreign_key_violation(&e) {
            AppError::Conflict(format!(
                "This {what} still has products or sub-categories; move them first."
            ))
        } else {
            e.into()
        }
    }
}

/// Deletes a category that has no products and no sub-categories (the foreign keys decide).
///
/// # Errors
/// 404, 409 when still in use.
pub async fn delete_category(ctx: &AppContext, key: &str) -> AppResult<()> {
    let c = find_category(&ctx.db, key).await?;
    categories::Entity::delete_by_id(c.id)
        .exec(&ctx.db)
        .await
        .map_err(in_use("category"))?;
    cache::invalidate(&ctx.cache).await;
    Ok(())
}

/// # Errors
/// 409 (slug taken).
pub async fn create_brand(ctx: &AppContext, draft: GroupDraft) -> AppResult<BrandView> {
    let now = chrono::Utc::now().into();
    let txn = write_txn(&ctx.db).await?;
    let row = brands::ActiveModel {
        pid: Set(Uuid::new_v4()),
        slug: Set(draft.slug),
        name: Set(draft.name),
        description: Set(draft.description),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .on_unique(slug_taken)?;
    let view = BrandView {
        id: row.pid,
        slug: row.slug,
        name: row.name,
        description: row.description,
        product_count: 0,
    };
    idempotency::answer(&txn, 201, &view).await?;
    txn.commit().await?;
    cache::invalidate(&ctx.cache).await;
    Ok(view)
}

/// # Errors
/// 404, 409.
pub async fn update_brand(ctx: &AppContext, key: &str, draft: GroupDraft) -> AppResult<()> {
    let current = find_brand(&ctx.db, key).await?;
    let mut row = current.into_active_model();
    row.slug = Set(draft.slug);
    row.name = Set(draft.name);
    row.description = Set(draft.description);
    row.updated_at = Set(chrono::Utc::now().into());
    row.update(&ctx.db).await.on_unique(slug_taken)?;
    cache::invalidate(&ctx.cache).await;
    Ok(())
}

/// # Errors
/// 404, 409 when products still use it.
pub async fn delete_brand(ctx: &AppContext, key: &str) -> AppResult<()> {
    let b = find_brand(&ctx.db, key).await?;
    brands::Entity::delete_by_id(b.id)
        .exec(&ctx.db)
        .await
        .map_err(in_use("brand"))?;
    cache::invalidate(&ctx.cache).await;
    Ok(())
}
