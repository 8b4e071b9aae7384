//! The country lists of the pages' select fields. Every country is a Tera function, so each
//! form (checkout billing, account, tax rates) offers the same list without its handler passing
//! it; the countries the shop ships to follow the settings, so the checkout passes them.
use serde_json::{json, Value};

use crate::domain::countries::{self, COUNTRIES};

fn options<'a>(codes: impl Iterator<Item = &'a str>) -> Value {
    let mut list: Vec<(&str, &str)> = codes
        .filter_map(|c| countries::name(c).map(|n| (c, n)))
        .collect();
    // People look for their country by name, not by code.
    list.sort_by(|a, b| a.1.cmp(b.1));
    Value::Array(
        list.into_iter()
            .map(|(code, name)| json!({"value": code, "label": name}))
            .collect(),
    )
}

/// The countries an order may be shipped to (`ship_to`, or all when it is empty), for the
/// checkout's select.
#[must_use]
pub fn shipping(ship_to: &[String]) -> Value {
    if ship_to.is_empty() {
        options(COUNTRIES.iter().map(|(c, _)| *c))
    } else {
        options(ship_to.iter().map(String::as_str))
    }
}

/// Registers `countries()`, every ISO 3166-1 country by name, and the `country_name` filter
/// ("DE" → "Germany").
pub fn register(tera: &mut tera::Tera) {
    tera.register_filter(
        "country_name",
        |code: &str, _: tera::Kwargs, _: &tera::State| {
            countries::name(code).unwrap_or(code).to_string()
        },
    );
    let all = tera::Value::from_serializable(&options(COUNTRIES.iter().map(|(c, _)| *c)));
    tera.register_function("countries", move |_: tera::Kwargs, _: &tera::State| {
        all.clone()
    });
}
