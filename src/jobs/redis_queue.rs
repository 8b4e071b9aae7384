//! Production queue: rusty-sidekiq on Redis, in Sidekiq's wire format, so Sidekiq's own tools
//! can inspect it. Sidekiq provides retries with backoff and the `dead` set.
use async_trait::async_trait;
use redis::AsyncCommands;
use sidekiq::{Processor, RedisConnectionManager, RedisPool, RetryOpts, Worker};

use super::{DeadJob, Job, JobEnv};
use crate::{
    errors::{AppError, AppResult},
    settings::JobSettings,
};

/// The Sidekiq class name our jobs are enqueued under.
pub const CLASS: &str = "Emporium::Job";

pub struct Queue {
    pool: RedisPool,
    conn: redis::aio::ConnectionManager,
    queue: String,
    max_attempts: u32,
}

fn unavailable(e: impl std::fmt::Display) -> AppError {
    AppError::Unavailable(format!("job queue: {e}"))
}

impl Queue {
    /// # Errors
    /// `AppError::Unavailable` when Redis cannot be reached.
    pub async fn connect(settings: &JobSettings) -> AppResult<Self> {
        let manager =
            RedisConnectionManager::new(settings.redis_url.as_str()).map_err(unavailable)?;
        let pool = bb8::Pool::builder()
            .build(manager)
            .await
            .map_err(unavailable)?;
        let client = redis::Client::open(settings.redis_url.as_str()).map_err(unavailable)?;
        let conn = client.get_connection_manager().await.map_err(unavailable)?;
        Ok(Self {
            pool,
            conn,
            queue: settings.queue.clone(),
            max_attempts: settings.max_attempts,
        })
    }

    /// # Errors
    /// `AppError::Unavailable` when Redis refuses the push.
    pub async fn push(&self, job: &Job) -> AppResult<()> {
        sidekiq::opts()
            .queue(self.queue.clone())
            .retry(RetryOpts::Max(self.max_attempts.saturating_sub(1) as usize))
            .perform_async(&self.pool, CLASS.to_string(), job)
            .await
            .map_err(unavailable)
    }

    /// # Errors
    /// `AppError::Unavailable` when Redis does not answer.
    pub async fn ping(&self) -> AppResult<()> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn dead_entries(&self) -> AppResult<Vec<String>> {
        let mut conn = self.conn.clone();
        conn.zrevrange("dead", 0, 999).await.map_err(unavailable)
    }

    /// # Errors
    /// Redis errors.
    pub async fn dead(&self, limit: u64) -> AppResult<Vec<DeadJob>> {
        let entries = self.dead_entries().await?;
        Ok(entries
            .iter()
            .filter_map(|raw| serde_json::from_str::<serde_json::Value>(raw).ok())
            .filter(|j| j["class"] == CLASS)
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|j| DeadJob {
                id: j["jid"].as_str().unwrap_or_default().to_string(),
                kind: j["args"][0]["kind"]
                    .as_str()
                    .unwrap_or("unknown")
                    .to_string(),
                error: j["error_message"].as_str().unwrap_or_default().to_string(),
                attempts: j["retry_count"]
                    .as_u64()
                    .map_or(1, |n| u32::try_from(n + 1).unwrap_or(u32::MAX)),
                failed_at: j["failed_at"]
                    .as_f64()
                    .and_then(|t| chrono::DateTime::from_timestamp(t as i64, 0))
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default(),
            })
            .collect())
    }

    async fn take_dead(&self, id: &str) -> AppResult<Job> {
        for raw in self.dead_entries().await? {
            let Ok(j) = serde_json::from_str::<serde_json::Value>(&raw) else {
                continue;
            };
            if j["jid"] == id && j["class"] == CLASS {
                let mut conn = self.conn.clone();
                let removed: i64 = conn.zrem("dead", &raw).await.map_err(unavailable)?;
                if removed == 0 {
                    return Err(AppError::NotFound);
                }
                return serde_json::from_value(j["args"][0].clone()).map_err(AppError::internal);
            }
        }
        Err(AppError::NotFound)
    }

    /// # Errors
    /// `AppError::NotFound` for an unknown id; Redis errors.
    pub async fn retry_dead(&self, id: &str) -> AppResult<()> {
        let job = self.take_dead(id).await?;
        self.push(&job).await
    }

    /// # Errors
    /// `AppError::NotFound` for an unknown id; Redis errors.
    pub async fn discard_dead(&self, id: &str) -> AppResult<()> {
        self.take_dead(id).await.map(|_| ())
    }
}

/// The Sidekiq worker that runs every `Job`.
struct JobWorker {
    env: JobEnv,
}

#[async_trait]
impl Worker<Job> for JobWorker {
    fn class_name() -> String {
        CLASS.to_string()
    }

    fn max_retries(&self) -> usize {
        self.env.settings.jobs.max_attempts.saturating_sub(1) as usize
    }

    async fn perform(&self, job: Job) -> sidekiq::Result<()> {
        job.run(&self.env)
            .await
            .map_err(|e| sidekiq::Error::Message(format!("{}: {e}", job.kind())))
    }
}

/// Runs the job worker until `shutdown` resolves (SIGTERM or ctrl-c): it then takes no new
/// job and lets the jobs in flight finish, for at most the shutdown grace period. A job cut
/// off after that is found again by the recovery sweeps (its outbox row, delivery or image
/// is still waiting) once its lease runs out.
///
/// # Errors
/// `AppError::Unavailable` when Redis cannot be reached.
pub async fn work(
    env: JobEnv,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> AppResult<()> {
    let settings = env.settings.jobs.clone();
    let manager = RedisConnectionManager::new(settings.redis_url.as_str()).map_err(unavailable)?;
    let pool = bb8::Pool::builder()
        .build(manager)
        .await
        .map_err(unavailable)?;
    let mut processor = Processor::new(pool, vec![settings.queue.clone()])
        .with_config(sidekiq::ProcessorConfig::default().num_workers(settings.workers.max(1)));
    let grace = std::time::Duration::from_secs(env.settings.shutdown_grace_secs);
    processor.register(JobWorker { env });
    let cancel = processor.get_cancellation_token();
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("worker stopping: finishing the jobs in flight");
        cancel.cancel();
        let _ = stopping.send(());
    });
    tracing::info!(queue = %settings.queue, "job worker started");
    tokio::select! {
        () = processor.run() => {}
        () = async move {
            if stopped.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        } => tracing::warn!(?grace, "jobs still running after the grace period; stopping anyway"),
    }
    Ok(())
}
