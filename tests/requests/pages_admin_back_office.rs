//! The back-office pages: inventory and adjustments, the stock ledger, purchase orders,
//! promo codes, tax rates and notifications — plain HTML forms with CSRF tokens, PRG after a
//! success, the form again with messages (422) after a refusal.
use emporium::{domain::role::Role, models::notifications};
use loco_rs::{testing::prelude::*, TestServer};
use serde_json::Value;
use serial_test::parallel;

use crate::support::{orders::*, *};

async fn stock_of(server: &TestServer, product_id: &str) -> (i64, i64) {
    let p = product(server, product_id).await;
    (
        p["stock"].as_i64().unwrap(),
        p["available"].as_i64().unwrap(),
    )
}

const STAFF_PAGES: &[&str] = &[
    "/admin/inventory",
    "/admin/stock-ledger",
    "/admin/purchase-orders",
    "/admin/purchase-orders/new",
    "/admin/notifications",
];
const MANAGER_PAGES: &[&str] = &["/admin/promo-codes", "/admin/promo-codes/new"];
const ADMIN_PAGES: &[&str] = &["/admin/tax-rates", "/admin/audit"];

#[tokio::test]
#[parallel]
async fn each_back_office_page_opens_for_its_roles_and_is_refused_to_the_others() {
    with_app(|server, ctx| async move {
        shop(&server, &ctx).await;
        user(&ctx, "shopper@example.com", Role::Customer).await;
        for path in STAFF_PAGES.iter().chain(MANAGER_PAGES).chain(ADMIN_PAGES) {
            let res = server.get(path).await;
            assert_eq!(res.status_code(), 303, "signed out: {path}");
            assert!(
                location(&res).starts_with("/login?next="),
                "signed out: {path}"
            );
        }
        for (email, role) in [
            ("shopper@example.com", Role::Customer),
            ("staff@example.com", Role::Staff),
            ("pm@example.com", Role::ProductManager),
            ("admin@example.com", Role::Admin),
        ] {
            sign_in(&server, email).await;
            for (pages, allowed) in [
                (STAFF_PAGES, [Role::Staff, Role::Admin].contains(&role)),
                (
                    MANAGER_PAGES,
                    [Role::ProductManager, Role::Admin].contains(&role),
                ),
                (ADMIN_PAGES, role == Role::Admin),
            ] {
                for path in pages {
                    let res = server.get(path).await;
                    if allowed {
                        assert_eq!(res.status_code(), 200, "{email} {path}");
                    } else {
                        assert_eq!(res.status_code(), 403, "{email} {path}");
                        assert!(
                            res.text().contains("You are not allowed to do this."),
                            "{email} {path}"
                        );
                    }
                }
            }
        }
        // Content, not just a status: the inventory lists the catalogue's variants.
        sign_in(&server, "staff@example.com").await;
        let html = server.get("/admin/inventory").await.text();
        assert_count(&html, "#inventory-table tbody tr[data-sku]", 5);
        assert_css_eq(&html, "tr[data-sku='MUG-2'] .stock-on-hand", "40");
        let html = server
            .get("/admin/inventory?page_size=2&page=3")
            .await
            .text();
        assert_count(&html, "#inventory-table tbody tr[data-sku]", 1);
        assert!(html.contains("page 3 of 3 (5 items)"), "{html}");
        let html = server.get("/admin/inventory?q=mug-2").await.text();
        assert_count(&html, "#inventory-table tbody tr[data-sku]", 1);
        assert_css_exists(&html, "tr[data-sku='MUG-2']");
        // Wildcards typed into the search are taken literally.
        let html = server.get("/admin/inventory?q=%25").await.text();
        assert!(html.contains("No variants match these filters."), "{html}");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn forms_are_refused_to_roles_that_may_not_use_them() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let tent = variant_of(&server, shop.id("TNT-2")).await;
        // A product manager may not order stock; staff may not adjust it or set taxes.
        let csrf = sign_in(&server, "pm@example.com").await;
        let res = server
            .post("/admin/purchase-orders")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("supplier", "Fjell AS"),
                ("lines[0][sku]", "TNT-2"),
                ("lines[0][quantity]", "5"),
            ])
            .await;
        assert_eq!(res.status_code(), 403);
        let csrf = sign_in(&server, "staff@example.com").await;
        let res = server
            .post(&format!("/admin/inventory/{tent}/adjust"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("delta", "5"),
                ("reason", "found"),
            ])
            .await;
        assert_eq!(res.status_code(), 403);
        let res = server
            .post("/admin/tax-rates")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("country", "DE"),
                ("rate", "19"),
                ("name", "VAT"),
            ])
            .await;
        assert_eq!(res.status_code(), 403);
        let res = server
            .post("/admin/promo-codes")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("code", "X"),
                ("kind", "fixed"),
                ("value", "1"),
            ])
            .await;
        assert_eq!(res.status_code(), 403);
        let res = server
            .post("/admin/notifications/check")
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(res.status_code(), 403);
        // Staff see the inventory without the adjustment forms.
        let html = server.get("/admin/inventory").await.text();
        assert_css_not_exists(&html, "form[action*='/adjust']");
        assert_eq!(stock_of(&server, shop.id("TNT-2")).await, (3, 3));
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_purchase_order_made_and_received_through_the_forms_raises_stock_once() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let csrf = sign_in(&server, "staff@example.com").await;
        let html = server.get("/admin/purchase-orders/new").await.text();
        assert_count(&html, "tr.po-line", 5);

        // An unknown SKU and an unreadable quantity: the form again with the messages and
        // what was typed, filled rows first.
        let res = server
            .post("/admin/purchase-orders")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("supplier", "Fjell AS"),
                ("expected_at", "2026-12-24"),
                ("lines[0][sku]", "NOPE-1"),
                ("lines[0][quantity]", "3"),
                ("lines[0][unit_cost]", "1"),
                ("lines[1][sku]", ""),
                ("lines[1][quantity]", ""),
                ("lines[1][unit_cost]", ""),
                ("lines[2][sku]", "MUG-2"),
                ("lines[2][quantity]", "a few"),
                ("lines[2][unit_cost]", "2"),
            ])
            .await;
        assert_eq!(res.status_code(), 422);
        let html = res.text();
        assert!(html.contains("No variant has the SKU “NOPE-1”."), "{html}");
        assert!(html.contains("Quantity: Enter a whole number."), "{html}");
        assert_css_exists(&html, "#po-supplier[value='Fjell AS']");
        assert_css_exists(&html, "#line-1-sku[value='MUG-2']");
        assert_css_exists(&html, "#line-1-sku[aria-invalid=true]");
        assert_count(&html, "tr.po-line", 5);
        // The model's own rules come back on the row too.
        let res = server
            .post("/admin/purchase-orders")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("supplier", ""),
                ("lines[0][sku]", "MUG-2"),
                ("lines[0][quantity]", "0"),
            ])
            .await;
        assert_eq!(res.status_code(), 422);
        let html = res.text();
        assert!(
            html.contains("Quantity: Must be between 1 and 1000000000."),
            "{html}"
        );
        assert_css_exists(&html, "#line-0-sku[aria-invalid=true]");
        assert_css_exists(&html, "#po-supplier[aria-invalid=true]");
        let res = server
            .post("/admin/purchase-orders")
            .form(&[("csrf_token", csrf.as_str()), ("supplier", "Fjell AS")])
            .await;
        assert_eq!(res.status_code(), 422);
        assert!(res.text().contains("Add at least one line."));
        let list: Value = get(&server, &shop.staff, "/api/v1/admin/purchase-orders")
            .await
            .json();
        assert_eq!(list["count"], 0);

        // Blank rows are ignored; SKUs name the variants; costs are typed as money.
        let res = server
            .post("/admin/purchase-orders")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("supplier", "Fjell AS"),
                ("expected_at", "2026-12-24"),
                ("lines[0][sku]", "TNT-2"),
                ("lines[0][quantity]", "10"),
                ("lines[0][unit_cost]", "120.50"),
                ("lines[1][sku]", ""),
                ("lines[1][quantity]", ""),
                ("lines[1][unit_cost]", ""),
                ("lines[2][sku]", "MUG-2"),
                ("lines[2][quantity]", "5"),
                ("lines[2][unit_cost]", "2"),
                ("lines[3][sku]", ""),
                ("lines[3][quantity]", ""),
                ("lines[3][unit_cost]", ""),
            ])
            .await;
        let detail = location(&res);
        assert!(detail.starts_with("/admin/purchase-orders/"), "{detail}");
        let html = server.get(&detail).await.text();
        assert!(html.contains("Created purchase order #1 from Fjell AS."));
        assert_count(&html, "tr.po-line", 2);
        assert!(html.contains("Ridge Tent 2P") && html.contains("€120.50"));
        assert_css_eq(&html, ".po-total", "€1,215.00");
        assert!(html.contains("2026-12-24"));
        assert_css_exists(&html, &format!("form[action='{detail}/receive']"));
        assert_eq!(stock_of(&server, shop.id("TNT-2")).await, (3, 3));
        let open = server
            .get("/admin/purchase-orders?status=open")
            .await
            .text();
        assert!(open.contains("Fjell AS") && open.contains("€1,215.00"));
        assert!(server
            .get("/admin/purchase-orders?status=received")
            .await
            .text()
            .contains("No purchase orders with this status."));

        // Receiving adds the stock, once; the ledger says where it came from.
        let res = server
            .post(&format!("{detail}/receive"))
            .form(&[("csrf_token", csrf.as_str()), ("all", "1")])
            .await;
        let html = follow(&server, &res).await;
        assert!(
            html.contains("Received purchase order #1: every line is in stock."),
            "{html}"
        );
        assert_css_not_exists(&html, &format!("form[action='{detail}/receive']"));
        assert_eq!(stock_of(&server, shop.id("TNT-2")).await, (13, 13));
        assert_eq!(stock_of(&server, shop.id("MUG-2")).await, (45, 45));
        let res = server
            .post(&format!("{detail}/receive"))
            .form(&[("csrf_token", csrf.as_str()), ("all", "1")])
            .await;
        let html = follow(&server, &res).await;
        assert!(
            html.contains("This purchase order has already been received."),
            "{html}"
        );
        assert_eq!(stock_of(&server, shop.id("TNT-2")).await, (13, 13));
        let tent = variant_of(&server, shop.id("TNT-2")).await;
        assert_ledger_explains(&ctx, &tent).await;

        let html = server
            .get(&format!("/admin/stock-ledger?variant={tent}"))
            .await
            .text();
        assert_count(&html, "tr.ledger-row", 2);
        assert_css_eq(
            &html,
            "tr.ledger-row[data-reason='receipt'] .ledger-stock-delta",
            "+10",
        );
        assert_css_eq(
            &html,
            "tr.ledger-row[data-reason='receipt'] .ledger-stock-after",
            "13",
        );
        assert_css_exists(&html, &format!("a[href='{detail}']"));
        assert!(html.contains("purchase order 1 from Fjell AS"));
        assert!(html.contains("staff@example.com (staff)"));
        assert!(server
            .get("/admin/purchase-orders?status=received")
            .await
            .text()
            .contains("Fjell AS"));
    })
    .await;
}

/// Issue 20: a delivery in two boxes is received in two parts from the page, a quantity over
/// what is still to come is refused on its row, and an order sent by mistake is cancelled.
#[tokio::test]
#[parallel]
async fn a_purchase_order_is_received_in_parts_and_cancelled_from_its_page() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let po: Value = post(
            &server,
            &shop.staff,
            "/api/v1/admin/purchase-orders",
            serde_json::json!({"supplier": "Fjell AS", "lines": [
                {"product_id": shop.id("TNT-2"), "quantity": 10, "unit_cost_cents": 9000},
                {"product_id": shop.id("MUG-2"), "quantity": 4, "unit_cost_cents": 200},
            ]}),
        )
        .await
        .json();
        let detail = format!("/admin/purchase-orders/{}", po["id"].as_str().unwrap());
        let csrf = sign_in(&server, "staff@example.com").await;
        let html = server.get(&detail).await.text();
        assert_css_exists(&html, "input[name='received[0]'][max='10']");
        assert_css_exists(&html, &format!("form[action='{detail}/cancel']"));
        let before = stock_of(&server, shop.id("TNT-2")).await;

        // More than was ordered: the page again, the message on its row, nothing written.
        let over = server
            .post(&format!("{detail}/receive"))
            .form(&[("csrf_token", csrf.as_str()), ("received[0]", "11"), ("received[1]", "")])
            .await;
        assert_eq!(over.status_code(), 422);
        let html = over.text();
        assert!(html.contains("More than was ordered: 10 of 10 are still to come."), "{html}");
        assert_css_exists(&html, "#received-0[aria-invalid='true'][value='11']");
        assert_eq!(stock_of(&server, shop.id("TNT-2")).await, before);
        let nothing = server
            .post(&format!("{detail}/receive"))
            .form(&[("csrf_token", csrf.as_str()), ("received[0]", "x")])
            .await;
        assert_eq!(nothing.status_code(), 422);
        assert!(nothing.text().contains("Enter a whole number."));

        // The first box.
        let res = server
            .post(&format!("{detail}/receive"))
            .form(&[("csrf_token", csrf.as_str()), ("received[0]", "6"), ("received[1]", "0")])
            .await;
        let html = follow(&server, &res).await;
        assert!(html.contains("Received part of purchase order #1: 8 units still to come."), "{html}");
        assert_css_eq(&html, "#po-status", "Partly received");
        assert_eq!(texts(&html, "td.po-received"), ["6", "0"]);
        assert_count(&html, "#po-receipts tbody tr", 1);
        assert_css_not_exists(&html, &format!("form[action='{detail}/cancel']"));
        assert_eq!(stock_of(&server, shop.id("TNT-2")).await.0, before.0 + 6);
        let res = server
            .post(&format!("{detail}/cancel"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert!(follow(&server, &res).await.contains("it can no longer be cancelled"));

        // The second box: everything else.
        let res = server
            .post(&format!("{detail}/receive"))
            .form(&[("csrf_token", csrf.as_str()), ("all", "1")])
            .await;
        let html = follow(&server, &res).await;
        assert_css_eq(&html, "#po-status", "Received");
        assert_count(&html, "#po-receipts tbody tr", 3);
        assert_css_not_exists(&html, &format!("form[action='{detail}/receive']"));
        assert_eq!(stock_of(&server, shop.id("TNT-2")).await.0, before.0 + 10);
        assert_ledger_explains(&ctx, &variant_of(&server, shop.id("TNT-2")).await).await;

        // An order sent by mistake.
        let mistake: Value = post(
            &server,
            &shop.staff,
            "/api/v1/admin/purchase-orders",
            serde_json::json!({"supplier": "Wrong AS", "lines": [{"product_id": shop.id("MUG-2"), "quantity": 3}]}),
        )
        .await
        .json();
        let wrong = format!("/admin/purchase-orders/{}", mistake["id"].as_str().unwrap());
        let res = server
            .post(&format!("{wrong}/cancel"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        let html = follow(&server, &res).await;
        assert!(html.contains("Cancelled purchase order #2."), "{html}");
        assert_css_eq(&html, "#po-status", "Cancelled");
        assert_css_not_exists(&html, &format!("form[action='{wrong}/receive']"));
        let listed = server.get("/admin/purchase-orders?status=cancelled").await.text();
        assert!(listed.contains("Wrong AS") && !listed.contains("Fjell AS"));
        // Without the form's token, nothing happens.
        let forged = server.post(&format!("{detail}/cancel")).form(&[("x", "1")]).await;
        assert_eq!(forged.status_code(), 403);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn an_adjustment_below_what_is_reserved_is_refused_with_the_message_and_changes_nothing() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("KTL-1"), 3).await;
        checkout(&server, &ann)
            .await
            .assert_status(axum::http::StatusCode::CREATED);
        let kettle = variant_of(&server, shop.id("KTL-1")).await;
        let csrf = sign_in(&server, "admin@example.com").await;

        let html = server.get("/admin/inventory?q=kettle").await.text();
        assert_count(&html, "#inventory-table tbody tr[data-sku]", 1);
        let row = "tr[data-sku='KTL-1']";
        assert_css_eq(&html, &format!("{row} .stock-on-hand"), "4");
        assert_css_eq(&html, &format!("{row} .stock-reserved"), "3");
        assert_css_eq(&html, &format!("{row} .stock-available"), "1 Low stock");
        let adjust = format!("/admin/inventory/{kettle}/adjust?q=kettle");
        assert_css_exists(&html, &format!("form[action='{adjust}']"));

        // Below what the open order holds: the list again, with the conflict said on the row.
        let res = server
            .post(&adjust)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("delta", "-2"),
                ("reason", "stocktake"),
            ])
            .await;
        assert_eq!(res.status_code(), 422);
        let html = res.text();
        assert!(
            html.contains("Stock cannot go below the quantity reserved by open orders."),
            "{html}"
        );
        assert!(html.contains("The adjustment of KTL-1 was not made."));
        assert_css_exists(&html, &format!("#delta-{kettle}[value='-2']"));
        assert_css_exists(&html, &format!("#delta-{kettle}[aria-invalid=true]"));
        assert_eq!(stock_of(&server, shop.id("KTL-1")).await, (4, 1));

        let res = server
            .post(&adjust)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("delta", "0"),
                ("reason", ""),
            ])
            .await;
        assert_eq!(res.status_code(), 422);
        let html = res.text();
        assert!(html.contains("Must not be zero."), "{html}");
        assert!(html.contains("This field is required."), "{html}");

        // Within the free unit: made, and the list keeps its filter.
        let res = server
            .post(&adjust)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("delta", "-1"),
                ("reason", "stocktake"),
            ])
            .await;
        assert_eq!(location(&res), "/admin/inventory?q=kettle");
        let html = follow(&server, &res).await;
        assert!(
            html.contains("Adjusted KTL-1 by -1: 3 on hand, 0 available."),
            "{html}"
        );
        assert_eq!(stock_of(&server, shop.id("KTL-1")).await, (3, 0));
        let v = assert_ledger_explains(&ctx, &kettle).await;
        assert_eq!((v.stock, v.reserved), (3, 3));

        // Low stock only: the three low variants, the least available first.
        let html = server.get("/admin/inventory?low=1").await.text();
        let skus: Vec<String> = select(&html, "#inventory-table tbody tr[data-sku]")
            .iter()
            .map(|tr| {
                let start = tr.find("data-sku=\"").unwrap() + "data-sku=\"".len();
                tr[start..].chars().take_while(|c| *c != '"').collect()
            })
            .collect();
        assert_eq!(skus.len(), 3, "{skus:?}");
        assert!(
            skus[..2].contains(&"KTL-1".to_string()) && skus[..2].contains(&"TNT-4".to_string())
        );
        assert_eq!(skus[2], "TNT-2");

        // The ledger, newest first, with the stocktake's note and the order's reservation.
        let html = server
            .get(&format!("/admin/stock-ledger?variant={kettle}"))
            .await
            .text();
        let reasons: Vec<bool> = ["adjustment", "reserve", "adjustment"]
            .iter()
            .map(|r| html.contains(&format!("data-reason=\"{r}\"")))
            .collect();
        assert_eq!(reasons, [true, true, true]);
        assert_count(&html, "tr.ledger-row", 3);
        assert_css_eq(&html, "tr.ledger-row .ledger-note", "stocktake");
        assert!(html.contains("Order #"), "the reservation names its order");
        let filtered = server
            .get(&format!(
                "/admin/stock-ledger?variant={kettle}&reason=reserve"
            ))
            .await
            .text();
        assert_count(&filtered, "tr.ledger-row", 1);
        assert_css_eq(&filtered, "tr.ledger-row .ledger-reserved-delta", "+3");
        let bad = server.get("/admin/stock-ledger?product=nope").await;
        assert_eq!(bad.status_code(), 422);
        assert!(bad.text().contains("Must be an id."));
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn promo_codes_are_created_edited_and_deleted_through_the_forms() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let csrf = sign_in(&server, "pm@example.com").await;
        let promos = || get(&server, &shop.pm, "/api/v1/admin/promo-codes");

        let res = server
            .post("/admin/promo-codes")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("code", "bad code!"),
                ("kind", "percent"),
                ("value", "150"),
                ("max_discount", "lots"),
                ("starts_at", "2026-02-01T00:00"),
                ("ends_at", "2026-01-01T00:00"),
                ("usage_limit", "0"),
            ])
            .await;
        assert_eq!(res.status_code(), 422);
        let html = res.text();
        for message in [
            "Use up to 40 letters, digits, - and _.",
            "Enter a percentage from 0.01 to 100.",
            "Enter an amount like 12 or 12.50.",
            "Must be after the start.",
            "Must be a whole number of at least 1.",
        ] {
            assert!(html.contains(message), "{message}: {html}");
        }
        assert_css_exists(&html, "#pc-code[value='bad code!']");
        assert_css_exists(&html, "#pc-value[aria-invalid=true]");
        assert_eq!(promos().await.json::<Value>()["count"], 0);

        let res = server
            .post("/admin/promo-codes")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("code", "spring10"),
                ("kind", "percent"),
                ("value", "12.5"),
                ("max_discount", "5.00"),
                ("min_subtotal", "20"),
                ("starts_at", "2026-01-01T00:00"),
                ("ends_at", "2030-06-30T18:30"),
                ("usage_limit", "100"),
                ("per_customer_limit", "1"),
                ("active", "true"),
            ])
            .await;
        let html = follow(&server, &res).await;
        assert!(html.contains("Created promo code SPRING10."));
        assert_css_eq(
            &html,
            "tr[data-code='SPRING10'] .promo-value",
            "12.5 %at most €5.00",
        );
        assert_css_eq(&html, "tr[data-code='SPRING10'] .promo-used", "0 / 100");
        let list: Value = promos().await.json();
        let p = &list["results"][0];
        assert_eq!(
            (
                p["kind"].as_str(),
                p["value"].as_i64(),
                p["max_discount_cents"].as_i64(),
                p["min_subtotal_cents"].as_i64()
            ),
            (Some("percent"), Some(1250), Some(500), Some(2000))
        );
        assert_eq!(p["starts_at"], "2026-01-01T00:00:00Z");
        assert_eq!(p["ends_at"], "2030-06-30T18:30:00Z");
        assert_eq!(
            (p["usage_limit"].as_i64(), p["per_customer_limit"].as_i64()),
            (Some(100), Some(1))
        );
        assert_eq!(p["active"], true);
        let id = p["id"].as_str().unwrap().to_string();

        // The edit form shows the code in the units it was typed in.
        let edit = format!("/admin/promo-codes/{id}");
        let html = server.get(&edit).await.text();
        assert_css_exists(&html, "#pc-value[value='12.5']");
        assert_css_exists(&html, "#pc-max_discount[value='5.00']");
        assert_css_exists(&html, "#pc-starts_at[value='2026-01-01T00:00']");
        assert_css_exists(&html, "#pc-active[checked]");
        assert!(html.contains("Used 0 times of 100"));
        assert!(server
            .get("/admin/promo-codes?q=spring")
            .await
            .text()
            .contains("SPRING10"));
        assert!(server
            .get("/admin/promo-codes?q=winter")
            .await
            .text()
            .contains("No promo codes match “winter”."));

        // A fixed amount; a maximum discount is refused for it; clearing fields clears them.
        let mut fixed = vec![
            ("csrf_token", csrf.as_str()),
            ("code", "SPRING10"),
            ("kind", "fixed"),
            ("value", "5"),
            ("max_discount", "1.00"),
            ("min_subtotal", ""),
            ("starts_at", ""),
            ("ends_at", ""),
            ("usage_limit", ""),
            ("per_customer_limit", ""),
        ];
        let res = server.post(&edit).form(&fixed).await;
        assert_eq!(res.status_code(), 422);
        assert!(res
            .text()
            .contains("Only percentage codes have a maximum discount."));
        fixed[4] = ("max_discount", "");
        let res = server.post(&edit).form(&fixed).await;
        assert!(follow(&server, &res)
            .await
            .contains("Saved promo code SPRING10."));
        let p: Value = get(
            &server,
            &shop.pm,
            &format!("/api/v1/admin/promo-codes/{id}"),
        )
        .await
        .json();
        assert_eq!(
            (
                p["kind"].as_str(),
                p["value"].as_i64(),
                p["active"].as_bool()
            ),
            (Some("fixed"), Some(500), Some(false))
        );
        assert!(p["starts_at"].is_null() && p["usage_limit"].is_null());
        assert_css_exists(&server.get(&edit).await.text(), "#pc-value[value='5.00']");

        // A second code with the same text is refused on the form.
        let res = server
            .post("/admin/promo-codes")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("code", "Spring10"),
                ("kind", "fixed"),
                ("value", "1"),
            ])
            .await;
        assert_eq!(res.status_code(), 422);
        assert_css_eq(
            &res.text(),
            ".form-error .field-error",
            "A promo code with this code already exists.",
        );

        let res = server
            .post(&format!("{edit}/delete"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        let html = follow(&server, &res).await;
        assert!(html.contains("Deleted promo code SPRING10."));
        assert_css_not_exists(&html, "tr[data-code]");
        assert_eq!(promos().await.json::<Value>()["count"], 0);
        assert_eq!(server.get(&edit).await.status_code(), 404);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn tax_rates_are_added_edited_and_deleted_by_admins() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let csrf = sign_in(&server, "admin@example.com").await;
        let rates = || async {
            let page: Value = get(&server, &shop.admin, "/api/v1/admin/tax-rates")
                .await
                .json();
            page["results"].as_array().unwrap().clone()
        };
        let add = |country: &'static str, rate: &'static str, name: &'static str| {
            server.post("/admin/tax-rates").form(&[
                ("csrf_token", csrf.clone()),
                ("country", country.to_string()),
                ("rate", rate.to_string()),
                ("name", name.to_string()),
            ])
        };

        let res = add("de", "19", "VAT").await;
        let html = follow(&server, &res).await;
        assert!(html.contains("Added VAT 19 % for DE."), "{html}");
        let res = add("AT", "5.5", "USt").await;
        let html = follow(&server, &res).await;
        assert_count(&html, "tr.tax-rate", 2);
        assert_css_exists(
            &html,
            "tr.tax-rate[data-country='AT'] input[name='rate'][value='5.5']",
        );
        let list: Vec<Value> = rates().await;
        let bp: Vec<(String, i64)> = list
            .iter()
            .map(|t| {
                (
                    t["country"].as_str().unwrap().to_string(),
                    t["rate_bp"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(bp, [("AT".to_string(), 550), ("DE".to_string(), 1900)]);

        let res = add("Germany", "abc", "").await;
        assert_eq!(res.status_code(), 422);
        let html = res.text();
        for message in [
            "Must be a country code of ISO 3166-1, e.g. DE.",
            "Enter a percentage like 19 or 5.5.",
            "This field is required.",
        ] {
            assert!(html.contains(message), "{message}");
        }
        assert_css_exists(&html, "select#new-country[aria-invalid='true']");
        let res = add("UK", "20", "VAT").await;
        assert_eq!(res.status_code(), 422);
        assert!(res
            .text()
            .contains("UK is not an ISO 3166-1 country code; United Kingdom is GB."));
        let res = add("FR", "120", "TVA").await;
        assert_eq!(res.status_code(), 422);
        assert!(res.text().contains("Enter a percentage from 0 to 100."));
        let res = add("DE", "7", "Reduced").await;
        assert_eq!(res.status_code(), 422);
        assert!(res.text().contains("This country already has a tax rate."));
        assert_eq!(rates().await.len(), 2);

        // The inline row form edits; the delete button removes.
        let de = list.iter().find(|t| t["country"] == "DE").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let res = server
            .post(&format!("/admin/tax-rates/{de}"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("country", "DE"),
                ("rate", "7"),
                ("name", "Reduced VAT"),
            ])
            .await;
        assert!(follow(&server, &res)
            .await
            .contains("Saved Reduced VAT 7 % for DE."));
        let res = server
            .post(&format!("/admin/tax-rates/{de}"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("country", "AT"),
                ("rate", "7"),
                ("name", "Reduced VAT"),
            ])
            .await;
        assert_eq!(res.status_code(), 422);
        let html = res.text();
        assert!(html.contains("This country already has a tax rate."));
        assert_css_exists(
            &html,
            &format!("#t-country-{de} option[value='AT'][selected]"),
        );
        let res = server
            .post(&format!("/admin/tax-rates/{de}/delete"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        let html = follow(&server, &res).await;
        assert!(html.contains("Deleted the tax rate."));
        assert_count(&html, "tr.tax-rate", 1);
        let list: Vec<Value> = rates().await;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["country"], "AT");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn notifications_are_raised_marked_and_deleted_from_the_page() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        // Thresholds are 5: TNT-2 (3), TNT-4 (0) and KTL-1 (4) are low.
        let csrf = sign_in(&server, "admin@example.com").await;
        let res = server
            .post("/admin/notifications/check")
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        let html = follow(&server, &res).await;
        assert!(
            html.contains("Stock check done: 3 new low-stock notifications, 0 closed"),
            "{html}"
        );
        assert_count(&html, "tr.notification.unread", 3);
        assert_css_eq(&html, "#unread-count", "3 unread");
        assert!(html.contains("Ridge Tent 2P (TNT-2) is low on stock: 3 available, threshold 5."));
        let res = server
            .post("/admin/notifications/check")
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert!(follow(&server, &res)
            .await
            .contains("Stock check done: nothing new."));

        let list: Value = get(&server, &shop.staff, "/api/v1/admin/notifications")
            .await
            .json();
        let tent = list["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["product_id"] == shop.id("TNT-2"))
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();

        // Staff mark read and unread, and may not delete.
        let csrf = sign_in(&server, "staff@example.com").await;
        let html = server.get("/admin/notifications").await.text();
        assert_css_not_exists(&html, "form[action*='/delete']");
        assert_css_not_exists(&html, "form[action='/admin/notifications/check']");
        let res = server
            .post(&format!("/admin/notifications/{tent}/read?unread=1"))
            .form(&[("csrf_token", csrf.as_str()), ("read", "true")])
            .await;
        assert_eq!(location(&res), "/admin/notifications?unread=1");
        let html = follow(&server, &res).await;
        assert!(html.contains("Marked as read."));
        assert_count(&html, "tr.notification", 2);
        assert_css_not_exists(&html, &format!("#n-{tent}"));
        assert_css_eq(&html, "#unread-count", "2 unread");
        assert_eq!(notifications::unread_count(&ctx.db).await.unwrap(), 2);
        let html = server.get("/admin/notifications").await.text();
        assert_css_exists(&html, &format!("#n-{tent}:not(.unread)"));
        assert_css_exists(
            &html,
            &format!("#n-{tent} input[name='read'][value='false']"),
        );
        let res = server
            .post(&format!("/admin/notifications/{tent}/read"))
            .form(&[("csrf_token", csrf.as_str()), ("read", "false")])
            .await;
        assert!(follow(&server, &res).await.contains("Marked as unread."));
        assert_eq!(notifications::unread_count(&ctx.db).await.unwrap(), 3);
        let res = server
            .post(&format!("/admin/notifications/{tent}/delete"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(res.status_code(), 403);

        // Admins delete.
        let csrf = sign_in(&server, "admin@example.com").await;
        let res = server
            .post(&format!("/admin/notifications/{tent}/delete"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        let html = follow(&server, &res).await;
        assert!(html.contains("Deleted the notification."));
        assert_count(&html, "tr.notification", 2);
        assert!(!html.contains("Ridge Tent 2P (TNT-2)"));
        let list: Value = get(&server, &shop.staff, "/api/v1/admin/notifications")
            .await
            .json();
        assert_eq!(list["count"], 2);
    })
    .await;
}
