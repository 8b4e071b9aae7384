//! `cargo loco task <name>`: thin wrappers over model functions, also run by the scheduler.
pub mod bench_images;
pub mod create_user;
pub mod maintenance;
pub mod orders;
pub mod seed_bench;
pub mod seed_orders;
pub mod work_jobs;
