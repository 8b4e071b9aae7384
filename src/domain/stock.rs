//! Stock vocabulary: why a level changed, and what a shortage is.
//!
//! A variant has `stock` (on hand) and `reserved` (held by unpaid orders); `available =
//! stock - reserved` is what can still be sold. Every change is one of these reasons, with its
//! effect on the two numbers:
//!
//! | reason | stock | reserved | when |
//! |---|---|---|---|
//! | reserve | 0 | +q | checkout places an order |
//! | release | 0 | −q | an unpaid order is cancelled or expires |
//! | sale | −q | −q | the order is paid: the reservation becomes a sale |
//! | receipt | +q | 0 | a purchase order is received |
//! | adjustment | ±d | 0 | an admin counts the shelf, or the catalogue editor sets a level |
//! | restock | +q | 0 | a paid order is cancelled or refunded and its goods come back |
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StockReason {
    Reserve,
    Release,
    Sale,
    Receipt,
    Adjustment,
    Restock,
}

impl StockReason {
    pub const ALL: [Self; 6] = [
        Self::Reserve,
        Self::Release,
        Self::Sale,
        Self::Receipt,
        Self::Adjustment,
        Self::Restock,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Reserve => "reserve",
            Self::Release => "release",
            Self::Sale => "sale",
            Self::Receipt => "receipt",
            Self::Adjustment => "adjustment",
            Self::Restock => "restock",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The (stock, reserved) deltas of moving `quantity` units for this reason; adjustments
    /// carry their own signed delta.
    #[must_use]
    pub const fn deltas(self, quantity: i32) -> (i32, i32) {
        match self {
            Self::Reserve => (0, quantity),
            Self::Release => (0, -quantity),
            Self::Sale => (-quantity, -quantity),
            Self::Receipt | Self::Adjustment | Self::Restock => (quantity, 0),
        }
    }
}

/// A cart line that cannot be had in the quantity asked (API.md `insufficient_stock`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shortage {
    pub product_id: Uuid,
    pub variant_id: Uuid,
    pub sku: String,
    pub name: String,
    pub requested: i64,
    pub available: i64,
}

impl Shortage {
    #[must_use]
    pub fn message(&self) -> String {
        match self.available {
            n if n <= 0 => format!("{} ({}) is out of stock.", self.name, self.sku),
            1 => format!(
                "Only 1 of {} ({}) is available; you asked for {}.",
                self.name, self.sku, self.requested
            ),
            n => format!(
                "Only {n} of {} ({}) are available; you asked for {}.",
                self.name, self.sku, self.requested
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_moves_stock_as_the_table_says() {
        assert_eq!(StockReason::Reserve.deltas(3), (0, 3));
        assert_eq!(StockReason::Release.deltas(3), (0, -3));
        assert_eq!(StockReason::Sale.deltas(3), (-3, -3));
        assert_eq!(StockReason::Receipt.deltas(3), (3, 0));
        assert_eq!(StockReason::Adjustment.deltas(-2), (-2, 0));
        assert_eq!(StockReason::Restock.deltas(1), (1, 0));
        for r in StockReason::ALL {
            assert_eq!(StockReason::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn shortages_read_as_sentences() {
        let mut s = Shortage {
            product_id: Uuid::nil(),
            variant_id: Uuid::nil(),
            sku: "MUG-1".into(),
            name: "Mug".into(),
            requested: 3,
            available: 0,
        };
        assert_eq!(s.message(), "Mug (MUG-1) is out of stock.");
        s.available = 2;
        assert_eq!(
            s.message(),
            "Only 2 of Mug (MUG-1) are available; you asked for 3."
        );
    }
}
