//! Roles and what each may do (PRODUCT.md "Roles").
use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Staff,
    ProductManager,
    Admin,
}

impl Role {
    pub const ALL: [Self; 4] = [
        Self::Customer,
        Self::Staff,
        Self::ProductManager,
        Self::Admin,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Staff => "staff",
            Self::ProductManager => "product_manager",
            Self::Admin => "admin",
        }
    }

    /// The roles that manage the catalogue (PRODUCT.md "Roles"), for the API and the admin.
    pub const CATALOGUE_MANAGERS: &'static [Self] = &[Self::ProductManager, Self::Admin];

    /// Staff roles may enter the admin area.
    #[must_use]
    pub const fn is_staff(self) -> bool {
        !matches!(self, Self::Customer)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or("Must be one of customer, staff, product_manager, admin.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_role_through_its_name() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
        assert!(!Role::Customer.is_staff());
        assert!(
            Role::Staff.is_staff() && Role::ProductManager.is_staff() && Role::Admin.is_staff()
        );
    }
}
