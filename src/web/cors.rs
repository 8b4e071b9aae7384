//! CORS for the JSON API (API.md "General"): a browser on an origin the operator listed in
//! `CORS_ALLOWED_ORIGINS` may call `/api/v1`, preflight included; any other origin gets no
//! CORS headers, so its browser keeps the answer from it. Credentials stay off: the API is
//! called with bearer tokens, never with the shop's cookies, so a listed origin can do no
//! more than any HTTP client with a token. Only the API carries CORS; the HTML shop and admin
//! never do.
use axum::http::{header, HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE_SECS: u64 = 600;

/// Reads the configured list: `scheme://host[:port]` entries, separated by commas or spaces.
///
/// # Errors
/// A sentence naming the first entry that is not an origin (a path, a wildcard, another
/// scheme), so the process refuses to start instead of silently allowing nothing.
pub fn parse_origins(list: &str) -> Result<Vec<HeaderValue>, String> {
    list.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            let bad = || {
                format!(
                    "CORS_ALLOWED_ORIGINS: `{o}` is not an origin like https://shop.example or http://localhost:3000"
                )
            };
            let rest = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"))
                .ok_or_else(bad)?;
            let (host, port) = rest.rsplit_once(':').unwrap_or((rest, ""));
            let host_ok = !host.is_empty()
                && host.len() <= 253
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            let port_ok = port.is_empty() || port.parse::<u16>().is_ok_and(|p| p > 0);
            if !host_ok || !port_ok {
                return Err(bad());
            }
            // Browsers send the origin in lower case.
            HeaderValue::from_str(&o.to_ascii_lowercase()).map_err(|_| bad())
        })
        .collect()
}

/// The API's CORS layer, or `None` when no origin is listed.
#[must_use]
pub fn layer(origins: Vec<HeaderValue>) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("x-cart-token"),
                HeaderName::from_static("x-order-token"),
            ])
            .expose_headers([
                HeaderName::from_static("x-ratelimit-limit"),
                HeaderName::from_static("x-ratelimit-remaining"),
                HeaderName::from_static("x-ratelimit-reset"),
                header::RETRY_AFTER,
                HeaderName::from_static("x-cart-token"),
                HeaderName::from_static("idempotent-replayed"),
                header::LOCATION,
            ])
            .max_age(std::time::Duration::from_secs(PREFLIGHT_MAX_AGE_SECS)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_origins_are_accepted() {
        let ok =
            parse_origins(" https://Shop.example, http://localhost:3000\nhttps://a-b.example ")
                .unwrap();
        assert_eq!(
            ok,
            [
                "https://shop.example",
                "http://localhost:3000",
                "https://a-b.example"
            ]
        );
        assert!(parse_origins("").unwrap().is_empty());
        for bad in [
            "*",
            "shop.example",
            "https://shop.example/",
            "https://shop.example/path",
            "ftp://shop.example",
            "https://",
            "https://shop.example:0",
            "https://shop.example:99999",
            "https://user@shop.example",
        ] {
            assert!(parse_origins(bad).is_err(), "{bad}");
        }
    }
}
