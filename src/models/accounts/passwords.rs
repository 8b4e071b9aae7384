//! Password hashing and checking, kept off the async runtime.
//!
//! Argon2 is built to be slow (tens of milliseconds of one core). Run on the async worker
//! threads, a burst of logins would stall every other request on those threads; so each hash
//! or check runs on the blocking pool, and a semaphore sized to the cores lets only that many
//! run at once: a burst queues instead of taking the machine.
//!
//! Every check of a password the caller claims to know — login, the current password before a
//! change, an e-mail change, closing an account, turning two-factor on — is counted before it is
//! judged, so guesses sent in parallel cannot slip under the limit.
use std::sync::{Arc, OnceLock};

use loco_rs::app::AppContext;
use tokio::sync::Semaphore;

use crate::{
    counters::Counters,
    domain::validation::FieldErrors,
    errors::{AppError, AppResult},
    models::users::Model,
    settings::Settings,
};

fn permits() -> Arc<Semaphore> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    PERMITS
        .get_or_init(|| {
            Arc::new(Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            ))
        })
        .clone()
}

async fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    let permit = permits()
        .acquire_owned()
        .await
        .map_err(AppError::internal)?;
    // The permit lives as long as the hash, not as long as the request: a client that hangs
    // up does not free a slot while its hash still runs.
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(AppError::internal)
}

/// The argon2 hash of `password`.
///
/// # Errors
/// `Internal` when hashing fails (it does not for valid input).
pub async fn hash(password: &str) -> AppResult<String> {
    let password = password.to_string();
    off_runtime(move || loco_rs::hash::hash_password(&password))
        .await?
        .map_err(AppError::from)
}

/// Whether `password` matches `hash`.
///
/// # Errors
/// `Internal` only if the blocking pool is gone (shutdown).
pub async fn verify(password: &str, hash: &str) -> AppResult<bool> {
    let (password, hash) = (password.to_string(), hash.to_string());
    off_runtime(move || loco_rs::hash::verify_password(&password, &hash)).await
}

/// Spends the same time as checking a real account's password, for an address that has no
/// account, so the answer time does not tell which addresses have one.
///
/// # Errors
/// `Internal` only if the blocking pool is gone (shutdown).
pub async fn verify_nobody(password: &str) -> AppResult<()> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let password = password.to_string();
    off_runtime(move || {
        let dummy = DUMMY.get_or_init(|| {
            loco_rs::hash::hash_password("not a real password").unwrap_or_default()
        });
        let _ = loco_rs::hash::verify_password(&password, dummy);
    })
    .await
}

/// Counts one try against `key` before it is judged, so tries sent in parallel cannot all
/// slip under the limit; a success clears the count. A wrong try is an empty `Validation`
/// error for the caller to fill in.
///
/// # Errors
/// `RateLimited` past the login limit; an empty `Validation` for a wrong try.
pub async fn limited_try<F, Fut>(ctx: &AppContext, key: &str, attempt: F) -> AppResult<()>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = AppResult<bool>>,
{
    let settings = Settings::get(ctx);
    let counters = Counters::get(ctx);
    let hit = counters
        .add(key, 1, settings.auth.login_window_secs)
        .await?;
    if hit.count > settings.auth.login_max_failures {
        return Err(AppError::RateLimited {
            retry_after: hit.reset_in,
        });
    }
    if attempt().await? {
        counters.clear(key).await?;
        Ok(())
    } else {
        Err(AppError::Validation(FieldErrors::new()))
    }
}

/// Checks the signed-in user's own password before a sensitive change, throttled like a login
/// (a stolen session must not become a password oracle). `field` names the form field a wrong
/// password is reported on.
///
/// # Errors
/// 422 on `field` for a wrong password; `RateLimited` after too many wrong ones.
pub async fn check_current(
    ctx: &AppContext,
    user: &Model,
    password: &str,
    field: &str,
) -> AppResult<()> {
    let key = format!("reauth:{}", user.id);
    let result = limited_try(ctx, &key, || verify(password, &user.password_hash)).await;
    match result {
        Err(AppError::Validation(_)) => Err(FieldErrors::single(
            field,
            if field == "current_password" {
                "This is not your current password."
            } else {
                "This is not your password."
            },
        )
        .into()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hash_verifies_its_password_only() {
        let h = super::hash("correct horse battery").await.unwrap();
        assert!(super::verify("correct horse battery", &h).await.unwrap());
        assert!(!super::verify("wrong horse battery", &h).await.unwrap());
    }
}
