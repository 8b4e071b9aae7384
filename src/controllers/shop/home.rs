//! The home page.
use axum::response::Response;
use loco_rs::prelude::Routes;
use serde_json::json;

use crate::{errors::PageError, web::html::Page};

async fn index(page: Page) -> Result<Response, PageError> {
    page.render("shop/home.html", "Welcome", json!({})).await
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new().add("/", axum::routing::get(index))
}
