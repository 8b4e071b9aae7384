//! Storefront catalogue pages: search and listing with facets (`/products`), category pages
//! (`/c/{slug}`) and product pages (`/p/{slug}`). Plain GET forms and links everywhere; htmx
//! only swaps the changed region and pushes the URL.
use std::collections::{BTreeMap, HashMap};

use axum::{
    extract::{OriginalUri, Path, Query},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use loco_rs::prelude::Routes;
use serde::Deserialize;
use serde_json::json;

use crate::{
    domain::{
        catalogue::{ListParams, Sort},
        validation::FieldErrors,
    },
    errors::{AppError, PageError},
    models::catalogue::{groups, listing, products},
    models::{reviews, wishlist},
    views::{catalogue as present, money},
    web::{html::Page, pagination::PageQuery},
};

/// The storefront's filter form. Prices are typed in currency units ("12.50").
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ShopFilter {
    pub q: String,
    pub category: String,
    pub brand: String,
    pub tag: String,
    pub min: String,
    pub max: String,
    pub in_stock: String,
    pub featured: String,
    pub sort: String,
}

impl ShopFilter {
    /// The API's list parameters, and messages for what could not be read (left out).
    fn params(&self) -> (ListParams, FieldErrors) {
        let mut errors = FieldErrors::new();
        let min = money::read(&mut errors, "min", &self.min).map(|c| c.to_string());
        let max = money::read(&mut errors, "max", &self.max).map(|c| c.to_string());
        let sort = Sort::parse(&self.sort).ok().map(|s| s.as_str().to_string());
        let params = ListParams {
            q: Some(self.q.clone()),
            category: Some(self.category.clone()),
            brand: Some(self.brand.clone()),
            tag: Some(self.tag.clone()),
            min_price: min,
            max_price: max,
            in_stock: Some(self.in_stock.clone()),
            featured: Some(self.featured.clone()),
            sort,
        };
        (params, errors)
    }
}

/// Renders the listing: the whole page, or for htmx the `#catalogue` fragment. The heading
/// follows the filter: a search, one category (with its sub-categories), or everything.
async fn render_listing(
    page: &Page,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    filter: &ShopFilter,
    paging: &PageQuery,
    category_page: bool,
) -> Result<Response, PageError> {
    let paging = paging.parse().unwrap_or_default();
    let (params, mut errors) = filter.params();
    let parsed = match params.parse() {
        Ok(f) => f,
        Err(e) => {
            // Keep what could be read (the search and the groups) and say what could not.
            // The form's price fields are `min` and `max`.
            for (k, msgs) in e.0 {
                let field = match k.as_str() {
                    "min_price" => "min",
                    "max_price" => "max",
                    other => other,
                };
                for m in msgs {
                    errors.add(field, m);
                }
            }
            ListParams {
                q: params.q.clone(),
                category: params.category.clone(),
                brand: params.brand.clone(),
                tag: params.tag.clone(),
                ..Default::default()
            }
            .parse()
            .unwrap_or_default()
        }
    };
    let found = listing::list(&page.ctx, &parsed, paging.page, paging.page_size).await?;
    let categories = groups::categories(&page.ctx).await?;
    let category = categories
        .iter()
        .find(|c| !filter.category.is_empty() && c.slug == filter.category);
    if category_page && category.is_none() {
        return Err(AppError::NotFound.into());
    }
    let children: Vec<_> = category.map_or_else(Vec::new, |cat| {
        categories
            .iter()
            .filter(|c| c.parent.as_ref().is_some_and(|p| p.id == cat.id))
            .collect()
    });
    let q = filter.q.trim();
    let title = match (q.is_empty(), category) {
        (false, _) => format!("Search results for “{q}”"),
        (true, Some(c)) => c.name.clone(),
        (true, None) => "All products".to_string(),
    };
    let description = category.map_or("", |c| c.description.as_str());
    let top_level: Vec<_> = categories.iter().filter(|c| c.parent.is_none()).collect();
    let data = json!({
        "heading": {"title": title, "description": description, "category": category, "children": children},
        "meta_description": description,
        "products": present::products(&found.results),
        "count": found.count,
        "category_facets": present::category_facets(&found.facets.categories),
        "brand_facets": found.facets.brands,
        "categories": top_level,
        "filter": {
            "q": filter.q, "category": filter.category, "brand": filter.brand, "tag": filter.tag,
            "min": filter.min, "max": filter.max, "in_stock": parsed.in_stock, "featured": parsed.featured,
            "sort": parsed.effective_sort().as_str(),
            "active": !filter.q.is_empty() || !filter.category.is_empty() || !filter.brand.is_empty()
                || !filter.tag.is_empty() || !filter.min.is_empty() || !filter.max.is_empty() || parsed.in_stock || parsed.featured,
        },
        "sorts": Sort::CHOICES.iter().map(|(v, l)| json!({"value": v, "label": l})).collect::<Vec<_>>(),
        "errors": errors,
        "pagination": paging.page_nav(found.count, uri)?,
    });
    let template = if Page::is_htmx(headers) {
        "shop/catalogue/_catalogue.html"
    } else {
        "shop/catalogue/index.html"
    };
    page.render_status(StatusCode::OK, template, &title, data)
        .await
}

async fn index(
    page: Page,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Query(filter): Query<ShopFilter>,
    Query(paging): Query<PageQuery>,
) -> Result<Response, PageError> {
    render_listing(&page, &headers, &uri, &filter, &paging, false).await
}

/// `/c/{slug}`: the listing filtered to one category (and its sub-categories), at a stable
/// address for links and search engines.
async fn category(
    page: Page,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path(slug): Path<String>,
    Query(mut filter): Query<ShopFilter>,
    Query(paging): Query<PageQuery>,
) -> Result<Response, PageError> {
    filter.category = slug;
    render_listing(&page, &headers, &uri, &filter, &paging, true).await
}

/// `opt.<Option name>=<value>` fields of the variant picker, and `image=<id>`.
fn chosen_options(query: &HashMap<String, String>) -> BTreeMap<String, String> {
    query
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("opt.")
                .map(|name| (name.to_string(), v.clone()))
        })
        .collect()
}

async fn product(
    page: Page,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    render_product(&page, &slug, &query, &ReviewFormState::default()).await
}

/// The review form as the shopper left it, when it comes back with messages.
#[derive(Debug, Default)]
pub struct ReviewFormState {
    pub rating: String,
    pub comment: String,
    pub errors: Option<crate::domain::validation::FieldErrors>,
}

/// The product page; with `review.errors`, the review form shows them beside its fields and
/// keeps what was typed (422).
///
/// # Errors
/// `NotFound` for an unknown or inactive product; database or template errors.
pub async fn render_product(
    page: &Page,
    slug: &str,
    query: &HashMap<String, String>,
    review: &ReviewFormState,
) -> Result<Response, PageError> {
    let staff = page.user.as_ref().is_some_and(|u| u.role().is_staff());
    let p = products::detail(&page.ctx, slug, staff).await?;
    let chosen = chosen_options(query);
    let variant = present::chosen_variant(&p, &chosen).cloned();
    let main_image = query
        .get("image")
        .and_then(|id| p.images.iter().find(|i| i.id.to_string() == *id))
        .or_else(|| p.images.first())
        .map(present::image);
    let options = present::option_choices(&p, variant.as_ref());
    let variant_view = variant.as_ref().map(|v| present::variant(&p, v));
    let image_query: String = chosen
        .iter()
        .map(|(k, v)| {
            format!(
                "&opt.{}={}",
                form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>(),
                form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect();
    let title = if p.seo_title.is_empty() {
        p.name.clone()
    } else {
        p.seo_title.clone()
    };
    let description = if p.seo_description.is_empty() {
        summary(&p.description, 160)
    } else {
        p.seo_description.clone()
    };
    let settings = crate::settings::Settings::get(&page.ctx);
    // The first reviews are read for every visitor: cached with the catalogue (every review
    // write invalidates it).
    let latest = crate::models::catalogue::cache::cached(
        &page.ctx.cache,
        settings.catalogue_cache_secs,
        &format!("reviews:{}", p.id),
        async {
            reviews::list(&page.ctx.db, &p.id.to_string(), 1, 10)
                .await
                .map(|(rows, _)| rows)
        },
    )
    .await?;
    let mut me = json!({"can_review": false, "own_review": null, "wishlisted": false});
    if let Some(user) = &page.user {
        let row =
            crate::models::catalogue::products::find_product(&page.ctx.db, &p.id.to_string(), true)
                .await?;
        me["wishlisted"] = json!(wishlist::contains(&page.ctx, user, row.id).await?);
        let own = reviews::own(&page.ctx.db, user.id, row.id).await?;
        me["can_review"] =
            json!(own.is_none() && reviews::has_bought(&page.ctx.db, user.id, row.id).await?);
        me["own_review"] = json!(own);
    }
    let status = if review.errors.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    page.render_status(
        status,
        "shop/catalogue/product.html",
        &title,
        json!({
            "product": present::product(&p),
            "variant": variant_view,
            "options": options,
            "main_image": main_image,
            "image_query": image_query,
            "meta_description": description,
            "reviews": latest,
            "me": me,
            "review_errors": review.errors.clone().unwrap_or_default(),
            "review_form": {
                "rating": review.rating.trim().parse::<i64>().ok(),
                "comment": review.comment,
                "sent": review.errors.is_some(),
            },
        }),
    )
    .await
}

/// The first words of `text` on one line, at most `max` characters, cut at a word.
fn summary(text: &str, max: usize) -> String {
    let mut out = String::new();
    for word in text.split_whitespace() {
        let extra = usize::from(!out.is_empty()) + word.chars().count();
        if out.chars().count() + extra > max {
            if out.is_empty() {
                out = word.chars().take(max).collect();
            }
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new()
        .add("/products", axum::routing::get(index))
        .add("/c/{slug}", axum::routing::get(category))
        .add("/p/{slug}", axum::routing::get(product))
}
