//! Upgrading a shop that has data: the migrations that rebuild a SQLite table (SQLite cannot
//! drop a NOT NULL in place) keep every row, every index and every foreign key.
use migration::MigratorTrait;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, Value};

/// Inserts one row into `table`: `given` columns as given, every other required column with a
/// value of its type (a fresh UUID for text, so unique columns stay unique). Returns its id.
async fn insert(db: &DatabaseConnection, table: &str, given: &[(&str, Value)]) -> i64 {
    let columns = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            format!("PRAGMA table_info(\"{table}\")"),
        ))
        .await
        .unwrap();
    let (mut names, mut values) = (Vec::new(), Vec::<Value>::new());
    for c in columns {
        let name: String = c.try_get("", "name").unwrap();
        let kind: String = c.try_get("", "type").unwrap();
        let required: i32 = c.try_get("", "notnull").unwrap();
        let default: Option<String> = c.try_get("", "dflt_value").unwrap();
        let pk: i32 = c.try_get("", "pk").unwrap();
        if let Some((_, v)) = given.iter().find(|(n, _)| *n == name) {
            names.push(name);
            values.push(v.clone());
        } else if required == 1 && default.is_none() && pk == 0 {
            let kind = kind.to_ascii_lowercase();
            let v: Value = if kind.contains("int") || kind.contains("bool") {
                1.into()
            } else if kind.contains("timestamp") || kind.contains("date") {
                "2026-12-01 10:00:00+00:00".into()
            } else {
                uuid::Uuid::new_v4().to_string().into()
            };
            names.push(name);
            values.push(v);
        }
    }
    let marks = vec!["?"; names.len()].join(", ");
    let cols = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let res = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            format!("INSERT INTO \"{table}\" ({cols}) VALUES ({marks})"),
            values,
        ))
        .await
        .unwrap_or_else(|e| panic!("{table}: {e}"));
    i64::try_from(res.last_insert_id()).unwrap()
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap()
}

#[tokio::test]
async fn a_shop_with_orders_upgrades_to_guest_orders_keeping_every_row() {
    let dir = std::env::temp_dir().join(format!("emporium-upgrade-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/shop.sqlite?mode=rwc", dir.display());
    let db = Database::connect(url.as_str()).await.unwrap();
    // The shop as it was before guest orders.
    let before = migration::Migrator::migrations()
        .iter()
        .position(|m| m.name().ends_with("_guest_orders"))
        .expect("the guest orders migration");
    migration::Migrator::up(&db, Some(u32::try_from(before).unwrap()))
        .await
        .unwrap();
    let user = insert(&db, "users", &[("role", "customer".into())]).await;
    let category = insert(&db, "categories", &[]).await;
    let product = insert(&db, "products", &[("category_id", category.into())]).await;
    let variant = insert(&db, "variants", &[("product_id", product.into())]).await;
    let promo = insert(&db, "promo_codes", &[]).await;
    let mut orders = Vec::new();
    for (number, status) in [(1001_i64, "pending"), (1002, "paid")] {
        let order = insert(
            &db,
            "orders",
            &[
                ("number", number.into()),
                ("user_id", user.into()),
                ("status", status.into()),
                ("promo_code_id", promo.into()),
            ],
        )
        .await;
        insert(
            &db,
            "order_lines",
            &[
                ("order_id", order.into()),
                ("product_id", product.into()),
                ("variant_id", variant.into()),
            ],
        )
        .await;
        insert(
            &db,
            "promo_redemptions",
            &[
                ("order_id", order.into()),
                ("user_id", user.into()),
                ("promo_code_id", promo.into()),
            ],
        )
        .await;
        orders.push(order);
    }
    let indexes = "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('orders', 'promo_redemptions')";
    let indexes_before = count(&db, indexes).await;

    // The guest orders migration first: the indexes came back, with the one for guests' e-mails.
    migration::Migrator::up(&db, Some(1)).await.unwrap();
    assert_eq!(count(&db, indexes).await, indexes_before + 1);
    migration::Migrator::up(&db, None).await.unwrap();

    // Every row is there, still pointing where it did.
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM orders WHERE user_id = {user}")
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM order_lines WHERE order_id IN (SELECT id FROM orders)"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM promo_redemptions WHERE user_id = {user}")
        )
        .await,
        2
    );
    assert!(db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA foreign_key_check"
        ))
        .await
        .unwrap()
        .is_empty());
    // A guest's order and its promo use belong to no account now…
    let guest = insert(
        &db,
        "orders",
        &[
            ("number", 1003_i64.into()),
            ("user_id", Value::Int(None)),
            ("status", "pending".into()),
        ],
    )
    .await;
    insert(
        &db,
        "promo_redemptions",
        &[
            ("order_id", guest.into()),
            ("user_id", Value::Int(None)),
            ("promo_code_id", promo.into()),
        ],
    )
    .await;
    // …while the foreign keys still hold: no order of a user that does not exist, and a
    // user with orders cannot be deleted.
    let orphan = db
        .execute_raw(Statement::from_string(
            DbBackend::Sqlite,
            "UPDATE orders SET user_id = 999999 WHERE id = 1",
        ))
        .await;
    assert!(orphan.is_err(), "the foreign key to users is enforced");
    let gone = db
        .execute_raw(Statement::from_string(
            DbBackend::Sqlite,
            format!("DELETE FROM users WHERE id = {user}"),
        ))
        .await;
    assert!(gone.is_err(), "orders keep their customer");
    // New orders are numbered after the old ones (the id sequence survived the rebuild).
    assert!(guest > *orders.last().unwrap());
    db.close().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
