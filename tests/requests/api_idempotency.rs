//! Idempotency across crashes (issue 18): a claim left by an attempt that died is taken over
//! by the retry, which runs the request again when nothing had committed and answers what was
//! produced when something had; never "still being processed".
use emporium::models::{
    _entities::{idempotency_keys, orders},
    db::write_txn,
    idempotency,
};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{orders::*, *};

/// Leaves the claim of `key` as a process killed while running it leaves it: in progress, no
/// stored answer, its lease run out. `committed` keeps what its transactions stamped.
async fn as_if_killed(ctx: &loco_rs::app::AppContext, key: &str, committed: bool) {
    let mut update = idempotency_keys::Entity::update_many()
        .col_expr(idempotency_keys::Column::State, Expr::value("in_progress"))
        .col_expr(
            idempotency_keys::Column::ResponseStatus,
            Expr::value(Option::<i32>::None),
        )
        .col_expr(
            idempotency_keys::Column::ResponseBody,
            Expr::value(Option::<Vec<u8>>::None),
        )
        .col_expr(
            idempotency_keys::Column::LockedUntil,
            Expr::value((chrono::Utc::now() - chrono::Duration::seconds(1)).fixed_offset()),
        );
    if !committed {
        update = update
            .col_expr(
                idempotency_keys::Column::EffectAt,
                Expr::value(Option::<chrono::DateTime<chrono::FixedOffset>>::None),
            )
            .col_expr(
                idempotency_keys::Column::Outcome,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                idempotency_keys::Column::OutcomeBody,
                Expr::value(Option::<Vec<u8>>::None),
            );
    }
    let res = update
        .filter(idempotency_keys::Column::Key.eq(key))
        .exec(&ctx.db)
        .await
        .unwrap();
    assert_eq!(res.rows_affected, 1);
}

async fn in_progress(ctx: &loco_rs::app::AppContext) -> u64 {
    idempotency_keys::Entity::find()
        .filter(idempotency_keys::Column::State.eq("in_progress"))
        .count(&ctx.db)
        .await
        .unwrap()
}

fn keyed(
    server: &loco_rs::TestServer,
    auth: &Auth,
    path: &str,
    key: &str,
    body: &Value,
) -> axum_test::TestRequest {
    server
        .post(path)
        .add_header(auth.0.clone(), auth.1.clone())
        .add_header("idempotency-key", key)
        .json(body)
}

#[tokio::test]
#[parallel]
async fn a_checkout_whose_answer_was_lost_in_a_crash_is_answered_not_placed_again() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("LMP-1"), 2)
            .await
            .assert_status(axum::http::StatusCode::CREATED);
        let body = json!({"shipping_address": address("DE")});
        let first = keyed(&server, &ann, "/api/v1/checkout", "order-1", &body).await;
        assert_eq!(first.status_code(), 201, "{}", first.text());
        let placed: Value = first.json();

        // The order committed, then the process died before the answer was stored.
        as_if_killed(&ctx, "order-1", true).await;
        let retry = keyed(&server, &ann, "/api/v1/checkout", "order-1", &body).await;
        assert_eq!(retry.status_code(), 201, "{}", retry.text());
        assert_eq!(
            retry.headers()["idempotent-replayed"],
            "true",
            "not run again"
        );
        let answered: Value = retry.json();
        assert_eq!(
            answered["id"], placed["id"],
            "the order the first attempt placed"
        );
        assert_eq!(answered["total_cents"], placed["total_cents"]);
        assert_eq!(
            orders::Entity::find().count(&ctx.db).await.unwrap(),
            1,
            "placed once"
        );
        assert_eq!(in_progress(&ctx).await, 0);
        let product = product(&server, shop.id("LMP-1")).await;
        assert_eq!(product["available"], 10, "reserved once: {product}");

        // Later repeats replay the stored answer.
        let again = keyed(&server, &ann, "/api/v1/checkout", "order-1", &body).await;
        assert_eq!(again.status_code(), 201);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.json::<Value>()["id"], placed["id"]);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_request_killed_before_it_committed_runs_once_on_retry() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        let body = json!({"product_id": shop.id("LMP-1"), "quantity": 3});
        let first = keyed(&server, &ann, "/api/v1/cart/items", "add-1", &body).await;
        assert_eq!(first.status_code(), 201, "{}", first.text());
        // Made into what a kill before the add's transaction committed leaves: nothing of it
        // in the cart, and a claim without a stamp.
        let cart: Value = get(&server, &ann, "/api/v1/cart").await.json();
        let line = cart["items"][0]["id"].as_str().unwrap().to_string();
        server
            .delete(&format!("/api/v1/cart/items/{line}"))
            .add_header(ann.0.clone(), ann.1.clone())
            .await
            .assert_status_ok();
        as_if_killed(&ctx, "add-1", false).await;

        let retry = keyed(&server, &ann, "/api/v1/cart/items", "add-1", &body).await;
        assert_eq!(retry.status_code(), 201, "{}", retry.text());
        assert!(
            retry.headers().get("idempotent-replayed").is_none(),
            "it ran"
        );
        let cart: Value = get(&server, &ann, "/api/v1/cart").await.json();
        assert_eq!(cart["items"].as_array().unwrap().len(), 1);
        assert_eq!(cart["items"][0]["quantity"], 3, "added once: {cart}");
        assert_eq!(in_progress(&ctx).await, 0);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn an_add_to_cart_whose_answer_was_lost_is_not_added_twice() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        let body = json!({"product_id": shop.id("MUG-2"), "quantity": 2});
        let first = keyed(&server, &ann, "/api/v1/cart/items", "add-2", &body).await;
        assert_eq!(first.status_code(), 201, "{}", first.text());
        as_if_killed(&ctx, "add-2", true).await;
        let retry = keyed(&server, &ann, "/api/v1/cart/items", "add-2", &body).await;
        assert_eq!(retry.status_code(), 201, "{}", retry.text());
        assert_eq!(
            retry.json::<Value>()["items"][0]["quantity"],
            2,
            "{}",
            retry.text()
        );
        let cart: Value = get(&server, &ann, "/api/v1/cart").await.json();
        assert_eq!(cart["items"][0]["quantity"], 2, "added once: {cart}");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn an_order_step_whose_answer_was_lost_is_answered_with_the_order() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("LMP-1"), 1).await;
        let order: Value = checkout(&server, &ann).await.json();
        let path = format!("/api/v1/orders/{}/cancel", order["id"].as_str().unwrap());
        let first = keyed(&server, &ann, &path, "cancel-1", &json!({})).await;
        assert_eq!(first.status_code(), 200, "{}", first.text());
        as_if_killed(&ctx, "cancel-1", true).await;
        // Run again, the cancel would be refused (the order is no longer pending).
        let retry = keyed(&server, &ann, &path, "cancel-1", &json!({})).await;
        assert_eq!(retry.status_code(), 200, "{}", retry.text());
        assert_eq!(retry.json::<Value>()["status"], "cancelled");
        assert_eq!(retry.json::<Value>()["id"], order["id"]);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn an_attempt_whose_claim_was_taken_over_cannot_commit() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        let body = json!({"product_id": shop.id("LMP-1"), "quantity": 1});
        keyed(&server, &ann, "/api/v1/cart/items", "fence-1", &body).await;
        let row = idempotency_keys::Entity::find()
            .filter(idempotency_keys::Column::Key.eq("fence-1"))
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        // The attempt that ran holds the claim: its transactions may write.
        let holder = idempotency::Attempt {
            id: row.id,
            token: row.attempt.parse().unwrap(),
        };
        let txn = idempotency::scope(holder, write_txn(&ctx.db))
            .await
            .unwrap();
        txn.rollback().await.unwrap();
        // A slow attempt whose lease ran out and whose claim a retry took: refused at BEGIN.
        let zombie = idempotency::Attempt {
            id: row.id,
            token: uuid::Uuid::new_v4(),
        };
        let refused = idempotency::scope(zombie, write_txn(&ctx.db)).await;
        assert!(refused.is_err(), "a superseded attempt must not commit");
    })
    .await;
}

/// POSTs whose answers are not kept for a repeat, and why.
const NOT_KEPT: [&str; 4] = [
    // Their answers are credentials: never stored, never replayed.
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    // It ends the session a repeat would identify itself with: the repeat is a stranger (401).
    "/api/v1/auth/logout",
    // Stripe sends no key; its events are made idempotent by their ids (`api_stripe`).
    "/api/v1/webhooks/stripe",
];

/// A body sent with the key, the same bytes each time (the key is bound to them).
enum Sent {
    Json(Value),
    Image,
}

/// How the repeat after the crash must answer.
enum Expect {
    /// As the first answer did, to the byte.
    Same,
    /// With the same status and these fields equal (the rest shows later progress: a delivery
    /// sent, renditions made).
    SameFields(&'static [&'static str]),
    /// Run again (nothing of it was written in a stamped transaction: it finds and reuses what
    /// the first run made), with the same answer.
    RunAgain,
    /// Told that it was carried out: the secret it showed is not kept.
    SecretShownOnce,
}

struct Crashes<'a> {
    server: &'a loco_rs::TestServer,
    ctx: &'a loco_rs::app::AppContext,
    tried: std::collections::BTreeSet<&'static str>,
}

impl Crashes<'_> {
    /// Sends `body` to `path` (the route `route`) with a new key; makes the claim what a kill
    /// right after the effect's commit leaves; repeats the request and checks the repeat is
    /// answered as `expect`s, without running it again. The first answer's JSON.
    async fn post(
        &mut self,
        route: &'static str,
        path: &str,
        auth: Option<&Auth>,
        body: Sent,
        expect: Expect,
    ) -> Value {
        self.tried.insert(route);
        let key = format!("crash-{}", uuid::Uuid::new_v4());
        let send = || {
            let mut req = self.server.post(path).add_header("idempotency-key", &key);
            if let Some((name, value)) = auth {
                req = req.add_header(name.clone(), value.clone());
            }
            match &body {
                Sent::Json(v) => req.json(v),
                Sent::Image => {
                    let boundary = "crash-test-boundary";
                    let mut bytes = format!(
                        "--{boundary}\r\nContent-Disposition: form-data; name=\"alt\"\r\n\r\nA crate\
                         \r\n--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; \
                         filename=\"crate.png\"\r\nContent-Type: image/png\r\n\r\n"
                    )
                    .into_bytes();
                    bytes.extend(png(64, 48));
                    bytes.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
                    req.content_type(&format!("multipart/form-data; boundary={boundary}"))
                        .bytes(bytes.into())
                }
            }
        };
        let first = send().await;
        assert!(first.status_code().is_success(), "{path}: {}", first.text());
        let claim = idempotency_keys::Entity::find()
            .filter(idempotency_keys::Column::Key.eq(&key))
            .one(&self.ctx.db)
            .await
            .unwrap()
            .unwrap();
        if !matches!(expect, Expect::RunAgain) {
            assert!(
                claim.effect_at.is_some() && claim.outcome.is_some(),
                "{path} must name what it produced in the transaction of its effect"
            );
        }

        as_if_killed(self.ctx, &key, true).await;
        let retry = send().await;
        let replayed = retry.headers().get("idempotent-replayed").is_some();
        match expect {
            Expect::SecretShownOnce => {
                assert_eq!(first.status_code(), 201);
                let told = assert_error(&retry, 409, "conflict");
                assert!(
                    told["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("shown only"),
                    "{told}"
                );
            }
            Expect::RunAgain | Expect::Same | Expect::SameFields(_) => {
                assert_eq!(
                    retry.status_code(),
                    first.status_code(),
                    "{path}: {}",
                    retry.text()
                );
                let runs = matches!(expect, Expect::RunAgain);
                assert_eq!(replayed, !runs, "{path}: answered, or run again by design");
                if let Expect::SameFields(fields) = expect {
                    let (a, b) = (first.json::<Value>(), retry.json::<Value>());
                    for f in fields {
                        assert_eq!(a[f], b[f], "{path}: {f}");
                    }
                } else {
                    assert_eq!(retry.text(), first.text(), "{path}");
                }
            }
        }
        assert_eq!(in_progress(self.ctx).await, 0, "{path}");
        if first.text().is_empty() {
            Value::Null
        } else {
            first.json()
        }
    }
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
#[parallel]
async fn every_post_of_the_api_answers_a_repeat_after_a_crash_as_it_first_answered() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        let bob = customer(&server, &ctx, "bob@example.com").await;
        let mut c = Crashes {
            server: &server,
            ctx: &ctx,
            tried: std::collections::BTreeSet::new(),
        };
        use Expect::*;
        let j = Sent::Json;

        // Accounts.
        let reg = "reg@example.com";
        c.post("/api/v1/auth/register", "/api/v1/auth/register", None,
            j(json!({"email": reg, "password": PASSWORD, "first_name": "Reg", "last_name": "Lar"})), Same).await;
        let token = token_from_mail(&ctx, reg, "verify_email").await;
        c.post("/api/v1/auth/verify", "/api/v1/auth/verify", None, j(json!({"token": token})), Same).await;
        c.post("/api/v1/auth/forgot", "/api/v1/auth/forgot", None, j(json!({"email": reg})), RunAgain).await;
        let token = token_from_mail(&ctx, reg, "password_reset").await;
        c.post("/api/v1/auth/reset", "/api/v1/auth/reset", None,
            j(json!({"token": token, "password": "a brand new secret"})), Same).await;
        let moved = bearer(login(&server, reg, "a brand new secret").await["access"].as_str().unwrap());
        c.post("/api/v1/me/email", "/api/v1/me/email", Some(&moved),
            j(json!({"new_email": "reg.moved@example.com", "password": "a brand new secret"})), RunAgain).await;
        let token = token_from_mail(&ctx, "reg.moved@example.com", "email_change").await;
        c.post("/api/v1/auth/email/confirm", "/api/v1/auth/email/confirm", Some(&moved), j(json!({"token": token})), Same).await;
        c.post("/api/v1/me/password", "/api/v1/me/password", Some(&bob),
            j(json!({"current_password": PASSWORD, "new_password": "another fine secret"})), Same).await;
        c.post("/api/v1/me/sessions/revoke", "/api/v1/me/sessions/revoke", Some(&bob), j(json!({})), Same).await;

        c.post(
            "/api/v1/me/addresses",
            "/api/v1/me/addresses",
            Some(&bob),
            j(json!({"line1": "1 Fjord Road", "city": "Bergen", "postal_code": "5003", "country": "NO"})),
            Same,
        )
        .await;

        // Back office.
        let admin = &shop.admin;
        let hire = c.post("/api/v1/admin/users", "/api/v1/admin/users", Some(admin),
            j(json!({"email": "hire@example.com", "password": PASSWORD, "first_name": "New", "last_name": "Hire", "role": "staff"})),
            Same).await;
        c.post("/api/v1/admin/users/{id}/password-reset",
            &format!("/api/v1/admin/users/{}/password-reset", id_of(&hire)), Some(admin), j(json!({})), Same).await;
        c.post("/api/v1/admin/api-keys", "/api/v1/admin/api-keys", Some(admin),
            j(json!({"name": "Sync", "scopes": ["orders:read"]})), SecretShownOnce).await;
        let hook = c.post("/api/v1/admin/webhooks", "/api/v1/admin/webhooks", Some(admin),
            j(json!({"url": "http://127.0.0.1:9/hook", "events": ["product.changed"]})), SecretShownOnce).await;
        let hook = id_of(&hook);
        server
            .patch(&format!("/api/v1/products/{}", shop.id("MUG-2")))
            .add_header(shop.pm.0.clone(), shop.pm.1.clone())
            .json(&json!({"price_cents": 1300}))
            .await
            .assert_status_ok();
        let sent: Value = get(&server, admin, &format!("/api/v1/admin/webhooks/{hook}/deliveries")).await.json();
        let delivery = id_of(&sent["results"][0]);
        c.post("/api/v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            &format!("/api/v1/admin/webhooks/{hook}/deliveries/{delivery}/redeliver"), Some(admin),
            j(json!({})), SameFields(&["id", "event_id", "event"])).await;
        c.post("/api/v1/admin/promo-codes", "/api/v1/admin/promo-codes", Some(&shop.pm),
            j(json!({"code": "CRASH10", "kind": "percent", "value": 1000})), Same).await;
        let po = c.post("/api/v1/admin/purchase-orders", "/api/v1/admin/purchase-orders", Some(&shop.staff),
            j(json!({"supplier": "Acme", "lines": [{"product_id": shop.id("KTL-1"), "quantity": 5, "unit_cost_cents": 900}]})),
            Same).await;
        c.post("/api/v1/admin/purchase-orders/{id}/receive",
            &format!("/api/v1/admin/purchase-orders/{}/receive", id_of(&po)), Some(&shop.staff), j(json!({})), Same).await;
        let mistake = c.post("/api/v1/admin/purchase-orders", "/api/v1/admin/purchase-orders", Some(&shop.staff),
            j(json!({"supplier": "Oops", "lines": [{"product_id": shop.id("KTL-1"), "quantity": 1, "unit_cost_cents": 900}]})),
            Same).await;
        c.post("/api/v1/admin/purchase-orders/{id}/cancel",
            &format!("/api/v1/admin/purchase-orders/{}/cancel", id_of(&mistake)), Some(&shop.staff), j(json!({})), Same).await;
        c.post("/api/v1/admin/stock-adjustments", "/api/v1/admin/stock-adjustments", Some(admin),
            j(json!({"product_id": shop.id("KTL-1"), "delta": 2, "reason": "found"})), Same).await;
        c.post("/api/v1/admin/tax-rates", "/api/v1/admin/tax-rates", Some(admin),
            j(json!({"country": "AT", "rate_bp": 2000, "name": "USt"})), Same).await;

        // Catalogue.
        let pm = &shop.pm;
        c.post("/api/v1/brands", "/api/v1/brands", Some(pm), j(json!({"name": "Crashproof"})), Same).await;
        c.post("/api/v1/categories", "/api/v1/categories", Some(pm), j(json!({"name": "Shelters"})), Same).await;
        let tee = c.post("/api/v1/products", "/api/v1/products", Some(pm), j(json!({
            "name": "Trail Tee", "sku": "TEE",
            "options": [{"name": "Size", "values": ["S", "M"]}],
            "variants": [{"sku": "TEE-S", "options": {"Size": "S"}, "price_cents": 2000, "stock": 2}]
        })), Same).await;
        let tee = id_of(&tee);
        c.post("/api/v1/products/{id}/variants", &format!("/api/v1/products/{tee}/variants"), Some(pm),
            j(json!({"sku": "TEE-M", "options": {"Size": "M"}, "price_cents": 2100, "stock": 1})), Same).await;
        c.post("/api/v1/products/{id}/images", &format!("/api/v1/products/{tee}/images"), Some(pm),
            Sent::Image, SameFields(&["id", "alt", "width", "height"])).await;

        // Shopping.
        c.post("/api/v1/wishlist", "/api/v1/wishlist", Some(&ann), j(json!({"product_id": shop.id("MUG-2")})), Same).await;
        c.post("/api/v1/cart/items", "/api/v1/cart/items", Some(&ann),
            j(json!({"product_id": shop.id("LMP-1"), "quantity": 2})), Same).await;
        c.post("/api/v1/cart/coupon", "/api/v1/cart/coupon", Some(&ann), j(json!({"code": "CRASH10"})), Same).await;
        let order = c.post("/api/v1/checkout", "/api/v1/checkout", Some(&ann),
            j(json!({"shipping_address": address("DE")})), Same).await;
        let order = id_of(&order);
        c.post("/api/v1/orders/{id}/pay", &format!("/api/v1/orders/{order}/pay"), Some(&ann), j(json!({})), RunAgain).await;
        for (route, step) in [
            ("/api/v1/orders/{id}/mark-paid", "mark-paid"),
            ("/api/v1/orders/{id}/ship", "ship"),
            ("/api/v1/orders/{id}/complete", "complete"),
        ] {
            let body = if step == "ship" { json!({"carrier": "DHL", "tracking_number": "JJD1"}) } else { json!({}) };
            c.post(route, &format!("/api/v1/orders/{order}/{step}"), Some(admin), j(body), Same).await;
        }
        c.post("/api/v1/products/{id}/reviews", &format!("/api/v1/products/{}/reviews", shop.id("LMP-1")), Some(&ann),
            j(json!({"rating": 5, "comment": "Sturdy."})), Same).await;
        add(&server, &ann, shop.id("MUG-2"), 1).await.assert_status(axum::http::StatusCode::CREATED);
        let paid = id_of(&checkout(&server, &ann).await.json());
        post(&server, admin, &format!("/api/v1/orders/{paid}/mark-paid"), json!({})).await.assert_status_ok();
        c.post("/api/v1/orders/{id}/refund", &format!("/api/v1/orders/{paid}/refund"), Some(admin),
            j(json!({})), Same).await;
        add(&server, &ann, shop.id("MUG-2"), 1).await.assert_status(axum::http::StatusCode::CREATED);
        let pending = id_of(&checkout(&server, &ann).await.json());
        c.post("/api/v1/orders/{id}/cancel", &format!("/api/v1/orders/{pending}/cancel"), Some(&ann),
            j(json!({})), Same).await;
        // A guest's checkout shows its order's token once: a repeat is told it was carried out.
        let cart = server.post("/api/v1/cart/items").json(&json!({"product_id": shop.id("MUG-2"), "quantity": 1})).await;
        let guest = (axum::http::HeaderName::from_static("x-cart-token"), cart.headers()["x-cart-token"].clone());
        let mut body = json!({"email": "gus@example.com", "shipping_address": address("DE")});
        body["shipping_address"]["name"] = json!("Gus Guest");
        c.post("/api/v1/checkout", "/api/v1/checkout", Some(&guest), j(body), SecretShownOnce).await;

        // Shipping, last: once a zone exists, orders go only where zones say.
        let zone = c.post("/api/v1/admin/shipping-zones", "/api/v1/admin/shipping-zones", Some(admin),
            j(json!({"name": "Nordics", "countries": ["NO", "SE"]})), Same).await;
        c.post("/api/v1/admin/shipping-methods", "/api/v1/admin/shipping-methods", Some(admin),
            j(json!({"zone_id": id_of(&zone), "name": "Standard", "price_cents": 900})), Same).await;

        // Every POST of the document was tried, or is known not to keep its answer.
        let doc: Value = server.get("/api/v1/openapi.json").await.json();
        let posts: std::collections::BTreeSet<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, ops)| ops.get("post").is_some())
            .map(|(p, _)| p.as_str())
            .filter(|p| !NOT_KEPT.contains(p))
            .collect();
        let tried: std::collections::BTreeSet<&str> = c.tried.iter().copied().collect();
        assert_eq!(tried, posts, "a POST without a crash case here");
    })
    .await;
}
