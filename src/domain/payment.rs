//! Payment vocabulary: transaction kinds and statuses with their one transition function,
//! and the provider-neutral events that the webhook (Stripe) and the built-in test provider
//! both turn into, so one code path records every payment.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    Payment,
    Refund,
}

impl TransactionKind {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Payment => "payment",
            Self::Refund => "refund",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Self {
        if s == "refund" {
            Self::Refund
        } else {
            Self::Payment
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransactionStatus {
    /// A checkout session is open, or a refund has been asked for.
    Pending,
    /// The money moved.
    Succeeded,
    /// The attempt was declined or the provider refused.
    Failed,
    /// The checkout session ran out unpaid.
    Expired,
}

/// What can happen to a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransactionEvent {
    Succeed,
    Fail,
    Expire,
}

/// A step the transaction state machine does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("A {from:?} transaction cannot take {event:?}.")]
pub struct InvalidPaymentTransition {
    pub from: TransactionStatus,
    pub event: TransactionEvent,
}

impl TransactionStatus {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Succeeded, Self::Failed, Self::Expired];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Expired => "expired",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .unwrap_or(Self::Failed)
    }

    /// The whole transaction state machine: only a pending transaction moves, once.
    ///
    /// # Errors
    /// [`InvalidPaymentTransition`] for every other pair.
    pub const fn apply(self, event: TransactionEvent) -> Result<Self, InvalidPaymentTransition> {
        match (self, event) {
            (Self::Pending, TransactionEvent::Succeed) => Ok(Self::Succeeded),
            (Self::Pending, TransactionEvent::Fail) => Ok(Self::Failed),
            (Self::Pending, TransactionEvent::Expire) => Ok(Self::Expired),
            (from, event) => Err(InvalidPaymentTransition { from, event }),
        }
    }
}

/// What a provider tells us, in our words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentEvent {
    /// The shopper completed the checkout session and paid `amount_cents`.
    SessionCompleted {
        session_id: String,
        /// The provider's id of the captured payment (refunds go against it).
        payment_ref: Option<String>,
        amount_cents: i64,
    },
    /// The session ran out unpaid.
    SessionExpired { session_id: String },
    /// A delayed payment method (bank debit) of a completed session failed in the end.
    SessionFailed { session_id: String, reason: String },
    /// A payment attempt was declined.
    PaymentFailed {
        payment_ref: String,
        /// Our order id, from the payment's metadata, when the provider sends it.
        order_id: Option<uuid::Uuid>,
        reason: String,
    },
    /// Money went back to the shopper (from our refund, or from the provider's dashboard).
    Refunded {
        payment_ref: String,
        refund_ref: String,
        amount_cents: i64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pending_transaction_moves_and_only_once() {
        use TransactionEvent as E;
        use TransactionStatus as S;
        assert_eq!(S::Pending.apply(E::Succeed), Ok(S::Succeeded));
        assert_eq!(S::Pending.apply(E::Fail), Ok(S::Failed));
        assert_eq!(S::Pending.apply(E::Expire), Ok(S::Expired));
        for from in [S::Succeeded, S::Failed, S::Expired] {
            for e in [E::Succeed, E::Fail, E::Expire] {
                assert!(from.apply(e).is_err(), "{from:?} {e:?}");
            }
        }
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), s);
        }
    }
}
