//! `cargo loco task seed_bench [count:5000]`: the benchmark's catalogue (bench/README.md).
use async_trait::async_trait;
use loco_rs::{
    app::AppContext,
    task::{Task, TaskInfo, Vars},
    Error, Result,
};

pub struct SeedBench;

#[async_trait]
impl Task for SeedBench {
    fn task(&self) -> TaskInfo {
        TaskInfo {
            name: "seed_bench".to_string(),
            detail: "Load the benchmark catalogue into an empty database: [count:5000] products"
                .to_string(),
        }
    }

    async fn run(&self, ctx: &AppContext, vars: &Vars) -> Result<()> {
        let count = match vars.cli.get("count") {
            None => 5000,
            Some(c) => c
                .parse()
                .map_err(|_| Error::string("count: a whole number"))?,
        };
        let started = std::time::Instant::now();
        let n = crate::models::demo::catalogue::load_bench_catalogue(ctx, count)
            .await
            .map_err(|e| Error::string(&format!("{e:?}")))?;
        println!(
            "seeded {n} products in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }
}
