//! Table definitions in sea-orm's generated form (`sea-orm-cli generate entity` layout).
//! Behaviour never goes here: it lives in the sibling `models::*` modules.
pub mod prelude;

pub mod addresses;
pub mod api_keys;
pub mod brands;
pub mod cart_items;
pub mod carts;
pub mod categories;
pub mod counters;
pub mod dead_jobs;
pub mod idempotency_keys;
pub mod invoices;
pub mod mail_outbox;
pub mod notifications;
pub mod order_events;
pub mod order_lines;
pub mod orders;
pub mod payment_events;
pub mod product_images;
pub mod product_tags;
pub mod products;
pub mod promo_codes;
pub mod promo_redemptions;
pub mod purchase_order_lines;
pub mod purchase_orders;
pub mod refresh_tokens;
pub mod reviews;
pub mod sessions;
pub mod stock_ledger;
pub mod tags;
pub mod tax_rates;
pub mod transactions;
pub mod user_tokens;
pub mod users;
pub mod variants;
pub mod wishlist_items;
