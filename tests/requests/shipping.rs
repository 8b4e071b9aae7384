//! Shipping by destination (issue 19): zones and methods kept by admins (API and pages), priced
//! for the caller's cart, chosen at checkout and kept by the order; a shop with no zone ships
//! everywhere at its flat rate.
use emporium::domain::role::Role;
use loco_rs::testing::prelude::*;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{orders::*, *};

async fn created(server: &loco_rs::TestServer, who: &Auth, path: &str, body: Value) -> Value {
    let res = post(server, who, path, body).await;
    assert_eq!(res.status_code(), 201, "{path}: {}", res.text());
    res.json()
}

async fn zone(
    server: &loco_rs::TestServer,
    admin: &Auth,
    name: &str,
    countries: &[&str],
) -> String {
    let z = created(
        server,
        admin,
        "/api/v1/admin/shipping-zones",
        json!({"name": name, "countries": countries}),
    )
    .await;
    z["id"].as_str().unwrap().to_string()
}

async fn method(server: &loco_rs::TestServer, admin: &Auth, body: Value) -> String {
    let m = created(server, admin, "/api/v1/admin/shipping-methods", body).await;
    m["id"].as_str().unwrap().to_string()
}

/// The offers for the caller's cart to `country`: (name, price).
async fn offers(server: &loco_rs::TestServer, who: &Auth, country: &str) -> Vec<(String, i64)> {
    let res = get(
        server,
        who,
        &format!("/api/v1/shipping-methods?country={country}"),
    )
    .await;
    assert_eq!(res.status_code(), 200, "{}", res.text());
    res.json::<Value>()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap().to_string(),
                o["price_cents"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn set_weight(server: &loco_rs::TestServer, shop: &Shop, sku: &str, grams: i64) {
    let res = server
        .patch(&format!("/api/v1/products/{}", shop.id(sku)))
        .add_header(shop.pm.0.clone(), shop.pm.1.clone())
        .json(&json!({"weight_grams": grams}))
        .await;
    assert_eq!(res.status_code(), 200, "{}", res.text());
}

fn ship_to(country: &str, extra: Value) -> Value {
    let mut body = json!({"shipping_address": address(country)});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[tokio::test]
#[parallel]
async fn a_shop_without_zones_ships_everywhere_at_its_flat_rate() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("LMP-1"), 1)
            .await
            .assert_status(axum::http::StatusCode::CREATED);
        let res = get(&server, &ann, "/api/v1/shipping-methods?country=fr").await;
        let body: Value = res.json();
        assert_eq!(body["count"], 1);
        let flat = &body["results"][0];
        assert_eq!(flat["id"], "00000000-0000-0000-0000-000000000000");
        assert_eq!(flat["name"], "Standard shipping");
        assert_eq!(flat["price_cents"], 495);
        // Free from the threshold (5000): two lanterns come to 7800.
        add(&server, &ann, shop.id("LMP-1"), 1)
            .await
            .assert_status(axum::http::StatusCode::CREATED);
        assert_eq!(
            offers(&server, &ann, "FR").await,
            [("Standard shipping".into(), 0)]
        );
        assert_error(
            &get(&server, &ann, "/api/v1/shipping-methods?country=ZZ").await,
            422,
            "validation_failed",
        );

        let res = post(&server, &ann, "/api/v1/checkout", ship_to("FR", json!({}))).await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        let order: Value = res.json();
        assert_eq!(order["shipping_cents"], 0);
        assert_eq!(order["shipping_method"]["name"], "Standard shipping");
        assert_eq!(order["shipping_method"]["price_cents"], 0);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn methods_are_priced_for_the_cart_and_the_order_ships_by_the_one_chosen() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let admin = &shop.admin;
        let domestic = zone(&server, admin, "Domestic", &["DE"]).await;
        let eu = zone(&server, admin, "EU", &["AT", "FR"]).await;
        let standard = method(
            &server,
            admin,
            json!({
                "zone_id": domestic, "name": "Standard", "carrier": "DHL", "price_cents": 495,
                "free_from_cents": 5000, "min_days": 2, "max_days": 4,
            }),
        )
        .await;
        let express = method(
            &server,
            admin,
            json!({
                "zone_id": domestic, "name": "Express", "carrier": "DHL", "price_cents": 990,
                "max_weight_grams": 2000, "min_days": 1, "max_days": 1,
            }),
        )
        .await;
        let eu_standard = method(
            &server,
            admin,
            json!({"zone_id": eu, "name": "EU Standard", "price_cents": 1200}),
        )
        .await;
        method(
            &server,
            admin,
            json!({"zone_id": domestic, "name": "Pigeon", "price_cents": 100, "active": false}),
        )
        .await;
        set_weight(&server, &shop, "LMP-1", 1500).await;

        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("LMP-1"), 1)
            .await
            .assert_status(axum::http::StatusCode::CREATED);
        assert_eq!(
            offers(&server, &ann, "DE").await,
            [("Standard".into(), 495), ("Express".into(), 990)],
            "cheapest first; inactive methods are not offered"
        );
        assert_eq!(
            offers(&server, &ann, "FR").await,
            [("EU Standard".into(), 1200)]
        );
        assert!(
            offers(&server, &ann, "US").await.is_empty(),
            "no zone holds it"
        );
        let detail: Value = get(&server, &ann, "/api/v1/shipping-methods?country=DE")
            .await
            .json();
        assert_eq!(detail["results"][1]["carrier"], "DHL");
        assert_eq!(detail["results"][1]["min_days"], 1);
        // The cart shows the cheapest way to its estimate country (the shop's: DE).
        let cart: Value = get(&server, &ann, "/api/v1/cart").await.json();
        assert_eq!(cart["shipping_cents"], 495);

        // Nothing is placed or reserved while the method is missing or wrong.
        let none = post(&server, &ann, "/api/v1/checkout", ship_to("DE", json!({}))).await;
        let body = assert_error(&none, 422, "validation_failed");
        assert!(
            body["error"]["details"]["shipping_method_id"].is_array(),
            "{body}"
        );
        let other_zone = post(
            &server,
            &ann,
            "/api/v1/checkout",
            ship_to("DE", json!({"shipping_method_id": eu_standard})),
        )
        .await;
        let body = assert_error(&other_zone, 422, "validation_failed");
        assert!(
            body["error"]["details"]["shipping_method_id"].is_array(),
            "{body}"
        );
        let nowhere = post(&server, &ann, "/api/v1/checkout", ship_to("US", json!({}))).await;
        let body = assert_error(&nowhere, 422, "shipping_unavailable");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("United States"),
            "{body}"
        );
        let lamp = product(&server, shop.id("LMP-1")).await;
        assert_eq!(lamp["available"], 12, "nothing reserved");

        // Two lanterns weigh 3 kg: express does not take them.
        add(&server, &ann, shop.id("LMP-1"), 1)
            .await
            .assert_status(axum::http::StatusCode::CREATED);
        assert_eq!(offers(&server, &ann, "DE").await, [("Standard".into(), 0)]);
        let heavy = post(
            &server,
            &ann,
            "/api/v1/checkout",
            ship_to("DE", json!({"shipping_method_id": express})),
        )
        .await;
        assert_error(&heavy, 422, "validation_failed");
        let item = get(&server, &ann, "/api/v1/cart").await.json::<Value>()["items"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        server
            .patch(&format!("/api/v1/cart/items/{item}"))
            .add_header(ann.0.clone(), ann.1.clone())
            .json(&json!({"quantity": 1}))
            .await
            .assert_status_ok();

        let res = post(
            &server,
            &ann,
            "/api/v1/checkout",
            ship_to("DE", json!({"shipping_method_id": express})),
        )
        .await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        let order: Value = res.json();
        assert_eq!(order["shipping_cents"], 990);
        assert_eq!(order["shipping_method"]["id"], express.as_str());
        assert_eq!(order["shipping_method"]["name"], "Express");
        assert_eq!(order["shipping_method"]["carrier"], "DHL");
        assert_eq!(
            order["total_cents"].as_i64().unwrap(),
            3900 + 990 + order["tax_cents"].as_i64().unwrap()
        );

        // The order keeps its method when the method changes or goes.
        let res = server
            .delete(&format!("/api/v1/admin/shipping-methods/{express}"))
            .add_header(admin.0.clone(), admin.1.clone())
            .await;
        assert_eq!(res.status_code(), 204);
        let id = order["id"].as_str().unwrap();
        let again: Value = get(&server, &ann, &format!("/api/v1/orders/{id}"))
            .await
            .json();
        assert_eq!(again["shipping_method"]["name"], "Express");
        assert_eq!(again["shipping_cents"], 990);
        let _ = standard;
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn admins_keep_zones_and_methods_with_every_mistake_named() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let admin = &shop.admin;
        let bad = post(
            &server,
            admin,
            "/api/v1/admin/shipping-zones",
            json!({"name": " ", "countries": ["ZZ", "de"]}),
        )
        .await;
        let body = assert_error(&bad, 422, "validation_failed");
        assert!(body["error"]["details"]["name"].is_array(), "{body}");
        assert!(
            body["error"]["details"]["countries"][0]
                .as_str()
                .unwrap()
                .starts_with("ZZ"),
            "{body}"
        );
        let empty = post(
            &server,
            admin,
            "/api/v1/admin/shipping-zones",
            json!({"name": "None", "countries": []}),
        )
        .await;
        assert_error(&empty, 422, "validation_failed");

        let nordic = zone(&server, admin, "Nordics", &["se", "NO", "se"]).await;
        let z: Value = get(
            &server,
            admin,
            &format!("/api/v1/admin/shipping-zones/{nordic}"),
        )
        .await
        .json();
        assert_eq!(
            z["countries"],
            json!(["NO", "SE"]),
            "upper-case, sorted, once each"
        );
        zone(&server, admin, "Alps", &["AT", "CH"]).await;
        let page: Value = get(&server, admin, "/api/v1/admin/shipping-zones?page_size=1")
            .await
            .json();
        assert_eq!(page["count"], 2);
        assert_eq!(page["results"][0]["name"], "Alps");
        assert!(page["next"].as_str().unwrap().contains("page=2"));

        let res = server
            .patch(&format!("/api/v1/admin/shipping-zones/{nordic}"))
            .add_header(admin.0.clone(), admin.1.clone())
            .json(&json!({"countries": ["DK", "NO", "SE", "FI"]}))
            .await;
        assert_eq!(res.status_code(), 200, "{}", res.text());
        assert_eq!(
            res.json::<Value>()["countries"],
            json!(["DK", "FI", "NO", "SE"])
        );
        assert_eq!(res.json::<Value>()["name"], "Nordics");

        let missing_zone = post(
            &server,
            admin,
            "/api/v1/admin/shipping-methods",
            json!({
                "zone_id": uuid::Uuid::new_v4(), "name": "Ghost", "price_cents": 100,
            }),
        )
        .await;
        let body = assert_error(&missing_zone, 422, "validation_failed");
        assert!(body["error"]["details"]["zone_id"].is_array(), "{body}");
        let wrong = post(
            &server,
            admin,
            "/api/v1/admin/shipping-methods",
            json!({
                "zone_id": nordic, "name": "Odd", "price_cents": -1, "min_days": 5, "max_days": 2,
                "min_subtotal_cents": 900, "max_subtotal_cents": 100, "max_weight_grams": 0,
            }),
        )
        .await;
        let body = assert_error(&wrong, 422, "validation_failed");
        let mut fields: Vec<&str> = body["error"]["details"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "max_days",
                "max_subtotal_cents",
                "max_weight_grams",
                "price_cents"
            ]
        );

        let boat = method(
            &server,
            admin,
            json!({
                "zone_id": nordic, "name": "Boat", "price_cents": 1500, "free_from_cents": 20000,
            }),
        )
        .await;
        // `null` clears an optional field; a field left out stays.
        let res = server
            .patch(&format!("/api/v1/admin/shipping-methods/{boat}"))
            .add_header(admin.0.clone(), admin.1.clone())
            .json(&json!({"free_from_cents": null, "carrier": "Hurtigruten"}))
            .await;
        assert_eq!(res.status_code(), 200, "{}", res.text());
        let m: Value = res.json();
        assert!(m["free_from_cents"].is_null());
        assert_eq!(
            (m["price_cents"].as_i64(), m["carrier"].as_str()),
            (Some(1500), Some("Hurtigruten"))
        );
        let listed: Value = get(
            &server,
            admin,
            &format!("/api/v1/admin/shipping-methods?zone={nordic}"),
        )
        .await
        .json();
        assert_eq!(listed["count"], 1);
        let unknown = get(
            &server,
            admin,
            &format!(
                "/api/v1/admin/shipping-methods?zone={}",
                uuid::Uuid::new_v4()
            ),
        )
        .await;
        assert_error(&unknown, 422, "validation_failed");

        // A zone goes with its methods.
        let res = server
            .delete(&format!("/api/v1/admin/shipping-zones/{nordic}"))
            .add_header(admin.0.clone(), admin.1.clone())
            .await;
        assert_eq!(res.status_code(), 204);
        assert_error(
            &get(
                &server,
                admin,
                &format!("/api/v1/admin/shipping-methods/{boat}"),
            )
            .await,
            404,
            "not_found",
        );
        assert_error(
            &get(
                &server,
                admin,
                &format!("/api/v1/admin/shipping-zones/{nordic}"),
            )
            .await,
            404,
            "not_found",
        );
        use emporium::models::_entities::shipping_zone_countries;
        let left = shipping_zone_countries::Entity::find()
            .filter(shipping_zone_countries::Column::Country.eq("NO"))
            .all(&ctx.db)
            .await
            .unwrap();
        assert!(left.is_empty(), "{left:?}");

        // Only admins.
        let ann = customer(&server, &ctx, "ann@example.com").await;
        assert_error(
            &get(&server, &ann, "/api/v1/admin/shipping-zones").await,
            403,
            "forbidden",
        );
        assert_error(
            &get(&server, &shop.staff, "/api/v1/admin/shipping-methods").await,
            403,
            "forbidden",
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn admins_set_shipping_up_in_pages_and_shoppers_choose_it_in_the_cart_and_at_checkout() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        user(&ctx, "boss@example.com", Role::Admin).await;
        let csrf = sign_in(&server, "boss@example.com").await;
        let page = server.get("/admin/shipping").await;
        assert_eq!(page.status_code(), 200);
        assert_css_exists(&page.text(), "#flat-rate");

        let bad = server
            .post("/admin/shipping/zones")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "Home"),
                ("countries", "DE, ZZ"),
            ])
            .await;
        assert_eq!(bad.status_code(), 422);
        assert_css_exists(&bad.text(), "#zone-countries[aria-invalid=true]");
        assert_css_exists(&bad.text(), "input[name=countries][value='DE, ZZ']");
        let res = server
            .post("/admin/shipping/zones")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "Home"),
                ("countries", "de at"),
            ])
            .await;
        assert_eq!(res.status_code(), 303, "{}", res.text());
        let next = res.header("location").to_str().unwrap().to_string();
        assert!(
            next.starts_with("/admin/shipping/methods/new?zone="),
            "{next}"
        );
        let zone_id = next.rsplit('=').next().unwrap().to_string();
        let form = server.get(&next).await.text();
        assert_css_exists(
            &form,
            &format!("#sm-zone option[value='{zone_id}'][selected]"),
        );

        let method_form =
            |name: &'static str, price: &'static str, extra: &[(&'static str, &'static str)]| {
                let mut f = vec![
                    ("csrf_token", csrf.clone()),
                    ("zone", zone_id.clone()),
                    ("name", name.to_string()),
                    ("carrier", "DHL".to_string()),
                    ("price", price.to_string()),
                    ("active", "true".to_string()),
                ];
                f.extend(extra.iter().map(|(k, v)| (*k, (*v).to_string())));
                f
            };
        let bad = server
            .post("/admin/shipping/methods")
            .form(&method_form(
                "Standard",
                "four",
                &[("max_days", "1"), ("min_days", "3")],
            ))
            .await;
        assert_eq!(bad.status_code(), 422);
        assert_css_exists(&bad.text(), "#sm-price[aria-invalid=true]");
        assert_css_exists(&bad.text(), "#sm-max_days[aria-invalid=true]");
        let res = server
            .post("/admin/shipping/methods")
            .form(&method_form(
                "Standard",
                "4.95",
                &[("free_from", "50"), ("min_days", "2"), ("max_days", "4")],
            ))
            .await;
        assert_eq!(res.status_code(), 303, "{}", res.text());
        let res = server
            .post("/admin/shipping/methods")
            .form(&method_form(
                "Express",
                "9.90",
                &[("min_days", "1"), ("max_days", "1")],
            ))
            .await;
        assert_eq!(res.status_code(), 303, "{}", res.text());
        let page = server.get("/admin/shipping").await.text();
        let rows = texts(&page, ".shipping-method-row");
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(
            rows[0].contains("Standard") && rows[0].contains("€4.95") && rows[0].contains("€50.00"),
            "{rows:?}"
        );
        assert!(
            rows[1].contains("Express") && rows[1].contains("1 day"),
            "{rows:?}"
        );
        assert!(texts(&page, ".zone-countries")[0].contains("Austria, Germany"));

        // The shopper sees the ways to their country in the cart, and picks one at checkout.
        user(&ctx, "ann@example.com", Role::Customer).await;
        let csrf = sign_in(&server, "ann@example.com").await;
        post_form_add(&server, &csrf, shop.id("LMP-1")).await;
        let cart = server.get("/cart").await.text();
        let options = texts(&cart, "#shipping-options li");
        assert!(
            options[0].contains("Standard") && options[0].contains("€4.95"),
            "{options:?}"
        );
        assert!(
            options[1].contains("Express") && options[1].contains("€9.90"),
            "{options:?}"
        );
        let elsewhere = server.get("/cart?country=fr").await.text();
        assert!(texts(&elsewhere, "#no-shipping")[0].contains("We do not ship to France"));

        let checkout = server.get("/checkout").await.text();
        let radios = texts(&checkout, ".shipping-choice label");
        assert_eq!(radios.len(), 2, "{radios:?}");
        let express = emporium::models::_entities::shipping_methods::Entity::find()
            .filter(emporium::models::_entities::shipping_methods::Column::Name.eq("Express"))
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap()
            .pid
            .to_string();
        let csrf = csrf_from(&checkout);
        let address = |country: &'static str| {
            vec![
                ("csrf_token", csrf.clone()),
                ("name", "Ann Lee".to_string()),
                ("line1", "1 Harbour Road".to_string()),
                ("city", "Kiel".to_string()),
                ("postal_code", "24103".to_string()),
                ("country", country.to_string()),
                ("billing_same", "on".to_string()),
            ]
        };
        // "Update delivery options" (or htmx on a change of country) shows the country's ways.
        let mut fields = address("FR");
        fields.push(("update", "shipping".into()));
        let updated = server.post("/checkout").form(&fields).await;
        assert_eq!(updated.status_code(), 200);
        assert!(texts(&updated.text(), "#no-shipping")[0].contains("We do not ship to France"));
        let mut fields = address("FR");
        fields.push(("shipping_method", express.clone()));
        let refused = server.post("/checkout").form(&fields).await;
        assert_eq!(refused.status_code(), 422);
        assert!(refused.text().contains("We do not ship to France"));

        let mut fields = address("AT");
        fields.push(("shipping_method", express.clone()));
        let placed = server.post("/checkout").form(&fields).await;
        assert_eq!(placed.status_code(), 303, "{}", placed.text());
        let order = server
            .get(placed.header("location").to_str().unwrap())
            .await
            .text();
        assert!(order.contains("Express"), "the order page names the method");
        assert!(texts(&order, "#shipping")[0].contains("€9.90"));
    })
    .await;
}
