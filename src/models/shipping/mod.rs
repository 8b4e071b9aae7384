//! Shipping by destination (API.md "Checkout", "Back office"): zones name countries, the active
//! methods of every zone holding a country are what ships there, priced for a cart by
//! `domain::shipping::Rule`. A shop with no zone ships everywhere at its flat rate
//! (`checkout.shipping_fee_cents`), which is the embedded default.
pub mod methods;
pub mod zones;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::_entities::{shipping_methods, shipping_zone_countries, shipping_zones};
use crate::{
    domain::{countries, shipping::Rule, validation::FieldErrors},
    errors::{AppError, AppResult},
    settings::Settings,
};

/// The id the flat rate goes by where a method id is asked for (it has no row).
pub const FLAT_RATE_ID: Uuid = Uuid::nil();
/// What the flat rate is called to the shopper.
pub const FLAT_RATE_NAME: &str = "Standard shipping";

/// One way to ship a cart, priced for it (API.md's `GET /shipping-methods` result).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Offer {
    pub id: Uuid,
    pub name: String,
    pub carrier: String,
    /// What shipping this cart costs with this method (0 from its free threshold).
    pub price_cents: i64,
    pub min_days: Option<i32>,
    pub max_days: Option<i32>,
    /// The method's rule, whose fee and threshold the totals use.
    #[serde(skip)]
    pub rule: Rule,
}

impl Offer {
    /// "DHL · 1–2 days", for the shop's pages.
    #[must_use]
    pub fn details(&self) -> String {
        let days = crate::domain::shipping::delivery_days(self.min_days, self.max_days);
        [self.carrier.as_str(), days.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// What ships a parcel to a country.
#[derive(Debug, Clone, Default)]
pub struct Offers {
    /// Cheapest first.
    pub list: Vec<Offer>,
    /// Whether some zone names the country (or the shop has no zone): false means "we do not
    /// ship there", true with an empty list means "not this parcel".
    pub served: bool,
}

/// What is being shipped: the goods' value after discount and their weight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parcel {
    pub goods_cents: i64,
    pub weight_grams: i64,
}

/// The methods that take `parcel` to `country`, priced, cheapest first.
///
/// # Errors
/// Database errors.
pub async fn offers<C: ConnectionTrait>(
    db: &C,
    settings: &Settings,
    country: &str,
    parcel: Parcel,
) -> AppResult<Offers> {
    let zone_ids: Vec<i32> = shipping_zone_countries::Entity::find()
        .select_only()
        .column(shipping_zone_countries::Column::ZoneId)
        .filter(shipping_zone_countries::Column::Country.eq(country))
        .into_tuple()
        .all(db)
        .await?;
    if zone_ids.is_empty() {
        let any_zone = shipping_zones::Entity::find()
            .select_only()
            .column(shipping_zones::Column::Id)
            .into_tuple::<i32>()
            .one(db)
            .await?
            .is_some();
        if any_zone {
            return Ok(Offers::default());
        }
        let rule = Rule {
            price_cents: settings.checkout.shipping_fee_cents,
            free_from_cents: settings.checkout.free_shipping_from_cents,
            min_subtotal_cents: None,
            max_subtotal_cents: None,
            max_weight_grams: None,
        };
        let flat = rule
            .quote(parcel.goods_cents, parcel.weight_grams)
            .map(|price| Offer {
                id: FLAT_RATE_ID,
                name: FLAT_RATE_NAME.into(),
                carrier: String::new(),
                price_cents: price,
                min_days: None,
                max_days: None,
                rule,
            });
        return Ok(Offers {
            list: flat.into_iter().collect(),
            served: true,
        });
    }
    let methods = shipping_methods::Entity::find()
        .filter(shipping_methods::Column::ZoneId.is_in(zone_ids))
        .filter(shipping_methods::Column::Active.eq(true))
        .all(db)
        .await?;
    let mut list: Vec<Offer> = methods
        .iter()
        .filter_map(|m| {
            let rule = methods::rule(m);
            rule.quote(parcel.goods_cents, parcel.weight_grams)
                .map(|price| Offer {
                    id: m.pid,
                    name: m.name.clone(),
                    carrier: m.carrier.clone(),
                    price_cents: price,
                    min_days: m.min_days,
                    max_days: m.max_days,
                    rule,
                })
        })
        .collect();
    list.sort_by(|a, b| {
        (a.price_cents, a.max_days.unwrap_or(i32::MAX), &a.name).cmp(&(
            b.price_cents,
            b.max_days.unwrap_or(i32::MAX),
            &b.name,
        ))
    });
    Ok(Offers { list, served: true })
}

/// API.md's code for a destination nothing ships to.
pub const SHIPPING_UNAVAILABLE: &str = "shipping_unavailable";

impl Offers {
    /// The method a checkout ships with: the one asked for, or the only one.
    ///
    /// # Errors
    /// 422 `shipping_unavailable` when nothing takes the parcel there; `Validation` naming
    /// `shipping_method_id` when the id asked for is not among the offers, or none was named
    /// and there is a choice.
    pub fn choose(&self, wanted: Option<Uuid>, country: &str) -> AppResult<Offer> {
        let place = countries::name(country).unwrap_or(country);
        if self.list.is_empty() {
            let message = if self.served {
                format!(
                    "No shipping method takes this order to {place}: it is too heavy, or outside \
                     the order values we ship there."
                )
            } else {
                format!("We do not ship to {place}.")
            };
            return Err(AppError::Unprocessable {
                code: SHIPPING_UNAVAILABLE,
                message,
            });
        }
        let field = "shipping_method_id";
        match wanted {
            Some(id) => self
                .list
                .iter()
                .find(|o| o.id == id)
                .cloned()
                .ok_or_else(|| {
                    FieldErrors::single(
                        field,
                        format!("This method does not ship this order to {place}; choose another."),
                    )
                    .into()
                }),
            None if self.list.len() == 1 => Ok(self.list[0].clone()),
            None => Err(FieldErrors::single(field, "Choose a shipping method.").into()),
        }
    }
}

/// The method an order keeps (API.md's order `shipping_method`), as it was at checkout.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct OrderMethod {
    pub id: Uuid,
    pub name: String,
    pub carrier: String,
    pub price_cents: i64,
    pub min_days: Option<i32>,
    pub max_days: Option<i32>,
}

impl OrderMethod {
    /// What the order stores: the offer with the price the order's totals charged.
    #[must_use]
    pub fn stored(offer: &Offer, charged_cents: i64) -> String {
        serde_json::to_string(&Self {
            id: offer.id,
            name: offer.name.clone(),
            carrier: offer.carrier.clone(),
            price_cents: charged_cents,
            min_days: offer.min_days,
            max_days: offer.max_days,
        })
        .unwrap_or_default()
    }

    /// The stored method of an order; `None` for orders from before methods.
    #[must_use]
    pub fn read(stored: Option<&str>) -> Option<Self> {
        stored.and_then(|s| serde_json::from_str(s).ok())
    }
}
