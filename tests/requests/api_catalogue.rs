//! `/api/v1/products`, `/variants`, `/categories`, `/brands`: API.md "Catalogue".
use emporium::domain::role::Role;
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{
    catalogue::{manager, post, seed},
    *,
};

#[tokio::test]
#[parallel]
async fn simple_product_crud_reads_and_writes_its_one_variant() {
    with_app(|server, ctx| async move {
        let pm = manager(&server, &ctx).await;
        let p = post(
            &server,
            &pm,
            "/api/v1/products",
            json!({
                "sku": "MUG-1", "name": "Enamel Mug", "description": "A mug for camp coffee.",
                "price_cents": 1250, "stock": 7, "tags": ["Camping", "kitchen"], "featured": true,
            }),
        )
        .await;
        assert_eq!(p["sku"], "MUG-1");
        assert_eq!(p["slug"], "enamel-mug");
        assert_eq!(p["price_cents"], 1250);
        assert_eq!(p["currency"], "EUR");
        assert_eq!(
            (p["stock"].as_i64(), p["available"].as_i64()),
            (Some(7), Some(7))
        );
        assert_eq!(p["variants"].as_array().unwrap().len(), 1);
        assert_eq!(p["variants"][0]["sku"], "MUG-1");
        assert_eq!(p["tags"], json!(["Camping", "kitchen"]));
        assert_eq!(p["active"], true);
        assert_eq!(p["options"], json!([]));
        let id = p["id"].as_str().unwrap().to_string();

        // Readable by id and by slug, anonymously; the read fills the cache.
        let by_slug: Value = server.get("/api/v1/products/enamel-mug").await.json();
        assert_eq!(by_slug["id"], id.as_str());
        server
            .get(&format!("/api/v1/products/{id}"))
            .await
            .assert_status_ok();

        // The flat fields write the variant, and the next read is never stale.
        let res = server
            .patch(&format!("/api/v1/products/{id}"))
            .add_header(pm.0.clone(), pm.1.clone())
            .json(&json!({"price_cents": 990, "stock": 3, "name": "Enamel Mug XL"}))
            .await;
        res.assert_status_ok();
        for path in [
            format!("/api/v1/products/{id}"),
            "/api/v1/products/enamel-mug".to_string(),
        ] {
            let fresh: Value = server.get(&path).await.json();
            assert_eq!(fresh["price_cents"], 990, "{path}");
            assert_eq!(fresh["variants"][0]["price_cents"], 990);
            assert_eq!(fresh["stock"], 3);
            assert_eq!(fresh["name"], "Enamel Mug XL");
        }
        let listed: Value = server.get("/api/v1/products?featured=true").await.json();
        assert_eq!(listed["results"][0]["price_cents"], 990);

        // Deactivated products disappear for the public but not for staff.
        server
            .patch(&format!("/api/v1/products/{id}"))
            .add_header(pm.0.clone(), pm.1.clone())
            .json(&json!({"active": false}))
            .await
            .assert_status_ok();
        assert_error(
            &server.get(&format!("/api/v1/products/{id}")).await,
            404,
            "not_found",
        );
        let staff_view = server
            .get(&format!("/api/v1/products/{id}"))
            .add_header(pm.0.clone(), pm.1.clone())
            .await;
        staff_view.assert_status_ok();
        assert_eq!(
            server.get("/api/v1/products").await.json::<Value>()["count"],
            0
        );
        let staff_list: Value = server
            .get("/api/v1/products?include_inactive=true")
            .add_header(pm.0.clone(), pm.1.clone())
            .await
            .json();
        assert_eq!(staff_list["count"], 1);

        // Without orders, DELETE deletes.
        let res = server
            .delete(&format!("/api/v1/products/{id}"))
            .add_header(pm.0.clone(), pm.1.clone())
            .await;
        assert_eq!(res.status_code(), 204);
        let gone = server
            .get(&format!("/api/v1/products/{id}"))
            .add_header(pm.0.clone(), pm.1.clone())
            .await;
        assert_error(&gone, 404, "not_found");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn catalogue_writes_need_a_catalogue_role() {
    with_app(|server, ctx| async move {
        let body = json!({"sku": "A", "name": "A", "price_cents": 1});
        assert_error(
            &server.post("/api/v1/products").json(&body).await,
            401,
            "unauthorized",
        );
        for (email, role) in [
            ("c@example.com", Role::Customer),
            ("s@example.com", Role::Staff),
        ] {
            let (h, v) = bearer(&access_token(&server, &ctx, email, role).await);
            for res in [
                server
                    .post("/api/v1/products")
                    .add_header(h.clone(), v.clone())
                    .json(&body)
                    .await,
                server
                    .post("/api/v1/categories")
                    .add_header(h.clone(), v.clone())
                    .json(&json!({"name": "x"}))
                    .await,
                server
                    .post("/api/v1/brands")
                    .add_header(h.clone(), v.clone())
                    .json(&json!({"name": "x"}))
                    .await,
                server
                    .patch(&format!("/api/v1/variants/{}", uuid::Uuid::new_v4()))
                    .add_header(h.clone(), v.clone())
                    .json(&json!({}))
                    .await,
            ] {
                assert_error(&res, 403, "forbidden");
            }
        }
        let (h, v) = bearer(&access_token(&server, &ctx, "a@example.com", Role::Admin).await);
        let res = server
            .post("/api/v1/products")
            .add_header(h, v)
            .json(&body)
            .await;
        assert_eq!(res.status_code(), 201, "admins manage the catalogue too");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn bad_product_input_is_rejected_and_writes_nothing() {
    with_app(|server, ctx| async move {
        let pm = manager(&server, &ctx).await;
        let send = |body: Value| {
            server
                .post("/api/v1/products")
                .add_header(pm.0.clone(), pm.1.clone())
                .json(&body)
        };
        let res = send(json!({"sku": "N-1", "name": "Neg", "price_cents": -1, "stock": -2})).await;
        let body = assert_error(&res, 422, "validation_failed");
        assert!(body["error"]["details"]["price_cents"].is_array());
        assert!(body["error"]["details"]["stock"].is_array());
        let res = send(json!({"sku": "N-1", "name": "x".repeat(201), "price_cents": 1})).await;
        assert!(
            assert_error(&res, 422, "validation_failed")["error"]["details"]["name"].is_array()
        );
        let res =
            send(json!({"sku": "N-1", "name": "Ok", "price_cents": 1, "category_id": "nope"}))
                .await;
        assert!(
            assert_error(&res, 422, "validation_failed")["error"]["details"]["category_id"]
                .is_array()
        );
        let res = send(json!({"sku": "N-1", "name": "Ok", "price_cents": "12"})).await;
        assert_error(&res, 400, "bad_request");
        let res =
            send(json!({"sku": "N-1", "name": "Ok", "price_cents": 1, "colour": "red"})).await;
        assert_error(&res, 400, "bad_request");

        post(
            &server,
            &pm,
            "/api/v1/products",
            json!({"sku": "DUP", "name": "First", "price_cents": 1}),
        )
        .await;
        let res = send(json!({"sku": "DUP", "name": "Second", "price_cents": 1})).await;
        assert_error(&res, 409, "conflict");
        let res = send(json!({"sku": "OTHER", "name": "First", "price_cents": 1})).await;
        assert_error(&res, 409, "conflict");
        // Only the first product exists: the failed ones left nothing behind (no variant, no tag).
        let staff: Value = server
            .get("/api/v1/products?include_inactive=true")
            .add_header(pm.0.clone(), pm.1.clone())
            .await
            .json();
        assert_eq!(staff["count"], 1);

        for path in [
            "/api/v1/products/does-not-exist",
            "/api/v1/products/00000000-0000-0000-0000-000000000000",
            "/api/v1/categories/nope",
            "/api/v1/brands/nope",
        ] {
            assert_error(&server.get(path).await, 404, "not_found");
        }
        let res = server
            .patch("/api/v1/variants/junk")
            .add_header(pm.0.clone(), pm.1.clone())
            .json(&json!({"price_cents": 1}))
            .await;
        assert_error(&res, 404, "not_found");
        let res = server
            .delete(&format!("/api/v1/products/{}", uuid::Uuid::new_v4()))
            .add_header(pm.0.clone(), pm.1.clone())
            .await;
        assert_error(&res, 404, "not_found");
        let res = server
            .get("/api/v1/products?min_price=abc&sort=cheap&page_size=500")
            .await;
        assert_error(&res, 422, "validation_failed");
    })
    .await;
}

/// Weights (for shipping methods with a limit) are optional, bounded, kept per variant, and
/// cleared with `null`; a product with options takes them on its variants only.
#[tokio::test]
#[parallel]
async fn weights_are_kept_per_variant_bounded_and_cleared_with_null() {
    with_app(|server, ctx| async move {
        let pm = manager(&server, &ctx).await;
        let patch = |path: String, body: Value| {
            server
                .patch(&path)
                .add_header(pm.0.clone(), pm.1.clone())
                .json(&body)
        };
        let p = post(
            &server,
            &pm,
            "/api/v1/products",
            json!({"sku": "BOX-1", "name": "Box", "price_cents": 100, "weight_grams": 1200}),
        )
        .await;
        assert_eq!(p["weight_grams"], 1200);
        assert_eq!(p["variants"][0]["weight_grams"], 1200);
        let id = p["id"].as_str().unwrap().to_string();
        // Leaving the field out keeps it; null clears it; out of range is refused unwritten.
        let res = patch(format!("/api/v1/products/{id}"), json!({"name": "Big box"})).await;
        assert_eq!(res.json::<Value>()["weight_grams"], 1200);
        for bad in [0, -5, 10_000_001] {
            let res = patch(format!("/api/v1/products/{id}"), json!({"weight_grams": bad})).await;
            let body = assert_error(&res, 422, "validation_failed");
            assert!(body["error"]["details"]["weight_grams"].is_array(), "{body}");
        }
        let res = patch(format!("/api/v1/products/{id}"), json!({"weight_grams": null})).await;
        res.assert_status_ok();
        let fresh: Value = server.get(&format!("/api/v1/products/{id}")).await.json();
        assert!(fresh["weight_grams"].is_null(), "{fresh}");
        assert!(fresh["variants"][0]["weight_grams"].is_null());

        let tee = post(&server, &pm, "/api/v1/products", json!({
            "name": "Trail Tee", "sku": "TEE",
            "options": [{"name": "Size", "values": ["S", "L"]}],
            "variants": [
                {"sku": "TEE-S", "options": {"Size": "S"}, "price_cents": 2000, "weight_grams": 300},
                {"sku": "TEE-L", "options": {"Size": "L"}, "price_cents": 2000},
            ],
        }))
        .await;
        assert!(tee["weight_grams"].is_null(), "several variants: see each");
        assert_eq!(tee["variants"][0]["weight_grams"], 300);
        assert!(tee["variants"][1]["weight_grams"].is_null());
        let large = tee["variants"][1]["id"].as_str().unwrap().to_string();
        let res = patch(format!("/api/v1/variants/{large}"), json!({"weight_grams": 450})).await;
        assert_eq!(res.json::<Value>()["weight_grams"], 450);
        let res = patch(format!("/api/v1/variants/{large}"), json!({"weight_grams": 0})).await;
        assert_error(&res, 422, "validation_failed");
        let tee_id = tee["id"].as_str().unwrap();
        let res = patch(format!("/api/v1/products/{tee_id}"), json!({"weight_grams": 500})).await;
        assert_error(&res, 422, "validation_failed");
        let res = server
            .post("/api/v1/products")
            .add_header(pm.0.clone(), pm.1.clone())
            .json(&json!({"name": "Cap", "sku": "CAP", "weight_grams": 80,
                "options": [{"name": "Size", "values": ["M"]}],
                "variants": [{"sku": "CAP-M", "options": {"Size": "M"}, "price_cents": 900}]}))
            .await;
        assert_error(&res, 422, "validation_failed");
        let res = server
            .post(&format!("/api/v1/products/{tee_id}/variants"))
            .add_header(pm.0.clone(), pm.1.clone())
            .json(&json!({"sku": "TEE-X", "options": {"Size": "L"}, "price_cents": 1, "weight_grams": 20_000_000}))
            .await;
        let body = assert_error(&res, 422, "validation_failed");
        assert!(body["error"]["details"]["weight_grams"].is_array(), "{body}");
        let tee: Value = server.get(&format!("/api/v1/products/{tee_id}")).await.json();
        let weights: Vec<Value> = tee["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["weight_grams"].clone())
            .collect();
        assert_eq!(weights, [json!(300), json!(450)]);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn variant_products_aggregate_and_validate_their_variants() {
    with_app(|server, ctx| async move {
        let pm = manager(&server, &ctx).await;
        let p = post(&server, &pm, "/api/v1/products", json!({
            "name": "Trail Tee", "sku": "TEE",
            "options": [{"name": "Size", "values": ["S", "M", "L"]}, {"name": "Colour", "values": ["Blue", "Red"]}],
            "variants": [
                {"sku": "TEE-S-BLU", "options": {"Size": "S", "Colour": "Blue"}, "price_cents": 2000, "stock": 2},
                {"sku": "TEE-M-BLU", "options": {"size": "m", "colour": "blue"}, "price_cents": 2200, "stock": 0},
            ],
        })).await;
        assert_eq!(p["sku"], "TEE");
        assert_eq!(p["price_cents"], 2000);
        assert_eq!(p["price_max_cents"], 2200);
        assert_eq!(p["stock"], 2);
        assert_eq!(p["variants"][1]["options"], json!({"Colour": "Blue", "Size": "M"}));
        let id = p["id"].as_str().unwrap().to_string();

        let add = |body: Value| {
            server
                .post(&format!("/api/v1/products/{id}/variants"))
                .add_header(pm.0.clone(), pm.1.clone())
                .json(&body)
        };
        let res = add(json!({"sku": "TEE-L-RED", "options": {"Size": "L", "Colour": "Red"}, "price_cents": 1800, "stock": 5})).await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        let p: Value = res.json();
        assert_eq!((p["price_cents"].as_i64(), p["stock"].as_i64()), (Some(1800), Some(7)));
        let res = add(json!({"sku": "TEE-XL", "options": {"Size": "XL", "Colour": "Red"}, "price_cents": 1})).await;
        assert_error(&res, 422, "validation_failed");
        let res = add(json!({"sku": "TEE-DUP", "options": {"Size": "L", "Colour": "Red"}, "price_cents": 1})).await;
        assert_error(&res, 422, "validation_failed");
        let res = add(json!({"sku": "TEE-S-BLU", "options": {"Size": "S", "Colour": "Red"}, "price_cents": 1})).await;
        assert_error(&res, 409, "conflict");

        // Flat fields belong to the variants here.
        let res = server.patch(&format!("/api/v1/products/{id}")).add_header(pm.0.clone(), pm.1.clone()).json(&json!({"price_cents": 5})).await;
        assert_error(&res, 422, "validation_failed");

        let cheapest = p["variants"][2]["id"].as_str().unwrap().to_string();
        let res = server.patch(&format!("/api/v1/variants/{cheapest}")).add_header(pm.0.clone(), pm.1.clone()).json(&json!({"price_cents": 2500})).await;
        res.assert_status_ok();
        assert_eq!(res.json::<Value>()["price_cents"], 2500);
        let p: Value = server.get(&format!("/api/v1/products/{id}")).await.json();
        assert_eq!((p["price_cents"].as_i64(), p["price_max_cents"].as_i64()), (Some(2000), Some(2500)));
        let res = server.patch(&format!("/api/v1/variants/{cheapest}")).add_header(pm.0.clone(), pm.1.clone()).json(&json!({"stock": -1})).await;
        assert_error(&res, 422, "validation_failed");

        // Options may gain values but not lose used ones.
        let res = server.patch(&format!("/api/v1/products/{id}")).add_header(pm.0.clone(), pm.1.clone())
            .json(&json!({"options": [{"name": "Size", "values": ["S", "M", "L", "XL"]}, {"name": "Colour", "values": ["Blue", "Red"]}]})).await;
        res.assert_status_ok();
        let res = server.patch(&format!("/api/v1/products/{id}")).add_header(pm.0.clone(), pm.1.clone())
            .json(&json!({"options": [{"name": "Size", "values": ["S", "M"]}, {"name": "Colour", "values": ["Blue", "Red"]}]})).await;
        assert_error(&res, 422, "validation_failed");

        for v in p["variants"].as_array().unwrap().iter().skip(1) {
            let res = server.delete(&format!("/api/v1/variants/{}", v["id"].as_str().unwrap())).add_header(pm.0.clone(), pm.1.clone()).await;
            assert_eq!(res.status_code(), 204);
        }
        let last = p["variants"][0]["id"].as_str().unwrap();
        // The product's state refuses it, not the request.
        let res = server.delete(&format!("/api/v1/variants/{last}")).add_header(pm.0.clone(), pm.1.clone()).await;
        assert_error(&res, 409, "conflict");
        let p: Value = server.get(&format!("/api/v1/products/{id}")).await.json();
        assert_eq!(p["variants"].as_array().unwrap().len(), 1);
        assert_eq!(p["price_cents"], 2000);
    })
    .await;
}

fn skus(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sku"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
#[parallel]
async fn lists_filter_sort_paginate_and_count_facets() {
    with_app(|server, ctx| async move {
        let pm = manager(&server, &ctx).await;
        seed(&server, &pm).await;
        let get = |q: &str| {
            let path = format!("/api/v1/products?{q}");
            let server = &server;
            async move {
                let res = server.get(&path).await;
                assert_eq!(res.status_code(), 200, "{path}: {}", res.text());
                res.json::<Value>()
            }
        };
        // Parent categories include their children.
        let outdoor = get("category=outdoor&sort=price").await;
        assert_eq!(skus(&outdoor), ["LMP-1", "TNT-2", "TNT-4"]);
        assert_eq!(
            skus(&get("category=tents&sort=price").await),
            ["TNT-2", "TNT-4"]
        );
        assert_eq!(
            skus(&get("brand=kettle-co&sort=-price").await),
            ["KTL-1", "MUG-2"]
        );
        assert_eq!(skus(&get("tag=enamel&sort=name").await), ["MUG-2", "KTL-1"]);
        assert_eq!(
            skus(&get("min_price=4000&max_price=30000&sort=price").await),
            ["KTL-1", "TNT-2"]
        );
        assert_eq!(skus(&get("category=tents&in_stock=true").await), ["TNT-2"]);
        assert_eq!(
            skus(&get("featured=true&sort=name").await),
            ["TNT-2", "KTL-1"]
        );
        assert_eq!(get("category=nothing-here").await["count"], 0);

        // Pagination: API.md body with next/previous.
        let p1 = get("sort=price&page=1&page_size=2").await;
        assert_eq!(
            (p1["count"].as_u64(), p1["page_size"].as_u64()),
            (Some(5), Some(2))
        );
        assert_eq!(skus(&p1), ["MUG-2", "LMP-1"]);
        assert!(p1["next"].as_str().unwrap().contains("page=2"));
        assert!(p1["previous"].is_null());
        let p3 = get("sort=price&page=3&page_size=2").await;
        assert_eq!(skus(&p3), ["TNT-4"]);
        assert!(p3["next"].is_null());

        // Facets: each counts under all the other filters, parents sum their children.
        let f = get("brand=fjell").await;
        let cats: Vec<(String, u64)> = f["facets"]["categories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["slug"].as_str().unwrap().to_string(),
                    c["count"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(cats, [("outdoor".to_string(), 3), ("tents".to_string(), 2)]);
        let brands: Vec<(String, u64)> = f["facets"]["brands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["slug"].as_str().unwrap().to_string(),
                    c["count"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            brands,
            [("fjell".to_string(), 3), ("kettle-co".to_string(), 2)],
            "brand facet ignores the brand filter"
        );
        let k = get("category=kitchen").await;
        assert_eq!(k["facets"]["brands"].as_array().unwrap().len(), 1);
        assert_eq!(k["facets"]["brands"][0]["count"], 2);

        // Category and brand lists count active products.
        let cats: Value = server.get("/api/v1/categories").await.json();
        let outdoor = cats["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["slug"] == "outdoor")
            .unwrap();
        assert_eq!(outdoor["product_count"], 3);
        let tents = cats["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["slug"] == "tents")
            .unwrap();
        assert_eq!(tents["parent"]["slug"], "outdoor");
        let res = server
            .post("/api/v1/categories")
            .add_header(pm.0.clone(), pm.1.clone())
            .json(&json!({"name": "Deep", "parent_id": "tents"}))
            .await;
        assert_error(&res, 422, "validation_failed");
        let res = server
            .delete("/api/v1/categories/kitchen")
            .add_header(pm.0.clone(), pm.1.clone())
            .await;
        assert_error(&res, 409, "conflict");
        let res = server
            .post("/api/v1/brands")
            .add_header(pm.0.clone(), pm.1.clone())
            .json(&json!({"name": "Fjell"}))
            .await;
        assert_error(&res, 409, "conflict");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn full_text_search_is_ranked_and_prefix_matched() {
    with_app(|server, ctx| async move {
        let pm = manager(&server, &ctx).await;
        seed(&server, &pm).await;
        let search = |q: &str| {
            let path = format!("/api/v1/products?q={}", urlencode(q));
            let server = &server;
            async move { server.get(&path).await.json::<Value>() }
        };
        // "tent" is in two names and one description: names rank first.
        let r = search("tent").await;
        let got = skus(&r);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(
            got[2], "LMP-1",
            "a description match ranks below name matches: {got:?}"
        );
        // Stemming and prefixes: "tents" and "ten" find the same; SKUs and tags are indexed.
        assert_eq!(search("tents").await["count"], 3);
        assert_eq!(search("ten").await["count"], 3);
        assert_eq!(skus(&search("KTL-1").await), ["KTL-1"]);
        assert_eq!(search("enamel").await["count"], 2);
        assert_eq!(skus(&search("hiking").await), ["TNT-2"]);
        // All words must match; stop words and query syntax are ignored.
        assert_eq!(skus(&search("the tent for kids").await), ["TNT-4"]);
        assert_eq!(search(r#"tent" OR "*"#).await["count"], 3);
        assert_eq!(search("zzzz").await["count"], 0);
        // Search combines with filters and facets.
        let r = search("tent").await;
        assert_eq!(r["facets"]["brands"][0]["count"], 3);
        let r = server
            .get("/api/v1/products?q=tent&in_stock=true&sort=price")
            .await
            .json::<Value>();
        assert_eq!(skus(&r), ["LMP-1", "TNT-2"]);
        // Renaming reindexes.
        let id = search("kettle").await["results"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        server
            .patch(&format!("/api/v1/products/{id}"))
            .add_header(pm.0.clone(), pm.1.clone())
            .json(&json!({"name": "Whistling Teapot"}))
            .await
            .assert_status_ok();
        assert_eq!(search("teapot").await["count"], 1);
    })
    .await;
}

pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Listing and product reads cost a fixed number of SQL queries whatever the page size or the
/// number of variants, images and tags (no N+1). Counted on a connection with sea-orm's
/// metric callback, through the same functions the API and the pages call.
#[tokio::test]
#[parallel]
async fn listing_and_detail_issue_a_constant_number_of_queries() {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };

    use emporium::{
        domain::catalogue::{ListFilter, ListParams},
        models::catalogue::{listing, products},
        storage::{self, UrlWindow},
    };
    with_app(|server, ctx| async move {
        let pm = manager(&server, &ctx).await;
        seed(&server, &pm).await;
        for i in 0..25 {
            let p = post(&server, &pm, "/api/v1/products", json!({
                "name": format!("Sock {i}"), "category_id": "kitchen", "brand_id": "fjell", "tags": ["wool", format!("t{i}")],
                "options": [{"name": "Size", "values": ["S", "M", "L"]}],
                "variants": [
                    {"sku": format!("SOCK-{i}-S"), "options": {"Size": "S"}, "price_cents": 900 + i, "stock": 3},
                    {"sku": format!("SOCK-{i}-M"), "options": {"Size": "M"}, "price_cents": 950 + i, "stock": 0},
                ],
            })).await;
            if i % 5 == 0 {
                let res = server
                    .post(&format!("/api/v1/products/{}/images", p["id"].as_str().unwrap()))
                    .add_header(pm.0.clone(), pm.1.clone())
                    .multipart(multipart_image(&png(40, 30), "a.png", ""))
                    .await;
                assert_eq!(res.status_code(), 201);
            }
        }
        let queries = Arc::new(AtomicUsize::new(0));
        let mut db = ctx.db.clone();
        let counter = queries.clone();
        db.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let store = storage::get(&ctx);
        let window = UrlWindow::now(3600);
        let count_for = |filter: ListFilter, size: u64| {
            let (db, store, queries) = (db.clone(), store.clone(), queries.clone());
            async move {
                queries.store(0, Ordering::SeqCst);
                let page = listing::search(&db, store.as_ref(), window, "EUR", &filter, 1, size).await.unwrap();
                assert_eq!(page.results.len() as u64, size.min(page.count));
                queries.load(Ordering::SeqCst)
            }
        };
        let all = ListFilter::default();
        let small = count_for(all.clone(), 2).await;
        let large = count_for(all.clone(), 30).await;
        assert!(small >= 5, "the counter sees the queries: {small}");
        assert_eq!(small, large, "queries grow with the page size");
        assert!(large <= 12, "{large} queries for one list page");
        let filtered = ListParams { q: Some("sock".into()), category: Some("kitchen".into()), tag: Some("wool".into()), in_stock: Some("true".into()), ..Default::default() }.parse().unwrap();
        assert_eq!(count_for(filtered.clone(), 3).await, count_for(filtered, 25).await);

        // Product detail: a product with variants, tags and an image costs what a bare one does.
        let rich = server.get("/api/v1/products?q=sock&sort=price").await.json::<Value>()["results"][0]["slug"].as_str().unwrap().to_string();
        let mut detail_queries = Vec::new();
        for slug in [rich.as_str(), "enamel-mug"] {
            queries.store(0, Ordering::SeqCst);
            let p = products::find_product(&db, slug, false).await.unwrap();
            products::view_of(&ctx, &db, p).await.unwrap();
            detail_queries.push(queries.load(Ordering::SeqCst));
        }
        assert_eq!(detail_queries[0], detail_queries[1]);
        assert!(detail_queries[0] <= 7, "{detail_queries:?}");
    })
    .await;
}
