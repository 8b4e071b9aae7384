//! Why an order is refunded: a reason from a short list (what shops report on) and an optional
//! note, kept in the order's timeline.
use super::validation::FieldErrors;

/// The reasons offered to staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundReason {
    RequestedByCustomer,
    Damaged,
    NotDelivered,
    WrongItem,
    Duplicate,
    Fraudulent,
    Other,
}

impl RefundReason {
    pub const ALL: [Self; 7] = [
        Self::RequestedByCustomer,
        Self::Damaged,
        Self::NotDelivered,
        Self::WrongItem,
        Self::Duplicate,
        Self::Fraudulent,
        Self::Other,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RequestedByCustomer => "requested_by_customer",
            Self::Damaged => "damaged",
            Self::NotDelivered => "not_delivered",
            Self::WrongItem => "wrong_item",
            Self::Duplicate => "duplicate",
            Self::Fraudulent => "fraudulent",
            Self::Other => "other",
        }
    }

    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::RequestedByCustomer => "Requested by the customer",
            Self::Damaged => "Arrived damaged",
            Self::NotDelivered => "Not delivered",
            Self::WrongItem => "Wrong item sent",
            Self::Duplicate => "Duplicate order",
            Self::Fraudulent => "Fraudulent order",
            Self::Other => "Other",
        }
    }

    #[must_use]
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == code.trim())
    }
}

/// The reason as the timeline keeps it: a chosen reason (required, as staff give it) and a
/// note (required with "Other").
///
/// # Errors
/// Field messages for a missing or unknown reason and an over-long or missing note.
pub fn staff_reason(code: &str, note: &str) -> Result<String, FieldErrors> {
    let mut errors = FieldErrors::new();
    let reason = RefundReason::parse(code);
    if reason.is_none() {
        errors.add("reason", "Choose why the order is refunded.");
    }
    let note = errors.optional_text("note", note, 200);
    if reason == Some(RefundReason::Other) && note.is_empty() {
        errors.add("note", "Say why, as the reason is \"Other\".");
    }
    errors.into_result()?;
    let label = reason.map_or("", RefundReason::label);
    Ok(if note.is_empty() {
        label.to_string()
    } else {
        format!("{label}: {note}")
    })
}

/// A free-text reason as API clients give it (optional, one line).
///
/// # Errors
/// A field message for an over-long reason.
pub fn api_reason(reason: Option<&str>) -> Result<Option<String>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let text = errors.optional_text("reason", reason.unwrap_or_default(), 200);
    errors.into_result()?;
    Ok(Some(text).filter(|t| !t.is_empty()))
}

/// The most lines one refund may name, and the most units of one line.
pub const MAX_REFUND_LINES: usize = 100;

/// An order line as a refund sees it: what was bought and what was refunded of it already
/// (refunds that went through or are under way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundableLine<K> {
    /// The line's key for the caller (its row id).
    pub id: i32,
    /// How the request names it (the variant's public id).
    pub key: K,
    pub unit_price_cents: i64,
    pub quantity: i32,
    pub refunded_quantity: i32,
}

/// The order's money as a refund sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderMoney {
    pub subtotal_cents: i64,
    pub discount_cents: i64,
    pub shipping_cents: i64,
    pub total_cents: i64,
    /// What was paid (the succeeded payments), the most that can go back.
    pub paid_cents: i64,
    /// What went back already or is on its way back.
    pub refunded_cents: i64,
}

impl OrderMoney {
    /// What can still go back.
    #[must_use]
    pub const fn remaining(self) -> i64 {
        let left = self.paid_cents - self.refunded_cents;
        if left > 0 {
            left
        } else {
            0
        }
    }

    /// What `quantity` units at `unit_price_cents` cost the customer: their share of the
    /// discounted goods, with the tax the order charged on them (PRODUCT.md's rounding: tax
    /// is on the order as a whole, so a line's share of the total is proportional), rounded
    /// half away from zero. Shipping is not part of any line; an amount refund returns it.
    #[must_use]
    pub fn value_of(self, unit_price_cents: i64, quantity: i32) -> i64 {
        let part = i128::from(unit_price_cents.max(0)) * i128::from(quantity.max(0));
        let goods = i128::from((self.subtotal_cents - self.discount_cents).max(0));
        let base = goods + i128::from(self.shipping_cents.max(0));
        let denominator = i128::from(self.subtotal_cents.max(0)) * base;
        if denominator == 0 {
            return 0;
        }
        let numerator = part * goods * i128::from(self.total_cents.max(0));
        i64::try_from((numerator + denominator / 2) / denominator).unwrap_or(i64::MAX)
    }
}

/// What a refund asks for. No lines and no amount: everything that is left.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RefundAsk<K> {
    pub lines: Vec<(K, i64)>,
    pub amount_cents: Option<i64>,
}

/// One line of a planned refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedLine {
    pub line_id: i32,
    pub quantity: i32,
    pub amount_cents: i64,
}

/// A refund that can be made: its lines, its amount, and whether it returns all that is left
/// (then the order is refunded, otherwise partially refunded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundPlan {
    pub lines: Vec<PlannedLine>,
    pub amount_cents: i64,
    pub settles: bool,
}

/// Why a refund cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRefused {
    /// The request itself is wrong (422): unknown lines, quantities, amounts.
    Fields(FieldErrors),
    /// More than is left to refund (409); `remaining_cents` is what could still go back.
    TooMuch { remaining_cents: i64 },
}

/// Plans a refund of `ask` against the order's lines and money; see [`RefundAsk`].
///
/// # Errors
/// [`RefundRefused`]: field messages for lines that are not the order's, repeated, or asked
/// for more units than are left, and for an amount that is not positive; `TooMuch` when the
/// amount is more than what is left of the payment (also when nothing is left).
pub fn plan<K: PartialEq + Copy>(
    lines: &[RefundableLine<K>],
    money: OrderMoney,
    ask: &RefundAsk<K>,
) -> Result<RefundPlan, RefundRefused> {
    let remaining = money.remaining();
    let mut errors = FieldErrors::new();
    let whole = ask.lines.is_empty() && ask.amount_cents.is_none();
    let wanted: Vec<(K, i64)> = if whole {
        lines
            .iter()
            .filter(|l| l.quantity > l.refunded_quantity)
            .map(|l| (l.key, i64::from(l.quantity - l.refunded_quantity)))
            .collect()
    } else {
        ask.lines.clone()
    };
    if ask.lines.len() > MAX_REFUND_LINES {
        errors.add(
            "lines",
            format!("At most {MAX_REFUND_LINES} lines in one refund."),
        );
    }
    let mut planned: Vec<PlannedLine> = Vec::new();
    for (i, (key, quantity)) in wanted.iter().enumerate().take(MAX_REFUND_LINES) {
        let field = format!("lines[{i}]");
        let Some(line) = lines.iter().find(|l| l.key == *key) else {
            errors.add(
                &format!("{field}.variant_id"),
                "This order has no such item.",
            );
            continue;
        };
        if planned.iter().any(|p| p.line_id == line.id) {
            errors.add(
                &format!("{field}.variant_id"),
                "Name each item once, with its whole quantity.",
            );
            continue;
        }
        let left = i64::from(line.quantity - line.refunded_quantity).max(0);
        if *quantity < 1 || *quantity > left {
            errors.add(
                &format!("{field}.quantity"),
                if left == 0 {
                    "Every unit of this item was refunded already.".to_string()
                } else {
                    format!("Refund from 1 to {left} of this item.")
                },
            );
            continue;
        }
        let quantity = i32::try_from(*quantity).unwrap_or(i32::MAX);
        planned.push(PlannedLine {
            line_id: line.id,
            quantity,
            amount_cents: money.value_of(line.unit_price_cents, quantity),
        });
    }
    if let Some(a) = ask.amount_cents {
        if a < 1 {
            errors.add("amount_cents", "The amount must be at least 1.");
        }
    }
    errors.into_result().map_err(RefundRefused::Fields)?;
    let amount = if whole {
        remaining
    } else {
        // Lines alone are worth their share of what was paid, but never more than is left
        // (an earlier refund of an amount may have covered them).
        ask.amount_cents.unwrap_or_else(|| {
            planned
                .iter()
                .map(|p| p.amount_cents)
                .sum::<i64>()
                .min(remaining)
        })
    };
    if amount < 1 || amount > remaining {
        return Err(RefundRefused::TooMuch {
            remaining_cents: remaining,
        });
    }
    Ok(RefundPlan {
        lines: planned,
        amount_cents: amount,
        settles: amount == remaining,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MONEY: OrderMoney = OrderMoney {
        subtotal_cents: 3000,
        discount_cents: 0,
        shipping_cents: 500,
        total_cents: 3500,
        paid_cents: 3500,
        refunded_cents: 0,
    };

    fn lines() -> Vec<RefundableLine<char>> {
        vec![
            RefundableLine {
                id: 1,
                key: 'a',
                unit_price_cents: 1000,
                quantity: 2,
                refunded_quantity: 0,
            },
            RefundableLine {
                id: 2,
                key: 'b',
                unit_price_cents: 1000,
                quantity: 1,
                refunded_quantity: 0,
            },
        ]
    }

    #[test]
    fn a_line_is_worth_its_share_of_the_discounted_taxed_goods() {
        assert_eq!(MONEY.value_of(1000, 1), 1000);
        // 10 % off 3000, tax 20 % on (2700 + 500) added: total 3840. One of 3000 is worth
        // 1000 × 0.9 × 1.2 = 1080.
        let taxed = OrderMoney {
            discount_cents: 300,
            total_cents: 3840,
            paid_cents: 3840,
            ..MONEY
        };
        assert_eq!(taxed.value_of(1000, 1), 1080);
        assert_eq!(taxed.value_of(1000, 3), 3240);
        let free = OrderMoney {
            subtotal_cents: 0,
            ..MONEY
        };
        assert_eq!(free.value_of(1000, 1), 0);
    }

    #[test]
    fn lines_refund_their_value_and_the_last_of_the_money_settles() {
        let one = plan(
            &lines(),
            MONEY,
            &RefundAsk {
                lines: vec![('a', 1)],
                amount_cents: None,
            },
        )
        .unwrap();
        assert_eq!(one.amount_cents, 1000);
        assert_eq!(
            one.lines,
            vec![PlannedLine {
                line_id: 1,
                quantity: 1,
                amount_cents: 1000
            }]
        );
        assert!(!one.settles);
        let rest = plan(
            &lines(),
            OrderMoney {
                refunded_cents: 1000,
                ..MONEY
            },
            &RefundAsk::default(),
        )
        .unwrap();
        assert_eq!(rest.amount_cents, 2500, "the rest, shipping included");
        assert!(rest.settles);
        assert_eq!(rest.lines.len(), 2);
    }

    #[test]
    fn refunds_never_add_up_to_more_than_was_paid() {
        let money = OrderMoney {
            refunded_cents: 3000,
            ..MONEY
        };
        let ask = RefundAsk {
            lines: vec![],
            amount_cents: Some(501),
        };
        assert_eq!(
            plan(&lines(), money, &ask),
            Err(RefundRefused::TooMuch {
                remaining_cents: 500
            })
        );
        let done = OrderMoney {
            refunded_cents: 3500,
            ..MONEY
        };
        assert!(matches!(
            plan(&lines(), done, &RefundAsk::default()),
            Err(RefundRefused::TooMuch { remaining_cents: 0 })
        ));
        // Lines whose money went back with an earlier amount are capped by what is left.
        let capped = plan(
            &lines(),
            money,
            &RefundAsk {
                lines: vec![('b', 1)],
                amount_cents: None,
            },
        )
        .unwrap();
        assert_eq!(capped.amount_cents, 500);
    }

    #[test]
    fn wrong_lines_and_amounts_are_field_errors() {
        let mut ls = lines();
        ls[1].refunded_quantity = 1;
        let ask = RefundAsk {
            lines: vec![('z', 1), ('a', 3), ('b', 1), ('a', 0)],
            amount_cents: Some(0),
        };
        let Err(RefundRefused::Fields(e)) = plan(&ls, MONEY, &ask) else {
            panic!("field errors expected");
        };
        for field in [
            "lines[0].variant_id",
            "lines[1].quantity",
            "lines[2].quantity",
            "lines[3].quantity",
            "amount_cents",
        ] {
            assert!(e.0.contains_key(field), "{field}: {e:?}");
        }
        let twice = RefundAsk {
            lines: vec![('a', 1), ('a', 1)],
            amount_cents: None,
        };
        let Err(RefundRefused::Fields(e)) = plan(&lines(), MONEY, &twice) else {
            panic!("a repeated line is refused");
        };
        assert!(e.0.contains_key("lines[1].variant_id"));
    }

    #[test]
    fn staff_give_a_listed_reason_and_explain_other() {
        assert_eq!(staff_reason("damaged", "").unwrap(), "Arrived damaged");
        assert_eq!(
            staff_reason("damaged", " box crushed ").unwrap(),
            "Arrived damaged: box crushed"
        );
        assert!(staff_reason("", "").unwrap_err().0.contains_key("reason"));
        assert!(staff_reason("because", "")
            .unwrap_err()
            .0
            .contains_key("reason"));
        assert!(staff_reason("other", "")
            .unwrap_err()
            .0
            .contains_key("note"));
        assert!(staff_reason("other", &"x".repeat(201))
            .unwrap_err()
            .0
            .contains_key("note"));
        assert_eq!(api_reason(Some("  ")).unwrap(), None);
        assert_eq!(api_reason(Some("late")).unwrap().as_deref(), Some("late"));
    }
}
