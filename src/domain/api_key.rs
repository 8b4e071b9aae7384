//! API-key scopes and which endpoint needs which (PRODUCT.md "Integrations"): a key acts only
//! within its scopes, and an endpoint no scope covers (accounts, checkout, users, keys
//! themselves) is closed to keys.
use std::fmt;

use serde::{Deserialize, Serialize};

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
pub enum Scope {
    #[serde(rename = "catalogue:read")]
    CatalogueRead,
    #[serde(rename = "catalogue:write")]
    CatalogueWrite,
    #[serde(rename = "orders:read")]
    OrdersRead,
    #[serde(rename = "orders:write")]
    OrdersWrite,
    #[serde(rename = "inventory")]
    Inventory,
}

impl Scope {
    pub const ALL: [Self; 5] = [
        Self::CatalogueRead,
        Self::CatalogueWrite,
        Self::OrdersRead,
        Self::OrdersWrite,
        Self::Inventory,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CatalogueRead => "catalogue:read",
            Self::CatalogueWrite => "catalogue:write",
            Self::OrdersRead => "orders:read",
            Self::OrdersWrite => "orders:write",
            Self::Inventory => "inventory",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s.trim())
    }

    /// A write scope includes reading the same things.
    #[must_use]
    pub fn grants(self, needed: Self) -> bool {
        self == needed
            || matches!(
                (self, needed),
                (Self::CatalogueWrite, Self::CatalogueRead) | (Self::OrdersWrite, Self::OrdersRead)
            )
    }

    /// The scope an API request needs, or `None` when keys may not call it at all.
    #[must_use]
    pub fn required(method: &str, path: &str) -> Option<Self> {
        let read = matches!(method, "GET" | "HEAD");
        let p = path.strip_prefix("/api/v1/")?;
        let first = p.split('/').next().unwrap_or_default();
        let catalogue = |read| {
            if read {
                Self::CatalogueRead
            } else {
                Self::CatalogueWrite
            }
        };
        let orders = |read| {
            if read {
                Self::OrdersRead
            } else {
                Self::OrdersWrite
            }
        };
        match first {
            "products" | "categories" | "brands" | "variants" => Some(catalogue(read)),
            "orders" | "transactions" | "invoices" => Some(orders(read)),
            "admin" => match p.split('/').nth(1).unwrap_or_default() {
                "promo-codes" => Some(catalogue(read)),
                "stock-ledger" | "stock-adjustments" | "purchase-orders" | "notifications" => {
                    Some(Self::Inventory)
                }
                _ => None,
            },
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Scope as S;

    #[test]
    fn each_endpoint_family_needs_its_scope_and_the_rest_are_closed_to_keys() {
        assert_eq!(
            S::required("GET", "/api/v1/products"),
            Some(S::CatalogueRead)
        );
        assert_eq!(
            S::required("PATCH", "/api/v1/products/x"),
            Some(S::CatalogueWrite)
        );
        assert_eq!(
            S::required("POST", "/api/v1/orders/x/ship"),
            Some(S::OrdersWrite)
        );
        assert_eq!(
            S::required("GET", "/api/v1/transactions"),
            Some(S::OrdersRead)
        );
        assert_eq!(
            S::required("GET", "/api/v1/invoices/INV-000001"),
            Some(S::OrdersRead)
        );
        assert_eq!(
            S::required("POST", "/api/v1/admin/stock-adjustments"),
            Some(S::Inventory)
        );
        assert_eq!(
            S::required("GET", "/api/v1/admin/promo-codes"),
            Some(S::CatalogueRead)
        );
        for closed in [
            "/api/v1/admin/users",
            "/api/v1/admin/api-keys",
            "/api/v1/me",
            "/api/v1/checkout",
            "/api/v1/cart",
        ] {
            assert_eq!(S::required("GET", closed), None, "{closed}");
        }
        assert!(S::CatalogueWrite.grants(S::CatalogueRead));
        assert!(!S::CatalogueRead.grants(S::CatalogueWrite));
        assert!(!S::OrdersWrite.grants(S::Inventory));
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
    }
}
