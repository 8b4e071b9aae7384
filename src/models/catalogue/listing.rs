//! Product lists: filters, full-text search, sorts, pagination and facet counts, with the same
//! results on SQLite (FTS5) and PostgreSQL (tsvector). A page costs a fixed number of queries:
//! count, page, two facet groupings, the category table and the six of `views::assemble`.
use std::collections::HashMap;

use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::{Expr, Order},
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{cache, views, views::ProductView};
use crate::{
    domain::catalogue::{ListFilter, Sort},
    errors::AppResult,
    models::_entities::{brands, categories, products},
    settings::Settings,
    storage::{self, ObjectStore, UrlWindow},
};

/// One facet value: how many products of the current result fall in it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FacetValue {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub count: u64,
    /// For sub-categories, the parent's slug.
    pub parent: Option<String>,
}

/// Counts per category and brand. Each facet ignores its own filter (so the shopper sees the
/// alternatives) and applies all the others.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Facets {
    pub categories: Vec<FacetValue>,
    pub brands: Vec<FacetValue>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductPage {
    pub results: Vec<ProductView>,
    pub count: u64,
    pub facets: Facets,
}

/// Which parts of the filter a query applies (facets leave one out).
#[derive(Clone, Copy)]
struct Parts {
    category: bool,
    brand: bool,
}

/// Category and brand filters resolved to row ids once per request; `None` inside means the
/// filter names nothing that exists, so nothing matches.
struct Resolved {
    category: Option<Option<i32>>,
    brand: Option<Option<i32>>,
}

async fn resolve(db: &impl ConnectionTrait, f: &ListFilter) -> AppResult<Resolved> {
    let category = match &f.category {
        None => None,
        Some(key) => Some(
            super::groups::find_category(db, key)
                .await
                .ok()
                .map(|c| c.id),
        ),
    };
    let brand = match &f.brand {
        None => None,
        Some(key) => Some(super::groups::find_brand(db, key).await.ok().map(|b| b.id)),
    };
    Ok(Resolved { category, brand })
}

/// A custom SQL fragment with `?` placeholders, written for either backend: sea-query binds
/// PostgreSQL values at `$` marks and SQLite values at `?` marks.
fn cust<V: Into<sea_orm::Value>>(
    backend: DatabaseBackend,
    sql: &str,
    values: impl IntoIterator<Item = V>,
) -> Expr {
    let sql = if backend == DatabaseBackend::Postgres {
        sql.replace('?', "$")
    } else {
        sql.to_string()
    };
    Expr::cust_with_values(sql, values)
}

fn condition(backend: DatabaseBackend, f: &ListFilter, r: &Resolved, parts: Parts) -> Condition {
    let mut c = Condition::all();
    if f.only_inactive {
        c = c.add(products::Column::Active.eq(false));
    } else if !f.include_inactive {
        c = c.add(products::Column::Active.eq(true));
    }
    if f.featured {
        c = c.add(products::Column::Featured.eq(true));
    }
    if parts.category {
        match r.category {
            None => {}
            Some(None) => c = c.add(Expr::cust("1 = 0")),
            Some(Some(id)) => {
                c = c.add(cust(
                    backend,
                    r#""products"."category_id" IN (SELECT "id" FROM "categories" WHERE "id" = ? OR "parent_id" = ?)"#,
                    [id, id],
                ));
            }
        }
    }
    if parts.brand {
        match r.brand {
            None => {}
            Some(None) => c = c.add(Expr::cust("1 = 0")),
            Some(Some(id)) => c = c.add(products::Column::BrandId.eq(id)),
        }
    }
    if let Some(tag) = &f.tag {
        c = c.add(cust(
            backend,
            r#""products"."id" IN (SELECT "pt"."product_id" FROM "product_tags" "pt" JOIN "tags" "t" ON "t"."id" = "pt"."tag_id" WHERE "t"."slug" = ?)"#,
            [tag.clone()],
        ));
    }
    // One variant must satisfy price range and availability together.
    if f.min_price.is_some() || f.max_price.is_some() || f.in_stock {
        let mut sql = String::from(
            r#"EXISTS (SELECT 1 FROM "variants" "v" WHERE "v"."product_id" = "products"."id""#,
        );
        let mut values: Vec<sea_orm::Value> = Vec::new();
        if let Some(lo) = f.min_price {
            sql.push_str(r#" AND "v"."price_cents" >= ?"#);
            values.push(lo.into());
        }
        if let Some(hi) = f.max_price {
            sql.push_str(r#" AND "v"."price_cents" <= ?"#);
            values.push(hi.into());
        }
        if f.in_stock {
            sql.push_str(r#" AND "v"."stock" - "v"."reserved" > 0"#);
        }
        sql.push(')');
        c = c.add(cust(backend, &sql, values));
    }
    if !f.terms.is_empty() {
        c = c.add(match backend {
            DatabaseBackend::Postgres => cust(
                backend,
                r#""products"."search_vector" @@ to_tsquery('english', ?)"#,
                [f.terms.tsquery()],
            ),
            _ => Expr::cust_with_values(
                r#""products"."id" IN (SELECT rowid FROM product_search WHERE product_search MATCH ?)"#,
                [f.terms.fts5()],
            ),
        });
    }
    c
}

fn ordered(
    backend: DatabaseBackend,
    f: &ListFilter,
    q: Select<products::Entity>,
) -> Select<products::Entity> {
    use products::Column as C;
    match f.effective_sort() {
        Sort::Newest => q.order_by_desc(C::CreatedAt).order_by_desc(C::Id),
        Sort::PriceAsc => q.order_by_asc(C::PriceMinCents).order_by_asc(C::Id),
        Sort::PriceDesc => q.order_by_desc(C::PriceMinCents).order_by_desc(C::Id),
        Sort::Name => q.order_by_asc(C::Name).order_by_asc(C::Id),
        Sort::RatingDesc => q
            .order_by_desc(C::Rating)
            .order_by_desc(C::ReviewCount)
            .order_by_desc(C::Id),
        Sort::Relevance => {
            let rank = match backend {
                // ts_rank: higher is better.
                DatabaseBackend::Postgres => (
                    cust(
                        backend,
                        r#"ts_rank("products"."search_vector", to_tsquery('english', ?))"#,
                        [f.terms.tsquery()],
                    ),
                    Order::Desc,
                ),
                // bm25: lower (more negative) is better; weights follow the column order.
                _ => (
                    Expr::cust_with_values(
                        r#"(SELECT bm25(product_search, 10.0, 6.0, 4.0, 1.0) FROM product_search WHERE product_search MATCH ? AND rowid = "products"."id")"#,
                        [f.terms.fts5()],
                    ),
                    Order::Asc,
                ),
            };
            q.order_by(rank.0, rank.1).order_by_desc(C::Id)
        }
    }
}

/// One page of products with the total and the facets. Public lists are cached.
///
/// # Errors
/// Database or storage errors.
pub async fn list(
    ctx: &AppContext,
    filter: &ListFilter,
    page: u64,
    page_size: u64,
) -> AppResult<ProductPage> {
    let settings = Settings::get(ctx);
    let store = storage::get(ctx);
    let window = UrlWindow::now(settings.storage.url_ttl_secs);
    let compute = search(
        &ctx.db,
        store.as_ref(),
        window,
        &settings.currency,
        filter,
        page,
        page_size,
    );
    if filter.include_inactive || filter.only_inactive {
        return compute.await;
    }
    let key = format!(
        "list:{}:{page}:{page_size}",
        serde_json::to_string(filter).unwrap_or_default()
    );
    let depends = if filter.in_stock {
        cache::Depends::Availability
    } else {
        cache::Depends::Catalogue
    };
    let (mut page, hit) = cache::cached_read(
        &ctx.cache,
        settings.catalogue_cache_secs,
        depends,
        &key,
        compute,
    )
    .await?;
    if hit {
        views::with_live_stock(&ctx.db, &mut page.results).await?;
    }
    Ok(page)
}

/// The uncached list query; `list` wraps it. Public for the query-count test.
///
/// # Errors
/// Database or storage errors.
pub async fn search(
    db: &impl ConnectionTrait,
    store: &dyn ObjectStore,
    window: UrlWindow,
    currency: &str,
    filter: &ListFilter,
    page: u64,
    page_size: u64,
) -> AppResult<ProductPage> {
    let backend = db.get_database_backend();
    let resolved = resolve(db, filter).await?;
    let all = Parts {
        category: true,
        brand: true,
    };
    let base = products::Entity::find().filter(condition(backend, filter, &resolved, all));
    let count = base.clone().count(db).await?;
    let rows = if count == 0 {
        Vec::new()
    } else {
        ordered(backend, filter, base)
            .offset((page.max(1) - 1) * page_size)
            .limit(page_size)
            .all(db)
            .await?
    };
    let facets = facets(db, backend, filter, &resolved).await?;
    let results = views::assemble(db, store, window, currency, rows).await?;
    Ok(ProductPage {
        results,
        count,
        facets,
    })
}

async fn grouped(
    db: &impl ConnectionTrait,
    column: products::Column,
    cond: Condition,
) -> AppResult<HashMap<i32, u64>> {
    let rows: Vec<(Option<i32>, i64)> = products::Entity::find()
        .select_only()
        .column(column)
        .column_as(products::Column::Id.count(), "n")
        .filter(cond)
        .group_by(column)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, n)| id.map(|id| (id, u64::try_from(n).unwrap_or(0))))
        .collect())
}

async fn facets(
    db: &impl ConnectionTrait,
    backend: DatabaseBackend,
    f: &ListFilter,
    r: &Resolved,
) -> AppResult<Facets> {
    let by_category = grouped(
        db,
        products::Column::CategoryId,
        condition(
            backend,
            f,
            r,
            Parts {
                category: false,
                brand: true,
            },
        ),
    )
    .await?;
    let by_brand = grouped(
        db,
        products::Column::BrandId,
        condition(
            backend,
            f,
            r,
            Parts {
                category: true,
                brand: false,
            },
        ),
    )
    .await?;
    let mut out = Facets::default();
    if !by_category.is_empty() {
        // Parents count their children's products too.
        let cats = categories::Entity::find()
            .order_by_asc(categories::Column::Position)
            .order_by_asc(categories::Column::Name)
            .all(db)
            .await?;
        let mut totals: HashMap<i32, u64> = HashMap::new();
        for c in &cats {
            if let Some(n) = by_category.get(&c.id) {
                *totals.entry(c.id).or_default() += n;
                if let Some(parent) = c.parent_id {
                    *totals.entry(parent).or_default() += n;
                }
            }
        }
        let slug_of: HashMap<i32, &str> = cats.iter().map(|c| (c.id, c.slug.as_str())).collect();
        out.categories = cats
            .iter()
            .filter_map(|c| {
                totals.get(&c.id).map(|n| FacetValue {
                    id: c.pid,
                    slug: c.slug.clone(),
                    name: c.name.clone(),
                    count: *n,
                    parent: c
                        .parent_id
                        .and_then(|p| slug_of.get(&p).map(|s| (*s).to_string())),
                })
            })
            .collect();
    }
    if !by_brand.is_empty() {
        out.brands = brands::Entity::find()
            .filter(brands::Column::Id.is_in(by_brand.keys().copied().collect::<Vec<_>>()))
            .order_by_asc(brands::Column::Name)
            .all(db)
            .await?
            .into_iter()
            .map(|b| FacetValue {
                count: by_brand.get(&b.id).copied().unwrap_or(0),
                id: b.pid,
                slug: b.slug,
                name: b.name,
                parent: None,
            })
            .collect();
    }
    Ok(out)
}
