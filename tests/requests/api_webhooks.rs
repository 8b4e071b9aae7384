//! Outgoing webhooks: registration, signed deliveries checked by a real receiver on a loopback
//! port, retries with backoff, the delivery log, redelivery, and sending once under races.
use std::time::Duration;

use emporium::{
    domain::webhook::Event,
    jobs::{Job, JobEnv, Jobs},
    models::{notifications, webhooks},
    settings::{JobBackendKind, Settings},
};
use loco_rs::app::AppContext;
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{
    orders::*,
    receiver::{signature_valid, Receiver},
    *,
};

/// Registers `url` for `events` as the shop's admin; returns (id, secret).
async fn register(
    server: &loco_rs::TestServer,
    shop: &Shop,
    url: &str,
    events: &[&str],
) -> (String, String) {
    let res = post(
        server,
        &shop.admin,
        "/api/v1/admin/webhooks",
        json!({"url": url, "events": events, "description": "ERP"}),
    )
    .await;
    assert_eq!(res.status_code(), 201, "{}", res.text());
    let body: Value = res.json();
    (
        body["id"].as_str().unwrap().to_string(),
        body["secret"].as_str().unwrap().to_string(),
    )
}

/// Runs jobs on an in-process pool that retries at once, `attempts` times at most.
async fn retrying_jobs(ctx: &AppContext, attempts: u32) {
    set_settings(ctx, |s| {
        s.jobs.backend = JobBackendKind::InProcess;
        s.jobs.max_attempts = attempts;
        s.jobs.retry_base_secs = 0;
    });
    let env = JobEnv::for_context(ctx, Settings::get(ctx)).unwrap();
    ctx.shared_store.insert(Jobs::start(env).await.unwrap());
}

async fn log(server: &loco_rs::TestServer, shop: &Shop, id: &str) -> Value {
    let res = get(
        server,
        &shop.admin,
        &format!("/api/v1/admin/webhooks/{id}/deliveries"),
    )
    .await;
    res.assert_status_ok();
    res.json()
}

/// Polls the log until its newest delivery has `status`.
async fn wait_status(server: &loco_rs::TestServer, shop: &Shop, id: &str, status: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        last = log(server, shop, id).await;
        if last["results"][0]["status"] == status {
            return last["results"][0].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the delivery never became {status}: {last}");
}

#[tokio::test]
#[parallel]
async fn an_endpoint_gets_signed_deliveries_of_the_events_it_chose_and_logs_them() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let receiver = Receiver::start(&[]).await;
        let (id, secret) = register(
            &server,
            &shop,
            &receiver.url,
            &["order.paid", "order.created"],
        )
        .await;
        assert!(secret.starts_with("whsec_"));

        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("MUG-2"), 2)
            .await
            .assert_status_success();
        let order: Value = checkout(&server, &ann).await.json();
        let order_id = order["id"].as_str().unwrap();
        post(
            &server,
            &shop.admin,
            &format!("/api/v1/orders/{order_id}/mark-paid"),
            json!({}),
        )
        .await
        .assert_status_ok();
        // Not subscribed: a catalogue change sends nothing.
        server
            .patch(&format!("/api/v1/products/{}", shop.id("LMP-1")))
            .add_header(shop.pm.0.clone(), shop.pm.1.clone())
            .json(&json!({"name": "Reading Lamp"}))
            .await
            .assert_status_ok();

        let got = receiver.wait_for(2).await;
        assert_eq!(got.len(), 2);
        for (d, (event, status)) in got
            .iter()
            .zip([("order.created", "pending"), ("order.paid", "paid")])
        {
            assert!(
                signature_valid(&secret, &d.header("x-emporium-signature"), &d.body),
                "{d:?}"
            );
            assert!(!signature_valid(
                "whsec_wrong",
                &d.header("x-emporium-signature"),
                &d.body
            ));
            assert_eq!(d.header("x-emporium-event"), event);
            assert_eq!(d.header("content-type"), "application/json");
            let body = d.json();
            assert_eq!(body["type"], event);
            assert_eq!(
                body["id"].as_str().unwrap(),
                d.header("x-emporium-event-id")
            );
            assert_eq!(body["data"]["id"], order_id);
            assert_eq!(body["data"]["status"], status);
            assert_eq!(body["data"]["items"][0]["quantity"], 2);
        }

        let log = log(&server, &shop, &id).await;
        assert_eq!(log["count"], 2);
        for d in log["results"].as_array().unwrap() {
            assert_eq!(d["status"], "succeeded");
            assert_eq!(d["attempts"], 1);
            assert_eq!(d["response_status"], 200);
            assert_eq!(d["response_body"], "thanks");
            assert!(d["delivered_at"].is_string());
        }
        assert_eq!(log["results"][0]["event"], "order.paid", "newest first");

        // The list hides secrets; the endpoint itself shows it.
        let list: Value = get(&server, &shop.admin, "/api/v1/admin/webhooks")
            .await
            .json();
        assert_eq!(list["count"], 1);
        assert!(list["results"][0].get("secret").is_none());
        assert_eq!(
            list["results"][0]["events"],
            json!(["order.created", "order.paid"])
        );
        let one: Value = get(
            &server,
            &shop.admin,
            &format!("/api/v1/admin/webhooks/{id}"),
        )
        .await
        .json();
        assert_eq!(one["secret"], secret.as_str());
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn only_admins_manage_endpoints_and_bad_ones_are_refused() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let bad = post(
            &server,
            &shop.admin,
            "/api/v1/admin/webhooks",
            json!({"url": "ftp://files.example.com", "events": ["order.lost"]}),
        )
        .await;
        let body = assert_error(&bad, 422, "validation_failed");
        assert!(body["error"]["details"]["url"].is_array());
        assert!(body["error"]["details"]["events"][0]
            .as_str()
            .unwrap()
            .contains("order.lost"));
        let hook = json!({"url": "https://erp.example.com/hooks", "events": ["order.paid"]});
        for who in [&shop.staff, &shop.pm] {
            assert_error(
                &post(&server, who, "/api/v1/admin/webhooks", hook.clone()).await,
                403,
                "forbidden",
            );
        }
        let ann = customer(&server, &ctx, "ann@example.com").await;
        assert_error(
            &get(&server, &ann, "/api/v1/admin/webhooks").await,
            403,
            "forbidden",
        );
        assert_error(
            &server.get("/api/v1/admin/webhooks").await,
            401,
            "unauthorized",
        );
        // API keys act for an admin but no scope opens webhooks.
        let key: Value = post(
            &server,
            &shop.admin,
            "/api/v1/admin/api-keys",
            json!({"name": "All", "scopes": ["catalogue:write", "orders:write", "inventory"]}),
        )
        .await
        .json();
        let with_key = server
            .get("/api/v1/admin/webhooks")
            .add_header(
                "authorization",
                format!("Bearer {}", key["secret"].as_str().unwrap()),
            )
            .await;
        assert_error(&with_key, 403, "forbidden");

        let (id, secret) = register(
            &server,
            &shop,
            "https://erp.example.com/hooks",
            &["order.paid"],
        )
        .await;
        let path = format!("/api/v1/admin/webhooks/{id}");
        let patched = server
            .patch(&path)
            .add_header(shop.admin.0.clone(), shop.admin.1.clone())
            .json(&json!({"active": false, "events": ["stock.low"], "rotate_secret": true}))
            .await;
        patched.assert_status_ok();
        let patched: Value = patched.json();
        assert_eq!(patched["active"], false);
        assert_eq!(patched["events"], json!(["stock.low"]));
        assert_ne!(patched["secret"], secret.as_str());
        let bad_patch = server
            .patch(&path)
            .add_header(shop.admin.0.clone(), shop.admin.1.clone())
            .json(&json!({"events": []}))
            .await;
        assert_error(&bad_patch, 422, "validation_failed");
        let deleted = server
            .delete(&path)
            .add_header(shop.admin.0.clone(), shop.admin.1.clone())
            .await;
        assert_eq!(deleted.status_code(), 204);
        assert_error(&get(&server, &shop.admin, &path).await, 404, "not_found");
        assert_error(
            &get(
                &server,
                &shop.admin,
                "/api/v1/admin/webhooks/not-an-id/deliveries",
            )
            .await,
            404,
            "not_found",
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_failing_receiver_is_retried_and_every_attempt_is_logged() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        retrying_jobs(&ctx, 4).await;
        let receiver = Receiver::start(&[500, 503]).await;
        let (id, secret) = register(&server, &shop, &receiver.url, &["product.changed"]).await;
        server
            .patch(&format!("/api/v1/products/{}", shop.id("KTL-1")))
            .add_header(shop.pm.0.clone(), shop.pm.1.clone())
            .json(&json!({"price_cents": 4500}))
            .await
            .assert_status_ok();
        let got = receiver.wait_for(3).await;
        let d = wait_status(&server, &shop, &id, "succeeded").await;
        assert_eq!(d["attempts"], 3);
        assert_eq!(d["response_status"], 200);
        assert_eq!(got.len(), 3, "no attempt after the success");
        // The same delivery each time: same ids, same body, each signed afresh.
        for g in &got {
            assert_eq!(g.header("x-emporium-delivery"), d["id"].as_str().unwrap());
            assert_eq!(
                g.header("x-emporium-event-id"),
                d["event_id"].as_str().unwrap()
            );
            assert_eq!(g.body, got[0].body);
            assert!(signature_valid(
                &secret,
                &g.header("x-emporium-signature"),
                &g.body
            ));
        }
        let body = got[0].json();
        assert_eq!(body["data"]["action"], "updated");
        assert_eq!(body["data"]["product"]["price_cents"], 4500);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_receiver_that_keeps_failing_ends_failed_and_an_admin_redelivers_the_event() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        retrying_jobs(&ctx, 2).await;
        let receiver = Receiver::start(&[500, 500]).await;
        let (id, _) = register(&server, &shop, &receiver.url, &["product.changed"]).await;
        server
            .delete(&format!("/api/v1/products/{}", shop.id("LMP-1")))
            .add_header(shop.pm.0.clone(), shop.pm.1.clone())
            .await;
        let failed = wait_status(&server, &shop, &id, "failed").await;
        assert_eq!(failed["attempts"], 2);
        assert_eq!(failed["response_status"], 500);
        assert!(
            failed["last_error"].as_str().unwrap().contains("500"),
            "{failed}"
        );
        assert!(failed["next_attempt_at"].is_null());
        assert_eq!(failed["payload"]["data"]["action"], "deleted");
        assert_eq!(receiver.received().len(), 2);

        let res = post(
            &server,
            &shop.admin,
            &format!(
                "/api/v1/admin/webhooks/{id}/deliveries/{}/redeliver",
                failed["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
        assert_eq!(res.status_code(), 202, "{}", res.text());
        let again: Value = res.json();
        assert_ne!(again["id"], failed["id"]);
        assert_eq!(again["event_id"], failed["event_id"]);
        let done = wait_status(&server, &shop, &id, "succeeded").await;
        assert_eq!(done["id"], again["id"]);
        let got = receiver.wait_for(3).await;
        assert_eq!(
            got[2].header("x-emporium-event-id"),
            failed["event_id"].as_str().unwrap()
        );
        let log = log(&server, &shop, &id).await;
        assert_eq!(log["count"], 2, "the failed delivery stays in the log");
        let only_failed: Value = get(
            &server,
            &shop.admin,
            &format!("/api/v1/admin/webhooks/{id}/deliveries?status=failed"),
        )
        .await
        .json();
        assert_eq!(only_failed["count"], 1);
        assert_error(
            &get(
                &server,
                &shop.admin,
                &format!("/api/v1/admin/webhooks/{id}/deliveries?status=lost"),
            )
            .await,
            422,
            "validation_failed",
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn one_delivery_run_by_several_workers_at_once_is_sent_once() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let receiver = Receiver::start(&[]).await;
        register(&server, &shop, &receiver.url, &["stock.low"]).await;
        // Recorded but not enqueued: the workers below are the only senders.
        let ids = webhooks::emit(&ctx.db, Event::StockLow, json!({"sku": "X"}))
            .await
            .unwrap();
        assert_eq!(ids.len(), 1);
        let env = Jobs::get(&ctx).env().clone();
        let job = Job::DeliverWebhook {
            delivery_id: ids[0],
        };
        let runs = futures::future::join_all((0..6).map(|_| job.run(&env))).await;
        assert!(runs.iter().all(Result::is_ok));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(receiver.received().len(), 1);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn stock_low_is_sent_once_per_shortage_and_a_refused_checkout_sends_nothing() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let receiver = Receiver::start(&[]).await;
        register(
            &server,
            &shop,
            &receiver.url,
            &["stock.low", "order.created"],
        )
        .await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("TNT-2"), 3)
            .await
            .assert_status_success();
        // Someone else takes the last tents first: Ann's checkout is refused and rolled back.
        let bob = customer(&server, &ctx, "bob@example.com").await;
        add(&server, &bob, shop.id("TNT-2"), 3)
            .await
            .assert_status_success();
        checkout(&server, &bob)
            .await
            .assert_status(axum::http::StatusCode::CREATED);
        assert_error(&checkout(&server, &ann).await, 409, "insufficient_stock");
        assert_eq!(receiver.received().len(), 1, "only Bob's order");

        let check = notifications::check_stock(&ctx).await.unwrap();
        assert_eq!(check.opened, 3, "TNT-2, TNT-4 and KTL-1 are at or under 5");
        let got = receiver.wait_for(4).await;
        let mut skus: Vec<String> = got[1..]
            .iter()
            .map(|d| {
                assert_eq!(d.header("x-emporium-event"), "stock.low");
                d.json()["data"]["sku"].as_str().unwrap().to_string()
            })
            .collect();
        skus.sort();
        assert_eq!(skus, vec!["KTL-1", "TNT-2", "TNT-4"]);
        let tent = got[1..]
            .iter()
            .map(|d| d.json())
            .find(|b| b["data"]["sku"] == "TNT-2")
            .unwrap();
        assert_eq!(tent["data"]["available"], 0);
        assert_eq!(tent["data"]["product_id"], shop.id("TNT-2"));
        // The next check finds the same shortages already open: nothing new is sent.
        notifications::check_stock(&ctx).await.unwrap();
        assert_eq!(receiver.received().len(), 4);
    })
    .await;
}

/// A closed account's orders keep only what the books need; the delivery log of the events
/// already sent about them keeps no more (an admin reading or redelivering them must not bring
/// the person back).
#[tokio::test]
#[parallel]
async fn closing_an_account_scrubs_the_events_already_sent_about_its_orders() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let receiver = Receiver::start(&[]).await;
        let (id, _) = register(&server, &shop, &receiver.url, &["order.created"]).await;
        let cleo = customer(&server, &ctx, "cleo@example.com").await;
        add(&server, &cleo, shop.id("MUG-2"), 1)
            .await
            .assert_status_success();
        checkout(&server, &cleo).await.assert_status_success();
        let sent = wait_status(&server, &shop, &id, "succeeded").await;
        assert_eq!(
            sent["payload"]["data"]["email"], "cleo@example.com",
            "{sent}"
        );

        let res = server
            .delete("/api/v1/me")
            .add_header(cleo.0.clone(), cleo.1.clone())
            .json(&json!({"password": PASSWORD}))
            .await;
        assert!(res.status_code().is_success(), "{}", res.text());
        let logged = log(&server, &shop, &id).await;
        let text = logged.to_string();
        assert!(!text.contains("cleo@example.com"), "{logged}");
        assert!(!text.contains("+49 431 1"), "no phone: {logged}");
        let created = logged["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["event"] == "order.created")
            .unwrap();
        let data = &created["payload"]["data"];
        // What the order itself keeps: the invoice address, the delivery country.
        assert_eq!(data["shipping_address"], json!({"country": "DE"}));
        assert_eq!(data["billing_address"]["line1"], "1 Harbour Road");
        assert_eq!(data["timeline"][0]["actor"], "a closed account (customer)");
        let order: Value = get(
            &server,
            &shop.admin,
            &format!("/api/v1/orders/{}", data["id"].as_str().unwrap()),
        )
        .await
        .json();
        assert_eq!(data["email"], order["email"]);
    })
    .await;
}
