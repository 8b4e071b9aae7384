//! Stripe through async-stripe against a local fake of Stripe's API: checkout sessions,
//! signed webhooks (good, forged, stale, altered, repeated, racing, out of order), the
//! shopper's return racing the webhook, late payments and refunds.
use emporium::models::_entities::{notifications, orders, payment_events, transactions};
use std::future::IntoFuture;

use futures::future::join_all;
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{
    fake_stripe::{self, deliver, sign, FakeStripe},
    orders::*,
    *,
};

struct Paying {
    shop: Shop,
    ann: Auth,
    order: Value,
    session_id: String,
    fake: FakeStripe,
}

async fn paying(server: &loco_rs::TestServer, ctx: &loco_rs::app::AppContext) -> Paying {
    let fake = FakeStripe::start().await;
    fake_stripe::use_fake(ctx, &fake).await;
    let shop = shop(server, ctx).await;
    let ann = customer(server, ctx, "ann@example.com").await;
    add(server, &ann, shop.id("KTL-1"), 2).await;
    add(server, &ann, shop.id("MUG-2"), 1).await;
    let order: Value = checkout(server, &ann).await.json();
    let res = post(
        server,
        &ann,
        &format!("/api/v1/orders/{}/pay", order["id"].as_str().unwrap()),
        json!({}),
    )
    .await;
    assert_eq!(res.status_code(), 200, "{}", res.text());
    let pay: Value = res.json();
    assert!(pay["checkout_url"]
        .as_str()
        .unwrap()
        .starts_with("https://checkout.stripe.com/"));
    Paying {
        shop,
        ann,
        order,
        session_id: pay["session_id"].as_str().unwrap().to_string(),
        fake,
    }
}

async fn status(server: &loco_rs::TestServer, p: &Paying) -> String {
    let o: Value = get(
        server,
        &p.ann,
        &format!("/api/v1/orders/{}", p.order["id"].as_str().unwrap()),
    )
    .await
    .json();
    o["status"].as_str().unwrap().to_string()
}

async fn payments_of(ctx: &loco_rs::app::AppContext) -> Vec<transactions::Model> {
    transactions::Entity::find().all(&ctx.db).await.unwrap()
}

#[tokio::test]
#[parallel]
async fn a_stripe_checkout_session_is_opened_for_the_order_total_and_its_webhook_pays_the_order() {
    with_app(|server, ctx| async move {
        let p = paying(&server, &ctx).await;
        let session = p.fake.session(&p.session_id);
        assert_eq!(
            session["amount_total"], p.order["total_cents"],
            "the amount is the order's"
        );
        assert_eq!(session["metadata"]["order_id"], p.order["id"]);
        assert_eq!(session["client_reference_id"], p.order["id"]);
        assert_eq!(
            session["_line_items"], 2,
            "one line per order line (shipping is free above 50.00)"
        );
        assert!(
            session["expires_at"].as_i64().unwrap() >= chrono::Utc::now().timestamp() + 30 * 60
        );
        assert!(session["success_url"]
            .as_str()
            .unwrap()
            .contains("{CHECKOUT_SESSION_ID}"));

        let res = deliver(&server, &p.fake.pay(&p.session_id)).await;
        assert_eq!(res.status_code(), 200, "{}", res.text());
        assert_eq!(res.json::<Value>()["handled"], true);
        assert_eq!(status(&server, &p).await, "paid");
        let txs = payments_of(&ctx).await;
        assert_eq!(txs.len(), 1);
        assert_eq!(
            (txs[0].provider.as_str(), txs[0].status.as_str()),
            ("stripe", "succeeded")
        );
        assert!(txs[0]
            .payment_ref
            .as_deref()
            .unwrap()
            .starts_with("pi_test_"));
        assert_eq!(
            txs[0].amount_cents,
            p.order["total_cents"].as_i64().unwrap()
        );
        let kettle = product(&server, p.shop.id("KTL-1")).await;
        assert_ledger_explains(&ctx, kettle["variants"][0]["id"].as_str().unwrap()).await;
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn forged_stale_or_altered_deliveries_are_refused_and_change_nothing() {
    with_app(|server, ctx| async move {
        let p = paying(&server, &ctx).await;
        let event = p.fake.pay(&p.session_id);
        let body = event.to_string();
        let now = chrono::Utc::now().timestamp();
        let send = |sig: String, body: String| {
            server
                .post("/api/v1/webhooks/stripe")
                .add_header("stripe-signature", sig)
                .add_header("content-type", "application/json")
                .bytes(body.into())
        };
        let wrong_secret = send(sign(&body, "whsec_someone_else", now), body.clone()).await;
        assert_error(&wrong_secret, 400, "bad_request");
        let stale = send(
            sign(&body, fake_stripe::WEBHOOK_SECRET, now - 600),
            body.clone(),
        )
        .await;
        assert_error(&stale, 400, "bad_request");
        let altered = body.replace(
            &format!("\"amount_total\":{}", p.order["total_cents"]),
            "\"amount_total\":1",
        );
        assert_ne!(altered, body);
        let tampered = send(sign(&body, fake_stripe::WEBHOOK_SECRET, now), altered).await;
        assert_error(&tampered, 400, "bad_request");
        let unsigned = server
            .post("/api/v1/webhooks/stripe")
            .add_header("content-type", "application/json")
            .bytes(body.clone().into())
            .await;
        assert_error(&unsigned, 400, "bad_request");
        assert_eq!(status(&server, &p).await, "pending");
        assert_eq!(
            payment_events::Entity::find().count(&ctx.db).await.unwrap(),
            0
        );
        assert_eq!(payments_of(&ctx).await[0].status, "pending");
        // The genuine delivery still works afterwards.
        assert_eq!(deliver(&server, &event).await.status_code(), 200);
        assert_eq!(status(&server, &p).await, "paid");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[parallel]
async fn the_same_event_twice_in_parallel_and_a_late_expiry_event_change_nothing_twice() {
    with_app(|server, ctx| async move {
        let p = paying(&server, &ctx).await;
        let event = p.fake.pay(&p.session_id);
        let results = join_all((0..4).map(|_| deliver(&server, &event))).await;
        assert!(results.iter().all(|r| r.status_code() == 200));
        assert_eq!(
            results
                .iter()
                .filter(|r| r.json::<Value>()["handled"] == true)
                .count(),
            1
        );
        assert_eq!(
            deliver(&server, &event).await.json::<Value>()["handled"],
            false,
            "a later redelivery too"
        );
        // Out of order: the session's expiry event arrives after it was paid.
        assert_eq!(
            deliver(&server, &p.fake.expire(&p.session_id))
                .await
                .status_code(),
            200
        );
        assert_eq!(status(&server, &p).await, "paid");
        let txs = payments_of(&ctx).await;
        assert_eq!(txs.len(), 1);
        assert_eq!(txs[0].status, "succeeded");
        let kettle = product(&server, p.shop.id("KTL-1")).await;
        let v = assert_ledger_explains(&ctx, kettle["variants"][0]["id"].as_str().unwrap()).await;
        assert_eq!((v.stock, v.reserved), (2, 0), "sold once");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[parallel]
async fn the_shoppers_return_and_the_webhook_racing_record_one_payment() {
    with_app(|server, ctx| async move {
        let p = paying(&server, &ctx).await;
        let event = p.fake.pay(&p.session_id);
        sign_in(&server, "ann@example.com").await;
        let back = format!(
            "/orders/{}/paid?session_id={}",
            p.order["id"].as_str().unwrap(),
            p.session_id
        );
        let (ret, hook) = tokio::join!(server.get(&back).into_future(), deliver(&server, &event));
        assert_eq!(ret.status_code(), 303);
        assert_eq!(hook.status_code(), 200);
        assert_eq!(status(&server, &p).await, "paid");
        let txs = payments_of(&ctx).await;
        assert_eq!(txs.len(), 1, "{txs:?}");
        assert_eq!(txs[0].status, "succeeded");
        assert_eq!(p.fake.state.lock().unwrap().session_calls, 1);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_declined_card_and_a_late_payment_on_an_expired_order_are_recorded_and_the_late_one_refunded(
) {
    with_app(|server, ctx| async move {
        let p = paying(&server, &ctx).await;
        assert_eq!(
            deliver(&server, &p.fake.decline(&p.session_id))
                .await
                .status_code(),
            200
        );
        let failed: Vec<_> = payments_of(&ctx)
            .await
            .into_iter()
            .filter(|t| t.status == "failed")
            .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(
            failed[0].failure_reason.as_deref(),
            Some("Your card was declined.")
        );

        expire_all_now(&ctx).await;
        let res = deliver(&server, &p.fake.pay(&p.session_id)).await;
        assert_eq!(res.status_code(), 200, "{}", res.text());
        assert_eq!(status(&server, &p).await, "expired");
        assert_eq!(
            p.fake.state.lock().unwrap().refund_calls,
            1,
            "the money went back"
        );
        let refunds: Vec<_> = payments_of(&ctx)
            .await
            .into_iter()
            .filter(|t| t.kind == "refund")
            .collect();
        assert_eq!(refunds.len(), 1);
        assert!(refunds[0].provider_ref.starts_with("re_test_"));
        assert!(notifications::Entity::find()
            .filter(notifications::Column::Kind.eq("late_payment"))
            .one(&ctx.db)
            .await
            .unwrap()
            .is_some());
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_late_payment_is_refunded_by_a_job_that_outlasts_a_stripe_outage() {
    use loco_rs::task::{Task, Vars};
    with_app(|server, ctx| async move {
        let p = paying(&server, &ctx).await;
        expire_all_now(&ctx).await;
        p.fake.state.lock().unwrap().refunds_failing = true;

        // The payment is recorded and the event acknowledged although Stripe cannot refund
        // right now: the webhook does not wait on (or fail with) the refund.
        let res = deliver(&server, &p.fake.pay(&p.session_id)).await;
        assert_eq!(res.status_code(), 200, "{}", res.text());
        assert_eq!(status(&server, &p).await, "expired");
        let refunds = || async {
            payments_of(&ctx)
                .await
                .into_iter()
                .filter(|t| t.kind == "refund")
                .collect::<Vec<_>>()
        };
        let claimed = refunds().await;
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].status, "pending", "claimed, not yet made");
        assert!(
            claimed[0].failure_reason.is_some(),
            "the failed try is on record"
        );
        assert!(notifications::Entity::find()
            .filter(notifications::Column::Kind.eq("late_payment"))
            .one(&ctx.db)
            .await
            .unwrap()
            .is_some());

        // Stripe is back; the recovery sweep makes the refund, once, however often it runs.
        p.fake.state.lock().unwrap().refunds_failing = false;
        transactions::Entity::update_many()
            .col_expr(
                transactions::Column::UpdatedAt,
                Expr::value(chrono::Utc::now() - chrono::Duration::minutes(5)),
            )
            .filter(transactions::Column::Kind.eq("refund"))
            .exec(&ctx.db)
            .await
            .unwrap();
        for _ in 0..2 {
            emporium::tasks::maintenance::ResumeWork
                .run(&ctx, &Vars::default())
                .await
                .unwrap();
        }
        let made = refunds().await;
        assert_eq!(made.len(), 1);
        assert_eq!(made[0].status, "succeeded");
        assert!(
            made[0].provider_ref.starts_with("re_test_"),
            "{:?}",
            made[0]
        );
        assert!(made[0].failure_reason.is_none());
        let st = p.fake.state.lock().unwrap();
        assert_eq!(st.refunds.len(), 1, "the money went back once");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn refunds_from_the_admin_and_from_stripes_dashboard_are_each_one_transaction() {
    with_app(|server, ctx| async move {
        let p = paying(&server, &ctx).await;
        deliver(&server, &p.fake.pay(&p.session_id)).await;
        let id = p.order["id"].as_str().unwrap();
        let refunded = post(
            &server,
            &p.shop.admin,
            &format!("/api/v1/orders/{id}/refund"),
            json!({}),
        )
        .await;
        assert_eq!(refunded.status_code(), 201, "{}", refunded.text());
        assert_eq!(refunded.json::<Value>()["status"], "succeeded");
        let refund = payments_of(&ctx)
            .await
            .into_iter()
            .find(|t| t.kind == "refund")
            .unwrap();
        assert_eq!(refund.status, "succeeded");
        // Stripe then reports that refund as charge.refunded: already recorded.
        let pi = refund.payment_ref.clone().unwrap();
        let reported = {
            let st = p.fake.state.lock().unwrap();
            st.refunds.values().next().unwrap().clone()
        };
        let mut event = p.fake.dashboard_refund(&pi, refund.amount_cents);
        event["data"]["object"]["refunds"]["data"][0]["id"] = reported["id"].clone();
        assert_eq!(
            deliver(&server, &event).await.json::<Value>()["handled"],
            false
        );
        assert_eq!(
            payments_of(&ctx)
                .await
                .iter()
                .filter(|t| t.kind == "refund")
                .count(),
            1
        );

        // A second order, refunded in Stripe's dashboard: recorded, and the order follows.
        let bob = customer(&server, &ctx, "bob@example.com").await;
        add(&server, &bob, p.shop.id("LMP-1"), 1).await;
        let order: Value = checkout(&server, &bob).await.json();
        let oid = order["id"].as_str().unwrap();
        let pay: Value = post(
            &server,
            &bob,
            &format!("/api/v1/orders/{oid}/pay"),
            json!({}),
        )
        .await
        .json();
        let paid = p.fake.pay(pay["session_id"].as_str().unwrap());
        deliver(&server, &paid).await;
        let pi = paid["data"]["object"]["payment_intent"]
            .as_str()
            .unwrap()
            .to_string();
        let res = deliver(
            &server,
            &p.fake
                .dashboard_refund(&pi, order["total_cents"].as_i64().unwrap()),
        )
        .await;
        assert_eq!(res.json::<Value>()["handled"], true, "{}", res.text());
        let o: Value = get(&server, &bob, &format!("/api/v1/orders/{oid}"))
            .await
            .json();
        assert_eq!(o["status"], "refunded");
        let list: Value = get(&server, &bob, "/api/v1/transactions").await.json();
        assert_eq!(list["count"], 2, "payment and refund");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn partial_and_delayed_payments_and_refund_events_are_recorded_by_what_they_say() {
    with_app(|server, ctx| async move {
        let p = paying(&server, &ctx).await;
        // A bank debit: the session completes unpaid, then the money arrives.
        let mut completed = p.fake.pay(&p.session_id);
        completed["data"]["object"]["payment_status"] = json!("unpaid");
        assert_eq!(
            deliver(&server, &completed).await.json::<Value>()["handled"],
            false
        );
        assert_eq!(status(&server, &p).await, "pending");
        let mut succeeded = completed.clone();
        succeeded["id"] = json!(format!("evt_{}", uuid::Uuid::new_v4().simple()));
        succeeded["type"] = json!("checkout.session.async_payment_succeeded");
        succeeded["data"]["object"]["payment_status"] = json!("paid");
        assert_eq!(
            deliver(&server, &succeeded).await.json::<Value>()["handled"],
            true
        );
        assert_eq!(status(&server, &p).await, "paid");
        assert!(mails_to(&ctx, "ann@example.com")
            .await
            .iter()
            .any(|m| m.kind == "order_paid"));

        // A partial refund in the dashboard (refund.created): recorded with its credit note,
        // the order partially refunded; the rest of the money refunded later completes it.
        let pi = completed["data"]["object"]["payment_intent"]
            .as_str()
            .unwrap()
            .to_string();
        let total = p.order["total_cents"].as_i64().unwrap();
        let refund_event = |amount: i64| {
            let mut e = p.fake.dashboard_refund(&pi, amount);
            let refund = e["data"]["object"]["refunds"]["data"][0].clone();
            e["type"] = json!("refund.created");
            e["data"]["object"] = refund;
            e
        };
        assert_eq!(
            deliver(&server, &refund_event(1000)).await.json::<Value>()["handled"],
            true
        );
        assert_eq!(status(&server, &p).await, "partially_refunded");
        assert_eq!(
            deliver(&server, &refund_event(total - 1000))
                .await
                .json::<Value>()["handled"],
            true
        );
        assert_eq!(status(&server, &p).await, "refunded");
        let refunds: Vec<_> = payments_of(&ctx)
            .await
            .into_iter()
            .filter(|t| t.kind == "refund")
            .collect();
        assert_eq!(refunds.iter().map(|r| r.amount_cents).sum::<i64>(), total);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_payment_of_the_wrong_amount_is_refunded_and_the_order_stays_unpaid() {
    with_app(|server, ctx| async move {
        let p = paying(&server, &ctx).await;
        let mut event = p.fake.pay(&p.session_id);
        event["data"]["object"]["amount_total"] = json!(100);
        assert_eq!(deliver(&server, &event).await.status_code(), 200);
        assert_eq!(status(&server, &p).await, "pending");
        assert_eq!(p.fake.state.lock().unwrap().refund_calls, 1);
        let note = notifications::Entity::find()
            .filter(notifications::Column::Kind.eq("late_payment"))
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert!(note.message.contains("differs"), "{}", note.message);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[parallel]
async fn two_pay_clicks_at_once_open_one_session_and_hold_the_stock_as_long_as_it() {
    with_app(|server, ctx| async move {
        let fake = FakeStripe::start().await;
        fake_stripe::use_fake(&ctx, &fake).await;
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("LMP-1"), 1).await;
        let order: Value = checkout(&server, &ann).await.json();
        let path = format!("/api/v1/orders/{}/pay", order["id"].as_str().unwrap());
        let results = join_all((0..3).map(|_| post(&server, &ann, &path, json!({})))).await;
        let sessions: std::collections::HashSet<String> = results
            .iter()
            .map(|r| {
                assert_eq!(r.status_code(), 200, "{}", r.text());
                r.json::<Value>()["session_id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(sessions.len(), 1, "one open session per order");
        let open = payments_of(&ctx)
            .await
            .into_iter()
            .filter(|t| t.status == "pending")
            .count();
        assert_eq!(open, 1);
        // The order's reservation now lasts as long as the session can be paid.
        let row = orders::Entity::find().one(&ctx.db).await.unwrap().unwrap();
        let session = fake.session(sessions.iter().next().unwrap());
        assert_eq!(
            row.expires_at.unwrap().timestamp(),
            session["expires_at"].as_i64().unwrap()
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn cancelling_an_order_closes_its_stripe_session_and_a_payment_that_beat_it_is_refunded() {
    with_app(|server, ctx| async move {
        let p = paying(&server, &ctx).await;
        let id = p.order["id"].as_str().unwrap();
        let res = post(
            &server,
            &p.ann,
            &format!("/api/v1/orders/{id}/cancel"),
            json!({}),
        )
        .await;
        assert_eq!(res.status_code(), 200, "{}", res.text());
        assert_eq!(
            p.fake.session(&p.session_id)["status"],
            "expired",
            "nobody can pay the cancelled order on Stripe's page any more"
        );
        // Stripe's own expiry event closes the transaction.
        let res = deliver(&server, &p.fake.expire(&p.session_id)).await;
        assert_eq!(res.status_code(), 200);
        let txs = payments_of(&ctx).await;
        assert_eq!(txs[0].status, "expired");

        // A second order whose shopper paid just before the cancel reached Stripe: Stripe
        // refuses to expire a complete session, and the payment is refunded as late.
        let shop2 = &p.shop;
        add(&server, &p.ann, shop2.id("MUG-2"), 1).await;
        let order: Value = checkout(&server, &p.ann).await.json();
        let id = order["id"].as_str().unwrap();
        let pay: Value = post(
            &server,
            &p.ann,
            &format!("/api/v1/orders/{id}/pay"),
            json!({}),
        )
        .await
        .json();
        let session = pay["session_id"].as_str().unwrap();
        let paid = p.fake.pay(session);
        let res = post(
            &server,
            &p.ann,
            &format!("/api/v1/orders/{id}/cancel"),
            json!({}),
        )
        .await;
        assert_eq!(res.status_code(), 200, "{}", res.text());
        assert_eq!(p.fake.session(session)["status"], "complete");
        let res = deliver(&server, &paid).await;
        assert_eq!(res.status_code(), 200);
        assert_eq!(
            p.fake.state.lock().unwrap().refund_calls,
            1,
            "refunded as late"
        );
    })
    .await;
}

/// Issue 19, item 4, under crashes: a refund whose process died after Stripe made it, before
/// it was recorded, holds its money meanwhile and is finished by the sweep, once: Stripe is
/// asked again with the refund's own key and answers with the refund it made.
#[tokio::test]
#[parallel]
async fn a_refund_whose_process_died_after_stripe_made_it_is_finished_once_by_the_sweep() {
    use emporium::models::{
        _entities::refunds as refund_rows,
        actor::Actor,
        refunds::{self, RefundCommand},
    };
    with_app(|server, ctx| async move {
        let p = paying(&server, &ctx).await;
        deliver(&server, &p.fake.pay(&p.session_id)).await;
        let id: uuid::Uuid = p.order["id"].as_str().unwrap().parse().unwrap();
        let total = p.order["total_cents"].as_i64().unwrap();
        let cmd = RefundCommand {
            ask: emporium::domain::refund::RefundAsk {
                lines: vec![],
                amount_cents: Some(500),
            },
            reason: Some("goodwill".into()),
            ..RefundCommand::default()
        };
        let claimed = refunds::claim(&ctx, id, &cmd, &Actor::system("test"))
            .await
            .unwrap();
        let money = transactions::Entity::find_by_id(claimed.transaction_id.unwrap())
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        // Stripe made it; then the process died.
        emporium::payments::Payments::get(&ctx)
            .refund(
                money.payment_ref.as_deref().unwrap(),
                500,
                &format!("refund-{}", claimed.pid),
            )
            .await
            .unwrap();
        // Meanwhile the claim holds its money: the rest is all that can still go back.
        let too_much = post(
            &server,
            &p.shop.admin,
            &format!("/api/v1/orders/{id}/refund"),
            json!({"amount_cents": total}),
        )
        .await;
        assert_error(&too_much, 409, "conflict");
        assert_eq!(
            refunds::resume_stale(&ctx, 10).await.unwrap(),
            0,
            "too fresh"
        );
        refund_rows::Entity::update_many()
            .col_expr(
                refund_rows::Column::UpdatedAt,
                Expr::value((chrono::Utc::now() - chrono::Duration::minutes(10)).fixed_offset()),
            )
            .exec(&ctx.db)
            .await
            .unwrap();
        assert_eq!(refunds::resume_stale(&ctx, 10).await.unwrap(), 1);
        assert_eq!(
            refunds::resume_stale(&ctx, 10).await.unwrap(),
            0,
            "done once"
        );
        let row = refund_rows::Entity::find_by_id(claimed.id)
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.status, "succeeded");
        assert!(row.credit_note_number.is_some());
        assert_eq!(
            p.fake.state.lock().unwrap().refunds.len(),
            1,
            "the money went back once"
        );
        let order: Value = get(&server, &p.shop.admin, &format!("/api/v1/orders/{id}"))
            .await
            .json();
        assert_eq!(order["status"], "partially_refunded");
        assert_eq!(order["refunded_cents"], 500);
    })
    .await;
}

/// A refund whose call to Stripe got no answer (a 500) is not given up: it stays claimed,
/// holding its money, and the sweep asks Stripe again with the same key once it is back.
#[tokio::test]
#[parallel]
async fn an_admin_refund_that_got_no_answer_from_stripe_is_retried_by_the_sweep() {
    use emporium::models::{_entities::refunds as refund_rows, refunds};
    with_app(|server, ctx| async move {
        let p = paying(&server, &ctx).await;
        deliver(&server, &p.fake.pay(&p.session_id)).await;
        let id = p.order["id"].as_str().unwrap();
        let path = format!("/api/v1/orders/{id}/refund");
        p.fake.state.lock().unwrap().refunds_failing = true;
        let res = post(&server, &p.shop.admin, &path, json!({"amount_cents": 700})).await;
        assert_error(&res, 503, "unavailable");
        let row = refund_rows::Entity::find()
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.status, "pending");
        assert!(row.failure_reason.is_some());
        let total = p.order["total_cents"].as_i64().unwrap();
        assert_error(
            &post(
                &server,
                &p.shop.admin,
                &path,
                json!({"amount_cents": total}),
            )
            .await,
            409,
            "conflict",
        );
        p.fake.state.lock().unwrap().refunds_failing = false;
        refund_rows::Entity::update_many()
            .col_expr(
                refund_rows::Column::UpdatedAt,
                Expr::value((chrono::Utc::now() - chrono::Duration::minutes(1)).fixed_offset()),
            )
            .exec(&ctx.db)
            .await
            .unwrap();
        assert_eq!(refunds::resume_stale(&ctx, 10).await.unwrap(), 1);
        let row = refund_rows::Entity::find_by_id(row.id)
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.status, "succeeded");
        assert_eq!(p.fake.state.lock().unwrap().refunds.len(), 1);
        let order: Value = get(&server, &p.shop.admin, &format!("/api/v1/orders/{id}"))
            .await
            .json();
        assert_eq!(order["refunded_cents"], 700);
    })
    .await;
}
