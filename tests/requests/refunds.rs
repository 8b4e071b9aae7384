//! Issue 19, item 4: partial refunds with credit notes, through the API and the admin pages.
use emporium::models::{
    _entities::{refunds, transactions, webhook_deliveries},
    payments,
};
use futures::future::join_all;
use loco_rs::testing::prelude::*;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{orders::*, *};

/// Ann's order of two kettles and one lamp, paid through the test provider.
async fn paid_order(
    server: &loco_rs::TestServer,
    ctx: &loco_rs::app::AppContext,
    shop: &Shop,
) -> (Auth, Value) {
    let ann = customer(server, ctx, "ann@example.com").await;
    add(server, &ann, shop.id("KTL-1"), 2).await;
    add(server, &ann, shop.id("LMP-1"), 1).await;
    let order: Value = checkout(server, &ann).await.json();
    let id = order["id"].as_str().unwrap();
    let pay: Value = post(server, &ann, &format!("/api/v1/orders/{id}/pay"), json!({}))
        .await
        .json();
    payments::test_outcome(ctx, pay["session_id"].as_str().unwrap(), true)
        .await
        .unwrap();
    (ann, order)
}

fn item<'a>(order: &'a Value, product: &str) -> &'a Value {
    order["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["product_id"] == product)
        .unwrap()
}

#[tokio::test]
#[parallel]
async fn an_admin_refunds_lines_then_the_rest_each_with_its_credit_note() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let (ann, order) = paid_order(&server, &ctx, &shop).await;
        let id = order["id"].as_str().unwrap();
        let refund_path = format!("/api/v1/orders/{id}/refund");
        let kettle = item(&order, shop.id("KTL-1"))["variant_id"].clone();
        let hook = post(
            &server,
            &shop.admin,
            "/api/v1/admin/webhooks",
            json!({"url": "https://erp.example.com/hooks", "events": ["order.refunded"]}),
        )
        .await;
        assert_eq!(hook.status_code(), 201, "{}", hook.text());

        // Only admins refund; the customer is refused.
        assert_error(
            &post(&server, &ann, &refund_path, json!({"amount_cents": 100})).await,
            403,
            "forbidden",
        );
        // Lines that are not the order's, too many units, a zero amount: 422, nothing written.
        let bad = post(
            &server,
            &shop.admin,
            &refund_path,
            json!({"lines": [
                {"variant_id": uuid::Uuid::new_v4(), "quantity": 1},
                {"variant_id": kettle, "quantity": 3}
            ], "amount_cents": 0}),
        )
        .await;
        let body = assert_error(&bad, 422, "validation_failed");
        for field in ["lines[0].variant_id", "lines[1].quantity", "amount_cents"] {
            assert!(
                body["error"]["details"][field].is_array(),
                "{field}: {body}"
            );
        }
        let too_much = post(
            &server,
            &shop.admin,
            &refund_path,
            json!({"amount_cents": order["total_cents"].as_i64().unwrap() + 1}),
        )
        .await;
        assert_error(&too_much, 409, "conflict");
        assert!(refunds::Entity::find()
            .all(&ctx.db)
            .await
            .unwrap()
            .is_empty());

        // One kettle: worth its share of what was paid, restocked (the order never shipped).
        let stock_before = product(&server, shop.id("KTL-1")).await["stock"]
            .as_i64()
            .unwrap();
        let one = post(
            &server,
            &shop.admin,
            &refund_path,
            json!({"lines": [{"variant_id": kettle, "quantity": 1}], "reason": "Dented lid"}),
        )
        .await;
        assert_eq!(one.status_code(), 201, "{}", one.text());
        let one: Value = one.json();
        let unit = item(&order, shop.id("KTL-1"))["unit_price_cents"]
            .as_i64()
            .unwrap();
        let subtotal = order["subtotal_cents"].as_i64().unwrap();
        let shipping = order["shipping_cents"].as_i64().unwrap();
        let total = order["total_cents"].as_i64().unwrap();
        // The line's share of the total without shipping (no discount here).
        let worth = (unit * total + (subtotal + shipping) / 2) / (subtotal + shipping);
        assert_eq!(one["amount_cents"], worth, "{one}");
        assert_eq!(one["status"], "succeeded");
        assert_eq!(one["reason"], "Dented lid");
        assert_eq!(one["lines"][0]["quantity"], 1);
        let first_note = one["credit_note_number"].as_i64().unwrap();
        assert_eq!(one["credit_note_reference"], format!("CN-{first_note:06}"));
        assert_eq!(
            product(&server, shop.id("KTL-1")).await["stock"],
            stock_before + 1,
            "restocked"
        );
        assert_ledger_explains(&ctx, kettle.as_str().unwrap()).await;

        let seen: Value = get(&server, &ann, &format!("/api/v1/orders/{id}"))
            .await
            .json();
        assert_eq!(seen["status"], "partially_refunded");
        assert_eq!(seen["refunded_cents"], worth);
        assert_eq!(item(&seen, shop.id("KTL-1"))["refunded_quantity"], 1);
        assert_eq!(item(&seen, shop.id("LMP-1"))["refunded_quantity"], 0);
        assert_eq!(seen["refunds"][0]["credit_note_number"], first_note);
        let last = seen["timeline"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["status"], "partially_refunded");
        assert!(
            last["note"].as_str().unwrap().contains("Dented lid"),
            "{last}"
        );

        // The same kettle line has one unit left: two are refused.
        let again = post(
            &server,
            &shop.admin,
            &refund_path,
            json!({"lines": [{"variant_id": kettle, "quantity": 2}]}),
        )
        .await;
        let body = assert_error(&again, 422, "validation_failed");
        assert!(body["error"]["details"]["lines[0].quantity"].is_array());

        // The credit note: the owner and admins read it, as JSON and printable; nobody else.
        let note_path = format!("/api/v1/orders/{id}/credit-notes/{first_note}");
        let note: Value = get(&server, &ann, &note_path).await.json();
        assert_eq!(note["reference"], format!("CN-{first_note:06}"));
        assert_eq!(note["refund"]["amount_cents"], worth);
        assert_eq!(
            note["net_cents"].as_i64().unwrap() + note["tax_cents"].as_i64().unwrap(),
            worth
        );
        assert_eq!(note["invoice_reference"], "INV-000001");
        let html = server
            .get(&note_path)
            .add_header(ann.0.clone(), ann.1.clone())
            .add_header("accept", "text/html")
            .await;
        assert_eq!(html.status_code(), 200);
        assert_css_exists(&html.text(), "#credit-note-title");
        get(&server, &shop.admin, &note_path)
            .await
            .assert_status_ok();
        let bob = customer(&server, &ctx, "bob@example.com").await;
        assert_error(&get(&server, &bob, &note_path).await, 404, "not_found");
        assert_error(
            &get(
                &server,
                &ann,
                &format!("/api/v1/orders/{id}/credit-notes/999999"),
            )
            .await,
            404,
            "not_found",
        );

        // Everything that is left: the lamp, the other kettle and shipping.
        let rest = post(&server, &shop.admin, &refund_path, json!({})).await;
        assert_eq!(rest.status_code(), 201, "{}", rest.text());
        let rest: Value = rest.json();
        assert_eq!(rest["amount_cents"], total - worth);
        assert_eq!(rest["credit_note_number"], first_note + 1, "its own series");
        let done: Value = get(&server, &ann, &format!("/api/v1/orders/{id}"))
            .await
            .json();
        assert_eq!(done["status"], "refunded");
        assert_eq!(done["refunded_cents"], total);
        assert_eq!(item(&done, shop.id("KTL-1"))["refunded_quantity"], 2);
        assert_eq!(item(&done, shop.id("LMP-1"))["refunded_quantity"], 1);
        assert_error(
            &post(
                &server,
                &shop.admin,
                &refund_path,
                json!({"amount_cents": 1}),
            )
            .await,
            409,
            "invalid_transition",
        );

        // The money went back through the provider in two refunds, each on record.
        let money: Vec<i64> = transactions::Entity::find()
            .filter(transactions::Column::Kind.eq("refund"))
            .filter(transactions::Column::Status.eq("succeeded"))
            .all(&ctx.db)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.amount_cents)
            .collect();
        assert_eq!(money.iter().sum::<i64>(), total);
        assert_eq!(money.len(), 2);
        // A mail per refund, naming its credit note; a webhook per refund with its amount.
        let mails: Vec<_> = mails_to(&ctx, "ann@example.com")
            .await
            .into_iter()
            .filter(|m| m.kind == "order_refunded")
            .collect();
        assert_eq!(mails.len(), 2);
        assert!(mails
            .iter()
            .any(|m| m.text_body.contains(&format!("CN-{first_note:06}"))));
        let hooks: Vec<Value> = webhook_deliveries::Entity::find()
            .filter(webhook_deliveries::Column::Event.eq("order.refunded"))
            .all(&ctx.db)
            .await
            .unwrap()
            .into_iter()
            .map(|d| serde_json::from_str(&d.payload).unwrap())
            .collect();
        let amounts: Vec<i64> = hooks
            .iter()
            .map(|h| {
                h["data"]["refund"]["amount_cents"]
                    .as_i64()
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(amounts.len(), 2, "{hooks:?}");
        assert!(
            amounts.contains(&worth) && amounts.contains(&(total - worth)),
            "{amounts:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[parallel]
async fn racing_partial_refunds_never_return_more_than_was_paid() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let (_, order) = paid_order(&server, &ctx, &shop).await;
        let id = order["id"].as_str().unwrap();
        let total = order["total_cents"].as_i64().unwrap();
        let path = format!("/api/v1/orders/{id}/refund");
        // Each asks for more than half: both together would be more than was paid.
        let half = total / 2 + 1;
        let results = join_all(
            (0..4).map(|_| post(&server, &shop.admin, &path, json!({"amount_cents": half}))),
        )
        .await;
        let made = results.iter().filter(|r| r.status_code() == 201).count();
        assert_eq!(
            made,
            1,
            "{:?}",
            results.iter().map(|r| r.text()).collect::<Vec<_>>()
        );
        for r in results.iter().filter(|r| r.status_code() != 201) {
            assert_error(r, 409, "conflict");
        }
        let back: i64 = refunds::Entity::find()
            .all(&ctx.db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.amount_cents)
            .sum();
        assert_eq!(back, half);
        let seen: Value = get(&server, &shop.admin, &format!("/api/v1/orders/{id}"))
            .await
            .json();
        assert_eq!(seen["status"], "partially_refunded");
        assert_eq!(seen["refunded_cents"], half);
        // A partially refunded order is still shipped (once) and completed.
        let step = |s: &str| format!("/api/v1/orders/{id}/{s}");
        assert_error(
            &post(&server, &shop.admin, &step("complete"), json!({})).await,
            409,
            "invalid_transition",
        );
        post(&server, &shop.admin, &step("ship"), json!({}))
            .await
            .assert_status_ok();
        let more = post(
            &server,
            &shop.admin,
            &step("refund"),
            json!({"amount_cents": 1}),
        )
        .await;
        assert_eq!(more.status_code(), 201, "{}", more.text());
        let again: Value = get(&server, &shop.admin, &format!("/api/v1/orders/{id}"))
            .await
            .json();
        assert_eq!(again["status"], "partially_refunded");
        assert_error(
            &post(&server, &shop.admin, &step("ship"), json!({})).await,
            409,
            "invalid_transition",
        );
        post(&server, &shop.admin, &step("complete"), json!({}))
            .await
            .assert_status_ok();
    })
    .await;
}

/// The admin's form refunds one line without JavaScript; the customer's order page lists the
/// credit note, which opens as a printable page.
#[tokio::test]
#[parallel]
async fn the_admin_form_refunds_a_line_and_the_shop_page_links_the_credit_note() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let (_, order) = paid_order(&server, &ctx, &shop).await;
        let id = order["id"].as_str().unwrap();
        let kettle = item(&order, shop.id("KTL-1"))["variant_id"]
            .as_str()
            .unwrap()
            .to_string();
        let csrf = sign_in(&server, "admin@example.com").await;
        let page = server.get(&format!("/admin/orders/{id}")).await.text();
        assert_css_exists(
            &page,
            &format!("#refund-part-form input[name='qty_{kettle}'][max='2']"),
        );
        let qty = format!("qty_{kettle}");
        let nothing = server
            .post(&format!("/admin/orders/{id}/refund"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("mode", "part"),
                ("reason", "damaged"),
            ])
            .await;
        assert_eq!(nothing.status_code(), 422);
        assert!(nothing
            .text()
            .contains("Choose items to refund, or enter an amount."));
        let too_many = server
            .post(&format!("/admin/orders/{id}/refund"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("mode", "part"),
                (qty.as_str(), "5"),
                ("reason", "damaged"),
            ])
            .await;
        assert_eq!(too_many.status_code(), 422);
        assert!(too_many.text().contains("Refund from 1 to 2 of this item."));
        let done = server
            .post(&format!("/admin/orders/{id}/refund"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("mode", "part"),
                (qty.as_str(), "1"),
                ("reason", "damaged"),
                ("note", "lid"),
            ])
            .await;
        assert_eq!(done.status_code(), 303, "{}", done.text());
        let page = server.get(&format!("/admin/orders/{id}")).await.text();
        assert_css_exists(&page, "#refund-list a[href*='/credit-notes/']");
        assert_css_exists(&page, "#order-status.status-partially_refunded");

        // Ann's own pages.
        let shopper = browser(&ctx);
        sign_in(&shopper, "ann@example.com").await;
        let mine = shopper.get(&format!("/orders/{id}")).await.text();
        let links = texts(&mine, "#credit-notes a");
        assert_eq!(links.len(), 1, "{mine}");
        assert!(links[0].starts_with("Credit note CN-"));
        let number = refunds::Entity::find()
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap()
            .credit_note_number
            .unwrap();
        let printable = shopper
            .get(&format!("/orders/{id}/credit-notes/{number}"))
            .await;
        assert_eq!(printable.status_code(), 200);
        assert_css_exists(&printable.text(), "#credit-note-total");
        // Someone else's session gets nothing.
        let other = browser(&ctx);
        customer(&server, &ctx, "bob@example.com").await;
        sign_in(&other, "bob@example.com").await;
        assert_eq!(
            other
                .get(&format!("/orders/{id}/credit-notes/{number}"))
                .await
                .status_code(),
            404
        );
    })
    .await;
}
