//! The one integration-test binary (one link step on a 2-core machine).
//! Every test boots the app on a fresh database: SQLite by default, PostgreSQL when
//! `DATABASE_URL=postgres://…` is set (scripts/test runs the suite both ways).
mod concurrency;
mod crash;
mod deployment;
mod e2e;
mod faults;
mod jobs;
mod requests;
mod restarts;
mod support;
mod upgrade;
