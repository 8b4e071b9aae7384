//! Cart and order totals: subtotal, discount, shipping, tax and total, in integer minor units.
//!
//! The rounding rule (PRODUCT.md "Cart, checkout, orders"), applied the same way to carts,
//! orders and invoices:
//!
//! 1. Line totals are exact: `unit_price × quantity`.
//! 2. A percentage discount is computed on the subtotal and rounded half away from zero (to the
//!    nearest cent, .5 up), then capped by the code's maximum; no discount exceeds the subtotal.
//! 3. Shipping is the flat fee unless the discounted subtotal reaches the free-shipping
//!    threshold (nothing to ship, nothing to pay).
//! 4. Tax is computed **once, on the order as a whole** (discounted subtotal plus shipping),
//!    never per line, and rounded half away from zero:
//!    - prices exclude tax: `tax = round(base × rate)`, `total = base + tax`;
//!    - prices include tax: `tax = round(base × rate / (1 + rate))` is the part of the base that
//!      is tax, and `total = base`.
//!
//! Rates are basis points (`2000` = 20 %), so all arithmetic is on integers.
use serde::{Deserialize, Serialize};

/// How the shop enters prices (a shop setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PriceMode {
    /// Prices are net; tax is added on top (B2B, the US).
    #[default]
    TaxExclusive,
    /// Prices are what the shopper pays; tax is shown as included (EU retail).
    TaxInclusive,
}

impl PriceMode {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TaxExclusive => "tax_exclusive",
            Self::TaxInclusive => "tax_inclusive",
        }
    }

    /// The stored text; anything unknown reads as the default.
    #[must_use]
    pub fn parse(s: &str) -> Self {
        if s == "tax_inclusive" {
            Self::TaxInclusive
        } else {
            Self::TaxExclusive
        }
    }
}

/// A promo code's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discount {
    /// A fixed amount off the subtotal.
    Fixed { cents: i64 },
    /// A share of the subtotal in basis points, optionally capped.
    Percent { bp: u32, max_cents: Option<i64> },
}

/// The flat shipping fee and the subtotal from which shipping is free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipping {
    pub fee_cents: i64,
    pub free_from_cents: Option<i64>,
}

impl Shipping {
    /// How much more the goods (after discount) must come to for free shipping; `None` when
    /// shipping is never free, already free, or there is nothing to ship.
    #[must_use]
    pub fn missing_for_free(&self, goods_cents: i64) -> Option<i64> {
        let free = self.free_from_cents?;
        (goods_cents > 0 && goods_cents < free && self.fee_cents > 0).then(|| free - goods_cents)
    }
}

/// One priced line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub unit_price_cents: i64,
    pub quantity: i64,
}

impl Line {
    #[must_use]
    pub const fn total_cents(self) -> i64 {
        self.unit_price_cents.saturating_mul(self.quantity)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub subtotal_cents: i64,
    pub discount_cents: i64,
    pub shipping_cents: i64,
    pub tax_cents: i64,
    pub total_cents: i64,
}

/// `numerator / denominator` rounded half away from zero, for non-negative numerators.
fn div_round(numerator: i128, denominator: i128) -> i64 {
    let q = (numerator + denominator / 2) / denominator;
    i64::try_from(q).unwrap_or(i64::MAX)
}

impl Discount {
    /// The amount this discount takes off `subtotal` (rule 2).
    #[must_use]
    pub fn amount(self, subtotal_cents: i64) -> i64 {
        let subtotal = subtotal_cents.max(0);
        let raw = match self {
            Self::Fixed { cents } => cents.max(0),
            Self::Percent { bp, max_cents } => {
                let off = div_round(i128::from(subtotal) * i128::from(bp), 10_000);
                max_cents.map_or(off, |cap| off.min(cap.max(0)))
            }
        };
        raw.min(subtotal)
    }
}

/// The totals of a cart or order (rules 1–4 above).
#[must_use]
pub fn totals(
    lines: &[Line],
    discount: Option<Discount>,
    shipping: Shipping,
    tax_rate_bp: u32,
    mode: PriceMode,
) -> Totals {
    let subtotal: i64 = lines.iter().map(|l| l.total_cents()).sum();
    let discount = discount.map_or(0, |d| d.amount(subtotal));
    let goods = subtotal - discount;
    let shipping = if lines.is_empty() || shipping.free_from_cents.is_some_and(|free| goods >= free)
    {
        0
    } else {
        shipping.fee_cents.max(0)
    };
    let base = i128::from(goods + shipping);
    let rate = i128::from(tax_rate_bp);
    let (tax, total) = match mode {
        PriceMode::TaxExclusive => {
            let tax = div_round(base * rate, 10_000);
            (tax, goods + shipping + tax)
        }
        PriceMode::TaxInclusive => (div_round(base * rate, 10_000 + rate), goods + shipping),
    };
    Totals {
        subtotal_cents: subtotal,
        discount_cents: discount,
        shipping_cents: shipping,
        tax_cents: tax,
        total_cents: total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIP: Shipping = Shipping {
        fee_cents: 495,
        free_from_cents: Some(5000),
    };

    fn lines(prices: &[(i64, i64)]) -> Vec<Line> {
        prices
            .iter()
            .map(|&(unit_price_cents, quantity)| Line {
                unit_price_cents,
                quantity,
            })
            .collect()
    }

    #[test]
    fn tax_exclusive_totals_add_tax_on_the_whole_order() {
        let t = totals(
            &lines(&[(1999, 2)]),
            None,
            SHIP,
            2000,
            PriceMode::TaxExclusive,
        );
        assert_eq!(t.subtotal_cents, 3998);
        assert_eq!(t.shipping_cents, 495);
        // (3998 + 495) × 20 % = 898.6 → 899
        assert_eq!(t.tax_cents, 899);
        assert_eq!(t.total_cents, 3998 + 495 + 899);
    }

    #[test]
    fn tax_inclusive_totals_show_the_tax_inside_the_price() {
        let t = totals(
            &lines(&[(1200, 1)]),
            None,
            SHIP,
            2000,
            PriceMode::TaxInclusive,
        );
        // 1695 × 2000 / 12000 = 282.5 → 283 (half away from zero)
        assert_eq!(t.tax_cents, 283);
        assert_eq!(t.total_cents, 1695);
        let zero = totals(&lines(&[(1200, 1)]), None, SHIP, 0, PriceMode::TaxInclusive);
        assert_eq!(zero.tax_cents, 0);
    }

    #[test]
    fn per_order_rounding_differs_from_per_line_rounding_as_documented() {
        // Three lines of 0.05 at 10 %: per line 0.005 → 0.01 each (0.03); per order 0.015 → 0.02.
        let t = totals(
            &lines(&[(5, 1), (5, 1), (5, 1)]),
            None,
            Shipping {
                fee_cents: 0,
                free_from_cents: None,
            },
            1000,
            PriceMode::TaxExclusive,
        );
        assert_eq!(t.tax_cents, 2);
    }

    #[test]
    fn discounts_are_rounded_capped_and_never_exceed_the_subtotal() {
        let pct = Discount::Percent {
            bp: 1250,
            max_cents: None,
        };
        assert_eq!(pct.amount(1004), 126); // 125.5 → 126
        let capped = Discount::Percent {
            bp: 5000,
            max_cents: Some(1000),
        };
        assert_eq!(capped.amount(10_000), 1000);
        assert_eq!(Discount::Fixed { cents: 2500 }.amount(1800), 1800);
        assert_eq!(Discount::Fixed { cents: -5 }.amount(1800), 0);
        assert_eq!(
            Discount::Percent {
                bp: 20_000,
                max_cents: None
            }
            .amount(700),
            700
        );
    }

    #[test]
    fn shipping_is_free_from_the_threshold_after_discount_and_absent_for_an_empty_cart() {
        let at = totals(&lines(&[(5000, 1)]), None, SHIP, 0, PriceMode::TaxExclusive);
        assert_eq!(at.shipping_cents, 0);
        let discounted = totals(
            &lines(&[(5000, 1)]),
            Some(Discount::Fixed { cents: 1 }),
            SHIP,
            0,
            PriceMode::TaxExclusive,
        );
        assert_eq!(discounted.shipping_cents, 495, "4999 after the discount");
        assert_eq!(discounted.total_cents, 4999 + 495);
        let empty = totals(&[], None, SHIP, 2000, PriceMode::TaxExclusive);
        assert_eq!(
            empty,
            Totals {
                subtotal_cents: 0,
                discount_cents: 0,
                shipping_cents: 0,
                tax_cents: 0,
                total_cents: 0
            }
        );
    }

    #[test]
    fn large_orders_do_not_overflow() {
        let t = totals(
            &lines(&[(100_000_000_000, 1000)]),
            Some(Discount::Percent {
                bp: 333,
                max_cents: None,
            }),
            SHIP,
            2500,
            PriceMode::TaxInclusive,
        );
        assert_eq!(t.subtotal_cents, 100_000_000_000_000);
        assert!(t.tax_cents > 0 && t.tax_cents < t.total_cents);
    }

    #[test]
    fn the_cart_says_how_much_more_ships_free() {
        let s = Shipping {
            fee_cents: 495,
            free_from_cents: Some(5000),
        };
        assert_eq!(s.missing_for_free(3750), Some(1250));
        assert_eq!(s.missing_for_free(5000), None);
        assert_eq!(s.missing_for_free(0), None, "an empty cart ships nothing");
        let never = Shipping {
            fee_cents: 495,
            free_from_cents: None,
        };
        assert_eq!(never.missing_for_free(100), None);
    }
}
