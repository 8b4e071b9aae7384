//! What reading the shop costs (issue 21): a sale leaves cached catalogue bodies in place and
//! shows its stock at once; a visitor without a cookie costs the database no write.
use sea_orm::{
    sea_query::Expr, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    Statement,
};
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{
    orders::{add, checkout, customer, post, shop},
    *,
};

/// Renames a product in the database behind the app's back: no use-case ran, so no cache
/// entry knows. What the shop shows afterwards tells whether a body came from the cache.
async fn rename_behind_the_cache(ctx: &loco_rs::app::AppContext, sku: &str, name: &str) {
    use emporium::models::_entities::products;
    let n = products::Entity::update_many()
        .col_expr(products::Column::Name, Expr::value(name))
        .filter(products::Column::Sku.eq(sku))
        .exec(&ctx.db)
        .await
        .unwrap()
        .rows_affected;
    assert_eq!(n, 1);
}

fn skus(list: &Value) -> Vec<&str> {
    list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sku"].as_str().unwrap())
        .collect()
}

#[tokio::test]
#[parallel]
async fn a_sale_shows_its_stock_at_once_and_leaves_cached_catalogue_bodies_alone() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let kettle = shop.id("KTL-1").to_string(); // 4 in stock
        let product = format!("/api/v1/products/{kettle}");
        let listed = "/api/v1/products?category=kitchen&page_size=50";
        let in_stock = "/api/v1/products?category=kitchen&in_stock=true&page_size=50";
        // Fill the cache: the product, a list, a list filtered by availability, the page.
        let before: Value = server.get(&product).await.json();
        assert_eq!(before["available"], 4);
        server.get(listed).await.assert_status_ok();
        assert!(skus(&server.get(in_stock).await.json()).contains(&"KTL-1"));
        let slug = before["slug"].as_str().unwrap().to_string();
        server.get(&format!("/p/{slug}")).await.assert_status_ok();
        rename_behind_the_cache(&ctx, "KTL-1", "Renamed behind the cache").await;

        // A sale: the bodies stay cached (the old name), their stock is the database's.
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, &kettle, 3)
            .await
            .assert_status(201.try_into().unwrap());
        checkout(&server, &ann)
            .await
            .assert_status(201.try_into().unwrap());
        let after: Value = server.get(&product).await.json();
        assert_eq!(after["name"], before["name"], "the sale evicted nothing");
        assert_eq!(
            (after["stock"].as_i64(), after["available"].as_i64()),
            (Some(4), Some(1))
        );
        assert_eq!(after["variants"][0]["available"], 1);
        let list: Value = server.get(listed).await.json();
        let row = list["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["sku"] == "KTL-1")
            .unwrap();
        assert_eq!(
            (row["name"].clone(), row["available"].clone()),
            (before["name"].clone(), json!(1))
        );
        let page = server.get(&format!("/p/{slug}")).await.text();
        assert!(
            page.contains(before["name"].as_str().unwrap()),
            "the page's body is cached too"
        );
        assert!(!page.contains("Renamed behind the cache"));
        assert!(skus(&server.get(in_stock).await.json()).contains(&"KTL-1"));

        // The last one sells: lists filtered by availability drop it at once; bodies stay.
        let bob = customer(&server, &ctx, "bob@example.com").await;
        add(&server, &bob, &kettle, 1)
            .await
            .assert_status(201.try_into().unwrap());
        checkout(&server, &bob)
            .await
            .assert_status(201.try_into().unwrap());
        assert!(
            !skus(&server.get(in_stock).await.json()).contains(&"KTL-1"),
            "sold out"
        );
        let sold_out: Value = server.get(&product).await.json();
        assert_eq!(
            (sold_out["name"].clone(), sold_out["available"].clone()),
            (before["name"].clone(), json!(0))
        );

        // Stock comes back through an adjustment: listed as available again, body still cached.
        let res = post(
            &server,
            &shop.admin,
            "/api/v1/admin/stock-adjustments",
            json!({"product_id": kettle, "delta": 5, "reason": "found a box"}),
        )
        .await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        assert!(
            skus(&server.get(in_stock).await.json()).contains(&"KTL-1"),
            "back in stock"
        );
        let back: Value = server.get(&product).await.json();
        assert_eq!(
            (back["name"].clone(), back["available"].clone()),
            (before["name"].clone(), json!(5))
        );

        // A catalogue edit does evict: the next read is the database's, rename included.
        let res = post(
            &server,
            &shop.pm,
            "/api/v1/products",
            json!({"sku": "KTL-9", "name": "Spare Lid", "price_cents": 500}),
        )
        .await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        let fresh: Value = server.get(&product).await.json();
        assert_eq!(fresh["name"], "Renamed behind the cache");
        assert_eq!(fresh["available"], 5);
    })
    .await;
}

/// Makes the test database note every statement that writes a table (by trigger, so nothing
/// in the app can go around it); returns the query counting what was noted.
async fn note_every_write(db: &sea_orm::DatabaseConnection) -> &'static str {
    let backend = db.get_database_backend();
    db.execute_unprepared("CREATE TABLE test_writes (tbl TEXT NOT NULL)")
        .await
        .unwrap();
    let tables: Vec<String> = match backend {
        DatabaseBackend::Postgres => {
            db.execute_unprepared(
                "CREATE FUNCTION test_note_write() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN INSERT INTO test_writes VALUES (TG_TABLE_NAME); RETURN NULL; END $$",
            )
            .await
            .unwrap();
            db.query_all_raw(Statement::from_string(
                backend,
                "SELECT table_name AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                 AND table_name <> 'test_writes'",
            ))
            .await
            .unwrap()
        }
        _ => db
            .query_all_raw(Statement::from_string(
                backend,
                // FTS5 tables and their shadow tables change only with the products and orders.
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                 AND name NOT LIKE 'product_search%' AND name NOT LIKE 'order_search%' \
                 AND name <> 'test_writes'",
            ))
            .await
            .unwrap(),
    }
    .iter()
    .map(|r| r.try_get::<String>("", "name").unwrap())
    .collect();
    assert!(tables.len() > 30, "every table: {tables:?}");
    for t in &tables {
        let sql = match backend {
            DatabaseBackend::Postgres => format!(
                "CREATE TRIGGER test_note_{t} AFTER INSERT OR UPDATE OR DELETE ON \"{t}\" \
                 FOR EACH STATEMENT EXECUTE FUNCTION test_note_write()"
            ),
            _ => ["INSERT", "UPDATE", "DELETE"]
                .iter()
                .map(|op| {
                    format!(
                        "CREATE TRIGGER test_note_{t}_{op} AFTER {op} ON \"{t}\" \
                         BEGIN INSERT INTO test_writes VALUES ('{t}'); END;"
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        };
        db.execute_unprepared(&sql).await.unwrap();
    }
    "SELECT tbl FROM test_writes"
}

#[tokio::test]
#[parallel]
async fn a_first_visit_without_a_cookie_writes_nothing_to_the_database() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let kettle = shop.id("KTL-1").to_string();
        let slug = server
            .get(&format!("/api/v1/products/{kettle}"))
            .await
            .json::<Value>()["slug"]
            .as_str()
            .unwrap()
            .to_string();
        let noted = note_every_write(&ctx.db).await;
        let backend = ctx.db.get_database_backend();
        let count = || async {
            ctx.db
                .query_all_raw(Statement::from_string(backend, noted))
                .await
                .unwrap()
                .iter()
                .map(|r| r.try_get::<String>("", "tbl").unwrap())
                .collect::<Vec<_>>()
        };
        // The triggers do note writes: a catalogue edit shows up.
        let res = post(
            &server,
            &shop.pm,
            "/api/v1/brands",
            json!({"name": "Probe"}),
        )
        .await;
        assert_eq!(res.status_code(), 201);
        assert!(
            count().await.contains(&"brands".to_string()),
            "the triggers see writes"
        );
        ctx.db
            .execute_unprepared("DELETE FROM test_writes")
            .await
            .unwrap();

        // Twice each: the first read fills the cache, the second is served from it.
        for _ in 0..2 {
            for path in [
                "/".to_string(),
                "/products".to_string(),
                "/products?q=kettle&sort=price".to_string(),
                "/c/kitchen".to_string(),
                format!("/p/{slug}"),
                "/cart".to_string(),
                "/login".to_string(),
                "/register".to_string(),
                "/no-such-page".to_string(),
                "/api/v1/products?in_stock=true&category=kitchen".to_string(),
                format!("/api/v1/products/{kettle}"),
                "/api/v1/categories".to_string(),
            ] {
                // A new client each time: no cookie from an earlier answer.
                let visitor = browser(&ctx);
                let res = visitor.get(&path).await;
                assert!(
                    [200, 404].contains(&res.status_code().as_u16()),
                    "{path}: {}",
                    res.status_code()
                );
            }
        }
        assert_eq!(
            count().await,
            Vec::<String>::new(),
            "first visits wrote to the database"
        );
    })
    .await;
}
