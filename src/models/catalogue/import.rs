//! Product CSV import: an upload becomes an import row and a queued job; the job checks the
//! whole file, then applies it in one write transaction (format and rules:
//! `domain::product_csv`).
//!
//! Design:
//! - All or nothing, and said so on the page: the check reports every error with its line
//!   number without writing anything; a problem that only shows while applying (a SKU taken
//!   in the meantime) rolls the whole transaction back and is reported the same way.
//! - Every write goes through the product use-cases (`products::create_in`, `update_in`,
//!   `add_variant_in`, `update_variant_in`), so stock changes land in the ledger, the search
//!   index is kept and `product.changed` webhooks are recorded, exactly as for a hand edit.
//! - Progress (phase, rows done, rows in all) is kept in the cache while the job runs, shared
//!   by every process in production, so the page can show it while the transaction is open;
//!   the outcome is written to the row at the end.
//! - The job claims the row (`queued` → `running`) by compare-and-set, so a redelivered job
//!   does not apply a file twice.
use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    cache,
    products::{self, Change, GroupRefs},
};
use crate::{
    domain::{
        catalogue::{
            self, ProductDraft, ProductInput, ProductOption, ProductPatch, ProductPatchInput,
            VariantInput, VariantPatchInput,
        },
        product_csv::{self, LineError, LineErrors, ProductKey, ProductRows, VariantRow},
        validation::FieldErrors,
        webhook::Event,
    },
    errors::{AppError, AppResult},
    jobs::{Job, JobEnv, Jobs},
    models::{
        _entities::{
            brands, categories, product_imports, products as product_rows, users, variants,
        },
        actor::Actor,
        db::write_txn,
        users::Model as User,
        webhooks,
    },
    settings::Settings,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl Status {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

/// How far a running import is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// `checking` or `applying`.
    pub phase: String,
    pub done: usize,
    pub total: usize,
}

/// An import as the admin page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ImportView {
    pub id: Uuid,
    pub filename: String,
    pub status: String,
    pub total_rows: i32,
    pub created: i32,
    pub updated: i32,
    pub errors: Vec<LineError>,
    pub progress: Option<Progress>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

impl ImportView {
    fn of(row: &product_imports::Model, progress: Option<Progress>) -> Self {
        Self {
            id: row.pid,
            filename: row.filename.clone(),
            status: row.status.clone(),
            total_rows: row.total_rows,
            created: row.created_count,
            updated: row.updated_count,
            errors: serde_json::from_str(&row.errors).unwrap_or_default(),
            progress,
            created_at: crate::views::rfc3339(&row.created_at),
            finished_at: row.finished_at.as_ref().map(crate::views::rfc3339),
        }
    }

    #[must_use]
    pub fn finished(&self) -> bool {
        self.status == Status::Succeeded.as_str() || self.status == Status::Failed.as_str()
    }
}

fn progress_key(pid: Uuid) -> String {
    format!("emporium:product_import:{pid}")
}

async fn set_progress(env: &JobEnv, pid: Uuid, phase: &str, done: usize, total: usize) {
    let p = Progress {
        phase: phase.into(),
        done,
        total,
    };
    let _ = env
        .cache
        .insert_with_expiry(&progress_key(pid), &p, std::time::Duration::from_secs(3600))
        .await;
}

/// Stores an uploaded file and queues its import. With `update_stock` the file's stock column
/// also sets the stock of existing variants (new ones always take it).
///
/// # Errors
/// 413 beyond `imports.max_bytes`; 422 for an empty file or one that is not UTF-8 text.
pub async fn start(
    ctx: &AppContext,
    user: &User,
    filename: &str,
    bytes: &[u8],
    update_stock: bool,
) -> AppResult<ImportView> {
    let settings = Settings::get(ctx);
    if bytes.len() > settings.imports.max_bytes {
        return Err(AppError::PayloadTooLarge);
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| FieldErrors::single("file", "Save the file as CSV with UTF-8 encoding."))?;
    if text.trim().is_empty() {
        return Err(FieldErrors::single("file", "Choose a CSV file to import.").into());
    }
    let name: String = filename
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let row = product_imports::ActiveModel {
        pid: Set(Uuid::new_v4()),
        filename: Set(if name.is_empty() {
            "products.csv".into()
        } else {
            name
        }),
        content: Set(text.to_string()),
        status: Set(Status::Queued.as_str().into()),
        total_rows: Set(0),
        created_count: Set(0),
        updated_count: Set(0),
        errors: Set("[]".into()),
        update_stock: Set(update_stock),
        created_by: Set(Some(user.id)),
        created_at: Set(Utc::now().into()),
        started_at: Set(None),
        finished_at: Set(None),
        ..Default::default()
    }
    .insert(&ctx.db)
    .await?;
    Jobs::get(ctx)
        .enqueue_all([Job::ImportProducts { import_id: row.pid }])
        .await;
    find(ctx, row.pid).await
}

/// One import with its progress.
///
/// # Errors
/// `NotFound`.
pub async fn find(ctx: &AppContext, pid: Uuid) -> AppResult<ImportView> {
    let row = product_imports::Entity::find()
        .filter(product_imports::Column::Pid.eq(pid))
        .one(&ctx.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let progress = if row.status == Status::Running.as_str() {
        ctx.cache
            .get::<Progress>(&progress_key(pid))
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    Ok(ImportView::of(&row, progress))
}

/// The newest imports.
///
/// # Errors
/// Database errors.
pub async fn recent(db: &DatabaseConnection, n: u64) -> AppResult<Vec<ImportView>> {
    Ok(product_imports::Entity::find()
        .order_by_desc(product_imports::Column::Id)
        .limit(n)
        .all(db)
        .await?
        .iter()
        .map(|r| ImportView::of(r, None))
        .collect())
}

/// The job: claims, checks and applies one import; see the module notes.
///
/// # Errors
/// Database errors outside the import's own outcome (which is written to the row).
pub async fn run(env: &JobEnv, pid: Uuid) -> AppResult<()> {
    let Some(row) = product_imports::Entity::find()
        .filter(product_imports::Column::Pid.eq(pid))
        .one(&env.db)
        .await?
    else {
        return Ok(());
    };
    let claimed = product_imports::Entity::update_many()
        .col_expr(
            product_imports::Column::Status,
            Expr::value(Status::Running.as_str()),
        )
        .col_expr(
            product_imports::Column::StartedAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .filter(product_imports::Column::Id.eq(row.id))
        .filter(product_imports::Column::Status.eq(Status::Queued.as_str()))
        .exec(&env.db)
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(());
    }
    let actor = match row.created_by {
        Some(id) => users::Entity::find_by_id(id)
            .one(&env.db)
            .await?
            .map_or_else(|| Actor::system("import"), |u| Actor::user(&u)),
        None => Actor::system("import"),
    };
    // A success is recorded inside the import's own transaction; only failures are left.
    if let Err(Failed { total, errors }) = import(env, &row, &actor).await {
        finish(&env.db, row.id, Status::Failed, total, (0, 0), &errors).await?;
    }
    let _ = env.cache.remove(&progress_key(pid)).await;
    Ok(())
}

/// Writes an import's outcome; the file is only needed until it has been applied or refused.
async fn finish<C: sea_orm::ConnectionTrait>(
    db: &C,
    id: i32,
    status: Status,
    total: usize,
    (created, updated): (usize, usize),
    errors: &[LineError],
) -> AppResult<()> {
    let n = |x: usize| i32::try_from(x).unwrap_or(i32::MAX);
    product_imports::Entity::update_many()
        .col_expr(
            product_imports::Column::Status,
            Expr::value(status.as_str()),
        )
        .col_expr(product_imports::Column::TotalRows, Expr::value(n(total)))
        .col_expr(
            product_imports::Column::CreatedCount,
            Expr::value(n(created)),
        )
        .col_expr(
            product_imports::Column::UpdatedCount,
            Expr::value(n(updated)),
        )
        .col_expr(
            product_imports::Column::Errors,
            Expr::value(serde_json::to_string(errors).unwrap_or_else(|_| "[]".into())),
        )
        .col_expr(product_imports::Column::Content, Expr::value(""))
        .col_expr(
            product_imports::Column::FinishedAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .filter(product_imports::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

struct Failed {
    total: usize,
    errors: Vec<LineError>,
}

impl Failed {
    fn at(total: usize, line: usize, message: String) -> Self {
        Self {
            total,
            errors: vec![LineError {
                line,
                messages: vec![message],
            }],
        }
    }
}

/// One product's change, checked and ready to apply.
enum Plan {
    Create {
        line: usize,
        draft: Box<ProductDraft>,
        refs: GroupRefs,
    },
    Update {
        line: usize,
        product: Box<product_rows::Model>,
        patch: Box<ProductPatch>,
        refs: GroupRefs,
        variants: Vec<VariantPlan>,
    },
}

enum VariantPlan {
    Update {
        line: usize,
        variant: Box<variants::Model>,
        input: VariantPatchInput,
    },
    Add {
        line: usize,
        input: VariantInput,
    },
}

async fn import(env: &JobEnv, row: &product_imports::Model, actor: &Actor) -> Result<(), Failed> {
    let pid = row.pid;
    let max_rows = env.settings.imports.max_rows;
    let (groups, read_errors) = product_csv::read(row.content.as_bytes(), max_rows);
    let total: usize =
        groups.iter().map(|g| g.variants.len()).sum::<usize>() + read_errors.line_count();
    let internal = |e: AppError| {
        tracing::error!(error = ?e, "product import failed");
        Failed::at(
            total,
            0,
            "Something went wrong on our side; nothing was imported. Try again.".into(),
        )
    };
    let plans = check(env, pid, &groups, total, read_errors, row.update_stock)
        .await
        .map_err(internal)?
        .map_err(|errors| Failed { total, errors })?;

    let txn = write_txn(&env.db).await.map_err(|e| internal(e.into()))?;
    let endpoints = webhooks::subscribed(&txn, Event::ProductChanged)
        .await
        .map_err(internal)?;
    let mut hooks = Vec::new();
    let (mut created, mut updated, mut done) = (0, 0, 0);
    for plan in plans {
        let rows = match &plan {
            Plan::Create { .. } => 1,
            Plan::Update { variants, .. } => variants.len().max(1),
        };
        let (product_id, change) =
            apply(&txn, plan, actor)
                .await
                .map_err(|(line, e)| match line_message(e) {
                    Ok(m) => Failed::at(total, line, format!("{m} Nothing was imported.")),
                    Err(e) => internal(e),
                })?;
        let fresh = product_rows::Entity::find_by_id(product_id)
            .one(&txn)
            .await
            .map_err(|e| internal(e.into()))?
            .ok_or_else(|| internal(AppError::NotFound))?;
        hooks.extend(
            products::record_change_to(
                &endpoints,
                &env.settings,
                env.store.as_ref(),
                &txn,
                &fresh,
                change,
            )
            .await
            .map_err(internal)?,
        );
        match change {
            Change::Created => created += 1,
            _ => updated += 1,
        }
        done += rows;
        if done % 50 < rows {
            set_progress(env, pid, "applying", done, total).await;
        }
    }
    finish(
        &txn,
        row.id,
        Status::Succeeded,
        total,
        (created, updated),
        &[],
    )
    .await
    .map_err(internal)?;
    txn.commit().await.map_err(|e| internal(e.into()))?;
    cache::invalidate(&env.cache).await;
    env.enqueue_all(
        hooks
            .into_iter()
            .map(|delivery_id| Job::DeliverWebhook { delivery_id }),
    )
    .await;
    Ok(())
}

/// An anticipated failure as one line for the report; anything else is internal.
fn line_message(e: AppError) -> Result<String, AppError> {
    match e {
        AppError::Validation(f) => Ok(field_messages(&f).join(" ")),
        AppError::Conflict(m) => Ok(m),
        AppError::Unprocessable { message, .. } => Ok(message),
        other => Err(other),
    }
}

fn field_messages(f: &FieldErrors) -> Vec<String> {
    f.0.iter()
        .flat_map(|(field, ms)| {
            ms.iter().map(move |m| {
                // `variants[2].sku` → `sku`: the line already says which variant.
                let column = field.rsplit('.').next().unwrap_or(field);
                let column = column.split('[').next().unwrap_or(column);
                if column.is_empty() || column == "_form" {
                    m.clone()
                } else {
                    format!("{column}: {m}")
                }
            })
        })
        .collect()
}

async fn apply(
    txn: &sea_orm::DatabaseTransaction,
    plan: Plan,
    actor: &Actor,
) -> Result<(i32, Change), (usize, AppError)> {
    match plan {
        Plan::Create { line, draft, refs } => products::create_in(txn, &draft, &refs, actor)
            .await
            .map(|id| (id, Change::Created))
            .map_err(|e| (line, e)),
        Plan::Update {
            line,
            product,
            patch,
            refs,
            variants: list,
        } => {
            let id = product.id;
            // Read again inside the transaction: the check read it before the write lock.
            let current = product_rows::Entity::find_by_id(id)
                .one(txn)
                .await
                .map_err(|e| (line, e.into()))?
                .ok_or((line, AppError::NotFound))?;
            products::update_in(txn, current, *patch, &refs, actor)
                .await
                .map_err(|e| (line, e))?;
            let fresh = product_rows::Entity::find_by_id(id)
                .one(txn)
                .await
                .map_err(|e| (line, e.into()))?
                .ok_or((line, AppError::NotFound))?;
            for v in list {
                match v {
                    VariantPlan::Update {
                        line,
                        variant,
                        input,
                    } => {
                        products::update_variant_in(txn, *variant, &fresh, &input, actor)
                            .await
                            .map_err(|e| (line, e))?;
                    }
                    VariantPlan::Add { line, input } => {
                        products::add_variant_in(txn, &fresh, &input, actor)
                            .await
                            .map_err(|e| (line, e))?;
                    }
                }
            }
            Ok((id, Change::Updated))
        }
    }
}

/// What the check needs from the database, read in a few queries for the whole file.
struct Known {
    categories: Vec<categories::Model>,
    brands: Vec<brands::Model>,
    by_pid: HashMap<Uuid, product_rows::Model>,
    by_slug: HashMap<String, product_rows::Model>,
    variants_of: HashMap<i32, Vec<variants::Model>>,
    /// Lower-cased SKU → (variant id, product id) for every SKU the file names.
    skus: HashMap<String, (i32, i32)>,
}

async fn known(db: &DatabaseConnection, groups: &[ProductRows]) -> AppResult<Known> {
    let mut pids = Vec::new();
    let mut slugs = Vec::new();
    for g in groups {
        match &g.key {
            ProductKey::Id(id) => pids.push(*id),
            ProductKey::Slug(s) => slugs.push(s.clone()),
        }
    }
    let mut found = Vec::new();
    for chunk in pids.chunks(500) {
        found.extend(
            product_rows::Entity::find()
                .filter(product_rows::Column::Pid.is_in(chunk.to_vec()))
                .all(db)
                .await?,
        );
    }
    for chunk in slugs.chunks(500) {
        found.extend(
            product_rows::Entity::find()
                .filter(product_rows::Column::Slug.is_in(chunk.to_vec()))
                .all(db)
                .await?,
        );
    }
    let mut variants_of: HashMap<i32, Vec<variants::Model>> = HashMap::new();
    let ids: Vec<i32> = found.iter().map(|p| p.id).collect();
    for chunk in ids.chunks(500) {
        for v in variants::Entity::find()
            .filter(variants::Column::ProductId.is_in(chunk.to_vec()))
            .order_by_asc(variants::Column::Position)
            .all(db)
            .await?
        {
            variants_of.entry(v.product_id).or_default().push(v);
        }
    }
    let file_skus: Vec<String> = groups
        .iter()
        .flat_map(|g| g.variants.iter().filter_map(|v| v.sku.clone()))
        .collect();
    let mut skus = HashMap::new();
    for chunk in file_skus.chunks(500) {
        let rows: Vec<(i32, i32, String)> = variants::Entity::find()
            .select_only()
            .column(variants::Column::Id)
            .column(variants::Column::ProductId)
            .column(variants::Column::Sku)
            .filter(variants::Column::Sku.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        for (id, product, sku) in rows {
            skus.insert(sku.to_lowercase(), (id, product));
        }
    }
    Ok(Known {
        categories: categories::Entity::find().all(db).await?,
        brands: brands::Entity::find().all(db).await?,
        by_pid: found.iter().map(|p| (p.pid, p.clone())).collect(),
        by_slug: found.into_iter().map(|p| (p.slug.clone(), p)).collect(),
        variants_of,
        skus,
    })
}

/// Checks every product of the file; `Ok(Err(..))` lists the errors by line.
async fn check(
    env: &JobEnv,
    pid: Uuid,
    groups: &[ProductRows],
    total: usize,
    mut errors: LineErrors,
    update_stock: bool,
) -> AppResult<Result<Vec<Plan>, Vec<LineError>>> {
    set_progress(env, pid, "checking", 0, total).await;
    let known = known(&env.db, groups).await?;
    let mut plans = Vec::with_capacity(groups.len());
    let mut seen_skus: HashMap<String, usize> = HashMap::new();
    let mut done = 0;
    for g in groups {
        for v in &g.variants {
            if let Some(sku) = &v.sku {
                if let Some(first) = seen_skus.insert(sku.to_lowercase(), v.line) {
                    errors.add(v.line, format!("sku: {sku} is already on line {first}."));
                }
            }
        }
        let existing = match &g.key {
            ProductKey::Id(id) => match known.by_pid.get(id) {
                Some(p) => Some(p),
                None => {
                    errors.add(
                        g.first_line,
                        format!("product_id: no product has the id {id}."),
                    );
                    continue;
                }
            },
            ProductKey::Slug(s) => known.by_slug.get(s),
        };
        let refs = refs(&mut errors, g, &known);
        let plan = match existing {
            None => plan_create(&mut errors, g, &known, refs),
            Some(p) => plan_update(&mut errors, g, p, &known, refs, update_stock),
        };
        if let Some(plan) = plan {
            plans.push(plan);
        }
        done += g.variants.len();
        if done % 200 < g.variants.len() {
            set_progress(env, pid, "checking", done, total).await;
        }
    }
    Ok(if errors.is_empty() {
        Ok(plans)
    } else {
        Err(errors.into_list())
    })
}

fn refs(errors: &mut LineErrors, g: &ProductRows, known: &Known) -> GroupRefs {
    let mut refs = GroupRefs::default();
    if let Some(c) = &g.product.category {
        if known
            .categories
            .iter()
            .any(|x| &x.slug == c || x.pid.to_string() == *c)
        {
            refs.category = Some(Some(c.clone()));
        } else {
            errors.add(
                g.first_line,
                format!("category: no category \"{c}\" (use its slug)."),
            );
        }
    }
    if let Some(b) = &g.product.brand {
        if known
            .brands
            .iter()
            .any(|x| &x.slug == b || x.pid.to_string() == *b)
        {
            refs.brand = Some(Some(b.clone()));
        } else {
            errors.add(
                g.first_line,
                format!("brand: no brand \"{b}\" (use its slug)."),
            );
        }
    }
    refs
}

/// The SKU of a row is free, or already this variant's.
fn sku_free(errors: &mut LineErrors, known: &Known, v: &VariantRow, own: Option<i32>) {
    if let Some(sku) = &v.sku {
        if let Some((variant_id, _)) = known.skus.get(&sku.to_lowercase()) {
            if Some(*variant_id) != own {
                errors.add(v.line, format!("sku: {sku} belongs to another variant."));
            }
        }
    }
}

/// Field errors of a parsed product, each on the line it concerns.
fn add_field_errors(errors: &mut LineErrors, g: &ProductRows, f: &FieldErrors) {
    for (field, messages) in &f.0 {
        let line = field
            .strip_prefix("variants[")
            .and_then(|rest| rest.split(']').next())
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| g.variants.get(i))
            .map_or(g.first_line, |v| v.line);
        let single = FieldErrors(BTreeMap::from([(field.clone(), messages.clone())]));
        for m in field_messages(&single) {
            errors.add(line, m);
        }
    }
}

fn plan_create(
    errors: &mut LineErrors,
    g: &ProductRows,
    known: &Known,
    refs: GroupRefs,
) -> Option<Plan> {
    for v in &g.variants {
        sku_free(errors, known, v, None);
        if v.variant_id.is_some() {
            errors.add(
                v.line,
                "variant_id: this product is new; leave variant_id empty.",
            );
        }
    }
    let slug = match &g.key {
        ProductKey::Slug(s) => Some(s.clone()),
        ProductKey::Id(_) => g.product.slug.clone(),
    };
    let c = &g.product;
    let mut input = ProductInput {
        name: c.name.clone().unwrap_or_default(),
        slug,
        description: c.description.clone(),
        seo_title: c.seo_title.clone(),
        seo_description: c.seo_description.clone(),
        tags: c.tags.clone().unwrap_or_default(),
        featured: c.featured.unwrap_or(false),
        active: c.active.unwrap_or(true),
        ..ProductInput::default()
    };
    if g.option_names.is_empty() {
        if let Some(extra) = g.variants.get(1) {
            errors.add(
                extra.line,
                "A product without options has one row; add option columns to give it variants.",
            );
            return None;
        }
        let v = &g.variants[0];
        input.sku = v.sku.clone();
        input.price_cents = v.price_cents;
        input.stock = v.stock;
        input.low_stock_threshold = v.low_stock_threshold;
        input.weight_grams = v.weight_grams.flatten();
    } else {
        input.options = g.options();
        input.variants = g
            .variants
            .iter()
            .map(|v| {
                if v.price_cents.is_none() {
                    errors.add(v.line, "price_cents: a new variant needs a price.");
                }
                variant_input(v)
            })
            .collect();
    }
    match input.parse() {
        Ok(draft) => Some(Plan::Create {
            line: g.first_line,
            draft: Box::new(draft),
            refs,
        }),
        Err(f) => {
            add_field_errors(errors, g, &f);
            None
        }
    }
}

fn variant_input(v: &VariantRow) -> VariantInput {
    VariantInput {
        sku: v.sku.clone().unwrap_or_default(),
        options: v.option_map(),
        price_cents: v.price_cents.unwrap_or(0),
        stock: v.stock.unwrap_or(0),
        low_stock_threshold: v.low_stock_threshold,
        weight_grams: v.weight_grams.flatten(),
    }
}

fn plan_update(
    errors: &mut LineErrors,
    g: &ProductRows,
    p: &product_rows::Model,
    known: &Known,
    refs: GroupRefs,
    update_stock: bool,
) -> Option<Plan> {
    let declared: Vec<ProductOption> = serde_json::from_str(&p.options).unwrap_or_default();
    let stock = |v: &VariantRow| if update_stock { v.stock } else { None };
    let current = known.variants_of.get(&p.id).cloned().unwrap_or_default();
    let c = &g.product;
    let mut patch = ProductPatchInput {
        name: c.name.clone(),
        // A slug in the file renames only a product found by its id.
        slug: match g.key {
            ProductKey::Id(_) => c.slug.clone().filter(|s| *s != p.slug),
            ProductKey::Slug(_) => None,
        },
        description: c.description.clone(),
        seo_title: c.seo_title.clone(),
        seo_description: c.seo_description.clone(),
        tags: c.tags.clone(),
        featured: c.featured,
        active: c.active,
        ..ProductPatchInput::default()
    };
    let mut variant_plans = Vec::new();
    if declared.is_empty() {
        if !g.option_names.is_empty() {
            errors.add(
                g.first_line,
                "This product has no options; give it variants in the admin before importing them.",
            );
            return None;
        }
        if let Some(extra) = g.variants.get(1) {
            errors.add(
                extra.line,
                "This product has no options, so it has one row.",
            );
            return None;
        }
        let v = &g.variants[0];
        let only = current.first()?;
        if v.variant_id.is_some_and(|id| id != only.pid) {
            errors.add(v.line, "variant_id: not a variant of this product.");
        }
        sku_free(errors, known, v, Some(only.id));
        patch.sku = v.sku.clone().filter(|s| *s != only.sku);
        patch.price_cents = v.price_cents;
        patch.stock = stock(v);
        patch.low_stock_threshold = v.low_stock_threshold;
        patch.weight_grams = v.weight_grams.filter(|w| *w != only.weight_grams);
    } else {
        let same_names = declared.len() == g.option_names.len()
            && declared
                .iter()
                .zip(&g.option_names)
                .all(|(a, b)| a.name.eq_ignore_ascii_case(b));
        if !same_names {
            errors.add(
                g.first_line,
                format!(
                    "The option columns must name this product's options in order: {}.",
                    declared
                        .iter()
                        .map(|o| o.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            return None;
        }
        // New option values from the file are appended to the declared ones.
        let mut extended = declared.clone();
        for (opt, from_file) in extended.iter_mut().zip(g.options()) {
            for value in from_file.values {
                if !opt.values.iter().any(|v| v.eq_ignore_ascii_case(&value)) {
                    opt.values.push(value);
                }
            }
        }
        if extended != declared {
            patch.options = Some(extended.clone());
        }
        for v in &g.variants {
            let matched = match v.variant_id {
                Some(id) => {
                    let m = current.iter().find(|x| x.pid == id);
                    if m.is_none() {
                        errors.add(v.line, "variant_id: not a variant of this product.");
                        continue;
                    }
                    m
                }
                None => v
                    .sku
                    .as_ref()
                    .and_then(|sku| current.iter().find(|x| x.sku.eq_ignore_ascii_case(sku))),
            };
            sku_free(errors, known, v, matched.map(|m| m.id));
            let mut e = FieldErrors::new();
            match matched {
                Some(m) => {
                    let input = VariantPatchInput {
                        sku: v.sku.clone().filter(|s| *s != m.sku),
                        options: (!v.options.is_empty()).then(|| v.option_map()),
                        price_cents: v.price_cents,
                        stock: stock(v),
                        low_stock_threshold: v.low_stock_threshold,
                        weight_grams: v.weight_grams.filter(|w| *w != m.weight_grams),
                    };
                    if let Err(f) = input.parse(&extended) {
                        e = f;
                    } else {
                        variant_plans.push(VariantPlan::Update {
                            line: v.line,
                            variant: Box::new(m.clone()),
                            input,
                        });
                    }
                }
                None => {
                    if v.price_cents.is_none() {
                        e.add("price_cents", "A new variant needs a price.");
                    }
                    let input = variant_input(v);
                    catalogue::variant(&mut e, "", &extended, &input);
                    if e.is_empty() {
                        variant_plans.push(VariantPlan::Add {
                            line: v.line,
                            input,
                        });
                    }
                }
            }
            for m in field_messages(&e) {
                errors.add(v.line, m);
            }
        }
    }
    match patch.parse() {
        Ok(parsed) => Some(Plan::Update {
            line: g.first_line,
            product: Box::new(p.clone()),
            patch: Box::new(parsed),
            refs,
            variants: variant_plans,
        }),
        Err(f) => {
            add_field_errors(errors, g, &f);
            None
        }
    }
}

/// Marks imports that stopped while running (the process died): their transaction never
/// committed, so nothing was applied. Returns how many.
///
/// # Errors
/// Database errors.
pub async fn fail_interrupted(
    db: &DatabaseConnection,
    older_than: chrono::Duration,
) -> AppResult<u64> {
    let errors = vec![LineError {
        line: 1,
        messages: vec![
            "The import was interrupted and nothing was imported. Upload the file again.".into(),
        ],
    }];
    Ok(product_imports::Entity::update_many()
        .col_expr(
            product_imports::Column::Status,
            Expr::value(Status::Failed.as_str()),
        )
        .col_expr(
            product_imports::Column::Errors,
            Expr::value(serde_json::to_string(&errors).unwrap_or_default()),
        )
        .col_expr(product_imports::Column::Content, Expr::value(""))
        .col_expr(
            product_imports::Column::FinishedAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .filter(product_imports::Column::Status.eq(Status::Running.as_str()))
        .filter(product_imports::Column::StartedAt.lt((Utc::now() - older_than).fixed_offset()))
        .exec(db)
        .await?
        .rows_affected)
}

/// Puts back in the queue imports whose run was interrupted (a crash, a killed worker) more
/// than `older_than` ago: an import applies in one transaction, so nothing of it was kept and
/// it can simply run again. Only within an hour of the upload, so an import that brings its
/// worker down every time is not tried forever; [`fail_interrupted`] ends those.
///
/// # Errors
/// Database errors.
pub async fn requeue_interrupted(
    db: &DatabaseConnection,
    older_than: chrono::Duration,
) -> AppResult<u64> {
    let now = Utc::now();
    Ok(product_imports::Entity::update_many()
        .col_expr(
            product_imports::Column::Status,
            Expr::value(Status::Queued.as_str()),
        )
        .filter(product_imports::Column::Status.eq(Status::Running.as_str()))
        .filter(product_imports::Column::StartedAt.lt((now - older_than).fixed_offset()))
        .filter(
            product_imports::Column::CreatedAt
                .gt((now - chrono::Duration::hours(1)).fixed_offset()),
        )
        .exec(db)
        .await?
        .rows_affected)
}

/// Queues again the imports still waiting after `older_than` (an in-process queue loses its
/// jobs when the process stops; the claim makes a second job for one import harmless).
///
/// # Errors
/// Database errors.
pub async fn resume_queued(ctx: &AppContext, older_than: chrono::Duration) -> AppResult<usize> {
    let waiting: Vec<Uuid> = product_imports::Entity::find()
        .select_only()
        .column(product_imports::Column::Pid)
        .filter(product_imports::Column::Status.eq(Status::Queued.as_str()))
        .filter(product_imports::Column::CreatedAt.lt((Utc::now() - older_than).fixed_offset()))
        .into_tuple()
        .all(&ctx.db)
        .await?;
    let n = waiting.len();
    Jobs::get(ctx)
        .enqueue_all(
            waiting
                .into_iter()
                .map(|import_id| Job::ImportProducts { import_id }),
        )
        .await;
    Ok(n)
}
