//! Reviews and the wishlist in the shop: posting and editing a review from the product page,
//! the wishlist heart (htmx toggle, or a plain post) and the wishlist page.
use axum::{
    extract::Path,
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
    Form,
};
use loco_rs::prelude::Routes;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::{
    errors::{AppError, PageError},
    models::{
        catalogue::products::find_product,
        reviews::{self, ReviewDraft},
        wishlist,
    },
    views,
    web::html::{error_sentence, flash, Page},
};

type PageResult = Result<Response, PageError>;

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ReviewForm {
    rating: String,
    comment: String,
}

impl ReviewForm {
    fn draft(&self) -> Result<ReviewDraft, AppError> {
        let rating = self.rating.trim().parse::<i64>().unwrap_or(0);
        Ok(ReviewDraft::parse(rating, &self.comment)?)
    }
}

/// Back to the product's reviews with the outcome as a message.
async fn back_to(page: &Page, slug: &str, result: Result<(), AppError>, ok: &str) -> PageResult {
    match result {
        Ok(()) => flash(&page.session, "success", ok).await,
        Err(AppError::Forbidden) => {
            flash(
                &page.session,
                "error",
                "Only customers who bought this product can review it.",
            )
            .await;
        }
        Err(e) => {
            let message = error_sentence(e)?;
            flash(&page.session, "error", message).await;
        }
    }
    Ok(Redirect::to(&format!("{}#reviews", product_path(slug))).into_response())
}

/// The product page of a slug taken from the request path, percent-encoded: whatever was sent,
/// the answer is a valid header that stays on this site.
fn product_path(slug: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(slug.as_bytes()).collect();
    format!("/p/{encoded}")
}

/// A review that breaks a rule comes back on the product page at the form, with what was
/// typed; other outcomes go back to the reviews with a message.
async fn answer(
    page: &Page,
    slug: &str,
    f: ReviewForm,
    result: Result<(), AppError>,
    ok: &str,
) -> PageResult {
    match result {
        Err(AppError::Validation(errors)) => {
            let state = super::catalogue::ReviewFormState {
                rating: f.rating,
                comment: f.comment,
                errors: Some(errors),
            };
            super::catalogue::render_product(page, slug, &Default::default(), &state).await
        }
        other => back_to(page, slug, other, ok).await,
    }
}

async fn create(page: Page, Path(slug): Path<String>, Form(f): Form<ReviewForm>) -> PageResult {
    let user = page.require_user()?.clone();
    let result = match f.draft() {
        Ok(d) => reviews::create(&page.ctx, &user, &slug, d)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    answer(&page, &slug, f, result, "Thank you for your review.").await
}

async fn update(page: Page, Path(id): Path<Uuid>, Form(f): Form<ReviewForm>) -> PageResult {
    let user = page.require_user()?.clone();
    let slug = reviews::product_slug(&page.ctx.db, id).await?;
    let result = match f.draft() {
        Ok(d) => reviews::update(&page.ctx, &user, id, d).await.map(|_| ()),
        Err(e) => Err(e),
    };
    answer(&page, &slug, f, result, "Your review is saved.").await
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct HeartForm {
    on: String,
    /// Where to return without JavaScript (the wishlist page); the product page otherwise.
    back: String,
}

async fn toggle(
    page: Page,
    headers: HeaderMap,
    Path(product): Path<Uuid>,
    Form(f): Form<HeartForm>,
) -> PageResult {
    let user = page.require_user()?.clone();
    let id = product.to_string();
    let on = f.on == "1";
    if on {
        wishlist::add(&page.ctx, &user, &id).await?;
    } else {
        wishlist::remove(&page.ctx, &user, &id).await?;
    }
    if Page::is_htmx(&headers) {
        return page
            .render(
                "shop/wishlist/_heart.html",
                "Wishlist",
                json!({"p": {"id": product}, "me": {"wishlisted": on}}),
            )
            .await;
    }
    let back = match crate::domain::redirect::local_path(&f.back) {
        Some(local) => local.to_string(),
        None => product_path(&find_product(&page.ctx.db, &id, true).await?.slug),
    };
    flash(
        &page.session,
        "success",
        if on {
            "Added to your wishlist."
        } else {
            "Removed from your wishlist."
        },
    )
    .await;
    Ok(Redirect::to(&back).into_response())
}

async fn index(page: Page) -> PageResult {
    let user = page.require_user()?.clone();
    let products = wishlist::list(&page.ctx, &user).await?;
    page.render(
        "shop/wishlist/index.html",
        "Your wishlist",
        json!({"products": views::catalogue::products(&products)}),
    )
    .await
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/p/{slug}/reviews", post(create))
        .add("/reviews/{id}", post(update))
        .add("/wishlist", get(index))
        .add("/wishlist/{product}", post(toggle))
}
