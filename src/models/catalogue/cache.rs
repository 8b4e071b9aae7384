//! Caching of catalogue reads (product detail, list pages) with invalidation by generation.
//!
//! Every cached entry's key contains the current catalogue *generation*; every catalogue write
//! replaces the generation after its transaction commits, so all earlier entries become
//! unreachable at once, in every web process sharing the cache (Redis in production). A reader
//! reads the generation *before* the database, so data read before a commit can only ever be
//! stored under the old generation: no stale price is served after a write returns.
//! Entries also expire on their own (`catalogue_cache_secs`), which bounds memory and the age
//! of the signed image URLs they embed. When the cache is unreachable reads go to the database.
use std::{future::Future, time::Duration};

use loco_rs::cache::Cache;
use serde::{de::DeserializeOwned, Serialize};

use crate::{errors::AppResult, resilience::CACHE};

const GENERATION_KEY: &str = "emporium:catalogue:generation";

async fn generation(cache: &Cache) -> Option<String> {
    match CACHE.call(cache.get::<String>(GENERATION_KEY)).await {
        Ok(Some(g)) => Some(g),
        Ok(None) => {
            // Evicted or never set: a fresh generation is always safe (it only drops entries).
            let g = uuid::Uuid::new_v4().simple().to_string();
            CACHE.call(cache.insert(GENERATION_KEY, &g)).await.ok()?;
            Some(g)
        }
        Err(e) => {
            tracing::warn!(error = %e, "catalogue cache unavailable; reading the database");
            None
        }
    }
}

/// Makes every cached catalogue read unreachable. Call after the write committed.
pub async fn invalidate(cache: &Cache) {
    let g = uuid::Uuid::new_v4().simple().to_string();
    if let Err(e) = CACHE.call(cache.insert(GENERATION_KEY, &g)).await {
        // With the cache down nothing can be read from it either, so nothing stale is served.
        tracing::warn!(error = %e, "could not bump the catalogue cache generation");
    }
}

/// Returns the cached value for `key`, or computes, stores and returns it.
///
/// # Errors
/// Whatever `compute` returns; cache failures are logged and bypassed.
pub async fn cached<T, F>(cache: &Cache, ttl_secs: u64, key: &str, compute: F) -> AppResult<T>
where
    T: Serialize + DeserializeOwned + Sync,
    F: Future<Output = AppResult<T>>,
{
    let Some(generation) = generation(cache).await else {
        return compute.await;
    };
    let full = format!("emporium:catalogue:{generation}:{key}");
    match CACHE.call(cache.get::<T>(&full)).await {
        Ok(Some(hit)) => return Ok(hit),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "catalogue cache read failed"),
    }
    let value = compute.await?;
    if ttl_secs > 0 {
        if let Err(e) = CACHE
            .call(cache.insert_with_expiry(&full, &value, Duration::from_secs(ttl_secs)))
            .await
        {
            tracing::warn!(error = %e, "catalogue cache write failed");
        }
    }
    Ok(value)
}
