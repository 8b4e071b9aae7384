//! Catalogue fixtures made through the API, as a product manager would.
use axum::http::{HeaderName, HeaderValue};
use emporium::domain::role::Role;
use serde_json::{json, Value};

use super::{access_token, bearer};

/// A product manager's bearer header.
pub async fn manager(
    server: &loco_rs::TestServer,
    ctx: &loco_rs::app::AppContext,
) -> (HeaderName, HeaderValue) {
    let token = access_token(server, ctx, "pm@example.com", Role::ProductManager).await;
    bearer(&token)
}

pub async fn post(
    server: &loco_rs::TestServer,
    auth: &(HeaderName, HeaderValue),
    path: &str,
    body: Value,
) -> Value {
    let res = server
        .post(path)
        .add_header(auth.0.clone(), auth.1.clone())
        .json(&body)
        .await;
    assert_eq!(res.status_code(), 201, "{path}: {}", res.text());
    res.json()
}

/// A small catalogue: two top categories (one with a child), two brands, tags, prices.
pub async fn seed(server: &loco_rs::TestServer, pm: &(HeaderName, HeaderValue)) {
    post(server, pm, "/api/v1/categories", json!({"name": "Outdoor"})).await;
    post(
        server,
        pm,
        "/api/v1/categories",
        json!({"name": "Tents", "parent_id": "outdoor"}),
    )
    .await;
    post(server, pm, "/api/v1/categories", json!({"name": "Kitchen"})).await;
    post(server, pm, "/api/v1/brands", json!({"name": "Fjell"})).await;
    post(
        server,
        pm,
        "/api/v1/brands",
        json!({"name": "Kettle & Co", "slug": "kettle-co"}),
    )
    .await;
    for (sku, name, desc, price, stock, cat, brand, tags, featured) in [
        (
            "TNT-2",
            "Ridge Tent 2P",
            "A light two-person tent for hiking.",
            24900,
            3,
            "tents",
            "fjell",
            vec!["hiking"],
            true,
        ),
        (
            "TNT-4",
            "Family Tent 4P",
            "Roomy tent for camping with kids.",
            39900,
            0,
            "tents",
            "fjell",
            vec!["camping"],
            false,
        ),
        (
            "LMP-1",
            "Camp Lantern",
            "Bright lantern; pairs with any tent.",
            3900,
            12,
            "outdoor",
            "fjell",
            vec!["camping", "light"],
            false,
        ),
        (
            "KTL-1",
            "Whistling Kettle",
            "Stovetop kettle in enamel.",
            4500,
            4,
            "kitchen",
            "kettle-co",
            vec!["enamel"],
            true,
        ),
        (
            "MUG-2",
            "Enamel Mug",
            "Classic mug, speckled blue.",
            900,
            40,
            "kitchen",
            "kettle-co",
            vec!["enamel"],
            false,
        ),
    ] {
        post(
            server,
            pm,
            "/api/v1/products",
            json!({
                "sku": sku, "name": name, "description": desc, "price_cents": price, "stock": stock,
                "category_id": cat, "brand_id": brand, "tags": tags, "featured": featured,
            }),
        )
        .await;
    }
}
