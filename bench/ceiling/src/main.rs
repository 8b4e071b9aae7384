//! The benchmark's ceiling (docs/PERFORMANCE.md): what serving a product by slug costs with
//! nothing but axum and the database — the product row and its variants, as JSON — and none
//! of the shop (no session, CSRF, cache, templates, middleware). `bench/run` loads it with the
//! same URLs as the product page.
//!
//!   DATABASE_URL=… PORT=5198 emporium-ceiling
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn statement(db: &DatabaseConnection, sql: &str, value: sea_orm::Value) -> Statement {
    let backend = db.get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        sql.replace('?', "$1")
    } else {
        sql.to_string()
    };
    Statement::from_sql_and_values(backend, sql, [value])
}

async fn product(State(db): State<DatabaseConnection>, Path(slug): Path<String>) -> Response {
    let found = db
        .query_one_raw(statement(
            &db,
            "SELECT id, slug, name, description, price_min_cents FROM products WHERE slug = ? AND active",
            slug.into(),
        ))
        .await;
    let Ok(Some(p)) = found else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let id: i32 = p.try_get("", "id").unwrap_or_default();
    let variants = db
        .query_all_raw(statement(
            &db,
            "SELECT sku, price_cents, stock, reserved, options FROM variants WHERE product_id = ? ORDER BY position",
            id.into(),
        ))
        .await
        .unwrap_or_default();
    let variants: Vec<serde_json::Value> = variants
        .iter()
        .map(|v| {
            let stock: i32 = v.try_get("", "stock").unwrap_or_default();
            let reserved: i32 = v.try_get("", "reserved").unwrap_or_default();
            serde_json::json!({
                "sku": v.try_get::<String>("", "sku").unwrap_or_default(),
                "price_cents": v.try_get::<i64>("", "price_cents").unwrap_or_default(),
                "available": stock - reserved,
                "options": v.try_get::<String>("", "options").unwrap_or_default(),
            })
        })
        .collect();
    Json(serde_json::json!({
        "slug": p.try_get::<String>("", "slug").unwrap_or_default(),
        "name": p.try_get::<String>("", "name").unwrap_or_default(),
        "description": p.try_get::<String>("", "description").unwrap_or_default(),
        "price_cents": p.try_get::<i64>("", "price_min_cents").unwrap_or_default(),
        "variants": variants,
    }))
    .into_response()
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let pool: u32 = std::env::var("DATABASE_MAX_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(pool)
        .min_connections(1)
        .sqlx_logging(false);
    let db = Database::connect(options).await.expect("database");
    let port = std::env::var("PORT").unwrap_or_else(|_| "5198".into());
    let app = Router::new()
        .route("/p/{slug}", get(product))
        .route("/_health", get(|| async { "ok" }))
        .with_state(db);
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .expect("port");
    axum::serve(listener, app).await.expect("server");
}
