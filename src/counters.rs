//! Fixed-window counters for rate limits and login throttling: in memory for one process, or in
//! Redis so that every web node counts together. While Redis cannot be reached each process
//! counts on its own (a looser limit, never none), and tries Redis again a few seconds later.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use loco_rs::app::AppContext;

use crate::{
    errors::{AppError, AppResult},
    resilience::Breaker,
    settings::{CounterStoreKind, RateLimitSettings},
};

/// The state of one counter after a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub count: u64,
    /// Seconds until the window resets.
    pub reset_in: u64,
}

type Local = Mutex<HashMap<String, (Instant, u64)>>;

pub enum Counters {
    Memory(Local),
    Redis {
        conn: redis::aio::ConnectionManager,
        /// This process's own counts while Redis is away.
        local: Local,
        breaker: Breaker,
    },
}

/// Adds `by` to `key`'s counter in `map`.
fn count_in(map: &Local, key: &str, by: u64, window_secs: u64) -> Hit {
    let mut map = map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let now = Instant::now();
    let window = Duration::from_secs(window_secs);
    if map.len() > 100_000 {
        map.retain(|_, (start, _)| now.duration_since(*start) < window);
    }
    let entry = map.entry(key.to_string()).or_insert((now, 0));
    if now.duration_since(entry.0) >= window {
        *entry = (now, 0);
    }
    entry.1 += by;
    let reset_in = window
        .saturating_sub(now.duration_since(entry.0))
        .as_secs()
        .max(1);
    Hit {
        count: entry.1,
        reset_in,
    }
}

impl Counters {
    /// # Errors
    /// `AppError::Unavailable` when the Redis store cannot be reached.
    pub async fn connect(settings: &RateLimitSettings) -> AppResult<Self> {
        match settings.store {
            CounterStoreKind::Memory => Ok(Self::Memory(Mutex::new(HashMap::new()))),
            CounterStoreKind::Redis => {
                let client = redis::Client::open(settings.redis_url.as_str())
                    .map_err(|e| AppError::Unavailable(format!("counter store: {e}")))?;
                let conn = client
                    .get_connection_manager()
                    .await
                    .map_err(|e| AppError::Unavailable(format!("counter store: {e}")))?;
                Ok(Self::Redis {
                    conn,
                    local: Mutex::new(HashMap::new()),
                    breaker: Breaker::new(
                        "counter store",
                        Duration::from_secs(1),
                        Duration::from_secs(5),
                    ),
                })
            }
        }
    }

    /// # Panics
    /// Only if called before boot finished, which is a programming error.
    #[must_use]
    pub fn get(ctx: &AppContext) -> Arc<Self> {
        ctx.shared_store
            .get::<Arc<Self>>()
            .expect("counters are created during boot")
    }

    /// Adds `by` to `key`'s counter in the current window of `window_secs` and returns it.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn add(&self, key: &str, by: u64, window_secs: u64) -> AppResult<Hit> {
        match self {
            Self::Memory(map) => Ok(count_in(map, key, by, window_secs)),
            Self::Redis {
                conn,
                local,
                breaker,
            } => {
                let mut conn = conn.clone();
                let mut pipe = redis::pipe();
                pipe.atomic()
                    .cmd("INCRBY")
                    .arg(format!("emporium:counter:{key}"))
                    .arg(by)
                    .cmd("EXPIRE")
                    .arg(format!("emporium:counter:{key}"))
                    .arg(window_secs)
                    .arg("NX")
                    .ignore()
                    .cmd("TTL")
                    .arg(format!("emporium:counter:{key}"));
                match breaker
                    .call(pipe.query_async::<(u64, i64)>(&mut conn))
                    .await
                {
                    Ok((count, ttl)) => Ok(Hit {
                        count,
                        reset_in: u64::try_from(ttl).unwrap_or(window_secs).max(1),
                    }),
                    Err(e) => {
                        tracing::warn!(error = %e, "counter store unavailable; counting in this process");
                        Ok(count_in(local, key, by, window_secs))
                    }
                }
            }
        }
    }

    /// The current count without adding to it.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn peek(&self, key: &str, window_secs: u64) -> AppResult<Hit> {
        self.add(key, 0, window_secs).await
    }

    /// Takes back one count (a try that was counted before it was judged, and succeeded).
    ///
    /// # Errors
    /// Redis errors.
    pub async fn take_back(&self, key: &str) -> AppResult<()> {
        match self {
            Self::Memory(map) => {
                if let Some(entry) = map
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get_mut(key)
                {
                    entry.1 = entry.1.saturating_sub(1);
                }
                Ok(())
            }
            Self::Redis {
                conn,
                local,
                breaker,
            } => {
                if let Some(entry) = local
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get_mut(key)
                {
                    entry.1 = entry.1.saturating_sub(1);
                }
                let mut conn = conn.clone();
                // Only an existing counter: DECR on a missing key would create one without
                // an expiry.
                let mut cmd = redis::cmd("EVAL");
                cmd.arg(
                    "if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(redis.call('GET', KEYS[1])) > 0 \
                     then return redis.call('DECR', KEYS[1]) else return 0 end",
                )
                .arg(1)
                .arg(format!("emporium:counter:{key}"));
                if let Err(e) = breaker.call(cmd.query_async::<i64>(&mut conn)).await {
                    // Best effort: a count not taken back only makes the limit a little
                    // stricter until the window ends.
                    tracing::warn!(error = %e, "could not take back a count");
                }
                Ok(())
            }
        }
    }

    /// # Errors
    /// Redis errors.
    pub async fn clear(&self, key: &str) -> AppResult<()> {
        match self {
            Self::Memory(map) => {
                map.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(key);
                Ok(())
            }
            Self::Redis {
                conn,
                local,
                breaker,
            } => {
                local
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(key);
                let mut conn = conn.clone();
                let mut cmd = redis::cmd("DEL");
                cmd.arg(format!("emporium:counter:{key}"));
                if let Err(e) = breaker.call(cmd.query_async::<()>(&mut conn)).await {
                    tracing::warn!(error = %e, "could not clear a count");
                }
                Ok(())
            }
        }
    }
}
