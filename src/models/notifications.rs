//! Admin notifications (low stock now; payment problems in issue 5) and the scheduled stock
//! check that raises and closes them.
//!
//! A variant at or under its threshold (`stock - reserved <= low_stock_threshold`) has exactly
//! one open notification: the check inserts with the unique `open_key`, so a second check, or
//! two checks at once, add nothing. Restocking above the threshold closes it (the key is
//! cleared), and the next shortage opens a new one. Newly opened ones go to admins as one
//! digest mail per check.
use chrono::Utc;
use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::{Expr, ExprTrait, OnConflict, Query},
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{
    _entities::{notifications, orders, products, users, variants},
    db::write_txn,
    webhooks,
};
use crate::{
    domain::{role::Role, webhook::Event},
    errors::{AppError, AppResult},
    jobs::{Job, Jobs},
    mail::{self, Mail},
    settings::Settings,
};

pub const LOW_STOCK: &str = "low_stock";

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    pub kind: String,
    pub product_id: Option<Uuid>,
    pub variant_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub message: String,
    /// The available stock when the notification was raised.
    pub stock: Option<i32>,
    pub created_at: String,
    pub read: bool,
    /// Still true while the condition lasts (low stock not yet replenished).
    pub open: bool,
}

async fn views(
    db: &DatabaseConnection,
    rows: Vec<notifications::Model>,
) -> AppResult<Vec<NotificationView>> {
    let ps = products::Entity::find()
        .filter(products::Column::Id.is_in(rows.iter().filter_map(|n| n.product_id)))
        .all(db)
        .await?;
    let vs = variants::Entity::find()
        .filter(variants::Column::Id.is_in(rows.iter().filter_map(|n| n.variant_id)))
        .all(db)
        .await?;
    let os = orders::Entity::find()
        .filter(orders::Column::Id.is_in(rows.iter().filter_map(|n| n.order_id)))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|n| NotificationView {
            id: n.pid,
            kind: n.kind,
            product_id: n
                .product_id
                .and_then(|id| ps.iter().find(|p| p.id == id).map(|p| p.pid)),
            variant_id: n
                .variant_id
                .and_then(|id| vs.iter().find(|v| v.id == id).map(|v| v.pid)),
            order_id: n
                .order_id
                .and_then(|id| os.iter().find(|o| o.id == id).map(|o| o.pid)),
            message: n.message,
            stock: n.stock,
            created_at: crate::views::rfc3339(&n.created_at),
            read: n.read_at.is_some(),
            open: n.open_key.is_some(),
        })
        .collect())
}

/// One page, newest first; `unread` keeps only unread ones.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &DatabaseConnection,
    unread: bool,
    page: u64,
    page_size: u64,
) -> AppResult<(Vec<NotificationView>, u64)> {
    let mut q = notifications::Entity::find()
        .order_by_desc(notifications::Column::CreatedAt)
        .order_by_desc(notifications::Column::Id);
    if unread {
        q = q.filter(notifications::Column::ReadAt.is_null());
    }
    let paginator = q.paginate(db, page_size);
    let count = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((views(db, rows).await?, count))
}

/// # Errors
/// Database errors.
pub async fn unread_count(db: &DatabaseConnection) -> AppResult<u64> {
    Ok(notifications::Entity::find()
        .filter(notifications::Column::ReadAt.is_null())
        .count(db)
        .await?)
}

async fn find(db: &DatabaseConnection, pid: Uuid) -> AppResult<notifications::Model> {
    notifications::Entity::find()
        .filter(notifications::Column::Pid.eq(pid))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Marks read or unread.
///
/// # Errors
/// `NotFound`.
pub async fn set_read(
    db: &DatabaseConnection,
    pid: Uuid,
    read: bool,
) -> AppResult<NotificationView> {
    let n = find(db, pid).await?;
    let mut row = n.into_active_model();
    row.read_at = Set(read.then(|| Utc::now().into()));
    let n = row.update(db).await?;
    views(db, vec![n]).await?.pop().ok_or(AppError::NotFound)
}

/// # Errors
/// `NotFound`.
pub async fn delete(db: &DatabaseConnection, pid: Uuid) -> AppResult<()> {
    let n = find(db, pid).await?;
    notifications::Entity::delete_by_id(n.id).exec(db).await?;
    Ok(())
}

/// What one stock check did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StockCheck {
    pub opened: usize,
    pub closed: u64,
}

/// The scheduled stock check; see the module notes.
///
/// # Errors
/// Database errors.
pub async fn check_stock(ctx: &AppContext) -> AppResult<StockCheck> {
    let settings = Settings::get(ctx);
    let available = Expr::col((variants::Entity, variants::Column::Stock))
        .sub(Expr::col((variants::Entity, variants::Column::Reserved)));
    let txn = write_txn(&ctx.db).await?;
    // Close first: a variant back above its threshold no longer has an open notification.
    let closed = notifications::Entity::update_many()
        .col_expr(
            notifications::Column::OpenKey,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            notifications::Column::ClosedAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .filter(notifications::Column::Kind.eq(LOW_STOCK))
        .filter(notifications::Column::OpenKey.is_not_null())
        .filter(
            notifications::Column::VariantId.in_subquery(
                Query::select()
                    .column(variants::Column::Id)
                    .from(variants::Entity)
                    .and_where(available.clone().gt(Expr::col((
                        variants::Entity,
                        variants::Column::LowStockThreshold,
                    ))))
                    .to_owned(),
            ),
        )
        .exec(&txn)
        .await?
        .rows_affected;
    let low = variants::Entity::find()
        .filter(available.lte(Expr::col((
            variants::Entity,
            variants::Column::LowStockThreshold,
        ))))
        .order_by_asc(variants::Column::Id)
        .all(&txn)
        .await?;
    let ps = products::Entity::find()
        .filter(products::Column::Id.is_in(low.iter().map(|v| v.product_id)))
        .filter(products::Column::Active.eq(true))
        .all(&txn)
        .await?;
    let mut opened = Vec::new();
    let hooks = webhooks::subscribed(&txn, Event::StockLow).await?;
    let mut webhook_ids = Vec::new();
    let mut live = Vec::new();
    for v in &low {
        let Some(p) = ps.iter().find(|p| p.id == v.product_id) else {
            continue;
        };
        let avail = v.stock - v.reserved;
        let message = format!(
            "{} ({}) is low on stock: {avail} available, threshold {}.",
            p.name, v.sku, v.low_stock_threshold
        );
        let pid = Uuid::new_v4();
        let created_at = Utc::now();
        let inserted = notifications::Entity::insert(notifications::ActiveModel {
            pid: Set(pid),
            kind: Set(LOW_STOCK.into()),
            open_key: Set(Some(format!("{LOW_STOCK}:{}", v.id))),
            product_id: Set(Some(p.id)),
            variant_id: Set(Some(v.id)),
            order_id: Set(None),
            message: Set(message.clone()),
            stock: Set(Some(avail)),
            read_at: Set(None),
            closed_at: Set(None),
            created_at: Set(created_at.into()),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::column(notifications::Column::OpenKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        if inserted == 1 {
            live.push(crate::live::LiveEvent::Notification {
                id: pid,
                kind: LOW_STOCK.into(),
                message,
                at: created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            });
            opened.push(json!({
                "name": p.name, "sku": v.sku, "available": avail, "threshold": v.low_stock_threshold,
            }));
            if !hooks.is_empty() {
                webhook_ids.extend(
                    webhooks::record(&txn, &hooks, Event::StockLow, json!({
                        "product_id": p.pid, "variant_id": v.pid, "sku": v.sku, "name": p.name,
                        "stock": v.stock, "available": avail, "low_stock_threshold": v.low_stock_threshold,
                    }))
                    .await?,
                );
            }
        }
    }
    let mut mail_ids = Vec::new();
    if !opened.is_empty() {
        let admins = users::Entity::find()
            .filter(users::Column::Role.eq(Role::Admin.as_str()))
            .filter(users::Column::Active.eq(true))
            .all(&txn)
            .await?;
        for a in admins {
            mail_ids.push(
                mail::queue(
                    &txn,
                    &settings,
                    &a.email,
                    &Mail::LowStockDigest {
                        items: json!(opened),
                    },
                )
                .await?,
            );
        }
    }
    txn.commit().await?;
    Jobs::get(ctx)
        .enqueue_all(
            mail_ids
                .into_iter()
                .map(|mail_id| Job::DeliverMail { mail_id }),
        )
        .await;
    webhooks::enqueue(ctx, webhook_ids).await;
    for event in live {
        crate::live::publish(ctx, event).await;
    }
    Ok(StockCheck {
        opened: opened.len(),
        closed,
    })
}
