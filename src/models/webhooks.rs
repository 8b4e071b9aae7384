//! Outgoing webhooks: endpoints an admin registers, the deliveries of each event to them, and
//! sending one delivery (PRODUCT.md "Integrations", API.md `/admin/webhooks`).
//!
//! Design:
//! - A change that reports an event writes its delivery rows with [`record`] inside its own
//!   transaction and enqueues [`crate::jobs::Job::DeliverWebhook`] after commit (the same
//!   transactional outbox as mail): no event for a change that rolled back, no change without
//!   its event.
//! - [`deliver`] claims the row by compare-and-set on its attempt count, so a job that runs
//!   twice (a retry after a crash, the sweep racing the queue) sends once per attempt. A 2xx
//!   answer delivers; anything else is logged on the row and retried by the queue with
//!   exponential backoff until `jobs.max_attempts`, then the delivery is `failed` and an admin
//!   can redeliver it (a new delivery of the same event, with the same event id).
//! - Receivers de-duplicate on the event id (`X-Emporium-Event-Id` and the body's `id`).
use chrono::{DateTime, Duration, Utc};
use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    _entities::{users, webhook_deliveries as deliveries, webhook_endpoints as endpoints},
    tokens,
};
use crate::sealing::{Purpose, Sealer};
use crate::{
    domain::webhook::{join_events, signature, split_events, EndpointDraft, EndpointPatch, Event},
    errors::{AppError, AppResult},
    jobs::{backoff, Job, JobEnv, Jobs},
    settings::Settings,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not sent yet, or waiting for its next attempt.
    Pending,
    /// The receiver answered 2xx.
    Succeeded,
    /// Gave up after the last attempt (or the endpoint was disabled).
    Failed,
}

impl Status {
    pub const ALL: [Self; 3] = [Self::Pending, Self::Succeeded, Self::Failed];

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

/// An endpoint as the API and the admin show it; the secret only where asked for.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EndpointView {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    pub events: Vec<Event>,
    pub active: bool,
    /// The key of `X-Emporium-Signature`; only in the answer to creating the endpoint and in
    /// `GET /admin/webhooks/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl EndpointView {
    /// The view, with the endpoint's secret opened when `sealer` is given.
    fn of(e: &endpoints::Model, sealer: Option<&Sealer>) -> AppResult<Self> {
        let secret = match sealer {
            Some(s) => Some(s.open(Purpose::WebhookSecret, &e.secret)?),
            None => None,
        };
        Ok(Self {
            id: e.pid,
            url: e.url.clone(),
            description: e.description.clone(),
            events: split_events(&e.events),
            active: e.active,
            secret,
            created_at: crate::views::rfc3339(&e.created_at),
            updated_at: crate::views::rfc3339(&e.updated_at),
        })
    }
}

/// A new signing secret, as shown once to the admin and as stored (sealed).
fn new_secret(sealer: &Sealer) -> String {
    sealer.seal(
        Purpose::WebhookSecret,
        &format!("whsec_{}", tokens::new_secret()),
    )
}

/// Seals the signing secrets stored before sealing existed (run at start; each row once, by
/// compare-and-set, whichever process gets there first).
///
/// # Errors
/// Database errors.
pub async fn seal_legacy_secrets(db: &DatabaseConnection, sealer: &Sealer) -> AppResult<u64> {
    let legacy = endpoints::Entity::find()
        .filter(endpoints::Column::Secret.not_like("sealed:v1:%"))
        .all(db)
        .await?;
    let mut sealed = 0;
    for e in legacy {
        sealed += endpoints::Entity::update_many()
            .col_expr(
                endpoints::Column::Secret,
                Expr::value(sealer.seal(Purpose::WebhookSecret, &e.secret)),
            )
            .filter(endpoints::Column::Id.eq(e.id))
            .filter(endpoints::Column::Secret.eq(e.secret.as_str()))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(sealed)
}

/// One delivery in an endpoint's log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub id: Uuid,
    pub event_id: Uuid,
    pub event: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub attempts: i32,
    /// The receiver's HTTP status on the last attempt (none when it could not be reached).
    pub response_status: Option<i16>,
    /// The start of the receiver's answer on the last attempt.
    pub response_body: Option<String>,
    pub last_error: Option<String>,
    pub duration_ms: Option<i32>,
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
    pub created_at: String,
    /// The body that was (or will be) sent.
    #[schema(value_type = Object)]
    pub payload: Value,
}

impl From<&deliveries::Model> for DeliveryView {
    fn from(d: &deliveries::Model) -> Self {
        Self {
            id: d.pid,
            event_id: d.event_id,
            event: d.event.clone(),
            status: d.status.clone(),
            attempts: d.attempts,
            response_status: d.response_status,
            response_body: d.response_body.clone(),
            last_error: d.last_error.clone(),
            duration_ms: d.duration_ms,
            next_attempt_at: d
                .next_attempt_at
                .as_ref()
                .filter(|_| d.status == Status::Pending.as_str())
                .map(crate::views::rfc3339),
            delivered_at: d.delivered_at.as_ref().map(crate::views::rfc3339),
            created_at: crate::views::rfc3339(&d.created_at),
            payload: serde_json::from_str(&d.payload).unwrap_or(Value::Null),
        }
    }
}

/// Registers an endpoint with a new signing secret.
///
/// # Errors
/// Database errors.
pub async fn create(
    db: &DatabaseConnection,
    sealer: &Sealer,
    admin: &users::Model,
    draft: EndpointDraft,
) -> AppResult<EndpointView> {
    let now = Utc::now();
    let txn = super::db::write_txn(db).await?;
    let row = endpoints::ActiveModel {
        pid: Set(Uuid::new_v4()),
        url: Set(draft.url),
        description: Set(draft.description),
        events: Set(join_events(&draft.events)),
        secret: Set(new_secret(sealer)),
        active: Set(true),
        created_by: Set(Some(admin.id)),
        created_at: Set(now.into()),
        updated_at: Set(now.into()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    super::audit::record(
        &txn,
        &super::actor::Actor::user(admin),
        super::audit::Action::WebhookCreated,
        super::audit::Target::new(super::audit::TargetType::Webhook, row.pid),
        None,
        Some(endpoint_fields(&row)),
    )
    .await?;
    super::idempotency::produced(&txn, super::idempotency::Produced::Secret, true).await?;
    txn.commit().await?;
    EndpointView::of(&row, Some(sealer))
}

/// One page of endpoints, newest first (without secrets).
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &DatabaseConnection,
    page: u64,
    page_size: u64,
) -> AppResult<(Vec<EndpointView>, u64)> {
    let pages = endpoints::Entity::find()
        .order_by_desc(endpoints::Column::CreatedAt)
        .order_by_desc(endpoints::Column::Id)
        .paginate(db, page_size);
    let count = pages.num_items().await?;
    let rows = pages.fetch_page(page.saturating_sub(1)).await?;
    Ok((
        rows.iter()
            .map(|e| EndpointView::of(e, None))
            .collect::<AppResult<_>>()?,
        count,
    ))
}

async fn find_row<C: ConnectionTrait>(db: &C, pid: Uuid) -> AppResult<endpoints::Model> {
    endpoints::Entity::find()
        .filter(endpoints::Column::Pid.eq(pid))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// One endpoint with its secret.
///
/// # Errors
/// `NotFound`.
pub async fn find(db: &DatabaseConnection, sealer: &Sealer, pid: Uuid) -> AppResult<EndpointView> {
    EndpointView::of(&find_row(db, pid).await?, Some(sealer))
}

/// Changes an endpoint's URL, description, events or active flag; `rotate_secret` issues a
/// new signing secret (the old one stops at once).
///
/// # Errors
/// `NotFound`.
pub async fn update(
    db: &DatabaseConnection,
    sealer: &Sealer,
    by: &super::actor::Actor,
    pid: Uuid,
    patch: EndpointPatch,
    rotate_secret: bool,
) -> AppResult<EndpointView> {
    let txn = super::db::write_txn(db).await?;
    let old = endpoints::Entity::find()
        .filter(endpoints::Column::Pid.eq(pid))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut row = old.clone().into_active_model();
    if let Some(v) = patch.url {
        row.url = Set(v);
    }
    if let Some(v) = patch.description {
        row.description = Set(v);
    }
    if let Some(v) = patch.events {
        row.events = Set(join_events(&v));
    }
    if let Some(v) = patch.active {
        row.active = Set(v);
    }
    if rotate_secret {
        row.secret = Set(new_secret(sealer));
    }
    row.updated_at = Set(Utc::now().into());
    let saved = row.update(&txn).await?;
    let (mut before, mut after) = (endpoint_fields(&old), endpoint_fields(&saved));
    if let (Some(b), Some(a)) = (before.as_object_mut(), after.as_object_mut()) {
        let same: Vec<String> = b
            .iter()
            .filter(|(k, v)| a.get(*k) == Some(*v))
            .map(|(k, _)| k.clone())
            .collect();
        for k in same {
            b.remove(&k);
            a.remove(&k);
        }
        // The secret itself never goes into the log; that it changed does.
        if rotate_secret {
            b.insert("secret".into(), serde_json::json!("(previous)"));
            a.insert("secret".into(), serde_json::json!("(rotated)"));
        }
    }
    super::audit::record(
        &txn,
        by,
        super::audit::Action::WebhookUpdated,
        super::audit::Target::new(super::audit::TargetType::Webhook, saved.pid),
        Some(before),
        Some(after),
    )
    .await?;
    txn.commit().await?;
    EndpointView::of(&saved, Some(sealer))
}

/// What the audit log keeps of an endpoint (never its secret).
fn endpoint_fields(e: &endpoints::Model) -> Value {
    serde_json::json!({
        "url": logged_url(&e.url), "description": e.description, "events": e.events,
        "active": e.active,
    })
}

/// A receiver's URL as the audit log keeps it: its origin, and for the rest only a
/// fingerprint. Many receivers put their credential in the path or query (chat and automation
/// hooks do), and the log outlives the endpoint and every rotation of that URL.
fn logged_url(raw: &str) -> String {
    use sha2::{Digest, Sha256};
    let Ok(url) = url::Url::parse(raw) else {
        return "(unreadable)".into();
    };
    let origin = url.origin().ascii_serialization();
    if url.path() == "/" && url.query().is_none() {
        return origin;
    }
    let print = hex::encode(Sha256::digest(raw.as_bytes()));
    format!("{origin}/… (fingerprint {})", &print[..12])
}

/// Deletes an endpoint with its delivery log; pending deliveries are dropped.
///
/// # Errors
/// `NotFound`.
pub async fn delete(db: &DatabaseConnection, by: &super::actor::Actor, pid: Uuid) -> AppResult<()> {
    let txn = super::db::write_txn(db).await?;
    let e = find_row(&txn, pid).await?;
    endpoints::Entity::delete_by_id(e.id).exec(&txn).await?;
    super::audit::record(
        &txn,
        by,
        super::audit::Action::WebhookDeleted,
        super::audit::Target::new(super::audit::TargetType::Webhook, e.pid),
        Some(endpoint_fields(&e)),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The active endpoints subscribed to `event`. Callers build the event's payload only when
/// this is not empty.
///
/// # Errors
/// Database errors.
pub async fn subscribed<C: ConnectionTrait>(
    db: &C,
    event: Event,
) -> AppResult<Vec<endpoints::Model>> {
    Ok(endpoints::Entity::find()
        .filter(endpoints::Column::Active.eq(true))
        .filter(endpoints::Column::Events.contains(event.as_str()))
        .order_by_asc(endpoints::Column::Id)
        .all(db)
        .await?
        .into_iter()
        // `contains` is a LIKE; the list itself decides.
        .filter(|e| split_events(&e.events).contains(&event))
        .collect())
}

/// Writes one delivery of `event` with `data` per endpoint, in the caller's transaction, and
/// returns their ids for the queue (after commit).
///
/// # Errors
/// Database errors.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    to: &[endpoints::Model],
    event: Event,
    data: Value,
) -> AppResult<Vec<Uuid>> {
    if to.is_empty() {
        return Ok(Vec::new());
    }
    let event_id = Uuid::new_v4();
    let body = json!({
        "id": event_id,
        "type": event.as_str(),
        "created_at": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": data,
    })
    .to_string();
    let mut ids = Vec::with_capacity(to.len());
    for e in to {
        let row = insert_delivery(db, e.id, event_id, event.as_str(), &body).await?;
        ids.push(row.pid);
    }
    Ok(ids)
}

/// One pending delivery of an event to an endpoint, due now.
async fn insert_delivery<C: ConnectionTrait>(
    db: &C,
    endpoint_id: i32,
    event_id: Uuid,
    event: &str,
    body: &str,
) -> AppResult<deliveries::Model> {
    let now = Utc::now();
    Ok(deliveries::ActiveModel {
        pid: Set(Uuid::new_v4()),
        endpoint_id: Set(endpoint_id),
        event_id: Set(event_id),
        event: Set(event.to_string()),
        payload: Set(body.to_string()),
        status: Set(Status::Pending.as_str().to_string()),
        attempts: Set(0),
        next_attempt_at: Set(Some(now.into())),
        created_at: Set(now.into()),
        updated_at: Set(now.into()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// [`subscribed`] then [`record`]: for events whose payload is already at hand.
///
/// # Errors
/// Database errors.
pub async fn emit<C: ConnectionTrait>(db: &C, event: Event, data: Value) -> AppResult<Vec<Uuid>> {
    let to = subscribed(db, event).await?;
    record(db, &to, event, data).await
}

/// Hands deliveries to the queue (after the transaction that recorded them committed).
pub async fn enqueue(ctx: &AppContext, ids: Vec<Uuid>) {
    if !ids.is_empty() {
        Jobs::get(ctx)
            .enqueue_all(
                ids.into_iter()
                    .map(|delivery_id| Job::DeliverWebhook { delivery_id }),
            )
            .await;
    }
}

/// One page of an endpoint's log, newest first; `status` keeps one status only.
///
/// # Errors
/// `NotFound` for an unknown endpoint.
pub async fn deliveries(
    db: &DatabaseConnection,
    endpoint: Uuid,
    status: Option<Status>,
    page: u64,
    page_size: u64,
) -> AppResult<(Vec<DeliveryView>, u64)> {
    let e = find_row(db, endpoint).await?;
    let mut q = deliveries::Entity::find()
        .filter(deliveries::Column::EndpointId.eq(e.id))
        .order_by_desc(deliveries::Column::CreatedAt)
        .order_by_desc(deliveries::Column::Id);
    if let Some(s) = status {
        q = q.filter(deliveries::Column::Status.eq(s.as_str()));
    }
    let pages = q.paginate(db, page_size);
    let count = pages.num_items().await?;
    let rows = pages.fetch_page(page.saturating_sub(1)).await?;
    Ok((rows.iter().map(DeliveryView::from).collect(), count))
}

/// Sends the event of a delivery again, as a new delivery with the same event id.
///
/// # Errors
/// `NotFound` for an unknown endpoint or a delivery of another endpoint.
pub async fn redeliver(
    ctx: &AppContext,
    endpoint: Uuid,
    delivery: Uuid,
) -> AppResult<DeliveryView> {
    let e = find_row(&ctx.db, endpoint).await?;
    let d = deliveries::Entity::find()
        .filter(deliveries::Column::Pid.eq(delivery))
        .filter(deliveries::Column::EndpointId.eq(e.id))
        .one(&ctx.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let txn = super::db::write_txn(&ctx.db).await?;
    let row = insert_delivery(&txn, e.id, d.event_id, &d.event, &d.payload).await?;
    super::idempotency::answer(&txn, 202, &DeliveryView::from(&row)).await?;
    txn.commit().await?;
    enqueue(ctx, vec![row.pid]).await;
    // Re-read: an inline queue has already sent it.
    let fresh = deliveries::Entity::find_by_id(row.id)
        .one(&ctx.db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(DeliveryView::from(&fresh))
}

/// Makes one attempt at a delivery; see the module notes.
///
/// # Errors
/// `Unavailable` when the attempt failed and another will follow (the queue retries it).
pub async fn deliver(env: &JobEnv, pid: Uuid) -> AppResult<()> {
    let Some(d) = deliveries::Entity::find()
        .filter(deliveries::Column::Pid.eq(pid))
        .one(&env.db)
        .await?
    else {
        return Ok(());
    };
    // A second early: clocks of several processes and the queue's own timers are not exact.
    let due_by = Utc::now() + Duration::seconds(1);
    if d.status != Status::Pending.as_str() || d.next_attempt_at.is_some_and(|at| at > due_by) {
        // Sent, given up, in flight elsewhere (leased) or backing off: the queue's retry or
        // the sweep comes back when it is due.
        return Ok(());
    }
    // The claim leases the row for the length of one attempt: a second worker that reads it
    // meanwhile finds it not due. The lease also tells the sweep when an attempt that died
    // with its process is overdue.
    let margin = std::cmp::min(env.settings.jobs.lease_secs, 60);
    let lease = Utc::now()
        + Duration::seconds(
            i64::try_from(env.settings.webhooks.timeout_secs + margin).unwrap_or(70),
        );
    let claimed = deliveries::Entity::update_many()
        .col_expr(
            deliveries::Column::Attempts,
            Expr::col(deliveries::Column::Attempts).add(1),
        )
        .col_expr(
            deliveries::Column::NextAttemptAt,
            Expr::value(lease.fixed_offset()),
        )
        .col_expr(
            deliveries::Column::UpdatedAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .filter(deliveries::Column::Id.eq(d.id))
        .filter(deliveries::Column::Status.eq(Status::Pending.as_str()))
        .filter(deliveries::Column::Attempts.eq(d.attempts))
        .filter(
            Condition::any()
                .add(deliveries::Column::NextAttemptAt.is_null())
                .add(deliveries::Column::NextAttemptAt.lte(due_by.fixed_offset())),
        )
        .exec(&env.db)
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(());
    }
    let attempts = d.attempts + 1;
    let endpoint = endpoints::Entity::find_by_id(d.endpoint_id)
        .one(&env.db)
        .await?;
    let Some(endpoint) = endpoint.filter(|e| e.active) else {
        finish(
            env,
            d.id,
            Outcome::GiveUp {
                status: None,
                body: None,
                error: "The endpoint is disabled.".into(),
                duration_ms: None,
            },
        )
        .await?;
        return Ok(());
    };
    let t = Utc::now().timestamp();
    let headers = [
        ("content-type", "application/json".to_string()),
        ("user-agent", "Emporium-Webhooks/1.0".to_string()),
        ("x-emporium-event", d.event.clone()),
        ("x-emporium-event-id", d.event_id.to_string()),
        ("x-emporium-delivery", d.pid.to_string()),
        (
            crate::domain::webhook::SIGNATURE_HEADER,
            signature(
                &env.sealer.open(Purpose::WebhookSecret, &endpoint.secret)?,
                t,
                d.payload.as_bytes(),
            ),
        ),
    ];
    let sent = env
        .outbound
        .post(&endpoint.url, &headers, d.payload.clone().into_bytes())
        .await;
    let give_up = u32::try_from(attempts).unwrap_or(u32::MAX) >= env.settings.jobs.max_attempts;
    let (outcome, error) = match sent {
        Ok(a) if (200..300).contains(&a.status) => (
            Outcome::Delivered {
                status: a.status,
                body: a.body,
                duration_ms: millis(a.duration),
            },
            None,
        ),
        Ok(a) => {
            let error = format!("The receiver answered {}.", a.status);
            let fields = (
                Some(a.status),
                Some(a.body),
                error.clone(),
                Some(millis(a.duration)),
            );
            (failure(env, attempts, give_up, fields), Some(error))
        }
        Err(e) => {
            let error = e.to_string();
            (
                failure(env, attempts, give_up, (None, None, error.clone(), None)),
                Some(error),
            )
        }
    };
    finish(env, d.id, outcome).await?;
    match error {
        Some(e) if !give_up => Err(AppError::Unavailable(format!("webhook delivery: {e}"))),
        _ => Ok(()),
    }
}

fn millis(d: std::time::Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

enum Outcome {
    Delivered {
        status: u16,
        body: String,
        duration_ms: i32,
    },
    Retry {
        status: Option<u16>,
        body: Option<String>,
        error: String,
        duration_ms: Option<i32>,
        at: DateTime<Utc>,
    },
    GiveUp {
        status: Option<u16>,
        body: Option<String>,
        error: String,
        duration_ms: Option<i32>,
    },
}

type Failed = (Option<u16>, Option<String>, String, Option<i32>);

fn failure(env: &JobEnv, attempts: i32, give_up: bool, f: Failed) -> Outcome {
    let (status, body, error, duration_ms) = f;
    if give_up {
        Outcome::GiveUp {
            status,
            body,
            error,
            duration_ms,
        }
    } else {
        // When the queue will run the next attempt (the sweep's yardstick for a lost retry).
        let delay = backoff(
            env.settings.jobs.retry_base_secs,
            u32::try_from(attempts).unwrap_or(1),
        );
        Outcome::Retry {
            status,
            body,
            error,
            duration_ms,
            at: Utc::now() + Duration::from_std(delay).unwrap_or_default(),
        }
    }
}

async fn finish(env: &JobEnv, id: i32, outcome: Outcome) -> AppResult<()> {
    let now = Utc::now();
    let mut q = deliveries::Entity::update_many()
        .col_expr(
            deliveries::Column::UpdatedAt,
            Expr::value(now.fixed_offset()),
        )
        .filter(deliveries::Column::Id.eq(id));
    let (status, code, body, error, duration, next) = match outcome {
        Outcome::Delivered {
            status,
            body,
            duration_ms,
        } => {
            q = q.col_expr(
                deliveries::Column::DeliveredAt,
                Expr::value(now.fixed_offset()),
            );
            (
                Status::Succeeded,
                Some(status),
                Some(body),
                None,
                Some(duration_ms),
                None,
            )
        }
        Outcome::Retry {
            status,
            body,
            error,
            duration_ms,
            at,
        } => (
            Status::Pending,
            status,
            body,
            Some(error),
            duration_ms,
            Some(at.fixed_offset()),
        ),
        Outcome::GiveUp {
            status,
            body,
            error,
            duration_ms,
        } => (Status::Failed, status, body, Some(error), duration_ms, None),
    };
    q.col_expr(deliveries::Column::Status, Expr::value(status.as_str()))
        .col_expr(
            deliveries::Column::ResponseStatus,
            Expr::value(code.map(|c| i16::try_from(c).unwrap_or(i16::MAX))),
        )
        .col_expr(deliveries::Column::ResponseBody, Expr::value(body))
        .col_expr(deliveries::Column::LastError, Expr::value(error))
        .col_expr(deliveries::Column::DurationMs, Expr::value(duration))
        .col_expr(deliveries::Column::NextAttemptAt, Expr::value(next))
        .exec(&env.db)
        .await?;
    Ok(())
}

/// Pending deliveries whose attempt is overdue by `grace` (the queue lost them: a restarted
/// in-process pool, an outage while enqueueing), oldest first.
///
/// # Errors
/// Database errors.
pub async fn overdue(env: &JobEnv, grace: Duration, limit: u64) -> AppResult<Vec<Uuid>> {
    Ok(deliveries::Entity::find()
        .select_only()
        .column(deliveries::Column::Pid)
        .filter(deliveries::Column::Status.eq(Status::Pending.as_str()))
        .filter(deliveries::Column::NextAttemptAt.lt((Utc::now() - grace).fixed_offset()))
        .order_by_asc(deliveries::Column::NextAttemptAt)
        .limit(limit)
        .into_tuple::<Uuid>()
        .all(&env.db)
        .await?)
}

/// Whether endpoints on private networks may be registered (see `WebhookSettings`).
#[must_use]
pub fn allow_private(ctx: &AppContext) -> bool {
    Settings::get(ctx).webhooks.allow_private_targets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_log_keeps_a_receivers_origin_not_its_credential() {
        let logged = logged_url("https://hooks.example.com/services/T0/B0/s3cr3t?key=k3y");
        assert!(logged.starts_with("https://hooks.example.com/… (fingerprint "));
        assert!(!logged.contains("s3cr3t") && !logged.contains("k3y"));
        assert_ne!(
            logged,
            logged_url("https://hooks.example.com/services/T0/B0/other")
        );
        assert_eq!(
            logged_url("https://example.com:8443/"),
            "https://example.com:8443"
        );
    }
}
