//! Jobs of the in-process backend that exhausted their retries.
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::_entities::dead_jobs::{self, Column, Entity};
use crate::{
    errors::{AppError, AppResult},
    jobs::{DeadJob, Job},
};

/// # Errors
/// Database errors.
pub async fn record(
    db: &sea_orm::DatabaseConnection,
    job: &Job,
    error: &str,
    attempts: u32,
) -> AppResult<()> {
    dead_jobs::ActiveModel {
        pid: Set(Uuid::new_v4()),
        kind: Set(job.kind().to_string()),
        payload: Set(serde_json::to_string(job).map_err(AppError::internal)?),
        error: Set(error.chars().take(2000).collect()),
        attempts: Set(i32::try_from(attempts).unwrap_or(i32::MAX)),
        failed_at: Set(Utc::now().into()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// # Errors
/// Database errors.
pub async fn list(db: &sea_orm::DatabaseConnection, limit: u64) -> AppResult<Vec<DeadJob>> {
    Ok(Entity::find()
        .order_by_desc(Column::FailedAt)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|j| DeadJob {
            id: j.pid.to_string(),
            kind: j.kind,
            error: j.error,
            attempts: u32::try_from(j.attempts).unwrap_or(0),
            failed_at: j.failed_at.to_rfc3339(),
        })
        .collect())
}

/// Removes a dead job and returns it (for retry or discard). The delete is the claim: two
/// admins clicking "retry" at once enqueue it once.
///
/// # Errors
/// `AppError::NotFound` for an unknown or already-taken id.
pub async fn take(db: &sea_orm::DatabaseConnection, id: &str) -> AppResult<Job> {
    let pid = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    let row = Entity::find()
        .filter(Column::Pid.eq(pid))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let deleted = Entity::delete_many()
        .filter(Column::Id.eq(row.id))
        .exec(db)
        .await?;
    if deleted.rows_affected != 1 {
        return Err(AppError::NotFound);
    }
    serde_json::from_str(&row.payload).map_err(AppError::internal)
}

/// # Errors
/// Database errors.
pub async fn count(db: &sea_orm::DatabaseConnection) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(Entity::find().count(db).await?)
}
