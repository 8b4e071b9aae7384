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

/// Issue 20, item 4: invoices listed and fetched by number, one transaction by id — the
/// caller's own, or any for an admin; another customer's is a 404.
#[tokio::test]
#[parallel]
async fn invoices_and_transactions_are_looked_up_by_their_owner_or_an_admin() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let (ann, order, _session) = pending_order(&server, &ctx, &shop).await;
        let ann_order = order["id"].as_str().unwrap();
        let bob = customer(&server, &ctx, "bob@example.com").await;
        add(&server, &bob, shop.id("MUG-2"), 1).await;
        let bobs: Value = checkout(&server, &bob).await.json();
        for id in [ann_order, bobs["id"].as_str().unwrap()] {
            post(
                &server,
                &shop.admin,
                &format!("/api/v1/orders/{id}/mark-paid"),
                json!({}),
            )
            .await
            .assert_status_ok();
        }

        let mine: Value = get(&server, &ann, "/api/v1/invoices").await.json();
        assert_eq!(mine["count"], 1, "{mine}");
        let inv = &mine["results"][0];
        assert_eq!(inv["order_id"], order["id"]);
        assert_eq!(inv["total_cents"], order["total_cents"]);
        assert_eq!(inv["tax_cents"], order["tax_cents"]);
        let number = inv["number"].as_i64().unwrap();
        assert_eq!(inv["reference"], format!("INV-{number:06}"));
        let all: Value = get(&server, &shop.admin, "/api/v1/invoices").await.json();
        assert_eq!(all["count"], 2);
        assert!(all["results"][0]["number"].as_i64() > all["results"][1]["number"].as_i64());
        // Staff who are not admins see only their own (none).
        let staff: Value = get(&server, &shop.staff, "/api/v1/invoices").await.json();
        assert_eq!(staff["count"], 0);
        assert_error(&server.get("/api/v1/invoices").await, 401, "unauthorized");

        // Dates are whole UTC days; a bad one or an upside-down range is a 422.
        let today = chrono::Utc::now().date_naive();
        let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        let range = |from: String, to: String| format!("/api/v1/invoices?from={from}&to={to}");
        let todays: Value = get(&server, &shop.admin, &range(day(today), day(today)))
            .await
            .json();
        assert_eq!(todays["count"], 2);
        let tomorrow = today.succ_opt().unwrap();
        let none: Value = get(
            &server,
            &shop.admin,
            &format!("/api/v1/invoices?from={}", day(tomorrow)),
        )
        .await
        .json();
        assert_eq!(none["count"], 0);
        let bad = assert_error(
            &get(&server, &ann, "/api/v1/invoices?from=2026-02-30&to=x").await,
            422,
            "validation_failed",
        );
        assert!(
            bad["error"]["details"]["from"].is_array() && bad["error"]["details"]["to"].is_array()
        );
        // A year the databases cannot hold is a 422, not a 500.
        assert_error(
            &get(&server, &shop.admin, "/api/v1/invoices?from=-5000-01-01").await,
            422,
            "validation_failed",
        );
        let upside = assert_error(
            &get(&server, &ann, &range(day(tomorrow), day(today))).await,
            422,
            "validation_failed",
        );
        assert!(upside["error"]["details"]["to"].is_array());

        // One invoice, by number or as printed; the printable page on request.
        for key in [number.to_string(), format!("INV-{number:06}")] {
            let one = get(&server, &ann, &format!("/api/v1/invoices/{key}")).await;
            one.assert_status_ok();
            assert_eq!(one.json::<Value>()["order"]["id"], order["id"]);
            assert_error(
                &get(&server, &bob, &format!("/api/v1/invoices/{key}")).await,
                404,
                "not_found",
            );
            get(&server, &shop.admin, &format!("/api/v1/invoices/{key}"))
                .await
                .assert_status_ok();
        }
        for junk in ["0", "abc", "INV-", "99999999", "-1"] {
            assert_error(
                &get(&server, &ann, &format!("/api/v1/invoices/{junk}")).await,
                404,
                "not_found",
            );
        }
        let html = server
            .get(&format!("/api/v1/invoices/{number}"))
            .add_header(ann.0.clone(), ann.1.clone())
            .add_header("accept", "text/html")
            .await;
        html.assert_status_ok();
        assert!(html.text().contains(&format!("INV-{number:06}")));

        // One transaction.
        let txs: Value = get(
            &server,
            &ann,
            &format!("/api/v1/transactions?order={ann_order}"),
        )
        .await
        .json();
        let tx = txs["results"][0]["id"].as_str().unwrap().to_string();
        let one: Value = get(&server, &ann, &format!("/api/v1/transactions/{tx}"))
            .await
            .json();
        assert_eq!(one["id"], tx.as_str());
        assert_eq!(one["order_id"], order["id"]);
        get(&server, &shop.admin, &format!("/api/v1/transactions/{tx}"))
            .await
            .assert_status_ok();
        for (who, path) in [
            (&bob, format!("/api/v1/transactions/{tx}")),
            (&shop.staff, format!("/api/v1/transactions/{tx}")),
            (
                &ann,
                format!("/api/v1/transactions/{}", uuid::Uuid::new_v4()),
            ),
            (&ann, "/api/v1/transactions/nope".to_string()),
        ] {
            assert_error(&get(&server, who, &path).await, 404, "not_found");
        }
    })
    .await;
}
