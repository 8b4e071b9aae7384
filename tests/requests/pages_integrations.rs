//! Admin pages for integrations and bulk work: webhook endpoints with their delivery log, and
//! the product CSV export and import (all or nothing, errors by line).
use emporium::{domain::role::Role, models::notifications};
use loco_rs::testing::prelude::*;
use serde_json::Value;
use serial_test::parallel;

use crate::support::{orders, receiver::Receiver, *};

fn location(res: &axum_test::TestResponse) -> String {
    assert_eq!(res.status_code(), 303, "{}", res.text());
    res.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
#[parallel]
async fn an_admin_registers_a_webhook_reads_its_log_and_redelivers_from_the_pages() {
    with_app(|server, ctx| async move {
        let shop = orders::shop(&server, &ctx).await;
        user(&ctx, "clerk@example.com", Role::Staff).await;
        let csrf = sign_in(&server, "clerk@example.com").await;
        assert_eq!(server.get("/admin/webhooks").await.status_code(), 403);
        let res = server
            .post("/admin/webhooks")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("url", "https://x.example.com"),
                ("events", "stock.low"),
            ])
            .await;
        assert_eq!(res.status_code(), 403);

        let csrf = sign_in(&server, "admin@example.com").await;
        let bad = server
            .post("/admin/webhooks")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("url", "not a url"),
                ("description", "ERP"),
            ])
            .await;
        assert_eq!(bad.status_code(), 422);
        let html = bad.text();
        assert!(html.contains("Enter an absolute URL"), "{html}");
        assert!(html.contains("Choose at least one event."));
        assert!(
            html.contains("value=\"ERP\""),
            "the form keeps what was typed"
        );

        let receiver = Receiver::start(&[]).await;
        let res = server
            .post("/admin/webhooks")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("url", receiver.url.as_str()),
                ("events", "stock.low"),
                ("events", "order.paid"),
            ])
            .await;
        let detail = location(&res);
        let html = server.get(&detail).await.text();
        assert_css_exists(&html, "#hook-secret");
        assert!(html.contains("No deliveries yet."));
        let list = server.get("/admin/webhooks").await.text();
        assert!(list.contains(&receiver.url));

        notifications::check_stock(&ctx).await.unwrap();
        let got = receiver.wait_for(3).await;
        let html = server.get(&detail).await.text();
        assert_eq!(html.matches("class=\"delivery\"").count(), 3, "{html}");
        assert!(html.contains("HTTP 200"));
        assert!(html.contains(&got[0].header("x-emporium-event-id")));

        // Redeliver the newest one from its button.
        let start = html.find("/deliveries/").unwrap() + "/deliveries/".len();
        let delivery: String = html[start..].chars().take(36).collect();
        let res = server
            .post(&format!("{detail}/deliveries/{delivery}/redeliver"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(location(&res), detail);
        let got = receiver.wait_for(4).await;
        assert_eq!(got.len(), 4);
        let html = server.get(&detail).await.text();
        assert_eq!(html.matches("class=\"delivery\"").count(), 4);
        assert!(html.contains("is queued for delivery again"));
        let failed = server.get(&format!("{detail}?status=failed")).await.text();
        assert!(failed.contains("No deliveries yet."));

        // A refused edit shows the form again with what was typed.
        let res = server
            .post(&detail)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("url", "nope"),
                ("events", "order.paid"),
                ("active", "true"),
            ])
            .await;
        assert_eq!(res.status_code(), 422);
        assert!(res.text().contains("value=\"nope\""));

        // Disable it: later events are not sent.
        let res = server
            .post(&detail)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("url", receiver.url.as_str()),
                ("events", "order.paid"),
            ])
            .await;
        assert_eq!(location(&res), detail);
        let one: Value = orders::get(
            &server,
            &shop.admin,
            &format!(
                "/api/v1/admin/webhooks/{}",
                detail.rsplit('/').next().unwrap()
            ),
        )
        .await
        .json();
        assert_eq!(one["active"], false);
        assert_eq!(one["events"], serde_json::json!(["order.paid"]));
    })
    .await;
}

/// The rows of a CSV text as maps from column to cell.
fn rows(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

fn to_csv(rows: &[std::collections::BTreeMap<String, String>], columns: &[&str]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(columns).unwrap();
    for r in rows {
        w.write_record(
            columns
                .iter()
                .map(|c| r.get(*c).cloned().unwrap_or_default()),
        )
        .unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

async fn upload(
    server: &loco_rs::TestServer,
    csrf: &str,
    text: &str,
    update_stock: bool,
) -> String {
    let mut form =
        axum_test::multipart::MultipartForm::new().add_text("csrf_token", csrf.to_string());
    if update_stock {
        form = form.add_text("update_stock", "true");
    }
    let form = form.add_part(
        "file",
        axum_test::multipart::Part::bytes(text.as_bytes().to_vec()).file_name("products.csv"),
    );
    location(&server.post("/admin/products/import").multipart(form).await)
}

#[tokio::test]
#[parallel]
async fn the_catalogue_exports_to_csv_and_an_edited_file_imports_back() {
    with_app(|server, ctx| async move {
        let shop = orders::shop(&server, &ctx).await;
        let csrf = sign_in(&server, "pm@example.com").await;
        let res = server.get("/admin/products/export.csv").await;
        res.assert_status_ok();
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        assert!(res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("products-"));
        let text = res.text();
        let header = text.lines().next().unwrap();
        assert_eq!(header, emporium::domain::product_csv::COLUMNS.join(","));
        let mut all = rows(&text);
        assert_eq!(all.len(), 5, "one row per variant of the five products");
        let mug = all.iter_mut().find(|r| r["sku"] == "MUG-2").unwrap();
        assert_eq!(mug["product_id"], shop.id("MUG-2"));
        mug.insert("price_cents".into(), "999".into());
        let lamp = all.iter_mut().find(|r| r["sku"] == "LMP-1").unwrap();
        lamp.insert("stock".into(), "20".into());
        lamp.insert("tags".into(), "reading, desk".into());
        lamp.insert("weight_grams".into(), "1500".into());
        let columns = emporium::domain::product_csv::COLUMNS;
        let mut new_rows = Vec::new();
        for (size, sku, price) in [("S", "SOCK-S", "900"), ("M", "SOCK-M", "950")] {
            let mut r = std::collections::BTreeMap::new();
            for (k, v) in [
                ("name", "Wool Socks"),
                ("category", "outdoor"),
                ("description", "Warm."),
                ("option1_name", "Size"),
                ("option1_value", size),
                ("sku", sku),
                ("price_cents", price),
                ("stock", "7"),
            ] {
                r.insert(k.to_string(), v.to_string());
            }
            if size == "S" {
                r.insert("weight_grams".into(), "200".into());
            }
            new_rows.push(r);
        }
        all.extend(new_rows);
        // The stock column of an old export must not undo the sales since: only the changed
        // price goes in.
        let page = upload(&server, &csrf, &to_csv(&all, &columns), false).await;
        assert!(page.starts_with("/admin/products/import/"));
        let html = server.get(&page).await.text();
        assert!(
            html.contains("7 rows imported: 1 product created, 5 updated."),
            "{html}"
        );
        assert_eq!(
            orders::product(&server, shop.id("LMP-1")).await["stock"],
            12
        );
        assert_eq!(
            orders::product(&server, shop.id("MUG-2")).await["price_cents"],
            999
        );
        assert_eq!(
            orders::product(&server, "wool-socks").await["stock"],
            14,
            "new variants take it"
        );
        // With the box ticked the stock column is applied too.
        let page = upload(&server, &csrf, &to_csv(&all, &columns), true).await;
        let html = server.get(&page).await.text();
        assert!(
            html.contains("7 rows imported: 0 products created, 6 updated."),
            "{html}"
        );

        let mug = orders::product(&server, shop.id("MUG-2")).await;
        assert_eq!(mug["price_cents"], 999);
        let lamp = orders::product(&server, shop.id("LMP-1")).await;
        assert_eq!(lamp["stock"], 20);
        let mut tags: Vec<String> = serde_json::from_value(lamp["tags"].clone()).unwrap();
        tags.sort();
        assert_eq!(tags, vec!["desk", "reading"]);
        orders::assert_ledger_explains(&ctx, lamp["variants"][0]["id"].as_str().unwrap()).await;
        let socks = orders::product(&server, "wool-socks").await;
        assert_eq!(socks["options"][0]["values"], serde_json::json!(["S", "M"]));
        assert_eq!(socks["variants"].as_array().unwrap().len(), 2);
        assert_eq!(socks["category"]["slug"], "outdoor");
        assert_eq!(socks["stock"], 14);
        assert_eq!(lamp["weight_grams"], 1500);
        assert_eq!(socks["variants"][0]["weight_grams"], 200);
        assert!(socks["variants"][1]["weight_grams"].is_null());

        // Importing the same file again changes nothing and creates nothing twice.
        let again = rows(&server.get("/admin/products/export.csv").await.text());
        let page = upload(&server, &csrf, &to_csv(&again, &columns), true).await;
        let html = server.get(&page).await.text();
        assert!(
            html.contains("7 rows imported: 0 products created, 6 updated."),
            "{html}"
        );
        assert_eq!(orders::product(&server, "wool-socks").await["stock"], 14);
        // A file from before the weight column keeps the weights; an empty cell clears one.
        let without: Vec<&str> = columns
            .iter()
            .copied()
            .filter(|c| *c != "weight_grams")
            .collect();
        let page = upload(&server, &csrf, &to_csv(&again, &without), true).await;
        assert!(server.get(&page).await.text().contains("7 rows imported"));
        assert_eq!(
            orders::product(&server, shop.id("LMP-1")).await["weight_grams"],
            1500
        );
        let mut cleared = again.clone();
        let lamp = cleared.iter_mut().find(|r| r["sku"] == "LMP-1").unwrap();
        assert_eq!(lamp["weight_grams"], "1500", "the export writes weights");
        lamp.insert("weight_grams".into(), String::new());
        let page = upload(&server, &csrf, &to_csv(&cleared, &columns), true).await;
        assert!(server.get(&page).await.text().contains("7 rows imported"));
        assert!(orders::product(&server, shop.id("LMP-1")).await["weight_grams"].is_null());
        let imports = server.get("/admin/products/import").await.text();
        assert_eq!(imports.matches("import-succeeded").count(), 5);
        assert_eq!(imports.matches("import-failed").count(), 0);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_file_with_errors_changes_nothing_and_names_each_bad_line() {
    with_app(|server, ctx| async move {
        let shop = orders::shop(&server, &ctx).await;
        let csrf = sign_in(&server, "pm@example.com").await;
        let text = "name,slug,category,sku,price_cents,stock\n\
                    Good Product,good-product,,GOOD-1,500,3\n\
                    Bad Price,,,BAD-1,cheap,1\n\
                    Lost Category,,nowhere,LOST-1,100,1\n\
                    Taken,,,MUG-2,100,1\n\
                    No Sku,,,,100,1\n";
        let page = upload(&server, &csrf, text, false).await;
        let html = server.get(&page).await.text();
        assert!(
            html.contains("Nothing was imported: the file has 4 lines with errors."),
            "{html}"
        );
        for (line, words) in [
            (3, "price_cents: enter a whole number."),
            (4, "category: no category \"nowhere\""),
            (5, "sku: MUG-2 belongs to another variant."),
            (6, "sku: This field is required."),
        ] {
            assert!(
                html.contains(&format!("Line {line}: ")),
                "line {line}: {html}"
            );
            assert!(
                html.contains(&words.replace('"', "&quot;")) || html.contains(words),
                "{words}: {html}"
            );
        }
        assert!(!html.contains("Line 2:"), "line 2 is fine");
        // The good line was not applied either.
        assert_error(
            &server.get("/api/v1/products/good-product").await,
            404,
            "not_found",
        );
        assert_eq!(
            orders::product(&server, shop.id("MUG-2")).await["price_cents"],
            900
        );

        // htmx polls the status panel only.
        let fragment = server
            .get(&page)
            .add_header("hx-request", "true")
            .await
            .text();
        assert!(
            fragment
                .trim_start()
                .starts_with("<section class=\"card\" id=\"import-status\""),
            "{fragment}"
        );
        assert!(
            !fragment.contains("hx-trigger"),
            "a finished import is not polled"
        );

        // Not CSV text, and no file at all: the form again with a message.
        let form = axum_test::multipart::MultipartForm::new()
            .add_text("csrf_token", csrf.clone())
            .add_part(
                "file",
                axum_test::multipart::Part::bytes(vec![0xff, 0xfe, 0x00]).file_name("x.csv"),
            );
        let res = server.post("/admin/products/import").multipart(form).await;
        assert_eq!(res.status_code(), 422);
        assert!(res.text().contains("UTF-8"));
        let form = axum_test::multipart::MultipartForm::new().add_text("csrf_token", csrf.clone());
        let res = server.post("/admin/products/import").multipart(form).await;
        assert_eq!(res.status_code(), 422);
        assert!(res.text().contains("Choose a file to upload."));

        user(&ctx, "clerk@example.com", Role::Staff).await;
        sign_in(&server, "clerk@example.com").await;
        assert_eq!(
            server.get("/admin/products/export.csv").await.status_code(),
            403
        );
        assert_eq!(
            server.get("/admin/products/import").await.status_code(),
            403
        );
        assert_eq!(server.get(&page).await.status_code(), 403);
    })
    .await;
}
