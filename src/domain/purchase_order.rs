//! A purchase order's life and the arithmetic of receiving it in parts.
//!
//! `open` → `partially_received` → `received` as deliveries arrive (a delivery that brings
//! everything goes straight to `received`); `open` → `cancelled` for an order sent by mistake,
//! which is only possible while nothing has arrived (stock already counted in cannot be
//! un-ordered; that is a stock adjustment).
use serde::Serialize;

use super::validation::FieldErrors;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PoStatus {
    Open,
    PartiallyReceived,
    Received,
    Cancelled,
}

impl PoStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::PartiallyReceived => "partially_received",
            Self::Received => "received",
            Self::Cancelled => "cancelled",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => Self::Open,
            "partially_received" => Self::PartiallyReceived,
            "received" => Self::Received,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    /// Goods may still arrive.
    #[must_use]
    pub fn awaits_goods(self) -> bool {
        matches!(self, Self::Open | Self::PartiallyReceived)
    }
}

/// What happens to a purchase order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoEvent {
    /// A delivery arrived; `complete` when every line is now in.
    Receive {
        complete: bool,
    },
    Cancel,
}

/// The one transition function: the status after `event`, or the sentence that refuses it
/// (answered as 409).
///
/// # Errors
/// The refusal's message.
pub fn next(from: PoStatus, event: PoEvent) -> Result<PoStatus, String> {
    match (from, event) {
        (PoStatus::Open | PoStatus::PartiallyReceived, PoEvent::Receive { complete }) => {
            Ok(if complete {
                PoStatus::Received
            } else {
                PoStatus::PartiallyReceived
            })
        }
        (PoStatus::Open, PoEvent::Cancel) => Ok(PoStatus::Cancelled),
        (PoStatus::Received, PoEvent::Receive { .. }) => {
            Err("This purchase order has already been received.".into())
        }
        (PoStatus::Cancelled, PoEvent::Receive { .. }) => {
            Err("This purchase order was cancelled: nothing more can be received.".into())
        }
        (PoStatus::PartiallyReceived | PoStatus::Received, PoEvent::Cancel) => Err(
            "Part of this purchase order has been received: it can no longer be cancelled (correct the stock with an adjustment instead)."
                .into(),
        ),
        (PoStatus::Cancelled, PoEvent::Cancel) => {
            Err("This purchase order has already been cancelled.".into())
        }
    }
}

/// A line as the plan sees it: what was ordered and what has arrived of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineState<K> {
    pub variant: K,
    pub ordered: i32,
    pub received: i32,
}

impl<K> LineState<K> {
    #[must_use]
    pub fn remaining(&self) -> i32 {
        (self.ordered - self.received).max(0)
    }
}

/// How many units of each line (by index) a delivery brings. `asked` is `None` for "all that
/// is still to come", or the delivery's `(variant, quantity)` pairs; a variant on several
/// lines fills them in order.
///
/// # Errors
/// Field messages under `lines[i]…` for an unknown variant, a variant named twice, a quantity
/// below 1 or above what is still to come, and under `lines` for an empty delivery.
pub fn plan_receipt<K: PartialEq + Copy>(
    lines: &[LineState<K>],
    asked: Option<&[(Option<K>, i64)]>,
) -> Result<Vec<(usize, i32)>, FieldErrors> {
    let Some(asked) = asked else {
        return Ok(lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.remaining() > 0)
            .map(|(i, l)| (i, l.remaining()))
            .collect());
    };
    let mut errors = FieldErrors::new();
    if asked.is_empty() {
        errors.add("lines", "Name at least one line of the delivery.");
    }
    let mut plan = Vec::new();
    for (i, (variant, quantity)) in asked.iter().enumerate() {
        let Some(variant) = variant else {
            errors.add(
                &format!("lines[{i}].variant_id"),
                "Not a line of this purchase order.",
            );
            continue;
        };
        if asked[..i].iter().any(|(v, _)| v.as_ref() == Some(variant)) {
            errors.add(
                &format!("lines[{i}].variant_id"),
                "Named twice: give one quantity.",
            );
            continue;
        }
        let mine: Vec<usize> = (0..lines.len())
            .filter(|&j| lines[j].variant == *variant)
            .collect();
        if mine.is_empty() {
            errors.add(
                &format!("lines[{i}].variant_id"),
                "Not a line of this purchase order.",
            );
            continue;
        }
        let ordered: i64 = mine.iter().map(|&j| i64::from(lines[j].ordered)).sum();
        let open: i64 = mine.iter().map(|&j| i64::from(lines[j].remaining())).sum();
        if *quantity < 1 {
            errors.add(&format!("lines[{i}].quantity"), "Must be at least 1.");
            continue;
        }
        if *quantity > open {
            errors.add(
                &format!("lines[{i}].quantity"),
                format!("More than was ordered: {open} of {ordered} are still to come."),
            );
            continue;
        }
        let mut left = *quantity;
        for j in mine {
            let take = left.min(i64::from(lines[j].remaining()));
            if take > 0 {
                plan.push((j, i32::try_from(take).unwrap_or(i32::MAX)));
                left -= take;
            }
        }
    }
    errors.into_result()?;
    Ok(plan)
}

/// Whether every line is in once `plan` has been received.
#[must_use]
pub fn complete_after<K>(lines: &[LineState<K>], plan: &[(usize, i32)]) -> bool {
    lines.iter().enumerate().all(|(j, l)| {
        let now: i32 = plan.iter().filter(|(i, _)| *i == j).map(|(_, q)| q).sum();
        l.received + now >= l.ordered
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(variant: u8, ordered: i32, received: i32) -> LineState<u8> {
        LineState {
            variant,
            ordered,
            received,
        }
    }

    #[test]
    fn statuses_move_only_forward() {
        use PoEvent::{Cancel, Receive};
        use PoStatus::*;
        assert_eq!(
            next(Open, Receive { complete: false }),
            Ok(PartiallyReceived)
        );
        assert_eq!(
            next(PartiallyReceived, Receive { complete: true }),
            Ok(Received)
        );
        assert_eq!(next(Open, Receive { complete: true }), Ok(Received));
        assert_eq!(next(Open, Cancel), Ok(Cancelled));
        assert!(next(Received, Receive { complete: true }).is_err());
        assert!(next(Cancelled, Receive { complete: false }).is_err());
        assert!(next(PartiallyReceived, Cancel).is_err());
        assert!(next(Received, Cancel).is_err());
        assert!(next(Cancelled, Cancel).is_err());
        for s in [Open, PartiallyReceived, Received, Cancelled] {
            assert_eq!(PoStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn everything_still_to_come_is_the_default_delivery() {
        let lines = [line(1, 5, 2), line(2, 3, 3), line(3, 4, 0)];
        let plan = plan_receipt(&lines, None).unwrap();
        assert_eq!(plan, vec![(0, 3), (2, 4)]);
        assert!(complete_after(&lines, &plan));
    }

    #[test]
    fn a_part_delivery_is_checked_against_what_is_still_to_come() {
        let lines = [line(1, 5, 2), line(2, 3, 0), line(1, 2, 0)];
        // Variant 1 is on two lines: 3 + 2 still to come, filled in order.
        let plan = plan_receipt(&lines, Some(&[(Some(1), 4)])).unwrap();
        assert_eq!(plan, vec![(0, 3), (2, 1)]);
        assert!(!complete_after(&lines, &plan));
        let err = plan_receipt(&lines, Some(&[(Some(1), 6)])).unwrap_err();
        assert!(err.0["lines[0].quantity"][0].contains("5 of 7"));
        let err = plan_receipt(
            &lines,
            Some(&[
                (Some(9), 1),
                (Some(2), 0),
                (None, 1),
                (Some(2), 1),
                (Some(2), 1),
            ]),
        )
        .unwrap_err();
        assert!(err.0.contains_key("lines[0].variant_id"));
        assert!(err.0.contains_key("lines[1].quantity"));
        assert!(err.0.contains_key("lines[2].variant_id"));
        assert!(err.0.contains_key("lines[4].variant_id"), "named twice");
        assert!(plan_receipt(&lines, Some(&[]))
            .unwrap_err()
            .0
            .contains_key("lines"));
    }
}
