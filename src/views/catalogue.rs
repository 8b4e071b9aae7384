//! Page contexts for catalogue pages: product views with prices formatted for people, and the
//! variant a shopper picked.
use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::money;
use crate::models::catalogue::{
    listing::FacetValue,
    views::{ImageView, ProductView, VariantView},
};

/// A product for cards and the product page: the API body plus display prices and the image
/// to show first.
#[must_use]
pub fn product(p: &ProductView) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
    v["price_display"] = json!(money::format(p.price_cents, &p.currency));
    v["price_max_display"] = json!(money::format(p.price_max_cents, &p.currency));
    v["price_varies"] = json!(p.price_cents != p.price_max_cents);
    v["in_stock"] = json!(p.available > 0);
    v["images"] = json!(p.images.iter().map(image).collect::<Vec<_>>());
    v["cover"] = p.images.first().map_or(Value::Null, image);
    v["paragraphs"] = json!(p
        .description
        .split("\n\n")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>());
    v["tag_links"] = json!(p
        .tags
        .iter()
        .map(|t| {
            let q: String = form_urlencoded::byte_serialize(t.as_bytes()).collect();
            json!({"name": t, "url": format!("/products?tag={q}")})
        })
        .collect::<Vec<_>>());
    if let Some(vars) = v["variants"].as_array_mut() {
        for (out, var) in vars.iter_mut().zip(&p.variants) {
            out["price_display"] = json!(money::format(var.price_cents, &p.currency));
        }
    }
    v
}

/// An image with the URL to show at each size: the rendition when it exists, else the
/// original (until the renditions job has run).
#[must_use]
pub fn image(i: &ImageView) -> Value {
    let mut v = json!(i);
    let at = |w: &str| i.renditions.get(w).unwrap_or(&i.url).clone();
    v["thumb"] = json!(at("200"));
    v["src"] = json!(at("600"));
    v["large"] = json!(at("1200"));
    v
}

#[must_use]
pub fn products(list: &[ProductView]) -> Vec<Value> {
    list.iter().map(product).collect()
}

/// The variant matching the options a shopper chose (`opt.<Name>=<value>` query fields), or
/// the first available variant, or the first variant.
#[must_use]
pub fn chosen_variant<'a>(
    p: &'a ProductView,
    chosen: &BTreeMap<String, String>,
) -> Option<&'a VariantView> {
    if let Some(v) = p.variant_with(chosen) {
        return Some(v);
    }
    p.variants
        .iter()
        .find(|v| v.available > 0)
        .or_else(|| p.variants.first())
}

/// The variant picker: each option with its values, which one is chosen, which exist at all and
/// which are sold out given the rest of the chosen variant.
#[must_use]
pub fn option_choices(p: &ProductView, chosen: Option<&VariantView>) -> Vec<Value> {
    p.options
        .iter()
        .map(|o| {
            let current = chosen.and_then(|v| v.options.get(&o.name));
            let values: Vec<Value> = o
                .values
                .iter()
                .map(|val| {
                    let with_value = |v: &&VariantView| v.options.get(&o.name) == Some(val);
                    let available = p.variants.iter().filter(with_value).any(|v| {
                        v.available > 0
                            && chosen.is_none_or(|c| {
                                c.options
                                    .iter()
                                    .all(|(k, x)| k == &o.name || v.options.get(k) == Some(x))
                            })
                    });
                    json!({
                        "value": val, "selected": current == Some(val), "available": available,
                        "exists": p.variants.iter().any(|v| with_value(&v)),
                    })
                })
                .collect();
            json!({"name": o.name, "values": values})
        })
        .collect()
}

/// The chosen variant for the buy box: price, SKU and stock words.
#[must_use]
pub fn variant(p: &ProductView, v: &VariantView) -> Value {
    let (state, label) = availability(v);
    json!({
        "id": v.id, "sku": v.sku, "options": v.options,
        "price_display": money::format(v.price_cents, &p.currency),
        "available": v.available, "stock_state": state, "stock_label": label,
        // The form's hint only; the cart enforces the real limits.
        "max_quantity": v.available.clamp(1, 99),
    })
}

/// Stock status words for a variant.
#[must_use]
pub fn availability(v: &VariantView) -> (&'static str, String) {
    match v.available {
        0 => ("out", "Out of stock".to_string()),
        n if n <= v.low_stock_threshold => ("low", format!("Only {n} left")),
        _ => ("in", "In stock".to_string()),
    }
}

/// Category facets as a tree for the filter panel: top-level categories in order, each with
/// its sub-categories, so the template needs no lookups.
#[must_use]
pub fn category_facets(values: &[FacetValue]) -> Vec<Value> {
    values
        .iter()
        .filter(|c| c.parent.is_none())
        .map(|top| {
            let children: Vec<&FacetValue> = values
                .iter()
                .filter(|c| c.parent.as_deref() == Some(top.slug.as_str()))
                .collect();
            json!({"slug": top.slug, "name": top.name, "count": top.count, "children": children})
        })
        .collect()
}
