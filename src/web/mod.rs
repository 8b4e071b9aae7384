//! HTTP plumbing shared by the API and the pages: extractors, middleware, pagination.
pub mod api_middleware;
pub mod client_ip;
pub mod csrf;
pub mod extract;
pub mod html;
pub mod idempotency;
pub mod pagination;
pub mod rate_limit;
pub mod upload;
