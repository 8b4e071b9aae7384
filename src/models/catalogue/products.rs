//! Product and variant use-cases: create, read, update, delete. Every write runs in one write
//! transaction (product, variants, tags and the search index together) and invalidates the
//! catalogue cache after it commits.
use std::collections::BTreeMap;

use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::{Expr, OnConflict},
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
};
use uuid::Uuid;

use super::{cache, groups, images, search_index, views, views::ProductView};
use crate::{
    domain::{
        catalogue::{self, ProductDraft, ProductOption, ProductPatch, VariantDraft, VariantPatch},
        validation::FieldErrors,
        webhook::Event,
    },
    errors::{is_foreign_key_violation, AppError, AppResult},
    models::{
        _entities::{product_tags, products, tags, variants},
        actor::Actor,
        db::write_txn,
        idempotency,
        stock::set_on_hand,
        webhooks,
    },
    settings::Settings,
    storage::{self, UrlWindow},
};

const STOCK_EDIT_NOTE: &str = "stock level set in the catalogue";

/// Finds a product by UUID or slug. Inactive products are only found for staff.
///
/// # Errors
/// `NotFound`.
pub async fn find_product(
    db: &impl ConnectionTrait,
    id_or_slug: &str,
    include_inactive: bool,
) -> AppResult<products::Model> {
    let mut q = products::Entity::find();
    q = match Uuid::parse_str(id_or_slug) {
        Ok(pid) => q.filter(products::Column::Pid.eq(pid)),
        Err(_) if id_or_slug.len() <= catalogue::MAX_SLUG => {
            q.filter(products::Column::Slug.eq(id_or_slug))
        }
        Err(_) => return Err(AppError::NotFound),
    };
    if !include_inactive {
        q = q.filter(products::Column::Active.eq(true));
    }
    q.one(db).await?.ok_or(AppError::NotFound)
}

/// One product as API.md's body. Public reads (active products) are cached.
///
/// # Errors
/// `NotFound`; database or storage errors.
pub async fn detail(ctx: &AppContext, id_or_slug: &str, staff: bool) -> AppResult<ProductView> {
    if staff {
        return load_view(ctx, id_or_slug, true).await;
    }
    let settings = Settings::get(ctx);
    let (mut view, hit) = cache::cached_read(
        &ctx.cache,
        settings.catalogue_cache_secs,
        cache::Depends::Catalogue,
        &format!("product:{id_or_slug}"),
        load_view(ctx, id_or_slug, false),
    )
    .await?;
    if hit {
        views::with_live_stock(&ctx.db, std::slice::from_mut(&mut view)).await?;
    }
    Ok(view)
}

async fn load_view(ctx: &AppContext, id_or_slug: &str, staff: bool) -> AppResult<ProductView> {
    let p = find_product(&ctx.db, id_or_slug, staff).await?;
    view_of(ctx, &ctx.db, p).await
}

/// Builds the view of one product row.
///
/// # Errors
/// Database or storage errors.
pub async fn view_of(
    ctx: &AppContext,
    db: &impl ConnectionTrait,
    p: products::Model,
) -> AppResult<ProductView> {
    view_with(&Settings::get(ctx), storage::get(ctx).as_ref(), db, p).await
}

/// [`view_of`] with the settings and object store given (jobs have no app context).
///
/// # Errors
/// Database or storage errors.
pub async fn view_with(
    settings: &Settings,
    store: &dyn storage::ObjectStore,
    db: &impl ConnectionTrait,
    p: products::Model,
) -> AppResult<ProductView> {
    let mut list = views::assemble(
        db,
        store,
        UrlWindow::now(settings.storage.url_ttl_secs),
        &settings.currency,
        vec![p],
    )
    .await?;
    list.pop().ok_or(AppError::NotFound)
}

/// Category and brand references as given by a client (UUID or slug).
#[derive(Debug, Clone, Default)]
pub struct GroupRefs {
    /// `Some(None)` clears the reference.
    pub category: Option<Option<String>>,
    pub brand: Option<Option<String>>,
}

async fn resolve_refs(
    db: &impl ConnectionTrait,
    refs: &GroupRefs,
) -> AppResult<(Option<Option<i32>>, Option<Option<i32>>)> {
    let mut e = FieldErrors::new();
    let category = match &refs.category {
        None => None,
        Some(None) => Some(None),
        Some(Some(r)) => match groups::find_category(db, r).await {
            Ok(c) => Some(Some(c.id)),
            Err(AppError::NotFound) => {
                e.add("category_id", "No such category.");
                None
            }
            Err(other) => return Err(other),
        },
    };
    let brand = match &refs.brand {
        None => None,
        Some(None) => Some(None),
        Some(Some(r)) => match groups::find_brand(db, r).await {
            Ok(b) => Some(Some(b.id)),
            Err(AppError::NotFound) => {
                e.add("brand_id", "No such brand.");
                None
            }
            Err(other) => return Err(other),
        },
    };
    e.into_result()?;
    Ok((category, brand))
}

/// Maps a unique violation on products or variants to the field it concerns.
fn duplicate(e: DbErr) -> AppError {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(msg)) => {
            let msg = msg.to_lowercase();
            let what = if msg.contains("slug") { "slug" } else { "SKU" };
            AppError::Conflict(format!("Another product already uses this {what}."))
        }
        _ if is_foreign_key_violation(&e) => {
            AppError::Conflict("A referenced record no longer exists.".into())
        }
        _ => {
            // CHECK violations (stock below reserved) have no SqlErr variant of their own.
            let text = e.to_string().to_lowercase();
            if text.contains("check constraint") || text.contains("violates check") {
                AppError::Conflict(
                    "Stock cannot go below the quantity reserved by open orders.".into(),
                )
            } else {
                AppError::from(e)
            }
        }
    }
}

fn variant_row(product_id: i32, position: i32, v: &VariantDraft) -> variants::ActiveModel {
    let now = chrono::Utc::now().into();
    variants::ActiveModel {
        pid: Set(Uuid::new_v4()),
        product_id: Set(product_id),
        sku: Set(v.sku.clone()),
        options: Set(serde_json::to_string(&v.options).unwrap_or_else(|_| "{}".into())),
        price_cents: Set(v.price_cents),
        // The starting level is written by `initial_stock`, so the ledger explains it.
        stock: Set(0),
        reserved: Set(0),
        low_stock_threshold: Set(v.low_stock_threshold),
        weight_grams: Set(v.weight_grams),
        position: Set(position),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// Records a new variant's starting stock as the ledger's first row.
async fn initial_stock(
    db: &impl ConnectionTrait,
    variant_id: i32,
    stock: i32,
    actor: &Actor,
) -> AppResult<()> {
    if stock > 0 {
        crate::models::stock::set_initial(db, variant_id, stock, actor).await?;
    }
    Ok(())
}

/// Replaces a product's tags, creating missing tags.
async fn set_tags(
    db: &impl ConnectionTrait,
    product_id: i32,
    list: &[(String, String)],
) -> AppResult<()> {
    product_tags::Entity::delete_many()
        .filter(product_tags::Column::ProductId.eq(product_id))
        .exec(db)
        .await?;
    if list.is_empty() {
        return Ok(());
    }
    // Insert-or-ignore, then read back: safe when two writers create the same tag at once.
    tags::Entity::insert_many(list.iter().map(|(slug, name)| tags::ActiveModel {
        slug: Set(slug.clone()),
        name: Set(name.clone()),
        ..Default::default()
    }))
    .on_conflict(
        OnConflict::column(tags::Column::Slug)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    let ids = tags::Entity::find()
        .filter(tags::Column::Slug.is_in(list.iter().map(|(s, _)| s.clone())))
        .all(db)
        .await?;
    product_tags::Entity::insert_many(ids.iter().map(|t| product_tags::ActiveModel {
        product_id: Set(product_id),
        tag_id: Set(t.id),
    }))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Recomputes the denormalised price range and touches `updated_at`.
async fn refresh_product(db: &impl ConnectionTrait, product_id: i32) -> AppResult<()> {
    let vs = variants::Entity::find()
        .filter(variants::Column::ProductId.eq(product_id))
        .all(db)
        .await?;
    let min = vs.iter().map(|v| v.price_cents).min().unwrap_or(0);
    let max = vs.iter().map(|v| v.price_cents).max().unwrap_or(0);
    products::Entity::update_many()
        .col_expr(products::Column::PriceMinCents, Expr::value(min))
        .col_expr(products::Column::PriceMaxCents, Expr::value(max))
        .col_expr(
            products::Column::UpdatedAt,
            Expr::value(chrono::Utc::now().fixed_offset()),
        )
        .filter(products::Column::Id.eq(product_id))
        .exec(db)
        .await?;
    search_index::reindex(db, product_id).await
}

/// Creates a product with its variants and tags.
///
/// # Errors
/// 422 for unknown category/brand, 409 for a duplicate slug or SKU.
pub async fn create(
    ctx: &AppContext,
    draft: ProductDraft,
    refs: &GroupRefs,
    actor: &Actor,
) -> AppResult<ProductView> {
    let txn = write_txn(&ctx.db).await?;
    let id = create_in(&txn, &draft, refs, actor).await?;
    if idempotency::active() {
        let pid = products::Entity::find_by_id(id)
            .select_only()
            .column(products::Column::Pid)
            .into_tuple::<Uuid>()
            .one(&txn)
            .await?
            .ok_or(AppError::NotFound)?;
        idempotency::produced(&txn, idempotency::Produced::Product(pid), true).await?;
    }
    let fresh = commit_write(ctx, txn, id, Change::Created).await?;
    view_of(ctx, &ctx.db, fresh).await
}

/// [`create`] inside the caller's write transaction; returns the new product's row id.
///
/// # Errors
/// As [`create`].
pub async fn create_in(
    txn: &DatabaseTransaction,
    draft: &ProductDraft,
    refs: &GroupRefs,
    actor: &Actor,
) -> AppResult<i32> {
    let (category, brand) = resolve_refs(txn, refs).await?;
    let now = chrono::Utc::now().into();
    let product = products::ActiveModel {
        pid: Set(Uuid::new_v4()),
        slug: Set(draft.text.slug.clone()),
        sku: Set(draft.sku.clone()),
        name: Set(draft.text.name.clone()),
        description: Set(draft.text.description.clone()),
        seo_title: Set(draft.text.seo_title.clone()),
        seo_description: Set(draft.text.seo_description.clone()),
        category_id: Set(category.flatten()),
        brand_id: Set(brand.flatten()),
        featured: Set(draft.featured),
        active: Set(draft.active),
        options: Set(serde_json::to_string(&draft.options).map_err(AppError::internal)?),
        price_min_cents: Set(0),
        price_max_cents: Set(0),
        rating: Set(0.0),
        review_count: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(duplicate)?;
    for (i, v) in draft.variants.iter().enumerate() {
        let row = variant_row(product.id, i32::try_from(i).unwrap_or(0), v)
            .insert(txn)
            .await
            .map_err(duplicate)?;
        initial_stock(txn, row.id, v.stock, actor).await?;
    }
    set_tags(txn, product.id, &draft.tags).await?;
    refresh_product(txn, product.id).await?;
    Ok(product.id)
}

/// What happened to a product, as `product.changed` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Deleted,
}

impl Change {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
        }
    }
}

/// Records `product.changed` for a product written in `txn` (only when an endpoint listens,
/// so the payload is built only then); returns the deliveries to enqueue after commit.
///
/// # Errors
/// Database or storage errors.
pub async fn record_change(
    settings: &Settings,
    store: &dyn storage::ObjectStore,
    txn: &DatabaseTransaction,
    product: &products::Model,
    change: Change,
) -> AppResult<Vec<Uuid>> {
    let hooks = webhooks::subscribed(txn, Event::ProductChanged).await?;
    record_change_to(&hooks, settings, store, txn, product, change).await
}

/// [`record_change`] for endpoints already looked up (a bulk write looks them up once).
///
/// # Errors
/// Database or storage errors.
pub async fn record_change_to(
    hooks: &[crate::models::_entities::webhook_endpoints::Model],
    settings: &Settings,
    store: &dyn storage::ObjectStore,
    txn: &DatabaseTransaction,
    product: &products::Model,
    change: Change,
) -> AppResult<Vec<Uuid>> {
    if hooks.is_empty() {
        return Ok(Vec::new());
    }
    let body = if change == Change::Deleted {
        serde_json::json!({"id": product.pid, "slug": product.slug, "sku": product.sku, "name": product.name})
    } else {
        serde_json::to_value(view_with(settings, store, txn, product.clone()).await?)
            .map_err(AppError::internal)?
    };
    webhooks::record(
        txn,
        hooks,
        Event::ProductChanged,
        serde_json::json!({"action": change.as_str(), "product": body}),
    )
    .await
}

/// The common end of every product write: reads the row back, records `product.changed`,
/// commits, drops cached catalogue reads and enqueues the deliveries.
async fn commit_write(
    ctx: &AppContext,
    txn: DatabaseTransaction,
    product_id: i32,
    change: Change,
) -> AppResult<products::Model> {
    let fresh = products::Entity::find_by_id(product_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let hooks = record_change(
        &Settings::get(ctx),
        storage::get(ctx).as_ref(),
        &txn,
        &fresh,
        change,
    )
    .await?;
    txn.commit().await?;
    cache::invalidate(&ctx.cache).await;
    webhooks::enqueue(ctx, hooks).await;
    Ok(fresh)
}

/// Applies a patch. On a simple product (one variant, no options) `sku`, `price_cents`, `stock`,
/// `low_stock_threshold` and `weight_grams` write that variant.
///
/// # Errors
/// 404, 422 (variant fields on a product with options, unknown references), 409 (duplicates,
/// stock below reserved).
pub async fn update(
    ctx: &AppContext,
    id: &str,
    patch: ProductPatch,
    refs: &GroupRefs,
    actor: &Actor,
) -> AppResult<ProductView> {
    let txn = write_txn(&ctx.db).await?;
    let p = find_product(&txn, id, true).await?;
    let product_id = p.id;
    update_in(&txn, p, patch, refs, actor).await?;
    let fresh = commit_write(ctx, txn, product_id, Change::Updated).await?;
    view_of(ctx, &ctx.db, fresh).await
}

/// [`update`] of a product read in the caller's write transaction.
///
/// # Errors
/// As [`update`].
pub async fn update_in(
    txn: &DatabaseTransaction,
    p: products::Model,
    patch: ProductPatch,
    refs: &GroupRefs,
    actor: &Actor,
) -> AppResult<()> {
    let (category, brand) = resolve_refs(txn, refs).await?;
    let declared: Vec<ProductOption> = serde_json::from_str(&p.options).unwrap_or_default();
    let vs = variants::Entity::find()
        .filter(variants::Column::ProductId.eq(p.id))
        .order_by_asc(variants::Column::Position)
        .all(txn)
        .await?;
    let simple = declared.is_empty() && vs.len() == 1;
    if patch.touches_variant() && !simple {
        return Err(FieldErrors::single(
            "variants",
            "This product has variants: change price, stock and threshold on each variant.",
        )
        .into());
    }
    if let Some(new_options) = &patch.options {
        if declared.is_empty() && !new_options.is_empty() {
            return Err(FieldErrors::single(
                "options",
                "Add options by creating variants through POST /products/{id}/variants.",
            )
            .into());
        }
        let in_use: Vec<BTreeMap<String, String>> = vs
            .iter()
            .map(|v| serde_json::from_str(&v.options).unwrap_or_default())
            .collect();
        catalogue::options_change(&declared, new_options, &in_use)
            .map_err(|m| FieldErrors::single("options", m))?;
    }
    let writes_variant = simple && (patch.touches_variant() || patch.sku.is_some());
    let mut row = p.clone().into_active_model();
    if let Some(v) = patch.name {
        row.name = Set(v);
    }
    if let Some(v) = patch.slug {
        row.slug = Set(v);
    }
    if let Some(v) = patch.description {
        row.description = Set(v);
    }
    if let Some(v) = patch.seo_title {
        row.seo_title = Set(v);
    }
    if let Some(v) = patch.seo_description {
        row.seo_description = Set(v);
    }
    if let Some(v) = &patch.sku {
        row.sku = Set(v.clone());
    }
    if let Some(v) = patch.featured {
        row.featured = Set(v);
    }
    if let Some(v) = patch.active {
        row.active = Set(v);
    }
    if let Some(v) = &patch.options {
        row.options = Set(serde_json::to_string(v).map_err(AppError::internal)?);
    }
    if let Some(c) = category {
        row.category_id = Set(c);
    }
    if let Some(b) = brand {
        row.brand_id = Set(b);
    }
    row.update(txn).await.map_err(duplicate)?;
    if writes_variant {
        let mut only = vs[0].clone().into_active_model();
        if let Some(v) = patch.sku {
            only.sku = Set(v);
        }
        if let Some(v) = patch.price_cents {
            audit_price(txn, actor, &vs[0], v).await?;
            only.price_cents = Set(v);
        }
        if let Some(v) = patch.low_stock_threshold {
            only.low_stock_threshold = Set(v);
        }
        if let Some(v) = patch.weight_grams {
            only.weight_grams = Set(v);
        }
        only.updated_at = Set(chrono::Utc::now().into());
        only.update(txn).await.map_err(duplicate)?;
        if let Some(v) = patch.stock {
            set_on_hand(txn, vs[0].id, v, STOCK_EDIT_NOTE, actor).await?;
        }
    }
    if let Some(list) = &patch.tags {
        set_tags(txn, p.id, list).await?;
    }
    refresh_product(txn, p.id).await?;
    Ok(())
}

/// What `delete` did.
#[derive(Debug)]
pub enum Removal {
    Deleted,
    /// The product is referenced by orders, so it was deactivated instead.
    Deactivated(Box<ProductView>),
}

/// Deletes a product with its variants, images and tags, or deactivates it when orders refer
/// to its variants (the order lines' foreign keys refuse the delete).
///
/// # Errors
/// 404; database errors.
pub async fn delete(ctx: &AppContext, id: &str) -> AppResult<Removal> {
    let p = find_product(&ctx.db, id, true).await?;
    let imgs = images::of_product(&ctx.db, p.id).await?;
    let txn = write_txn(&ctx.db).await?;
    search_index::remove(&txn, p.id).await?;
    let hooks = record_change(
        &Settings::get(ctx),
        storage::get(ctx).as_ref(),
        &txn,
        &p,
        Change::Deleted,
    )
    .await?;
    let deleted = products::Entity::delete_by_id(p.id).exec(&txn).await;
    match deleted {
        Ok(_) => {
            txn.commit().await?;
            cache::invalidate(&ctx.cache).await;
            webhooks::enqueue(ctx, hooks).await;
            let store = storage::get(ctx);
            for img in &imgs {
                images::remove_objects(store.as_ref(), img).await;
            }
            Ok(Removal::Deleted)
        }
        Err(e) if is_foreign_key_violation(&e) => {
            txn.rollback().await?;
            let view = update(
                ctx,
                &p.pid.to_string(),
                ProductPatch {
                    active: Some(false),
                    ..Default::default()
                },
                &GroupRefs::default(),
                // Deactivating touches no stock, so nothing is recorded under this actor.
                &Actor::system("catalogue"),
            )
            .await?;
            Ok(Removal::Deactivated(Box::new(view)))
        }
        Err(e) => Err(e.into()),
    }
}

/// Finds a variant with its product.
///
/// # Errors
/// `NotFound`.
pub async fn find_variant(
    db: &impl ConnectionTrait,
    id: &str,
) -> AppResult<(variants::Model, products::Model)> {
    let pid = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    let v = variants::Entity::find()
        .filter(variants::Column::Pid.eq(pid))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let p = products::Entity::find_by_id(v.product_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((v, p))
}

fn combo_taken(
    vs: &[variants::Model],
    options: &BTreeMap<String, String>,
    except: Option<i32>,
) -> bool {
    vs.iter().filter(|v| Some(v.id) != except).any(|v| {
        serde_json::from_str::<BTreeMap<String, String>>(&v.options)
            .ok()
            .as_ref()
            == Some(options)
    })
}

/// Adds a variant to a product that declares options.
///
/// # Errors
/// 404, 422 (no options declared, invalid values, combination taken), 409 duplicate SKU.
pub async fn add_variant(
    ctx: &AppContext,
    product: &str,
    input: &catalogue::VariantInput,
    actor: &Actor,
) -> AppResult<ProductView> {
    let txn = write_txn(&ctx.db).await?;
    let p = find_product(&txn, product, true).await?;
    add_variant_in(&txn, &p, input, actor).await?;
    idempotency::produced(&txn, idempotency::Produced::Product(p.pid), true).await?;
    let fresh = commit_write(ctx, txn, p.id, Change::Updated).await?;
    view_of(ctx, &ctx.db, fresh).await
}

/// [`add_variant`] inside the caller's write transaction.
///
/// # Errors
/// As [`add_variant`].
pub async fn add_variant_in(
    txn: &DatabaseTransaction,
    p: &products::Model,
    input: &catalogue::VariantInput,
    actor: &Actor,
) -> AppResult<()> {
    let declared: Vec<ProductOption> = serde_json::from_str(&p.options).unwrap_or_default();
    if declared.is_empty() {
        return Err(FieldErrors::single(
            "options",
            "This product declares no options; declare them (PATCH options) before adding variants.",
        )
        .into());
    }
    let mut e = FieldErrors::new();
    let draft = catalogue::variant(&mut e, "", &declared, input);
    e.into_result()?;
    let vs = variants::Entity::find()
        .filter(variants::Column::ProductId.eq(p.id))
        .all(txn)
        .await?;
    if vs.len() >= catalogue::MAX_VARIANTS {
        return Err(FieldErrors::single(
            "variants",
            format!("At most {} variants.", catalogue::MAX_VARIANTS),
        )
        .into());
    }
    if combo_taken(&vs, &draft.options, None) {
        return Err(
            FieldErrors::single("options", "Another variant has these option values.").into(),
        );
    }
    let position = vs.iter().map(|v| v.position).max().map_or(0, |m| m + 1);
    let row = variant_row(p.id, position, &draft)
        .insert(txn)
        .await
        .map_err(duplicate)?;
    initial_stock(txn, row.id, draft.stock, actor).await?;
    refresh_product(txn, p.id).await
}

/// Records a variant's new price in the audit log (nothing when it stays the same).
async fn audit_price(
    txn: &DatabaseTransaction,
    actor: &Actor,
    v: &variants::Model,
    new: i64,
) -> AppResult<()> {
    if v.price_cents == new {
        return Ok(());
    }
    crate::models::audit::record(
        txn,
        actor,
        crate::models::audit::Action::PriceChanged,
        crate::models::audit::Target::new(crate::models::audit::TargetType::Variant, v.pid),
        Some(serde_json::json!({ "price_cents": v.price_cents, "sku": v.sku })),
        Some(serde_json::json!({ "price_cents": new })),
    )
    .await
}

/// Changes one variant.
///
/// # Errors
/// 404, 422, 409 (duplicate SKU, stock below reserved).
pub async fn update_variant(
    ctx: &AppContext,
    id: &str,
    input: &catalogue::VariantPatchInput,
    actor: &Actor,
) -> AppResult<views::VariantView> {
    let txn = write_txn(&ctx.db).await?;
    let (v, p) = find_variant(&txn, id).await?;
    let saved = update_variant_in(&txn, v, &p, input, actor).await?;
    commit_write(ctx, txn, p.id, Change::Updated).await?;
    Ok(views::VariantView::from(&saved))
}

/// [`update_variant`] of a variant read in the caller's write transaction.
///
/// # Errors
/// As [`update_variant`].
pub async fn update_variant_in(
    txn: &DatabaseTransaction,
    v: variants::Model,
    p: &products::Model,
    input: &catalogue::VariantPatchInput,
    actor: &Actor,
) -> AppResult<variants::Model> {
    let declared: Vec<ProductOption> = serde_json::from_str(&p.options).unwrap_or_default();
    let patch: VariantPatch = input.parse(&declared)?;
    if let Some(options) = &patch.options {
        let vs = variants::Entity::find()
            .filter(variants::Column::ProductId.eq(p.id))
            .all(txn)
            .await?;
        if combo_taken(&vs, options, Some(v.id)) {
            return Err(
                FieldErrors::single("options", "Another variant has these option values.").into(),
            );
        }
    }
    let mut row = v.clone().into_active_model();
    if let Some(x) = patch.sku {
        row.sku = Set(x);
    }
    if let Some(x) = patch.options {
        row.options = Set(serde_json::to_string(&x).map_err(AppError::internal)?);
    }
    if let Some(x) = patch.price_cents {
        audit_price(txn, actor, &v, x).await?;
        row.price_cents = Set(x);
    }
    if let Some(x) = patch.low_stock_threshold {
        row.low_stock_threshold = Set(x);
    }
    if let Some(x) = patch.weight_grams {
        row.weight_grams = Set(x);
    }
    row.updated_at = Set(chrono::Utc::now().into());
    let variant_id = row.id.clone().unwrap();
    row.update(txn).await.map_err(duplicate)?;
    if let Some(x) = patch.stock {
        set_on_hand(txn, variant_id, x, STOCK_EDIT_NOTE, actor).await?;
    }
    let saved = variants::Entity::find_by_id(variant_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    refresh_product(txn, p.id).await?;
    Ok(saved)
}

/// Deletes a variant; a product keeps at least one.
///
/// # Errors
/// 404, 409 (the product's last variant, or referenced by orders).
pub async fn delete_variant(ctx: &AppContext, id: &str) -> AppResult<()> {
    let txn = write_txn(&ctx.db).await?;
    let (v, p) = find_variant(&txn, id).await?;
    let siblings = variants::Entity::find()
        .filter(variants::Column::ProductId.eq(p.id))
        .all(&txn)
        .await?;
    if siblings.len() <= 1 {
        // The product's state refuses it, not the request: a conflict, like orders referring
        // to the variant.
        return Err(AppError::Conflict(
            "A product needs at least one variant; delete or deactivate the product instead."
                .into(),
        ));
    }
    variants::Entity::delete_by_id(v.id)
        .exec(&txn)
        .await
        .map_err(|e| {
            if is_foreign_key_violation(&e) {
                AppError::Conflict(
                    "Orders refer to this variant; set its stock to 0 instead.".into(),
                )
            } else {
                e.into()
            }
        })?;
    refresh_product(&txn, p.id).await?;
    commit_write(ctx, txn, p.id, Change::Updated).await?;
    Ok(())
}
