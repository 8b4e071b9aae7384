//! Promo code rules (PRODUCT.md "Cart, checkout, orders"): what a code is, whether it applies
//! to a cart right now, and how much it takes off. Pure: the model layer loads the code and
//! the customer's usage, and enforces the usage limits atomically when an order is placed.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{pricing::Discount, validation::FieldErrors};

pub const MAX_CODE_LEN: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PromoKind {
    /// `value` is an amount in minor units.
    Fixed,
    /// `value` is a share in basis points (`1500` = 15 %), optionally capped.
    Percent,
}

impl PromoKind {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Fixed => "fixed",
            Self::Percent => "percent",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "fixed" => Some(Self::Fixed),
            "percent" => Some(Self::Percent),
            _ => None,
        }
    }
}

/// A promo code as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoRules {
    pub kind: PromoKind,
    pub value: i64,
    pub max_discount_cents: Option<i64>,
    pub min_subtotal_cents: Option<i64>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub usage_limit: Option<i32>,
    pub per_customer_limit: Option<i32>,
    pub used_count: i32,
    pub active: bool,
}

/// Why a code does not apply; each reads as a sentence for the shopper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PromoRejection {
    #[error("This code does not exist or is no longer active.")]
    Unknown,
    #[error("This code is not valid yet.")]
    NotStarted,
    #[error("This code has expired.")]
    Ended,
    #[error("This code needs a subtotal of at least {0} minor units.")]
    BelowMinimum(i64),
    #[error("This code has been used up.")]
    UsedUp,
    #[error("You have already used this code as often as it allows.")]
    CustomerLimit,
}

impl PromoRules {
    #[must_use]
    pub const fn discount(&self) -> Discount {
        match self.kind {
            PromoKind::Fixed => Discount::Fixed { cents: self.value },
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            PromoKind::Percent => Discount::Percent {
                bp: self.value as u32,
                max_cents: self.max_discount_cents,
            },
        }
    }

    /// Whether the code applies at `now` to a cart with `subtotal_cents`, for a customer who
    /// has used it `customer_uses` times (`None` for a guest, whose limit is checked at
    /// checkout once they are known).
    ///
    /// # Errors
    /// The first rule the code breaks.
    pub fn check(
        &self,
        now: DateTime<Utc>,
        subtotal_cents: i64,
        customer_uses: Option<i64>,
    ) -> Result<Discount, PromoRejection> {
        if !self.active {
            return Err(PromoRejection::Unknown);
        }
        if self.starts_at.is_some_and(|s| now < s) {
            return Err(PromoRejection::NotStarted);
        }
        if self.ends_at.is_some_and(|e| now >= e) {
            return Err(PromoRejection::Ended);
        }
        if let Some(min) = self.min_subtotal_cents {
            if subtotal_cents < min {
                return Err(PromoRejection::BelowMinimum(min));
            }
        }
        if self.usage_limit.is_some_and(|l| self.used_count >= l) {
            return Err(PromoRejection::UsedUp);
        }
        if let (Some(limit), Some(uses)) = (self.per_customer_limit, customer_uses) {
            if uses >= i64::from(limit) {
                return Err(PromoRejection::CustomerLimit);
            }
        }
        Ok(self.discount())
    }
}

/// Codes are matched case-insensitively and stored upper-case.
#[must_use]
pub fn normalise_code(code: &str) -> String {
    code.trim().to_uppercase()
}

/// A promo code as an admin enters it (API or form), not yet validated.
#[derive(Debug, Clone, Default)]
pub struct PromoInput {
    pub code: String,
    pub kind: String,
    pub value: i64,
    pub max_discount_cents: Option<i64>,
    pub min_subtotal_cents: Option<i64>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub usage_limit: Option<i64>,
    pub per_customer_limit: Option<i64>,
    pub active: bool,
}

/// A validated promo code definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoDraft {
    pub code: String,
    pub kind: PromoKind,
    pub value: i64,
    pub max_discount_cents: Option<i64>,
    pub min_subtotal_cents: Option<i64>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub usage_limit: Option<i32>,
    pub per_customer_limit: Option<i32>,
    pub active: bool,
}

fn optional_count(errors: &mut FieldErrors, field: &str, v: Option<i64>) -> Option<i32> {
    let v = v?;
    match i32::try_from(v) {
        Ok(n) if n >= 1 => Some(n),
        _ => {
            errors.add(field, "Must be a whole number of at least 1.");
            None
        }
    }
}

fn optional_cents(errors: &mut FieldErrors, field: &str, v: Option<i64>) -> Option<i64> {
    let v = v?;
    if !(0..=super::catalogue::MAX_PRICE_CENTS).contains(&v) {
        errors.add(field, "Must be an amount between 0 and the price limit.");
    }
    Some(v)
}

impl TryFrom<PromoInput> for PromoDraft {
    type Error = FieldErrors;

    fn try_from(i: PromoInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let code = normalise_code(&i.code);
        if code.is_empty() {
            errors.add("code", "This field is required.");
        } else if code.chars().count() > MAX_CODE_LEN
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            errors.add(
                "code",
                format!("Use up to {MAX_CODE_LEN} letters, digits, - and _."),
            );
        }
        let kind = PromoKind::parse(i.kind.trim());
        match kind {
            None => errors.add("kind", "Must be fixed or percent."),
            Some(PromoKind::Percent) if !(1..=10_000).contains(&i.value) => errors.add(
                "value",
                "A percentage is given in basis points, from 1 (0.01 %) to 10000 (100 %).",
            ),
            Some(PromoKind::Fixed)
                if !(1..=super::catalogue::MAX_PRICE_CENTS).contains(&i.value) =>
            {
                errors.add("value", "A fixed amount must be at least 1 minor unit.");
            }
            Some(_) => {}
        }
        if kind == Some(PromoKind::Fixed) && i.max_discount_cents.is_some() {
            errors.add(
                "max_discount_cents",
                "Only percentage codes have a maximum discount.",
            );
        }
        let max_discount_cents =
            optional_cents(&mut errors, "max_discount_cents", i.max_discount_cents);
        let min_subtotal_cents =
            optional_cents(&mut errors, "min_subtotal_cents", i.min_subtotal_cents);
        if let (Some(s), Some(e)) = (i.starts_at, i.ends_at) {
            if e <= s {
                errors.add("ends_at", "Must be after the start.");
            }
        }
        let usage_limit = optional_count(&mut errors, "usage_limit", i.usage_limit);
        let per_customer_limit =
            optional_count(&mut errors, "per_customer_limit", i.per_customer_limit);
        errors.into_result()?;
        Ok(Self {
            code,
            kind: kind.unwrap_or(PromoKind::Fixed),
            value: i.value,
            max_discount_cents,
            min_subtotal_cents,
            starts_at: i.starts_at,
            ends_at: i.ends_at,
            usage_limit,
            per_customer_limit,
            active: i.active,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn rules() -> PromoRules {
        PromoRules {
            kind: PromoKind::Percent,
            value: 1000,
            max_discount_cents: Some(500),
            min_subtotal_cents: Some(2000),
            starts_at: None,
            ends_at: None,
            usage_limit: Some(2),
            per_customer_limit: Some(1),
            used_count: 0,
            active: true,
        }
    }

    #[test]
    fn a_code_applies_inside_its_window_above_its_minimum_and_within_its_limits() {
        let now = Utc::now();
        let r = rules();
        assert_eq!(
            r.check(now, 10_000, Some(0)),
            Ok(Discount::Percent {
                bp: 1000,
                max_cents: Some(500)
            })
        );
        assert_eq!(
            r.check(now, 1999, None),
            Err(PromoRejection::BelowMinimum(2000))
        );
        assert_eq!(
            r.check(now, 5000, Some(1)),
            Err(PromoRejection::CustomerLimit)
        );
        let used = PromoRules {
            used_count: 2,
            ..rules()
        };
        assert_eq!(used.check(now, 5000, None), Err(PromoRejection::UsedUp));
        let later = PromoRules {
            starts_at: Some(now + Duration::hours(1)),
            ..rules()
        };
        assert_eq!(
            later.check(now, 5000, None),
            Err(PromoRejection::NotStarted)
        );
        let over = PromoRules {
            ends_at: Some(now),
            ..rules()
        };
        assert_eq!(over.check(now, 5000, None), Err(PromoRejection::Ended));
        let off = PromoRules {
            active: false,
            ..rules()
        };
        assert_eq!(off.check(now, 5000, None), Err(PromoRejection::Unknown));
    }

    #[test]
    fn drafts_are_normalised_and_every_bad_field_is_reported() {
        let d = PromoDraft::try_from(PromoInput {
            code: " summer-10 ".into(),
            kind: "percent".into(),
            value: 1000,
            max_discount_cents: Some(2500),
            active: true,
            ..PromoInput::default()
        })
        .unwrap();
        assert_eq!(d.code, "SUMMER-10");
        assert_eq!(d.kind, PromoKind::Percent);
        let now = Utc::now();
        let err = PromoDraft::try_from(PromoInput {
            code: "no spaces!".into(),
            kind: "fixed".into(),
            value: 0,
            max_discount_cents: Some(5),
            starts_at: Some(now),
            ends_at: Some(now),
            usage_limit: Some(0),
            ..PromoInput::default()
        })
        .unwrap_err();
        let fields: Vec<_> = err.0.keys().cloned().collect();
        assert_eq!(
            fields,
            [
                "code",
                "ends_at",
                "max_discount_cents",
                "usage_limit",
                "value"
            ]
        );
        let pct = PromoDraft::try_from(PromoInput {
            code: "X".into(),
            kind: "percent".into(),
            value: 10_001,
            ..PromoInput::default()
        })
        .unwrap_err();
        assert!(pct.0.contains_key("value"));
    }
}
