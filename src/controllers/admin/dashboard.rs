//! `/admin`: the staff landing page.
use axum::response::Response;
use loco_rs::prelude::Routes;
use serde_json::json;

use crate::{
    domain::order_status::OrderStatus,
    domain::role::Role,
    errors::PageError,
    jobs::Jobs,
    models::{inventory, mail_outbox, orders, reports, users},
    web::html::Page,
};

pub const STAFF: &[Role] = &[Role::Staff, Role::ProductManager, Role::Admin];

async fn index(page: Page) -> Result<Response, PageError> {
    let viewer = page.require_role(STAFF)?;
    let live = if super::live::LIVE_ROLES.contains(&viewer.role()) {
        let (orders, notes) = crate::live::recent(&page.ctx.db, 5).await?;
        let items = |list: Vec<crate::live::LiveEvent>| -> Vec<serde_json::Value> {
            list.iter()
                .filter_map(|e| super::live::item(e).map(|(_, v)| v))
                .collect()
        };
        json!({"orders": items(orders), "notifications": items(notes)})
    } else {
        serde_json::Value::Null
    };
    let db = &page.ctx.db;
    let total = users::count(db, None).await?;
    let customers = users::count(db, Some(Role::Customer)).await?;
    let stats = json!({
        "users": total,
        "customers": customers,
        "staff": total - customers,
        "mail_pending": mail_outbox::count_by_status(db, mail_outbox::Status::Pending).await?,
        "mail_failed": mail_outbox::count_by_status(db, mail_outbox::Status::Failed).await?,
        "dead_jobs": Jobs::get(&page.ctx).dead(1000).await?.len(),
    });
    let settings = crate::settings::Settings::get(&page.ctx);
    let cur = &settings.currency;
    let now = chrono::Utc::now();
    let sales = reports::sales(db, now).await?;
    let period = |p: &reports::Period| json!({"orders": p.orders, "revenue": crate::views::money::format(p.revenue_cents, cur)});
    let counts = orders::count_by_status(db).await?;
    let by_state: Vec<_> = OrderStatus::ALL
        .iter()
        .map(|s| {
            json!({"value": s.as_str(), "label": crate::views::orders::status_label(*s),
                        "count": counts.get(s.as_str()).copied().unwrap_or(0)})
        })
        .collect();
    let (low, low_count) = inventory::list(
        db,
        &inventory::InventoryFilter {
            q: String::new(),
            low_only: true,
        },
        1,
        8,
    )
    .await?;
    let top = reports::best_sellers(&page.ctx, now, 5).await?;
    page.render(
        "admin/dashboard.html",
        "Dashboard",
        json!({
            "stats": stats,
            "sales": {"today": period(&sales.today), "week": period(&sales.week), "month": period(&sales.month)},
            "chart": crate::views::charts::daily_sales(&sales.daily, cur),
            "by_state": by_state,
            "low_stock": low, "low_count": low_count,
            "top": top,
            "top_minutes": reports::BEST_SELLERS_SECS / 60,
            "live": live,
        }),
    )
    .await
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new().add("/admin", axum::routing::get(index))
}
