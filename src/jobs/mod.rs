//! Background jobs: one enum of everything that runs later, one `enqueue`, three backends.
//!
//! Design:
//! - Args carry ids only; `Job::run` reloads, checks state and does the work, so a job that runs
//!   twice (a retry after a crash, a Sidekiq re-delivery) changes nothing the second time.
//! - `inline` runs the job inside `enqueue` (tests), `in_process` on a tokio worker pool inside
//!   the web process (embedded default), `redis` through rusty-sidekiq in Sidekiq's wire format,
//!   consumed by the `worker` process (`cargo loco task work_jobs`).
//! - Failed jobs are retried with exponential backoff; a job that keeps failing lands in a dead
//!   set (the `dead_jobs` table, or Sidekiq's `dead` set) shown at `/admin/jobs`.
pub mod in_process;
pub mod redis_queue;

use std::sync::{Arc, OnceLock, Weak};

use loco_rs::{app::AppContext, cache::Cache};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    errors::{AppError, AppResult},
    mail::transport::Transport,
    outbound::Outbound,
    settings::{JobBackendKind, Settings},
    storage::ObjectStore,
};

/// Everything the job queue can run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Deliver one outbox mail.
    DeliverMail { mail_id: Uuid },
    /// Make the WebP renditions of one uploaded product image.
    MakeRenditions { image_id: Uuid },
    /// Send one outgoing webhook delivery.
    DeliverWebhook { delivery_id: Uuid },
    /// Check and apply one uploaded product CSV.
    ImportProducts { import_id: Uuid },
    /// Close at the provider the checkout session of an order that was cancelled or expired.
    ExpireCheckout { transaction_id: Uuid },
    /// Send a password-reset link to the account of this address, if it has one.
    SendPasswordReset { email: String },
    /// Give back at the provider a payment that arrived for an order that could not take it
    /// (its pending refund row is the claim).
    RefundLatePayment { refund_id: Uuid },
}

impl Job {
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::DeliverMail { .. } => "deliver_mail",
            Self::MakeRenditions { .. } => "make_renditions",
            Self::DeliverWebhook { .. } => "deliver_webhook",
            Self::ImportProducts { .. } => "import_products",
            Self::ExpireCheckout { .. } => "expire_checkout",
            Self::SendPasswordReset { .. } => "send_password_reset",
            Self::RefundLatePayment { .. } => "refund_late_payment",
        }
    }

    /// Runs the job once.
    ///
    /// # Errors
    /// Any failure; the backend decides about retries.
    pub async fn run(&self, env: &JobEnv) -> AppResult<()> {
        match self {
            Self::DeliverMail { mail_id } => {
                crate::models::mail_outbox::deliver(env, *mail_id).await
            }
            Self::MakeRenditions { image_id } => {
                crate::models::catalogue::images::make_renditions(env, *image_id).await
            }
            Self::DeliverWebhook { delivery_id } => {
                crate::models::webhooks::deliver(env, *delivery_id).await
            }
            Self::ImportProducts { import_id } => {
                crate::models::catalogue::import::run(env, *import_id).await
            }
            Self::ExpireCheckout { transaction_id } => {
                crate::models::payments::expire_checkout(env, *transaction_id).await
            }
            Self::SendPasswordReset { email } => {
                crate::models::accounts::send_password_reset(env, email).await
            }
            Self::RefundLatePayment { refund_id } => {
                crate::models::payments::refund_late(env, *refund_id).await
            }
        }
    }
}

/// What a job may touch. Deliberately not the whole `AppContext`, so that the job backends
/// stored in the context do not hold the context itself.
#[derive(Clone)]
pub struct JobEnv {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub mail: Transport,
    pub store: Arc<dyn ObjectStore>,
    pub cache: Arc<Cache>,
    pub outbound: Outbound,
    pub payments: Arc<dyn crate::payments::PaymentProvider>,
    pub sealer: Arc<crate::sealing::Sealer>,
    /// The queue this environment's jobs run on, so a job can enqueue follow-up jobs. Weak:
    /// the queue itself holds an environment.
    queue: Arc<OnceLock<Weak<Jobs>>>,
}

impl JobEnv {
    /// # Errors
    /// Invalid mail or payment configuration.
    pub fn new(
        db: DatabaseConnection,
        settings: Arc<Settings>,
        store: Arc<dyn ObjectStore>,
        cache: Arc<Cache>,
    ) -> AppResult<Self> {
        let mail = Transport::from_settings(&settings.mail).map_err(AppError::internal)?;
        let outbound = Outbound::new(
            std::time::Duration::from_secs(settings.webhooks.timeout_secs.max(1)),
            settings.webhooks.allow_private_targets,
        );
        let payments = crate::payments::Payments::from_settings(&settings)?.0;
        let sealer = Arc::new(crate::sealing::Sealer::new(&settings.secrets_key));
        Ok(Self {
            db,
            settings,
            mail,
            store,
            cache,
            outbound,
            payments,
            sealer,
            queue: Arc::default(),
        })
    }

    /// The environment of a booted app (its object store and cache) with these settings.
    ///
    /// # Errors
    /// Invalid mail configuration.
    pub fn for_context(ctx: &AppContext, settings: Arc<Settings>) -> AppResult<Self> {
        Self::new(
            ctx.db.clone(),
            settings,
            crate::storage::get(ctx),
            ctx.cache.clone(),
        )
    }
}

impl JobEnv {
    /// Enqueues follow-up jobs on the queue this environment belongs to. Failures are logged:
    /// the work is committed and the scheduled sweeps pick it up.
    pub async fn enqueue_all(&self, jobs: impl IntoIterator<Item = Job>) {
        match self.queue.get().and_then(Weak::upgrade) {
            Some(queue) => queue.enqueue_all(jobs).await,
            None => tracing::warn!("no queue for follow-up jobs; the sweep will pick them up"),
        }
    }
}

/// A job that exhausted its retries, as listed on the admin page.
#[derive(Debug, Clone, Serialize)]
pub struct DeadJob {
    pub id: String,
    pub kind: String,
    pub error: String,
    pub attempts: u32,
    pub failed_at: String,
}

enum Backend {
    Inline(Box<JobEnv>),
    InProcess(in_process::Pool),
    Redis(redis_queue::Queue),
}

/// The queue handle the rest of the app enqueues through.
pub struct Jobs {
    backend: Backend,
    env: JobEnv,
}

impl Jobs {
    /// Builds the configured backend. The in-process pool starts its workers here.
    ///
    /// # Errors
    /// Invalid configuration or an unreachable Redis.
    pub async fn start(env: JobEnv) -> AppResult<Arc<Self>> {
        let backend = match env.settings.jobs.backend {
            JobBackendKind::Inline => Backend::Inline(Box::new(env.clone())),
            JobBackendKind::InProcess => Backend::InProcess(in_process::Pool::start(env.clone())),
            JobBackendKind::Redis => {
                Backend::Redis(redis_queue::Queue::connect(&env.settings.jobs).await?)
            }
        };
        let queue = env.queue.clone();
        let jobs = Arc::new(Self { backend, env });
        // The first queue built on an environment keeps it (tests build more than one).
        let _ = queue.set(Arc::downgrade(&jobs));
        Ok(jobs)
    }

    /// The queue built at boot.
    ///
    /// # Panics
    /// Only if called before boot finished, which is a programming error.
    #[must_use]
    pub fn get(ctx: &AppContext) -> Arc<Self> {
        ctx.shared_store
            .get::<Arc<Self>>()
            .expect("jobs are started during boot")
    }

    #[must_use]
    pub fn env(&self) -> &JobEnv {
        &self.env
    }

    #[must_use]
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Inline(_) => "inline",
            Backend::InProcess(_) => "in_process",
            Backend::Redis(_) => "redis",
        }
    }

    /// Hands `job` to the backend. Call it only after the transaction that made the job
    /// necessary has committed.
    ///
    /// # Errors
    /// The queue is unreachable (Redis down). Inline jobs log their own failures instead,
    /// because the caller's change has already committed and the sweep will retry.
    pub async fn enqueue(&self, job: Job) -> AppResult<()> {
        match &self.backend {
            Backend::Inline(env) => {
                // Boxed: an inline job may enqueue follow-up jobs, which run right here.
                if let Err(e) = Box::pin(job.run(env)).await {
                    tracing::warn!(kind = job.kind(), error = %e, "inline job failed");
                }
                Ok(())
            }
            Backend::InProcess(pool) => pool.push(job),
            Backend::Redis(q) => crate::resilience::QUEUE
                .call(q.push(&job))
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, "job queue unreachable");
                    AppError::Unavailable("The job queue is unreachable right now.".into())
                }),
        }
    }

    /// Enqueues several jobs; a failure is logged, not returned, because the work they stand
    /// for is already committed and recoverable by the scheduled sweeps.
    pub async fn enqueue_all(&self, jobs: impl IntoIterator<Item = Job>) {
        for job in jobs {
            if let Err(e) = self.enqueue(job.clone()).await {
                tracing::error!(kind = job.kind(), error = %e, "could not enqueue job; the sweep will pick it up");
            }
        }
    }

    /// Jobs that exhausted their retries, newest first.
    ///
    /// # Errors
    /// Database or Redis errors.
    pub async fn dead(&self, limit: u64) -> AppResult<Vec<DeadJob>> {
        match &self.backend {
            Backend::Redis(q) => q.dead(limit).await,
            _ => crate::models::dead_jobs::list(&self.env.db, limit).await,
        }
    }

    /// Puts a dead job back on the queue.
    ///
    /// # Errors
    /// `AppError::NotFound` for an unknown id; database or Redis errors.
    pub async fn retry_dead(&self, id: &str) -> AppResult<()> {
        match &self.backend {
            Backend::Redis(q) => q.retry_dead(id).await,
            _ => {
                let job = crate::models::dead_jobs::take(&self.env.db, id).await?;
                self.enqueue(job).await
            }
        }
    }

    /// Discards a dead job.
    ///
    /// # Errors
    /// `AppError::NotFound` for an unknown id; database or Redis errors.
    pub async fn discard_dead(&self, id: &str) -> AppResult<()> {
        match &self.backend {
            Backend::Redis(q) => q.discard_dead(id).await,
            _ => crate::models::dead_jobs::take(&self.env.db, id)
                .await
                .map(|_| ()),
        }
    }

    /// Whether the queue can take work (for `/_health`).
    ///
    /// # Errors
    /// `AppError::Unavailable` when Redis does not answer.
    pub async fn ping(&self) -> AppResult<()> {
        match &self.backend {
            Backend::Redis(q) => q.ping().await,
            _ => Ok(()),
        }
    }
}

/// Delay before retry number `attempt` (1-based): base · 2^(attempt-1), capped at one hour.
#[must_use]
pub fn backoff(base_secs: u64, attempt: u32) -> std::time::Duration {
    let secs = base_secs.saturating_mul(1u64 << attempt.saturating_sub(1).min(20));
    std::time::Duration::from_secs(secs.min(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(2, 1).as_secs(), 2);
        assert_eq!(backoff(2, 2).as_secs(), 4);
        assert_eq!(backoff(2, 5).as_secs(), 32);
        assert_eq!(backoff(2, 40).as_secs(), 3600);
    }

    #[test]
    fn jobs_serialise_with_a_kind_tag() {
        let id = Uuid::nil();
        let json = serde_json::to_value(Job::DeliverMail { mail_id: id }).unwrap();
        assert_eq!(json["kind"], "deliver_mail");
        assert_eq!(
            serde_json::from_value::<Job>(json).unwrap(),
            Job::DeliverMail { mail_id: id }
        );
    }
}
