//! `/api/v1/cart*`: API.md "Cart" — guest carts by token, user carts, merge, coupons, totals.
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{orders::*, *};

#[tokio::test]
#[parallel]
async fn a_guest_cart_lives_behind_its_token_and_refuses_more_than_is_available() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let tent = shop.id("TNT-2");
        let res = server
            .post("/api/v1/cart/items")
            .json(&json!({"product_id": tent, "quantity": 2}))
            .await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        let token = res.headers()["x-cart-token"].to_str().unwrap().to_string();
        let cart: Value = res.json();
        assert_eq!(cart["items"][0]["sku"], "TNT-2");
        assert_eq!(cart["items"][0]["quantity"], 2);
        assert_eq!(cart["items"][0]["unit_price_cents"], 24900);
        assert_eq!(cart["items"][0]["line_total_cents"], 49800);
        assert_eq!(cart["subtotal_cents"], 49800);
        // No tax rate configured, free shipping above 50.00: the total is the subtotal.
        assert_eq!(cart["shipping_cents"], 0);
        assert_eq!(cart["total_cents"], 49800);
        let item = cart["items"][0]["id"].as_str().unwrap().to_string();

        let with_token =
            |req: axum_test::TestRequest| req.add_header("x-cart-token", token.clone());
        let again: Value = with_token(server.get("/api/v1/cart")).await.json();
        assert_eq!(again["id"], cart["id"]);
        assert!(
            server.get("/api/v1/cart").await.json::<Value>()["id"].is_null(),
            "no token, no cart"
        );
        assert_error(
            &server
                .get("/api/v1/cart")
                .add_header("x-cart-token", "nope")
                .await,
            404,
            "not_found",
        );

        // Three tents exist: 2 + 2 is too many, and the answer names the product.
        let over = with_token(server.post("/api/v1/cart/items"))
            .json(&json!({"product_id": tent, "quantity": 2}))
            .await;
        let body = assert_error(&over, 409, "insufficient_stock");
        assert!(body["error"]["details"][tent][0]
            .as_str()
            .unwrap()
            .contains("Only 3"));
        let over = with_token(server.patch(&format!("/api/v1/cart/items/{item}")))
            .json(&json!({"quantity": 4}))
            .await;
        assert_error(&over, 409, "insufficient_stock");
        let zero = with_token(server.patch(&format!("/api/v1/cart/items/{item}")))
            .json(&json!({"quantity": -1}))
            .await;
        assert_error(&zero, 422, "validation_failed");

        let three: Value = with_token(server.patch(&format!("/api/v1/cart/items/{item}")))
            .json(&json!({"quantity": 3}))
            .await
            .json();
        assert_eq!(three["item_count"], 3);
        let out_of_stock = with_token(server.post("/api/v1/cart/items"))
            .json(&json!({"product_id": shop.id("TNT-4"), "quantity": 1}))
            .await;
        assert_error(&out_of_stock, 409, "insufficient_stock");
        let unknown = with_token(server.post("/api/v1/cart/items"))
            .json(&json!({"product_id": uuid::Uuid::new_v4(), "quantity": 1}))
            .await;
        assert_error(&unknown, 422, "validation_failed");

        let removed = with_token(server.delete(&format!("/api/v1/cart/items/{item}"))).await;
        removed.assert_status_ok();
        assert_eq!(removed.json::<Value>()["items"], json!([]));
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_refused_first_add_leaves_no_guest_cart_behind() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let res = server
            .post("/api/v1/cart/items")
            .json(&json!({"product_id": shop.id("TNT-4"), "quantity": 1}))
            .await;
        assert_error(&res, 409, "insufficient_stock");
        assert!(res.headers().get("x-cart-token").is_none());
        use sea_orm::{EntityTrait, PaginatorTrait};
        let carts = emporium::models::_entities::carts::Entity::find()
            .count(&ctx.db)
            .await
            .unwrap();
        assert_eq!(carts, 0);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn logging_in_merges_the_guest_cart_capped_by_availability_and_says_what_changed() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        // Ann already has two tents in her cart; as a guest she adds two more and a kettle.
        add(&server, &ann, shop.id("TNT-2"), 2)
            .await
            .assert_status(axum::http::StatusCode::CREATED);
        let res = server
            .post("/api/v1/cart/items")
            .json(&json!({"product_id": shop.id("TNT-2"), "quantity": 2}))
            .await;
        let token = res.headers()["x-cart-token"].to_str().unwrap().to_string();
        server
            .post("/api/v1/cart/items")
            .add_header("x-cart-token", token.clone())
            .json(&json!({"product_id": shop.id("KTL-1"), "quantity": 1}))
            .await
            .assert_status(axum::http::StatusCode::CREATED);

        let merged: Value = server
            .get("/api/v1/cart")
            .add_header(ann.0.clone(), ann.1.clone())
            .add_header("x-cart-token", token.clone())
            .await
            .json();
        let qty = |sku: &str| {
            merged["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["sku"] == sku)
                .map(|i| i["quantity"].as_i64().unwrap())
        };
        assert_eq!(qty("TNT-2"), Some(3), "2 + 2 capped at the 3 available");
        assert_eq!(qty("KTL-1"), Some(1));
        assert_eq!(merged["notices"].as_array().unwrap().len(), 1, "{merged}");
        assert!(merged["notices"][0]
            .as_str()
            .unwrap()
            .contains("only 3 available"));
        // The guest cart is gone; the user's cart is what remains.
        assert_error(
            &server
                .get("/api/v1/cart")
                .add_header("x-cart-token", token)
                .await,
            404,
            "not_found",
        );
        let mine: Value = get(&server, &ann, "/api/v1/cart").await.json();
        assert_eq!(mine["id"], merged["id"]);
        assert_eq!(mine["item_count"], 4);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn coupons_and_tax_show_in_the_totals_with_the_documented_rounding() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        post(&server, &shop.admin, "/api/v1/admin/tax-rates", json!({"country": "DE", "rate_bp": 1900, "name": "USt"}))
            .await
            .assert_status(axum::http::StatusCode::CREATED);
        post(
            &server,
            &shop.pm,
            "/api/v1/admin/promo-codes",
            json!({"code": "save10", "kind": "percent", "value": 1000, "max_discount_cents": 500, "min_subtotal_cents": 2000}),
        )
        .await
        .assert_status(axum::http::StatusCode::CREATED);
        // Two mugs: 18.00, below the code's 20.00 minimum, and below free shipping.
        add(&server, &ann, shop.id("MUG-2"), 2).await;
        let refused = post(&server, &ann, "/api/v1/cart/coupon", json!({"code": "SAVE10"})).await;
        let body = assert_error(&refused, 422, "validation_failed");
        assert!(body["error"]["details"]["code"][0].as_str().unwrap().contains("at least"));
        assert_error(
            &post(&server, &ann, "/api/v1/cart/coupon", json!({"code": "NOPE"})).await,
            422,
            "validation_failed",
        );

        add(&server, &ann, shop.id("MUG-2"), 2).await; // 36.00
        let cart: Value = post(&server, &ann, "/api/v1/cart/coupon", json!({"code": " save10 "})).await.json();
        assert_eq!(cart["coupon"], "SAVE10");
        assert_eq!(cart["subtotal_cents"], 3600);
        assert_eq!(cart["discount_cents"], 360);
        assert_eq!(cart["shipping_cents"], 495, "32.40 after the discount: below 50.00");
        // (3240 + 495) × 19 % = 709.65 → 710, tax added on top (tax-exclusive prices).
        assert_eq!(cart["tax_rate_bp"], 1900);
        assert_eq!(cart["tax_cents"], 710);
        assert_eq!(cart["total_cents"], 3240 + 495 + 710);

        // A percentage above the cap is capped.
        add(&server, &ann, shop.id("TNT-2"), 1).await;
        let capped: Value = get(&server, &ann, "/api/v1/cart").await.json();
        assert_eq!(capped["discount_cents"], 500);
        let removed: Value = server
            .delete("/api/v1/cart/coupon")
            .add_header(ann.0.clone(), ann.1.clone())
            .await
            .json();
        assert!(removed["coupon"].is_null());
        assert_eq!(removed["discount_cents"], 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[parallel]
async fn adds_to_one_cart_at_once_all_count() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        let results =
            futures::future::join_all((0..4).map(|_| add(&server, &ann, shop.id("MUG-2"), 1)))
                .await;
        for r in &results {
            assert_eq!(r.status_code(), 201, "{}", r.text());
        }
        let cart: Value = get(&server, &ann, "/api/v1/cart").await.json();
        assert_eq!(cart["items"].as_array().unwrap().len(), 1);
        assert_eq!(cart["items"][0]["quantity"], 4);
    })
    .await;
}
