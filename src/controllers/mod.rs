//! HTTP handlers. Each one extracts input, makes one call into `models`, and renders.
pub mod admin;
pub mod api;
pub mod health;
pub mod media;
pub mod shop;
