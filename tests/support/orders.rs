//! Shop fixtures for cart, checkout and back-office tests, made through the API.
use std::collections::BTreeMap;

use axum::http::{HeaderName, HeaderValue};
use axum_test::TestResponse;
use emporium::{
    domain::role::Role,
    models::{_entities::variants, stock},
};
use loco_rs::{app::AppContext, TestServer};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{access_token, bearer, catalogue};

pub type Auth = (HeaderName, HeaderValue);

/// The seeded catalogue plus an admin, a product manager and a staff member.
pub struct Shop {
    pub pm: Auth,
    pub admin: Auth,
    pub staff: Auth,
    /// SKU → product id.
    pub products: BTreeMap<String, String>,
}

impl Shop {
    pub fn id(&self, sku: &str) -> &str {
        &self.products[sku]
    }
}

/// Catalogue (see `catalogue::seed`: TNT-2 stock 3, TNT-4 0, LMP-1 12, KTL-1 4, MUG-2 40) and
/// the back-office users.
pub async fn shop(server: &TestServer, ctx: &AppContext) -> Shop {
    let pm = catalogue::manager(server, ctx).await;
    catalogue::seed(server, &pm).await;
    let admin = bearer(&access_token(server, ctx, "admin@example.com", Role::Admin).await);
    let staff = bearer(&access_token(server, ctx, "staff@example.com", Role::Staff).await);
    let list: Value = server.get("/api/v1/products?page_size=100").await.json();
    let products = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["sku"].as_str().unwrap().to_string(),
                p["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    Shop {
        pm,
        admin,
        staff,
        products,
    }
}

pub async fn customer(server: &TestServer, ctx: &AppContext, email: &str) -> Auth {
    bearer(&access_token(server, ctx, email, Role::Customer).await)
}

pub async fn add(
    server: &TestServer,
    auth: &Auth,
    product_id: &str,
    quantity: i64,
) -> TestResponse {
    server
        .post("/api/v1/cart/items")
        .add_header(auth.0.clone(), auth.1.clone())
        .json(&json!({"product_id": product_id, "quantity": quantity}))
        .await
}

pub fn address(country: &str) -> Value {
    json!({"line1": "1 Harbour Road", "city": "Kiel", "postal_code": "24103", "country": country, "phone": "+49 431 1"})
}

pub async fn checkout(server: &TestServer, auth: &Auth) -> TestResponse {
    server
        .post("/api/v1/checkout")
        .add_header(auth.0.clone(), auth.1.clone())
        .json(&json!({"shipping_address": address("DE")}))
        .await
}

pub async fn get(server: &TestServer, auth: &Auth, path: &str) -> TestResponse {
    server
        .get(path)
        .add_header(auth.0.clone(), auth.1.clone())
        .await
}

pub async fn post(server: &TestServer, auth: &Auth, path: &str, body: Value) -> TestResponse {
    server
        .post(path)
        .add_header(auth.0.clone(), auth.1.clone())
        .json(&body)
        .await
}

/// Every pending order's time runs out now, and the expiry runs: how many orders it expired.
pub async fn expire_all_now(ctx: &AppContext) -> usize {
    use emporium::models::_entities::orders;
    use sea_orm::sea_query::Expr;
    orders::Entity::update_many()
        .col_expr(
            orders::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .exec(&ctx.db)
        .await
        .unwrap();
    emporium::models::orders::expire_due(ctx, chrono::Utc::now())
        .await
        .unwrap()
}

/// A product as the API shows it now.
pub async fn product(server: &TestServer, id: &str) -> Value {
    server.get(&format!("/api/v1/products/{id}")).await.json()
}

/// Asserts that the ledger explains the variant's levels: its deltas sum to stock and
/// reserved, and neither is negative or over-reserved.
pub async fn assert_ledger_explains(ctx: &AppContext, variant_pid: &str) -> variants::Model {
    let v = variants::Entity::find()
        .filter(variants::Column::Pid.eq(Uuid::parse_str(variant_pid).unwrap()))
        .one(&ctx.db)
        .await
        .unwrap()
        .unwrap();
    let (s, r) = stock::ledger_sums(&ctx.db, v.id).await.unwrap();
    assert_eq!(
        (s, r),
        (i64::from(v.stock), i64::from(v.reserved)),
        "ledger of {}",
        v.sku
    );
    assert!(
        v.stock >= 0 && v.reserved >= 0 && v.reserved <= v.stock,
        "{v:?}"
    );
    v
}

/// The only variant of a simple product.
pub async fn variant_of(server: &TestServer, product_id: &str) -> String {
    product(server, product_id).await["variants"][0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Puts one of `product` in the signed-in browser's cart through the shop's form.
pub async fn post_form_add(server: &TestServer, csrf: &str, product: &str) {
    let variant = variant_of(server, product).await;
    let res = server
        .post("/cart/items")
        .form(&[
            ("csrf_token", csrf),
            ("product_id", product),
            ("variant_id", &variant),
            ("quantity", "1"),
        ])
        .await;
    assert_eq!(res.status_code(), 303, "{}", res.text());
}
