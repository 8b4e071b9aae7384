//! `/admin/products`: the catalogue table (search, filters, pagination), create and edit with
//! variants and images, activate/deactivate, delete. Product managers and admins.
//!
//! The forms speak in shop units ("12.50", "Size: S, M, L"); they are turned into the same
//! domain inputs the API builds, and every rule is checked there.
use std::collections::BTreeMap;

use axum::{
    extract::{Multipart, OriginalUri, Path, Query},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use loco_rs::prelude::Routes;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{
    domain::{
        catalogue::{
            self, option_lines, parse_option_lines, ListParams, ProductInput, ProductPatchInput,
            VariantInput, VariantPatchInput,
        },
        role::Role,
        validation::FieldErrors,
    },
    errors::{AppError, PageError},
    models::catalogue::{
        groups, images, listing,
        products::{self, GroupRefs, Removal},
        views::ProductView,
    },
    settings::Settings,
    views::{catalogue as present, money},
    web::{
        html::{self, flash, Page},
        pagination::PageQuery,
        upload::read_image_form,
    },
};

/// Who may change the catalogue.
pub const CATALOGUE: &[Role] = Role::CATALOGUE_MANAGERS;

/// The messages of a refused form ([`html::form_errors`]); those for keys the form has no field
/// for (`variants[2].sku`, say) are listed at the top, under `_form`, named.
fn form_errors(err: AppError, fields: &[&str]) -> Result<Value, PageError> {
    let errors = html::form_errors(err)?;
    let mut out = FieldErrors::new();
    for (key, messages) in errors.0 {
        for m in messages {
            if key == "_form" || fields.contains(&key.as_str()) {
                out.add(&key, m);
            } else {
                out.add("_form", format!("{}: {m}", key.replace('_', " ")));
            }
        }
    }
    Ok(json!(out))
}

fn split_tags(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// "" means "none".
fn group_ref(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty()).then(|| v.to_string())
}

// ---------------------------------------------------------------------------------------------
// The table

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TableFilter {
    q: String,
    category: String,
    brand: String,
    /// "" (all), "active" or "inactive".
    status: String,
}

async fn index(
    page: Page,
    OriginalUri(uri): OriginalUri,
    Query(filter): Query<TableFilter>,
    Query(paging): Query<PageQuery>,
) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    let paging = paging.parse()?;
    let mut list = ListParams {
        q: Some(filter.q.clone()),
        category: Some(filter.category.clone()),
        brand: Some(filter.brand.clone()),
        ..Default::default()
    }
    .parse()?;
    list.include_inactive = filter.status != "active";
    list.only_inactive = filter.status == "inactive";
    let found = listing::list(&page.ctx, &list, paging.page, paging.page_size).await?;
    let categories = groups::categories(&page.ctx).await?;
    let brands = groups::brands(&page.ctx).await?;
    page.render(
        "admin/products/index.html",
        "Products",
        json!({
            "products": present::products(&found.results),
            "count": found.count,
            "filter": {"q": filter.q, "category": filter.category, "brand": filter.brand, "status": filter.status},
            "categories": categories,
            "brands": brands,
            "pagination": paging.page_nav(found.count, &uri)?,
        }),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Create and edit

/// The product form, as typed.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(default)]
struct ProductForm {
    name: String,
    slug: String,
    sku: String,
    description: String,
    seo_title: String,
    seo_description: String,
    price: String,
    stock: String,
    low_stock_threshold: String,
    weight_grams: String,
    category_id: String,
    brand_id: String,
    tags: String,
    options: String,
    featured: Option<String>,
    active: Option<String>,
}

const PRODUCT_FIELDS: &[&str] = &[
    "_form",
    "name",
    "slug",
    "sku",
    "description",
    "seo_title",
    "seo_description",
    "price_cents",
    "stock",
    "low_stock_threshold",
    "weight_grams",
    "category_id",
    "brand_id",
    "tags",
    "options",
];

impl ProductForm {
    fn of(p: &ProductView) -> Self {
        let simple = p.options.is_empty() && p.variants.len() == 1;
        let only = p.variants.first().filter(|_| simple);
        Self {
            name: p.name.clone(),
            slug: p.slug.clone(),
            sku: p.sku.clone(),
            description: p.description.clone(),
            seo_title: p.seo_title.clone(),
            seo_description: p.seo_description.clone(),
            price: only.map_or_else(String::new, |v| money::plain(v.price_cents)),
            stock: only.map_or_else(String::new, |v| v.stock.to_string()),
            low_stock_threshold: only
                .map_or_else(String::new, |v| v.low_stock_threshold.to_string()),
            weight_grams: only
                .and_then(|v| v.weight_grams)
                .map_or_else(String::new, |w| w.to_string()),
            category_id: p
                .category
                .as_ref()
                .map_or_else(String::new, |c| c.slug.clone()),
            brand_id: p
                .brand
                .as_ref()
                .map_or_else(String::new, |b| b.slug.clone()),
            tags: p.tags.join(", "),
            options: option_lines(&p.options),
            featured: p.featured.then(|| "true".into()),
            active: p.active.then(|| "true".into()),
        }
    }

    /// The new product: with options, one variant per combination at the typed price and stock.
    fn input(&self) -> Result<ProductInput, FieldErrors> {
        let mut e = FieldErrors::new();
        let price = money::read(&mut e, "price_cents", &self.price);
        let stock = e.whole_number("stock", &self.stock);
        let threshold = e.whole_number("low_stock_threshold", &self.low_stock_threshold);
        let weight = e.whole_number("weight_grams", &self.weight_grams);
        let options = parse_option_lines(&self.options).unwrap_or_else(|m| {
            e.add("options", m);
            Vec::new()
        });
        let base = if self.sku.trim().is_empty() {
            catalogue::sku_from_name(&self.name)
        } else {
            self.sku.trim().to_string()
        };
        if !options.is_empty() && price.is_none() {
            e.add("price_cents", "Enter the price the variants start with.");
        }
        let variants = catalogue::variants_for(
            &base,
            &options,
            price.unwrap_or(0),
            stock.unwrap_or(0),
            threshold,
            weight,
        );
        e.into_result()?;
        let simple = options.is_empty();
        Ok(ProductInput {
            name: self.name.clone(),
            slug: group_ref(&self.slug),
            description: Some(self.description.clone()),
            seo_title: Some(self.seo_title.clone()),
            seo_description: Some(self.seo_description.clone()),
            sku: group_ref(&base),
            price_cents: if simple { price } else { None },
            stock: if simple { stock } else { None },
            low_stock_threshold: if simple { threshold } else { None },
            weight_grams: if simple { weight } else { None },
            options,
            variants,
            tags: split_tags(&self.tags),
            featured: self.featured.is_some(),
            active: self.active.is_some(),
        })
    }

    /// Changes to an existing product. Price and stock belong to the product only when it is
    /// simple; otherwise each variant row has its own.
    fn patch(&self, current: &ProductView) -> Result<ProductPatchInput, FieldErrors> {
        let mut e = FieldErrors::new();
        let simple = current.options.is_empty() && current.variants.len() == 1;
        let (price, stock, threshold, weight) = if simple {
            let price = money::read(&mut e, "price_cents", &self.price);
            if price.is_none() && self.price.trim().is_empty() {
                e.add("price_cents", "This field is required.");
            }
            (
                price,
                e.whole_number("stock", &self.stock),
                e.whole_number("low_stock_threshold", &self.low_stock_threshold),
                // An empty field clears the weight.
                Some(e.whole_number("weight_grams", &self.weight_grams)),
            )
        } else {
            (None, None, None, None)
        };
        let options = match parse_option_lines(&self.options) {
            Ok(o) if o == current.options => None,
            Ok(o) => Some(o),
            Err(m) => {
                e.add("options", m);
                None
            }
        };
        e.into_result()?;
        Ok(ProductPatchInput {
            name: Some(self.name.clone()),
            slug: Some(self.slug.clone()),
            description: Some(self.description.clone()),
            seo_title: Some(self.seo_title.clone()),
            seo_description: Some(self.seo_description.clone()),
            sku: group_ref(&self.sku),
            price_cents: price,
            stock,
            low_stock_threshold: threshold,
            weight_grams: weight,
            options,
            tags: Some(split_tags(&self.tags)),
            featured: Some(self.featured.is_some()),
            active: Some(self.active.is_some()),
        })
    }

    fn refs(&self) -> GroupRefs {
        GroupRefs {
            category: Some(group_ref(&self.category_id)),
            brand: Some(group_ref(&self.brand_id)),
        }
    }
}

/// What the edit page shows besides the product: values and errors of whichever form was
/// sent, so a refused form comes back as typed.
#[derive(Default)]
struct EditState {
    status: Option<StatusCode>,
    form: Option<Value>,
    errors: Value,
    /// Errors of one variant row, with the values typed in it.
    variant: Option<(String, Value, Value)>,
    new_variant: Option<(Value, Value)>,
    image_errors: Value,
}

async fn form_page(
    page: &Page,
    product: Option<&ProductView>,
    state: EditState,
) -> Result<Response, PageError> {
    let categories = groups::categories(&page.ctx).await?;
    let brands = groups::brands(&page.ctx).await?;
    let settings = Settings::get(&page.ctx);
    let form = state.form.unwrap_or_else(|| {
        product.map_or_else(
            || {
                json!(ProductForm {
                    active: Some("true".into()),
                    ..Default::default()
                })
            },
            |p| json!(ProductForm::of(p)),
        )
    });
    let title = product.map_or_else(|| "New product".to_string(), |p| format!("Edit {}", p.name));
    let (variant_id, variant_form, variant_errors) = state
        .variant
        .unwrap_or_else(|| (String::new(), json!({}), json!({})));
    let (new_variant, new_variant_errors) =
        state.new_variant.unwrap_or_else(|| (json!({}), json!({})));
    let or_empty = |v: Value, empty: Value| if v.is_null() { empty } else { v };
    let data = json!({
        "product": product.map(present::product),
        "simple": product.is_some_and(|p| p.options.is_empty() && p.variants.len() == 1),
        "variants": product.map(variant_rows),
        "form": form,
        "errors": or_empty(state.errors, json!({})),
        "variant_edit": {"id": variant_id, "form": variant_form, "errors": variant_errors},
        "new_variant": {"form": new_variant, "errors": new_variant_errors},
        "image_errors": or_empty(state.image_errors, json!([])),
        "pending_images": product.is_some_and(|p| p.images.iter().any(|i| i.status == images::ImageStatus::Pending)),
        "max_images": settings.images.max_per_product,
        "max_image_mb": settings.images.max_bytes / (1024 * 1024),
        "categories": categories,
        "brands": brands,
        "currency": settings.currency,
    });
    page.render_status(
        state.status.unwrap_or(StatusCode::OK),
        "admin/products/form.html",
        &title,
        data,
    )
    .await
}

fn variant_rows(p: &ProductView) -> Vec<Value> {
    p.variants
        .iter()
        .map(|v| {
            json!({
                "id": v.id, "sku": v.sku, "options": v.options,
                "label": v.options.values().cloned().collect::<Vec<_>>().join(" / "),
                "price": money::plain(v.price_cents), "price_display": money::format(v.price_cents, &p.currency),
                "stock": v.stock, "reserved": v.stock - v.available, "available": v.available,
                "low_stock_threshold": v.low_stock_threshold,
                "weight_grams": v.weight_grams.map_or_else(String::new, |w| w.to_string()),
            })
        })
        .collect()
}

async fn new(page: Page) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    form_page(&page, None, EditState::default()).await
}

async fn create(page: Page, Form(f): Form<ProductForm>) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    let result = match f.input().and_then(|i| i.parse()) {
        Ok(draft) => products::create(&page.ctx, draft, &f.refs(), &page.actor()).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(p) => {
            flash(&page.session, "success", format!("Created {}.", p.name)).await;
            Ok(Redirect::to(&format!("/admin/products/{}", p.id)).into_response())
        }
        Err(e) => {
            let errors = form_errors(e, PRODUCT_FIELDS)?;
            let state = EditState {
                status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                form: Some(json!(f)),
                errors,
                ..Default::default()
            };
            form_page(&page, None, state).await
        }
    }
}

async fn edit(page: Page, Path(id): Path<String>) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    let p = products::detail(&page.ctx, &id, true).await?;
    form_page(&page, Some(&p), EditState::default()).await
}

async fn update(
    page: Page,
    Path(id): Path<String>,
    Form(f): Form<ProductForm>,
) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    let current = products::detail(&page.ctx, &id, true).await?;
    let result = match f.patch(&current).and_then(|p| p.parse()) {
        Ok(patch) => products::update(&page.ctx, &id, patch, &f.refs(), &page.actor()).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(p) => {
            flash(&page.session, "success", format!("Saved {}.", p.name)).await;
            Ok(Redirect::to(&format!("/admin/products/{}", p.id)).into_response())
        }
        Err(e) => {
            let state = EditState {
                status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                form: Some(json!(f)),
                errors: form_errors(e, PRODUCT_FIELDS)?,
                ..Default::default()
            };
            form_page(&page, Some(&current), state).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActiveForm {
    active: String,
    /// Where to go back to (the table keeps its filters).
    back: String,
}

/// Activate or deactivate from the table or the edit page.
async fn set_active(
    page: Page,
    Path(id): Path<String>,
    Form(f): Form<ActiveForm>,
) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    let active = f.active == "true";
    let patch = ProductPatchInput {
        active: Some(active),
        ..Default::default()
    }
    .parse()?;
    let p = products::update(&page.ctx, &id, patch, &GroupRefs::default(), &page.actor()).await?;
    let verb = if active { "Activated" } else { "Deactivated" };
    flash(&page.session, "success", format!("{verb} {}.", p.name)).await;
    let back = crate::web::html::safe_next(&f.back);
    let back = if back.starts_with("/admin/") {
        back.to_string()
    } else {
        format!("/admin/products/{}", p.id)
    };
    Ok(Redirect::to(&back).into_response())
}

async fn destroy(page: Page, Path(id): Path<String>) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    let name = products::detail(&page.ctx, &id, true).await?.name;
    match products::delete(&page.ctx, &id).await? {
        Removal::Deleted => {
            flash(&page.session, "success", format!("Deleted {name}.")).await;
            Ok(Redirect::to("/admin/products").into_response())
        }
        Removal::Deactivated(p) => {
            flash(
                &page.session,
                "info",
                format!("{name} has orders, so it was deactivated instead of deleted."),
            )
            .await;
            Ok(Redirect::to(&format!("/admin/products/{}", p.id)).into_response())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Variants

#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(default)]
struct VariantForm {
    sku: String,
    price: String,
    stock: String,
    low_stock_threshold: String,
    weight_grams: String,
}

const VARIANT_FIELDS: &[&str] = &[
    "_form",
    "sku",
    "price_cents",
    "stock",
    "low_stock_threshold",
    "weight_grams",
    "options",
];

async fn update_variant(
    page: Page,
    Path(id): Path<String>,
    Form(f): Form<VariantForm>,
) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    let (_, product) = products::find_variant(&page.ctx.db, &id).await?;
    let mut e = FieldErrors::new();
    let input = VariantPatchInput {
        sku: group_ref(&f.sku),
        options: None,
        price_cents: money::read(&mut e, "price_cents", &f.price),
        stock: e.whole_number("stock", &f.stock),
        low_stock_threshold: e.whole_number("low_stock_threshold", &f.low_stock_threshold),
        weight_grams: Some(e.whole_number("weight_grams", &f.weight_grams)),
    };
    let result = match e.into_result() {
        Ok(()) => products::update_variant(&page.ctx, &id, &input, &page.actor())
            .await
            .map(|_| ()),
        Err(e) => Err(e.into()),
    };
    variant_outcome(&page, product.pid.to_string(), result, |errors, p| {
        EditState {
            variant: Some((id.clone(), json!(f), errors)),
            ..p
        }
    })
    .await
}

/// Redirects back to the edit page, or shows it again with the errors of the form sent.
async fn variant_outcome(
    page: &Page,
    product: String,
    result: Result<(), AppError>,
    state: impl FnOnce(Value, EditState) -> EditState,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => {
            flash(&page.session, "success", "Variants saved.").await;
            Ok(Redirect::to(&format!("/admin/products/{product}#variants")).into_response())
        }
        Err(e) => {
            let errors = form_errors(e, VARIANT_FIELDS)?;
            let p = products::detail(&page.ctx, &product, true).await?;
            let base = EditState {
                status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                ..Default::default()
            };
            form_page(page, Some(&p), state(errors, base)).await
        }
    }
}

async fn add_variant(
    page: Page,
    Path(id): Path<String>,
    Form(fields): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    let current = products::detail(&page.ctx, &id, true).await?;
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let mut e = FieldErrors::new();
    let options: BTreeMap<String, String> = fields
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("opt.").map(|n| (n.to_string(), v.clone())))
        .collect();
    let price = money::read(&mut e, "price_cents", &get("price"));
    if price.is_none() && get("price").trim().is_empty() {
        e.add("price_cents", "This field is required.");
    }
    let input = VariantInput {
        sku: get("sku"),
        options,
        price_cents: price.unwrap_or(0),
        stock: e.whole_number("stock", &get("stock")).unwrap_or(0),
        low_stock_threshold: e.whole_number("low_stock_threshold", &get("low_stock_threshold")),
        weight_grams: e.whole_number("weight_grams", &get("weight_grams")),
    };
    let result = match e.into_result() {
        Ok(()) => products::add_variant(&page.ctx, &id, &input, &page.actor())
            .await
            .map(|_| ()),
        Err(e) => Err(e.into()),
    };
    variant_outcome(&page, current.id.to_string(), result, |errors, s| {
        EditState {
            new_variant: Some((json!(fields), errors)),
            ..s
        }
    })
    .await
}

async fn delete_variant(page: Page, Path(id): Path<String>) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    let (_, product) = products::find_variant(&page.ctx.db, &id).await?;
    let result = products::delete_variant(&page.ctx, &id).await;
    variant_outcome(&page, product.pid.to_string(), result, |errors, s| {
        EditState {
            errors: json!({"_form": errors["_form"].clone()}),
            ..s
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Images

/// The image list of the edit page; polled while renditions are being made.
async fn image_list(page: Page, Path(id): Path<String>) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    let p = products::detail(&page.ctx, &id, true).await?;
    image_panel(&page, &p, StatusCode::OK, json!([])).await
}

async fn image_panel(
    page: &Page,
    p: &ProductView,
    status: StatusCode,
    errors: Value,
) -> Result<Response, PageError> {
    page.render_status(
        status,
        "admin/products/_images.html",
        "Images",
        json!({
            "product": present::product(p),
            "image_errors": errors,
            "pending_images": p.images.iter().any(|i| i.status == images::ImageStatus::Pending),
        }),
    )
    .await
}

async fn upload_image(
    page: Page,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    let result = match form {
        Ok(form) => match read_image_form(form).await {
            Ok((bytes, alt)) => images::upload(&page.ctx, &id, bytes, &alt)
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        },
        Err(_) => Err(AppError::UnsupportedMediaType(
            "Choose an image file to upload.".into(),
        )),
    };
    let errors = match result {
        Ok(()) => None,
        Err(
            e @ (AppError::UnsupportedMediaType(_)
            | AppError::PayloadTooLarge
            | AppError::BadRequest(_)
            | AppError::Unprocessable { .. }),
        ) => Some(json!([e.to_string()])),
        Err(AppError::Validation(fe)) => {
            Some(json!(fe.0.into_values().flatten().collect::<Vec<_>>()))
        }
        Err(e) => return Err(e.into()),
    };
    let fresh = products::detail(&page.ctx, &id, true).await?;
    if Page::is_htmx(&headers) {
        let status = if errors.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        return image_panel(&page, &fresh, status, errors.unwrap_or(json!([]))).await;
    }
    match errors {
        None => {
            flash(&page.session, "success", "Image uploaded.").await;
            Ok(Redirect::to(&format!("/admin/products/{}#images", fresh.id)).into_response())
        }
        Some(errors) => {
            let state = EditState {
                status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                image_errors: errors,
                ..Default::default()
            };
            form_page(&page, Some(&fresh), state).await
        }
    }
}

async fn delete_image(
    page: Page,
    headers: HeaderMap,
    Path((id, image)): Path<(String, String)>,
) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    images::delete(&page.ctx, &id, &image).await?;
    let fresh = products::detail(&page.ctx, &id, true).await?;
    if Page::is_htmx(&headers) {
        return image_panel(&page, &fresh, StatusCode::OK, json!([])).await;
    }
    flash(&page.session, "success", "Image deleted.").await;
    Ok(Redirect::to(&format!("/admin/products/{}#images", fresh.id)).into_response())
}

#[must_use]
pub fn routes(settings: &Settings) -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/admin/products", get(index))
        .add("/admin/products/new", get(new).post(create))
        .add("/admin/products/{id}", get(edit).post(update))
        .add("/admin/products/{id}/active", post(set_active))
        .add("/admin/products/{id}/delete", post(destroy))
        .add("/admin/products/{id}/variants", post(add_variant))
        .add("/admin/variants/{id}", post(update_variant))
        .add("/admin/variants/{id}/delete", post(delete_variant))
        .add("/admin/products/{id}/images", get(image_list))
        .add(
            "/admin/products/{id}/images/upload",
            post(upload_image).layer(axum::extract::DefaultBodyLimit::max(
                settings.upload_body_limit(),
            )),
        )
        .add(
            "/admin/products/{id}/images/{image}/delete",
            post(delete_image),
        )
}
