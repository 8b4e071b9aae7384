//! The middleware stack of every `/api` route, in one function so the order is plain:
//! rate limit → idempotency → handler → error-body normalisation.
use axum::{
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};
use loco_rs::app::AppContext;

use crate::errors::{ApiError, AppError};

/// Provider webhooks come from the provider's servers, authenticated by their signature;
/// a per-address limit would only make the provider retry.
const UNLIMITED: &[&str] = &["/api/v1/webhooks/stripe"];

pub async fn api_stack(State(ctx): State<AppContext>, req: Request, next: Next) -> Response {
    if UNLIMITED.contains(&req.uri().path()) {
        return normalise(next.run(req).await);
    }
    let (parts, body) = req.into_parts();
    let quota = match super::rate_limit::check(&ctx, &parts).await {
        Ok(q) => Some(q),
        Err((e, quota)) => {
            let mut res = ApiError(e).into_response();
            if let Some(q) = quota {
                q.write(res.headers_mut());
            }
            return res;
        }
    };
    let req = Request::from_parts(parts, body);
    let mut res = normalise(super::idempotency::handle(&ctx, req, next).await);
    if let Some(q) = quota {
        q.write(res.headers_mut());
    }
    res
}

/// Gives every error from the router or a framework extractor (405, 413, 415 …) API.md's
/// JSON error body; our own errors already have it and pass through untouched.
fn normalise(res: Response) -> Response {
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() < 400 || is_json {
        return res;
    }
    let headers = res.headers().clone();
    let mut out = ApiError(AppError::from_status(status)).into_response();
    *out.status_mut() = status;
    for (name, value) in &headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name, value.clone());
        }
    }
    out
}
