//! Catalogue rules: what a valid product, variant, option set, category or brand is, how slugs
//! and SKUs look, and how a shopper's search text and list filters are read. No I/O: the
//! models layer stores what these parsers accept, and both the JSON API and the admin pages
//! feed them.
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::validation::FieldErrors;

pub const MAX_NAME: usize = 200;
pub const MAX_DESCRIPTION: usize = 20_000;
pub const MAX_SEO_TITLE: usize = 200;
pub const MAX_SEO_DESCRIPTION: usize = 320;
pub const MAX_SLUG: usize = 160;
pub const MAX_SKU: usize = 64;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG: usize = 40;
pub const MAX_OPTIONS: usize = 3;
pub const MAX_OPTION_VALUES: usize = 30;
pub const MAX_OPTION_TEXT: usize = 40;
pub const MAX_VARIANTS: usize = 100;
/// 1 000 000 000.00 in minor units: far above any real price, far below i64 overflow in sums.
pub const MAX_PRICE_CENTS: i64 = 100_000_000_000;
pub const MAX_STOCK: i64 = 1_000_000_000;
pub const DEFAULT_LOW_STOCK_THRESHOLD: i32 = 5;

/// Lower-case ASCII words joined by hyphens: "Café Crème 2.0" → "cafe-creme-2-0".
#[must_use]
pub fn slugify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(fold_latin) {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.len() > MAX_SLUG {
        out.truncate(MAX_SLUG);
        while out.ends_with('-') {
            out.pop();
        }
    }
    out
}

/// Folds common Latin letters with diacritics to ASCII so slugs stay readable.
fn fold_latin(c: char) -> Vec<char> {
    let s = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => "a",
        'æ' | 'Æ' => "ae",
        'ç' | 'Ç' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
        'ñ' | 'Ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => "o",
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => "u",
        'ý' | 'ÿ' | 'Ý' => "y",
        'ß' => "ss",
        'œ' | 'Œ' => "oe",
        other => return vec![other],
    };
    s.chars().collect()
}

/// Checks an explicit slug (or derives one from `fallback`) and returns it.
pub fn slug(errors: &mut FieldErrors, field: &str, given: Option<&str>, fallback: &str) -> String {
    match given.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => {
            let ok = s.len() <= MAX_SLUG
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !s.starts_with('-')
                && !s.ends_with('-');
            if !ok {
                errors.add(
                    field,
                    "Use lower-case letters, digits and single hyphens (e.g. blue-shirt).",
                );
            }
            s.to_string()
        }
        None => {
            let s = slugify(fallback);
            if s.is_empty() && !fallback.trim().is_empty() {
                errors.add(
                    field,
                    "Give a slug: the name has no letters or digits to make one from.",
                );
            }
            s
        }
    }
}

/// A SKU: 1–64 visible ASCII characters without spaces.
pub fn sku(errors: &mut FieldErrors, field: &str, value: &str) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.add(field, "This field is required.");
    } else if v.len() > MAX_SKU || !v.bytes().all(|b| b.is_ascii_graphic()) {
        errors.add(
            field,
            format!("Use up to {MAX_SKU} letters, digits or punctuation, without spaces."),
        );
    }
    v.to_string()
}

/// Whether `value` (a JSON number already read as i64) is a valid price in minor units.
pub fn price(errors: &mut FieldErrors, field: &str, value: i64) -> i64 {
    if value < 0 {
        errors.add(field, "Must be zero or more.");
    } else if value > MAX_PRICE_CENTS {
        errors.add(field, format!("Must be at most {MAX_PRICE_CENTS}."));
    }
    value
}

/// A parcel weight in grams: absent, or 1 g to 10 t (the bound shipping methods take too).
pub fn weight(errors: &mut FieldErrors, field: &str, value: Option<i64>) -> Option<i64> {
    let max = crate::domain::shipping::MAX_WEIGHT_GRAMS;
    if value.is_some_and(|v| !(1..=max).contains(&v)) {
        errors.add(field, format!("Grams from 1 to {max}."));
    }
    value
}

/// A stock level or threshold: a non-negative count.
pub fn count(errors: &mut FieldErrors, field: &str, value: i64) -> i32 {
    if !(0..=MAX_STOCK).contains(&value) {
        errors.add(field, format!("Must be between 0 and {MAX_STOCK}."));
        return 0;
    }
    i32::try_from(value).unwrap_or(0)
}

/// One declared product option, e.g. `{"name": "Size", "values": ["S", "M", "L"]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProductOption {
    pub name: String,
    pub values: Vec<String>,
}

/// Validates the option declarations of a product: at most three, unique names, 1–30 unique
/// values each.
pub fn options(errors: &mut FieldErrors, given: &[ProductOption]) -> Vec<ProductOption> {
    if given.len() > MAX_OPTIONS {
        errors.add("options", format!("At most {MAX_OPTIONS} options."));
    }
    let mut names = BTreeSet::new();
    let mut out = Vec::with_capacity(given.len());
    for (i, o) in given.iter().enumerate() {
        let field = format!("options[{i}]");
        let name = o.name.trim().to_string();
        if name.is_empty() || name.chars().count() > MAX_OPTION_TEXT {
            errors.add(
                &field,
                format!("Option names are 1 to {MAX_OPTION_TEXT} characters."),
            );
        } else if !names.insert(name.to_lowercase()) {
            errors.add(&field, format!("The option \"{name}\" is declared twice."));
        }
        if o.values.is_empty() || o.values.len() > MAX_OPTION_VALUES {
            errors.add(
                &field,
                format!("An option has 1 to {MAX_OPTION_VALUES} values."),
            );
        }
        let mut seen = BTreeSet::new();
        let mut values = Vec::with_capacity(o.values.len());
        for v in &o.values {
            let v = v.trim().to_string();
            if v.is_empty() || v.chars().count() > MAX_OPTION_TEXT {
                errors.add(
                    &field,
                    format!("Option values are 1 to {MAX_OPTION_TEXT} characters."),
                );
            } else if !seen.insert(v.to_lowercase()) {
                errors.add(&field, format!("The value \"{v}\" appears twice."));
            }
            values.push(v);
        }
        out.push(ProductOption { name, values });
    }
    out
}

/// A variant as given by a client, before validation.
#[derive(Debug, Clone, Default)]
pub struct VariantInput {
    pub sku: String,
    pub options: BTreeMap<String, String>,
    pub price_cents: i64,
    pub stock: i64,
    pub low_stock_threshold: Option<i64>,
    pub weight_grams: Option<i64>,
}

/// A validated variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantDraft {
    pub sku: String,
    pub options: BTreeMap<String, String>,
    pub price_cents: i64,
    pub stock: i32,
    pub low_stock_threshold: i32,
    pub weight_grams: Option<i64>,
}

/// Checks that a variant names exactly one declared value for every declared option, with the
/// option names and values spelled as declared.
pub fn variant_options(
    errors: &mut FieldErrors,
    field: &str,
    declared: &[ProductOption],
    given: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, value) in given {
        let Some(opt) = declared
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name.trim()))
        else {
            errors.add(
                field,
                format!("\"{name}\" is not an option of this product."),
            );
            continue;
        };
        match opt
            .values
            .iter()
            .find(|v| v.eq_ignore_ascii_case(value.trim()))
        {
            Some(v) => {
                out.insert(opt.name.clone(), v.clone());
            }
            None => errors.add(
                field,
                format!(
                    "\"{value}\" is not a value of {}: use one of {}.",
                    opt.name,
                    opt.values.join(", ")
                ),
            ),
        }
    }
    for opt in declared {
        if !out.contains_key(&opt.name)
            && given
                .keys()
                .all(|k| !k.trim().eq_ignore_ascii_case(&opt.name))
        {
            errors.add(field, format!("Choose a value for {}.", opt.name));
        }
    }
    out
}

/// Validates one variant against the product's declared options.
pub fn variant(
    errors: &mut FieldErrors,
    prefix: &str,
    declared: &[ProductOption],
    v: &VariantInput,
) -> VariantDraft {
    let f = |name: &str| {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        }
    };
    VariantDraft {
        sku: sku(errors, &f("sku"), &v.sku),
        options: variant_options(errors, &f("options"), declared, &v.options),
        price_cents: price(errors, &f("price_cents"), v.price_cents),
        stock: count(errors, &f("stock"), v.stock),
        low_stock_threshold: count(
            errors,
            &f("low_stock_threshold"),
            v.low_stock_threshold
                .unwrap_or(i64::from(DEFAULT_LOW_STOCK_THRESHOLD)),
        ),
        weight_grams: weight(errors, &f("weight_grams"), v.weight_grams),
    }
}

/// Rejects two variants with the same SKU or the same option combination.
pub fn distinct_variants(errors: &mut FieldErrors, variants: &[VariantDraft]) {
    let mut skus = BTreeSet::new();
    let mut combos = BTreeSet::new();
    for (i, v) in variants.iter().enumerate() {
        if !skus.insert(v.sku.to_lowercase()) {
            errors.add(
                &format!("variants[{i}].sku"),
                "Another variant has this SKU.",
            );
        }
        if !combos.insert(v.options.clone()) {
            errors.add(
                &format!("variants[{i}].options"),
                "Another variant has these option values.",
            );
        }
    }
}

/// Tags: trimmed, de-duplicated by slug, at most 20 of at most 40 characters.
pub fn tags(errors: &mut FieldErrors, given: &[String]) -> Vec<(String, String)> {
    if given.len() > MAX_TAGS {
        errors.add("tags", format!("At most {MAX_TAGS} tags."));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for t in given {
        let name = t.trim();
        let slug = slugify(name);
        if name.is_empty() || name.chars().count() > MAX_TAG || slug.is_empty() {
            errors.add(
                "tags",
                format!("Tags are 1 to {MAX_TAG} characters with a letter or digit."),
            );
        } else if seen.insert(slug.clone()) {
            out.push((slug, name.to_string()));
        }
    }
    out
}

/// Product text fields shared by create and update.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProductText {
    pub name: String,
    pub slug: String,
    pub description: String,
    pub seo_title: String,
    pub seo_description: String,
}

/// What a client sends to create a product: the flat fields (one variant) or `options` plus
/// `variants`.
#[derive(Debug, Clone, Default)]
pub struct ProductInput {
    pub name: String,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    /// The product's own SKU: the only variant's for a simple product, the base SKU otherwise.
    pub sku: Option<String>,
    pub price_cents: Option<i64>,
    pub stock: Option<i64>,
    pub low_stock_threshold: Option<i64>,
    pub weight_grams: Option<i64>,
    pub options: Vec<ProductOption>,
    pub variants: Vec<VariantInput>,
    pub tags: Vec<String>,
    pub featured: bool,
    pub active: bool,
}

/// A validated new product; category and brand references are resolved by the models layer.
#[derive(Debug, Clone)]
pub struct ProductDraft {
    pub text: ProductText,
    pub sku: String,
    pub options: Vec<ProductOption>,
    pub variants: Vec<VariantDraft>,
    pub tags: Vec<(String, String)>,
    pub featured: bool,
    pub active: bool,
}

impl ProductInput {
    /// # Errors
    /// Every broken rule, by field.
    pub fn parse(&self) -> Result<ProductDraft, FieldErrors> {
        let mut e = FieldErrors::new();
        let name = e.text("name", &self.name, MAX_NAME);
        let text = ProductText {
            slug: slug(&mut e, "slug", self.slug.as_deref(), &name),
            description: e.optional_text(
                "description",
                self.description.as_deref().unwrap_or(""),
                MAX_DESCRIPTION,
            ),
            seo_title: e.optional_text(
                "seo_title",
                self.seo_title.as_deref().unwrap_or(""),
                MAX_SEO_TITLE,
            ),
            seo_description: e.optional_text(
                "seo_description",
                self.seo_description.as_deref().unwrap_or(""),
                MAX_SEO_DESCRIPTION,
            ),
            name,
        };
        let options = options(&mut e, &self.options);
        let (sku_value, variants) = if self.options.is_empty() && self.variants.is_empty() {
            let flat = VariantInput {
                sku: self.sku.clone().unwrap_or_default(),
                options: BTreeMap::new(),
                price_cents: self.price_cents.unwrap_or(0),
                stock: self.stock.unwrap_or(0),
                low_stock_threshold: self.low_stock_threshold,
                weight_grams: self.weight_grams,
            };
            if self.price_cents.is_none() {
                e.add("price_cents", "This field is required.");
            }
            let v = variant(&mut e, "", &[], &flat);
            (v.sku.clone(), vec![v])
        } else {
            if self.variants.is_empty() {
                e.add(
                    "variants",
                    "A product with options needs at least one variant.",
                );
            }
            if self.variants.len() > MAX_VARIANTS {
                e.add("variants", format!("At most {MAX_VARIANTS} variants."));
            }
            if self.price_cents.is_some() || self.stock.is_some() || self.weight_grams.is_some() {
                e.add(
                    "variants",
                    "Give price_cents, stock and weight_grams on each variant, not on a product with options.",
                );
            }
            let drafts: Vec<VariantDraft> = self
                .variants
                .iter()
                .enumerate()
                .map(|(i, v)| variant(&mut e, &format!("variants[{i}]"), &options, v))
                .collect();
            distinct_variants(&mut e, &drafts);
            let base = match self.sku.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(s) => sku(&mut e, "sku", s),
                // A base SKU is optional for variant products: derive it from the first variant.
                None => drafts
                    .first()
                    .map(|v| format!("{}-BASE", v.sku))
                    .unwrap_or_default(),
            };
            (base, drafts)
        };
        let tags = tags(&mut e, &self.tags);
        e.into_result()?;
        Ok(ProductDraft {
            text,
            sku: sku_value,
            options,
            variants,
            tags,
            featured: self.featured,
            active: self.active,
        })
    }
}

/// What a client may change on a product (absent fields stay as they are).
#[derive(Debug, Clone, Default)]
pub struct ProductPatchInput {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    pub sku: Option<String>,
    pub price_cents: Option<i64>,
    pub stock: Option<i64>,
    pub low_stock_threshold: Option<i64>,
    /// `Some(None)` clears the weight.
    pub weight_grams: Option<Option<i64>>,
    pub options: Option<Vec<ProductOption>>,
    pub tags: Option<Vec<String>>,
    pub featured: Option<bool>,
    pub active: Option<bool>,
}

/// A validated patch.
#[derive(Debug, Clone, Default)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    pub sku: Option<String>,
    pub price_cents: Option<i64>,
    pub stock: Option<i32>,
    pub low_stock_threshold: Option<i32>,
    pub weight_grams: Option<Option<i64>>,
    pub options: Option<Vec<ProductOption>>,
    pub tags: Option<Vec<(String, String)>>,
    pub featured: Option<bool>,
    pub active: Option<bool>,
}

impl ProductPatch {
    /// Whether the patch touches fields that belong to the single variant of a simple product.
    #[must_use]
    pub fn touches_variant(&self) -> bool {
        self.price_cents.is_some()
            || self.stock.is_some()
            || self.low_stock_threshold.is_some()
            || self.weight_grams.is_some()
    }
}

impl ProductPatchInput {
    /// # Errors
    /// Every broken rule, by field.
    pub fn parse(&self) -> Result<ProductPatch, FieldErrors> {
        let mut e = FieldErrors::new();
        let name = self.name.as_deref().map(|n| e.text("name", n, MAX_NAME));
        let slug_value = self
            .slug
            .as_deref()
            .map(|s| slug(&mut e, "slug", Some(s), name.as_deref().unwrap_or("")));
        let patch = ProductPatch {
            slug: slug_value.filter(|s| !s.is_empty()),
            description: self
                .description
                .as_deref()
                .map(|d| e.optional_text("description", d, MAX_DESCRIPTION)),
            seo_title: self
                .seo_title
                .as_deref()
                .map(|d| e.optional_text("seo_title", d, MAX_SEO_TITLE)),
            seo_description: self
                .seo_description
                .as_deref()
                .map(|d| e.optional_text("seo_description", d, MAX_SEO_DESCRIPTION)),
            sku: self.sku.as_deref().map(|s| sku(&mut e, "sku", s)),
            price_cents: self.price_cents.map(|p| price(&mut e, "price_cents", p)),
            stock: self.stock.map(|s| count(&mut e, "stock", s)),
            low_stock_threshold: self
                .low_stock_threshold
                .map(|s| count(&mut e, "low_stock_threshold", s)),
            weight_grams: self.weight_grams.map(|w| weight(&mut e, "weight_grams", w)),
            options: self.options.as_deref().map(|o| options(&mut e, o)),
            tags: self.tags.as_deref().map(|t| tags(&mut e, t)),
            featured: self.featured,
            active: self.active,
            name,
        };
        e.into_result()?;
        Ok(patch)
    }
}

/// Checks a change of a product's declared options against its variants: names stay as they
/// are (same order), values may be added, and a value still used by a variant stays.
///
/// # Errors
/// A message for the `options` field.
pub fn options_change(
    current: &[ProductOption],
    new: &[ProductOption],
    in_use: &[BTreeMap<String, String>],
) -> Result<(), String> {
    let same_names = current.len() == new.len()
        && current
            .iter()
            .zip(new)
            .all(|(a, b)| a.name.eq_ignore_ascii_case(&b.name));
    if !same_names {
        return Err(
            "Option names cannot change once variants exist; add or remove values instead.".into(),
        );
    }
    for used in in_use {
        for (name, value) in used {
            let kept = new
                .iter()
                .find(|o| o.name.eq_ignore_ascii_case(name))
                .is_some_and(|o| o.values.iter().any(|v| v == value));
            if !kept {
                return Err(format!(
                    "{name} {value} is used by a variant; delete that variant first."
                ));
            }
        }
    }
    Ok(())
}

/// What a client may change on a variant.
#[derive(Debug, Clone, Default)]
pub struct VariantPatchInput {
    pub sku: Option<String>,
    pub options: Option<BTreeMap<String, String>>,
    pub price_cents: Option<i64>,
    pub stock: Option<i64>,
    pub low_stock_threshold: Option<i64>,
    /// `Some(None)` clears the weight.
    pub weight_grams: Option<Option<i64>>,
}

#[derive(Debug, Clone, Default)]
pub struct VariantPatch {
    pub sku: Option<String>,
    pub options: Option<BTreeMap<String, String>>,
    pub price_cents: Option<i64>,
    pub stock: Option<i32>,
    pub low_stock_threshold: Option<i32>,
    pub weight_grams: Option<Option<i64>>,
}

impl VariantPatchInput {
    /// # Errors
    /// Every broken rule, by field.
    pub fn parse(&self, declared: &[ProductOption]) -> Result<VariantPatch, FieldErrors> {
        let mut e = FieldErrors::new();
        let patch = VariantPatch {
            sku: self.sku.as_deref().map(|s| sku(&mut e, "sku", s)),
            options: self
                .options
                .as_ref()
                .map(|o| variant_options(&mut e, "options", declared, o)),
            price_cents: self.price_cents.map(|p| price(&mut e, "price_cents", p)),
            stock: self.stock.map(|s| count(&mut e, "stock", s)),
            low_stock_threshold: self
                .low_stock_threshold
                .map(|s| count(&mut e, "low_stock_threshold", s)),
            weight_grams: self.weight_grams.map(|w| weight(&mut e, "weight_grams", w)),
        };
        e.into_result()?;
        Ok(patch)
    }
}

/// A category or brand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDraft {
    pub name: String,
    pub slug: String,
    pub description: String,
}

/// Validates a category or brand: a name of at most 120 characters and a slug.
///
/// # Errors
/// Every broken rule, by field.
pub fn group(
    name: &str,
    slug_given: Option<&str>,
    description: &str,
) -> Result<GroupDraft, FieldErrors> {
    let mut e = FieldErrors::new();
    let name = e.text("name", name, 120);
    let slug_value = slug(&mut e, "slug", slug_given, &name);
    if slug_value.len() > 120 {
        e.add("slug", "Must be at most 120 characters.");
    }
    let description = e.optional_text("description", description, 2000);
    e.into_result()?;
    Ok(GroupDraft {
        name,
        slug: slug_value,
        description,
    })
}

/// How a product list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sort {
    Newest,
    PriceAsc,
    PriceDesc,
    Name,
    RatingDesc,
    /// Best full-text match first; the default when there is search text.
    Relevance,
}

impl Sort {
    pub const CHOICES: [(&'static str, &'static str); 6] = [
        ("relevance", "Best match"),
        ("newest", "Newest"),
        ("price", "Price: low to high"),
        ("-price", "Price: high to low"),
        ("name", "Name"),
        ("-rating", "Top rated"),
    ];

    /// # Errors
    /// A message naming the accepted values.
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "newest" => Self::Newest,
            "price" => Self::PriceAsc,
            "-price" => Self::PriceDesc,
            "name" => Self::Name,
            "-rating" => Self::RatingDesc,
            "relevance" => Self::Relevance,
            _ => {
                return Err(
                    "Use one of newest, price, -price, name, -rating, relevance.".to_string(),
                )
            }
        })
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::PriceAsc => "price",
            Self::PriceDesc => "-price",
            Self::Name => "name",
            Self::RatingDesc => "-rating",
            Self::Relevance => "relevance",
        }
    }
}

/// PostgreSQL's `english` stop words (snowball list). PostgreSQL drops them from queries and
/// FTS5 does not, so they are dropped here for both: the same search finds the same products
/// on either database.
const STOP_WORDS: &[&str] = &[
    "i",
    "me",
    "my",
    "myself",
    "we",
    "our",
    "ours",
    "ourselves",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "he",
    "him",
    "his",
    "himself",
    "she",
    "her",
    "hers",
    "herself",
    "it",
    "its",
    "itself",
    "they",
    "them",
    "their",
    "theirs",
    "themselves",
    "what",
    "which",
    "who",
    "whom",
    "this",
    "that",
    "these",
    "those",
    "am",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "have",
    "has",
    "had",
    "having",
    "do",
    "does",
    "did",
    "doing",
    "a",
    "an",
    "the",
    "and",
    "but",
    "if",
    "or",
    "because",
    "as",
    "until",
    "while",
    "of",
    "at",
    "by",
    "for",
    "with",
    "about",
    "against",
    "between",
    "into",
    "through",
    "during",
    "before",
    "after",
    "above",
    "below",
    "to",
    "from",
    "up",
    "down",
    "in",
    "out",
    "on",
    "off",
    "over",
    "under",
    "again",
    "further",
    "then",
    "once",
    "here",
    "there",
    "when",
    "where",
    "why",
    "how",
    "all",
    "any",
    "both",
    "each",
    "few",
    "more",
    "most",
    "other",
    "some",
    "such",
    "no",
    "nor",
    "not",
    "only",
    "own",
    "same",
    "so",
    "than",
    "too",
    "very",
    "s",
    "t",
    "can",
    "will",
    "just",
    "don",
    "should",
    "now",
];

/// Search text split into at most eight lower-case words of letters and digits, each matched
/// as a prefix ("shi" finds "shirt"). Punctuation never reaches the query languages, so no
/// input can be a syntax error in FTS5 or `to_tsquery`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct SearchTerms(pub Vec<String>);

impl SearchTerms {
    pub const MAX_TERMS: usize = 8;
    pub const MAX_TERM: usize = 40;

    #[must_use]
    pub fn parse(q: &str) -> Self {
        let terms = q
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.chars()
                    .take(Self::MAX_TERM)
                    .collect::<String>()
                    .to_lowercase()
            })
            .filter(|t| !STOP_WORDS.contains(&t.as_str()))
            .take(Self::MAX_TERMS)
            .collect();
        Self(terms)
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// FTS5 MATCH text: every term as a quoted prefix, all required.
    #[must_use]
    pub fn fts5(&self) -> String {
        self.0
            .iter()
            .map(|t| format!("\"{t}\"*"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `to_tsquery` text: every term as a prefix, all required.
    #[must_use]
    pub fn tsquery(&self) -> String {
        self.0
            .iter()
            .map(|t| format!("{t}:*"))
            .collect::<Vec<_>>()
            .join(" & ")
    }
}

/// A validated product list request (the API query string and the storefront search form).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ListFilter {
    pub terms: SearchTerms,
    /// Category id or slug; a parent category includes its children.
    pub category: Option<String>,
    pub brand: Option<String>,
    pub tag: Option<String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub in_stock: bool,
    pub featured: bool,
    pub sort: Option<Sort>,
    /// Staff lists also show inactive products.
    pub include_inactive: bool,
    /// Staff lists of inactive products only (the admin's "Inactive" filter).
    pub only_inactive: bool,
}

/// The raw query-string fields of a product list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct ListParams {
    /// Full-text search over name, description, SKUs and tags.
    pub q: Option<String>,
    /// Category id or slug (includes its sub-categories).
    pub category: Option<String>,
    /// Brand id or slug.
    pub brand: Option<String>,
    /// Tag slug.
    pub tag: Option<String>,
    /// Lowest price in minor units.
    pub min_price: Option<String>,
    /// Highest price in minor units.
    pub max_price: Option<String>,
    /// `true`: only products with a variant available now.
    pub in_stock: Option<String>,
    /// `true`: only featured products.
    pub featured: Option<String>,
    /// newest, price, -price, name, -rating (relevance when searching)
    pub sort: Option<String>,
}

fn non_empty(v: Option<&String>) -> Option<&str> {
    v.map(|s| s.trim()).filter(|s| !s.is_empty())
}

impl ListParams {
    /// # Errors
    /// Field errors for unparsable prices, flags or sort.
    pub fn parse(&self) -> Result<ListFilter, FieldErrors> {
        let mut e = FieldErrors::new();
        let money = |e: &mut FieldErrors, field: &str, v: Option<&String>| {
            non_empty(v).and_then(|s| match s.parse::<i64>() {
                Ok(n) if n >= 0 => Some(n),
                _ => {
                    e.add(field, "Give a whole number of minor units, zero or more.");
                    None
                }
            })
        };
        let flag = |e: &mut FieldErrors, field: &str, v: Option<&String>| match non_empty(v) {
            None | Some("false" | "0" | "off") => false,
            Some("true" | "1" | "on") => true,
            Some(_) => {
                e.add(field, "Use true or false.");
                false
            }
        };
        let min_price = money(&mut e, "min_price", self.min_price.as_ref());
        let max_price = money(&mut e, "max_price", self.max_price.as_ref());
        if let (Some(lo), Some(hi)) = (min_price, max_price) {
            if lo > hi {
                e.add("max_price", "Must not be below the minimum price.");
            }
        }
        let sort = match non_empty(self.sort.as_ref()) {
            None => None,
            Some(s) => Sort::parse(s).map_err(|m| e.add("sort", m)).ok(),
        };
        let text_ref =
            |v: Option<&String>| non_empty(v).map(|s| s.chars().take(MAX_SLUG).collect());
        let filter = ListFilter {
            terms: SearchTerms::parse(self.q.as_deref().unwrap_or("")),
            category: text_ref(self.category.as_ref()),
            brand: text_ref(self.brand.as_ref()),
            tag: text_ref(self.tag.as_ref()).map(|t: String| slugify(&t)),
            min_price,
            max_price,
            in_stock: flag(&mut e, "in_stock", self.in_stock.as_ref()),
            featured: flag(&mut e, "featured", self.featured.as_ref()),
            sort,
            include_inactive: false,
            only_inactive: false,
        };
        e.into_result()?;
        Ok(filter)
    }
}

impl ListFilter {
    /// The order actually applied: relevance is only meaningful with search text.
    #[must_use]
    pub fn effective_sort(&self) -> Sort {
        match self.sort {
            Some(Sort::Relevance) | None if !self.terms.is_empty() => Sort::Relevance,
            Some(Sort::Relevance) | None => Sort::Newest,
            Some(s) => s,
        }
    }
}

/// Options in the admin form's notation, one per line: `Size: S, M, L`.
///
/// # Errors
/// A message naming the first line that has no `:` or no values. The declarations themselves
/// are checked by [`options`].
pub fn parse_option_lines(text: &str) -> Result<Vec<ProductOption>, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let (name, values) = line
                .split_once(':')
                .ok_or_else(|| format!("Write “{line}” as “Name: value, value”."))?;
            let values: Vec<String> = values
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect();
            if values.is_empty() {
                return Err(format!("“{}” needs at least one value.", name.trim()));
            }
            Ok(ProductOption {
                name: name.trim().to_string(),
                values,
            })
        })
        .collect()
}

/// The inverse of [`parse_option_lines`].
#[must_use]
pub fn option_lines(options: &[ProductOption]) -> String {
    options
        .iter()
        .map(|o| format!("{}: {}", o.name, o.values.join(", ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every combination of the option values, first option varying slowest; at most
/// [`MAX_VARIANTS`] (the rest are left for the shop owner to add one by one).
#[must_use]
pub fn combinations(options: &[ProductOption]) -> Vec<BTreeMap<String, String>> {
    let mut out = vec![BTreeMap::new()];
    for o in options {
        out = out
            .into_iter()
            .flat_map(|partial| {
                o.values.iter().map(move |v| {
                    let mut next = partial.clone();
                    next.insert(o.name.clone(), v.clone());
                    next
                })
            })
            .take(MAX_VARIANTS)
            .collect();
    }
    if options.is_empty() {
        out.clear();
    }
    out
}

/// The SKU a product gets when none is typed: its name in capitals ("Trail Tee" → TRAIL-TEE).
#[must_use]
pub fn sku_from_name(name: &str) -> String {
    slugify(name)
        .to_ascii_uppercase()
        .chars()
        .take(MAX_SKU)
        .collect()
}

/// One variant per combination of the options (see [`combinations`]), each with a SKU made
/// from `base` and the same price, stock and threshold; callers adjust single ones after.
#[must_use]
pub fn variants_for(
    base: &str,
    options: &[ProductOption],
    price_cents: i64,
    stock: i64,
    low_stock_threshold: Option<i64>,
    weight_grams: Option<i64>,
) -> Vec<VariantInput> {
    combinations(options)
        .into_iter()
        .map(|combo| VariantInput {
            sku: combination_sku(base, options, &combo),
            options: combo,
            price_cents,
            stock,
            low_stock_threshold,
            weight_grams,
        })
        .collect()
}

/// A SKU for one combination: the base SKU and each value in option order ("TEE-M-BLUE").
#[must_use]
pub fn combination_sku(
    base: &str,
    options: &[ProductOption],
    combo: &BTreeMap<String, String>,
) -> String {
    let mut sku = base.trim().to_string();
    for o in options {
        if let Some(v) = combo.get(&o.name) {
            let part = slugify(v).to_ascii_uppercase();
            sku.push('-');
            sku.push_str(if part.is_empty() { "X" } else { &part });
        }
    }
    sku.chars().take(MAX_SKU).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_lines_round_trip_and_combine() {
        let opts = parse_option_lines("Size: S, M,L\n\n Colour : Blue, Light grey ,").unwrap();
        assert_eq!(
            opts,
            vec![
                ProductOption {
                    name: "Size".into(),
                    values: vec!["S".into(), "M".into(), "L".into()]
                },
                ProductOption {
                    name: "Colour".into(),
                    values: vec!["Blue".into(), "Light grey".into()]
                },
            ]
        );
        assert_eq!(
            option_lines(&opts),
            "Size: S, M, L\nColour: Blue, Light grey"
        );
        assert!(parse_option_lines("Size S, M").is_err());
        assert!(parse_option_lines("Size: , ").is_err());
        let combos = combinations(&opts);
        assert_eq!(combos.len(), 6);
        assert_eq!(combos[1]["Size"], "S");
        assert_eq!(combos[1]["Colour"], "Light grey");
        assert_eq!(
            combination_sku("TEE", &opts, &combos[1]),
            "TEE-S-LIGHT-GREY"
        );
        let variants = variants_for("TEE", &opts, 900, 2, None, Some(250));
        assert_eq!(variants.len(), 6);
        assert_eq!(variants[1].sku, "TEE-S-LIGHT-GREY");
        assert_eq!(variants[1].options, combos[1]);
        assert_eq!((variants[5].price_cents, variants[5].stock), (900, 2));
        assert_eq!(sku_from_name("Chef's Knife 20 cm"), "CHEF-S-KNIFE-20-CM");
        assert!(combinations(&[]).is_empty());
        let many = ProductOption {
            name: "N".into(),
            values: (0..30).map(|i| i.to_string()).collect(),
        };
        assert_eq!(combinations(&[many.clone(), many]).len(), MAX_VARIANTS);
    }

    #[test]
    fn slugify_folds_accents_and_punctuation() {
        assert_eq!(slugify("Café Crème 2.0"), "cafe-creme-2-0");
        assert_eq!(slugify("  --Hello,  World!-- "), "hello-world");
        assert_eq!(slugify("日本"), "");
    }

    #[test]
    fn search_terms_strip_query_syntax() {
        let t = SearchTerms::parse(r#"Blue "shirt" OR NEAR(x)* -cotton"#);
        assert_eq!(t.0, vec!["blue", "shirt", "near", "x", "cotton"]);
        assert_eq!(t.fts5(), r#""blue"* "shirt"* "near"* "x"* "cotton"*"#);
        assert!(
            SearchTerms::parse("the and of").is_empty(),
            "stop words only"
        );
        assert_eq!(SearchTerms::parse("x b").tsquery(), "x:* & b:*");
        assert!(SearchTerms::parse(" !!! ").is_empty());
        assert_eq!(SearchTerms::parse(&"w ".repeat(20)).0.len(), 8);
    }

    fn opts() -> Vec<ProductOption> {
        vec![ProductOption {
            name: "Size".into(),
            values: vec!["S".into(), "M".into()],
        }]
    }

    #[test]
    fn flat_product_becomes_one_variant() {
        let input = ProductInput {
            name: "Mug".into(),
            sku: Some("MUG-1".into()),
            price_cents: Some(1200),
            stock: Some(3),
            active: true,
            ..Default::default()
        };
        let d = input.parse().unwrap();
        assert_eq!(d.text.slug, "mug");
        assert_eq!(d.sku, "MUG-1");
        assert_eq!(d.variants.len(), 1);
        assert_eq!(d.variants[0].price_cents, 1200);
        assert_eq!(d.variants[0].low_stock_threshold, 5);
    }

    #[test]
    fn bad_flat_product_names_each_field() {
        let input = ProductInput {
            name: " ".into(),
            sku: Some("has space".into()),
            price_cents: Some(-5),
            stock: Some(-1),
            tags: vec!["ok".into(), String::new()],
            ..Default::default()
        };
        let e = input.parse().unwrap_err();
        for f in ["name", "sku", "price_cents", "stock", "tags"] {
            assert!(e.0.contains_key(f), "{f} missing in {e:?}");
        }
        let missing_price = ProductInput {
            name: "x".into(),
            sku: Some("X".into()),
            ..Default::default()
        };
        assert_eq!(
            missing_price.parse().unwrap_err().0["price_cents"],
            vec!["This field is required."]
        );
    }

    #[test]
    fn variant_options_must_match_declarations() {
        let mut e = FieldErrors::new();
        let given = BTreeMap::from([("size".to_string(), "m".to_string())]);
        let got = variant_options(&mut e, "o", &opts(), &given);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(got["Size"], "M");

        let mut e = FieldErrors::new();
        let given = BTreeMap::from([("Colour".to_string(), "red".to_string())]);
        variant_options(&mut e, "o", &opts(), &given);
        assert_eq!(e.0["o"].len(), 2, "{e:?}");

        let mut e = FieldErrors::new();
        variant_options(
            &mut e,
            "o",
            &opts(),
            &BTreeMap::from([("Size".into(), "XL".into())]),
        );
        assert!(e.0["o"][0].contains("use one of S, M"));
    }

    #[test]
    fn variant_product_rejects_duplicates() {
        let v = |sku: &str, size: &str| VariantInput {
            sku: sku.into(),
            options: BTreeMap::from([("Size".into(), size.into())]),
            price_cents: 100,
            stock: 1,
            low_stock_threshold: None,
            weight_grams: None,
        };
        let input = ProductInput {
            name: "Tee".into(),
            options: opts(),
            variants: vec![v("T-S", "S"), v("t-s", "S")],
            ..Default::default()
        };
        let e = input.parse().unwrap_err();
        assert!(e.0.contains_key("variants[1].sku"));
        assert!(e.0.contains_key("variants[1].options"));
        let ok = ProductInput {
            name: "Tee".into(),
            options: opts(),
            variants: vec![v("T-S", "S"), v("T-M", "M")],
            ..Default::default()
        };
        let d = ok.parse().unwrap();
        assert_eq!(d.sku, "T-S-BASE");
        assert_eq!(d.variants.len(), 2);
    }

    #[test]
    fn list_params_parse_and_default_sort() {
        let p = ListParams {
            q: Some("shirt".into()),
            min_price: Some("100".into()),
            max_price: Some("50".into()),
            in_stock: Some("maybe".into()),
            sort: Some("cheapest".into()),
            ..Default::default()
        };
        let e = p.parse().unwrap_err();
        for f in ["max_price", "in_stock", "sort"] {
            assert!(e.0.contains_key(f), "{f}");
        }
        let f = ListParams {
            q: Some("shirt".into()),
            ..Default::default()
        }
        .parse()
        .unwrap();
        assert_eq!(f.effective_sort(), Sort::Relevance);
        assert_eq!(ListFilter::default().effective_sort(), Sort::Newest);
    }
}
