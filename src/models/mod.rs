//! Use-cases over the database: one function per user-visible action, called by the API
//! handlers, the HTML handlers, tasks and jobs alike.
pub mod _entities;
pub mod accounts;
pub mod addresses;
pub mod catalogue;
pub mod db;
pub mod dead_jobs;
pub mod demo;
pub mod idempotency;
pub mod mail_outbox;
pub mod sessions;
pub mod tokens;
pub mod users;
