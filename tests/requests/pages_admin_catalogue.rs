//! The admin catalogue pages: product table, create/edit with variants and images,
//! activate/deactivate, categories and brands — plain HTML forms with CSRF tokens.
use emporium::domain::role::Role;
use loco_rs::testing::prelude::*;
use serde_json::Value;
use serial_test::parallel;

use crate::support::*;

/// The location of a 303 answer.
fn location(res: &axum_test::TestResponse) -> String {
    assert_eq!(
        res.status_code(),
        303,
        "{}",
        &res.text()[res.text().len().saturating_sub(3000)..]
    );
    res.headers()["location"].to_str().unwrap().to_string()
}

async fn product_json(server: &loco_rs::TestServer, slug: &str) -> Value {
    server.get(&format!("/api/v1/products/{slug}")).await.json()
}

#[tokio::test]
#[parallel]
async fn only_product_managers_and_admins_reach_the_catalogue_pages() {
    with_app(|server, ctx| async move {
        for (email, role) in [
            ("shopper@example.com", Role::Customer),
            ("clerk@example.com", Role::Staff),
            ("pm@example.com", Role::ProductManager),
            ("chief@example.com", Role::Admin),
        ] {
            user(&ctx, email, role).await;
        }
        assert!(
            server
                .get("/admin/products")
                .await
                .status_code()
                .is_redirection(),
            "signed out"
        );
        for (email, allowed) in [
            ("shopper@example.com", false),
            ("clerk@example.com", false),
            ("pm@example.com", true),
            ("chief@example.com", true),
        ] {
            let csrf = sign_in(&server, email).await;
            for path in [
                "/admin/products",
                "/admin/products/new",
                "/admin/categories",
                "/admin/brands",
            ] {
                let status = server.get(path).await.status_code();
                assert_eq!(status == 200, allowed, "{email} {path}: {status}");
            }
            let res = server
                .post("/admin/categories")
                .form(&[("csrf_token", csrf.as_str()), ("name", email)])
                .await;
            assert_eq!(
                res.status_code() == 303,
                allowed,
                "{email}: {}",
                res.status_code()
            );
        }
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn product_forms_create_edit_and_refuse_bad_input_with_messages() {
    with_app(|server, ctx| async move {
        user(&ctx, "pm@example.com", Role::ProductManager).await;
        let csrf = sign_in(&server, "pm@example.com").await;
        let res = server
            .post("/admin/categories")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "Shirts"),
                ("description", "Tops"),
            ])
            .await;
        assert_eq!(location(&res), "/admin/categories");
        let res = server
            .post("/admin/brands")
            .form(&[("csrf_token", csrf.as_str()), ("name", "Northwind")])
            .await;
        assert_eq!(location(&res), "/admin/brands");

        // Bad input: the form again, with messages and the typed values; nothing created.
        let res = server
            .post("/admin/products/new")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", ""),
                ("price", "12,5x"),
                ("stock", "-1"),
                ("options", "Size S M"),
                ("description", "kept"),
            ])
            .await;
        assert_eq!(res.status_code(), 422);
        let html = res.text();
        assert!(html.contains("Enter an amount like 12 or 12.50."), "{html}");
        assert!(html.contains("Write “Size S M” as “Name: value, value”."));
        assert_css_exists(&html, "#p-price[aria-invalid=true]");
        assert_css_eq(&html, "#p-description", "kept");
        let res = server
            .post("/admin/products/new")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "Anvil"),
                ("price", "12"),
                ("weight_grams", "0"),
                ("options", ""),
            ])
            .await;
        assert_eq!(res.status_code(), 422);
        let html = res.text();
        assert_css_exists(&html, "#p-weight[aria-invalid=true]");
        assert!(html.contains("Grams from 1 to 10000000."), "{html}");
        let list: Value = server.get("/api/v1/products").await.json();
        assert_eq!(list["count"], 0);

        // A simple product.
        let res = server
            .post("/admin/products/new")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "Oxford Shirt"),
                ("sku", "OXF"),
                ("price", "49.90"),
                ("stock", "3"),
                ("weight_grams", "420"),
                ("category_id", "shirts"),
                ("brand_id", "northwind"),
                ("tags", "cotton, office"),
                ("active", "true"),
                ("options", ""),
            ])
            .await;
        let edit = location(&res);
        assert!(edit.starts_with("/admin/products/"), "{edit}");
        let p = product_json(&server, "oxford-shirt").await;
        assert_eq!(p["price_cents"], 4990);
        assert_eq!(p["stock"], 3);
        assert_eq!(p["category"]["slug"], "shirts");
        assert_eq!(p["tags"], serde_json::json!(["cotton", "office"]));
        assert_eq!(p["weight_grams"], 420);
        let html = server.get(&edit).await.text();
        assert_css_exists(&html, "#p-price[value='49.90']");
        assert_css_exists(&html, "#p-weight[value='420']");
        assert_css_exists(&html, "#images form[enctype='multipart/form-data']");

        // Editing writes through to the shop at once (no stale cache).
        let res = server
            .post(&edit)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "Oxford Shirt"),
                ("slug", "oxford-shirt"),
                ("sku", "OXF"),
                ("price", "39"),
                ("stock", "5"),
                ("weight_grams", ""),
                ("category_id", ""),
                ("brand_id", "northwind"),
                ("tags", ""),
                ("active", "true"),
                ("featured", "true"),
                ("options", ""),
            ])
            .await;
        assert_eq!(location(&res), edit);
        let p = product_json(&server, "oxford-shirt").await;
        assert_eq!(
            (p["price_cents"].as_i64(), p["stock"].as_i64()),
            (Some(3900), Some(5))
        );
        assert!(p["category"].is_null());
        assert!(
            p["weight_grams"].is_null(),
            "an empty field clears the weight"
        );
        assert_eq!(p["featured"], true);
        assert!(server
            .get("/p/oxford-shirt")
            .await
            .text()
            .contains("€39.00"));

        // A duplicate SKU is said on the form.
        let res = server
            .post("/admin/products/new")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "Another"),
                ("sku", "OXF"),
                ("price", "1"),
                ("options", ""),
            ])
            .await;
        assert_eq!(res.status_code(), 422);
        assert_css_eq(
            &res.text(),
            ".form-error .field-error",
            "Another product already uses this SKU.",
        );

        // Deactivate from the table: gone from the shop, listed under "inactive".
        let id = edit.rsplit('/').next().unwrap().to_string();
        let res = server
            .post(&format!("/admin/products/{id}/active"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("active", "false"),
                ("back", "/admin/products"),
            ])
            .await;
        assert_eq!(location(&res), "/admin/products");
        assert_eq!(
            server
                .get("/api/v1/products/oxford-shirt")
                .await
                .status_code(),
            404
        );
        let html = server.get("/admin/products?status=inactive").await.text();
        assert_css_exists(&html, &format!("a[href='/admin/products/{id}']"));
        let html = server.get("/admin/products?status=active").await.text();
        assert_css_not_exists(&html, &format!("a[href='/admin/products/{id}']"));
        let html = server.get("/admin/products?q=oxford").await.text();
        assert_css_exists(&html, &format!("a[href='/admin/products/{id}']"));

        // Delete (no orders yet: really deleted).
        let res = server
            .post(&format!("/admin/products/{id}/delete"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(location(&res), "/admin/products");
        assert_eq!(
            server
                .get(&format!("/api/v1/products/{id}"))
                .await
                .status_code(),
            404
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn options_make_every_variant_and_each_row_is_edited_on_its_own() {
    with_app(|server, ctx| async move {
        user(&ctx, "pm@example.com", Role::ProductManager).await;
        let csrf = sign_in(&server, "pm@example.com").await;
        let res = server
            .post("/admin/products/new")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "Trail Tee"),
                ("sku", "TEE"),
                ("price", "20"),
                ("stock", "4"),
                ("options", "Size: S, M\nColour: Red, Light blue"),
                ("active", "true"),
            ])
            .await;
        let edit = location(&res);
        let p = product_json(&server, "trail-tee").await;
        let skus: Vec<&str> = p["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["sku"].as_str().unwrap())
            .collect();
        assert_eq!(
            skus,
            [
                "TEE-S-RED",
                "TEE-S-LIGHT-BLUE",
                "TEE-M-RED",
                "TEE-M-LIGHT-BLUE"
            ]
        );
        assert_eq!(p["stock"], 16);

        let html = server.get(&edit).await.text();
        assert_eq!(select(&html, "#variants tbody tr").len(), 4);
        let red_m = p["variants"][2]["id"].as_str().unwrap().to_string();

        // One row: new price; a bad one comes back with the row's message.
        let res = server
            .post(&format!("/admin/variants/{red_m}"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("sku", "TEE-M-RED"),
                ("price", "24.50"),
                ("stock", "2"),
                ("low_stock_threshold", "1"),
                ("weight_grams", "310"),
            ])
            .await;
        assert!(location(&res).ends_with("#variants"));
        let p = product_json(&server, "trail-tee").await;
        assert_eq!(p["variants"][2]["price_cents"], 2450);
        assert_eq!(p["variants"][2]["weight_grams"], 310);
        assert!(p["variants"][1]["weight_grams"].is_null());
        let html = server.get(&edit).await.text();
        assert_css_exists(&html, &format!("#v-weight-{red_m}[value='310']"));
        assert_eq!(p["price_max_cents"], 2450);
        let res = server
            .post(&format!("/admin/variants/{red_m}"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("sku", "TEE-S-RED"),
                ("price", "-3"),
                ("stock", "x"),
                ("low_stock_threshold", "1"),
            ])
            .await;
        assert_eq!(res.status_code(), 422);
        let html = res.text();
        assert_css_exists(&html, &format!("#v-stock-{red_m}[aria-invalid=true]"));
        assert_css_exists(&html, &format!("#v-price-{red_m}[value='-3']"));
        assert!(html.contains("Enter a whole number."));

        // A new size, then a variant for it.
        let res = server
            .post(&edit)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "Trail Tee"),
                ("slug", "trail-tee"),
                ("sku", "TEE"),
                ("options", "Size: S, M, L\nColour: Red, Light blue"),
                ("active", "true"),
            ])
            .await;
        assert_eq!(location(&res), edit);
        let res = server
            .post(&format!("{edit}/variants"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("opt.Size", "L"),
                ("opt.Colour", "Red"),
                ("sku", "TEE-L-RED"),
                ("price", "22"),
                ("stock", "1"),
                ("weight_grams", "330"),
            ])
            .await;
        assert!(location(&res).ends_with("#variants"));
        let p = product_json(&server, "trail-tee").await;
        assert_eq!(p["variants"].as_array().unwrap().len(), 5);
        let large = p["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["sku"] == "TEE-L-RED")
            .unwrap();
        assert_eq!(large["weight_grams"], 330);
        // The same combination again is refused on the add form.
        let res = server
            .post(&format!("{edit}/variants"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("opt.Size", "L"),
                ("opt.Colour", "Red"),
                ("sku", "TEE-L-RED-2"),
                ("price", "22"),
                ("stock", "1"),
            ])
            .await;
        assert_eq!(res.status_code(), 422);
        assert_css_eq(
            &res.text(),
            "#variants .form-error .field-error",
            "Options: Another variant has these option values.",
        );

        let res = server
            .post(&format!("/admin/variants/{red_m}/delete"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert!(location(&res).ends_with("#variants"));
        assert_eq!(
            product_json(&server, "trail-tee").await["variants"]
                .as_array()
                .unwrap()
                .len(),
            4
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn images_upload_with_and_without_htmx_and_show_their_rendition_status() {
    with_app(|server, ctx| async move {
        user(&ctx, "pm@example.com", Role::ProductManager).await;
        let csrf = sign_in(&server, "pm@example.com").await;
        let res = server
            .post("/admin/products/new")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "Mug"),
                ("price", "9"),
                ("stock", "1"),
                ("active", "true"),
                ("options", ""),
            ])
            .await;
        let edit = location(&res);
        let upload = format!("{edit}/images/upload");

        // Without the token in the form: refused.
        let res = server
            .post(&upload)
            .multipart(multipart_image(&png(300, 200), "a.png", "Front"))
            .await;
        assert_eq!(res.status_code(), 403);

        // A plain form post (no JS): the token travels as the first multipart field.
        let form = axum_test::multipart::MultipartForm::new()
            .add_text("csrf_token", csrf.clone())
            .add_text("alt", "Front")
            .add_part(
                "image",
                axum_test::multipart::Part::bytes(png(300, 200)).file_name("a.png"),
            );
        let res = server.post(&upload).multipart(form).await;
        assert!(location(&res).ends_with("#images"));
        let p = product_json(&server, "mug").await;
        assert_eq!(p["images"].as_array().unwrap().len(), 1);
        assert_eq!(p["images"][0]["alt"], "Front");

        // htmx: the image list comes back, with each image's rendition status.
        let form = axum_test::multipart::MultipartForm::new()
            .add_text("alt", "Side")
            .add_part(
                "image",
                axum_test::multipart::Part::bytes(png(640, 480)).file_name("b.png"),
            );
        let res = server
            .post(&upload)
            .add_header("HX-Request", "true")
            .add_header("X-CSRF-Token", csrf.clone())
            .multipart(form)
            .await;
        assert_eq!(res.status_code(), 200, "{}", res.text());
        let html = res.text();
        assert_eq!(select(&html, "#image-list .image-tile").len(), 2);
        assert_eq!(
            select(&html, ".rendition-ready").len(),
            2,
            "the job ran: {html}"
        );

        // Not an image: a message in the list, nothing stored.
        let form = axum_test::multipart::MultipartForm::new().add_part(
            "image",
            axum_test::multipart::Part::bytes(b"GIF89a not really".to_vec()).file_name("x.png"),
        );
        let res = server
            .post(&upload)
            .add_header("HX-Request", "true")
            .add_header("X-CSRF-Token", csrf.clone())
            .multipart(form)
            .await;
        assert_eq!(res.status_code(), 422);
        assert_css_eq(
            &res.text(),
            "#image-list .form-error .field-error",
            "The file is not a JPEG, PNG or WebP image.",
        );
        let p = product_json(&server, "mug").await;
        assert_eq!(p["images"].as_array().unwrap().len(), 2);

        // Delete one.
        let img = p["images"][0]["id"].as_str().unwrap();
        let res = server
            .post(&format!("{edit}/images/{img}/delete"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert!(location(&res).ends_with("#images"));
        assert_eq!(
            product_json(&server, "mug").await["images"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn categories_and_brands_pages_add_rename_and_refuse_what_is_in_use() {
    with_app(|server, ctx| async move {
        user(&ctx, "pm@example.com", Role::ProductManager).await;
        let csrf = sign_in(&server, "pm@example.com").await;
        let add = |name: &'static str, parent: &'static str| {
            server.post("/admin/categories").form(&[
                ("csrf_token", csrf.as_str()),
                ("name", name),
                ("parent_id", parent),
            ])
        };
        assert_eq!(add("Outdoor", "").await.status_code(), 303);
        assert_eq!(add("Tents", "outdoor").await.status_code(), 303);
        let res = add("Outdoor", "").await;
        assert_eq!(res.status_code(), 422);
        assert!(res.text().contains("Another one already uses this slug."));
        let html = server.get("/admin/categories").await.text();
        assert_eq!(select(&html, "tbody tr").len(), 2);
        assert_css_exists(
            &html,
            "select[name=parent_id] option[value=outdoor][selected]",
        );

        // In use (has a sub-category): refused with a message, still there.
        let cats: Value = server.get("/api/v1/categories").await.json();
        let outdoor = cats["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["slug"] == "outdoor")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let res = server
            .post(&format!("/admin/categories/{outdoor}/delete"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(location(&res), "/admin/categories");
        let html = server.get("/admin/categories").await.text();
        assert!(
            html.contains("still has products or sub-categories"),
            "flash shown"
        );
        assert_eq!(select(&html, "tbody tr").len(), 2);

        // Rename a brand.
        server
            .post("/admin/brands")
            .form(&[("csrf_token", csrf.as_str()), ("name", "Fjell")])
            .await;
        let brands: Value = server.get("/api/v1/brands").await.json();
        let id = brands["results"][0]["id"].as_str().unwrap().to_string();
        let res = server
            .post(&format!("/admin/brands/{id}"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "Fjell Outdoors"),
                ("slug", "fjell"),
                ("description", ""),
            ])
            .await;
        assert_eq!(location(&res), "/admin/brands");
        let b: Value = server.get("/api/v1/brands/fjell").await.json();
        assert_eq!(b["name"], "Fjell Outdoors");
    })
    .await;
}
