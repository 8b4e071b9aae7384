//! The embedded default: a tokio worker pool in the web process, with the same retry rules as
//! the Redis backend. Not durable by itself; durability of mail comes from the outbox sweep.
use std::sync::Arc;

use tokio::sync::{mpsc, Mutex};

use super::{backoff, Job, JobEnv};
use crate::errors::{AppError, AppResult};

struct Envelope {
    job: Job,
    attempt: u32,
}

pub struct Pool {
    tx: mpsc::UnboundedSender<Envelope>,
}

impl Pool {
    #[must_use]
    pub fn start(env: JobEnv) -> Self {
        let (tx, rx) = mpsc::unbounded_channel::<Envelope>();
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..env.settings.jobs.workers.max(1) {
            let rx = rx.clone();
            let env = env.clone();
            let retry_tx = tx.downgrade();
            tokio::spawn(async move {
                loop {
                    let next = rx.lock().await.recv().await;
                    let Some(envelope) = next else { break };
                    run_one(&env, envelope, &retry_tx).await;
                }
            });
        }
        Self { tx }
    }

    /// # Errors
    /// Only when the pool has shut down.
    pub fn push(&self, job: Job) -> AppResult<()> {
        self.tx
            .send(Envelope { job, attempt: 1 })
            .map_err(|_| AppError::Unavailable("the job pool has stopped".into()))
    }
}

async fn run_one(env: &JobEnv, envelope: Envelope, retry_tx: &mpsc::WeakUnboundedSender<Envelope>) {
    let Envelope { job, attempt } = envelope;
    let Err(error) = job.run(env).await else {
        return;
    };
    let max = env.settings.jobs.max_attempts.max(1);
    if attempt >= max {
        tracing::error!(kind = job.kind(), attempt, error = %error, "job failed for the last time; moved to the dead set");
        if let Err(e) =
            crate::models::dead_jobs::record(&env.db, &job, &error.to_string(), attempt).await
        {
            tracing::error!(error = %e, "could not record dead job");
        }
        return;
    }
    let delay = backoff(env.settings.jobs.retry_base_secs, attempt);
    tracing::warn!(kind = job.kind(), attempt, ?delay, error = %error, "job failed; will retry");
    let retry_tx = retry_tx.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        if let Some(tx) = retry_tx.upgrade() {
            let _ = tx.send(Envelope {
                job,
                attempt: attempt + 1,
            });
        }
    });
}
