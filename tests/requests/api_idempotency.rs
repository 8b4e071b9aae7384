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
