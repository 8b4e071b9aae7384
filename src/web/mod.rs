//! HTTP plumbing shared by the API and the pages: extractors, middleware, pagination.
pub mod api_middleware;
pub mod client_ip;
pub mod cors;
pub mod csrf;
pub mod deadline;
pub mod extract;
pub mod html;
pub mod idempotency;
pub mod pagination;
pub mod rate_limit;
pub mod session_cookie;
pub mod upload;

/// The value of the cookie `name` the request sent, if any.
#[must_use]
pub fn cookie<'r>(req: &'r axum::extract::Request, name: &str) -> Option<&'r str> {
    req.headers()
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}
