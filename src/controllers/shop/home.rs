//! The home page: featured products, categories and new arrivals.
use axum::response::Response;
use loco_rs::prelude::Routes;
use serde_json::json;

use crate::{
    domain::catalogue::{ListFilter, Sort},
    errors::PageError,
    models::catalogue::{groups, listing},
    views::catalogue as present,
    web::html::Page,
};

async fn index(page: Page) -> Result<Response, PageError> {
    let featured = ListFilter {
        featured: true,
        sort: Some(Sort::Newest),
        ..Default::default()
    };
    let featured = listing::list(&page.ctx, &featured, 1, 8).await?;
    let newest = listing::list(&page.ctx, &ListFilter::default(), 1, 4).await?;
    let categories: Vec<_> = groups::categories(&page.ctx)
        .await?
        .into_iter()
        .filter(|c| c.parent.is_none())
        .collect();
    page.render(
        "shop/home.html",
        "Welcome",
        json!({
            "featured": present::products(&featured.results),
            "newest": present::products(&newest.results),
            "categories": categories,
        }),
    )
    .await
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new().add("/", axum::routing::get(index))
}
