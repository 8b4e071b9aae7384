//! Long requests behave (issue 21): a request past its deadline is dropped, rolled back and
//! answered 503 (API.md's body, or the error page), and the process serves the next one.
use std::time::{Duration, Instant};

use emporium::models::db::write_txn;
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{orders::shop, *};

#[tokio::test]
#[parallel]
async fn a_request_stuck_behind_a_lock_gets_a_503_at_its_deadline_and_writes_nothing() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let kettle = shop.id("KTL-1").to_string();
        let before: Value = server
            .get(&format!("/api/v1/products/{kettle}"))
            .await
            .json();
        set_settings(&ctx, |s| s.request_timeout_secs = 1);
        let admin_page = browser(&ctx);
        let csrf = sign_in(&admin_page, "pm@example.com").await;

        // Someone holds the product's rows (on SQLite: the write lock) for longer than that.
        let held = write_txn(&ctx.db).await.unwrap();
        for sql in [
            "UPDATE products SET featured = featured WHERE sku = 'KTL-1'",
            "UPDATE variants SET low_stock_threshold = low_stock_threshold WHERE sku = 'KTL-1'",
        ] {
            held.execute_unprepared(sql).await.unwrap();
        }
        let started = Instant::now();
        let res = server
            .patch(&format!("/api/v1/products/{kettle}"))
            .add_header(shop.pm.0.clone(), shop.pm.1.clone())
            .json(&json!({"price_cents": 1}))
            .await;
        let waited = started.elapsed();
        assert_error(&res, 503, "unavailable");
        assert!(res.headers().contains_key("retry-after"));
        assert!(
            waited >= Duration::from_secs(1) && waited < Duration::from_secs(4),
            "answered at the deadline: {waited:?}"
        );
        let page = admin_page
            .post(&format!("/admin/products/{kettle}/active"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("active", "false"),
                ("back", "/admin/products"),
            ])
            .await;
        assert_eq!(page.status_code(), 503);
        assert!(page.text().contains("took too long"), "the error page");
        held.rollback().await.unwrap();

        // Nothing of either request was written; the next request is served as usual.
        let after: Value = server
            .get(&format!("/api/v1/products/{kettle}"))
            .await
            .json();
        assert_eq!(after["price_cents"], before["price_cents"]);
        assert_eq!(after["active"], true);
        let res = server
            .patch(&format!("/api/v1/products/{kettle}"))
            .add_header(shop.pm.0.clone(), shop.pm.1.clone())
            .json(&json!({"price_cents": 1}))
            .await;
        assert_eq!(res.status_code(), 200, "{}", res.text());
    })
    .await;
}
