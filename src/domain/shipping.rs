//! Shipping by destination: the rules of a shipping method (which parcels it takes and at what
//! price) and the checks on what an admin enters. Zones only say where a method applies; the
//! database side is `models::shipping`.
use super::{pricing::Shipping, validation::FieldErrors};

/// Highest price, threshold or subtotal bound a method accepts: ten million in major units.
pub const MAX_CENTS: i64 = 1_000_000_000;
/// Heaviest parcel limit a method may name: 10 t.
pub const MAX_WEIGHT_GRAMS: i64 = 10_000_000;
/// Longest delivery time a method may promise.
pub const MAX_DAYS: i64 = 365;
/// Most countries in one zone (there are 249 codes).
pub const MAX_ZONE_COUNTRIES: usize = 249;

/// What decides whether a method takes a parcel, and its price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub price_cents: i64,
    /// Free from this (discounted) subtotal.
    pub free_from_cents: Option<i64>,
    /// Offered only from this subtotal ...
    pub min_subtotal_cents: Option<i64>,
    /// ... and up to this one.
    pub max_subtotal_cents: Option<i64>,
    /// Offered only for parcels up to this weight.
    pub max_weight_grams: Option<i64>,
}

impl Rule {
    /// The price of shipping goods worth `goods_cents` (after discount) weighing
    /// `weight_grams`, or `None` when the method does not take them.
    #[must_use]
    pub fn quote(&self, goods_cents: i64, weight_grams: i64) -> Option<i64> {
        if self.min_subtotal_cents.is_some_and(|min| goods_cents < min)
            || self.max_subtotal_cents.is_some_and(|max| goods_cents > max)
            || self.max_weight_grams.is_some_and(|max| weight_grams > max)
        {
            return None;
        }
        let free = self.free_from_cents.is_some_and(|f| goods_cents >= f);
        Some(if free { 0 } else { self.price_cents.max(0) })
    }

    /// The fee and threshold the totals are computed with (`pricing::totals`).
    #[must_use]
    pub const fn shipping(&self) -> Shipping {
        Shipping {
            fee_cents: self.price_cents,
            free_from_cents: self.free_from_cents,
        }
    }
}

/// A shipping method as an admin enters it (API or form), before checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodInput {
    pub name: String,
    pub carrier: String,
    pub price_cents: i64,
    pub free_from_cents: Option<i64>,
    pub min_subtotal_cents: Option<i64>,
    pub max_subtotal_cents: Option<i64>,
    pub max_weight_grams: Option<i64>,
    pub min_days: Option<i64>,
    pub max_days: Option<i64>,
    pub active: bool,
}

/// A checked shipping method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodDraft {
    pub name: String,
    pub carrier: String,
    pub rule: Rule,
    pub min_days: Option<i32>,
    pub max_days: Option<i32>,
    pub active: bool,
}

fn bounded(e: &mut FieldErrors, field: &str, v: Option<i64>, min: i64, max: i64, what: &str) {
    if v.is_some_and(|v| !(min..=max).contains(&v)) {
        e.add(field, format!("{what} from {min} to {max}."));
    }
}

impl MethodInput {
    /// # Errors
    /// Every field's message at once: a missing name, amounts below zero or too large, a
    /// subtotal range or delivery time whose end comes before its start.
    pub fn parse(self) -> Result<MethodDraft, FieldErrors> {
        let mut e = FieldErrors::new();
        let name = e.text("name", &self.name, 120);
        let carrier = e.optional_text("carrier", &self.carrier, 80);
        let cents = "Minor units";
        bounded(
            &mut e,
            "price_cents",
            Some(self.price_cents),
            0,
            MAX_CENTS,
            cents,
        );
        bounded(
            &mut e,
            "free_from_cents",
            self.free_from_cents,
            0,
            MAX_CENTS,
            cents,
        );
        bounded(
            &mut e,
            "min_subtotal_cents",
            self.min_subtotal_cents,
            0,
            MAX_CENTS,
            cents,
        );
        bounded(
            &mut e,
            "max_subtotal_cents",
            self.max_subtotal_cents,
            0,
            MAX_CENTS,
            cents,
        );
        bounded(
            &mut e,
            "max_weight_grams",
            self.max_weight_grams,
            1,
            MAX_WEIGHT_GRAMS,
            "Grams",
        );
        bounded(&mut e, "min_days", self.min_days, 0, MAX_DAYS, "Days");
        bounded(&mut e, "max_days", self.max_days, 0, MAX_DAYS, "Days");
        if let (Some(min), Some(max)) = (self.min_subtotal_cents, self.max_subtotal_cents) {
            if max < min && !e.0.contains_key("max_subtotal_cents") {
                e.add(
                    "max_subtotal_cents",
                    "Must not be below the minimum subtotal.",
                );
            }
        }
        if let (Some(min), Some(max)) = (self.min_days, self.max_days) {
            if max < min && !e.0.contains_key("max_days") {
                e.add("max_days", "Must not be below the shortest delivery time.");
            }
        }
        e.into_result()?;
        let days = |d: Option<i64>| d.and_then(|d| i32::try_from(d).ok());
        Ok(MethodDraft {
            name,
            carrier,
            rule: Rule {
                price_cents: self.price_cents,
                free_from_cents: self.free_from_cents,
                min_subtotal_cents: self.min_subtotal_cents,
                max_subtotal_cents: self.max_subtotal_cents,
                max_weight_grams: self.max_weight_grams,
            },
            min_days: days(self.min_days),
            max_days: days(self.max_days),
            active: self.active,
        })
    }
}

/// A checked zone: a name and the countries it covers (upper-case, sorted, once each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneDraft {
    pub name: String,
    pub countries: Vec<String>,
}

impl ZoneDraft {
    /// # Errors
    /// A missing name; no country, or a code that is not an assigned ISO 3166-1 country.
    pub fn parse(name: &str, countries: &[String]) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let name = e.text("name", name, 120);
        let mut codes: Vec<String> = countries
            .iter()
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
            .collect();
        codes.sort_unstable();
        codes.dedup();
        if codes.is_empty() {
            e.add("countries", "Name at least one country.");
        } else if codes.len() > MAX_ZONE_COUNTRIES {
            e.add("countries", "Too many countries.");
        }
        for c in &codes {
            if let Some(problem) = super::countries::problem(c) {
                e.add("countries", format!("{c}: {problem}"));
            }
        }
        e.into_result()?;
        Ok(Self {
            name,
            countries: codes,
        })
    }
}

/// How a delivery time reads: "1–2 days", "3 days", or nothing when the method names none.
#[must_use]
pub fn delivery_days(min: Option<i32>, max: Option<i32>) -> String {
    let days = |n: i32| if n == 1 { "day" } else { "days" };
    match (min, max) {
        (Some(a), Some(b)) if a == b => format!("{a} {}", days(a)),
        (Some(a), Some(b)) => format!("{a}–{b} {}", days(b)),
        (Some(a), None) => format!("from {a} {}", days(a)),
        (None, Some(b)) => format!("up to {b} {}", days(b)),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPRESS: Rule = Rule {
        price_cents: 990,
        free_from_cents: Some(10_000),
        min_subtotal_cents: Some(1_000),
        max_subtotal_cents: Some(50_000),
        max_weight_grams: Some(5_000),
    };

    #[test]
    fn a_rule_prices_the_parcels_it_takes_and_refuses_the_others() {
        assert_eq!(EXPRESS.quote(2_000, 1_000), Some(990));
        assert_eq!(
            EXPRESS.quote(10_000, 1_000),
            Some(0),
            "free from the threshold"
        );
        assert_eq!(EXPRESS.quote(999, 0), None, "below the range");
        assert_eq!(
            EXPRESS.quote(1_000, 5_000),
            Some(990),
            "bounds are inclusive"
        );
        assert_eq!(EXPRESS.quote(50_001, 0), None, "above the range");
        assert_eq!(EXPRESS.quote(2_000, 5_001), None, "too heavy");
        let open = Rule {
            price_cents: 495,
            free_from_cents: None,
            min_subtotal_cents: None,
            max_subtotal_cents: None,
            max_weight_grams: None,
        };
        assert_eq!(open.quote(1_000_000, 1_000_000), Some(495));
    }

    #[test]
    fn a_method_is_checked_field_by_field() {
        let ok = MethodInput {
            name: " Express ".into(),
            carrier: "DHL".into(),
            price_cents: 990,
            min_days: Some(1),
            max_days: Some(2),
            active: true,
            ..MethodInput::default()
        }
        .parse()
        .unwrap();
        assert_eq!(ok.name, "Express");
        assert_eq!((ok.min_days, ok.max_days), (Some(1), Some(2)));
        let bad = MethodInput {
            price_cents: -1,
            min_subtotal_cents: Some(5_000),
            max_subtotal_cents: Some(1_000),
            max_weight_grams: Some(0),
            min_days: Some(5),
            max_days: Some(400),
            ..MethodInput::default()
        }
        .parse()
        .unwrap_err();
        let fields: Vec<_> = bad.0.into_keys().collect();
        assert_eq!(
            fields,
            [
                "max_days",
                "max_subtotal_cents",
                "max_weight_grams",
                "name",
                "price_cents"
            ]
        );
    }

    #[test]
    fn a_zone_keeps_each_country_once_and_refuses_unknown_codes() {
        let z = ZoneDraft::parse("EU", &["at".into(), "DE".into(), " de ".into()]).unwrap();
        assert_eq!(z.countries, ["AT", "DE"]);
        let e = ZoneDraft::parse("", &["ZZ".into()]).unwrap_err();
        assert!(e.0.contains_key("name") && e.0.contains_key("countries"));
        assert!(ZoneDraft::parse("None", &[])
            .unwrap_err()
            .0
            .contains_key("countries"));
    }

    #[test]
    fn delivery_times_read_as_people_say_them() {
        assert_eq!(delivery_days(Some(1), Some(2)), "1–2 days");
        assert_eq!(delivery_days(Some(1), Some(1)), "1 day");
        assert_eq!(delivery_days(None, Some(5)), "up to 5 days");
        assert_eq!(delivery_days(None, None), "");
    }
}
