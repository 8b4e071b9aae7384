//! API keys: issued by admins with scopes, shown once and stored hashed, acting only within
//! their scopes, revocable at once.
use emporium::models::_entities::api_keys;
use loco_rs::testing::prelude::*;
use sea_orm::EntityTrait;
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{orders::*, *};

async fn key(server: &loco_rs::TestServer, shop: &Shop, scopes: &[&str]) -> (String, String) {
    let res = post(
        server,
        &shop.admin,
        "/api/v1/admin/api-keys",
        json!({"name": "Sync", "scopes": scopes}),
    )
    .await;
    assert_eq!(res.status_code(), 201, "{}", res.text());
    let body: Value = res.json();
    (
        body["secret"].as_str().unwrap().to_string(),
        body["id"].as_str().unwrap().to_string(),
    )
}

fn with_key(req: axum_test::TestRequest, secret: &str) -> axum_test::TestRequest {
    req.add_header("authorization", format!("Bearer {secret}"))
}

#[tokio::test]
#[parallel]
async fn a_key_acts_only_within_its_scopes_and_stops_when_revoked() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        assert_error(
            &post(
                &server,
                &shop.pm,
                "/api/v1/admin/api-keys",
                json!({"name": "x", "scopes": ["orders:read"]}),
            )
            .await,
            403,
            "forbidden",
        );
        assert_error(
            &post(
                &server,
                &shop.admin,
                "/api/v1/admin/api-keys",
                json!({"name": "", "scopes": ["everything"]}),
            )
            .await,
            422,
            "validation_failed",
        );

        // catalogue:write — may create products (and read them), nothing else.
        let (cat, cat_id) = key(&server, &shop, &["catalogue:write"]).await;
        assert!(cat.starts_with("emp_"));
        let stored = api_keys::Entity::find().all(&ctx.db).await.unwrap();
        assert!(
            stored
                .iter()
                .all(|k| !cat.contains(&k.secret_hash) && k.secret_hash.len() == 64),
            "stored hashed"
        );
        let made = with_key(server.post("/api/v1/products"), &cat)
            .json(&json!({"sku": "KEY-1", "name": "Made by a key", "price_cents": 100, "stock": 1}))
            .await;
        assert_eq!(made.status_code(), 201, "{}", made.text());
        assert_error(
            &with_key(server.get("/api/v1/orders"), &cat).await,
            403,
            "forbidden",
        );
        assert_error(
            &with_key(server.get("/api/v1/admin/stock-ledger"), &cat).await,
            403,
            "forbidden",
        );
        assert_error(
            &with_key(server.get("/api/v1/admin/users"), &cat).await,
            403,
            "forbidden",
        );
        assert_error(
            &with_key(server.get("/api/v1/admin/api-keys"), &cat).await,
            403,
            "forbidden",
        );
        assert_error(
            &with_key(server.get("/api/v1/me"), &cat).await,
            403,
            "forbidden",
        );

        // orders:read reads orders but cannot move them; inventory reads the ledger.
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("MUG-2"), 1).await;
        let order: Value = checkout(&server, &ann).await.json();
        let (reader, _) = key(&server, &shop, &["orders:read"]).await;
        let list = with_key(server.get("/api/v1/orders"), &reader).await;
        list.assert_status_ok();
        assert_eq!(list.json::<Value>()["count"], 1);
        let ship = with_key(
            server.post(&format!(
                "/api/v1/orders/{}/mark-paid",
                order["id"].as_str().unwrap()
            )),
            &reader,
        )
        .json(&json!({}))
        .await;
        assert_error(&ship, 403, "forbidden");
        assert_error(
            &with_key(server.post("/api/v1/products"), &reader)
                .json(&json!({"sku": "X", "name": "X", "price_cents": 1}))
                .await,
            403,
            "forbidden",
        );
        let (inv, _) = key(&server, &shop, &["inventory"]).await;
        with_key(server.get("/api/v1/admin/stock-ledger"), &inv)
            .await
            .assert_status_ok();
        let adjusted = with_key(server.post("/api/v1/admin/stock-adjustments"), &inv)
            .json(&json!({"product_id": shop.id("MUG-2"), "delta": 5, "reason": "delivery"}))
            .await;
        assert_eq!(adjusted.status_code(), 201, "{}", adjusted.text());
        assert!(
            adjusted.json::<Value>()["actor"]
                .as_str()
                .unwrap()
                .contains("admin@example.com"),
            "acts as its admin"
        );

        // Last use is shown; a wrong secret or a revoked key is refused.
        let listed: Value = get(&server, &shop.admin, "/api/v1/admin/api-keys")
            .await
            .json();
        assert!(listed["count"].as_u64().unwrap() >= 1 && listed["page"] == 1);
        let cat_row = listed["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == cat_id.as_str())
            .unwrap();
        assert!(cat_row["last_used_at"].is_string());
        assert!(cat_row.get("secret").is_none(), "never shown again");
        let forged = format!("{}x", &cat[..cat.len() - 1]);
        assert_error(
            &with_key(server.post("/api/v1/products"), &forged)
                .json(&json!({}))
                .await,
            401,
            "unauthorized",
        );
        let revoked = server
            .delete(&format!("/api/v1/admin/api-keys/{cat_id}"))
            .add_header(shop.admin.0.clone(), shop.admin.1.clone())
            .await;
        assert_eq!(revoked.status_code(), 204);
        let after = with_key(server.post("/api/v1/products"), &cat)
            .json(&json!({"sku": "KEY-2", "name": "Too late", "price_cents": 100}))
            .await;
        assert_error(&after, 401, "unauthorized");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn admins_issue_and_revoke_keys_from_the_admin_page() {
    with_app(|server, ctx| async move {
        shop(&server, &ctx).await;
        let csrf = sign_in(&server, "admin@example.com").await;
        let bad = server
            .post("/admin/api-keys")
            .form(&[("csrf_token", csrf.as_str()), ("name", "Feed")])
            .await;
        assert_eq!(bad.status_code(), 422);
        assert!(bad.text().contains("Choose at least one scope."));
        let res = server
            .post("/admin/api-keys")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "Feed"),
                ("scopes", "catalogue:read"),
                ("scopes", "orders:read"),
            ])
            .await;
        assert_eq!(res.status_code(), 201);
        let html = res.text();
        let secret = select(&html, "#key-secret")[0]
            .split('>')
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_string();
        assert!(secret.starts_with("emp_"));
        with_key(server.get("/api/v1/orders"), &secret)
            .await
            .assert_status_ok();
        assert!(
            !server.get("/admin/api-keys").await.text().contains(&secret),
            "shown once"
        );
        let id = html.split("/admin/api-keys/").nth(1).unwrap()[..36].to_string();
        let res = server
            .post(&format!("/admin/api-keys/{id}/revoke"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(res.status_code(), 303);
        assert_error(
            &with_key(server.get("/api/v1/orders"), &secret).await,
            401,
            "unauthorized",
        );
        sign_in(&server, "staff@example.com").await;
        assert_eq!(server.get("/admin/api-keys").await.status_code(), 403);
    })
    .await;
}
