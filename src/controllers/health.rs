//! `GET /_health`: liveness and readiness of the database and the job queue.
use axum::{extract::State, http::StatusCode, response::IntoResponse, Json};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::Serialize;

use crate::jobs::Jobs;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub ok: bool,
    pub database: String,
    pub queue: String,
}

#[utoipa::path(get, path = "/_health", tag = "shop",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(ctx): State<AppContext>) -> impl IntoResponse {
    let database = match ctx.db.ping().await {
        Ok(()) => "ok".to_string(),
        Err(e) => format!("error: {e}"),
    };
    let jobs = Jobs::get(&ctx);
    let queue = match jobs.ping().await {
        Ok(()) => format!("ok ({})", jobs.backend_name()),
        Err(e) => format!("error: {e}"),
    };
    let ok = database == "ok" && queue.starts_with("ok");
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Health {
            ok,
            database,
            queue,
        }),
    )
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new().add("/_health", axum::routing::get(health))
}
