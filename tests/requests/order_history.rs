//! A long order history (issue 21): the summaries the order steps keep (orders by status,
//! sales by day) always equal a count of the orders, and the lists, the search and the export
//! serve a generated history from them.
use emporium::{
    domain::order_status::OrderStatus,
    models::{
        actor::Actor,
        demo::bench_history,
        orders::{self as order_model, stats, OrderFilter},
        payments, reports,
    },
};
use loco_rs::TestServer;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{orders::*, *};

/// The summaries equal what counting the orders gives: `recount` finds no drift.
async fn assert_summaries_match(ctx: &loco_rs::app::AppContext, after: &str) {
    assert!(
        !stats::recount(&ctx.db).await.unwrap(),
        "the summaries drifted after {after}"
    );
}

async fn sql_count(ctx: &loco_rs::app::AppContext, sql: &str) -> i64 {
    ctx.db
        .query_one_raw(Statement::from_string(ctx.db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "n")
        .unwrap()
}

#[tokio::test]
#[parallel]
async fn the_order_summaries_follow_every_step_and_equal_a_count_of_the_orders() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        assert_summaries_match(&ctx, "nothing").await;
        let place = |email: &'static str, sku: &'static str, n: i64| {
            let (server, ctx, id) = (&server, &ctx, shop.id(sku).to_string());
            async move {
                let who = customer(server, ctx, email).await;
                add(server, &who, &id, n).await;
                let order: Value = checkout(server, &who).await.json();
                (who, order["id"].as_str().unwrap().to_string(), order)
            }
        };
        let pay = |who: Auth, id: String| {
            let (server, ctx) = (&server, &ctx);
            async move {
                let res: Value = post(server, &who, &format!("/api/v1/orders/{id}/pay"), json!({}))
                    .await
                    .json();
                payments::test_outcome(ctx, res["session_id"].as_str().unwrap(), true)
                    .await
                    .unwrap();
            }
        };

        let (ann, paid, order) = place("ann@example.com", "KTL-1", 2).await;
        assert_summaries_match(&ctx, "a checkout").await;
        pay(ann, paid.clone()).await;
        assert_summaries_match(&ctx, "a payment").await;
        let today = reports::sales(&ctx.db, chrono::Utc::now()).await.unwrap().today;
        assert_eq!(today.orders, 1);
        assert_eq!(today.revenue_cents, order["total_cents"].as_i64().unwrap());

        let kettle = order["items"][0]["variant_id"].clone();
        let part = post(
            &server,
            &shop.admin,
            &format!("/api/v1/orders/{paid}/refund"),
            json!({"lines": [{"variant_id": kettle, "quantity": 1}], "restock": true, "reason": "dented"}),
        )
        .await;
        assert_eq!(part.status_code(), 201, "{}", part.text());
        assert_summaries_match(&ctx, "a partial refund").await;
        let refunded = part.json::<Value>()["amount_cents"].as_i64().unwrap();
        let today = reports::sales(&ctx.db, chrono::Utc::now()).await.unwrap().today;
        assert_eq!(
            (today.orders, today.revenue_cents),
            (1, order["total_cents"].as_i64().unwrap() - refunded),
            "a partly refunded order counts for what it kept"
        );

        let (bob, cancelled, _) = place("bob@example.com", "LMP-1", 1).await;
        let res = post(&server, &bob, &format!("/api/v1/orders/{cancelled}/cancel"), json!({})).await;
        assert_eq!(res.status_code(), 200, "{}", res.text());
        assert_summaries_match(&ctx, "a cancellation").await;

        let (cem, refund_all, _) = place("cem@example.com", "MUG-2", 3).await;
        pay(cem, refund_all.clone()).await;
        let res = post(&server, &shop.admin, &format!("/api/v1/orders/{refund_all}/refund"), json!({})).await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        assert_summaries_match(&ctx, "a whole refund").await;
        let res = post(&server, &shop.admin, &format!("/api/v1/orders/{paid}/ship"), json!({})).await;
        assert_eq!(res.status_code(), 200, "{}", res.text());
        assert_summaries_match(&ctx, "shipping").await;

        place("dan@example.com", "MUG-2", 1).await;
        assert_eq!(expire_all_now(&ctx).await, 1);
        assert_summaries_match(&ctx, "the expiry").await;

        let counts = order_model::count_by_status(&ctx.db).await.unwrap();
        // The partly refunded order shipped: a shipped sale for what it kept.
        let expected: std::collections::BTreeMap<String, i64> =
            [("cancelled", 1), ("expired", 1), ("refunded", 1), ("shipped", 1)]
                .into_iter()
                .map(|(s, n)| (s.to_string(), n))
                .collect();
        assert_eq!(counts, expected);
        let today = reports::sales(&ctx.db, chrono::Utc::now()).await.unwrap().today;
        assert_eq!(
            (today.orders, today.revenue_cents),
            (1, order["total_cents"].as_i64().unwrap() - refunded),
            "only the shipped order is still a sale, for what it kept"
        );

        // A change made behind the shop's back is found and repaired by the recount.
        ctx.db
            .execute_unprepared("UPDATE orders SET status = 'completed' WHERE status = 'expired'")
            .await
            .unwrap();
        assert!(stats::recount(&ctx.db).await.unwrap(), "drift found");
        assert_eq!(
            order_model::count_by_status(&ctx.db).await.unwrap().get("completed"),
            Some(&1)
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_long_history_is_listed_searched_and_exported_from_its_indexes_and_summaries() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let written = bench_history::load(&ctx, 1_234, 25, 60, PASSWORD)
            .await
            .unwrap();
        assert_eq!((written.orders, written.customers), (1_234, 25));
        assert!(written.lines >= 1_234);
        assert!(
            bench_history::load(&ctx, 10, 1, 1, PASSWORD).await.is_err(),
            "never into a database with orders"
        );
        let total = sql_count(&ctx, "SELECT COUNT(*) AS n FROM orders").await;
        assert_eq!(total, 1_234);

        // The admin's lists: totals from the summary, equal to counting.
        let admin = Actor::system("test admin");
        let all = OrderFilter::default();
        let (rows, count) = order_model::list(&ctx.db, &admin, &all, 1, 20, None)
            .await
            .unwrap();
        assert_eq!((rows.len(), count), (20, 1_234));
        let completed = sql_count(
            &ctx,
            "SELECT COUNT(*) AS n FROM orders WHERE status = 'completed'",
        )
        .await;
        let only = OrderFilter {
            status: Some(OrderStatus::Completed),
            ..OrderFilter::default()
        };
        let (_, count) = order_model::list(&ctx.db, &admin, &only, 2, 20, None)
            .await
            .unwrap();
        assert_eq!(i64::try_from(count).unwrap(), completed);
        let (last, _) = order_model::list(&ctx.db, &admin, &all, 62, 20, None)
            .await
            .unwrap();
        assert_eq!(last.len(), 14, "the last page");

        // The search box: an e-mail fragment, from the trigram index, as a scan would find.
        let term = bench_history::customer_email(7).replace("@bench.example", "@");
        let q = OrderFilter {
            q: Some(term.clone()),
            ..OrderFilter::default()
        };
        let (found, count) = order_model::list(&ctx.db, &admin, &q, 1, 100, None)
            .await
            .unwrap();
        let scanned = sql_count(
            &ctx,
            &format!("SELECT COUNT(*) AS n FROM orders WHERE email LIKE '%{term}%'"),
        )
        .await;
        assert!(scanned > 0);
        assert_eq!(i64::try_from(count).unwrap(), scanned);
        assert!(found
            .iter()
            .all(|o| o.email == bench_history::customer_email(7)));

        // A customer of the history signs in with the given password and reads their own.
        let mine = login(&server, &bench_history::customer_email(3), PASSWORD).await;
        let token = mine["access"].as_str().unwrap().to_string();
        let res = server
            .get("/api/v1/orders?page_size=100")
            .add_header(bearer(&token).0, bearer(&token).1)
            .await;
        assert_eq!(res.status_code(), 200, "{}", res.text());
        let own = sql_count(
            &ctx,
            &format!(
                "SELECT COUNT(*) AS n FROM orders o JOIN users u ON u.id = o.user_id \
                 WHERE u.email = '{}'",
                bench_history::customer_email(3)
            ),
        )
        .await;
        assert_eq!(res.json::<Value>()["count"].as_i64(), Some(own));

        // The export: every order, newest first, over several keyset pages.
        let browser = browser(&ctx);
        sign_in(&browser, "admin@example.com").await;
        // What is typed into the search box is checked, not sent to the database as it is.
        for bad in ["%00", &"x".repeat(300)] {
            let res = browser.get(&format!("/admin/orders?q={bad}")).await;
            assert_eq!(res.status_code(), 422, "q={bad}");
        }
        let csv = browser.get("/admin/orders/export.csv").await;
        assert_eq!(csv.status_code(), 200);
        let text = csv.text();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("number,placed_at,status"));
        assert_eq!(lines.len(), 1 + 1_234);
        let numbers: Vec<i64> = lines[1..]
            .iter()
            .map(|l| l.split(',').next().unwrap().parse().unwrap())
            .collect();
        assert!(
            numbers.windows(2).all(|w| w[0] > w[1]),
            "newest first, none twice"
        );
        // New orders continue the numbering after the history.
        let shopper = customer(&server, &ctx, "zoe@example.com").await;
        add(&server, &shopper, shop.id("MUG-2"), 1).await;
        let order: Value = checkout(&server, &shopper).await.json();
        assert_eq!(order["number"].as_i64(), Some(numbers[0] + 1));
        assert_summaries_match(&ctx, "a checkout after the history").await;
    })
    .await;
}

/// The numbers of a page of the API's order list, and its `next`/`previous` paths.
async fn page_of(server: &TestServer, auth: &Auth, path: &str) -> (Vec<i64>, Value) {
    let res = get(server, auth, path).await;
    assert_eq!(res.status_code(), 200, "{path}: {}", res.text());
    let body: Value = res.json();
    let numbers = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["number"].as_i64().unwrap())
        .collect();
    (numbers, body)
}

/// The path and query of an envelope link (they are absolute URLs).
fn link(body: &Value, which: &str) -> Option<String> {
    body[which]
        .as_str()
        .map(|u| u[u.find("/api/").expect("an API link")..].to_string())
}

#[tokio::test]
#[parallel]
async fn order_lists_page_by_position_through_their_links_and_by_number_from_the_nearer_end() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        bench_history::load(&ctx, 530, 12, 30, PASSWORD)
            .await
            .unwrap();
        // Orders placed in the same instant, across page boundaries: the id breaks the tie.
        ctx.db
            .execute_unprepared(
                "UPDATE orders SET created_at = (SELECT created_at FROM orders WHERE number = 1200) \
                 WHERE number BETWEEN 1150 AND 1250",
            )
            .await
            .unwrap();
        let expected: Vec<i64> = {
            let rows = ctx
                .db
                .query_all_raw(Statement::from_string(
                    ctx.db.get_database_backend(),
                    "SELECT number FROM orders ORDER BY created_at DESC, id DESC",
                ))
                .await
                .unwrap();
            rows.iter().map(|r| r.try_get("", "number").unwrap()).collect()
        };
        assert_eq!(expected.len(), 530);

        // Forward through `next`: every order once, in the list's order; the links carry the
        // page's last order.
        let mut walked: Vec<i64> = Vec::new();
        let mut pages = Vec::new();
        let mut path = Some("/api/v1/orders?page_size=50".to_string());
        while let Some(p) = path {
            let (numbers, body) = page_of(&server, &shop.admin, &p).await;
            assert_eq!(body["count"], 530);
            walked.extend(numbers.iter().copied());
            pages.push(numbers);
            path = link(&body, "next");
            if let Some(next) = &path {
                let last = body["results"].as_array().unwrap().last().unwrap()["id"].clone();
                assert!(next.contains(&format!("after={}", last.as_str().unwrap())), "{next}");
            }
        }
        assert_eq!(walked, expected, "every order once, newest first");
        assert_eq!(pages.len(), 11);

        // A numbered page is the same page, from the front half or the back.
        for n in [1usize, 2, 5, 6, 10, 11] {
            let (numbers, _) =
                page_of(&server, &shop.admin, &format!("/api/v1/orders?page_size=50&page={n}")).await;
            assert_eq!(numbers, pages[n - 1], "page {n} by number");
        }
        // And by status (the status index): the last page by number equals the end of a scan.
        let (last_paid, body) =
            page_of(&server, &shop.admin, "/api/v1/orders?status=completed&page_size=7&page=1").await;
        let completed = body["count"].as_u64().unwrap();
        let last_page = completed.div_ceil(7);
        let (tail, _) = page_of(
            &server,
            &shop.admin,
            &format!("/api/v1/orders?status=completed&page_size=7&page={last_page}"),
        )
        .await;
        assert!(!last_paid.is_empty() && !tail.is_empty());
        let scan = sql_count(&ctx, "SELECT MIN(number) AS n FROM orders WHERE status = 'completed' \
             AND created_at = (SELECT MIN(created_at) FROM orders WHERE status = 'completed')").await;
        assert_eq!(tail.last().copied(), Some(scan), "the oldest completed order ends the last page");

        // Backward through `previous` from the last page: the same pages in reverse.
        let (numbers, body) =
            page_of(&server, &shop.admin, "/api/v1/orders?page_size=50&page=11").await;
        assert_eq!(numbers, pages[10]);
        let mut back = vec![numbers];
        let mut path = link(&body, "previous");
        while let Some(p) = path {
            let (numbers, body) = page_of(&server, &shop.admin, &p).await;
            back.push(numbers);
            path = link(&body, "previous");
        }
        back.reverse();
        assert_eq!(back, pages, "previous links walk the same pages back");

        // Orders placed while someone pages do not shift what `next` reads.
        let (first, body) = page_of(&server, &shop.admin, "/api/v1/orders?page_size=50").await;
        let shopper = customer(&server, &ctx, "late@example.com").await;
        add(&server, &shopper, shop.id("MUG-2"), 1).await;
        assert_eq!(checkout(&server, &shopper).await.status_code(), 201);
        let (second, _) = page_of(&server, &shop.admin, &link(&body, "next").unwrap()).await;
        assert_eq!(second, pages[1], "no order twice, none skipped");
        assert_eq!(first, pages[0]);

        // A customer's list: someone else's order as the position is not a way in; the page
        // is read by number, of their own orders only.
        let mine = login(&server, &bench_history::customer_email(3), PASSWORD).await;
        let token = mine["access"].as_str().unwrap().to_string();
        let me: Auth = bearer(&token);
        let others = sql_count(&ctx, &format!(
            "SELECT MIN(o.number) AS n FROM orders o JOIN users u ON u.id = o.user_id WHERE u.email <> '{}'",
            bench_history::customer_email(3)
        )).await;
        let foreign = pages.iter().flatten().position(|n| *n == others).unwrap();
        let foreign_id = {
            let p = foreign / 50 + 1;
            let (_, body) =
                page_of(&server, &shop.admin, &format!("/api/v1/orders?page_size=50&page={p}")).await;
            body["results"][foreign % 50]["id"].as_str().unwrap().to_string()
        };
        let (by_number, _) = page_of(&server, &me, "/api/v1/orders?page_size=5&page=2").await;
        let (with_foreign, _) =
            page_of(&server, &me, &format!("/api/v1/orders?page_size=5&page=2&after={foreign_id}")).await;
        assert_eq!(with_foreign, by_number);

        // Positions are ids the list gave: anything else is a field error, not a 500.
        for bad in ["after=1", "before=x%27%20OR%201%3D1", &format!("after={foreign_id}&before={foreign_id}")] {
            let res = get(&server, &shop.admin, &format!("/api/v1/orders?{bad}")).await;
            assert_eq!(res.status_code(), 422, "{bad}: {}", res.text());
            assert_eq!(res.json::<Value>()["error"]["code"], "validation_failed");
        }

        // The admin's HTML list carries the position in its links too.
        let browser = browser(&ctx);
        sign_in(&browser, "admin@example.com").await;
        let html = browser.get("/admin/orders").await.text();
        assert!(html.contains("page=2&amp;page_size=20&amp;after="), "{html}");
    })
    .await;
}
