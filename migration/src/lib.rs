//! Schema migrations. Every migration runs on SQLite (the embedded default) and PostgreSQL,
//! so only portable column types are used: integer money, UUID ids, timestamptz (text on SQLite).
#![allow(elided_lifetimes_in_paths)]
#![allow(clippy::wildcard_imports)]
pub use sea_orm_migration::prelude::*;

mod m20261122_000001_accounts;
mod m20261122_000002_platform;
mod m20261122_000003_catalogue;
mod m20261201_000004_orders;
mod m20261201_000005_payments;
mod m20261201_000006_reviews;
mod m20261201_000007_api_keys;
mod m20261202_000008_integrations;
mod m20261203_000009_security;
mod m20261203_000010_address_recipient;
mod m20261203_000011_idempotency_lease;
mod m20261203_000012_idempotency_answer;
mod m20261203_000013_address_book;
mod m20261204_000014_shipping;
mod m20261204_000015_guest_orders;
mod m20261204_000016_order_events_created;
mod m20261204_000017_refunds;
mod m20261205_000018_back_office;
mod m20261205_000019_email_change;
mod m20261205_000020_audit_log;
mod m20261205_000021_closed_accounts;
mod m20261206_000022_order_summaries;
mod m20261206_000023_order_keyset;
mod m20261206_000024_order_emails;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_accounts::Migration),
            Box::new(m20261122_000002_platform::Migration),
            Box::new(m20261122_000003_catalogue::Migration),
            Box::new(m20261201_000004_orders::Migration),
            Box::new(m20261201_000005_payments::Migration),
            Box::new(m20261201_000006_reviews::Migration),
            Box::new(m20261201_000007_api_keys::Migration),
            Box::new(m20261202_000008_integrations::Migration),
            Box::new(m20261203_000009_security::Migration),
            Box::new(m20261203_000010_address_recipient::Migration),
            Box::new(m20261203_000011_idempotency_lease::Migration),
            Box::new(m20261203_000012_idempotency_answer::Migration),
            Box::new(m20261203_000013_address_book::Migration),
            Box::new(m20261204_000014_shipping::Migration),
            Box::new(m20261204_000015_guest_orders::Migration),
            Box::new(m20261204_000016_order_events_created::Migration),
            Box::new(m20261204_000017_refunds::Migration),
            Box::new(m20261205_000018_back_office::Migration),
            Box::new(m20261205_000019_email_change::Migration),
            Box::new(m20261205_000020_audit_log::Migration),
            Box::new(m20261205_000021_closed_accounts::Migration),
            Box::new(m20261206_000022_order_summaries::Migration),
            Box::new(m20261206_000023_order_keyset::Migration),
            Box::new(m20261206_000024_order_emails::Migration),
        ]
    }
}
