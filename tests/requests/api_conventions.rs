//! API.md "General": error bodies for every failure, idempotency, rate limits, OpenAPI, health.
use emporium::domain::role::Role;
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{
    orders::{self, get, shop},
    *,
};

#[tokio::test]
#[parallel]
async fn router_and_parser_failures_use_the_error_body() {
    with_app(|server, _ctx| async move {
        assert_error(&server.get("/api/v1/no-such-thing").await, 404, "not_found");
        assert_error(
            &server.get("/api/v1/auth/login").await,
            405,
            "method_not_allowed",
        );
        let malformed = server
            .post("/api/v1/auth/login")
            .content_type("application/json")
            .bytes("{\"email\": ".into())
            .await;
        assert_error(&malformed, 400, "bad_request");
        let wrong_type = server
            .post("/api/v1/auth/login")
            .json(&json!({"email": 5, "password": []}))
            .await;
        assert_error(&wrong_type, 400, "bad_request");
        let not_json = server.post("/api/v1/auth/login").text("email=a").await;
        assert_error(&not_json, 415, "unsupported_media_type");
        let huge = format!(
            "{{\"email\": \"{}\", \"password\": \"x\"}}",
            "a".repeat(300 * 1024)
        );
        let too_big = server
            .post("/api/v1/auth/login")
            .content_type("application/json")
            .bytes(huge.into())
            .await;
        assert_error(&too_big, 413, "payload_too_large");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn shop_info_and_health() {
    with_app(|server, _ctx| async move {
        let shop: Value = server.get("/api/v1/shop").await.json();
        assert_eq!(shop, json!({"name": "Test Shop", "currency": "EUR"}));
        let health = server.get("/_health").await;
        health.assert_status_ok();
        let h: Value = health.json();
        assert_eq!(h["ok"], true);
        assert_eq!(h["database"], "ok");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn openapi_document_describes_every_contract_path() {
    with_app(|server, _ctx| async move {
        let doc: Value = server.get("/api/v1/openapi.json").await.json();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        for path in [
            "/api/v1/auth/register",
            "/api/v1/auth/login",
            "/api/v1/auth/refresh",
            "/api/v1/auth/logout",
            "/api/v1/auth/verify",
            "/api/v1/auth/forgot",
            "/api/v1/auth/reset",
            "/api/v1/me",
            "/api/v1/me/password",
            "/api/v1/me/address",
            "/api/v1/me/email",
            "/api/v1/me/export",
            "/api/v1/auth/email/confirm",
            "/api/v1/admin/users",
            "/api/v1/admin/users/{id}",
            "/api/v1/admin/users/{id}/password-reset",
            "/api/v1/admin/audit-log",
            "/api/v1/shop",
            "/api/v1/cart",
            "/api/v1/cart/items",
            "/api/v1/cart/items/{item_id}",
            "/api/v1/cart/coupon",
            "/api/v1/checkout",
            "/api/v1/orders",
            "/api/v1/orders/{id}",
            "/api/v1/orders/{id}/cancel",
            "/api/v1/orders/{id}/ship",
            "/api/v1/orders/{id}/complete",
            "/api/v1/orders/{id}/refund",
            "/api/v1/orders/{id}/invoice",
            "/api/v1/admin/promo-codes",
            "/api/v1/admin/promo-codes/{id}",
            "/api/v1/admin/purchase-orders",
            "/api/v1/admin/purchase-orders/{id}",
            "/api/v1/admin/purchase-orders/{id}/receive",
            "/api/v1/admin/stock-ledger",
            "/api/v1/admin/stock-adjustments",
            "/api/v1/admin/notifications",
            "/api/v1/admin/notifications/{id}",
            "/api/v1/admin/tax-rates",
            "/api/v1/orders/{id}/pay",
            "/api/v1/transactions",
            "/api/v1/transactions/{id}",
            "/api/v1/invoices",
            "/api/v1/invoices/{number}",
            "/api/v1/admin/purchase-orders/{id}/cancel",
            "/api/v1/webhooks/stripe",
            "/api/v1/products/{id}/reviews",
            "/api/v1/reviews/{id}",
            "/api/v1/wishlist",
            "/api/v1/wishlist/{product_id}",
            "/api/v1/admin/api-keys",
            "/api/v1/admin/api-keys/{id}",
            "/api/v1/admin/webhooks",
            "/api/v1/admin/webhooks/{id}",
            "/api/v1/admin/webhooks/{id}/deliveries",
            "/api/v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            "/_health",
        ] {
            assert!(
                doc["paths"].get(path).is_some(),
                "{path} missing from the OpenAPI document"
            );
        }
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
        let docs = server.get("/api/docs").await;
        docs.assert_status_ok();
        assert!(docs.text().contains("swagger-ui"));
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_repeated_post_with_the_same_idempotency_key_runs_once() {
    with_app(|server, ctx| async move {
        let body = json!({"email": "idem@example.com", "password": PASSWORD, "first_name": "I", "last_name": "D"});
        let first = server.post("/api/v1/auth/register").add_header("idempotency-key", "key-1").json(&body).await;
        assert_eq!(first.status_code(), 201);
        let again = server.post("/api/v1/auth/register").add_header("idempotency-key", "key-1").json(&body).await;
        assert_eq!(again.status_code(), 201);
        assert_eq!(again.json::<Value>(), first.json::<Value>());
        assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
        assert_eq!(mails_to(&ctx, "idem@example.com").await.len(), 2, "welcome + verify, once");

        let other = json!({"email": "other@example.com", "password": PASSWORD, "first_name": "I", "last_name": "D"});
        let reused = server.post("/api/v1/auth/register").add_header("idempotency-key", "key-1").json(&other).await;
        assert_error(&reused, 422, "idempotency_key_reused");
        // Without a key the same request runs again (and fails: the e-mail is taken).
        assert_error(&server.post("/api/v1/auth/register").json(&body).await, 422, "validation_failed");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn concurrent_posts_with_one_idempotency_key_create_one_account() {
    with_app(|server, ctx| async move {
        let body = json!({"email": "race@example.com", "password": PASSWORD, "first_name": "R", "last_name": "C"});
        let send = || server.post("/api/v1/auth/register").add_header("idempotency-key", "race-key").json(&body);
        let (a, b, c, d) = tokio::join!(send(), send(), send(), send());
        for r in [&a, &b, &c, &d] {
            assert_eq!(r.status_code(), 201, "{}", r.text());
        }
        let ids: std::collections::HashSet<String> = [&a, &b, &c, &d].iter().map(|r| r.json::<Value>()["user"]["id"].as_str().unwrap().to_string()).collect();
        assert_eq!(ids.len(), 1, "every response names the same single account");
        assert_eq!(mails_to(&ctx, "race@example.com").await.len(), 2);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn rate_limits_count_per_caller_and_answer_429_with_retry_after() {
    with_app(|server, ctx| async move {
        set_settings(&ctx, |s| {
            s.rate_limits.anonymous = 3;
            s.rate_limits.customer = 5;
        });
        for i in 0..3 {
            let res = server.get("/api/v1/shop").await;
            res.assert_status_ok();
            assert_eq!(res.headers()["x-ratelimit-limit"], "3");
            assert_eq!(
                res.headers()["x-ratelimit-remaining"],
                (2 - i).to_string().as_str()
            );
        }
        let limited = server.get("/api/v1/shop").await;
        assert_error(&limited, 429, "rate_limited");
        assert!(
            limited.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                > 0
        );
        // A signed-in customer has their own, larger bucket.
        let customer = user(&ctx, "rl@example.com", Role::Customer).await;
        let tokens = emporium::models::accounts::issue_tokens(&ctx, &customer)
            .await
            .unwrap();
        let (h, v) = bearer(&tokens.access);
        let res = server.get("/api/v1/shop").add_header(h, v).await;
        res.assert_status_ok();
        assert_eq!(res.headers()["x-ratelimit-limit"], "5");
        assert_eq!(res.headers()["x-ratelimit-remaining"], "4");
    })
    .await;
}

/// API.md "Lists": every list the document names answers the one envelope, documents its
/// paging parameters, and checks them (a bad page size is a 422, not a silent default).
#[tokio::test]
#[parallel]
async fn every_list_answers_the_one_paginated_envelope() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let doc: Value = server.get("/api/v1/openapi.json").await.json();
        let mut lists = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            let Some(op) = item.get("get") else { continue };
            let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
            assert_ne!(schema["type"], "array", "{path} answers a bare array");
            let Some(name) = schema["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            else {
                continue;
            };
            let props = &doc["components"]["schemas"][name]["properties"];
            if props.get("results").is_none() {
                continue;
            }
            for field in ["count", "page", "page_size", "next", "previous"] {
                assert!(props.get(field).is_some(), "{path}: {name} lacks `{field}`");
            }
            let params: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
                .unwrap_or_default();
            assert!(
                params.contains(&"page") && params.contains(&"page_size"),
                "{path} does not document page and page_size"
            );
            lists.push(path.clone());
        }
        assert!(lists.len() >= 20, "only {lists:?}");
        assert!(lists.iter().any(|p| p == "/api/v1/admin/api-keys"));

        // The lists without a path parameter, asked by an admin.
        for path in lists.iter().filter(|p| !p.contains('{')) {
            let bad = get(&server, &shop.admin, &format!("{path}?page_size=0")).await;
            assert_eq!(bad.status_code(), 422, "{path}: {}", bad.text());
            let body: Value = bad.json();
            assert!(
                body["error"]["details"]["page_size"].is_array(),
                "{path}: {body}"
            );
            if path.ends_with("/shipping-methods") {
                continue; // needs a country and a cart; tested in tests/requests/shipping.rs
            }
            let one = get(&server, &shop.admin, &format!("{path}?page_size=1&page=1")).await;
            assert_eq!(one.status_code(), 200, "{path}: {}", one.text());
            let body: Value = one.json();
            assert_eq!(body["page"], 1, "{path}");
            assert_eq!(body["page_size"], 1, "{path}");
            assert!(body["results"].as_array().unwrap().len() <= 1, "{path}");
            let count = body["count"].as_u64().unwrap();
            assert_eq!(body["next"].is_string(), count > 1, "{path}: {body}");
            assert!(body["previous"].is_null(), "{path}");
        }
    })
    .await;
}

/// API.md "General", CORS: origins listed in the configuration (config/test.yaml lists
/// `https://headless.example`) call the API from a browser, preflight included, without
/// credentials; other origins, and the HTML pages, get no CORS headers.
#[tokio::test]
#[parallel]
async fn listed_origins_may_call_the_api_from_a_browser_and_no_one_else() {
    with_app(|server, _ctx| async move {
        let preflight = |origin: &'static str| {
            server
                .method(axum::http::Method::OPTIONS, "/api/v1/cart/items")
                .add_header("origin", origin)
                .add_header("access-control-request-method", "POST")
                .add_header(
                    "access-control-request-headers",
                    "content-type, idempotency-key, x-cart-token, authorization",
                )
        };
        let ok = preflight("https://headless.example").await;
        assert!(ok.status_code().is_success(), "{}", ok.status_code());
        let h = ok.headers();
        assert_eq!(h["access-control-allow-origin"], "https://headless.example");
        assert!(h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST"));
        let allowed = h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        for name in [
            "idempotency-key",
            "x-cart-token",
            "authorization",
            "content-type",
        ] {
            assert!(allowed.contains(name), "{allowed}");
        }
        assert!(h.get("access-control-allow-credentials").is_none());
        assert!(h["vary"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("origin"));

        let stranger = preflight("https://evil.example").await;
        assert!(stranger
            .headers()
            .get("access-control-allow-origin")
            .is_none());

        // A real call: the answer names the origin and lets the page read the API's headers.
        let list = server
            .get("/api/v1/products")
            .add_header("origin", "https://headless.example")
            .await;
        list.assert_status_ok();
        let h = list.headers();
        assert_eq!(h["access-control-allow-origin"], "https://headless.example");
        let exposed = h["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        for name in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-cart-token",
            "idempotent-replayed",
            "retry-after",
        ] {
            assert!(exposed.contains(name), "{exposed}");
        }
        assert!(h.get("x-ratelimit-remaining").is_some());
        assert!(h.get("access-control-allow-credentials").is_none());
        let other = server
            .get("/api/v1/products")
            .add_header("origin", "https://evil.example")
            .await;
        other.assert_status_ok();
        assert!(other.headers().get("access-control-allow-origin").is_none());
        // A listed origin's subdomain or another scheme is another origin.
        for near in [
            "https://x.headless.example",
            "http://headless.example",
            "https://headless.example.evil",
        ] {
            let res = server.get("/api/v1/shop").add_header("origin", near).await;
            assert!(
                res.headers().get("access-control-allow-origin").is_none(),
                "{near}"
            );
        }
        // The shop's pages never answer CORS.
        let page = server
            .get("/")
            .add_header("origin", "https://headless.example")
            .await;
        assert!(page.headers().get("access-control-allow-origin").is_none());
    })
    .await;
}

/// The document states what the server enforces (issue 20: schemathesis warned that the
/// server refused most of what the document allowed), including this shop's own settings.
#[tokio::test]
#[parallel]
async fn the_document_states_the_rules_the_server_enforces() {
    with_app(|server, ctx| async move {
        set_settings(&ctx, |s| s.checkout.max_line_quantity = 12);
        let doc: Value = server.get("/api/v1/openapi.json").await.json();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["AddItemRequest"]["properties"]["quantity"]["maximum"],
            12
        );
        assert_eq!(
            schemas["AddItemRequest"]["properties"]["quantity"]["minimum"],
            1
        );
        assert_eq!(
            schemas["QuantityRequest"]["properties"]["quantity"]["maximum"],
            12
        );
        assert_eq!(
            schemas["QuantityRequest"]["properties"]["quantity"]["minimum"],
            0
        );
        // Countries: the assigned codes, no more.
        let codes: Vec<&str> = schemas["CountryCode"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(codes.len(), emporium::domain::countries::COUNTRIES.len());
        assert!(codes.contains(&"DE") && !codes.contains(&"UK"));
        assert_eq!(
            schemas["ZoneRequest"]["properties"]["countries"]["items"]["$ref"],
            "#/components/schemas/CountryCode"
        );
        // Ranges and lengths the domain checks.
        let product = &schemas["CreateProductRequest"];
        assert_eq!(
            product["properties"]["price_cents"]["maximum"],
            100_000_000_000_i64
        );
        assert_eq!(product["properties"]["weight_grams"]["minimum"], 1);
        assert_eq!(product["properties"]["name"]["maxLength"], 200);
        assert_eq!(
            schemas["ReviewRequest"]["properties"]["rating"]["maximum"],
            5
        );
        assert_eq!(
            schemas["ModerationRequest"]["properties"]["status"]["pattern"],
            "^(published|hidden)$"
        );
        assert_eq!(
            schemas["TokenRequest"]["properties"]["token"]["minLength"],
            43
        );
        // Rules between fields: a flat product or variants; an address given or chosen.
        assert_eq!(product["allOf"][0]["anyOf"].as_array().unwrap().len(), 2);
        assert_eq!(
            product["allOf"][1]["anyOf"][1]["properties"]["name"]["pattern"],
            "[A-Za-z0-9]"
        );
        assert_eq!(
            schemas["CheckoutRequest"]["anyOf"][1]["required"][0],
            "shipping_address_id"
        );
        assert!(schemas["CheckoutRequest"]["allOf"][1]["not"].is_object());
        // And the server holds to what the document now says: the limit from the settings.
        let shop = shop(&server, &ctx).await;
        let res = orders::add(&server, &shop.admin, shop.id("MUG-2"), 13).await;
        assert_error(&res, 422, "validation_failed");
        let res = orders::add(&server, &shop.admin, shop.id("MUG-2"), 12).await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
    })
    .await;
}

/// JSON has one kind of number, and JSON Schema's integers include `3.0`: a whole number
/// written with a fraction is read as the integer, anything else still is a bad request.
#[tokio::test]
#[parallel]
async fn whole_numbers_written_as_floats_are_integers() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let res = orders::post(
            &server,
            &shop.admin,
            "/api/v1/cart/items",
            json!({"product_id": shop.id("MUG-2"), "quantity": 2.0}),
        )
        .await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        let cart: Value = res.json();
        assert_eq!(cart["items"][0]["quantity"], 2);
        for quantity in [json!(2.5), json!(1e300)] {
            let res = orders::post(
                &server,
                &shop.admin,
                "/api/v1/cart/items",
                json!({"product_id": shop.id("MUG-2"), "quantity": quantity}),
            )
            .await;
            assert_error(&res, 400, "bad_request");
        }
        let cart: Value = get(&server, &shop.admin, "/api/v1/cart").await.json();
        assert_eq!(
            cart["items"][0]["quantity"], 2,
            "the refused adds changed nothing"
        );
    })
    .await;
}
