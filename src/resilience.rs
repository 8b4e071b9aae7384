//! Calls to the optional services on a request's path (Redis as cache, queue, live feed and
//! counter store): each is bounded by a short timeout, and after one fails the service is left
//! alone for a few seconds (a circuit breaker), so an outage costs a request at most a
//! fraction of a second instead of a pool's 30-second connection timeout, and the shop keeps
//! serving from the database meanwhile. One breaker per use, so a slow live feed does not stop
//! jobs being queued; the breakers here are per process (the counter store has its own, in
//! `counters`).
use std::{
    fmt::Display,
    future::Future,
    sync::Mutex,
    time::{Duration, Instant},
};

/// One service's breaker.
pub struct Breaker {
    name: &'static str,
    timeout: Duration,
    open_for: Duration,
    open_until: Mutex<Option<Instant>>,
}

/// The cache (catalogue reads, session copies): reads fall back to the database.
pub static CACHE: Breaker =
    Breaker::new("cache", Duration::from_millis(500), Duration::from_secs(5));

/// The job queue: generous, since a slow push is still a push, and a failed one is recovered
/// by the sweeps.
pub static QUEUE: Breaker =
    Breaker::new("job queue", Duration::from_secs(2), Duration::from_secs(5));

/// The live feed of the admin dashboard (a convenience: a page load shows the same).
pub static LIVE: Breaker =
    Breaker::new("live feed", Duration::from_secs(1), Duration::from_secs(5));

impl Breaker {
    #[must_use]
    pub const fn new(name: &'static str, timeout: Duration, open_for: Duration) -> Self {
        Self {
            name,
            timeout,
            open_for,
            open_until: Mutex::new(None),
        }
    }

    fn is_open(&self) -> bool {
        let mut until = self
            .open_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match *until {
            Some(t) if Instant::now() < t => true,
            Some(_) => {
                *until = None;
                false
            }
            None => false,
        }
    }

    fn trip(&self) {
        let mut until = self
            .open_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if until.is_none() {
            tracing::warn!(
                service = self.name,
                "unreachable; bypassed for a few seconds"
            );
        }
        *until = Some(Instant::now() + self.open_for);
    }

    /// Runs `call` unless the service failed a moment ago; a failure or a timeout opens the
    /// breaker.
    ///
    /// # Errors
    /// The call's error, a timeout, or "bypassed" while the breaker is open.
    pub async fn call<T, E: Display>(
        &self,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, String> {
        if self.is_open() {
            return Err(format!("{} bypassed after a recent failure", self.name));
        }
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                self.trip();
                Err(e.to_string())
            }
            Err(_) => {
                self.trip();
                Err(format!(
                    "{} did not answer within {:?}",
                    self.name, self.timeout
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failure_opens_the_breaker_for_a_while_and_a_timeout_counts_as_one() {
        let b = Breaker::new("t", Duration::from_millis(50), Duration::from_millis(200));
        assert_eq!(b.call(async { Ok::<_, String>(1) }).await, Ok(1));
        assert!(b.call(async { Err::<i32, _>("down") }).await.is_err());
        // Open: the next call is not even made.
        let made = std::sync::atomic::AtomicBool::new(false);
        let res = b
            .call(async {
                made.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok::<_, String>(2)
            })
            .await;
        assert!(res.is_err() && !made.load(std::sync::atomic::Ordering::SeqCst));
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(
            b.call(async { Ok::<_, String>(3) }).await,
            Ok(3),
            "closed again"
        );
        let slow = b
            .call(async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Ok::<_, String>(4)
            })
            .await;
        assert!(slow.is_err());
        assert!(
            b.call(async { Ok::<_, String>(5) }).await.is_err(),
            "a timeout opened it"
        );
    }
}
