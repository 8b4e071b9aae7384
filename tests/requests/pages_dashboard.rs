//! The admin dashboard: sales today / 7 / 30 days, the daily sales chart (server-rendered
//! SVG), orders by state, best sellers and low stock.
use loco_rs::testing::prelude::*;
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{orders::*, *};

#[tokio::test]
#[parallel]
async fn the_dashboard_shows_todays_sales_the_chart_best_sellers_and_low_stock() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("LMP-1"), 2).await;
        let order: Value = checkout(&server, &ann).await.json();
        post(
            &server,
            &shop.admin,
            &format!("/api/v1/orders/{}/mark-paid", order["id"].as_str().unwrap()),
            json!({}),
        )
        .await
        .assert_status_ok();
        // An unpaid order is not a sale.
        add(&server, &ann, shop.id("MUG-2"), 1).await;
        checkout(&server, &ann).await;

        sign_in(&server, "staff@example.com").await;
        let html = server.get("/admin").await.text();
        assert!(
            select(&html, "#sales-today")[0].contains("€78.00"),
            "{}",
            select(&html, "#sales-stats")[0]
        );
        assert!(select(&html, "#sales-month")[0].contains("€78.00"));
        assert!(html.contains("Today · 1 order"));
        assert_count(&html, "#sales-chart rect", 30);
        assert!(html.contains("€78.00 in all"));
        let states = select(&html, "#orders-by-state")[0].clone();
        assert!(
            states.contains("status=paid")
                && states.contains(">1<")
                && states.contains("status=pending")
        );
        assert!(select(&html, "#top-products")[0].contains("Camp Lantern"));
        assert!(select(&html, "#top-products")[0].contains("2 sold"));
        let low = select(&html, "#low-stock")[0].clone();
        assert!(
            low.contains("TNT-4") && low.contains("0 available"),
            "{low}"
        );
        sign_in(&server, "ann@example.com").await;
        assert_eq!(server.get("/admin").await.status_code(), 403);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_customers_page_shows_their_orders_and_lifetime_value() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("KTL-1"), 2).await;
        let paid: Value = checkout(&server, &ann).await.json();
        post(
            &server,
            &shop.admin,
            &format!("/api/v1/orders/{}/mark-paid", paid["id"].as_str().unwrap()),
            json!({}),
        )
        .await
        .assert_status_ok();
        add(&server, &ann, shop.id("MUG-2"), 1).await;
        checkout(&server, &ann).await;
        let me: Value = get(&server, &ann, "/api/v1/me").await.json();

        sign_in(&server, "admin@example.com").await;
        let html = server
            .get(&format!("/admin/users/{}", me["id"].as_str().unwrap()))
            .await
            .text();
        assert!(
            select(&html, "#ltv")[0].contains("€90.00"),
            "only the paid order counts"
        );
        assert!(select(&html, "#ltv-orders")[0].contains('1'));
        assert_count(&html, "#customer-orders tbody tr", 2);
        sign_in(&server, "staff@example.com").await;
        assert_eq!(
            server
                .get(&format!("/admin/users/{}", me["id"].as_str().unwrap()))
                .await
                .status_code(),
            403
        );
    })
    .await;
}
