//! Every request has a deadline (`request_timeout_secs`): a request still without an answer
//! then is dropped — its transaction rolls back, as when its client goes away — and answered
//! 503 with `Retry-After` (API.md's error body under `/api`, the error page elsewhere). A
//! stuck lock or a slow dependency so costs one connection for a bounded time instead of
//! piling up requests until the process runs out of them.
//!
//! The deadline covers the time to the response's headers. Streamed bodies (CSV exports, the
//! live dashboard) answer at once and then run as long as their client reads. An upload
//! (`multipart/form-data`: pictures, CSV imports) reads its body within that time, so it gets
//! ten times as long: a large file on a slow line is not a stuck request.
//!
//! Dropping a request is what a client hanging up does too, so the shop is built for it: a
//! transaction not yet committed rolls back, and what a committed one had still to do after
//! its commit (mail, webhooks) is taken over by the sweeps. The client cannot tell a 503
//! that came after the commit from one before it; a retry with the same `Idempotency-Key`
//! answers what was done.
use std::time::Duration;

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use loco_rs::app::AppContext;

use crate::{
    errors::{ApiError, AppError, PageError},
    settings::Settings,
};

pub async fn limit(State(ctx): State<AppContext>, req: Request, next: Next) -> Response {
    let secs = Settings::get(&ctx).request_timeout_secs;
    if secs == 0 {
        return next.run(req).await;
    }
    let upload = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let secs = if upload {
        secs.saturating_mul(10)
    } else {
        secs
    };
    let api = req.uri().path().starts_with("/api/");
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    match tokio::time::timeout(Duration::from_secs(secs), next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(%method, %path, secs, "request passed its deadline; dropped");
            let e = AppError::Unavailable(
                "The shop took too long to answer; please try again in a moment.".into(),
            );
            if api {
                ApiError(e).into_response()
            } else {
                PageError(e).into_response()
            }
        }
    }
}
