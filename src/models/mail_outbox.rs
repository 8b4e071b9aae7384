//! The mail outbox: every mail the shop sends, readable by admins at `/admin/outbox`.
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::_entities::mail_outbox::{self, Column, Entity};
use crate::{
    domain::secrets::redact_link_tokens,
    errors::{AppError, AppResult},
    jobs::JobEnv,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    /// Sent over SMTP.
    Sent,
    /// Kept in the outbox only (outbox transport: nothing leaves the machine).
    Kept,
    /// Gave up after the job's last retry.
    Failed,
}

impl Status {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Kept => "kept",
            Self::Failed => "failed",
        }
    }
}

/// Delivers one mail. Idempotent: a mail already sent or kept is left alone, and the claim is a
/// compare-and-set on (status, attempts) that also leases the row (`locked_until`) for the
/// length of one attempt, so workers racing on one mail, or arriving while it is being sent,
/// deliver it once.
///
/// # Errors
/// Transport errors (the job is retried); the attempt is recorded on the row.
pub async fn deliver(env: &JobEnv, pid: Uuid) -> AppResult<()> {
    let Some(mail) = Entity::find()
        .filter(Column::Pid.eq(pid))
        .one(&env.db)
        .await?
    else {
        return Ok(());
    };
    // A failed mail is delivered again when an admin retries its dead job; sent and kept
    // mail never is.
    let deliverable = [Status::Pending.as_str(), Status::Failed.as_str()];
    if !deliverable.contains(&mail.status.as_str()) {
        return Ok(());
    }
    let now = Utc::now();
    if mail.locked_until.is_some_and(|t| t > now) {
        return Ok(());
    }
    // Claim the row first so a concurrent delivery of the same mail backs off; the lease
    // outlasts an SMTP exchange (lettre gives up after a minute; `jobs.lease_secs`).
    let claimed = Entity::update_many()
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .col_expr(
            Column::LockedUntil,
            Expr::value(
                (now + Duration::seconds(
                    i64::try_from(env.settings.jobs.lease_secs).unwrap_or(180),
                ))
                .fixed_offset(),
            ),
        )
        .filter(Column::Id.eq(mail.id))
        .filter(Column::Status.eq(mail.status.as_str()))
        .filter(Column::Attempts.eq(mail.attempts))
        .filter(
            Condition::any()
                .add(Column::LockedUntil.is_null())
                .add(Column::LockedUntil.lte(now.fixed_offset())),
        )
        .exec(&env.db)
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(());
    }
    match env.mail.send(&mail).await {
        Ok(sent) => {
            let status = if sent { Status::Sent } else { Status::Kept };
            let mut done = Entity::update_many();
            if sent {
                // Once it has left, the outbox keeps no working link: reset and verification
                // links there would let any admin take over the recipient's account. (Kept
                // mail is the delivery itself: the outbox transport is read by the developer.)
                done = done
                    .col_expr(
                        Column::TextBody,
                        Expr::value(redact_link_tokens(&mail.text_body)),
                    )
                    .col_expr(
                        Column::HtmlBody,
                        Expr::value(redact_link_tokens(&mail.html_body)),
                    );
            }
            done.col_expr(Column::Status, Expr::value(status.as_str()))
                .col_expr(Column::SentAt, Expr::value(Utc::now()))
                .col_expr(Column::LastError, Expr::value(Option::<String>::None))
                .col_expr(
                    Column::LockedUntil,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(Column::Id.eq(mail.id))
                .exec(&env.db)
                .await?;
            Ok(())
        }
        Err(e) => {
            let attempts = mail.attempts + 1;
            let give_up =
                u32::try_from(attempts).unwrap_or(u32::MAX) >= env.settings.jobs.max_attempts;
            // The lease ends with the attempt: the queue's retry may come back at once.
            let mut update = Entity::update_many()
                .col_expr(Column::LastError, Expr::value(e.to_string()))
                .col_expr(
                    Column::LockedUntil,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(Column::Id.eq(mail.id));
            if give_up {
                update = update.col_expr(Column::Status, Expr::value(Status::Failed.as_str()));
            }
            update.exec(&env.db).await?;
            Err(AppError::internal(e))
        }
    }
}

/// Public ids of pending mail older than `min_age` (crash recovery: the sweep delivers them).
///
/// # Errors
/// Database errors.
pub async fn stale_pending(env: &JobEnv, min_age: Duration, limit: u64) -> AppResult<Vec<Uuid>> {
    Ok(Entity::find()
        .select_only()
        .column(Column::Pid)
        .filter(Column::Status.eq(Status::Pending.as_str()))
        .filter(Column::CreatedAt.lt(Utc::now() - min_age))
        .order_by_asc(Column::CreatedAt)
        .limit(limit)
        .into_tuple::<Uuid>()
        .all(&env.db)
        .await?)
}

/// One page of the outbox, newest first, optionally filtered by recipient or subject.
///
/// # Errors
/// Database errors.
pub async fn search(
    db: &sea_orm::DatabaseConnection,
    q: &str,
    page: u64,
    page_size: u64,
) -> AppResult<(Vec<mail_outbox::Model>, u64)> {
    let mut query = Entity::find()
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id);
    let q = q.trim();
    if !q.is_empty() {
        let pattern = format!("%{}%", q.to_lowercase());
        query = query.filter(
            Condition::any()
                .add(Expr::expr(Expr::col(Column::ToAddress)).like(pattern.clone()))
                .add(
                    Expr::expr(sea_orm::sea_query::Func::lower(Expr::col(Column::Subject)))
                        .like(pattern),
                ),
        );
    }
    let paginator = query.paginate(db, page_size);
    let count = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((rows, count))
}

/// # Errors
/// `AppError::NotFound` for an unknown id.
pub async fn find(db: &sea_orm::DatabaseConnection, pid: Uuid) -> AppResult<mail_outbox::Model> {
    Entity::find()
        .filter(Column::Pid.eq(pid))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Counts by status for the dashboard.
///
/// # Errors
/// Database errors.
pub async fn count_by_status(db: &sea_orm::DatabaseConnection, status: Status) -> AppResult<u64> {
    Ok(Entity::find()
        .filter(Column::Status.eq(status.as_str()))
        .count(db)
        .await?)
}
