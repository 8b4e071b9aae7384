//! Cart, checkout and order pages for shoppers, and the admin order pages: plain forms with
//! 303 redirects, htmx fragments with the badge out of band, and 422 with messages.
use loco_rs::testing::prelude::*;
use serde_json::Value;
use serial_test::parallel;

use crate::support::{orders::*, *};

async fn add_form(
    server: &loco_rs::TestServer,
    csrf: &str,
    product: &str,
    variant: &str,
    qty: &str,
    htmx: bool,
) -> axum_test::TestResponse {
    let mut req = server.post("/cart/items");
    if htmx {
        req = req.add_header("hx-request", "true");
    }
    req.form(&[
        ("csrf_token", csrf),
        ("product_id", product),
        ("variant_id", variant),
        ("quantity", qty),
        ("back", "/p/ridge-tent-2p"),
    ])
    .await
}

#[tokio::test]
#[parallel]
async fn a_guest_fills_the_cart_from_the_product_page_with_and_without_htmx() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let tent = shop.id("TNT-2").to_string();
        let variant = variant_of(&server, &tent).await;
        let page = server.get("/p/ridge-tent-2p").await.text();
        assert_css_exists(&page, "form#buy-form");
        let csrf = csrf_from(&page);

        let res = add_form(&server, &csrf, &tent, &variant, "1", false).await;
        assert_eq!(res.status_code(), 303);
        assert_eq!(res.headers()["location"], "/cart");
        let cart = server.get("/cart").await.text();
        assert!(cart.contains("Added Ridge Tent 2P to your cart."), "{cart}");
        assert_count(&cart, "table.cart-lines tbody tr", 1);
        assert_css_exists(&cart, "#mini-cart");
        assert!(select(&cart, "#mini-cart .badge")[0].contains(">1<"));

        let frag = add_form(&server, &csrf, &tent, &variant, "1", true).await;
        frag.assert_status_ok();
        let text = frag.text();
        assert!(text.contains("id=\"add-result\"") && !text.contains("<html"));
        assert!(
            text.contains("hx-swap-oob=\"true\"")
                && select(&text, "#mini-cart .badge")[0].contains(">2<")
        );

        // Two more would exceed the three tents there are: the buy box says so.
        let over = add_form(&server, &csrf, &tent, &variant, "2", true).await;
        assert_eq!(over.status_code(), 422);
        assert!(
            over.text()
                .contains("Only 3 of Ridge Tent 2P (TNT-2) are available"),
            "{}",
            over.text()
        );
        let over = add_form(&server, &csrf, &tent, &variant, "2", false).await;
        assert_eq!(over.headers()["location"], "/p/ridge-tent-2p");
        assert!(server
            .get("/p/ridge-tent-2p")
            .await
            .text()
            .contains("are available"));

        // Quantities change in place with htmx; a plain post redirects back to the cart.
        let cart = server.get("/cart").await.text();
        let item = select(&cart, "table.cart-lines tbody tr")[0]
            .split("id=\"line-")
            .nth(1)
            .unwrap()[..36]
            .to_string();
        let res = server
            .post(&format!("/cart/items/{item}"))
            .add_header("hx-request", "true")
            .form(&[("csrf_token", csrf.as_str()), ("quantity", "3")])
            .await;
        res.assert_status_ok();
        let frag = res.text();
        assert_css_exists(&frag, "section#cart");
        assert!(select(&frag, "#total")[0].contains("€747.00"), "{frag}");
        let too_many = server
            .post(&format!("/cart/items/{item}"))
            .form(&[("csrf_token", csrf.as_str()), ("quantity", "4")])
            .await;
        assert_eq!(too_many.status_code(), 422);
        assert!(too_many.text().contains("Only 3 of"));
        let removed = server
            .post(&format!("/cart/items/{item}/remove"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(removed.status_code(), 303);
        assert!(server
            .get("/cart")
            .await
            .text()
            .contains("Your cart is empty."));
        // Without the CSRF token nothing is added.
        let forged = server
            .post("/cart/items")
            .form(&[("product_id", tent.as_str()), ("quantity", "1")])
            .await;
        assert_eq!(forged.status_code(), 403);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn logging_in_keeps_the_guest_cart_and_checkout_places_the_order() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = user(
            &ctx,
            "ann@example.com",
            emporium::domain::role::Role::Customer,
        )
        .await;
        let kettle = shop.id("KTL-1").to_string();
        let variant = variant_of(&server, &kettle).await;
        let csrf = csrf_from(&server.get("/p/whistling-kettle").await.text());
        add_form(&server, &csrf, &kettle, &variant, "2", false).await;

        // The checkout page offers the login beside the guest's form; after it the guest's
        // kettles are in Ann's cart.
        let res = server.get("/checkout").await;
        assert_eq!(res.status_code(), 200);
        assert_css_exists(&res.text(), "a#checkout-login");
        let csrf = csrf_from(&server.get("/login").await.text());
        let res = server
            .post("/login")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email", "ann@example.com"),
                ("password", PASSWORD),
            ])
            .await;
        assert_eq!(res.status_code(), 303);
        let cart = server.get("/cart").await.text();
        assert_count(&cart, "table.cart-lines tbody tr", 1);
        assert!(cart.contains("Whistling Kettle"));

        let page = server.get("/checkout").await.text();
        assert_css_exists(&page, "form#checkout-form");
        // The recipient is the customer until said otherwise; billing fields sit in the box
        // that "same as shipping" hides; the tax note names the country it is for.
        assert_css_exists(&page, "#name[value]:not([value=''])");
        assert_css_exists(&page, ".billing-fields #billing_name");
        assert!(select(&page, "#tax-note")[0].contains("Germany"));
        let csrf = csrf_from(&page);
        let bad = server
            .post("/checkout")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("line1", ""),
                ("city", "Kiel"),
                ("postal_code", "24103"),
                ("country", "Germany"),
                ("billing_same", "on"),
            ])
            .await;
        assert_eq!(bad.status_code(), 422);
        let html = bad.text();
        assert!(
            html.contains("This field is required.") && html.contains("country code of ISO 3166-1")
        );
        assert!(html.contains("value=\"Kiel\""), "the input is kept");
        assert_css_exists(&html, "#name[aria-invalid=true]");

        let res = server
            .post("/checkout")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "Ann Lee"),
                ("company", "Harbour Books"),
                ("line1", "1 Harbour Road"),
                ("city", "Kiel"),
                ("postal_code", "24103"),
                ("country", "de"),
                ("billing_same", "on"),
                ("save_address", "on"),
            ])
            .await;
        assert_eq!(res.status_code(), 303, "{}", res.text());
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with("/orders/"));
        let order = server.get(&location).await.text();
        assert!(order.contains("Thank you! Your order #1001 is placed."));
        let to = select(&order, "p.address")[0].clone();
        assert!(
            to.contains("Ann Lee<br>Harbour Books<br>1 Harbour Road") && to.contains("Germany"),
            "{to}"
        );
        assert!(select(&order, "#order-status")[0].contains("Awaiting payment"));
        assert_css_exists(&order, "#timeline li");
        assert!(server
            .get("/cart")
            .await
            .text()
            .contains("Your cart is empty."));
        let history = server.get("/orders").await.text();
        assert_count(&history, "table#orders tbody tr", 1);
        // The address was saved for next time; with the cart empty, checkout sends the
        // shopper back to the cart.
        let saved = emporium::models::accounts::addresses::default_for(&ctx.db, ann.id)
            .await
            .unwrap()
            .expect("saved");
        assert_eq!(
            (saved.city.as_str(), saved.country.as_str()),
            ("Kiel", "DE")
        );
        assert_eq!(server.get("/checkout").await.status_code(), 303);

        // Cancelling from the order page releases the kettles.
        let csrf = csrf_from(&order);
        let res = server
            .post(&format!("{location}/cancel"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(res.status_code(), 303);
        let order = server.get(&location).await.text();
        assert!(select(&order, "#order-status")[0].contains("Cancelled"));
        assert_css_not_exists(&order, "#cancel-order");
        assert_eq!(product(&server, &kettle).await["available"], 4);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn admins_move_orders_from_the_order_page_and_staff_only_read_it() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("LMP-1"), 1).await;
        let order: Value = checkout(&server, &ann).await.json();
        let id = order["id"].as_str().unwrap().to_string();

        sign_in(&server, "ann@example.com").await;
        assert_eq!(server.get("/admin/orders").await.status_code(), 403);
        let other = server
            .get("/orders/00000000-0000-4000-8000-000000000000")
            .await;
        assert_eq!(other.status_code(), 404);

        sign_in(&server, "staff@example.com").await;
        let list = server.get("/admin/orders?status=pending").await.text();
        assert_count(&list, "table#orders tbody tr", 1);
        let page = server.get(&format!("/admin/orders/{id}")).await.text();
        assert_css_not_exists(&page, "#action-mark-paid");

        let csrf = sign_in(&server, "admin@example.com").await;
        let page = server.get(&format!("/admin/orders/{id}")).await.text();
        assert_css_exists(&page, "#action-mark-paid");
        assert_css_exists(&page, "#action-cancel");
        assert_css_not_exists(&page, "#action-ship");
        let res = server
            .post(&format!("/admin/orders/{id}/mark-paid"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(res.status_code(), 303);
        let page = server.get(&format!("/admin/orders/{id}")).await.text();
        assert!(page.contains("Order #1001 is now paid."));
        assert!(page.contains("Invoice INV-000001"));

        let res = server
            .post(&format!("/admin/orders/{id}/ship"))
            .add_header("hx-request", "true")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("carrier", "DHL"),
                ("tracking_number", "JJD000390007"),
            ])
            .await;
        res.assert_status_ok();
        let panel = res.text();
        assert_css_exists(&panel, "aside#order-panel");
        assert!(select(&panel, "#order-status")[0].contains("Shipped"));
        assert!(panel.contains("JJD000390007"));
        assert_css_exists(&panel, "#action-complete");
        // A step the state machine does not have from here is refused with its reason.
        let res = server
            .post(&format!("/admin/orders/{id}/mark-paid"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(res.status_code(), 422);
        assert!(res
            .text()
            .contains("An order that is shipped cannot be paid."));

        // The list exports as CSV with the same filter.
        let csv = server.get("/admin/orders/export.csv?status=shipped").await;
        csv.assert_status_ok();
        assert!(csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let text = csv.text();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("number,placed_at,status,email"));
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[1].starts_with("1001,") && lines[1].contains(",shipped,ann@example.com,1,39.00,")
        );
        assert!(lines[1].contains("JJD000390007"));
        assert_eq!(
            server
                .get("/admin/orders/export.csv?status=pending")
                .await
                .text()
                .lines()
                .count(),
            1
        );

        // The shopper's invoice page prints the order with the seller's legal details
        // (issue 17, item 10), a way back and a Print button (shown by the script).
        set_settings(&ctx, |s| {
            s.seller.legal_name = "Kiel Outfitters GmbH".into();
            s.seller.address = "Hafenstraße 1; 24103 Kiel ; Germany".into();
            s.seller.vat_id = "DE123456789".into();
        });
        let admin_view = server.get(&format!("/orders/{id}/invoice")).await.text();
        assert_css_exists(&admin_view, &format!("a[href='/admin/orders/{id}']"));
        sign_in(&server, "ann@example.com").await;
        let inv = server.get(&format!("/orders/{id}/invoice")).await;
        inv.assert_status_ok();
        let html = inv.text();
        assert!(html.contains("Invoice INV-000001") && html.contains("Camp Lantern"));
        let seller = select(&html, ".invoice-seller")[0].clone();
        for part in [
            "Kiel Outfitters GmbH",
            "Hafenstraße 1<br>24103 Kiel<br>Germany",
            "VAT ID: DE123456789",
        ] {
            assert!(seller.contains(part), "{part}: {seller}");
        }
        assert!(select(&html, ".invoice-parties")[0].contains("ann@example.com"));
        assert_css_exists(&html, &format!(".invoice-tools a[href='/orders/{id}']"));
        assert_css_exists(&html, ".invoice-tools button[data-print][hidden]");
    })
    .await;
}

/// Issue 17, item 4: "Pay" with a provider that cannot be reached says so on the order page
/// (and opens no payment), instead of an error page or a silent failure.
#[tokio::test]
#[parallel]
async fn pay_says_so_when_the_provider_cannot_be_reached() {
    use emporium::models::_entities::transactions;
    use sea_orm::{EntityTrait, PaginatorTrait};
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("MUG-2"), 1).await;
        let order: Value = checkout(&server, &ann).await.json();
        let order_page = format!("/orders/{}", order["id"].as_str().unwrap());
        set_settings(&ctx, |s| {
            s.payments.provider = emporium::settings::PaymentProviderKind::Stripe;
            s.payments.stripe.secret_key = "sk_test_unreachable".into();
            s.payments.stripe.webhook_secret = "whsec_unreachable".into();
            // Nothing listens on the discard port.
            s.payments.stripe.api_base = "http://127.0.0.1:9".into();
        });
        let settings = emporium::settings::Settings::get(&ctx);
        ctx.shared_store
            .insert(emporium::payments::Payments::from_settings(&settings).unwrap());

        let csrf = sign_in(&server, "ann@example.com").await;
        let res = server
            .post(&format!("{order_page}/pay"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(res.status_code(), 303, "{}", res.text());
        assert_eq!(res.headers()["location"], order_page.as_str());
        let page = server.get(&order_page).await.text();
        assert!(
            page.contains("We could not reach the payment provider"),
            "{page}"
        );
        assert_eq!(
            transactions::Entity::find().count(&ctx.db).await.unwrap(),
            0
        );
    })
    .await;
}

/// Issue 17, item 7: an admin refund says why (a listed reason, and a note with "Other"); the
/// timeline keeps it, as it keeps the reason an API client gives.
#[tokio::test]
#[parallel]
async fn a_refund_says_why_in_the_timeline() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        let mut ids = Vec::new();
        for _ in 0..2 {
            add(&server, &ann, shop.id("MUG-2"), 1).await;
            let order: Value = checkout(&server, &ann).await.json();
            let id = order["id"].as_str().unwrap().to_string();
            let paid = post(
                &server,
                &shop.admin,
                &format!("/api/v1/orders/{id}/mark-paid"),
                serde_json::json!({}),
            )
            .await;
            assert_eq!(paid.status_code(), 200, "{}", paid.text());
            ids.push(id);
        }
        let csrf = sign_in(&server, "admin@example.com").await;
        let refund = |fields: Vec<(&'static str, &'static str)>| {
            let mut form = vec![("csrf_token", csrf.clone())];
            form.extend(fields.into_iter().map(|(k, v)| (k, v.to_string())));
            server
                .post(&format!("/admin/orders/{}/refund", ids[0]))
                .form(&form)
        };
        let none = refund(vec![]).await;
        assert_eq!(none.status_code(), 422);
        assert!(none.text().contains("Choose why the order is refunded."));
        let other = refund(vec![("reason", "other")]).await;
        assert_eq!(other.status_code(), 422);
        assert!(
            other
                .text()
                .contains("Say why, as the reason is &quot;Other&quot;."),
            "{}",
            other.text()
        );
        assert_css_exists(
            &other.text(),
            "#refund-reason option[value='other'][selected]",
        );
        let done = refund(vec![("reason", "damaged"), ("note", "box crushed")]).await;
        assert_eq!(done.status_code(), 303, "{}", done.text());
        let order: Value = get(&server, &shop.admin, &format!("/api/v1/orders/{}", ids[0]))
            .await
            .json();
        assert_eq!(order["status"], "refunded");
        let last = order["timeline"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        let note = last["note"].as_str().unwrap();
        assert!(
            note.contains("credit note CN-") && note.contains("Arrived damaged: box crushed"),
            "{last}"
        );

        let long = post(
            &server,
            &shop.admin,
            &format!("/api/v1/orders/{}/refund", ids[1]),
            serde_json::json!({"reason": "x".repeat(201)}),
        )
        .await;
        assert_error(&long, 422, "validation_failed");
        let api = post(
            &server,
            &shop.admin,
            &format!("/api/v1/orders/{}/refund", ids[1]),
            serde_json::json!({"reason": "Customer changed their mind"}),
        )
        .await;
        assert_eq!(api.status_code(), 201, "{}", api.text());
        assert_eq!(api.json::<Value>()["reason"], "Customer changed their mind");
        let order: Value = get(&server, &shop.admin, &format!("/api/v1/orders/{}", ids[1]))
            .await
            .json();
        let last = order["timeline"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert!(
            last["note"]
                .as_str()
                .unwrap()
                .ends_with("Customer changed their mind; goods restocked"),
            "{last}"
        );
    })
    .await;
}

/// Issue 17, item 7: a cancelled order's items go back in its owner's cart, nobody else's; an
/// order still open cannot be re-added.
#[tokio::test]
#[parallel]
async fn a_cancelled_order_puts_its_items_back_in_the_cart() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        customer(&server, &ctx, "bob@example.com").await;
        add(&server, &ann, shop.id("MUG-2"), 2).await;
        add(&server, &ann, shop.id("KTL-1"), 1).await;
        let order: Value = checkout(&server, &ann).await.json();
        let id = order["id"].as_str().unwrap().to_string();

        let csrf = sign_in(&server, "ann@example.com").await;
        let reorder = |csrf: String| {
            server
                .post(&format!("/orders/{id}/reorder"))
                .form(&[("csrf_token", csrf)])
        };
        let early = reorder(csrf.clone()).await;
        assert_eq!(
            early.headers()["location"],
            format!("/orders/{id}").as_str()
        );
        assert!(server
            .get(&format!("/orders/{id}"))
            .await
            .text()
            .contains("Only a cancelled or expired order"));

        let cancel = post(
            &server,
            &ann,
            &format!("/api/v1/orders/{id}/cancel"),
            serde_json::json!({}),
        )
        .await;
        assert_eq!(cancel.status_code(), 200, "{}", cancel.text());
        // Someone else's cancelled order is not theirs to re-add.
        let bob_csrf = sign_in(&server, "bob@example.com").await;
        let stranger = reorder(bob_csrf).await;
        assert_eq!(stranger.status_code(), 404);

        // Meanwhile the kettles sold out: the mugs go back, the kettle is named.
        let csrf = sign_in(&server, "ann@example.com").await;
        {
            use emporium::models::_entities::variants;
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            variants::Entity::update_many()
                .col_expr(variants::Column::Stock, sea_orm::sea_query::Expr::value(0))
                .filter(variants::Column::Sku.eq("KTL-1"))
                .exec(&ctx.db)
                .await
                .unwrap();
        }
        let back = reorder(csrf).await;
        assert_eq!(back.headers()["location"], "/cart");
        let cart = server.get("/cart").await.text();
        assert!(cart.contains("1 item is back in your cart."), "{cart}");
        assert!(
            cart.contains("Not put back: ") && cart.contains("Whistling Kettle"),
            "{cart}"
        );
        let api: Value = get(&server, &ann, "/api/v1/cart").await.json();
        assert_eq!(api["items"][0]["quantity"], 2);
    })
    .await;
}

/// Issue 17, item 8: prices say whether they include the tax, by the shop's price mode, and the
/// cart says how much more ships free.
#[tokio::test]
#[parallel]
async fn prices_say_what_they_include_and_the_cart_what_ships_free() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let page = server.get("/p/ridge-tent-2p").await.text();
        assert!(
            select(&page, "#price .price-note")[0].contains("excl. VAT"),
            "{page}"
        );
        set_settings(&ctx, |s| {
            s.checkout.price_mode = emporium::domain::pricing::PriceMode::TaxInclusive;
        });
        let page = server.get("/p/ridge-tent-2p").await.text();
        assert!(select(&page, "#price .price-note")[0].contains("incl. VAT"));
        let list = server.get("/products").await.text();
        assert!(select(&list, ".product-card-price .price-note")[0].contains("incl. VAT"));

        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("MUG-2"), 1).await;
        let cart: Value = get(&server, &ann, "/api/v1/cart").await.json();
        assert_eq!(cart["free_shipping_missing_cents"], 5000 - 900);
        sign_in(&server, "ann@example.com").await;
        let html = server.get("/cart").await.text();
        assert!(
            select(&html, "#free-shipping-hint")[0].contains("Add €41.00 more for free shipping."),
            "{html}"
        );
        add(&server, &ann, shop.id("MUG-2"), 5).await;
        let html = server.get("/cart").await.text();
        assert_css_not_exists(&html, "#free-shipping-hint");
        assert!(select(&html, "#shipping")[0].contains("Free"));
    })
    .await;
}
