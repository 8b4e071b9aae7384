//! Presenters: API response shapes and page contexts.
pub mod api;
pub mod catalogue;
pub mod charts;
pub mod countries;
pub mod csv;
pub mod dates;
pub mod money;
pub mod orders;

/// RFC 3339 UTC, as API.md requires for every time.
#[must_use]
pub fn rfc3339(t: &sea_orm::prelude::DateTimeWithTimeZone) -> String {
    t.with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
