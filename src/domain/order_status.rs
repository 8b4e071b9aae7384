//! The order state machine (PRODUCT.md "Cart, checkout, orders"): the one place that says which
//! transitions exist. The API, the admin pages, the expiry job and the payment webhooks all
//! ask [`OrderStatus::apply`].
//!
//! ```text
//! pending ──pay──▶ paid ──ship──▶ shipped ──complete──▶ completed
//! pending ──cancel──▶ cancelled ◀──cancel (with a refund)── paid
//! pending ──expire──▶ expired
//! paid | shipped | completed | partially_refunded ──refund──▶ refunded
//! paid | shipped | completed | partially_refunded ──refund_part──▶ partially_refunded
//! partially_refunded ──ship──▶ shipped ──complete──▶ completed
//! ```
//!
//! A partial refund does not stop fulfilment: what was not refunded is still shipped (the
//! order model refuses shipping twice, or completing what never shipped, by `shipped_at`).
use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Created at checkout, stock reserved, awaiting payment until `expires_at`.
    Pending,
    Paid,
    Shipped,
    Completed,
    Cancelled,
    Expired,
    /// Some of the payment went back; the rest of the order stands.
    PartiallyRefunded,
    Refunded,
}

/// What can happen to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderEvent {
    Pay,
    Ship,
    Complete,
    /// By the customer or an admin while pending; by an admin once paid (with a refund).
    Cancel,
    /// The unpaid order's reservation ran out.
    Expire,
    /// Everything that was paid and is left goes back.
    Refund,
    /// Part of what was paid goes back.
    RefundPart,
}

/// A transition the state machine does not have (API.md: 409 `invalid_transition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("An order that is {from} cannot be {}.", event.past_tense())]
pub struct InvalidTransition {
    pub from: OrderStatus,
    pub event: OrderEvent,
}

impl OrderStatus {
    /// Whether an order in this status counts as a sale (paid and not wholly given back; a
    /// partly refunded order counts for what it kept).
    #[must_use]
    pub const fn is_sale(self) -> bool {
        matches!(
            self,
            Self::Paid | Self::Shipped | Self::Completed | Self::PartiallyRefunded
        )
    }

    /// The names of the statuses that count as sales, for queries.
    #[must_use]
    pub fn sale_names() -> Vec<&'static str> {
        Self::ALL
            .iter()
            .filter(|s| s.is_sale())
            .map(|s| s.as_str())
            .collect()
    }

    pub const ALL: [Self; 8] = [
        Self::Pending,
        Self::Paid,
        Self::Shipped,
        Self::Completed,
        Self::Cancelled,
        Self::Expired,
        Self::PartiallyRefunded,
        Self::Refunded,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Shipped => "shipped",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::PartiallyRefunded => "partially_refunded",
            Self::Refunded => "refunded",
        }
    }

    /// The state after `event`, or why it cannot happen.
    ///
    /// # Errors
    /// [`InvalidTransition`] for every pair the state machine does not list.
    pub const fn apply(self, event: OrderEvent) -> Result<Self, InvalidTransition> {
        use OrderEvent as E;
        match (self, event) {
            (Self::Pending, E::Pay) => Ok(Self::Paid),
            (Self::Pending | Self::Paid, E::Cancel) => Ok(Self::Cancelled),
            (Self::Pending, E::Expire) => Ok(Self::Expired),
            (Self::Paid | Self::PartiallyRefunded, E::Ship) => Ok(Self::Shipped),
            (Self::Shipped | Self::PartiallyRefunded, E::Complete) => Ok(Self::Completed),
            (Self::Paid | Self::Shipped | Self::Completed | Self::PartiallyRefunded, E::Refund) => {
                Ok(Self::Refunded)
            }
            (
                Self::Paid | Self::Shipped | Self::Completed | Self::PartiallyRefunded,
                E::RefundPart,
            ) => Ok(Self::PartiallyRefunded),
            (from, event) => Err(InvalidTransition { from, event }),
        }
    }

    /// Whether the order still holds reserved (not yet sold) stock.
    #[must_use]
    pub const fn holds_reservation(self) -> bool {
        matches!(self, Self::Pending)
    }

    /// No transition leaves these.
    #[must_use]
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Cancelled | Self::Expired | Self::Refunded)
    }
}

impl OrderEvent {
    pub const ALL: [Self; 7] = [
        Self::Pay,
        Self::Ship,
        Self::Complete,
        Self::Cancel,
        Self::Expire,
        Self::Refund,
        Self::RefundPart,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pay => "pay",
            Self::Ship => "ship",
            Self::Complete => "complete",
            Self::Cancel => "cancel",
            Self::Expire => "expire",
            Self::Refund => "refund",
            Self::RefundPart => "refund_part",
        }
    }

    const fn past_tense(self) -> &'static str {
        match self {
            Self::Pay => "paid",
            Self::Ship => "shipped",
            Self::Complete => "completed",
            Self::Cancel => "cancelled",
            Self::Expire => "expired",
            Self::Refund => "refunded",
            Self::RefundPart => "partly refunded",
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for OrderStatus {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or("Unknown order status.")
    }
}

#[cfg(test)]
mod tests {
    use super::{OrderEvent as E, OrderStatus as S, *};

    const EVENTS: [E; 7] = E::ALL;

    #[test]
    fn sales_are_paid_orders_not_wholly_given_back() {
        assert_eq!(
            S::sale_names(),
            ["paid", "shipped", "completed", "partially_refunded"]
        );
    }

    #[test]
    fn exactly_the_documented_transitions_exist() {
        let allowed = [
            (S::Pending, E::Pay, S::Paid),
            (S::Pending, E::Cancel, S::Cancelled),
            (S::Pending, E::Expire, S::Expired),
            (S::Paid, E::Ship, S::Shipped),
            (S::Paid, E::Cancel, S::Cancelled),
            (S::Paid, E::Refund, S::Refunded),
            (S::Shipped, E::Complete, S::Completed),
            (S::Shipped, E::Refund, S::Refunded),
            (S::Completed, E::Refund, S::Refunded),
            (S::Paid, E::RefundPart, S::PartiallyRefunded),
            (S::Shipped, E::RefundPart, S::PartiallyRefunded),
            (S::Completed, E::RefundPart, S::PartiallyRefunded),
            (S::PartiallyRefunded, E::RefundPart, S::PartiallyRefunded),
            (S::PartiallyRefunded, E::Refund, S::Refunded),
            (S::PartiallyRefunded, E::Ship, S::Shipped),
            (S::PartiallyRefunded, E::Complete, S::Completed),
        ];
        let mut seen = 0;
        for from in S::ALL {
            for event in EVENTS {
                let expected = allowed
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == event)
                    .map(|(_, _, to)| *to);
                match (from.apply(event), expected) {
                    (Ok(to), Some(want)) => {
                        assert_eq!(to, want);
                        seen += 1;
                    }
                    (Err(e), None) => assert_eq!(e, InvalidTransition { from, event }),
                    (got, want) => panic!("{from} + {event:?}: got {got:?}, want {want:?}"),
                }
            }
        }
        assert_eq!(seen, allowed.len());
    }

    #[test]
    fn final_states_have_no_way_out_and_only_pending_holds_stock() {
        for from in S::ALL.into_iter().filter(|s| s.is_final()) {
            assert!(EVENTS.iter().all(|e| from.apply(*e).is_err()), "{from}");
        }
        assert!(S::Pending.holds_reservation());
        assert!(S::ALL.iter().filter(|s| s.holds_reservation()).count() == 1);
    }

    #[test]
    fn statuses_round_trip_as_text_and_errors_read_well() {
        for s in S::ALL {
            assert_eq!(s.as_str().parse::<S>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!("paid ".parse::<S>().is_err());
        let e = S::Expired.apply(E::Pay).unwrap_err();
        assert_eq!(e.to_string(), "An order that is expired cannot be paid.");
    }
}
