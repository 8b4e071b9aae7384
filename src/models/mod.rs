//! Use-cases over the database: one function per user-visible action, called by the API
//! handlers, the HTML handlers, tasks and jobs alike.
pub mod _entities;
pub mod accounts;
pub mod actor;
pub mod addresses;
pub mod carts;
pub mod catalogue;
pub mod checkout;
pub mod counters;
pub mod db;
pub mod dead_jobs;
pub mod demo;
pub mod idempotency;
pub mod inventory;
pub mod invoices;
pub mod mail_outbox;
pub mod notifications;
pub mod orders;
pub mod payments;
pub mod promos;
pub mod purchase_orders;
pub mod sessions;
pub mod stock;
pub mod tax_rates;
pub mod tokens;
pub mod users;
