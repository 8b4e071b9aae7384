//! The cart pages: `/cart`, adding from the product page, quantities, removal and the promo
//! code. Every action is a plain form post (303 back to the cart without JavaScript); with
//! htmx the cart region comes back as a fragment with the header badge out of band.
use axum::{
    extract::Path,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use loco_rs::prelude::Routes;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

use crate::{
    domain::validation::FieldErrors,
    errors::{AppError, PageError},
    models::{
        _entities::carts as cart_rows,
        carts::{self, AddItem, CartKey},
        users::Model as User,
    },
    settings::Settings,
    views,
    web::html::{error_sentence, flash, form_errors, Page, CART_TOKEN_KEY},
};

type PageResult = Result<Response, PageError>;

async fn render_cart(
    page: &Page,
    headers: &HeaderMap,
    status: StatusCode,
    errors: &FieldErrors,
    notices: Vec<String>,
    coupon_input: &str,
    country: Option<String>,
) -> PageResult {
    let cart = page.cart().await?;
    let to = carts::Destination {
        country,
        method: None,
    };
    let view = carts::view_for(&page.ctx, cart.as_ref(), page.user.as_ref(), notices, to).await?;
    let settings = Settings::get(&page.ctx);
    let data = json!({
        "cart": views::orders::cart(&view), "errors": errors, "coupon_input": coupon_input,
        "oob": Page::is_htmx(headers),
        "ship_countries": views::countries::shipping(&settings.checkout.ship_to),
    });
    let template = if Page::is_htmx(headers) {
        "shop/cart/_cart.html"
    } else {
        "shop/cart/show.html"
    };
    page.render_status(status, template, "Your cart", data)
        .await
}

#[derive(Debug, Default, Deserialize)]
struct CartQuery {
    /// The country to show tax and shipping for (an unknown code is ignored).
    #[serde(default)]
    country: String,
}

async fn show(
    page: Page,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<CartQuery>,
) -> PageResult {
    let code = q.country.trim().to_ascii_uppercase();
    let country = crate::domain::countries::name(&code).map(|_| code);
    render_cart(
        &page,
        &headers,
        StatusCode::OK,
        &FieldErrors::new(),
        vec![],
        "",
        country,
    )
    .await
}

/// After a change: the fragment for htmx, a redirect to the cart (with the message) otherwise.
async fn after_change(
    page: &Page,
    headers: &HeaderMap,
    result: Result<(), AppError>,
    coupon_input: &str,
) -> PageResult {
    match result {
        Ok(()) if Page::is_htmx(headers) => {
            render_cart(
                page,
                headers,
                StatusCode::OK,
                &FieldErrors::new(),
                vec![],
                "",
                None,
            )
            .await
        }
        Ok(()) => Ok(Redirect::to("/cart").into_response()),
        // With or without htmx: the cart again, with the message (422).
        Err(e) => {
            let errors = form_errors(e)?;
            render_cart(
                page,
                headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                &errors,
                vec![],
                coupon_input,
                None,
            )
            .await
        }
    }
}

#[derive(Debug, Deserialize)]
struct AddForm {
    product_id: String,
    #[serde(default)]
    variant_id: String,
    #[serde(default)]
    quantity: String,
    /// Where to come back to without JavaScript (the product page).
    #[serde(default)]
    back: String,
    /// The rest of the form: the product page's option picker sends `opt.<name>=<value>`.
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

impl AddForm {
    /// The options chosen on the product page, by option name.
    fn chosen(&self) -> BTreeMap<String, String> {
        self.rest
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("opt.").map(|n| (n.to_string(), v.clone())))
            .collect()
    }
}

/// The variant the shopper chose with the option picker: exactly that combination, or a
/// message saying what is missing.
async fn chosen_variant(
    page: &Page,
    product_id: Uuid,
    chosen: &BTreeMap<String, String>,
) -> Result<Uuid, AppError> {
    let p = crate::models::catalogue::products::detail(&page.ctx, &product_id.to_string(), false)
        .await?;
    if let Some(v) = p.variant_with(chosen) {
        return Ok(v.id);
    }
    let missing: Vec<String> = p
        .options
        .iter()
        .filter(|o| !chosen.contains_key(&o.name))
        .map(|o| o.name.to_lowercase())
        .collect();
    let message = if missing.is_empty() {
        "This combination is not available; choose another.".to_string()
    } else {
        format!("Choose a {} first.", missing.join(" and "))
    };
    Err(FieldErrors::single("_form", message).into())
}

fn parse_add(f: &AddForm, max: i32) -> Result<AddItem, FieldErrors> {
    let product_id = Uuid::parse_str(f.product_id.trim())
        .map_err(|_| FieldErrors::single("_form", "No such product."))?;
    let variant_id = match f.variant_id.trim() {
        "" => None,
        v => Some(
            Uuid::parse_str(v)
                .map_err(|_| FieldErrors::single("_form", "Choose an option first."))?,
        ),
    };
    let quantity = match f.quantity.trim() {
        "" => 1,
        q => q
            .parse::<i64>()
            .map_err(|_| FieldErrors::single("quantity", "Enter a whole number."))?,
    };
    AddItem::parse(product_id, variant_id, quantity, max)
}

/// Adds to the cart from a product page. A guest's first add starts a cart whose token is
/// kept in the session.
async fn add(page: Page, headers: HeaderMap, Form(f): Form<AddForm>) -> PageResult {
    let max = Settings::get(&page.ctx).checkout.max_line_quantity;
    let back = crate::web::html::safe_next(&f.back).to_string();
    let chosen = f.chosen();
    let result = match parse_add(&f, max) {
        Err(e) => Err(AppError::Validation(e)),
        Ok(mut add) => {
            // The picker's choice, not the variant the page was drawn with, is what is added.
            let picked = if chosen.is_empty() {
                Ok(())
            } else {
                chosen_variant(&page, add.product_id, &chosen)
                    .await
                    .map(|v| add.variant_id = Some(v))
            };
            match picked {
                Ok(()) => add_for(&page, &add).await,
                Err(e) => Err(e),
            }
        }
    };
    let htmx = Page::is_htmx(&headers);
    match result {
        Ok(name) if htmx => {
            page.render("shop/cart/_added.html", "Added", json!({"message": format!("Added {name} to your cart."), "ok": true, "badge_oob": true}))
                .await
        }
        Ok(name) => {
            flash(&page.session, "success", format!("Added {name} to your cart.")).await;
            Ok(Redirect::to("/cart").into_response())
        }
        Err(e) => {
            let message = error_sentence(e)?;
            if htmx {
                page.render_status(StatusCode::UNPROCESSABLE_ENTITY, "shop/cart/_added.html", "Not added", json!({"message": message, "ok": false, "badge_oob": false}))
                    .await
            } else {
                flash(&page.session, "error", message).await;
                let to = if back == "/account" {
                    "/cart".to_string()
                } else if chosen.is_empty() || back.contains('?') {
                    back
                } else {
                    // Back to the product page as the shopper left it.
                    let mut q = form_urlencoded::Serializer::new(String::new());
                    for (name, value) in &chosen {
                        q.append_pair(&format!("opt.{name}"), value);
                    }
                    format!("{back}?{}", q.finish())
                };
                Ok(Redirect::to(&to).into_response())
            }
        }
    }
}

async fn add_for(page: &Page, add: &AddItem) -> Result<String, AppError> {
    let token = page.cart_token().await?;
    let key = match (&page.user, &token) {
        (Some(u), _) => Some(CartKey::User(u)),
        (None, Some(t)) => Some(CartKey::Guest(t)),
        (None, None) => None,
    };
    let result = carts::add_item(&page.ctx, key.as_ref(), add).await;
    // A token that names no cart any more (purged): start a new cart.
    let (cart, new_token) = match result {
        Err(AppError::NotFound) if page.user.is_none() => {
            carts::add_item(&page.ctx, None, add).await?
        }
        other => other?,
    };
    if let Some(t) = new_token {
        page.session
            .insert(CART_TOKEN_KEY, t)
            .await
            .map_err(AppError::internal)?;
    }
    let line = carts::lines(&page.ctx.db, cart.id)
        .await?
        .into_iter()
        .find(|l| {
            l.product.pid == add.product_id && add.variant_id.is_none_or(|v| v == l.variant.pid)
        });
    Ok(line.map_or_else(|| "the item".to_string(), |l| l.display_name()))
}

async fn require_cart(page: &Page) -> Result<cart_rows::Model, AppError> {
    page.cart().await?.ok_or(AppError::NotFound)
}

#[derive(Debug, Deserialize)]
struct QuantityForm {
    quantity: String,
}

async fn update(
    page: Page,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Form(f): Form<QuantityForm>,
) -> PageResult {
    let result = async {
        let cart = require_cart(&page).await?;
        let q =
            f.quantity.trim().parse::<i64>().map_err(|_| {
                FieldErrors::single("_form", "Enter a whole number as the quantity.")
            })?;
        carts::set_quantity(&page.ctx, &cart, id, q)
            .await
            .map_err(|e| match e {
                // The cart shows one message area: say which field the message is about.
                AppError::Validation(mut f) => match f.0.remove("quantity") {
                    Some(messages) => {
                        FieldErrors::single("_form", format!("Quantity: {}", messages.join(" ")))
                            .into()
                    }
                    None => AppError::Validation(f),
                },
                e => e,
            })
    }
    .await;
    after_change(&page, &headers, result, "").await
}

async fn remove(page: Page, headers: HeaderMap, Path(id): Path<Uuid>) -> PageResult {
    let result = async {
        let cart = require_cart(&page).await?;
        carts::set_quantity(&page.ctx, &cart, id, 0).await
    }
    .await;
    after_change(&page, &headers, result, "").await
}

#[derive(Debug, Deserialize)]
struct CouponForm {
    #[serde(default)]
    code: String,
}

async fn apply_coupon(page: Page, headers: HeaderMap, Form(f): Form<CouponForm>) -> PageResult {
    let result = async {
        let cart = require_cart(&page).await?;
        carts::apply_coupon(&page.ctx, &cart, page.user.as_ref(), &f.code)
            .await
            .map(|_| ())
    }
    .await;
    after_change(&page, &headers, result, &f.code).await
}

async fn remove_coupon(page: Page, headers: HeaderMap) -> PageResult {
    let result = async {
        let cart = require_cart(&page).await?;
        carts::remove_coupon(&page.ctx, &cart).await.map(|_| ())
    }
    .await;
    after_change(&page, &headers, result, "").await
}

/// At login: merges the session's guest cart into the user's and tells them what changed.
///
/// # Errors
/// Session or database errors.
pub async fn adopt_guest_cart(page: &Page, user: &User) -> Result<(), AppError> {
    let Some(token) = page.cart_token().await? else {
        return Ok(());
    };
    let notices = carts::merge_guest(&page.ctx, user, &token).await?;
    page.session
        .remove::<String>(CART_TOKEN_KEY)
        .await
        .map_err(AppError::internal)?;
    for n in notices {
        flash(&page.session, "info", n).await;
    }
    Ok(())
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/cart", get(show))
        .add("/cart/items", post(add))
        .add("/cart/items/{id}", post(update))
        .add("/cart/items/{id}/remove", post(remove))
        .add("/cart/coupon", post(apply_coupon))
        .add("/cart/coupon/remove", post(remove_coupon))
}
