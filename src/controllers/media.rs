//! `/media/{key}`: objects of the local storage backend, served only with a valid, unexpired
//! signature (`storage::local`). With the S3 backend this route answers 404: browsers fetch
//! presigned URLs from the bucket instead.
use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::Deserialize;

use crate::{errors::AppError, storage};

#[derive(Debug, Deserialize)]
struct Signed {
    expires: i64,
    signature: String,
}

async fn serve(
    State(ctx): State<AppContext>,
    Path(key): Path<String>,
    signed: Result<Query<Signed>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let store = storage::get(&ctx);
    let Some(local) = store.as_local() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let now = chrono::Utc::now().timestamp();
    let Ok(Query(signed)) = signed else {
        return StatusCode::FORBIDDEN.into_response();
    };
    if !local.verify(&key, signed.expires, &signed.signature, now) {
        return StatusCode::FORBIDDEN.into_response();
    }
    match local.read(&key).await {
        Ok(Some(bytes)) => {
            let max_age = (signed.expires - now).max(0);
            let mut res = bytes.into_response();
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(storage::content_type_for(&key)),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("private, max-age={max_age}, immutable"))
            {
                h.insert(header::CACHE_CONTROL, v);
            }
            res
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => crate::errors::ApiError(AppError::internal(e)).into_response(),
    }
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new().add("/media/{*key}", axum::routing::get(serve))
}
