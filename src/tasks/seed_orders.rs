//! `task seed_orders count:<n> [customers:5000] [days:365] password:<p>`: the benchmark's
//! order history (docs/PERFORMANCE.md), written straight into a database that has the bench
//! catalogue and no orders yet.
use async_trait::async_trait;
use loco_rs::{
    app::AppContext,
    task::{Task, TaskInfo, Vars},
    Error, Result,
};

pub struct SeedOrders;

fn number(vars: &Vars, name: &str, default: usize) -> Result<usize> {
    vars.cli.get(name).map_or(Ok(default), |v| {
        v.parse()
            .map_err(|_| Error::string(&format!("{name}: a whole number")))
    })
}

#[async_trait]
impl Task for SeedOrders {
    fn task(&self) -> TaskInfo {
        TaskInfo {
            name: "seed_orders".to_string(),
            detail: "Write a benchmark order history: count:<orders> [customers:5000] \
                     [days:365] password:<the customers' password>"
                .to_string(),
        }
    }

    async fn run(&self, ctx: &AppContext, vars: &Vars) -> Result<()> {
        let count = number(vars, "count", 10_000)?;
        let customers = number(vars, "customers", 5_000)?;
        let days = number(vars, "days", 365)?;
        let password = vars
            .cli
            .get("password")
            .ok_or_else(|| Error::string("password: the customers' password is required"))?;
        let started = std::time::Instant::now();
        let w = crate::models::demo::bench_history::load(
            ctx,
            count,
            customers,
            i64::try_from(days).unwrap_or(365),
            password,
        )
        .await
        .map_err(|e| Error::string(&format!("{e:?}")))?;
        println!(
            "seeded {} customers, {} orders and {} lines in {:.1} s",
            w.customers,
            w.orders,
            w.lines,
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }
}
