//! A tower-sessions store on the application database, shared by every web process on SQLite
//! or PostgreSQL alike (none of the published stores fits tower-sessions 0.15 with sqlx 0.9).
//!
//! Every page reads the session, so the store keeps a write-through copy in the application
//! cache (Redis in production, shared by every web process): `create` and `save` write the
//! database, then the cache; `delete` removes both. `save` only updates: a session deleted by
//! a logout or a login stays deleted, whatever requests of it were still in flight. A miss reads the database and does *not*
//! fill the cache, because a read racing a logout could otherwise put the deleted session
//! back. So the cache only ever holds what a write put there, and a logout is final at once.
use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::Utc;
use loco_rs::cache::Cache;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use tower_sessions::{
    cookie::time::OffsetDateTime,
    session::{Id, Record},
    session_store::{self, SessionStore},
};

use super::_entities::sessions::{self, Column, Entity};

#[derive(Clone)]
pub struct DbSessionStore {
    db: DatabaseConnection,
    cache: Option<Arc<Cache>>,
}

impl std::fmt::Debug for DbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbSessionStore")
            .field("cached", &self.cache.is_some())
            .finish_non_exhaustive()
    }
}

/// How long the cache keeps a copy of a session at most (it is written again on every save).
const CACHED_COPY_SECS: u64 = 600;

fn cache_key(id: &Id) -> String {
    format!("emporium:session:{id}")
}

impl DbSessionStore {
    /// A store reading and writing the database only.
    #[must_use]
    pub const fn new(db: DatabaseConnection) -> Self {
        Self { db, cache: None }
    }

    /// The same store with a write-through copy of each written session in `cache`.
    #[must_use]
    pub fn with_cache(mut self, cache: Arc<Cache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Copies a record that was just written to the database into the cache, until it
    /// expires. If that fails an older copy may be left behind, so it is removed instead.
    async fn remember(&self, record: &Record) {
        let Some(cache) = &self.cache else { return };
        let key = cache_key(&record.id);
        let left = (record.expiry_date - OffsetDateTime::now_utc()).whole_seconds();
        let stored = match u64::try_from(left).map(|s| s.min(CACHED_COPY_SECS)) {
            Ok(secs) if secs > 0 => {
                crate::resilience::CACHE
                    .call(cache.insert_with_expiry(&key, record, Duration::from_secs(secs)))
                    .await
            }
            _ => Err("already expired".to_string()),
        };
        if let Err(e) = stored {
            tracing::debug!(error = %e, "session not cached");
            self.forget(&record.id).await;
        }
    }

    /// Always tried (never skipped by the cache's breaker). A copy it cannot drop (Redis
    /// unreachable) lives at most [`CACHED_COPY_SECS`]: a session signed out during an outage
    /// can be read from a Redis that comes back with its data only within that time.
    async fn forget(&self, id: &Id) {
        let Some(cache) = &self.cache else { return };
        let removed = tokio::time::timeout(
            std::time::Duration::from_millis(500),
            cache.remove(&cache_key(id)),
        )
        .await;
        if !matches!(removed, Ok(Ok(()))) {
            // Not fatal for reads: with the cache unreachable they go to the database.
            tracing::warn!("could not drop a session from the cache");
        }
    }

    async fn cached(&self, id: &Id) -> Option<Record> {
        let cache = self.cache.as_ref()?;
        match crate::resilience::CACHE
            .call(cache.get::<Record>(&cache_key(id)))
            .await
        {
            Ok(Some(r)) if r.expiry_date > OffsetDateTime::now_utc() => Some(r),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "session cache unavailable; reading the database");
                None
            }
        }
    }

    /// Deletes expired sessions (scheduled clean-up).
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete_expired(db: &DatabaseConnection) -> Result<u64, sea_orm::DbErr> {
        let res = Entity::delete_many()
            .filter(Column::ExpiresAt.lt(Utc::now().timestamp()))
            .exec(db)
            .await?;
        Ok(res.rows_affected)
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn to_row(record: &Record) -> session_store::Result<sessions::ActiveModel> {
    let data = serde_json::to_string(&record.data)
        .map_err(|e| session_store::Error::Encode(e.to_string()))?;
    Ok(sessions::ActiveModel {
        id: Set(record.id.to_string()),
        data: Set(data),
        expires_at: Set(record.expiry_date.unix_timestamp()),
    })
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Ids are 128 random bits; on the astronomically unlikely clash, draw a new one.
        loop {
            let row = to_row(record)?;
            match Entity::insert(row).exec(&self.db).await {
                Ok(_) => {
                    self.remember(record).await;
                    return Ok(());
                }
                Err(e)
                    if matches!(
                        e.sql_err(),
                        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                    ) =>
                {
                    record.id = Id::default();
                }
                Err(e) => return Err(backend(e)),
            }
        }
    }

    /// Updates a session that exists; never recreates one. A request that loaded the session
    /// before a logout or a login (which delete it) and writes after would otherwise bring the
    /// deleted session back, signed in. (New sessions go through `create`.)
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let done = Entity::update_many()
            .col_expr(Column::Data, sea_orm::sea_query::Expr::value(data))
            .col_expr(
                Column::ExpiresAt,
                sea_orm::sea_query::Expr::value(record.expiry_date.unix_timestamp()),
            )
            .filter(Column::Id.eq(record.id.to_string()))
            .exec(&self.db)
            .await
            .map_err(backend)?;
        if done.rows_affected == 1 {
            self.remember(record).await;
        } else {
            self.forget(&record.id).await;
        }
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        if let Some(hit) = self.cached(session_id).await {
            return Ok(Some(hit));
        }
        let Some(row) = Entity::find()
            .filter(Column::Id.eq(session_id.to_string()))
            .filter(Column::ExpiresAt.gt(OffsetDateTime::now_utc().unix_timestamp()))
            .one(&self.db)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&row.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = OffsetDateTime::from_unix_timestamp(row.expires_at)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *session_id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        Entity::delete_many()
            .filter(Column::Id.eq(session_id.to_string()))
            .exec(&self.db)
            .await
            .map_err(backend)?;
        self.forget(session_id).await;
        Ok(())
    }
}
