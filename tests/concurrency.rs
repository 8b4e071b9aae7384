//! Races that must come out right on SQLite and PostgreSQL: many checkouts for the last units,
//! one Idempotency-Key sent in parallel, expiry against payment, the last use of a promo code.
use emporium::models::{_entities::orders, orders as order_model};
use std::future::IntoFuture;

use futures::future::join_all;
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{catalogue, orders::*, *};

/// A product with `stock` units and a fresh customer per buyer, each with one unit in the cart.
async fn buyers(
    server: &loco_rs::TestServer,
    ctx: &loco_rs::app::AppContext,
    stock: i64,
    count: usize,
) -> (String, Vec<Auth>) {
    let pm = catalogue::manager(server, ctx).await;
    let p = catalogue::post(
        server,
        &pm,
        "/api/v1/products",
        json!({"sku": "LAST-1", "name": "Last Lantern", "price_cents": 2500, "stock": stock}),
    )
    .await;
    let id = p["id"].as_str().unwrap().to_string();
    let mut list = Vec::new();
    for i in 0..count {
        let auth = customer(server, ctx, &format!("buyer{i}@example.com")).await;
        let res = add(server, &auth, &id, 1).await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        list.push(auth);
    }
    (id, list)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[parallel]
async fn twenty_buyers_racing_for_five_units_make_exactly_five_orders() {
    with_app(|server, ctx| async move {
        let (id, buyers) = buyers(&server, &ctx, 5, 20).await;
        let results = join_all(buyers.iter().map(|b| checkout(&server, b))).await;
        let won = results.iter().filter(|r| r.status_code() == 201).count();
        let lost: Vec<_> = results.iter().filter(|r| r.status_code() != 201).collect();
        assert_eq!(won, 5, "exactly the units there are");
        for r in &lost {
            assert_error(r, 409, "insufficient_stock");
        }
        let p = product(&server, &id).await;
        assert_eq!(
            (p["stock"].as_i64(), p["available"].as_i64()),
            (Some(5), Some(0))
        );
        let v = assert_ledger_explains(&ctx, p["variants"][0]["id"].as_str().unwrap()).await;
        assert_eq!(v.reserved, 5);
        assert_eq!(orders::Entity::find().count(&ctx.db).await.unwrap(), 5);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[parallel]
async fn one_idempotency_key_sent_five_times_at_once_places_one_order() {
    with_app(|server, ctx| async move {
        let (id, buyers) = buyers(&server, &ctx, 10, 1).await;
        let b = &buyers[0];
        let send = || {
            server
                .post("/api/v1/checkout")
                .add_header(b.0.clone(), b.1.clone())
                .add_header("idempotency-key", "checkout-7f3a")
                .json(&json!({"shipping_address": address("DE")}))
        };
        let results = join_all((0..5).map(|_| send().into_future())).await;
        let ids: std::collections::HashSet<String> = results
            .iter()
            .map(|r| {
                assert_eq!(r.status_code(), 201, "{}", r.text());
                r.json::<Value>()["id"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(ids.len(), 1, "every answer names the one order");
        assert_eq!(orders::Entity::find().count(&ctx.db).await.unwrap(), 1);
        let p = product(&server, &id).await;
        assert_eq!(p["available"], 9, "reserved once");
        assert_ledger_explains(&ctx, p["variants"][0]["id"].as_str().unwrap()).await;
        assert_eq!(
            mails_to(&ctx, "buyer0@example.com")
                .await
                .iter()
                .filter(|m| m.kind == "order_placed")
                .count(),
            1
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[parallel]
async fn expiry_racing_payment_settles_each_order_exactly_once() {
    with_app(|server, ctx| async move {
        let (id, buyers) = buyers(&server, &ctx, 8, 8).await;
        let admin = bearer(
            &access_token(
                &server,
                &ctx,
                "admin@example.com",
                emporium::domain::role::Role::Admin,
            )
            .await,
        );
        let mut placed = Vec::new();
        for b in &buyers {
            let o: Value = checkout(&server, b).await.json();
            placed.push(o["id"].as_str().unwrap().to_string());
        }
        // Every reservation has run out at the moment the payments arrive.
        orders::Entity::update_many()
            .col_expr(
                orders::Column::ExpiresAt,
                Expr::value(chrono::Utc::now() - chrono::Duration::seconds(5)),
            )
            .exec(&ctx.db)
            .await
            .unwrap();
        let paths: Vec<String> = placed
            .iter()
            .map(|o| format!("/api/v1/orders/{o}/mark-paid"))
            .collect();
        let pay = join_all(paths.iter().map(|p| post(&server, &admin, p, json!({}))));
        let expire = async {
            order_model::expire_due(&ctx, chrono::Utc::now())
                .await
                .unwrap()
        };
        let (payments, expired) = tokio::join!(pay, expire);
        let paid = payments.iter().filter(|r| r.status_code() == 200).count();
        for r in payments.iter().filter(|r| r.status_code() != 200) {
            assert_error(r, 409, "invalid_transition");
        }
        assert_eq!(paid + expired, 8, "each order paid or expired, never both");
        let statuses: Vec<String> = orders::Entity::find()
            .all(&ctx.db)
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.status)
            .collect();
        assert_eq!(statuses.iter().filter(|s| *s == "paid").count(), paid);
        assert_eq!(statuses.iter().filter(|s| *s == "expired").count(), expired);
        let p = product(&server, &id).await;
        let v = assert_ledger_explains(&ctx, p["variants"][0]["id"].as_str().unwrap()).await;
        assert_eq!(
            (v.stock, v.reserved),
            (8 - i32::try_from(paid).unwrap(), 0),
            "sold what was paid, released the rest"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[parallel]
async fn the_last_use_of_a_promo_code_goes_to_exactly_one_of_many_racing_checkouts() {
    with_app(|server, ctx| async move {
        let (id, buyers) = buyers(&server, &ctx, 20, 6).await;
        let admin = bearer(
            &access_token(
                &server,
                &ctx,
                "admin@example.com",
                emporium::domain::role::Role::Admin,
            )
            .await,
        );
        catalogue::post(
            &server,
            &admin,
            "/api/v1/admin/promo-codes",
            json!({"code": "LAST", "kind": "fixed", "value": 300, "usage_limit": 1}),
        )
        .await;
        for b in &buyers {
            post(&server, b, "/api/v1/cart/coupon", json!({"code": "LAST"}))
                .await
                .assert_status_ok();
        }
        let results = join_all(buyers.iter().map(|b| checkout(&server, b))).await;
        let won: Vec<Value> = results
            .iter()
            .filter(|r| r.status_code() == 201)
            .map(|r| r.json())
            .collect();
        assert_eq!(won.len(), 1, "one order gets the code");
        assert_eq!(won[0]["discount_cents"], 300);
        for r in results.iter().filter(|r| r.status_code() != 201) {
            let body = assert_error(r, 422, "validation_failed");
            assert!(body["error"]["details"]["code"][0]
                .as_str()
                .unwrap()
                .contains("used up"));
        }
        let p = product(&server, &id).await;
        assert_eq!(p["available"], 19, "the refused checkouts reserved nothing");
        assert_ledger_explains(&ctx, p["variants"][0]["id"].as_str().unwrap()).await;
        let used = emporium::models::_entities::promo_codes::Entity::find()
            .filter(emporium::models::_entities::promo_codes::Column::Code.eq("LAST"))
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(used.used_count, 1);
    })
    .await;
}
