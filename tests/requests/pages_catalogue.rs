//! Storefront catalogue pages: home, listing with facets (full page and htmx fragment),
//! category pages, product pages with the variant picker — all plain GET forms and links.
use loco_rs::testing::prelude::*;
use serde_json::json;
use serial_test::parallel;

use crate::support::{
    catalogue::{manager, post, seed},
    *,
};

/// The API seed plus a product with two options, one combination sold out.
async fn shop(
    server: &loco_rs::TestServer,
    ctx: &loco_rs::app::AppContext,
) -> (axum::http::HeaderName, axum::http::HeaderValue) {
    let pm = manager(server, ctx).await;
    seed(server, &pm).await;
    post(server, &pm, "/api/v1/products", json!({
        "name": "Trail Tee", "sku": "TEE", "category_id": "outdoor", "brand_id": "fjell",
        "description": "Soft merino tee.\n\nDries overnight.",
        "options": [{"name": "Size", "values": ["S", "M"]}, {"name": "Colour", "values": ["Blue", "Red"]}],
        "variants": [
            {"sku": "TEE-S-BLU", "options": {"Size": "S", "Colour": "Blue"}, "price_cents": 2000, "stock": 5},
            {"sku": "TEE-M-BLU", "options": {"Size": "M", "Colour": "Blue"}, "price_cents": 2200, "stock": 1},
            {"sku": "TEE-M-RED", "options": {"Size": "M", "Colour": "Red"}, "price_cents": 2400, "stock": 0},
        ],
    }))
    .await;
    pm
}

#[tokio::test]
#[parallel]
async fn home_shows_featured_products_and_categories() {
    with_app(|server, ctx| async move {
        shop(&server, &ctx).await;
        let html = server.get("/").await.text();
        let featured = texts(
            &html,
            "section[aria-labelledby=featured-title] .product-card-name",
        );
        assert_eq!(featured.len(), 2, "{featured:?}");
        assert!(featured.contains(&"Ridge Tent 2P".to_string()));
        assert!(featured.contains(&"Whistling Kettle".to_string()));
        assert_eq!(
            texts(&html, ".category-name"),
            vec!["Kitchen".to_string(), "Outdoor".to_string()],
            "top-level categories only"
        );
        assert_css_exists(&html, "a.category-tile[href='/c/outdoor']");
        assert_css_exists(&html, "form[action='/products'] input[name=q]");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn listing_searches_filters_and_counts_facets_with_or_without_htmx() {
    with_app(|server, ctx| async move {
        shop(&server, &ctx).await;
        let all = server.get("/products").await;
        all.assert_status_ok();
        let html = all.text();
        assert_eq!(select(&html, ".product-card").len(), 6);
        assert_css_exists(
            &html,
            "form#catalogue-form[method=get][action='/products'][hx-push-url=true]",
        );
        // Prices are shown in the shop currency; variant products show "From".
        assert!(html.contains("€9.00"), "mug price");
        assert!(texts(&html, ".product-card-price").contains(&"From €20.00 excl. VAT".to_string()));

        // A search ranks and filters; the facets count what the search found.
        let html = server.get("/products?q=tent").await.text();
        let names = texts(&html, ".product-card-name");
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(
            names.contains(&"Camp Lantern".to_string()),
            "description matches"
        );
        assert!(texts(&html, "h1")[0].contains("tent"));
        let facets = texts(&html, "fieldset.facet:first-of-type label");
        assert!(facets.contains(&"Outdoor 3".to_string()), "{facets:?}");
        assert!(facets.contains(&"Tents 2".to_string()), "{facets:?}");

        // Category facet, brand facet, price range and stock filter together.
        let html = server
            .get(
                "/products?q=&category=outdoor&brand=fjell&min=30&max=300&in_stock=true&sort=price",
            )
            .await
            .text();
        assert_eq!(
            texts(&html, ".product-card-name"),
            vec!["Camp Lantern".to_string(), "Ridge Tent 2P".to_string()],
            "price between 30 and 300, in stock, cheapest first"
        );
        assert_css_exists(&html, "input[name=category][value=outdoor][checked]");
        assert_css_exists(&html, "input[name=in_stock][checked]");

        // htmx asks for the fragment: no layout, same results.
        let frag = server
            .get("/products?category=kitchen")
            .add_header("HX-Request", "true")
            .await;
        frag.assert_status_ok();
        let frag = frag.text();
        assert!(!frag.contains("<html"), "a fragment");
        assert_css_exists(&frag, "#catalogue-results");
        assert_css_exists(&frag, "#catalogue-head");
        assert_eq!(
            texts(&frag, ".product-card-name").len(),
            2,
            "kitchen products"
        );

        // A price that cannot be read is said, not fatal.
        let bad = server.get("/products?min=abc").await;
        bad.assert_status_ok();
        assert!(bad.text().contains("Enter an amount like 12 or 12.50."));
        assert_eq!(select(&bad.text(), ".product-card").len(), 6);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn category_pages_list_their_sub_categories_and_unknown_ones_are_404() {
    with_app(|server, ctx| async move {
        shop(&server, &ctx).await;
        let html = server.get("/c/outdoor").await.text();
        assert_eq!(texts(&html, "h1"), vec!["Outdoor".to_string()]);
        assert_css_exists(&html, "ul.chips a[href='/c/tents']");
        assert_eq!(
            select(&html, ".product-card").len(),
            4,
            "parent includes children"
        );
        let html = server.get("/c/tents").await.text();
        assert_eq!(select(&html, ".product-card").len(), 2);
        assert_css_exists(&html, ".breadcrumbs a[href='/c/outdoor']");
        assert_eq!(server.get("/c/nope").await.status_code(), 404);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn product_page_picks_variants_by_plain_query_and_hides_inactive_products() {
    with_app(|server, ctx| async move {
        let pm = shop(&server, &ctx).await;
        let res = server.get("/p/trail-tee").await;
        res.assert_status_ok();
        let html = res.text();
        assert_eq!(texts(&html, "#price .amount"), vec!["€20.00".to_string()]);
        assert_eq!(texts(&html, "#sku"), vec!["TEE-S-BLU".to_string()]);
        assert_css_exists(
            &html,
            "input[type=radio][name='opt.Size'][value=S][checked]",
        );
        assert_css_exists(
            &html,
            "meta[name=description][content='Soft merino tee. Dries overnight.']",
        );
        assert_css_exists(&html, "#reviews");
        // The picker and the button are one form: what is chosen is what is added.
        assert_css_exists(
            &html,
            "form#buy-form[method=post] input[type=radio][name='opt.Size']",
        );
        assert_css_exists(&html, "form#buy-form #add-button");

        // The picker is a GET form: the chosen options select the variant and its price.
        let html = server
            .get("/p/trail-tee?opt.Size=M&opt.Colour=Blue")
            .await
            .text();
        assert_eq!(texts(&html, "#price .amount"), vec!["€22.00".to_string()]);
        assert_eq!(texts(&html, "#stock"), vec!["Only 1 left".to_string()]);
        let html = server
            .get("/p/trail-tee?opt.Size=M&opt.Colour=Red")
            .await
            .text();
        assert_eq!(texts(&html, "#price .amount"), vec!["€24.00".to_string()]);
        assert_eq!(texts(&html, "#stock"), vec!["Out of stock".to_string()]);
        // Red exists only in M: with M chosen it is a real (sold-out) choice.
        assert_css_exists(&html, "label.option-value.unavailable input[value=Red]");

        // Unknown and inactive products are 404 for shoppers and gone from the listing.
        assert_eq!(server.get("/p/no-such-thing").await.status_code(), 404);
        let tee: serde_json::Value = server.get("/api/v1/products/trail-tee").await.json();
        server
            .patch(&format!("/api/v1/products/{}", tee["id"].as_str().unwrap()))
            .add_header(pm.0.clone(), pm.1.clone())
            .json(&json!({"active": false}))
            .await
            .assert_status_ok();
        assert_eq!(server.get("/p/trail-tee").await.status_code(), 404);
        let listing = server.get("/products").await.text();
        assert!(!texts(&listing, ".product-card-name").contains(&"Trail Tee".to_string()));
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn the_demo_catalogue_seeds_once_with_pictures_and_variants() {
    use loco_rs::app::Hooks;
    with_app(|server, ctx| async move {
        emporium::app::App::seed(&ctx, std::path::Path::new("."))
            .await
            .unwrap();
        let list: serde_json::Value = server.get("/api/v1/products?page_size=100").await.json();
        assert_eq!(list["count"], 60);
        let cats: serde_json::Value = server.get("/api/v1/categories").await.json();
        assert_eq!(cats["count"], 8);
        let results = list["results"].as_array().unwrap();
        assert!(
            results
                .iter()
                .filter(|p| p["variants"].as_array().unwrap().len() > 1)
                .count()
                >= 20
        );
        assert!(results
            .iter()
            .all(|p| !p["images"].as_array().unwrap().is_empty()));
        assert!(
            results.iter().all(|p| p["images"][0]["status"] == "ready"),
            "renditions were made"
        );
        // Seeding again changes nothing.
        emporium::app::App::seed(&ctx, std::path::Path::new("."))
            .await
            .unwrap();
        let again: serde_json::Value = server.get("/api/v1/products?page_size=1").await.json();
        assert_eq!(again["count"], 60);
        // It ships to a few zones, two ways to Germany, and nowhere else.
        let ways: serde_json::Value = server
            .get("/api/v1/shipping-methods?country=DE")
            .await
            .json();
        let names: Vec<&str> = ways["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Standard", "Express"]);
        let nowhere: serde_json::Value = server
            .get("/api/v1/shipping-methods?country=US")
            .await
            .json();
        assert_eq!(nowhere["count"], 0);
        // The home page shows it.
        let html = server.get("/").await.text();
        assert_eq!(
            select(
                &html,
                "section[aria-labelledby=featured-title] .product-card"
            )
            .len(),
            8
        );
        // A variant product whose price depends on the option.
        let html = server
            .get("/p/cast-iron-skillet?opt.Diameter=26%20cm")
            .await
            .text();
        assert_eq!(texts(&html, "#price .amount"), vec!["€49.00".to_string()]);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn add_to_cart_adds_the_options_chosen_in_the_same_form_without_javascript() {
    with_app(|server, ctx| async move {
        shop(&server, &ctx).await;
        let tee: serde_json::Value = server.get("/api/v1/products/trail-tee").await.json();
        let id = tee["id"].as_str().unwrap().to_string();
        // Drawn with the default variant (S, Blue); the shopper picks M and presses Add.
        let html = server.get("/p/trail-tee").await.text();
        let csrf = crate::support::csrf_from(&html);
        let add = |fields: Vec<(&'static str, &'static str)>| {
            let mut form = vec![
                ("csrf_token".to_string(), csrf.clone()),
                ("product_id".to_string(), id.clone()),
                ("back".to_string(), "/p/trail-tee".to_string()),
                ("quantity".to_string(), "1".to_string()),
            ];
            form.extend(
                fields
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string())),
            );
            server.post("/cart/items").form(&form)
        };
        let res = add(vec![("opt.Size", "M"), ("opt.Colour", "Blue")]).await;
        assert_eq!(res.status_code(), 303, "{}", res.text());
        assert_eq!(res.headers()["location"], "/cart");
        let cart = server.get("/cart").await.text();
        assert!(cart.contains("Trail Tee (Blue, M)"), "{cart}");
        assert!(!cart.contains("Trail Tee (Blue, S)"), "{cart}");

        // An option left out: back to the product page as it was left, with the reason.
        let res = add(vec![("opt.Size", "M")]).await;
        assert_eq!(res.status_code(), 303);
        assert_eq!(res.headers()["location"], "/p/trail-tee?opt.Size=M");
        let page = server.get("/p/trail-tee?opt.Size=M").await.text();
        assert!(page.contains("Choose a colour first."), "{page}");
        // A combination that does not exist is refused, not swapped for another.
        let res = add(vec![("opt.Size", "S"), ("opt.Colour", "Red")]).await;
        assert_eq!(res.status_code(), 303);
        let page = server
            .get(res.headers()["location"].to_str().unwrap())
            .await
            .text();
        assert!(page.contains("This combination is not available"), "{page}");
    })
    .await;
}
