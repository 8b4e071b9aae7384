//! Outgoing webhooks (PRODUCT.md "Integrations"): the events an endpoint can subscribe to, the
//! rules for an endpoint's URL, and the signature every delivery carries.
//!
//! Design:
//! - The signature is Stripe's scheme under our header name: `X-Emporium-Signature:
//!   t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with the endpoint's secret
//!   (the whole `whsec_…` string). Signing the timestamp with the body lets a receiver refuse
//!   replays older than its tolerance.
//! - Which addresses a delivery may reach is decided here for literal IPs; host names are
//!   checked again when they resolve (`models::webhooks`), so a name cannot point the shop at
//!   its own network later.
use std::net::IpAddr;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{order_status::OrderStatus, validation::FieldErrors};

pub const MAX_URL: usize = 2000;
pub const MAX_DESCRIPTION: usize = 200;
pub const SIGNATURE_HEADER: &str = "x-emporium-signature";

/// What an endpoint can subscribe to.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum Event {
    #[serde(rename = "order.created")]
    OrderCreated,
    #[serde(rename = "order.paid")]
    OrderPaid,
    #[serde(rename = "order.shipped")]
    OrderShipped,
    #[serde(rename = "order.completed")]
    OrderCompleted,
    #[serde(rename = "order.cancelled")]
    OrderCancelled,
    #[serde(rename = "order.expired")]
    OrderExpired,
    #[serde(rename = "order.refunded")]
    OrderRefunded,
    #[serde(rename = "product.changed")]
    ProductChanged,
    #[serde(rename = "stock.low")]
    StockLow,
}

impl Event {
    pub const ALL: [Self; 9] = [
        Self::OrderCreated,
        Self::OrderPaid,
        Self::OrderShipped,
        Self::OrderCompleted,
        Self::OrderCancelled,
        Self::OrderExpired,
        Self::OrderRefunded,
        Self::ProductChanged,
        Self::StockLow,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::OrderCreated => "order.created",
            Self::OrderPaid => "order.paid",
            Self::OrderShipped => "order.shipped",
            Self::OrderCompleted => "order.completed",
            Self::OrderCancelled => "order.cancelled",
            Self::OrderExpired => "order.expired",
            Self::OrderRefunded => "order.refunded",
            Self::ProductChanged => "product.changed",
            Self::StockLow => "stock.low",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s.trim())
    }

    /// The event an order reaching `status` reports (`pending` is `order.created`, sent by
    /// checkout itself).
    #[must_use]
    pub const fn for_order(status: OrderStatus) -> Option<Self> {
        match status {
            OrderStatus::Pending => None,
            OrderStatus::Paid => Some(Self::OrderPaid),
            OrderStatus::Shipped => Some(Self::OrderShipped),
            OrderStatus::Completed => Some(Self::OrderCompleted),
            OrderStatus::Cancelled => Some(Self::OrderCancelled),
            OrderStatus::Expired => Some(Self::OrderExpired),
            // Each refund reports `order.refunded` with its amount (`models::refunds`).
            OrderStatus::PartiallyRefunded | OrderStatus::Refunded => None,
        }
    }
}

/// A validated endpoint registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointDraft {
    pub url: String,
    pub description: String,
    pub events: Vec<Event>,
}

/// Checks an endpoint URL: absolute `http`/`https` with a host, no credentials, no fragment;
/// a literal IP must be public unless `allow_private` (development, tests).
fn check_url(errors: &mut FieldErrors, value: &str, allow_private: bool) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.add("url", "This field is required.");
        return String::new();
    }
    if v.len() > MAX_URL {
        errors.add("url", format!("Must be at most {MAX_URL} characters."));
        return v.to_string();
    }
    let Ok(parsed) = url::Url::parse(v) else {
        errors.add(
            "url",
            "Enter an absolute URL such as https://example.com/hooks.",
        );
        return v.to_string();
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        errors.add("url", "Use an http or https URL.");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        errors.add(
            "url",
            "Leave credentials out of the URL; verify the signature instead.",
        );
    }
    if parsed.fragment().is_some() {
        errors.add("url", "A URL with a #fragment cannot be delivered to.");
    }
    match parsed.host() {
        None => errors.add("url", "The URL needs a host."),
        Some(url::Host::Ipv4(ip)) if !allow_private && !is_public(IpAddr::V4(ip)) => {
            errors.add("url", "Deliveries go to public addresses only.");
        }
        Some(url::Host::Ipv6(ip)) if !allow_private && !is_public(IpAddr::V6(ip)) => {
            errors.add("url", "Deliveries go to public addresses only.");
        }
        Some(url::Host::Domain(d)) if !allow_private && is_local_name(d) => {
            errors.add("url", "Deliveries go to public addresses only.");
        }
        Some(_) => {}
    }
    // Parsing may lengthen it (a `/` added to a bare host, escapes): the stored form must fit.
    let normalised = parsed.to_string();
    if normalised.len() > MAX_URL {
        errors.add("url", format!("Must be at most {MAX_URL} characters."));
    }
    normalised
}

/// Subscribed events: at least one, each known, without repeats (sorted).
fn events(errors: &mut FieldErrors, given: &[String]) -> Vec<Event> {
    let mut out = Vec::new();
    for s in given.iter().filter(|s| !s.trim().is_empty()) {
        match Event::parse(s) {
            Some(e) if !out.contains(&e) => out.push(e),
            Some(_) => {}
            None => errors.add("events", format!("Unknown event {s:?}.")),
        }
    }
    if out.is_empty() && !errors.0.contains_key("events") {
        errors.add("events", "Choose at least one event.");
    }
    out.sort();
    out
}

impl EndpointDraft {
    /// # Errors
    /// Messages for `url`, `description` and `events`.
    pub fn parse(
        url_value: &str,
        description: &str,
        event_names: &[String],
        allow_private: bool,
    ) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let draft = Self {
            url: check_url(&mut e, url_value, allow_private),
            description: e.optional_text("description", description, MAX_DESCRIPTION),
            events: events(&mut e, event_names),
        };
        e.into_result()?;
        Ok(draft)
    }
}

/// A partial change of an endpoint; absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<Vec<Event>>,
    pub active: Option<bool>,
}

impl EndpointPatch {
    /// # Errors
    /// Messages for the fields given.
    pub fn parse(
        url_value: Option<&str>,
        description: Option<&str>,
        event_names: Option<&[String]>,
        active: Option<bool>,
        allow_private: bool,
    ) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let patch = Self {
            url: url_value.map(|u| check_url(&mut e, u, allow_private)),
            description: description.map(|d| e.optional_text("description", d, MAX_DESCRIPTION)),
            events: event_names.map(|n| events(&mut e, n)),
            active,
        };
        e.into_result()?;
        Ok(patch)
    }
}

/// Stored form of a subscription list.
#[must_use]
pub fn join_events(events: &[Event]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

#[must_use]
pub fn split_events(stored: &str) -> Vec<Event> {
    stored.split(',').filter_map(Event::parse).collect()
}

/// The `X-Emporium-Signature` value for `body` sent at unix time `t`.
///
/// # Panics
/// Never: HMAC accepts keys of any length.
#[must_use]
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether an address is one deliveries may reach: not loopback, private, link-local (cloud
/// metadata lives there), unspecified, multicast or otherwise reserved.
#[must_use]
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                // Carrier-grade NAT (100.64.0.0/10), IETF protocol assignments (192.0.0.0/24)
                // and benchmarking (198.18.0.0/15).
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            // Addresses that carry an IPv4 address reach that address: judge it instead.
            // IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96, deprecated), NAT64
            // (64:ff9b::/96) and 6to4 (2002::/16).
            let embedded = |hi: u16, lo: u16| {
                IpAddr::V4(std::net::Ipv4Addr::new(
                    (hi >> 8) as u8,
                    (hi & 0xff) as u8,
                    (lo >> 8) as u8,
                    (lo & 0xff) as u8,
                ))
            };
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            if s[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified() {
                return is_public(embedded(s[6], s[7]));
            }
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return is_public(embedded(s[6], s[7]));
            }
            if s[0] == 0x2002 {
                return is_public(embedded(s[1], s[2]));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // Unique local (fc00::/7), link-local (fe80::/10), documentation (2001:db8::/32).
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

fn is_local_name(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "localhost"
        || h.ends_with(".localhost")
        || h.ends_with(".local")
        || h.ends_with(".internal")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body_in_hex() {
        // Reference value computed independently:
        // printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
        let s = signature("whsec_test", 1_700_000_000, br#"{"a":1}"#);
        assert_eq!(
            s,
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
        assert_ne!(s, signature("whsec_other", 1_700_000_000, br#"{"a":1}"#));
        assert_ne!(s, signature("whsec_test", 1_700_000_001, br#"{"a":1}"#));
    }

    #[test]
    fn endpoints_need_a_web_url_and_known_events() {
        let ok = EndpointDraft::parse(
            " https://hooks.example.com/emporium ",
            "ERP",
            &["order.paid".into(), "stock.low".into(), "order.paid".into()],
            false,
        )
        .unwrap();
        assert_eq!(ok.url, "https://hooks.example.com/emporium");
        assert_eq!(ok.events, vec![Event::OrderPaid, Event::StockLow]);

        let bad = EndpointDraft::parse("ftp://x.example.com", "", &["order.lost".into()], false)
            .unwrap_err();
        assert!(bad.0.contains_key("url"));
        assert!(bad.0["events"][0].contains("order.lost"));
        // 2000 characters as sent, 2001 once parsing adds the path's `/`: refused, not cut.
        let host = format!(
            "https://{}.example",
            "a".repeat(MAX_URL - "https://.example".len())
        );
        assert_eq!(host.len(), MAX_URL);
        let long = EndpointDraft::parse(&host, "", &["order.paid".into()], true).unwrap_err();
        assert!(long.0.contains_key("url"));
        let none = EndpointDraft::parse("https://x.example.com", "", &[], false).unwrap_err();
        assert_eq!(none.0["events"], vec!["Choose at least one event."]);
        let creds = EndpointDraft::parse(
            "https://u:p@x.example.com",
            "",
            &["order.paid".into()],
            false,
        )
        .unwrap_err();
        assert!(creds.0["url"][0].contains("credentials"));
    }

    #[test]
    fn private_targets_are_refused_unless_allowed() {
        for u in [
            "http://127.0.0.1:8080/x",
            "http://10.1.2.3/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://localhost:3000/",
            "http://printer.local/",
        ] {
            let e = EndpointDraft::parse(u, "", &["order.paid".into()], false).unwrap_err();
            assert!(e.0["url"][0].contains("public"), "{u}");
            assert!(
                EndpointDraft::parse(u, "", &["order.paid".into()], true).is_ok(),
                "{u}"
            );
        }
        assert!(is_public("93.184.216.34".parse().unwrap()));
        assert!(is_public("2606:2800:220:1::1".parse().unwrap()));
        for private in [
            "::ffff:127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:c0a8:0101::1",
            "2001:db8::1",
            "100.64.1.1",
            "192.0.0.8",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        assert!(
            is_public("64:ff9b::5db8:d822".parse().unwrap()),
            "NAT64 of a public address"
        );
    }

    #[test]
    fn every_order_state_but_pending_and_refunds_has_its_event() {
        for s in OrderStatus::ALL {
            let e = Event::for_order(s);
            // Checkout sends `order.created`; each refund sends `order.refunded` itself.
            let own = matches!(
                s,
                OrderStatus::Pending | OrderStatus::PartiallyRefunded | OrderStatus::Refunded
            );
            assert_eq!(e.is_none(), own, "{s:?}");
            if let Some(e) = e {
                assert_eq!(e.as_str(), format!("order.{}", s.as_str()));
            }
        }
        assert_eq!(split_events(&join_events(&Event::ALL)), Event::ALL.to_vec());
    }
}
