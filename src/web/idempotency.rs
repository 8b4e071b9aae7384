//! `Idempotency-Key` on API POSTs: a repeat with the same key and caller within 24 h returns the
//! first response and does nothing again; concurrent repeats wait for the first to finish.
use std::time::Duration;

use axum::{
    body::{to_bytes, Body},
    extract::Request,
    http::{request::Parts, HeaderName, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use loco_rs::app::AppContext;
use sha2::{Digest, Sha256};

use crate::{
    errors::{ApiError, AppError},
    models::idempotency::{self, Claim, Saved},
    settings::Settings,
    web::extract::{bearer_claims, client_id},
};

pub const HEADER: &str = "idempotency-key";
const MAX_KEY_LEN: usize = 255;
/// Largest response we store for replay; bigger ones are not idempotent-cached.
const MAX_STORED_RESPONSE: usize = 1024 * 1024;
/// How long a repeat waits for the original request before answering 409.
const WAIT_FOR_ORIGINAL: Duration = Duration::from_secs(10);

fn owner(ctx: &AppContext, parts: &Parts) -> String {
    if let Some(key) = crate::web::extract::api_key(parts) {
        // The key's public part: retries of one integration share their records.
        return format!("key:{}", key.chars().take(16).collect::<String>());
    }
    match bearer_claims(ctx, parts).ok().flatten() {
        Some(c) => format!("user:{}", c.user_pid),
        None => format!("anon:{}", client_id(ctx, parts)),
    }
}

/// Wraps `next` for POST requests that carry the header; everything else passes through.
pub async fn handle(ctx: &AppContext, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(HEADER).cloned() else {
        return next.run(req).await;
    };
    let key = match key.to_str() {
        Ok(k) if !k.trim().is_empty() && k.len() <= MAX_KEY_LEN => k.trim().to_string(),
        _ => {
            return ApiError(AppError::BadRequest(format!(
                "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters."
            )))
            .into_response()
        }
    };
    let (parts, body) = req.into_parts();
    let settings = Settings::get(ctx);
    let is_upload = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    // Image uploads are the one kind of body allowed beyond the JSON limit.
    let limit = if is_upload {
        settings.upload_body_limit()
    } else {
        settings.limits.max_body_bytes
    };
    let Ok(bytes) = to_bytes(body, limit).await else {
        return ApiError(AppError::PayloadTooLarge).into_response();
    };
    let mut hasher = Sha256::new();
    hasher.update(parts.uri.path().as_bytes());
    hasher.update([0]);
    hasher.update(&bytes);
    let request_hash = hex::encode(hasher.finalize());
    let owner = owner(ctx, &parts);

    let deadline = tokio::time::Instant::now() + WAIT_FOR_ORIGINAL;
    let id =
        loop {
            match idempotency::claim(&ctx.db, &owner, &key, &request_hash).await {
                Err(e) => return ApiError(e).into_response(),
                Ok(Claim::Acquired(id)) => break id,
                Ok(Claim::Replay(saved)) => return replay(saved),
                Ok(Claim::Mismatch) => {
                    return ApiError(AppError::Unprocessable {
                        code: "idempotency_key_reused",
                        message: "This Idempotency-Key was already used for a different request."
                            .into(),
                    })
                    .into_response()
                }
                Ok(Claim::InProgress) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(Claim::InProgress) => return ApiError(AppError::Conflict(
                    "A request with this Idempotency-Key is still being processed; retry later."
                        .into(),
                ))
                .into_response(),
            }
        };

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (res_parts, res_body) = response.into_parts();
    let Ok(res_bytes) = to_bytes(res_body, MAX_STORED_RESPONSE).await else {
        let _ = idempotency::release(&ctx.db, id).await;
        return ApiError(AppError::Internal(
            "response too large to store for idempotency".into(),
        ))
        .into_response();
    };
    // Server errors are not an outcome worth remembering: the client should be able to retry.
    if res_parts.status.is_server_error() {
        let _ = idempotency::release(&ctx.db, id).await;
    } else {
        let saved = Saved {
            status: res_parts.status.as_u16(),
            headers: res_parts
                .headers
                .iter()
                .filter(|(n, _)| !n.as_str().starts_with("x-ratelimit"))
                .filter_map(|(n, v)| Some((n.to_string(), v.to_str().ok()?.to_string())))
                .collect(),
            body: res_bytes.to_vec(),
        };
        if let Err(e) = idempotency::complete(&ctx.db, id, &saved).await {
            tracing::error!(error = %e, "could not store idempotent response");
        }
    }
    Response::from_parts(res_parts, Body::from(res_bytes))
}

fn replay(saved: Saved) -> Response {
    let mut res = Response::new(Body::from(saved.body));
    *res.status_mut() = StatusCode::from_u16(saved.status).unwrap_or(StatusCode::OK);
    for (name, value) in saved.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            res.headers_mut().append(n, v);
        }
    }
    res.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    res
}
