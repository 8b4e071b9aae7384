//! `GET /_health`: liveness and readiness of the database and the job queue.
//!
//! Ready means the database answers: without it nothing works. A queue that is down (Redis)
//! makes the shop `degraded`, not unready: pages and checkouts go on, the jobs they make wait
//! in the database for the recovery sweeps, and taking every web process out of the load
//! balancer for it would turn a degraded shop into a closed one.
use axum::{extract::State, http::StatusCode, response::IntoResponse, Json};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::Serialize;

use crate::jobs::Jobs;

/// A dependency's state. Only this is shown: the cause goes to the log, not to whoever asks
/// (it can name hosts, users and versions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DependencyState {
    Ok,
    Unavailable,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// The process can serve (its database answers).
    pub ok: bool,
    /// A dependency other than the database is down; work waits for it.
    pub degraded: bool,
    pub database: DependencyState,
    pub queue: DependencyState,
}

fn state<E: std::fmt::Display>(what: &str, result: Result<(), E>) -> DependencyState {
    match result {
        Ok(()) => DependencyState::Ok,
        Err(e) => {
            tracing::error!(error = %e, "health check: {what} unavailable");
            DependencyState::Unavailable
        }
    }
}

#[utoipa::path(get, path = "/_health", tag = "shop",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(ctx): State<AppContext>) -> impl IntoResponse {
    let database = state("database", ctx.db.ping().await);
    let queue = state(
        "queue",
        crate::resilience::QUEUE.call(Jobs::get(&ctx).ping()).await,
    );
    let ok = database == DependencyState::Ok;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Health {
            ok,
            degraded: queue != DependencyState::Ok,
            database,
            queue,
        }),
    )
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new().add("/_health", axum::routing::get(health))
}
