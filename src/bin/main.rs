use emporium::app::App;
use loco_rs::cli;
use migration::Migrator;

/// Requests allocate many small, short-lived values from several threads, where glibc's
/// allocator spent a fifth of the CPU time (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> loco_rs::Result<()> {
    cli::main::<App, Migrator>().await
}
