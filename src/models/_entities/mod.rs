//! Table definitions in sea-orm's generated form (`sea-orm-cli generate entity` layout).
//! Behaviour never goes here: it lives in the sibling `models::*` modules.
pub mod prelude;

pub mod addresses;
pub mod dead_jobs;
pub mod idempotency_keys;
pub mod mail_outbox;
pub mod refresh_tokens;
pub mod sessions;
pub mod user_tokens;
pub mod users;
