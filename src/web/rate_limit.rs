//! Per-role API rate limits (API.md: anonymous 100/h, customer 1000/h, staff and admin 5000/h by
//! default, from config), with `X-RateLimit-*` headers and `429` + `Retry-After`.
use axum::http::{request::Parts, HeaderMap, HeaderValue};
use loco_rs::app::AppContext;

use crate::{
    counters::{Counters, Hit},
    domain::role::Role,
    errors::{AppError, AppResult},
    settings::Settings,
    web::extract::{bearer_claims, client_id},
};

/// The outcome for one request, to be written onto the response.
pub struct Quota {
    pub limit: u64,
    pub hit: Hit,
}

impl Quota {
    pub fn write(&self, headers: &mut HeaderMap) {
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert(
            "x-ratelimit-remaining",
            HeaderValue::from(self.limit.saturating_sub(self.hit.count)),
        );
        headers.insert("x-ratelimit-reset", HeaderValue::from(self.hit.reset_in));
    }
}

/// Counts the request against its caller's bucket: the user for a valid bearer token, else the
/// client address. An invalid token is counted as anonymous; the handler then answers 401.
///
/// # Errors
/// `AppError::RateLimited` when the bucket is exhausted; counter-store errors.
pub async fn check(ctx: &AppContext, parts: &Parts) -> Result<Quota, (AppError, Option<Quota>)> {
    let settings = Settings::get(ctx);
    let rl = &settings.rate_limits;
    // API keys act for an admin: the staff allowance, counted per key (not per address). Only
    // a real key gets that bucket: made-up ones count as their client, or each would bring a
    // fresh allowance.
    let by_key = match crate::web::extract::api_key(parts) {
        Some(raw) => crate::models::api_keys::verify(&ctx.db, raw)
            .await
            .map_err(|e| (e, None))?
            .map(|k| (format!("rl:key:{}", k.prefix), rl.staff)),
        None => None,
    };
    let (key, limit) = match by_key {
        Some(k) => k,
        None => match bearer_claims(ctx, parts).ok().flatten() {
            Some(c) => {
                let limit = match c.role {
                    Role::Customer => rl.customer,
                    Role::Staff | Role::ProductManager | Role::Admin => rl.staff,
                };
                (format!("rl:user:{}", c.user_pid), limit)
            }
            None => (format!("rl:anon:{}", client_id(ctx, parts)), rl.anonymous),
        },
    };
    let hit = counted(ctx, &key, rl.window_secs)
        .await
        .map_err(|e| (e, None))?;
    let quota = Quota { limit, hit };
    if hit.count > limit {
        return Err((
            AppError::RateLimited {
                retry_after: hit.reset_in,
            },
            Some(quota),
        ));
    }
    Ok(quota)
}

async fn counted(ctx: &AppContext, key: &str, window: u64) -> AppResult<Hit> {
    Counters::get(ctx).add(key, 1, window).await
}
