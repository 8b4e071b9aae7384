//! Caching of catalogue reads (product detail, list pages) with invalidation by generation.
//!
//! Every cached entry's key contains the current catalogue *generation*; every catalogue write
//! replaces the generation after its transaction commits, so all earlier entries become
//! unreachable at once, in every web process sharing the cache (Redis in production). A reader
//! reads the generation *before* the database, so data read before a commit can only ever be
//! stored under the old generation: no stale price is served after a write returns.
//! Entries also expire on their own (`catalogue_cache_secs`), which bounds memory and the age
//! of the signed image URLs they embed. When the cache is unreachable reads go to the database.
//!
//! Stock is not catalogue: a busy shop sells all day, and a checkout that dropped every cached
//! body would leave the readers of a sale on the database. Cached bodies are served with their
//! stock levels read live (`views::with_live_stock`, one indexed query per page), so sales and
//! stock adjustments invalidate nothing — except where stock decides *which* products a read
//! returns (the `in_stock` filter). Those entries also carry the *availability generation*,
//! replaced only when a variant sells out or comes back ([`availability_changed`]).
use std::{future::Future, time::Duration};

use loco_rs::cache::Cache;
use serde::{de::DeserializeOwned, Serialize};

use crate::{errors::AppResult, resilience::CACHE};

const GENERATION_KEY: &str = "emporium:catalogue:generation";
const AVAILABILITY_KEY: &str = "emporium:catalogue:availability";

async fn generation(cache: &Cache, key: &str) -> Option<String> {
    match CACHE.call(cache.get::<String>(key)).await {
        Ok(Some(g)) => Some(g),
        Ok(None) => {
            // Evicted or never set: a fresh generation is always safe (it only drops entries).
            let g = uuid::Uuid::new_v4().simple().to_string();
            CACHE.call(cache.insert(key, &g)).await.ok()?;
            Some(g)
        }
        Err(e) => {
            tracing::warn!(error = %e, "catalogue cache unavailable; reading the database");
            None
        }
    }
}

async fn bump(cache: &Cache, key: &str) {
    let g = uuid::Uuid::new_v4().simple().to_string();
    if let Err(e) = CACHE.call(cache.insert(key, &g)).await {
        // With the cache down nothing can be read from it either, so nothing stale is served.
        tracing::warn!(error = %e, "could not bump a catalogue cache generation");
    }
}

/// Makes every cached catalogue read unreachable. Call after the write committed.
pub async fn invalidate(cache: &Cache) {
    bump(cache, GENERATION_KEY).await;
}

/// Makes the cached reads whose *choice* of products depends on stock unreachable (lists
/// filtered by `in_stock`). Call after a write that sold out a variant or brought one back.
pub async fn availability_changed(cache: &Cache) {
    bump(cache, AVAILABILITY_KEY).await;
}

/// What a cached read depends on besides the catalogue itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depends {
    /// Products, variants, prices, pictures, groups, reviews: only catalogue writes.
    Catalogue,
    /// Also which variants can be bought (a list filtered by `in_stock`).
    Availability,
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
    cached_read(cache, ttl_secs, Depends::Catalogue, key, compute)
        .await
        .map(|(value, _)| value)
}

/// [`cached`], depending on `depends`, also telling whether the value came from the cache
/// (`true`) or was just read from the database.
///
/// # Errors
/// Whatever `compute` returns; cache failures are logged and bypassed.
pub async fn cached_read<T, F>(
    cache: &Cache,
    ttl_secs: u64,
    depends: Depends,
    key: &str,
    compute: F,
) -> AppResult<(T, bool)>
where
    T: Serialize + DeserializeOwned + Sync,
    F: Future<Output = AppResult<T>>,
{
    let Some(catalogue) = generation(cache, GENERATION_KEY).await else {
        return Ok((compute.await?, false));
    };
    let full = match depends {
        Depends::Catalogue => format!("emporium:catalogue:{catalogue}:{key}"),
        Depends::Availability => {
            let Some(availability) = generation(cache, AVAILABILITY_KEY).await else {
                return Ok((compute.await?, false));
            };
            format!("emporium:catalogue:{catalogue}:{availability}:{key}")
        }
    };
    match CACHE.call(cache.get::<T>(&full)).await {
        Ok(Some(hit)) => return Ok((hit, true)),
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
    Ok((value, false))
}
