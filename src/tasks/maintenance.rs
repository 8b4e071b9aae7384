//! Recurring clean-up and recovery, run by the scheduler (`config/*.yaml` `scheduler:`).
use async_trait::async_trait;
use chrono::Duration;
use loco_rs::{
    app::AppContext,
    task::{Task, TaskInfo, Vars},
    Error, Result,
};

use crate::{
    jobs::{Job, Jobs},
    models::{idempotency, mail_outbox, sessions::DbSessionStore, tokens, webhooks},
};

/// A number of seconds given to the task as `name:<secs>`, else `default`.
fn secs_var(vars: &Vars, name: &str, default: Duration) -> Duration {
    vars.cli
        .get(name)
        .and_then(|s| s.parse::<i64>().ok())
        .map_or(default, Duration::seconds)
}

/// Delivers mail that a crash or a queue outage left pending (the outbox's safety net).
pub struct DeliverMail;

#[async_trait]
impl Task for DeliverMail {
    fn task(&self) -> TaskInfo {
        TaskInfo {
            name: "deliver_mail".to_string(),
            detail: "Deliver outbox mail that has been pending for more than a minute \
                     (min_age_secs:0 to send everything pending now, after an outage)"
                .to_string(),
        }
    }

    async fn run(&self, ctx: &AppContext, vars: &Vars) -> Result<()> {
        let jobs = Jobs::get(ctx);
        // A minute by default: younger mail still has its own job coming.
        let min_age = secs_var(vars, "min_age_secs", Duration::minutes(1));
        let stale = mail_outbox::stale_pending(jobs.env(), min_age, 500)
            .await
            .map_err(|e| Error::string(&e.to_string()))?;
        for mail_id in &stale {
            // Run here rather than enqueue: this process is short-lived and must not depend on
            // the queue that may be the reason the mail is still pending.
            if let Err(e) = (Job::DeliverMail { mail_id: *mail_id })
                .run(jobs.env())
                .await
            {
                tracing::warn!(%mail_id, error = %e, "redelivery failed; next sweep retries");
            }
        }
        tracing::info!(count = stale.len(), "outbox sweep done");
        Ok(())
    }
}

/// Runs again the work a crash or a lost queue left half-done: renditions of images still
/// pending, imports still queued, refunds of late payments still pending, refunds whose
/// process died before recording them. Each of these is
/// idempotent, so a job that was not lost after all and runs twice changes nothing.
pub struct ResumeWork;

/// How long work may wait for its own job before the sweep takes it up.
const RESUME_GRACE_MINUTES: i64 = 2;

#[async_trait]
impl Task for ResumeWork {
    fn task(&self) -> TaskInfo {
        TaskInfo {
            name: "resume_work".to_string(),
            detail: "Run again image renditions, imports and late-payment refunds left waiting \
                     for more than two minutes, and finish refunds claimed by a process that died"
                .to_string(),
        }
    }

    async fn run(&self, ctx: &AppContext, _vars: &Vars) -> Result<()> {
        let fail = |e: crate::errors::AppError| Error::string(&e.to_string());
        let grace = Duration::minutes(RESUME_GRACE_MINUTES);
        let jobs = Jobs::get(ctx);
        let images = crate::models::catalogue::images::stale_pending(&ctx.db, grace, 100)
            .await
            .map_err(fail)?;
        let refunds = crate::models::payments::pending_late_refunds(&ctx.db, grace, 100)
            .await
            .map_err(fail)?;
        // As for mail: run here, not through a queue that may be what lost them.
        for job in images
            .iter()
            .map(|&image_id| Job::MakeRenditions { image_id })
            .chain(
                refunds
                    .iter()
                    .map(|&refund_id| Job::RefundLatePayment { refund_id }),
            )
        {
            if let Err(e) = job.run(jobs.env()).await {
                tracing::warn!(kind = job.kind(), error = %e, "resumed job failed; next sweep retries");
            }
        }
        // A run holds its import for one transaction; ten minutes without finishing is a run
        // that died.
        crate::models::catalogue::import::requeue_interrupted(&ctx.db, Duration::minutes(10))
            .await
            .map_err(fail)?;
        let imports = crate::models::catalogue::import::resume_queued(ctx, grace)
            .await
            .map_err(fail)?;
        // Refunds whose process died between claiming and recording them.
        let admin_refunds = crate::models::refunds::resume_stale(ctx, 100)
            .await
            .map_err(fail)?;
        tracing::info!(
            images = images.len(),
            refunds = refunds.len(),
            admin_refunds,
            imports,
            "resume sweep done"
        );
        Ok(())
    }
}

/// Sends webhook deliveries whose attempt is overdue: the queue lost them (a restarted
/// in-process pool, a Redis outage while enqueueing).
pub struct DeliverWebhooks;

#[async_trait]
impl Task for DeliverWebhooks {
    fn task(&self) -> TaskInfo {
        TaskInfo {
            name: "deliver_webhooks".to_string(),
            detail: "Send webhook deliveries whose attempt is more than two minutes overdue \
                     (grace_secs:0 to send every due one now, after an outage)"
                .to_string(),
        }
    }

    async fn run(&self, ctx: &AppContext, vars: &Vars) -> Result<()> {
        let jobs = Jobs::get(ctx);
        let grace = secs_var(vars, "grace_secs", Duration::minutes(2));
        let due = webhooks::overdue(jobs.env(), grace, 100)
            .await
            .map_err(|e| Error::string(&e.to_string()))?;
        for delivery_id in &due {
            // As for mail: run here, not through the queue that may have lost them. A failed
            // attempt is recorded with its next time, and the next sweep comes back to it.
            if let Err(e) = (Job::DeliverWebhook {
                delivery_id: *delivery_id,
            })
            .run(jobs.env())
            .await
            {
                tracing::warn!(%delivery_id, error = %e, "webhook attempt failed");
            }
        }
        tracing::info!(count = due.len(), "webhook sweep done");
        Ok(())
    }
}

/// Deletes expired sessions, tokens and idempotency records.
pub struct PurgeExpired;

#[async_trait]
impl Task for PurgeExpired {
    fn task(&self) -> TaskInfo {
        TaskInfo {
            name: "purge_expired".to_string(),
            detail: "Delete expired sessions, tokens, idempotency records and stale guest carts; \
                     close interrupted product imports, queue waiting ones again"
                .to_string(),
        }
    }

    async fn run(&self, ctx: &AppContext, _vars: &Vars) -> Result<()> {
        let sessions = DbSessionStore::delete_expired(&ctx.db).await?;
        let tokens = tokens::purge_expired(&ctx.db)
            .await
            .map_err(|e| Error::string(&e.to_string()))?;
        let keys = idempotency::purge_expired(&ctx.db)
            .await
            .map_err(|e| Error::string(&e.to_string()))?;
        let carts = crate::models::carts::purge_stale_guests(
            &ctx.db,
            crate::settings::Settings::get(ctx).checkout.guest_cart_days,
        )
        .await
        .map_err(|e| Error::string(&e.to_string()))?;
        let imports =
            crate::models::catalogue::import::fail_interrupted(&ctx.db, chrono::Duration::hours(2))
                .await
                .map_err(|e| Error::string(&e.to_string()))?;
        crate::models::catalogue::import::resume_queued(ctx, chrono::Duration::minutes(10))
            .await
            .map_err(|e| Error::string(&e.to_string()))?;
        tracing::info!(
            sessions,
            tokens,
            keys,
            carts,
            imports,
            "purged expired records"
        );
        Ok(())
    }
}
