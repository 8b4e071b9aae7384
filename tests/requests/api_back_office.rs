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
        // `null` is no body (everything still to come), not a malformed one.
        let again = post(
            &server,
            &shop.admin,
            &format!("/api/v1/admin/purchase-orders/{id}/receive"),
            Value::Null,
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
async fn a_delivery_in_parts_is_counted_once_and_an_order_sent_by_mistake_is_cancelled() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        let tent = product(&server, shop.id("TNT-4")).await;
        let tent_variant = tent["variants"][0]["id"].as_str().unwrap().to_string();
        let small = product(&server, shop.id("TNT-2")).await;
        let small_variant = small["variants"][0]["id"].as_str().unwrap().to_string();
        let small_stock = small["stock"].as_i64().unwrap();
        let po: Value = post(
            &server,
            &shop.staff,
            "/api/v1/admin/purchase-orders",
            json!({"supplier": "Fjell AS", "lines": [
                {"product_id": shop.id("TNT-4"), "quantity": 10, "unit_cost_cents": 15000},
                {"product_id": shop.id("TNT-2"), "quantity": 5, "unit_cost_cents": 9000},
            ]}),
        )
        .await
        .json();
        let id = po["id"].as_str().unwrap().to_string();
        let receive = format!("/api/v1/admin/purchase-orders/{id}/receive");

        // Refused parts write nothing: another product's variant, more than ordered, none.
        let other = product(&server, shop.id("MUG-2")).await;
        for (lines, field) in [
            (json!([{"variant_id": other["variants"][0]["id"], "quantity": 1}]), "lines[0].variant_id"),
            (json!([{"variant_id": tent_variant, "quantity": 11}]), "lines[0].quantity"),
            (json!([{"variant_id": tent_variant, "quantity": 0}]), "lines[0].quantity"),
            (json!([]), "lines"),
            (json!(vec![json!({"variant_id": tent_variant, "quantity": 1}); 201]), "lines"),
        ] {
            let res = post(&server, &shop.staff, &receive, json!({"lines": lines})).await;
            let body = assert_error(&res, 422, "validation_failed");
            assert!(body["error"]["details"][field].is_array(), "{body}");
        }
        assert_error(
            &post(&server, &ann, &receive, json!({"lines": [{"variant_id": tent_variant, "quantity": 1}]})).await,
            403,
            "forbidden",
        );
        assert_eq!(product(&server, shop.id("TNT-4")).await["stock"], 0);

        // Two staff members count the first box at once: both boxes are counted, once each.
        let box1 = json!({"lines": [{"variant_id": tent_variant, "quantity": 4}]});
        let (a, b) = tokio::join!(
            post(&server, &shop.staff, &receive, box1.clone()),
            post(&server, &shop.admin, &receive, box1.clone()),
        );
        a.assert_status_ok();
        b.assert_status_ok();
        let now: Value = get(&server, &shop.staff, &format!("/api/v1/admin/purchase-orders/{id}")).await.json();
        assert_eq!(now["status"], "partially_received");
        assert_eq!(now["lines"][0]["received_quantity"], 8);
        assert_eq!(now["lines"][1]["received_quantity"], 0);
        assert!(now["received_at"].is_null());
        assert_eq!(product(&server, shop.id("TNT-4")).await["stock"], 8);
        // Only 2 tents are still to come.
        let over = post(&server, &shop.staff, &receive, box1).await;
        let body = assert_error(&over, 422, "validation_failed");
        assert!(body["error"]["details"]["lines[0].quantity"][0]
            .as_str()
            .unwrap()
            .contains("2 of 10"));
        // Something arrived: it can no longer be cancelled.
        assert_error(
            &post(&server, &shop.staff, &format!("/api/v1/admin/purchase-orders/{id}/cancel"), json!({})).await,
            409,
            "conflict",
        );
        let listed: Value = get(&server, &shop.staff, "/api/v1/admin/purchase-orders?status=partially_received").await.json();
        assert_eq!(listed["count"], 1);

        // No body: the rest arrives, once.
        let rest = post(&server, &shop.staff, &receive, json!({})).await;
        rest.assert_status_ok();
        let done: Value = rest.json();
        assert_eq!(done["status"], "received");
        assert!(done["received_at"].is_string());
        assert_eq!(done["lines"][0]["received_quantity"], 10);
        assert_eq!(done["lines"][1]["received_quantity"], 5);
        assert_error(&post(&server, &shop.staff, &receive, json!({})).await, 409, "conflict");
        assert_error(
            &post(&server, &shop.staff, &receive, json!({"lines": [{"variant_id": small_variant, "quantity": 1}]})).await,
            409,
            "conflict",
        );
        assert_eq!(product(&server, shop.id("TNT-4")).await["stock"], 10);
        assert_eq!(product(&server, shop.id("TNT-2")).await["stock"], small_stock + 5);
        let ledger: Value = get(
            &server,
            &shop.staff,
            &format!("/api/v1/admin/stock-ledger?product={}&reason=receipt", shop.id("TNT-4")),
        )
        .await
        .json();
        let deltas: Vec<i64> = ledger["results"].as_array().unwrap().iter().map(|r| r["stock_delta"].as_i64().unwrap()).collect();
        assert_eq!(deltas, [2, 4, 4], "newest first: {ledger}");
        assert_ledger_explains(&ctx, &tent_variant).await;
        assert_ledger_explains(&ctx, &small_variant).await;

        // An order sent by mistake is cancelled before anything arrives, and then takes nothing.
        let mistake: Value = post(
            &server,
            &shop.staff,
            "/api/v1/admin/purchase-orders",
            json!({"supplier": "Wrong AS", "lines": [{"product_id": shop.id("TNT-2"), "quantity": 3}]}),
        )
        .await
        .json();
        let mid = mistake["id"].as_str().unwrap();
        let cancel = format!("/api/v1/admin/purchase-orders/{mid}/cancel");
        let cancelled = post(&server, &shop.staff, &cancel, json!({})).await;
        cancelled.assert_status_ok();
        let cancelled: Value = cancelled.json();
        assert_eq!(cancelled["status"], "cancelled");
        assert!(cancelled["cancelled_by"].as_str().unwrap().contains("staff"));
        assert_error(&post(&server, &shop.staff, &cancel, json!({})).await, 409, "conflict");
        assert_error(
            &post(&server, &shop.staff, &format!("/api/v1/admin/purchase-orders/{mid}/receive"), json!({})).await,
            409,
            "conflict",
        );
        assert_eq!(product(&server, shop.id("TNT-2")).await["stock"], small_stock + 5);
        assert_error(
            &post(&server, &shop.staff, &format!("/api/v1/admin/purchase-orders/{}/cancel", uuid::Uuid::new_v4()), json!({})).await,
            404,
            "not_found",
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
        assert_eq!(list["results"][0]["rate_bp"], 550);
        assert_eq!(list["count"], 1);

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
