//! `cargo loco task bench_images [count:40] [size:1600]`: the benchmark's image scenario
//! (docs/PERFORMANCE.md). Uploads `count` generated pictures of `size` × `size` pixels through
//! the normal upload path and waits until the job queue has made every rendition; prints images
//! per second. Needs a migrated database; leaves the products behind (use a scratch database).
use std::time::{Duration, Instant};

use async_trait::async_trait;
use loco_rs::{
    app::AppContext,
    task::{Task, TaskInfo, Vars},
    Error, Result,
};

use crate::{
    domain::catalogue::ProductInput,
    models::{
        actor::Actor,
        catalogue::{
            images::{self, ImageStatus},
            products,
        },
    },
    settings::Settings,
};

pub struct BenchImages;

fn number(vars: &Vars, name: &str, default: u32) -> Result<u32> {
    vars.cli.get(name).map_or(Ok(default), |v| {
        v.parse()
            .map_err(|_| Error::string(&format!("{name}: a whole number")))
    })
}

#[async_trait]
impl Task for BenchImages {
    fn task(&self) -> TaskInfo {
        TaskInfo {
            name: "bench_images".to_string(),
            detail: "Benchmark image renditions: [count:40] [size:1600] pictures through upload and the job queue"
                .to_string(),
        }
    }

    async fn run(&self, ctx: &AppContext, vars: &Vars) -> Result<()> {
        let count = number(vars, "count", 40)?;
        let size = number(vars, "size", 1600)?;
        let fail = |e: crate::errors::AppError| Error::string(&format!("{e:?}"));
        let per_product = u32::try_from(Settings::get(ctx).images.max_per_product).unwrap_or(20);
        let tag = uuid::Uuid::new_v4().simple().to_string();
        // Pictures drawn first: drawing is not what is measured.
        let pictures: Vec<Vec<u8>> = (0..count)
            .map(|i| emporium_imaging::illustration_sized(u64::from(i) * 7919, i % 3, size))
            .collect();
        let started = Instant::now();
        let mut product = String::new();
        let mut product_ids = Vec::new();
        for (i, png) in pictures.into_iter().enumerate() {
            if i % per_product as usize == 0 {
                let draft = ProductInput {
                    name: format!("Image bench {tag} {}", i / per_product as usize),
                    sku: Some(format!(
                        "IMGBENCH-{}-{}",
                        &tag[..8],
                        i / per_product as usize
                    )),
                    price_cents: Some(100),
                    active: true,
                    ..ProductInput::default()
                }
                .parse()
                .map_err(|e| Error::string(&format!("{e:?}")))?;
                let view = products::create(
                    ctx,
                    draft,
                    &products::GroupRefs::default(),
                    &Actor::system("bench"),
                )
                .await
                .map_err(fail)?;
                product = view.id.to_string();
                product_ids.push(product.clone());
            }
            images::upload(ctx, &product, png, "").await.map_err(fail)?;
        }
        let uploaded = started.elapsed();
        // Renditions are made by the job queue's workers; wait until none is pending.
        loop {
            let mut pending = 0;
            for p in &product_ids {
                let view = products::detail(ctx, p, true).await.map_err(fail)?;
                pending += view
                    .images
                    .iter()
                    .filter(|i| i.status == ImageStatus::Pending)
                    .count();
            }
            if pending == 0 {
                break;
            }
            if started.elapsed() > Duration::from_secs(900) {
                return Err(Error::string("renditions did not finish within 15 minutes"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let total = started.elapsed().as_secs_f64();
        println!(
            "image renditions: {count} pictures of {size}x{size} px in {total:.1} s = {:.2} images/s ({} job workers; uploads took {:.1} s)",
            f64::from(count) / total,
            Settings::get(ctx).jobs.workers,
            uploaded.as_secs_f64()
        );
        Ok(())
    }
}
