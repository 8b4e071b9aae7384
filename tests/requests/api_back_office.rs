//! `/api/v1/admin/*` back office: promo codes, purchase orders, ledger, adjustments,
//! notifications and tax rates (API.md "Back office").
use emporium::models::notifications;
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{orders::*, *};

#[tokio::test]
#[parallel]
async fn promo_codes_are_validated_unique_and_managed_by_catalogue_managers_only() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        let body = json!({"code": "spring-25", "kind": "percent", "value": 2500, "max_discount_cents": 2000, "ends_at": "2030-01-01T00:00:00Z"});
        assert_error(&post(&server, &ann, "/api/v1/admin/promo-codes", body.clone()).await, 403, "forbidden");
        assert_error(&post(&server, &shop.staff, "/api/v1/admin/promo-codes", body.clone()).await, 403, "forbidden");
        assert_error(&server.get("/api/v1/admin/promo-codes").await, 401, "unauthorized");
        let created = post(&server, &shop.pm, "/api/v1/admin/promo-codes", body.clone()).await;
        assert_eq!(created.status_code(), 201, "{}", created.text());
        let promo: Value = created.json();
        assert_eq!(promo["code"], "SPRING-25");
        assert_eq!(promo["used_count"], 0);
        assert_eq!(promo["ends_at"], "2030-01-01T00:00:00Z");
        assert_error(&post(&server, &shop.admin, "/api/v1/admin/promo-codes", body).await, 409, "conflict");
        let bad = post(&server, &shop.pm, "/api/v1/admin/promo-codes", json!({"code": "X", "kind": "gift", "value": 0})).await;
        let details = &assert_error(&bad, 422, "validation_failed")["error"]["details"];
        assert!(details["kind"].is_array());

        let id = promo["id"].as_str().unwrap();
        let patched = server
            .patch(&format!("/api/v1/admin/promo-codes/{id}"))
            .add_header(shop.pm.0.clone(), shop.pm.1.clone())
            .json(&json!({"active": false, "ends_at": null}))
            .await;
        patched.assert_status_ok();
        let patched: Value = patched.json();
        assert_eq!((patched["active"].as_bool(), patched["value"].as_i64()), (Some(false), Some(2500)));
        assert!(patched["ends_at"].is_null());
        let list: Value = get(&server, &shop.pm, "/api/v1/admin/promo-codes?q=spring").await.json();
        assert_eq!(list["count"], 1);
        // An inactive code does not apply.
        add(&server, &ann, shop.id("MUG-2"), 1).await;
        assert_error(&post(&server, &ann, "/api/v1/cart/coupon", json!({"code": "SPRING-25"})).await, 422, "validation_failed");
        let deleted = server
            .delete(&format!("/api/v1/admin/promo-codes/{id}"))
            .add_header(shop.pm.0.clone(), shop.pm.1.clone())
            .await;
        assert_eq!(deleted.status_code(), 204);
        assert_error(&get(&server, &shop.pm, &format!("/api/v1/admin/promo-codes/{id}")).await, 404, "not_found");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_purchase_order_is_received_exactly_once_and_the_ledger_says_so() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        let body = json!({"supplier": "Fjell AS", "expected_at": "2026-12-24T00:00:00Z", "lines": [
            {"product_id": shop.id("TNT-4"), "quantity": 10, "unit_cost_cents": 15000},
            {"product_id": shop.id("TNT-2"), "quantity": 5, "unit_cost_cents": 9000},
        ]});
        assert_error(
            &post(&server, &ann, "/api/v1/admin/purchase-orders", body.clone()).await,
            403,
            "forbidden",
        );
        assert_error(
            &post(
                &server,
                &shop.pm,
                "/api/v1/admin/purchase-orders",
                body.clone(),
            )
            .await,
            403,
            "forbidden",
        );
        let bad = post(
            &server,
            &shop.staff,
            "/api/v1/admin/purchase-orders",
            json!({"supplier": "", "lines": [{"product_id": uuid::Uuid::new_v4(), "quantity": 0}]}),
        )
        .await;
        let details = &assert_error(&bad, 422, "validation_failed")["error"]["details"];
        assert!(
            details["supplier"].is_array() && details["lines[0].quantity"].is_array(),
            "{details}"
        );

        let po: Value = post(&server, &shop.staff, "/api/v1/admin/purchase-orders", body)
            .await
            .json();
        assert_eq!(po["status"], "open");
        assert_eq!(po["total_cost_cents"], 10 * 15000 + 5 * 9000);
        let id = po["id"].as_str().unwrap();
        get(
            &server,
            &shop.admin,
            &format!("/api/v1/admin/purchase-orders/{id}"),
        )
        .await
        .assert_status_ok();

        let received = post(
            &server,
            &shop.staff,
            &format!("/api/v1/admin/purchase-orders/{id}/receive"),
            json!({}),
        )
        .await;
        received.assert_status_ok();
        assert_eq!(received.json::<Value>()["status"], "received");
        let again = post(
            &server,
            &shop.admin,
            &format!("/api/v1/admin/purchase-orders/{id}/receive"),
            json!({}),
        )
        .await;
        assert_error(&again, 409, "conflict");
        let big = product(&server, shop.id("TNT-4")).await;
        assert_eq!(big["stock"], 10);
        assert_eq!(product(&server, shop.id("TNT-2")).await["stock"], 8);

        let ledger: Value = get(
            &server,
            &shop.staff,
            &format!("/api/v1/admin/stock-ledger?product={}", shop.id("TNT-4")),
        )
        .await
        .json();
        assert_eq!(ledger["count"], 1, "{ledger}");
        let row = &ledger["results"][0];
        assert_eq!(
            (
                row["reason"].as_str(),
                row["stock_delta"].as_i64(),
                row["stock_after"].as_i64()
            ),
            (Some("receipt"), Some(10), Some(10))
        );
        assert_eq!(row["purchase_order_id"], po["id"]);
        assert_ledger_explains(&ctx, big["variants"][0]["id"].as_str().unwrap()).await;
        let open: Value = get(
            &server,
            &shop.staff,
            "/api/v1/admin/purchase-orders?status=open",
        )
        .await
        .json();
        assert_eq!(open["count"], 0);
        assert_error(
            &get(&server, &ann, "/api/v1/admin/stock-ledger").await,
            403,
            "forbidden",
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn adjustments_never_take_stock_below_what_open_orders_reserved() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("KTL-1"), 3).await;
        checkout(&server, &ann)
            .await
            .assert_status(axum::http::StatusCode::CREATED);
        let adjust = |delta: i64| {
            post(
                &server,
                &shop.admin,
                "/api/v1/admin/stock-adjustments",
                json!({"product_id": shop.id("KTL-1"), "delta": delta, "reason": "stocktake"}),
            )
        };
        assert_error(&adjust(-2).await, 409, "conflict");
        let ok = adjust(-1).await;
        assert_eq!(ok.status_code(), 201, "{}", ok.text());
        let row: Value = ok.json();
        assert_eq!(
            (
                row["stock_after"].as_i64(),
                row["reserved_after"].as_i64(),
                row["available_after"].as_i64()
            ),
            (Some(3), Some(3), Some(0))
        );
        assert_eq!(row["note"], "stocktake");
        assert!(row["actor"].as_str().unwrap().contains("admin@example.com"));
        assert_error(&adjust(0).await, 422, "validation_failed");
        let staff = post(
            &server,
            &shop.staff,
            "/api/v1/admin/stock-adjustments",
            json!({"product_id": shop.id("KTL-1"), "delta": 1, "reason": "found"}),
        )
        .await;
        assert_error(&staff, 403, "forbidden");
        // The catalogue editor's stock field is recorded as an adjustment too, and guarded the same way.
        let set = server
            .patch(&format!("/api/v1/products/{}", shop.id("KTL-1")))
            .add_header(shop.pm.0.clone(), shop.pm.1.clone())
            .json(&json!({"stock": 2}))
            .await;
        assert_error(&set, 409, "conflict");
        let p = product(&server, shop.id("KTL-1")).await;
        let v = assert_ledger_explains(&ctx, p["variants"][0]["id"].as_str().unwrap()).await;
        assert_eq!((v.stock, v.reserved), (3, 3));
        let ledger: Value = get(
            &server,
            &shop.admin,
            &format!(
                "/api/v1/admin/stock-ledger?variant={}",
                p["variants"][0]["id"].as_str().unwrap()
            ),
        )
        .await
        .json();
        let reasons: Vec<&str> = ledger["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["reason"].as_str().unwrap())
            .collect();
        assert_eq!(
            reasons,
            ["adjustment", "reserve", "adjustment"],
            "newest first: stocktake, checkout, initial stock"
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn the_stock_check_keeps_one_open_notification_per_low_variant_and_mails_admins_once() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        // Thresholds are 5: TNT-2 (3), TNT-4 (0) and KTL-1 (4) are low; LMP-1 (12) and MUG-2 (40) are not.
        let first = notifications::check_stock(&ctx).await.unwrap();
        assert_eq!(first.opened, 3);
        let digest = mails_to(&ctx, "admin@example.com").await;
        assert_eq!(
            digest
                .iter()
                .filter(|m| m.kind == "low_stock_digest")
                .count(),
            1
        );
        assert!(digest[digest.len() - 1].text_body.contains("TNT-2"));
        assert_eq!(
            notifications::check_stock(&ctx).await.unwrap().opened,
            0,
            "still open: nothing new"
        );
        assert_eq!(
            mails_to(&ctx, "admin@example.com")
                .await
                .iter()
                .filter(|m| m.kind == "low_stock_digest")
                .count(),
            1
        );

        let list: Value = get(&server, &shop.staff, "/api/v1/admin/notifications")
            .await
            .json();
        assert_eq!(list["count"], 3);
        let tent = list["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["product_id"] == shop.id("TNT-2"))
            .unwrap()
            .clone();
        assert_eq!(
            (
                tent["kind"].as_str(),
                tent["stock"].as_i64(),
                tent["read"].as_bool()
            ),
            (Some("low_stock"), Some(3), Some(false))
        );

        // Restocking above the threshold closes it; the next shortage opens a new one.
        post(
            &server,
            &shop.admin,
            "/api/v1/admin/stock-adjustments",
            json!({"product_id": shop.id("TNT-2"), "delta": 10, "reason": "delivery"}),
        )
        .await;
        let second = notifications::check_stock(&ctx).await.unwrap();
        assert_eq!((second.opened, second.closed), (0, 1));
        post(
            &server,
            &shop.admin,
            "/api/v1/admin/stock-adjustments",
            json!({"product_id": shop.id("TNT-2"), "delta": -10, "reason": "recall"}),
        )
        .await;
        assert_eq!(notifications::check_stock(&ctx).await.unwrap().opened, 1);

        let id = tent["id"].as_str().unwrap();
        let read = server
            .patch(&format!("/api/v1/admin/notifications/{id}"))
            .add_header(shop.staff.0.clone(), shop.staff.1.clone())
            .json(&json!({"read": true}))
            .await;
        read.assert_status_ok();
        assert_eq!(read.json::<Value>()["read"], true);
        let unread: Value = get(
            &server,
            &shop.staff,
            "/api/v1/admin/notifications?unread=true",
        )
        .await
        .json();
        assert_eq!(unread["count"], 3);
        let staff_delete = server
            .delete(&format!("/api/v1/admin/notifications/{id}"))
            .add_header(shop.staff.0.clone(), shop.staff.1.clone())
            .await;
        assert_error(&staff_delete, 403, "forbidden");
        let deleted = server
            .delete(&format!("/api/v1/admin/notifications/{id}"))
            .add_header(shop.admin.0.clone(), shop.admin.1.clone())
            .await;
        assert_eq!(deleted.status_code(), 204);
        assert_eq!(
            get(&server, &shop.staff, "/api/v1/admin/notifications")
                .await
                .json::<Value>()["count"],
            3
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn tax_rates_are_one_per_country_and_admin_only() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let body = json!({"country": "fr", "rate_bp": 2000, "name": "TVA"});
        assert_error(
            &post(&server, &shop.pm, "/api/v1/admin/tax-rates", body.clone()).await,
            403,
            "forbidden",
        );
        let created: Value = post(
            &server,
            &shop.admin,
            "/api/v1/admin/tax-rates",
            body.clone(),
        )
        .await
        .json();
        assert_eq!(created["country"], "FR");
        assert_error(
            &post(&server, &shop.admin, "/api/v1/admin/tax-rates", body).await,
            409,
            "conflict",
        );
        let bad = post(
            &server,
            &shop.admin,
            "/api/v1/admin/tax-rates",
            json!({"country": "France", "rate_bp": 10001, "name": ""}),
        )
        .await;
        let details = &assert_error(&bad, 422, "validation_failed")["error"]["details"];
        assert!(
            details["country"].is_array()
                && details["rate_bp"].is_array()
                && details["name"].is_array()
        );
        let id = created["id"].as_str().unwrap();
        let updated = server
            .put(&format!("/api/v1/admin/tax-rates/{id}"))
            .add_header(shop.admin.0.clone(), shop.admin.1.clone())
            .json(&json!({"country": "FR", "rate_bp": 550, "name": "TVA réduite"}))
            .await;
        updated.assert_status_ok();
        let list: Value = get(&server, &shop.admin, "/api/v1/admin/tax-rates")
            .await
            .json();
        assert_eq!(list[0]["rate_bp"], 550);

        // The order is taxed at its shipping country's rate: FR 5.5 %, prices without tax.
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("LMP-1"), 1).await;
        let order: Value = post(
            &server,
            &ann,
            "/api/v1/checkout",
            json!({"shipping_address": address("FR")}),
        )
        .await
        .json();
        assert_eq!(order["tax_rate_bp"], 550);
        // (3900 + 495) × 5.5 % = 241.725 → 242.
        assert_eq!(order["tax_cents"], 242);
        assert_eq!(order["total_cents"], 3900 + 495 + 242);
    })
    .await;
}
