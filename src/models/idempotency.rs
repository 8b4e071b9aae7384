//! Stored outcomes of POST requests sent with an `Idempotency-Key`.
//!
//! The unique index on (owner, key) is the lock: the first request inserts an `in_progress`
//! row and runs; a concurrent or later one with the same key finds the row and waits for, or
//! replays, the stored response instead of running again.
use chrono::{Duration, Utc};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};

use super::_entities::idempotency_keys::{self, Column, Entity};
use crate::errors::AppResult;

pub const TTL_HOURS: i64 = 24;

/// A stored response.
#[derive(Debug, Clone)]
pub struct Saved {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub enum Claim {
    /// This request owns the key: run it, then `complete` or `release`.
    Acquired(i32),
    /// Same key, same request, already answered.
    Replay(Saved),
    /// Same key, same request, still running elsewhere.
    InProgress,
    /// Same key used for a different request.
    Mismatch,
}

/// # Errors
/// Database errors other than the expected unique violation.
pub async fn claim(
    db: &DatabaseConnection,
    owner: &str,
    key: &str,
    request_hash: &str,
) -> AppResult<Claim> {
    let now = Utc::now();
    // An expired record no longer protects anything; clear it so the key can be reused.
    Entity::delete_many()
        .filter(Column::Owner.eq(owner))
        .filter(Column::Key.eq(key))
        .filter(Column::CreatedAt.lt(now - Duration::hours(TTL_HOURS)))
        .exec(db)
        .await?;
    let inserted = idempotency_keys::ActiveModel {
        owner: Set(owner.to_string()),
        key: Set(key.to_string()),
        request_hash: Set(request_hash.to_string()),
        state: Set("in_progress".into()),
        response_status: Set(None),
        response_headers: Set(None),
        response_body: Set(None),
        created_at: Set(now.into()),
        ..Default::default()
    }
    .insert(db)
    .await;
    match inserted {
        Ok(row) => return Ok(Claim::Acquired(row.id)),
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) => {}
        Err(e) => return Err(e.into()),
    }
    let Some(row) = Entity::find()
        .filter(Column::Owner.eq(owner))
        .filter(Column::Key.eq(key))
        .one(db)
        .await?
    else {
        // The holder failed and released the key between our insert and read: let the client retry.
        return Ok(Claim::InProgress);
    };
    if row.request_hash != request_hash {
        return Ok(Claim::Mismatch);
    }
    match (row.state.as_str(), row.response_status) {
        ("completed", Some(status)) => Ok(Claim::Replay(Saved {
            status: u16::try_from(status).unwrap_or(500),
            headers: row
                .response_headers
                .as_deref()
                .and_then(|h| serde_json::from_str(h).ok())
                .unwrap_or_default(),
            body: row.response_body.unwrap_or_default(),
        })),
        _ => Ok(Claim::InProgress),
    }
}

/// # Errors
/// Database errors.
pub async fn complete(db: &DatabaseConnection, id: i32, saved: &Saved) -> AppResult<()> {
    Entity::update_many()
        .col_expr(Column::State, Expr::value("completed"))
        .col_expr(Column::ResponseStatus, Expr::value(i32::from(saved.status)))
        .col_expr(
            Column::ResponseHeaders,
            Expr::value(serde_json::to_string(&saved.headers).unwrap_or_default()),
        )
        .col_expr(Column::ResponseBody, Expr::value(saved.body.clone()))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Forgets a claim whose request failed on our side, so a retry with the same key runs again.
///
/// # Errors
/// Database errors.
pub async fn release(db: &DatabaseConnection, id: i32) -> AppResult<()> {
    Entity::delete_many()
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes records past their 24 hours (scheduled clean-up).
///
/// # Errors
/// Database errors.
pub async fn purge_expired(db: &DatabaseConnection) -> AppResult<u64> {
    let res = Entity::delete_many()
        .filter(Column::CreatedAt.lt(Utc::now() - Duration::hours(TTL_HOURS)))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
