//! Scheduled order and stock work: expiring unpaid orders and the low-stock check.
use async_trait::async_trait;
use loco_rs::{
    app::AppContext,
    task::{Task, TaskInfo, Vars},
    Error, Result,
};

use crate::models::{notifications, orders};

/// Expires pending orders whose reservation ran out, releasing stock and promo usage.
pub struct ExpireOrders;

#[async_trait]
impl Task for ExpireOrders {
    fn task(&self) -> TaskInfo {
        TaskInfo {
            name: "expire_orders".to_string(),
            detail: "Expire unpaid orders past their expires_at and release their stock"
                .to_string(),
        }
    }

    async fn run(&self, ctx: &AppContext, _vars: &Vars) -> Result<()> {
        let n = orders::expire_due(ctx, chrono::Utc::now())
            .await
            .map_err(|e| Error::string(&e.to_string()))?;
        tracing::info!(expired = n, "order expiry done");
        Ok(())
    }
}

/// Raises a notification per variant at or under its low-stock threshold, closes those that
/// were restocked, and mails admins a digest of the new ones.
pub struct CheckStock;

#[async_trait]
impl Task for CheckStock {
    fn task(&self) -> TaskInfo {
        TaskInfo {
            name: "check_stock".to_string(),
            detail: "Notify admins of variants at or under their low-stock threshold".to_string(),
        }
    }

    async fn run(&self, ctx: &AppContext, _vars: &Vars) -> Result<()> {
        let r = notifications::check_stock(ctx)
            .await
            .map_err(|e| Error::string(&e.to_string()))?;
        tracing::info!(opened = r.opened, closed = r.closed, "stock check done");
        Ok(())
    }
}

/// Counts the order summaries (orders by status, sales by day) again from the orders: the
/// repair after orders were changed outside the shop (by hand in SQL, a restored backup).
pub struct RecountOrders;

#[async_trait]
impl Task for RecountOrders {
    fn task(&self) -> TaskInfo {
        TaskInfo {
            name: "recount_orders".to_string(),
            detail: "Count the order summaries (by status, sales by day) again from the orders"
                .to_string(),
        }
    }

    async fn run(&self, ctx: &AppContext, _vars: &Vars) -> Result<()> {
        let drifted = orders::stats::recount(&ctx.db)
            .await
            .map_err(|e| Error::string(&e.to_string()))?;
        println!(
            "{}",
            if drifted {
                "the order summaries had drifted from the orders; counted again"
            } else {
                "the order summaries matched the orders"
            }
        );
        Ok(())
    }
}
