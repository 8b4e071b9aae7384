//! Payments through the built-in test provider (the embedded default): `/orders/{id}/pay`,
//! the test checkout page, `/transactions`, refunds, replayed and racing events, late
//! payments. Every money movement must be exactly one transaction row.
use emporium::{
    domain::payment::PaymentEvent,
    models::{
        _entities::{notifications, transactions},
        payments::{self, Handled},
    },
};
use futures::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{orders::*, *};

/// A pending order of Ann's for two kettles, and its checkout session.
async fn pending_order(
    server: &loco_rs::TestServer,
    ctx: &loco_rs::app::AppContext,
    shop: &Shop,
) -> (Auth, Value, Value) {
    let ann = customer(server, ctx, "ann@example.com").await;
    add(server, &ann, shop.id("KTL-1"), 2).await;
    let order: Value = checkout(server, &ann).await.json();
    let res = post(
        server,
        &ann,
        &format!("/api/v1/orders/{}/pay", order["id"].as_str().unwrap()),
        json!({}),
    )
    .await;
    assert_eq!(res.status_code(), 200, "{}", res.text());
    (ann, order, res.json())
}

async fn rows(ctx: &loco_rs::app::AppContext) -> Vec<transactions::Model> {
    transactions::Entity::find().all(&ctx.db).await.unwrap()
}

#[tokio::test]
#[parallel]
async fn paying_through_the_test_provider_records_one_payment_and_the_order_is_paid() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let (ann, order, session) = pending_order(&server, &ctx, &shop).await;
        let id = order["id"].as_str().unwrap();
        let url = session["checkout_url"].as_str().unwrap();
        assert!(url.contains("/pay/test/test_cs_"), "{url}");
        // Asking again offers the same open session, not a second one.
        let again: Value = post(
            &server,
            &ann,
            &format!("/api/v1/orders/{id}/pay"),
            json!({}),
        )
        .await
        .json();
        assert_eq!(again["session_id"], session["session_id"]);
        let bob = customer(&server, &ctx, "bob@example.com").await;
        assert_error(
            &post(
                &server,
                &bob,
                &format!("/api/v1/orders/{id}/pay"),
                json!({}),
            )
            .await,
            404,
            "not_found",
        );
        let list: Value = get(&server, &ann, "/api/v1/transactions").await.json();
        assert_eq!(list["count"], 1);
        assert_eq!(
            (
                list["results"][0]["status"].as_str(),
                list["results"][0]["kind"].as_str()
            ),
            (Some("pending"), Some("payment"))
        );
        assert_eq!(list["results"][0]["amount_cents"], order["total_cents"]);

        // The test checkout page: the amount is the order's, and "Pay" pays.
        let path = url
            .split_once("/pay/test/")
            .map(|(_, s)| format!("/pay/test/{s}"))
            .unwrap();
        let page = server.get(&path).await.text();
        assert!(page.contains("€90.00"), "{page}");
        let csrf = csrf_from(&page);
        let res = server
            .post(&format!("{path}/pay"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(res.status_code(), 303);
        assert_eq!(res.headers()["location"], format!("/orders/{id}").as_str());
        let paid: Value = get(&server, &ann, &format!("/api/v1/orders/{id}"))
            .await
            .json();
        assert_eq!(paid["status"], "paid");
        assert_eq!(paid["invoice_number"], 1);
        assert!(paid["timeline"][1]["actor"]
            .as_str()
            .unwrap()
            .contains("test payment"));
        let list: Value = get(&server, &ann, "/api/v1/transactions").await.json();
        assert_eq!(list["count"], 1, "the session's row moved; no second row");
        assert_eq!(list["results"][0]["status"], "succeeded");
        assert!(mails_to(&ctx, "ann@example.com")
            .await
            .iter()
            .any(|m| m.kind == "order_paid"));
        let kettle = product(&server, shop.id("KTL-1")).await;
        assert_eq!(
            (kettle["stock"].as_i64(), kettle["available"].as_i64()),
            (Some(2), Some(2))
        );
        assert_ledger_explains(&ctx, kettle["variants"][0]["id"].as_str().unwrap()).await;

        // Pressing Pay again on the closed session records nothing more.
        let res = server
            .post(&format!("{path}/pay"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(res.status_code(), 303);
        assert_eq!(rows(&ctx).await.len(), 1);
        // A paid order cannot be paid again.
        assert_error(
            &post(
                &server,
                &ann,
                &format!("/api/v1/orders/{id}/pay"),
                json!({}),
            )
            .await,
            409,
            "invalid_transition",
        );
        assert_eq!(
            get(&server, &bob, "/api/v1/transactions")
                .await
                .json::<Value>()["count"],
            0
        );
        let all: Value = get(&server, &shop.admin, "/api/v1/transactions")
            .await
            .json();
        assert_eq!(all["count"], 1);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_declined_card_is_a_failed_attempt_and_the_order_can_still_be_paid() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let (ann, order, session) = pending_order(&server, &ctx, &shop).await;
        let sid = session["session_id"].as_str().unwrap();
        let (handled, _) = payments::test_outcome(&ctx, sid, false).await.unwrap();
        assert_eq!(handled, Handled::Applied);
        let id = order["id"].as_str().unwrap();
        assert_eq!(
            get(&server, &ann, &format!("/api/v1/orders/{id}"))
                .await
                .json::<Value>()["status"],
            "pending"
        );
        let list: Value = get(&server, &ann, &format!("/api/v1/transactions?order={id}"))
            .await
            .json();
        assert_eq!(list["count"], 2);
        let failed = list["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["status"] == "failed")
            .unwrap();
        assert!(failed["failure_reason"]
            .as_str()
            .unwrap()
            .contains("declined"));
        let (handled, _) = payments::test_outcome(&ctx, sid, true).await.unwrap();
        assert_eq!(handled, Handled::Applied);
        assert_eq!(
            get(&server, &ann, &format!("/api/v1/orders/{id}"))
                .await
                .json::<Value>()["status"],
            "paid"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[parallel]
async fn a_repeated_event_and_two_racing_reports_of_one_payment_record_it_once() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let (_, order, session) = pending_order(&server, &ctx, &shop).await;
        let sid = session["session_id"].as_str().unwrap().to_string();
        let completed = |ref_: &str| PaymentEvent::SessionCompleted {
            session_id: sid.clone(),
            payment_ref: Some(ref_.to_string()),
            amount_cents: order["total_cents"].as_i64().unwrap(),
        };
        // The same event delivered twice at once, and the shopper's return racing the webhook.
        let results = join_all([
            payments::handle_event(
                &ctx,
                "test",
                "evt_1",
                "checkout.session.completed",
                completed("pi_1"),
            ),
            payments::handle_event(
                &ctx,
                "test",
                "evt_1",
                "checkout.session.completed",
                completed("pi_1"),
            ),
            payments::handle_event(
                &ctx,
                "test",
                "return:x",
                "checkout.session.return",
                completed("pi_1"),
            ),
        ])
        .await;
        let outcomes: Vec<Handled> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            outcomes.iter().filter(|h| **h == Handled::Applied).count(),
            1,
            "{outcomes:?}"
        );
        assert_eq!(
            outcomes.iter().filter(|h| **h == Handled::Ignored).count(),
            2
        );
        // Later, the same event once more: still nothing.
        assert_eq!(
            payments::handle_event(
                &ctx,
                "test",
                "evt_1",
                "checkout.session.completed",
                completed("pi_1")
            )
            .await
            .unwrap(),
            Handled::Ignored
        );
        let txs = rows(&ctx).await;
        assert_eq!(txs.len(), 1);
        assert_eq!(txs[0].status, "succeeded");
        let kettle = product(&server, shop.id("KTL-1")).await;
        let v = assert_ledger_explains(&ctx, kettle["variants"][0]["id"].as_str().unwrap()).await;
        assert_eq!((v.stock, v.reserved), (2, 0), "sold once");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_payment_arriving_after_expiry_is_refunded_and_the_admins_are_told() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let (ann, order, session) = pending_order(&server, &ctx, &shop).await;
        assert_eq!(expire_all_now(&ctx).await, 1);
        let sid = session["session_id"].as_str().unwrap();
        let (handled, _) = payments::test_outcome(&ctx, sid, true).await.unwrap();
        assert_eq!(handled, Handled::RefundedLate);
        let id = order["id"].as_str().unwrap();
        assert_eq!(
            get(&server, &ann, &format!("/api/v1/orders/{id}"))
                .await
                .json::<Value>()["status"],
            "expired"
        );
        let list: Value = get(&server, &ann, "/api/v1/transactions").await.json();
        let kinds: Vec<(String, String)> = list["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["kind"].as_str().unwrap().to_string(),
                    t["status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(kinds.len(), 2, "{kinds:?}");
        assert!(
            kinds.contains(&("payment".into(), "succeeded".into()))
                && kinds.contains(&("refund".into(), "succeeded".into()))
        );
        let note = notifications::Entity::find()
            .filter(notifications::Column::Kind.eq("late_payment"))
            .one(&ctx.db)
            .await
            .unwrap()
            .expect("admins are notified");
        assert!(note.message.contains("refunded automatically"));
        let kettle = product(&server, shop.id("KTL-1")).await;
        assert_eq!(kettle["available"], 4, "nothing was sold");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[parallel]
async fn an_admin_refund_goes_back_through_the_provider_once_even_when_clicked_twice() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let (ann, order, session) = pending_order(&server, &ctx, &shop).await;
        payments::test_outcome(&ctx, session["session_id"].as_str().unwrap(), true)
            .await
            .unwrap();
        let id = order["id"].as_str().unwrap();
        let path = format!("/api/v1/orders/{id}/refund");
        assert_error(
            &post(&server, &ann, &path, json!({})).await,
            403,
            "forbidden",
        );
        let results = join_all((0..2).map(|_| post(&server, &shop.admin, &path, json!({})))).await;
        let ok = results.iter().filter(|r| r.status_code() == 201).count();
        assert_eq!(
            ok,
            1,
            "{:?}",
            results.iter().map(|r| r.text()).collect::<Vec<_>>()
        );
        for r in results.iter().filter(|r| r.status_code() != 201) {
            assert_eq!(r.status_code(), 409, "{}", r.text());
        }
        let refunds: Vec<_> = rows(&ctx)
            .await
            .into_iter()
            .filter(|t| t.kind == "refund")
            .collect();
        assert_eq!(refunds.len(), 1);
        assert_eq!(
            (refunds[0].status.as_str(), refunds[0].amount_cents),
            ("succeeded", order["total_cents"].as_i64().unwrap())
        );
        let refunded: Value = get(&server, &ann, &format!("/api/v1/orders/{id}"))
            .await
            .json();
        assert_eq!(refunded["status"], "refunded");
        assert!(mails_to(&ctx, "ann@example.com")
            .await
            .iter()
            .any(|m| m.kind == "order_refunded"));
        let kettle = product(&server, shop.id("KTL-1")).await;
        assert_eq!(kettle["stock"], 4, "a paid, unshipped order is restocked");
        assert_ledger_explains(&ctx, kettle["variants"][0]["id"].as_str().unwrap()).await;
    })
    .await;
}
