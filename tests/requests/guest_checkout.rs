//! Guest checkout (issue 19, item 1): a guest with a cart token checks out with an e-mail
//! address; the order answers its token once and is reached only with it (API) or its mail
//! link (pages); verifying that e-mail later gives the orders to the account.
use emporium::models::{_entities::orders, tokens};
use loco_rs::testing::prelude::*;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{orders::*, *};

const CART: &str = "x-cart-token";
const ORDER: &str = "x-order-token";

/// A guest's new cart holding `quantity` of `product`: its token.
async fn guest_cart(server: &loco_rs::TestServer, product: &str, quantity: i64) -> String {
    let res = server
        .post("/api/v1/cart/items")
        .json(&json!({"product_id": product, "quantity": quantity}))
        .await;
    assert_eq!(res.status_code(), 201, "{}", res.text());
    res.headers()[CART].to_str().unwrap().to_string()
}

fn guest_body(email: &str) -> Value {
    let mut address = address("DE");
    address["name"] = json!("Gus Guest");
    json!({"email": email, "shipping_address": address})
}

async fn guest_checkout(
    server: &loco_rs::TestServer,
    cart: &str,
    body: &Value,
) -> axum_test::TestResponse {
    server
        .post("/api/v1/checkout")
        .add_header(CART, cart)
        .json(body)
        .await
}

/// A guest's placed order: (id, token).
async fn placed(server: &loco_rs::TestServer, cart: &str, email: &str) -> (String, String) {
    let res = guest_checkout(server, cart, &guest_body(email)).await;
    assert_eq!(res.status_code(), 201, "{}", res.text());
    let body: Value = res.json();
    (
        body["id"].as_str().unwrap().to_string(),
        body["order_token"].as_str().unwrap().to_string(),
    )
}

fn with_token(req: axum_test::TestRequest, token: &str) -> axum_test::TestRequest {
    req.add_header(ORDER, token)
}

#[tokio::test]
#[parallel]
async fn a_guest_checks_out_and_reaches_the_order_only_with_its_token() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let cart = guest_cart(&server, shop.id("LMP-1"), 2).await;

        // Every mistake is named, and nothing is placed.
        let mut nameless = guest_body("gus@example.com");
        nameless["shipping_address"]
            .as_object_mut()
            .unwrap()
            .remove("name");
        let body = assert_error(
            &guest_checkout(&server, &cart, &nameless).await,
            422,
            "validation_failed",
        );
        assert!(
            body["error"]["details"]["shipping_address.name"].is_array(),
            "{body}"
        );
        let mut nameless_billing = guest_body("gus@example.com");
        nameless_billing["billing_address"] = address("AT");
        let body = assert_error(
            &guest_checkout(&server, &cart, &nameless_billing).await,
            422,
            "validation_failed",
        );
        assert!(
            body["error"]["details"]["billing_address.name"].is_array(),
            "{body}"
        );
        let mut bad = guest_body("not-an-address");
        bad["shipping_address_id"] = json!(uuid::Uuid::new_v4());
        let body = assert_error(
            &guest_checkout(&server, &cart, &bad).await,
            422,
            "validation_failed",
        );
        let details = &body["error"]["details"];
        assert!(
            details["email"].is_array() && details["shipping_address_id"].is_array(),
            "{body}"
        );
        assert_error(
            &server
                .post("/api/v1/checkout")
                .json(&guest_body("gus@example.com"))
                .await,
            401,
            "unauthorized",
        );
        assert_error(
            &guest_checkout(&server, "no-such-cart", &guest_body("gus@example.com")).await,
            422,
            "validation_failed",
        );
        assert_eq!(orders::Entity::find().all(&ctx.db).await.unwrap().len(), 0);

        let res = guest_checkout(&server, &cart, &guest_body("Gus@Example.com")).await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        let order: Value = res.json();
        let id = order["id"].as_str().unwrap().to_string();
        let token = order["order_token"].as_str().unwrap().to_string();
        assert!(token.len() >= 43, "256 bits: {token}");
        assert_eq!(order["email"], "gus@example.com");
        assert_eq!(order["status"], "pending");
        assert_eq!(order["items"][0]["quantity"], 2);
        // Kept hashed, owned by no account.
        let row = orders::Entity::find()
            .filter(orders::Column::Pid.eq(uuid::Uuid::parse_str(&id).unwrap()))
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.user_id, None);
        assert_eq!(
            row.access_token_hash.as_deref(),
            Some(tokens::hash_secret(&token).as_str())
        );
        // The confirmation links the order with its token.
        let mail = mails_to(&ctx, "gus@example.com").await;
        assert_eq!(mail.len(), 1);
        assert!(
            mail[0]
                .text_body
                .contains(&format!("/orders/{id}/access?token={token}")),
            "{}",
            mail[0].text_body
        );

        // The token opens this order and no other; nobody else sees it.
        let path = format!("/api/v1/orders/{id}");
        let seen: Value = with_token(server.get(&path), &token).await.json();
        assert_eq!(seen["number"], order["number"]);
        assert!(seen.get("order_token").is_none(), "shown once");
        assert_error(&server.get(&path).await, 401, "unauthorized");
        assert_error(
            &with_token(server.get(&path), &format!("{token}x")).await,
            404,
            "not_found",
        );
        let ann = customer(&server, &ctx, "ann@example.com").await;
        assert_error(&get(&server, &ann, &path).await, 404, "not_found");
        let other_cart = guest_cart(&server, shop.id("MUG-2"), 1).await;
        let (other, other_token) = placed(&server, &other_cart, "eve@example.com").await;
        assert_error(
            &with_token(server.get(&path), &other_token).await,
            404,
            "not_found",
        );
        assert_error(
            &with_token(
                server.post(&format!("/api/v1/orders/{id}/cancel")),
                &other_token,
            )
            .await,
            404,
            "not_found",
        );
        assert_ne!(other, id);
        let staff: Value = get(&server, &shop.staff, &path).await.json();
        assert_eq!(staff["email"], "gus@example.com");
        // Staff find a guest's orders by the address, as a customer's.
        let by_address: Value = get(
            &server,
            &shop.staff,
            "/api/v1/orders?customer=Gus@example.com",
        )
        .await
        .json();
        assert_eq!(by_address["count"], 1, "{by_address}");
        assert_eq!(by_address["results"][0]["id"], id.as_str());

        // The token pays and cancels; the stock comes back.
        let pay = with_token(server.post(&format!("{path}/pay")), &token).await;
        assert_eq!(pay.status_code(), 200, "{}", pay.text());
        assert!(pay.json::<Value>()["checkout_url"].is_string());
        assert_eq!(product(&server, shop.id("LMP-1")).await["available"], 10);
        let res = with_token(server.post(&format!("{path}/cancel")), &token).await;
        assert_eq!(res.status_code(), 200, "{}", res.text());
        assert_eq!(res.json::<Value>()["status"], "cancelled");
        assert_eq!(product(&server, shop.id("LMP-1")).await["available"], 12);
        // A guest's order is not theirs to ship.
        assert_error(
            &with_token(server.post(&format!("{path}/ship")), &token).await,
            401,
            "unauthorized",
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_repeated_guest_checkout_places_nothing_twice_and_shows_no_token_again() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let cart = guest_cart(&server, shop.id("LMP-1"), 1).await;
        let send = || {
            server
                .post("/api/v1/checkout")
                .add_header(CART, cart.as_str())
                .add_header("idempotency-key", "guest-checkout-1")
                .json(&guest_body("gus@example.com"))
        };
        let first = send().await;
        assert_eq!(first.status_code(), 201, "{}", first.text());
        assert!(first.json::<Value>()["order_token"].is_string());
        let again = send().await;
        assert_error(&again, 409, "conflict");
        assert!(!again.text().contains("order_token"));
        assert_eq!(orders::Entity::find().all(&ctx.db).await.unwrap().len(), 1);
        // Its invoice names the guest from the billing address.
        let id = first.json::<Value>()["id"].as_str().unwrap().to_string();
        post(
            &server,
            &shop.admin,
            &format!("/api/v1/orders/{id}/mark-paid"),
            json!({}),
        )
        .await
        .assert_status_ok();
        let invoice: Value = get(
            &server,
            &shop.admin,
            &format!("/api/v1/orders/{id}/invoice"),
        )
        .await
        .json();
        assert_eq!(invoice["customer_name"], "Gus Guest", "{invoice}");
        assert_eq!(invoice["customer_email"], "gus@example.com");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn guests_are_limited_like_customers() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        set_settings(&ctx, |s| s.checkout.max_pending_orders = 1);
        let first = guest_cart(&server, shop.id("MUG-2"), 1).await;
        placed(&server, &first, "gus@example.com").await;
        // The same e-mail, however written, holds the one unpaid order allowed.
        let second = guest_cart(&server, shop.id("MUG-2"), 1).await;
        assert_error(
            &guest_checkout(&server, &second, &guest_body("GUS@example.com")).await,
            409,
            "too_many_pending_orders",
        );
        // A code limited per customer needs an account: a guest is anyone.
        let res = post(
            &server,
            &shop.pm,
            "/api/v1/admin/promo-codes",
            json!({"code": "ONCE", "kind": "percent", "value": 1000, "per_customer_limit": 1}),
        )
        .await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        let coupon = server
            .post("/api/v1/cart/coupon")
            .add_header(CART, second.as_str())
            .json(&json!({"code": "ONCE"}))
            .await;
        assert_eq!(coupon.status_code(), 200, "{}", coupon.text());
        let body = assert_error(
            &guest_checkout(&server, &second, &guest_body("ivy@example.com")).await,
            422,
            "validation_failed",
        );
        assert!(body["error"]["details"]["code"].is_array(), "{body}");
        // A code for everyone is fine, and its use is counted.
        let res = post(
            &server,
            &shop.pm,
            "/api/v1/admin/promo-codes",
            json!({"code": "ALL", "kind": "percent", "value": 1000, "usage_limit": 5}),
        )
        .await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        server
            .post("/api/v1/cart/coupon")
            .add_header(CART, second.as_str())
            .json(&json!({"code": "ALL"}))
            .await
            .assert_status_ok();
        let res = guest_checkout(&server, &second, &guest_body("ivy@example.com")).await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        assert_eq!(res.json::<Value>()["coupon"], "ALL");
        // Each guest checkout mails the address it names: past the address's budget, 429, and
        // nothing is placed.
        set_settings(&ctx, |s| s.auth.mail_per_address = 2);
        let third = guest_cart(&server, shop.id("MUG-2"), 1).await;
        assert_error(
            &guest_checkout(&server, &third, &guest_body("ivy@example.com")).await,
            429,
            "rate_limited",
        );
        assert_eq!(orders::Entity::find().all(&ctx.db).await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn verifying_the_email_gives_the_guests_orders_to_the_account() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let cart = guest_cart(&server, shop.id("MUG-2"), 1).await;
        let (id, token) = placed(&server, &cart, "gus@example.com").await;
        let elsewhere = guest_cart(&server, shop.id("MUG-2"), 1).await;
        let (not_his, _) = placed(&server, &elsewhere, "eve@example.com").await;

        server
            .post("/api/v1/auth/register")
            .json(&json!({"email": "gus@example.com", "password": PASSWORD, "first_name": "Gus", "last_name": "Ho"}))
            .await
            .assert_status(axum::http::StatusCode::CREATED);
        let t = login(&server, "gus@example.com", PASSWORD).await;
        let gus = bearer(t["access"].as_str().unwrap());
        let ids = |list: Value| -> Vec<String> {
            list["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_string())
                .collect()
        };
        // Registering alone proves nothing: a stranger could sign up with the address.
        assert!(ids(get(&server, &gus, "/api/v1/orders").await.json()).is_empty());
        assert_error(
            &get(&server, &gus, &format!("/api/v1/orders/{id}")).await,
            404,
            "not_found",
        );

        let verify = token_from_mail(&ctx, "gus@example.com", "verify_email").await;
        let res = server
            .post("/api/v1/auth/verify")
            .json(&json!({"token": verify}))
            .await;
        assert_eq!(res.status_code(), 204);
        assert_eq!(ids(get(&server, &gus, "/api/v1/orders").await.json()), vec![id.as_str()]);
        let mine = get(&server, &gus, &format!("/api/v1/orders/{id}")).await;
        assert_eq!(mine.status_code(), 200);
        assert_error(
            &get(&server, &gus, &format!("/api/v1/orders/{not_his}")).await,
            404,
            "not_found",
        );
        // A password reset proves the mailbox too: Eve's guest order becomes hers.
        server
            .post("/api/v1/auth/register")
            .json(&json!({"email": "eve@example.com", "password": PASSWORD, "first_name": "Eve", "last_name": "Ng"}))
            .await
            .assert_status(axum::http::StatusCode::CREATED);
        server
            .post("/api/v1/auth/forgot")
            .json(&json!({"email": "eve@example.com"}))
            .await
            .assert_status(axum::http::StatusCode::ACCEPTED);
        let reset = token_from_mail(&ctx, "eve@example.com", "password_reset").await;
        let res = server
            .post("/api/v1/auth/reset")
            .json(&json!({"token": reset, "password": "a new secret of eve"}))
            .await;
        assert_eq!(res.status_code(), 204, "{}", res.text());
        let t = login(&server, "eve@example.com", "a new secret of eve").await;
        let eve = bearer(t["access"].as_str().unwrap());
        assert_eq!(
            ids(get(&server, &eve, "/api/v1/orders").await.json()),
            vec![not_his.as_str()]
        );

        // The guest's token does not open it any more: it is the account's.
        assert_error(
            &with_token(server.get(&format!("/api/v1/orders/{id}")), &token).await,
            404,
            "not_found",
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_guest_checks_out_on_the_pages_and_opens_the_order_from_the_mail_link() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let csrf = csrf_from(&server.get("/p/whistling-kettle").await.text());
        post_form_add(&server, &csrf, shop.id("KTL-1")).await;

        // Checkout offers the guest form beside the login.
        let page = server.get("/checkout").await;
        assert_eq!(page.status_code(), 200);
        let html = page.text();
        assert_css_exists(&html, "#checkout-form #email");
        assert_css_exists(&html, "a#checkout-login[href='/login?next=%2Fcheckout']");
        assert_css_not_exists(&html, "#save_address");
        let csrf = csrf_from(&html);
        let form = |email: &'static str| {
            vec![
                ("csrf_token", csrf.clone()),
                ("email", email.to_string()),
                ("name", "Gus Guest".to_string()),
                ("line1", "1 Harbour Road".to_string()),
                ("city", "Kiel".to_string()),
                ("postal_code", "24103".to_string()),
                ("country", "DE".to_string()),
                ("billing_same", "on".to_string()),
            ]
        };
        let bad = server.post("/checkout").form(&form("gus-at-example")).await;
        assert_eq!(bad.status_code(), 422);
        assert_css_exists(&bad.text(), "#email[aria-invalid=true]");
        let res = server
            .post("/checkout")
            .form(&form("gus@example.com"))
            .await;
        assert_eq!(res.status_code(), 303, "{}", res.text());
        let location = res.headers()["location"].to_str().unwrap().to_string();
        let id = location.trim_start_matches("/orders/").to_string();
        let order = server.get(&location).await;
        assert_eq!(order.status_code(), 200);
        let html = order.text();
        assert!(
            html.contains("We sent its link to gus@example.com."),
            "{html}"
        );
        assert_css_exists(&html, "#pay-now");
        assert_css_not_exists(&html, "#reorder");

        // Another browser: nothing without the link; the link opens the order.
        let phone = browser(&ctx);
        let res = phone.get(&location).await;
        assert_eq!(res.status_code(), 303);
        assert!(res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"));
        assert_eq!(
            phone.get(&format!("{location}/live")).await.status_code(),
            303
        );
        // Someone signed in finds no such order, nor its live stream.
        let ann = browser(&ctx);
        user(
            &ctx,
            "ann@example.com",
            emporium::domain::role::Role::Customer,
        )
        .await;
        sign_in(&ann, "ann@example.com").await;
        assert_eq!(ann.get(&location).await.status_code(), 404);
        assert_eq!(
            ann.get(&format!("{location}/live")).await.status_code(),
            404
        );
        let mail = mails_to(&ctx, "gus@example.com").await;
        let link = mail[0]
            .text_body
            .split_whitespace()
            .find(|w| w.contains("/access?token="))
            .unwrap()
            .to_string();
        let path = link.trim_start_matches("http://localhost").to_string();
        assert!(
            path.starts_with(&format!("/orders/{id}/access?token=")),
            "{path}"
        );
        assert_eq!(phone.get(&format!("{path}x")).await.status_code(), 404);
        let res = phone.get(&path).await;
        assert_eq!(res.status_code(), 303);
        assert_eq!(res.headers()["location"], location.as_str());
        let html = phone.get(&location).await.text();
        assert_css_exists(&html, "#pay-now");
        // …and it can be cancelled from there.
        let csrf = csrf_from(&html);
        let res = phone
            .post(&format!("{location}/cancel"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(res.status_code(), 303);
        let html = phone.get(&location).await.text();
        assert!(html.contains("is cancelled"), "{html}");
    })
    .await;
}

/// Signed in, the order's mail goes to the account's address: a front end that always sends
/// an address may send that one (in any case), never another.
#[tokio::test]
#[parallel]
async fn a_signed_in_checkout_takes_only_the_accounts_own_address() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let buyer = customer(&server, &ctx, "own-address@example.com").await;
        add(&server, &buyer, shop.id("MUG-2"), 1)
            .await
            .assert_status(axum::http::StatusCode::CREATED);
        let res = post(
            &server,
            &buyer,
            "/api/v1/checkout",
            json!({"shipping_address": address("DE"), "email": "someone-else@example.com"}),
        )
        .await;
        let body = assert_error(&res, 422, "validation_failed");
        assert!(body["error"]["details"]["email"].is_array(), "{body}");
        let res = post(
            &server,
            &buyer,
            "/api/v1/checkout",
            json!({"shipping_address": address("DE"), "email": " Own-Address@Example.com "}),
        )
        .await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        let order: Value = res.json();
        assert_eq!(order["email"], "own-address@example.com");
        assert!(
            order.get("order_token").is_none(),
            "no guest token for an account's order"
        );
    })
    .await;
}
