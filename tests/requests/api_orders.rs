//! `/api/v1/checkout`, `/api/v1/orders*`: API.md "Checkout, orders, payments".
use emporium::models::{_entities::orders, orders as order_model};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{orders::*, *};

#[tokio::test]
#[parallel]
async fn checkout_freezes_the_cart_into_a_pending_order_and_reserves_its_stock() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        let empty = checkout(&server, &ann).await;
        let body = assert_error(&empty, 422, "validation_failed");
        assert!(body["error"]["details"]["cart"].is_array());

        add(&server, &ann, shop.id("TNT-2"), 2).await;
        add(&server, &ann, shop.id("MUG-2"), 1).await;
        let bad = post(&server, &ann, "/api/v1/checkout", json!({"shipping_address": {"line1": "", "city": "Kiel", "postal_code": "1", "country": "Germany"}})).await;
        let body = assert_error(&bad, 422, "validation_failed");
        assert!(body["error"]["details"]["shipping_address.line1"].is_array(), "{body}");
        assert!(body["error"]["details"]["shipping_address.country"].is_array());

        let res = checkout(&server, &ann).await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        let order: Value = res.json();
        assert_eq!(order["status"], "pending");
        assert_eq!(order["number"], 1001);
        assert_eq!(order["items"].as_array().unwrap().len(), 2);
        assert_eq!(order["subtotal_cents"], 2 * 24900 + 900);
        assert_eq!(order["total_cents"], 2 * 24900 + 900);
        assert_eq!(order["shipping_address"]["city"], "Kiel");
        assert_eq!(order["billing_address"], order["shipping_address"], "billing defaults to shipping");
        assert_eq!(order["timeline"][0]["status"], "pending");
        assert!(order["timeline"][0]["actor"].as_str().unwrap().contains("ann@example.com"));
        assert!(order["expires_at"].is_string());

        // Reserved, not sold: stock stays, availability drops; the cart is empty.
        let tent = product(&server, shop.id("TNT-2")).await;
        assert_eq!((tent["stock"].as_i64(), tent["available"].as_i64()), (Some(3), Some(1)));
        let cart: Value = get(&server, &ann, "/api/v1/cart").await.json();
        assert_eq!(cart["items"], json!([]));
        assert_ledger_explains(&ctx, tent["variants"][0]["id"].as_str().unwrap()).await;
        let mails = mails_to(&ctx, "ann@example.com").await;
        assert!(mails.iter().any(|m| m.kind == "order_placed" && m.subject.contains("1001")));

        // The order is hers: listed and readable by her and staff, by nobody else.
        let id = order["id"].as_str().unwrap();
        let list: Value = get(&server, &ann, "/api/v1/orders").await.json();
        assert_eq!(list["count"], 1);
        get(&server, &ann, &format!("/api/v1/orders/{id}")).await.assert_status_ok();
        get(&server, &shop.staff, &format!("/api/v1/orders/{id}")).await.assert_status_ok();
        let bob = customer(&server, &ctx, "bob@example.com").await;
        assert_error(&get(&server, &bob, &format!("/api/v1/orders/{id}")).await, 404, "not_found");
        assert_eq!(get(&server, &bob, "/api/v1/orders").await.json::<Value>()["count"], 0);
        assert_error(&server.get("/api/v1/orders").await, 401, "unauthorized");
        let staff_list: Value = get(&server, &shop.staff, "/api/v1/orders?status=pending&customer=ann@example.com").await.json();
        assert_eq!(staff_list["count"], 1);
        assert_error(&get(&server, &shop.staff, "/api/v1/orders?status=lost").await, 422, "validation_failed");
        // A customer with orders is not deleted but closed: the order keeps its customer row,
        // cancelled, for the books; she can no longer sign in.
        let ann_id = order["customer_id"].as_str().unwrap();
        let res = server
            .delete(&format!("/api/v1/admin/users/{ann_id}"))
            .add_header(shop.admin.0.clone(), shop.admin.1.clone())
            .await;
        assert_eq!(res.status_code(), 204, "{}", res.text());
        let kept: Value = get(&server, &shop.staff, &format!("/api/v1/orders/{id}")).await.json();
        assert_eq!(kept["status"], "cancelled");
        assert_eq!(kept["customer_id"], ann_id);
        assert_error(&get(&server, &ann, &format!("/api/v1/orders/{id}")).await, 401, "unauthorized");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_short_line_reserves_nothing_and_every_short_product_is_named() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("TNT-2"), 3).await;
        add(&server, &ann, shop.id("KTL-1"), 4).await;
        add(&server, &ann, shop.id("MUG-2"), 5).await;
        // Meanwhile the shelf count drops: two tents and one kettle fewer.
        for (sku, delta) in [("TNT-2", -2), ("KTL-1", -1)] {
            let res = post(
                &server,
                &shop.admin,
                "/api/v1/admin/stock-adjustments",
                json!({"product_id": shop.id(sku), "delta": delta, "reason": "damaged"}),
            )
            .await;
            assert_eq!(res.status_code(), 201, "{}", res.text());
        }
        let res = checkout(&server, &ann).await;
        let body = assert_error(&res, 409, "insufficient_stock");
        let details = body["error"]["details"].as_object().unwrap();
        assert_eq!(details.len(), 2, "{body}");
        assert!(details.contains_key(shop.id("TNT-2")) && details.contains_key(shop.id("KTL-1")));
        // Nothing reserved, no order, the cart untouched.
        for sku in ["TNT-2", "KTL-1", "MUG-2"] {
            let p = product(&server, shop.id(sku)).await;
            assert_eq!(p["stock"], p["available"], "{sku}");
            assert_ledger_explains(&ctx, p["variants"][0]["id"].as_str().unwrap()).await;
        }
        assert_eq!(
            get(&server, &ann, "/api/v1/orders").await.json::<Value>()["count"],
            0
        );
        assert_eq!(
            get(&server, &ann, "/api/v1/cart").await.json::<Value>()["item_count"],
            12
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn the_order_moves_through_its_states_with_a_timeline_and_stock_follows() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("KTL-1"), 2).await;
        let order: Value = checkout(&server, &ann).await.json();
        let id = order["id"].as_str().unwrap().to_string();
        let path = |step: &str| format!("/api/v1/orders/{id}/{step}");

        // Only admins ship, complete, refund or record a payment.
        assert_error(
            &post(&server, &ann, &path("ship"), json!({})).await,
            403,
            "forbidden",
        );
        assert_error(
            &post(&server, &shop.staff, &path("mark-paid"), json!({})).await,
            403,
            "forbidden",
        );
        assert_error(
            &post(&server, &shop.admin, &path("ship"), json!({})).await,
            409,
            "invalid_transition",
        );
        assert_error(
            &get(&server, &ann, &path("invoice")).await,
            404,
            "not_found",
        );

        let paid: Value = post(&server, &shop.admin, &path("mark-paid"), json!({}))
            .await
            .json();
        assert_eq!(paid["status"], "paid");
        assert_eq!(paid["invoice_number"], 1);
        let kettle = product(&server, shop.id("KTL-1")).await;
        assert_eq!(
            (kettle["stock"].as_i64(), kettle["available"].as_i64()),
            (Some(2), Some(2)),
            "sold: out of stock and reservation"
        );
        assert_ledger_explains(&ctx, kettle["variants"][0]["id"].as_str().unwrap()).await;
        let again = post(&server, &shop.admin, &path("mark-paid"), json!({})).await;
        let body = assert_error(&again, 409, "invalid_transition");
        assert_eq!(
            body["error"]["message"],
            "An order that is paid cannot be paid."
        );
        let refused = assert_error(
            &post(&server, &ann, &path("cancel"), json!({})).await,
            409,
            "invalid_transition",
        );
        assert_eq!(
            refused["error"]["message"],
            "An order that is paid cannot be cancelled."
        );

        let shipped = server
            .post(&path("ship"))
            .add_header(shop.admin.0.clone(), shop.admin.1.clone())
            .json(&json!({"carrier": "DHL", "tracking_number": "00340434"}))
            .await;
        shipped.assert_status_ok();
        let shipped: Value = shipped.json();
        assert_eq!(
            (shipped["status"].as_str(), shipped["carrier"].as_str()),
            (Some("shipped"), Some("DHL"))
        );
        // An empty body is fine for steps without fields.
        let done = server
            .post(&path("complete"))
            .add_header(shop.admin.0.clone(), shop.admin.1.clone())
            .await;
        done.assert_status_ok();
        let refund = post(
            &server,
            &shop.admin,
            &path("refund"),
            json!({"restock": true}),
        )
        .await;
        assert_eq!(refund.status_code(), 201, "{}", refund.text());
        let refund: Value = refund.json();
        assert_eq!(refund["amount_cents"], order["total_cents"]);
        assert_eq!(refund["status"], "succeeded");
        let refunded: Value = get(&server, &ann, &format!("/api/v1/orders/{id}"))
            .await
            .json();
        assert_eq!(refunded["status"], "refunded");
        assert_eq!(refunded["refunded_cents"], order["total_cents"]);
        assert_eq!(
            refunded["refunds"][0]["credit_note_number"],
            refund["credit_note_number"]
        );
        let statuses: Vec<&str> = refunded["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            statuses,
            ["pending", "paid", "shipped", "completed", "refunded"]
        );
        assert!(refunded["timeline"][1]["actor"]
            .as_str()
            .unwrap()
            .contains("admin@example.com"));
        let kettle = product(&server, shop.id("KTL-1")).await;
        assert_eq!(kettle["stock"], 4, "refund restocked");
        assert_ledger_explains(&ctx, kettle["variants"][0]["id"].as_str().unwrap()).await;

        // The invoice stays: JSON for the owner and admin, printable with Accept: text/html.
        let inv: Value = get(&server, &ann, &path("invoice")).await.json();
        assert_eq!(inv["reference"], "INV-000001");
        assert_eq!(inv["order"]["number"], order["number"]);
        let html = server
            .get(&path("invoice"))
            .add_header(ann.0.clone(), ann.1.clone())
            .add_header("accept", "text/html")
            .await;
        html.assert_status_ok();
        assert!(html.text().contains("Invoice INV-000001"));
        assert!(html.text().contains("Whistling Kettle"));
        assert_error(
            &get(&server, &shop.staff, &path("invoice")).await,
            404,
            "not_found",
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn cancelling_releases_stock_and_promo_usage_and_invoices_are_numbered_without_gaps() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        post(
            &server,
            &shop.pm,
            "/api/v1/admin/promo-codes",
            json!({"code": "ONCE", "kind": "fixed", "value": 500, "usage_limit": 1}),
        )
        .await
        .assert_status(axum::http::StatusCode::CREATED);
        let ann = customer(&server, &ctx, "ann@example.com").await;
        let bob = customer(&server, &ctx, "bob@example.com").await;
        add(&server, &ann, shop.id("LMP-1"), 2).await;
        post(
            &server,
            &ann,
            "/api/v1/cart/coupon",
            json!({"code": "ONCE"}),
        )
        .await
        .assert_status_ok();
        let first: Value = checkout(&server, &ann).await.json();
        assert_eq!(first["discount_cents"], 500);
        assert_eq!(first["coupon"], "ONCE");

        // The only use is taken: Bob cannot apply it.
        add(&server, &bob, shop.id("LMP-1"), 1).await;
        let refused = post(
            &server,
            &bob,
            "/api/v1/cart/coupon",
            json!({"code": "ONCE"}),
        )
        .await;
        assert!(
            assert_error(&refused, 422, "validation_failed")["error"]["details"]["code"][0]
                .as_str()
                .unwrap()
                .contains("used up")
        );

        // Ann cancels while pending: the lamps and the code's use come back.
        let id = first["id"].as_str().unwrap();
        let cancelled: Value = post(
            &server,
            &ann,
            &format!("/api/v1/orders/{id}/cancel"),
            json!({}),
        )
        .await
        .json();
        assert_eq!(cancelled["status"], "cancelled");
        let lamp = product(&server, shop.id("LMP-1")).await;
        assert_eq!(lamp["available"], 12);
        assert_ledger_explains(&ctx, lamp["variants"][0]["id"].as_str().unwrap()).await;
        assert!(mails_to(&ctx, "ann@example.com")
            .await
            .iter()
            .any(|m| m.kind == "order_cancelled"));
        post(
            &server,
            &bob,
            "/api/v1/cart/coupon",
            json!({"code": "ONCE"}),
        )
        .await
        .assert_status_ok();
        assert_error(
            &post(
                &server,
                &ann,
                &format!("/api/v1/orders/{id}/cancel"),
                json!({}),
            )
            .await,
            409,
            "invalid_transition",
        );

        // Two paid orders get invoices 1 and 2; the cancelled one never had one.
        let b: Value = checkout(&server, &bob).await.json();
        add(&server, &ann, shop.id("LMP-1"), 1).await;
        let a: Value = checkout(&server, &ann).await.json();
        assert_eq!(b["number"], 1002);
        assert_eq!(a["number"], 1003);
        for (o, n) in [(&a, 1), (&b, 2)] {
            let paid: Value = post(
                &server,
                &shop.admin,
                &format!("/api/v1/orders/{}/mark-paid", o["id"].as_str().unwrap()),
                json!({}),
            )
            .await
            .json();
            assert_eq!(paid["invoice_number"], n);
        }
        // An admin may cancel a paid order: its goods go back on the shelf.
        let c: Value = post(
            &server,
            &shop.admin,
            &format!("/api/v1/orders/{}/cancel", b["id"].as_str().unwrap()),
            json!({}),
        )
        .await
        .json();
        assert_eq!(c["status"], "cancelled");
        let lamp = product(&server, shop.id("LMP-1")).await;
        assert_eq!(
            (lamp["stock"].as_i64(), lamp["available"].as_i64()),
            (Some(11), Some(11))
        );
        assert_ledger_explains(&ctx, lamp["variants"][0]["id"].as_str().unwrap()).await;
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn unpaid_orders_expire_after_their_time_releasing_stock_and_promo_usage() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        post(
            &server,
            &shop.pm,
            "/api/v1/admin/promo-codes",
            json!({"code": "WELCOME", "kind": "fixed", "value": 100, "per_customer_limit": 1}),
        )
        .await
        .assert_status(axum::http::StatusCode::CREATED);
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("TNT-2"), 3).await;
        post(
            &server,
            &ann,
            "/api/v1/cart/coupon",
            json!({"code": "WELCOME"}),
        )
        .await
        .assert_status_ok();
        let order: Value = checkout(&server, &ann).await.json();
        let id = uuid::Uuid::parse_str(order["id"].as_str().unwrap()).unwrap();

        // Not yet due: nothing happens.
        assert_eq!(
            order_model::expire_due(&ctx, chrono::Utc::now())
                .await
                .unwrap(),
            0
        );
        let row = orders::Entity::find()
            .filter(orders::Column::Pid.eq(id))
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        let mut due = row.into_active_model();
        due.expires_at = Set(Some(
            (chrono::Utc::now() - chrono::Duration::minutes(1)).into(),
        ));
        due.update(&ctx.db).await.unwrap();
        assert_eq!(
            order_model::expire_due(&ctx, chrono::Utc::now())
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            order_model::expire_due(&ctx, chrono::Utc::now())
                .await
                .unwrap(),
            0,
            "once"
        );

        let expired: Value = get(&server, &ann, &format!("/api/v1/orders/{id}"))
            .await
            .json();
        assert_eq!(expired["status"], "expired");
        assert_eq!(expired["timeline"][1]["actor"], "system: expiry");
        let tent = product(&server, shop.id("TNT-2")).await;
        assert_eq!(tent["available"], 3);
        assert_ledger_explains(&ctx, tent["variants"][0]["id"].as_str().unwrap()).await;
        assert!(mails_to(&ctx, "ann@example.com")
            .await
            .iter()
            .any(|m| m.kind == "order_expired"));
        // Her one use of the code came back with the expiry.
        add(&server, &ann, shop.id("TNT-2"), 1).await;
        post(
            &server,
            &ann,
            "/api/v1/cart/coupon",
            json!({"code": "WELCOME"}),
        )
        .await
        .assert_status_ok();
        let second: Value = checkout(&server, &ann).await.json();
        assert_eq!(second["discount_cents"], 100);
        add(&server, &ann, shop.id("MUG-2"), 1).await;
        let refused = post(
            &server,
            &ann,
            "/api/v1/cart/coupon",
            json!({"code": "WELCOME"}),
        )
        .await;
        assert!(
            assert_error(&refused, 422, "validation_failed")["error"]["details"]["code"][0]
                .as_str()
                .unwrap()
                .contains("already used")
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn product_managers_do_not_see_customers_orders_and_shipping_mails_the_tracking_number() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("LMP-1"), 1).await;
        let order: Value = checkout(&server, &ann).await.json();
        let id = order["id"].as_str().unwrap();
        assert_eq!(
            get(&server, &shop.pm, "/api/v1/orders")
                .await
                .json::<Value>()["count"],
            0
        );
        assert_error(
            &get(&server, &shop.pm, &format!("/api/v1/orders/{id}")).await,
            404,
            "not_found",
        );
        assert_eq!(
            get(&server, &shop.staff, "/api/v1/orders")
                .await
                .json::<Value>()["count"],
            1
        );

        post(
            &server,
            &shop.admin,
            &format!("/api/v1/orders/{id}/mark-paid"),
            json!({}),
        )
        .await
        .assert_status_ok();
        post(
            &server,
            &shop.admin,
            &format!("/api/v1/orders/{id}/ship"),
            json!({"carrier": "DHL", "tracking_number": "JJD0099"}),
        )
        .await
        .assert_status_ok();
        let mail = mails_to(&ctx, "ann@example.com")
            .await
            .into_iter()
            .find(|m| m.kind == "order_shipped")
            .expect("shipping mail");
        assert!(mail.text_body.contains("JJD0099") && mail.text_body.contains("DHL"));
    })
    .await;
}

/// Issue 17, item 3: a country must be an assigned ISO 3166-1 code (an unknown one used to be
/// taxed at 0 %), and one the shop does not ship to is refused as `shipping_unavailable`
/// with nothing reserved.
#[tokio::test]
#[parallel]
async fn countries_are_iso_codes_and_the_shop_ships_only_where_it_says() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        for (code, says) in [("ZZ", "ISO 3166-1"), ("UK", "United Kingdom is GB")] {
            let res = server
                .put("/api/v1/me/address")
                .add_header(ann.0.clone(), ann.1.clone())
                .json(&address(code))
                .await;
            let body = assert_error(&res, 422, "validation_failed");
            let msg = body["error"]["details"]["country"][0]
                .as_str()
                .unwrap()
                .to_string();
            assert!(msg.contains(says), "{code}: {msg}");
        }
        add(&server, &ann, shop.id("MUG-2"), 1).await;
        let zz = post(
            &server,
            &ann,
            "/api/v1/checkout",
            json!({"shipping_address": address("ZZ")}),
        )
        .await;
        let body = assert_error(&zz, 422, "validation_failed");
        assert!(
            body["error"]["details"]["shipping_address.country"].is_array(),
            "{body}"
        );

        set_settings(&ctx, |s| {
            s.checkout.ship_to = vec!["DE".into(), "AT".into()]
        });
        let fr = post(
            &server,
            &ann,
            "/api/v1/checkout",
            json!({"shipping_address": address("FR")}),
        )
        .await;
        let body = assert_error(&fr, 422, "shipping_unavailable");
        assert_eq!(
            body["error"]["message"],
            "We do not ship to France. We ship to: Austria, Germany."
        );
        let mug = product(&server, shop.id("MUG-2")).await;
        assert_eq!(mug["available"], mug["stock"], "nothing was reserved");
        let cart: Value = get(&server, &ann, "/api/v1/cart").await.json();
        assert_eq!(
            cart["items"].as_array().unwrap().len(),
            1,
            "the cart is kept"
        );

        let at = post(
            &server,
            &ann,
            "/api/v1/checkout",
            json!({"shipping_address": address("at")}),
        )
        .await;
        assert_eq!(at.status_code(), 201, "{}", at.text());
        let placed: Value = at.json();
        assert_eq!(placed["shipping_address"]["country"], "AT");
        // Without a recipient the parcel goes to the account holder (issue 17, item 9).
        assert_eq!(placed["shipping_address"]["name"], "Test User");

        let mut named = address("DE");
        named["name"] = json!("Bo Berg");
        named["company"] = json!("Berg GmbH");
        let saved = server
            .put("/api/v1/me/address")
            .add_header(ann.0.clone(), ann.1.clone())
            .json(&named)
            .await;
        assert_eq!(saved.status_code(), 200, "{}", saved.text());
        let back: Value = get(&server, &ann, "/api/v1/me/address").await.json();
        assert_eq!(
            (back["name"].as_str(), back["company"].as_str()),
            (Some("Bo Berg"), Some("Berg GmbH"))
        );
    })
    .await;
}

/// Issue 17, item 4: the test provider's page is the shop's own, so its link is made from the
/// configured address when asked for, never the one stored when the payment was opened; a
/// second request reuses the open payment.
#[tokio::test]
#[parallel]
async fn the_test_checkout_link_follows_the_configured_address() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("MUG-2"), 1).await;
        let order: Value = checkout(&server, &ann).await.json();
        let pay = format!("/api/v1/orders/{}/pay", order["id"].as_str().unwrap());
        let first: Value = post(&server, &ann, &pay, json!({})).await.json();
        let session = first["session_id"].as_str().unwrap().to_string();
        assert_eq!(
            first["checkout_url"],
            format!("http://localhost/pay/test/{session}")
        );

        set_settings(&ctx, |s| s.base_url = "https://shop.example".into());
        let again: Value = post(&server, &ann, &pay, json!({})).await.json();
        assert_eq!(
            again["session_id"],
            session.as_str(),
            "the open payment is reused"
        );
        assert_eq!(
            again["checkout_url"],
            format!("https://shop.example/pay/test/{session}")
        );
    })
    .await;
}
