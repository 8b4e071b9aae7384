//! Table definitions in sea-orm's generated form (`sea-orm-cli generate entity` layout).
//! Behaviour never goes here: it lives in the sibling `models::*` modules.
pub mod prelude;

pub mod addresses;
pub mod brands;
pub mod categories;
pub mod dead_jobs;
pub mod idempotency_keys;
pub mod mail_outbox;
pub mod product_images;
pub mod product_tags;
pub mod products;
pub mod refresh_tokens;
pub mod sessions;
pub mod tags;
pub mod user_tokens;
pub mod users;
pub mod variants;
