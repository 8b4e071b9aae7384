//! Issue 19: the demo shop's month of order history, made through the real use-cases.
use std::collections::BTreeSet;

use emporium::models::{
    _entities::{order_events, orders, refunds, variants},
    demo::history::ensure_demo_history,
};
use loco_rs::app::Hooks;
use sea_orm::EntityTrait;
use serial_test::parallel;

use crate::support::{orders::assert_ledger_explains, *};

#[tokio::test]
#[parallel]
async fn the_demo_month_holds_orders_in_every_state_with_books_that_balance() {
    with_app(|_server, ctx| async move {
        emporium::app::App::seed(&ctx, std::path::Path::new("."))
            .await
            .unwrap();
        let placed = ensure_demo_history(&ctx).await.unwrap();
        assert!(placed >= 30, "{placed} orders");
        assert_eq!(ensure_demo_history(&ctx).await.unwrap(), 0, "once");
        // The dashboard's summaries count each order on the day it was (back-dated to) paid.
        assert!(!emporium::models::orders::stats::recount(&ctx.db)
            .await
            .unwrap());
        let sales = emporium::models::reports::sales(&ctx.db, chrono::Utc::now())
            .await
            .unwrap();
        assert!(
            sales.daily.iter().filter(|(_, p)| p.orders > 0).count() > 5,
            "spread over the month"
        );

        let all = orders::Entity::find().all(&ctx.db).await.unwrap();
        assert_eq!(all.len(), placed);
        let statuses: BTreeSet<&str> = all.iter().map(|o| o.status.as_str()).collect();
        for s in [
            "paid",
            "shipped",
            "completed",
            "cancelled",
            "partially_refunded",
            "refunded",
        ] {
            assert!(statuses.contains(s), "no {s} order: {statuses:?}");
        }
        assert!(all.iter().any(|o| o.user_id.is_none()), "guest orders");
        // A month back, none in the future, each step after the order was placed.
        let now = chrono::Utc::now();
        let events = order_events::Entity::find().all(&ctx.db).await.unwrap();
        let mut days = BTreeSet::new();
        for o in &all {
            let placed_at = o.created_at.to_utc();
            assert!(placed_at > now - chrono::Duration::days(32) && placed_at < now);
            days.insert(placed_at.date_naive());
            for e in events.iter().filter(|e| e.order_id == o.id) {
                assert!(e.created_at.to_utc() >= placed_at, "{e:?}");
                assert!(e.created_at.to_utc() <= now, "{e:?}");
            }
        }
        assert!(
            days.len() >= 20,
            "spread over the month: {} days",
            days.len()
        );
        // Refunds went through with credit notes; the stock ledger explains every level.
        let refunds = refunds::Entity::find().all(&ctx.db).await.unwrap();
        assert!(!refunds.is_empty());
        assert!(refunds
            .iter()
            .all(|r| r.status == "succeeded" && r.credit_note_number.is_some()));
        for v in variants::Entity::find().all(&ctx.db).await.unwrap() {
            assert_ledger_explains(&ctx, &v.pid.to_string()).await;
        }
    })
    .await;
}
