//! The address book (issue 19): several addresses per customer, one default of each kind,
//! reached only by their owner, and chosen at checkout in the API and the pages.
use loco_rs::testing::prelude::*;
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{orders::*, *};

fn entry(city: &str, country: &str) -> Value {
    json!({"name": "Ann Lee", "line1": "1 Harbour Road", "city": city, "postal_code": "24103", "country": country})
}

async fn book(server: &loco_rs::TestServer, who: &Auth) -> Vec<Value> {
    let res = get(server, who, "/api/v1/me/addresses").await;
    assert_eq!(res.status_code(), 200, "{}", res.text());
    res.json::<Value>()["results"].as_array().unwrap().clone()
}

fn defaults(list: &[Value]) -> Vec<(String, bool, bool)> {
    list.iter()
        .map(|a| {
            (
                a["city"].as_str().unwrap().to_string(),
                a["is_default_shipping"].as_bool().unwrap(),
                a["is_default_billing"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
#[parallel]
async fn a_customer_keeps_several_addresses_with_one_default_of_each_kind() {
    with_app(|server, ctx| async move {
        let ann = customer(&server, &ctx, "ann@example.com").await;
        assert!(book(&server, &ann).await.is_empty());
        assert_error(
            &get(&server, &ann, "/api/v1/me/address").await,
            404,
            "not_found",
        );

        let kiel = post(&server, &ann, "/api/v1/me/addresses", entry("Kiel", "DE")).await;
        assert_eq!(kiel.status_code(), 201, "{}", kiel.text());
        let kiel: Value = kiel.json();
        assert_eq!(
            kiel["is_default_shipping"], true,
            "the first is both defaults"
        );
        assert_eq!(kiel["is_default_billing"], true);
        let mut body = entry("Oslo", "no");
        body["is_default_shipping"] = json!(true);
        let oslo: Value = post(&server, &ann, "/api/v1/me/addresses", body)
            .await
            .json();
        assert_eq!(oslo["country"], "NO");
        post(&server, &ann, "/api/v1/me/addresses", entry("Wien", "AT"))
            .await
            .assert_status(axum::http::StatusCode::CREATED);
        assert_eq!(
            defaults(&book(&server, &ann).await),
            [
                ("Oslo".into(), true, false),
                ("Kiel".into(), false, true),
                ("Wien".into(), false, false)
            ],
            "one default of each kind, defaults first"
        );
        // `/me/address` is the default shipping address.
        let default: Value = get(&server, &ann, "/api/v1/me/address").await.json();
        assert_eq!(default["city"], "Oslo");

        // Edits: fields and defaults; a bad field changes nothing.
        let wien = book(&server, &ann).await[2]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let path = format!("/api/v1/me/addresses/{wien}");
        let res = server
            .patch(&path)
            .add_header(ann.0.clone(), ann.1.clone())
            .json(&json!({"city": "Vienna", "is_default_billing": true}))
            .await;
        assert_eq!(res.status_code(), 200, "{}", res.text());
        assert_eq!(res.json::<Value>()["city"], "Vienna");
        let bad = server
            .patch(&path)
            .add_header(ann.0.clone(), ann.1.clone())
            .json(&json!({"country": "Atlantis"}))
            .await;
        assert_error(&bad, 422, "validation_failed");
        assert_eq!(
            defaults(&book(&server, &ann).await),
            [
                ("Oslo".into(), true, false),
                ("Vienna".into(), false, true),
                ("Kiel".into(), false, false)
            ]
        );

        // Another customer can neither see, change nor delete them.
        let bob = customer(&server, &ctx, "bob@example.com").await;
        assert!(book(&server, &bob).await.is_empty());
        let res = server
            .patch(&path)
            .add_header(bob.0.clone(), bob.1.clone())
            .json(&json!({"city": "Mine"}))
            .await;
        assert_error(&res, 404, "not_found");
        let res = server
            .delete(&path)
            .add_header(bob.0.clone(), bob.1.clone())
            .await;
        assert_error(&res, 404, "not_found");
        let res = server
            .delete("/api/v1/me/addresses/not-an-id")
            .add_header(bob.0.clone(), bob.1.clone())
            .await;
        assert_error(&res, 404, "not_found");

        // Deleting a default hands it to the oldest address left.
        let oslo = oslo["id"].as_str().unwrap();
        server
            .delete(&format!("/api/v1/me/addresses/{oslo}"))
            .add_header(ann.0.clone(), ann.1.clone())
            .await
            .assert_status(axum::http::StatusCode::NO_CONTENT);
        assert_eq!(
            defaults(&book(&server, &ann).await),
            [("Kiel".into(), true, false), ("Vienna".into(), false, true)]
        );
        let default: Value = get(&server, &ann, "/api/v1/me/address").await.json();
        assert_eq!(default["city"], "Kiel");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn an_address_book_is_bounded() {
    with_app(|server, ctx| async move {
        let ann = customer(&server, &ctx, "ann@example.com").await;
        for i in 0..20 {
            post(
                &server,
                &ann,
                "/api/v1/me/addresses",
                entry(&format!("Town {i}"), "DE"),
            )
            .await
            .assert_status(axum::http::StatusCode::CREATED);
        }
        let full = post(
            &server,
            &ann,
            "/api/v1/me/addresses",
            entry("One more", "DE"),
        )
        .await;
        let body = assert_error(&full, 422, "validation_failed");
        assert!(body["error"]["details"]["address"].is_array(), "{body}");
        let page: Value = get(&server, &ann, "/api/v1/me/addresses?page=2&page_size=15")
            .await
            .json();
        assert_eq!(page["count"], 20);
        assert_eq!(page["results"].as_array().unwrap().len(), 5);
        assert!(page["next"].is_null());
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn racing_writes_keep_the_book_bounded_with_one_default_of_each_kind() {
    with_app(|server, ctx| async move {
        let ann = customer(&server, &ctx, "ann@example.com").await;
        let adds = (0..26).map(|i| {
            let mut body = entry(&format!("Town {i}"), "DE");
            body["is_default_shipping"] = json!(true);
            body["is_default_billing"] = json!(true);
            let (server, ann) = (&server, &ann);
            async move { post(server, ann, "/api/v1/me/addresses", body).await }
        });
        let answers = futures::future::join_all(adds).await;
        let mut statuses: Vec<u16> = answers.iter().map(|r| r.status_code().as_u16()).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [[201; 20].as_slice(), &[422; 6]].concat());
        let list = book(&server, &ann).await;
        assert_eq!(list.len(), 20);
        let flags = defaults(&list);
        assert_eq!(flags.iter().filter(|f| f.1).count(), 1, "{flags:?}");
        assert_eq!(flags.iter().filter(|f| f.2).count(), 1, "{flags:?}");

        // Every address made the default at once, and all deleted at once: never two defaults,
        // never an error, and nothing left.
        let ids: Vec<String> = list
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect();
        let patches = ids.iter().map(|id| {
            let (server, ann) = (&server, &ann);
            async move {
                server
                    .patch(&format!("/api/v1/me/addresses/{id}"))
                    .add_header(ann.0.clone(), ann.1.clone())
                    .json(&json!({"is_default_shipping": true, "is_default_billing": true}))
                    .await
            }
        });
        for r in futures::future::join_all(patches).await {
            assert_eq!(r.status_code(), 200, "{}", r.text());
        }
        let flags = defaults(&book(&server, &ann).await);
        assert_eq!(flags.iter().filter(|f| f.1).count(), 1, "{flags:?}");
        assert_eq!(flags.iter().filter(|f| f.2).count(), 1, "{flags:?}");
        let deletes = ids.iter().map(|id| {
            let (server, ann) = (&server, &ann);
            async move {
                server
                    .delete(&format!("/api/v1/me/addresses/{id}"))
                    .add_header(ann.0.clone(), ann.1.clone())
                    .await
            }
        });
        for r in futures::future::join_all(deletes).await {
            assert_eq!(r.status_code(), 204, "{}", r.text());
        }
        assert!(book(&server, &ann).await.is_empty());
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn checkout_takes_addresses_from_the_callers_book_only() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        let bob = customer(&server, &ctx, "bob@example.com").await;
        let kiel: Value = post(&server, &ann, "/api/v1/me/addresses", entry("Kiel", "DE"))
            .await
            .json();
        let mut billing = entry("Hamburg", "DE");
        billing["company"] = json!("Harbour Books");
        let hamburg: Value = post(&server, &ann, "/api/v1/me/addresses", billing)
            .await
            .json();
        let bobs: Value = post(&server, &bob, "/api/v1/me/addresses", entry("Bergen", "NO"))
            .await
            .json();
        add(&server, &ann, shop.id("MUG-2"), 1)
            .await
            .assert_status(axum::http::StatusCode::CREATED);

        for (body, field) in [
            (
                json!({"shipping_address_id": bobs["id"]}),
                "shipping_address_id",
            ),
            (
                json!({"shipping_address_id": kiel["id"], "billing_address_id": bobs["id"]}),
                "billing_address_id",
            ),
            (
                json!({"shipping_address_id": kiel["id"], "shipping_address": address("DE")}),
                "shipping_address_id",
            ),
            (json!({}), "shipping_address"),
        ] {
            let res = post(&server, &ann, "/api/v1/checkout", body).await;
            let err = assert_error(&res, 422, "validation_failed");
            assert!(err["error"]["details"][field].is_array(), "{field}: {err}");
        }
        let res = post(
            &server,
            &ann,
            "/api/v1/checkout",
            json!({"shipping_address_id": kiel["id"], "billing_address_id": hamburg["id"]}),
        )
        .await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        let order: Value = res.json();
        assert_eq!(order["shipping_address"]["city"], "Kiel");
        assert_eq!(order["billing_address"]["city"], "Hamburg");
        assert_eq!(order["billing_address"]["company"], "Harbour Books");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn the_account_pages_keep_the_book_and_checkout_offers_it() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = user(
            &ctx,
            "ann@example.com",
            emporium::domain::role::Role::Customer,
        )
        .await;
        let csrf = sign_in(&server, "ann@example.com").await;
        let form = |city: &'static str, extra: &'static [(&'static str, &'static str)]| {
            let mut f = vec![
                ("csrf_token", csrf.clone()),
                ("name", "Ann Lee".to_string()),
                ("line1", "1 Harbour Road".to_string()),
                ("city", city.to_string()),
                ("postal_code", "24103".to_string()),
                ("country", "DE".to_string()),
            ];
            f.extend(extra.iter().map(|(k, v)| (*k, (*v).to_string())));
            f
        };
        let res = server
            .post("/account/addresses")
            .form(&form("Kiel", &[]))
            .await;
        assert_eq!(res.status_code(), 303);
        let res = server
            .post("/account/addresses")
            .form(&form("Lübeck", &[("default_billing", "on")]))
            .await;
        assert_eq!(res.status_code(), 303);
        // A bad address comes back with its message and what was typed.
        let bad = server.post("/account/addresses").form(&form("", &[])).await;
        assert_eq!(bad.status_code(), 422);
        assert_css_exists(&bad.text(), "#city[aria-invalid=true]");
        assert_css_exists(&bad.text(), "input[name=line1][value='1 Harbour Road']");

        let page = server.get("/account").await.text();
        let entries = select(&page, "#address-book li");
        assert_eq!(entries.len(), 2, "{entries:?}");
        assert!(entries[0].contains("Kiel") && entries[0].contains("Default delivery address"));
        assert!(entries[1].contains("Lübeck") && entries[1].contains("Default billing address"));

        // Edit, then make Lübeck the delivery default too.
        let saved = emporium::models::accounts::addresses::list(&ctx.db, ann.id)
            .await
            .unwrap();
        let (kiel, luebeck) = (saved[0].pid, saved[1].pid);
        let edit = server.get(&format!("/account/addresses/{luebeck}")).await;
        assert_eq!(edit.status_code(), 200);
        assert_css_exists(&edit.text(), "input[name=city][value='Lübeck']");
        let res = server
            .post(&format!("/account/addresses/{luebeck}"))
            .form(&form("Travemünde", &[]))
            .await;
        assert_eq!(res.status_code(), 303);
        let res = server
            .post(&format!("/account/addresses/{luebeck}/default"))
            .form(&[("csrf_token", csrf.as_str()), ("kind", "shipping")])
            .await;
        assert_eq!(res.status_code(), 303);
        let page = server.get("/account").await.text();
        let entries = select(&page, "#address-book li");
        assert!(
            entries[0].contains("Travemünde")
                && entries[0].contains("Default delivery address")
                && entries[0].contains("Default billing address"),
            "{entries:?}"
        );

        // Another customer's address is not found, from any door.
        let bob = browser(&ctx);
        user(
            &ctx,
            "bob@example.com",
            emporium::domain::role::Role::Customer,
        )
        .await;
        let bob_csrf = sign_in(&bob, "bob@example.com").await;
        assert_eq!(
            bob.get(&format!("/account/addresses/{kiel}"))
                .await
                .status_code(),
            404
        );
        let res = bob
            .post(&format!("/account/addresses/{kiel}/delete"))
            .form(&[("csrf_token", bob_csrf.as_str())])
            .await;
        assert_eq!(res.status_code(), 404);

        // Checkout offers the book with the defaults chosen, and takes a saved address.
        post_form_add(&server, &csrf, shop.id("MUG-2")).await;
        let checkout = server.get("/checkout").await.text();
        assert_css_exists(
            &checkout,
            &format!("input[name=ship_to][value='{luebeck}'][checked]"),
        );
        assert_css_exists(&checkout, "input[name=bill_to][value=same][checked]");
        let csrf = csrf_from(&checkout);
        let placed = server
            .post("/checkout")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("ship_to", &kiel.to_string()),
                ("bill_to", &luebeck.to_string()),
            ])
            .await;
        assert_eq!(placed.status_code(), 303, "{}", placed.text());
        let order = server
            .get(placed.header("location").to_str().unwrap())
            .await
            .text();
        assert!(select(&order, "p.address")[0].contains("Kiel"), "{order}");
        use sea_orm::EntityTrait;
        let placed = emporium::models::_entities::orders::Entity::find()
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert!(
            placed.billing_address.contains("Travemünde"),
            "{}",
            placed.billing_address
        );

        // Bob cannot ship to Ann's address by naming it.
        post_form_add(&bob, &bob_csrf, shop.id("MUG-2")).await;
        let bob_checkout = bob.get("/checkout").await.text();
        let res = bob
            .post("/checkout")
            .form(&[
                ("csrf_token", csrf_from(&bob_checkout).as_str()),
                ("ship_to", &kiel.to_string()),
            ])
            .await;
        assert_eq!(res.status_code(), 422);
        assert!(res
            .text()
            .contains("This is not an address of your address book."));
    })
    .await;
}
