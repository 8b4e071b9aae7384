//! The authorization sweep (issue 7): every operation of the OpenAPI document, called by every
//! role and anonymously, answers as API.md's "who" column says: 401 without credentials where
//! a user is needed, 403 for a role that may not, and neither for one that may. Then the same
//! for the admin pages, and another customer's resources answering 404.
use emporium::domain::role::Role;
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{orders::*, *};

/// API.md's "who".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// No credentials needed.
    Anyone,
    /// Any signed-in user.
    User,
    /// Only these roles.
    Roles(&'static [Role]),
    /// A signed-in user acting on a resource: a role that may not act on it is refused with
    /// 403, or with 404 when it may not even see it (API.md: never reveal another customer's
    /// resource), so with a made-up id this sweep can only check the 401.
    Scoped,
}

const ADMIN: &[Role] = &[Role::Admin];
const CATALOGUE: &[Role] = &[Role::ProductManager, Role::Admin];
const STAFF: &[Role] = &[Role::Staff, Role::Admin];

/// The contract, by method and path (API.md's tables).
fn who(method: &str, path: &str) -> Who {
    let p = path.trim_start_matches("/api/v1");
    let read = method == "GET";
    match p {
        "/openapi.json" | "/shop" | "/_health" => Who::Anyone,
        _ if p.starts_with("/auth/") => {
            // Confirming an e-mail change: only as the account that asked for it.
            if p == "/auth/logout" || p == "/auth/email/confirm" {
                Who::User
            } else {
                Who::Anyone
            }
        }
        "/me"
        | "/me/password"
        | "/me/sessions/revoke"
        | "/me/address"
        | "/me/email"
        | "/me/export"
        | "/checkout"
        | "/transactions"
        | "/invoices" => Who::User,
        "/transactions/{id}" | "/invoices/{number}" => Who::Scoped,
        "/me/addresses" => Who::User,
        "/me/addresses/{id}" => Who::Scoped,
        // Priced for the caller's cart, which a guest has too.
        "/shipping-methods" => Who::Anyone,
        _ if p.starts_with("/wishlist") => Who::User,
        // Guests have carts by token.
        _ if p.starts_with("/cart") => Who::Anyone,
        "/products" | "/categories" | "/brands" if read => Who::Anyone,
        "/products/{id}" | "/categories/{id}" | "/brands/{id}" if read => Who::Anyone,
        "/products/{id}/reviews" if read => Who::Anyone,
        "/products/{id}/reviews" => Who::User,
        _ if p.starts_with("/products")
            || p.starts_with("/categories")
            || p.starts_with("/brands")
            || p.starts_with("/variants") =>
        {
            Who::Roles(CATALOGUE)
        }
        "/reviews/{id}" => Who::Scoped,
        "/orders" => Who::User,
        _ if p.starts_with("/orders/") => Who::Scoped,
        "/webhooks/stripe" => Who::Anyone,
        _ if p.starts_with("/admin/promo-codes") || p.starts_with("/admin/reviews") => {
            Who::Roles(CATALOGUE)
        }
        _ if p.starts_with("/admin/purchase-orders") || p.starts_with("/admin/stock-ledger") => {
            Who::Roles(STAFF)
        }
        _ if p.starts_with("/admin/notifications") => {
            if method == "DELETE" {
                Who::Roles(ADMIN)
            } else {
                Who::Roles(STAFF)
            }
        }
        _ if p.starts_with("/admin/") => Who::Roles(ADMIN),
        _ => panic!("no rule for {method} {path}: add API.md's answer to this sweep"),
    }
}

/// The operations of the document.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                ops.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

/// The path with every `{param}` replaced by an id that names nothing.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        out.push_str(&uuid::Uuid::new_v4().to_string());
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

async fn call(
    server: &loco_rs::TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> axum_test::TestResponse {
    let url = concrete(path);
    let mut req = match method {
        "GET" => server.get(&url),
        "POST" => server.post(&url),
        "PUT" => server.put(&url),
        "PATCH" => server.patch(&url),
        "DELETE" => server.delete(&url),
        other => panic!("{other}"),
    };
    if let Some(t) = token {
        req = req.add_header("authorization", format!("Bearer {t}"));
    }
    if method != "GET" && method != "DELETE" {
        req = req.json(&json!({}));
    }
    req.await
}

#[tokio::test]
#[parallel]
async fn every_api_operation_answers_each_role_as_the_contract_says() {
    with_app(|server, ctx| async move {
        let mut tokens = Vec::new();
        for (email, role) in [
            ("customer@example.com", Role::Customer),
            ("staff@example.com", Role::Staff),
            ("pm@example.com", Role::ProductManager),
            ("admin@example.com", Role::Admin),
        ] {
            tokens.push((role, access_token(&server, &ctx, email, role).await));
        }
        let doc: Value = server.get("/api/v1/openapi.json").await.json();
        let ops = operations(&doc);
        assert!(ops.len() > 80, "{} operations", ops.len());
        let mut wrong = Vec::new();
        for (method, path) in &ops {
            let rule = who(method, path);
            let anon = call(&server, method, path, None)
                .await
                .status_code()
                .as_u16();
            let anon_ok = match rule {
                Who::Anyone => anon != 401 && anon != 403,
                _ => anon == 401,
            };
            if !anon_ok {
                wrong.push(format!("{method} {path} anonymous: {anon} ({rule:?})"));
            }
            for (role, token) in &tokens {
                let got = call(&server, method, path, Some(token))
                    .await
                    .status_code()
                    .as_u16();
                let ok = match rule {
                    Who::Anyone | Who::User => got != 401 && got != 403,
                    Who::Roles(allowed) if allowed.contains(role) => got != 401 && got != 403,
                    Who::Roles(_) => got == 403,
                    Who::Scoped => got != 401,
                };
                assert!(got < 500, "{method} {path} as {role:?}: {got}");
                if !ok {
                    wrong.push(format!("{method} {path} as {role:?}: {got} ({rule:?})"));
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "{} answers break the contract:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    })
    .await;
}

/// Resource-scoped operations on real resources: the owner acts, another customer gets 404
/// (it is not revealed), a role that may see it but not act gets 403.
#[tokio::test]
#[parallel]
async fn another_customers_resources_are_not_found_and_roles_without_the_step_are_forbidden() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        let bob = customer(&server, &ctx, "bob@example.com").await;
        let item: Value = add(&server, &ann, shop.id("MUG-2"), 1).await.json();
        let item_id = item["items"][0]["id"].as_str().unwrap().to_string();
        // Bob cannot touch Ann's cart line.
        let res = server
            .patch(&format!("/api/v1/cart/items/{item_id}"))
            .add_header(bob.0.clone(), bob.1.clone())
            .json(&json!({"quantity": 3}))
            .await;
        assert_error(&res, 404, "not_found");
        let order: Value = checkout(&server, &ann).await.json();
        let id = order["id"].as_str().unwrap();
        for (path, body) in [
            (format!("/api/v1/orders/{id}"), None),
            (format!("/api/v1/orders/{id}/invoice"), None),
            (format!("/api/v1/orders/{id}/cancel"), Some(json!({}))),
            (format!("/api/v1/orders/{id}/pay"), Some(json!({}))),
        ] {
            let res = match body {
                None => get(&server, &bob, &path).await,
                Some(b) => post(&server, &bob, &path, b).await,
            };
            assert_error(&res, 404, "not_found");
        }
        // Product managers do not read customers' orders.
        assert_error(
            &get(&server, &shop.pm, &format!("/api/v1/orders/{id}")).await,
            404,
            "not_found",
        );
        // Staff read every order but only an admin moves money or ships.
        get(&server, &shop.staff, &format!("/api/v1/orders/{id}"))
            .await
            .assert_status_ok();
        for step in ["ship", "complete", "refund", "mark-paid"] {
            let res = post(
                &server,
                &shop.staff,
                &format!("/api/v1/orders/{id}/{step}"),
                json!({}),
            )
            .await;
            assert_error(&res, 403, "forbidden");
            let res = post(
                &server,
                &ann,
                &format!("/api/v1/orders/{id}/{step}"),
                json!({}),
            )
            .await;
            assert_error(&res, 403, "forbidden");
        }
        // The owner may.
        get(&server, &ann, &format!("/api/v1/orders/{id}"))
            .await
            .assert_status_ok();
        post(
            &server,
            &ann,
            &format!("/api/v1/orders/{id}/cancel"),
            json!({}),
        )
        .await
        .assert_status_ok();
        // Transactions and order lists never show another customer's.
        let list: Value = get(&server, &bob, "/api/v1/orders").await.json();
        assert_eq!(list["count"], 0);
        let list: Value = get(&server, &bob, "/api/v1/transactions").await.json();
        assert_eq!(list["count"], 0);
    })
    .await;
}

/// The admin pages: signed out they send to the login page, customers are refused, and each
/// staff role reaches exactly its part.
#[tokio::test]
#[parallel]
async fn every_admin_page_is_refused_to_the_roles_it_is_not_for() {
    with_app(|server, ctx| async move {
        // (page, roles that may open it)
        let pages: &[(&str, &[Role])] = &[
            ("/admin", &[Role::Staff, Role::ProductManager, Role::Admin]),
            ("/admin/products", CATALOGUE),
            ("/admin/products/new", CATALOGUE),
            ("/admin/products/import", CATALOGUE),
            ("/admin/products/export.csv", CATALOGUE),
            ("/admin/categories", CATALOGUE),
            ("/admin/brands", CATALOGUE),
            ("/admin/reviews", CATALOGUE),
            ("/admin/promo-codes", CATALOGUE),
            ("/admin/promo-codes/new", CATALOGUE),
            ("/admin/orders", STAFF),
            ("/admin/orders/export.csv", STAFF),
            ("/admin/inventory", STAFF),
            ("/admin/stock-ledger", STAFF),
            ("/admin/purchase-orders", STAFF),
            ("/admin/purchase-orders/new", STAFF),
            ("/admin/notifications", STAFF),
            ("/admin/transactions", ADMIN),
            ("/admin/api-keys", ADMIN),
            ("/admin/webhooks", ADMIN),
            ("/admin/tax-rates", ADMIN),
            ("/admin/shipping", ADMIN),
            ("/admin/shipping/methods/new", ADMIN),
            ("/admin/users", ADMIN),
            ("/admin/outbox", ADMIN),
            ("/admin/jobs", ADMIN),
        ];
        for (email, role) in [
            ("customer@example.com", Role::Customer),
            ("staff@example.com", Role::Staff),
            ("pm@example.com", Role::ProductManager),
            ("admin@example.com", Role::Admin),
        ] {
            user(&ctx, email, role).await;
        }
        let mut wrong = Vec::new();
        for (page, _) in pages {
            let res = server.get(page).await;
            let to_login = res.status_code() == 303
                && res.headers()["location"]
                    .to_str()
                    .unwrap()
                    .starts_with("/login");
            if !to_login {
                wrong.push(format!("{page} signed out: {}", res.status_code()));
            }
        }
        for (email, role) in [
            ("customer@example.com", Role::Customer),
            ("staff@example.com", Role::Staff),
            ("pm@example.com", Role::ProductManager),
            ("admin@example.com", Role::Admin),
        ] {
            sign_in(&server, email).await;
            for (page, allowed) in pages {
                let status = server.get(page).await.status_code().as_u16();
                let expected = if allowed.contains(&role) { 200 } else { 403 };
                if status != expected {
                    wrong.push(format!("{page} as {role:?}: {status}, expected {expected}"));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    })
    .await;
}

/// Security headers on every kind of answer (page, error page, JSON, API error, static file),
/// the session cookie's flags, and error bodies that give nothing away.
#[tokio::test]
#[parallel]
async fn every_answer_carries_the_security_headers_and_the_session_cookie_its_flags() {
    with_app(|server, ctx| async move {
        user(&ctx, "admin@example.com", Role::Admin).await;
        for path in [
            "/",
            "/no/such/page",
            "/api/v1/products",
            "/api/v1/orders/not-an-id",
            "/static/js/htmx.min.js",
            "/api/docs",
        ] {
            let res = server.get(path).await;
            let h = res.headers();
            let header = |name: &str| {
                h.get(name)
                    .unwrap_or_else(|| panic!("{path}: no {name}"))
                    .to_str()
                    .unwrap()
                    .to_string()
            };
            assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
            assert_eq!(header("referrer-policy"), "strict-origin-when-cross-origin");
            assert_eq!(header("x-frame-options"), "DENY");
            assert_eq!(header("cross-origin-opener-policy"), "same-origin");
            assert!(header("permissions-policy").contains("camera=()"));
            let csp = header("content-security-policy");
            assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
            assert!(
                csp.contains("object-src 'none'") || path == "/api/docs",
                "{path}: {csp}"
            );
            // Only Swagger UI's own stylesheet needs inline styles; scripts never run inline.
            assert_eq!(
                csp.contains("unsafe-inline"),
                path == "/api/docs",
                "{path}: {csp}"
            );
            assert!(!csp.contains("script-src 'self' 'unsafe-inline'"));
            assert!(
                h.get("strict-transport-security").is_none(),
                "plain http in tests"
            );
        }
        // A fresh client: its first page gives it the visitor's CSRF cookie (no session yet);
        // signing in starts its session. Neither cookie is readable by scripts.
        let fresh = server.get("/login").clear_cookies().await;
        let cookie = fresh.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.starts_with("emporium_csrf="), "{cookie}");
        let login = post_login(&server, "admin@example.com", None).await;
        let session = login
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("emporium_session="))
            .expect("the login starts a session")
            .to_string();
        for cookie in [cookie, session] {
            assert!(cookie.contains("HttpOnly"), "{cookie}");
            assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        }
        // Errors say what went wrong for the client, never how the server is built.
        let body = server
            .post("/api/v1/auth/login")
            .content_type("application/json")
            .bytes("{not json".into())
            .await;
        let text = body.text();
        assert_error(&body, 400, "bad_request");
        for leak in ["src/", ".rs:", "panicked", "sqlx", "sea_orm", "stack"] {
            assert!(!text.contains(leak), "{text}");
        }
    })
    .await;
}
