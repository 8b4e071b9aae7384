//! Summaries that keep the back office fast over a long history (issue 21).
//!
//! - `order_status_counts`: how many orders are in each status, kept by the order steps in
//!   their own transactions. Split into shards (order id modulo 8) so concurrent checkouts
//!   and payments rarely wait on the same row; readers sum the shards.
//! - `daily_sales`: per UTC day of payment, the orders that count as sales and what they kept
//!   (total less refunds), sharded the same way; the dashboard reads 30 days of it instead of
//!   a month of orders.
//! - A substring index on the order e-mail for the admin search box: `pg_trgm` on PostgreSQL,
//!   an FTS5 trigram table (kept by triggers) on SQLite.
//!
//! - An index on the payment time, for the best sellers of the month.
//!
//! Both summaries are filled from the orders already there.
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Order statuses that count as sales (`domain::order_status::OrderStatus::is_sale`).
const SOLD: &str = "('paid', 'shipped', 'completed', 'partially_refunded')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let backend = m.get_database_backend();
        db.execute_unprepared(
            "CREATE TABLE order_status_counts (status VARCHAR(32) NOT NULL, shard INTEGER NOT NULL, \
             n BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (status, shard))",
        )
        .await?;
        db.execute_unprepared(
            "CREATE TABLE daily_sales (day VARCHAR(10) NOT NULL, shard INTEGER NOT NULL, \
             orders BIGINT NOT NULL DEFAULT 0, revenue_cents BIGINT NOT NULL DEFAULT 0, \
             PRIMARY KEY (day, shard))",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO order_status_counts (status, shard, n) \
             SELECT status, id % 8, COUNT(*) FROM orders GROUP BY status, id % 8",
        )
        .await?;
        let day = match backend {
            DbBackend::Postgres => "to_char(paid_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
            _ => "strftime('%Y-%m-%d', paid_at)",
        };
        db.execute_unprepared(&format!(
            "INSERT INTO daily_sales (day, shard, orders, revenue_cents) \
             SELECT {day}, id % 8, COUNT(*), SUM(total_cents - refunded_cents) FROM orders \
             WHERE status IN {SOLD} AND paid_at IS NOT NULL GROUP BY {day}, id % 8"
        ))
        .await?;
        // The best sellers read the month's paid orders by payment time.
        db.execute_unprepared("CREATE INDEX idx_orders_paid ON orders (paid_at)")
            .await?;
        match backend {
            DbBackend::Postgres => {
                // pg_trgm ships with PostgreSQL and is a trusted extension (the database's
                // owner may create it); without it the search still works, by a scan.
                let available = db
                    .query_one_raw(Statement::from_string(
                        backend,
                        "SELECT 1 AS one FROM pg_available_extensions WHERE name = 'pg_trgm'",
                    ))
                    .await?
                    .is_some();
                if available {
                    db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                        .await?;
                    db.execute_unprepared(
                        "CREATE INDEX idx_orders_email_trgm ON orders USING GIN (email gin_trgm_ops)",
                    )
                    .await?;
                }
            }
            _ => {
                db.execute_unprepared(
                    "CREATE VIRTUAL TABLE order_search USING fts5(email, content='orders', \
                     content_rowid='id', tokenize='trigram')",
                )
                .await?;
                db.execute_unprepared("INSERT INTO order_search(order_search) VALUES ('rebuild')")
                    .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER order_search_insert AFTER INSERT ON orders BEGIN \
                       INSERT INTO order_search (rowid, email) VALUES (new.id, new.email); END",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER order_search_delete AFTER DELETE ON orders BEGIN \
                       INSERT INTO order_search (order_search, rowid, email) \
                       VALUES ('delete', old.id, old.email); END",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER order_search_update AFTER UPDATE OF email ON orders BEGIN \
                       INSERT INTO order_search (order_search, rowid, email) \
                       VALUES ('delete', old.id, old.email); \
                       INSERT INTO order_search (rowid, email) VALUES (new.id, new.email); END",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared("DROP INDEX IF EXISTS idx_orders_email_trgm")
                    .await?;
            }
            _ => {
                for t in [
                    "order_search_insert",
                    "order_search_delete",
                    "order_search_update",
                ] {
                    db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {t}"))
                        .await?;
                }
                db.execute_unprepared("DROP TABLE IF EXISTS order_search")
                    .await?;
            }
        }
        db.execute_unprepared("DROP INDEX idx_orders_paid").await?;
        db.execute_unprepared("DROP TABLE daily_sales").await?;
        db.execute_unprepared("DROP TABLE order_status_counts")
            .await?;
        Ok(())
    }
}
