//! `cargo loco task work_jobs`: the Procfile's `worker` process, consuming the Redis queue.
use async_trait::async_trait;
use loco_rs::{
    app::AppContext,
    task::{Task, TaskInfo, Vars},
    Error, Result,
};

use crate::{
    jobs::{redis_queue, Jobs},
    settings::{JobBackendKind, Settings},
};

pub struct WorkJobs;

#[async_trait]
impl Task for WorkJobs {
    fn task(&self) -> TaskInfo {
        TaskInfo {
            name: "work_jobs".to_string(),
            detail: "Run the background job worker for the Redis queue until interrupted"
                .to_string(),
        }
    }

    async fn run(&self, ctx: &AppContext, _vars: &Vars) -> Result<()> {
        if Settings::get(ctx).jobs.backend != JobBackendKind::Redis {
            return Err(Error::string(
                "jobs.backend is not `redis`: jobs already run inside the web process",
            ));
        }
        // SIGTERM as well as ctrl-c: process managers stop workers with SIGTERM, and without
        // a handler it would end the jobs in flight mid-way.
        redis_queue::work(
            Jobs::get(ctx).env().clone(),
            loco_rs::boot::shutdown_signal(),
        )
        .await
        .map_err(|e| Error::string(&e.to_string()))
    }
}
