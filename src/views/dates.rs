//! Times as people read them: "3 Dec 2026, 08:37 UTC", or "5 minutes ago" for what just
//! happened. Templates use them as the `when` and `ago` filters on RFC 3339 strings (inside a
//! `<time datetime>` that keeps the exact value).
use chrono::{DateTime, Utc};

/// "2026-12-03T08:37:12Z" → "3 Dec 2026, 08:37 UTC"; anything else is shown as it is.
#[must_use]
pub fn when(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339).map_or_else(
        |_| rfc3339.to_string(),
        |t| {
            t.with_timezone(&Utc)
                .format("%-d %b %Y, %H:%M UTC")
                .to_string()
        },
    )
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit} ago")
    } else {
        format!("{n} {unit}s ago")
    }
}

/// How long before `now`: "just now", "5 minutes ago", "3 hours ago", "2 days ago"; from a
/// week on (and for the future) the date itself.
#[must_use]
pub fn ago(rfc3339: &str, now: DateTime<Utc>) -> String {
    let Ok(t) = DateTime::parse_from_rfc3339(rfc3339) else {
        return rfc3339.to_string();
    };
    let secs = (now - t.with_timezone(&Utc)).num_seconds();
    match secs {
        s if s < -60 => when(rfc3339),
        s if s < 60 => "just now".into(),
        s if s < 3_600 => plural(s / 60, "minute"),
        s if s < 86_400 => plural(s / 3_600, "hour"),
        s if s < 7 * 86_400 => plural(s / 86_400, "day"),
        _ => when(rfc3339),
    }
}

/// Registers the `when` and `ago` filters.
pub fn register(tera: &mut tera::Tera) {
    tera.register_filter("when", |v: &str, _: tera::Kwargs, _: &tera::State| when(v));
    tera.register_filter("ago", |v: &str, _: tera::Kwargs, _: &tera::State| {
        ago(v, Utc::now())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_dates_or_as_time_ago() {
        assert_eq!(when("2026-12-03T08:37:12Z"), "3 Dec 2026, 08:37 UTC");
        assert_eq!(when("2026-12-03T09:37:12+01:00"), "3 Dec 2026, 08:37 UTC");
        assert_eq!(when("not a time"), "not a time");
        let now = DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(ago("2026-12-03T11:59:30Z", now), "just now");
        assert_eq!(ago("2026-12-03T11:55:00Z", now), "5 minutes ago");
        assert_eq!(ago("2026-12-03T11:00:00Z", now), "1 hour ago");
        assert_eq!(ago("2026-12-01T12:00:00Z", now), "2 days ago");
        assert_eq!(ago("2026-11-01T12:00:00Z", now), "1 Nov 2026, 12:00 UTC");
    }
}
