//! Live updates: new orders and notifications pushed to open admin dashboards
//! (`/admin/live`), and each order's moves (paid, shipped, refunded, expired) to the shopper
//! who has that order's page open (`/orders/{id}/live`), over server-sent events.
//!
//! Design:
//! - Each web process fans events out to its own listeners through one tokio broadcast
//!   channel. What feeds that channel is the backend:
//!   - `database` (embedded default): the process looks for orders and notifications created
//!     since it last looked, every `live.poll_millis`, and only while someone listens. It
//!     needs no other service and sees rows written by any process on the same database,
//!     including the scheduler's task processes.
//!   - `redis` (production): the process that makes the change publishes it on a Redis
//!     channel ([`publish`]); every web process subscribes and relays. Several web processes
//!     behind a load balancer all see every event.
//! - Events carry what the dashboard shows and nothing secret; they are rendered into HTML by
//!   the SSE handler, per listener, with that listener's permissions.
//! - A shutdown signal ends every stream, so a graceful shutdown does not wait for dashboards
//!   that stay open forever.
use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use loco_rs::app::AppContext;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch, OnceCell};
use uuid::Uuid;

use crate::{
    domain::order_status::OrderStatus,
    errors::{AppError, AppResult},
    models::{
        _entities::{notifications, order_events, orders},
        orders::OrderView,
    },
    settings::{LiveBackendKind, LiveSettings},
};

/// Something the dashboard shows as it happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// A customer placed an order.
    Order {
        id: Uuid,
        number: i64,
        email: String,
        total_cents: i64,
        currency: String,
        at: String,
    },
    /// A notification was raised (low stock, late payment).
    Notification {
        id: Uuid,
        kind: String,
        message: String,
        at: String,
    },
    /// An order moved to `status` (its shopper's page follows; the dashboard does not show it).
    OrderStatus {
        id: Uuid,
        status: String,
        at: String,
    },
}

impl LiveEvent {
    #[must_use]
    pub fn order(o: &OrderView) -> Self {
        Self::Order {
            id: o.id,
            number: o.number,
            email: o.email.clone(),
            total_cents: o.total_cents,
            currency: o.currency.clone(),
            at: o.created_at.clone(),
        }
    }

    #[must_use]
    pub fn notification(n: &notifications::Model) -> Self {
        Self::Notification {
            id: n.pid,
            kind: n.kind.clone(),
            message: n.message.clone(),
            at: crate::views::rfc3339(&n.created_at),
        }
    }

    #[must_use]
    pub fn status(order: Uuid, status: OrderStatus, at: chrono::DateTime<chrono::Utc>) -> Self {
        Self::OrderStatus {
            id: order,
            status: status.as_str().to_string(),
            at: at.to_rfc3339(),
        }
    }

    fn of_order_row(o: &orders::Model) -> Self {
        Self::Order {
            id: o.pid,
            number: o.number,
            email: o.email.clone(),
            total_cents: o.total_cents,
            currency: o.currency.clone(),
            at: crate::views::rfc3339(&o.created_at),
        }
    }
}

enum Source {
    Database,
    Redis(Box<RedisSource>),
}

struct RedisSource {
    client: redis::Client,
    channel: String,
    /// Connected on the first publish, so a process that never publishes never connects.
    publisher: OnceCell<redis::aio::ConnectionManager>,
}

/// The process's live-event hub.
pub struct Live {
    tx: broadcast::Sender<LiveEvent>,
    source: Source,
    db: DatabaseConnection,
    poll: std::time::Duration,
    feeding: AtomicBool,
    /// Taken by the first listener, which starts watching for the shutdown signal. Only a
    /// process with listeners (a web process) installs signal handlers: in the worker and the
    /// scheduler a handler would stop SIGTERM from ending the process.
    stop: std::sync::Mutex<Option<watch::Sender<bool>>>,
    shutdown: watch::Receiver<bool>,
}

impl Live {
    /// # Errors
    /// An invalid Redis URL.
    pub fn new(settings: &LiveSettings, db: DatabaseConnection) -> AppResult<Arc<Self>> {
        let source = match settings.backend {
            LiveBackendKind::Database => Source::Database,
            LiveBackendKind::Redis => Source::Redis(Box::new(RedisSource {
                client: redis::Client::open(settings.redis_url.as_str())
                    .map_err(AppError::internal)?,
                channel: settings.channel.clone(),
                publisher: OnceCell::new(),
            })),
        };
        let (tx, _) = broadcast::channel(256);
        let (stop, shutdown) = watch::channel(false);
        Ok(Arc::new(Self {
            tx,
            source,
            db,
            poll: std::time::Duration::from_millis(settings.poll_millis.max(50)),
            feeding: AtomicBool::new(false),
            stop: std::sync::Mutex::new(Some(stop)),
            shutdown,
        }))
    }

    /// The hub built at boot.
    ///
    /// # Panics
    /// Only if called before boot finished, which is a programming error.
    #[must_use]
    pub fn get(ctx: &AppContext) -> Arc<Self> {
        ctx.shared_store
            .get::<Arc<Self>>()
            .expect("the live hub is built during boot")
    }

    /// Listens to every event from now on; the first listener starts the feed.
    pub fn subscribe(self: &Arc<Self>) -> broadcast::Receiver<LiveEvent> {
        let rx = self.tx.subscribe();
        if !self.feeding.swap(true, Ordering::SeqCst) {
            let me = self.clone();
            match &self.source {
                Source::Database => tokio::spawn(async move { me.watch_database().await }),
                Source::Redis(_) => tokio::spawn(async move { me.relay_redis().await }),
            };
            if let Some(stop) = self.stop.lock().ok().and_then(|mut s| s.take()) {
                tokio::spawn(async move {
                    shutdown_signal().await;
                    let _ = stop.send(true);
                });
            }
        }
        rx
    }

    /// Becomes true when the process is asked to stop.
    #[must_use]
    pub fn shutdown(&self) -> watch::Receiver<bool> {
        self.shutdown.clone()
    }

    /// Publishes an event to every web process (Redis backend). With the database backend the
    /// row is the event, so there is nothing to do.
    pub async fn publish(&self, event: &LiveEvent) {
        let Source::Redis(redis) = &self.source else {
            return;
        };
        let RedisSource {
            client,
            channel,
            publisher,
        } = redis.as_ref();
        let result = crate::resilience::LIVE
            .call(async {
                let conn = publisher
                    .get_or_try_init(|| redis::aio::ConnectionManager::new(client.clone()))
                    .await?;
                let text = serde_json::to_string(event).unwrap_or_default();
                redis::cmd("PUBLISH")
                    .arg(channel)
                    .arg(text)
                    .query_async::<i64>(&mut conn.clone())
                    .await
            })
            .await;
        if let Err(e) = result {
            // Live updates are a convenience: the dashboard shows the row on its next load.
            tracing::warn!(error = %e, "could not publish a live event");
        }
    }

    async fn watch_database(self: Arc<Self>) {
        // Rows are looked for by creation time with an overlap, not by id: a transaction that
        // commits late can carry a lower id (or an earlier time) than rows already seen.
        // Whatever the overlap brings back twice is dropped by its public id.
        let overlap = chrono::Duration::seconds(30);
        // When listening began (older rows are history, not news), and the last look.
        let mut start: Option<chrono::DateTime<chrono::Utc>> = None;
        let mut since = chrono::Utc::now();
        let mut seen: std::collections::HashMap<String, chrono::DateTime<chrono::Utc>> =
            std::collections::HashMap::new();
        loop {
            if self.tx.receiver_count() == 0 {
                // Nobody listens: stop looking, and start from "now" when someone comes back.
                start = None;
                seen.clear();
                tokio::time::sleep(self.poll).await;
                continue;
            }
            let now = chrono::Utc::now();
            let began = *start.get_or_insert_with(|| {
                since = now;
                now
            });
            match self.rows_since(since - overlap).await {
                Ok(events) => {
                    for (key, at, event) in events {
                        if at >= began && seen.insert(key, at).is_none() {
                            let _ = self.tx.send(event);
                        }
                    }
                    seen.retain(|_, at| *at >= now - overlap - overlap);
                    since = now;
                }
                Err(e) => tracing::warn!(error = %e, "live: could not read new rows"),
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// Orders, notifications and orders' moves (their timeline rows) created at or after
    /// `from`, oldest first (at most 100 each), each with a key that tells it from the others.
    async fn rows_since(
        &self,
        from: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>, LiveEvent)>, sea_orm::DbErr> {
        let os = orders::Entity::find()
            .filter(orders::Column::CreatedAt.gte(from.fixed_offset()))
            .order_by_asc(orders::Column::CreatedAt)
            .limit(100)
            .all(&self.db)
            .await?;
        let ns = notifications::Entity::find()
            .filter(notifications::Column::CreatedAt.gte(from.fixed_offset()))
            .order_by_asc(notifications::Column::CreatedAt)
            .limit(100)
            .all(&self.db)
            .await?;
        let moves = order_events::Entity::find()
            .filter(order_events::Column::CreatedAt.gte(from.fixed_offset()))
            .order_by_asc(order_events::Column::CreatedAt)
            .limit(100)
            .all(&self.db)
            .await?;
        let pids: std::collections::HashMap<i32, Uuid> = if moves.is_empty() {
            std::collections::HashMap::new()
        } else {
            orders::Entity::find()
                .select_only()
                .columns([orders::Column::Id, orders::Column::Pid])
                .filter(orders::Column::Id.is_in(moves.iter().map(|m| m.order_id)))
                .into_tuple::<(i32, Uuid)>()
                .all(&self.db)
                .await?
                .into_iter()
                .collect()
        };
        Ok(os
            .iter()
            .map(|o| {
                let key = format!("order:{}", o.pid);
                (key, o.created_at.to_utc(), LiveEvent::of_order_row(o))
            })
            .chain(ns.iter().map(|n| {
                let key = format!("notification:{}", n.pid);
                (key, n.created_at.to_utc(), LiveEvent::notification(n))
            }))
            .chain(moves.iter().filter_map(|m| {
                let pid = *pids.get(&m.order_id)?;
                let event = LiveEvent::OrderStatus {
                    id: pid,
                    status: m.to_status.clone(),
                    at: m.created_at.to_utc().to_rfc3339(),
                };
                Some((format!("move:{}", m.id), m.created_at.to_utc(), event))
            }))
            .collect())
    }

    async fn relay_redis(self: Arc<Self>) {
        let Source::Redis(redis) = &self.source else {
            return;
        };
        let (client, channel) = (&redis.client, &redis.channel);
        loop {
            if let Err(e) = self.relay_once(client, channel).await {
                tracing::warn!(error = %e, "live: Redis subscription lost; reconnecting");
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }

    async fn relay_once(&self, client: &redis::Client, channel: &str) -> redis::RedisResult<()> {
        use futures_util::StreamExt;
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        let mut messages = pubsub.on_message();
        while let Some(msg) = messages.next().await {
            let payload: String = msg.get_payload()?;
            match serde_json::from_str::<LiveEvent>(&payload) {
                Ok(e) => {
                    let _ = self.tx.send(e);
                }
                Err(e) => tracing::warn!(error = %e, "live: unreadable event"),
            }
        }
        Ok(())
    }
}

/// The newest `n` orders and notifications, oldest last, as the dashboard first shows them
/// (live events are then added on top).
///
/// # Errors
/// Database errors.
pub async fn recent(
    db: &DatabaseConnection,
    n: u64,
) -> AppResult<(Vec<LiveEvent>, Vec<LiveEvent>)> {
    let os = orders::Entity::find()
        .order_by_desc(orders::Column::Id)
        .limit(n)
        .all(db)
        .await?;
    let ns = notifications::Entity::find()
        .order_by_desc(notifications::Column::Id)
        .limit(n)
        .all(db)
        .await?;
    Ok((
        os.iter().map(LiveEvent::of_order_row).collect(),
        ns.iter().map(LiveEvent::notification).collect(),
    ))
}

/// Publishes through the hub of a booted app.
pub async fn publish(ctx: &AppContext, event: LiveEvent) {
    Live::get(ctx).publish(&event).await;
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
