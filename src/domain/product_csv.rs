//! The product CSV format, shared by the export and the import (PRODUCT.md "Admin dashboard").
//!
//! One row per variant. Product columns repeat on every row of a product (the export writes
//! them all; an import may leave them empty after the first row, but may not contradict it).
//! Rows belong to the same product when they share `product_id`, or else `slug`, or else the
//! slug made from `name`.
//!
//! Import rules, stated on the import page too:
//! - A row with a `product_id` or an existing `slug` updates that product; other rows create.
//! - Within a product, a row with a `variant_id`, or a `sku` the product already has, updates
//!   that variant; other rows add variants. Variants that are not in the file are left alone.
//! - On an existing product an empty cell leaves the value as it is.
//! - The whole file is checked first; if any row has an error, nothing is changed and every
//!   error is reported with its line number.
use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::catalogue::{self, MAX_OPTIONS};

pub const COLUMNS: [&str; 23] = [
    "product_id",
    "slug",
    "name",
    "description",
    "seo_title",
    "seo_description",
    "category",
    "brand",
    "tags",
    "featured",
    "active",
    "option1_name",
    "option1_value",
    "option2_name",
    "option2_value",
    "option3_name",
    "option3_value",
    "variant_id",
    "sku",
    "price_cents",
    "stock",
    "low_stock_threshold",
    "weight_grams",
];

/// What is wrong with one line of the file (line 1 is the header).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineError {
    pub line: usize,
    pub messages: Vec<String>,
}

/// Errors collected while reading, one entry per line.
#[derive(Debug, Default)]
pub struct LineErrors(BTreeMap<usize, Vec<String>>);

impl LineErrors {
    pub fn add(&mut self, line: usize, message: impl Into<String>) {
        let list = self.0.entry(line).or_default();
        let m = message.into();
        if !list.contains(&m) {
            list.push(m);
        }
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many lines have errors.
    #[must_use]
    pub fn line_count(&self) -> usize {
        self.0.len()
    }

    #[must_use]
    pub fn into_list(self) -> Vec<LineError> {
        self.0
            .into_iter()
            .map(|(line, messages)| LineError { line, messages })
            .collect()
    }
}

/// How rows find their product.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProductKey {
    Id(Uuid),
    Slug(String),
}

/// Product-level cells; `None` for an empty cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductCells {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    pub category: Option<String>,
    pub brand: Option<String>,
    pub tags: Option<Vec<String>>,
    pub featured: Option<bool>,
    pub active: Option<bool>,
}

/// One variant row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantRow {
    pub line: usize,
    pub variant_id: Option<Uuid>,
    pub sku: Option<String>,
    /// Option name → value, in the product's option order.
    pub options: Vec<(String, String)>,
    pub price_cents: Option<i64>,
    pub stock: Option<i64>,
    pub low_stock_threshold: Option<i64>,
    /// `None` when the file has no such column (files from before it keep weights as they
    /// are); `Some(None)` for an empty cell, which an export writes for "no weight".
    pub weight_grams: Option<Option<i64>>,
}

impl VariantRow {
    #[must_use]
    pub fn option_map(&self) -> BTreeMap<String, String> {
        self.options.iter().cloned().collect()
    }
}

/// The rows of one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRows {
    pub key: ProductKey,
    pub first_line: usize,
    pub product: ProductCells,
    /// Option names in order, as the first row declares them.
    pub option_names: Vec<String>,
    pub variants: Vec<VariantRow>,
}

impl ProductRows {
    /// Declared options: each name with its values in order of first appearance.
    #[must_use]
    pub fn options(&self) -> Vec<catalogue::ProductOption> {
        self.option_names
            .iter()
            .map(|name| {
                let mut values: Vec<String> = Vec::new();
                for v in &self.variants {
                    if let Some((_, value)) = v.options.iter().find(|(n, _)| n == name) {
                        if !values.iter().any(|x| x.eq_ignore_ascii_case(value)) {
                            values.push(value.clone());
                        }
                    }
                }
                catalogue::ProductOption {
                    name: name.clone(),
                    values,
                }
            })
            .collect()
    }
}

/// A spreadsheet cell as typed: trimmed, with our export's formula guard (a leading `'`
/// before `= + - @`) taken off again.
fn clean(raw: &str) -> String {
    let t = raw.trim();
    match t.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest.to_string(),
        _ => t.to_string(),
    }
}

fn flag(errors: &mut LineErrors, line: usize, column: &str, v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "" => None,
        "true" | "yes" | "1" | "y" => Some(true),
        "false" | "no" | "0" | "n" => Some(false),
        _ => {
            errors.add(line, format!("{column}: use true or false."));
            None
        }
    }
}

fn number(errors: &mut LineErrors, line: usize, column: &str, v: &str) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    let n = v.parse::<i64>().ok();
    if n.is_none() {
        errors.add(line, format!("{column}: enter a whole number."));
    }
    n
}

fn uuid(errors: &mut LineErrors, line: usize, column: &str, v: &str) -> Option<Uuid> {
    if v.is_empty() {
        return None;
    }
    let id = Uuid::parse_str(v).ok();
    if id.is_none() {
        errors.add(line, format!("{column}: not an id from an export."));
    }
    id
}

fn some(v: String) -> Option<String> {
    (!v.is_empty()).then_some(v)
}

/// Reads a whole file into products, with every problem found by line: unknown or missing
/// columns, unreadable rows, bad cells, rows that contradict their product's first row, too
/// many rows. A row with a problem is left out of the products (so that checking the rest
/// can still report their own problems).
#[must_use]
pub fn read(bytes: &[u8], max_rows: usize) -> (Vec<ProductRows>, LineErrors) {
    let mut errors = LineErrors::default();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(bytes);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h
            .iter()
            .map(|c| c.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect(),
        Err(e) => {
            errors.add(1, format!("The header row cannot be read: {e}"));
            return (Vec::new(), errors);
        }
    };
    for h in &headers {
        if !h.is_empty() && !COLUMNS.contains(&h.as_str()) {
            errors.add(1, format!("Unknown column \"{h}\"."));
        }
    }
    let has = |c: &str| headers.iter().any(|h| h == c);
    if !has("sku") {
        errors.add(1, "The column \"sku\" is required.");
    }
    if !has("name") && !has("slug") && !has("product_id") {
        errors.add(1, "Give a \"name\", \"slug\" or \"product_id\" column.");
    }
    if !errors.is_empty() {
        return (Vec::new(), errors);
    }

    let mut products: Vec<ProductRows> = Vec::new();
    let mut index: HashMap<ProductKey, usize> = HashMap::new();
    let mut rows = 0usize;
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.add(line, format!("This row cannot be read: {e}"));
                continue;
            }
        };
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        rows += 1;
        if rows > max_rows {
            errors.add(line, format!("A file has at most {max_rows} rows."));
            break;
        }
        if record.len() != headers.len() {
            errors.add(
                line,
                format!(
                    "This row has {} cells; the header has {}.",
                    record.len(),
                    headers.len()
                ),
            );
            continue;
        }
        let cell = |name: &str| -> String {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|p| record.get(p))
                .map(clean)
                .unwrap_or_default()
        };
        let product = ProductCells {
            slug: some(cell("slug")),
            name: some(cell("name")),
            description: some(cell("description")),
            seo_title: some(cell("seo_title")),
            seo_description: some(cell("seo_description")),
            category: some(cell("category")),
            brand: some(cell("brand")),
            tags: some(cell("tags")).map(|t| {
                t.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            }),
            featured: flag(&mut errors, line, "featured", &cell("featured")),
            active: flag(&mut errors, line, "active", &cell("active")),
        };
        let product_id = uuid(&mut errors, line, "product_id", &cell("product_id"));
        let key = if let Some(id) = product_id {
            ProductKey::Id(id)
        } else if let Some(s) = &product.slug {
            ProductKey::Slug(s.clone())
        } else if let Some(n) = &product.name {
            ProductKey::Slug(catalogue::slugify(n))
        } else {
            errors.add(line, "Give a product_id, slug or name.");
            continue;
        };
        let mut names = Vec::new();
        let mut options = Vec::new();
        for n in 1..=MAX_OPTIONS {
            let name = cell(&format!("option{n}_name"));
            let value = cell(&format!("option{n}_value"));
            match (name.is_empty(), value.is_empty()) {
                (true, true) => {}
                (false, false) => {
                    names.push(name.clone());
                    options.push((name, value));
                }
                (false, true) => {
                    errors.add(line, format!("option{n}_value: give a value for {name}."))
                }
                (true, false) => errors.add(
                    line,
                    format!("option{n}_name: name the option of \"{value}\"."),
                ),
            }
        }
        let variant = VariantRow {
            line,
            variant_id: uuid(&mut errors, line, "variant_id", &cell("variant_id")),
            sku: some(cell("sku")),
            options,
            price_cents: number(&mut errors, line, "price_cents", &cell("price_cents")),
            stock: number(&mut errors, line, "stock", &cell("stock")),
            low_stock_threshold: number(
                &mut errors,
                line,
                "low_stock_threshold",
                &cell("low_stock_threshold"),
            ),
            weight_grams: has("weight_grams")
                .then(|| number(&mut errors, line, "weight_grams", &cell("weight_grams"))),
        };
        if errors.0.contains_key(&line) {
            continue;
        }
        if let Some(&at) = index.get(&key) {
            let group = &mut products[at];
            merge(
                &mut errors,
                line,
                group.first_line,
                &mut group.product,
                product,
            );
            let same_names = group.option_names.len() == names.len()
                && group
                    .option_names
                    .iter()
                    .zip(&names)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b));
            if !same_names {
                errors.add(
                    line,
                    format!(
                        "The options ({}) differ from line {} of this product ({}).",
                        names.join(", "),
                        group.first_line,
                        group.option_names.join(", ")
                    ),
                );
            }
            if !errors.0.contains_key(&line) {
                group.variants.push(variant);
            }
        } else {
            index.insert(key.clone(), products.len());
            products.push(ProductRows {
                key,
                first_line: line,
                product,
                option_names: names,
                variants: vec![variant],
            });
        }
    }
    if rows == 0 && errors.is_empty() {
        errors.add(2, "The file has no product rows.");
    }
    (products, errors)
}

/// Takes the first value of each product cell; a later row may repeat it or leave it empty.
fn merge(
    errors: &mut LineErrors,
    line: usize,
    first: usize,
    into: &mut ProductCells,
    row: ProductCells,
) {
    fn one<T: PartialEq>(
        errors: &mut LineErrors,
        line: usize,
        first: usize,
        column: &str,
        into: &mut Option<T>,
        given: Option<T>,
    ) {
        match (into.as_ref(), given) {
            (_, None) => {}
            (None, Some(v)) => *into = Some(v),
            (Some(a), Some(b)) if *a == b => {}
            (Some(_), Some(_)) => errors.add(
                line,
                format!("{column} differs from line {first} of the same product."),
            ),
        }
    }
    one(errors, line, first, "slug", &mut into.slug, row.slug);
    one(errors, line, first, "name", &mut into.name, row.name);
    one(
        errors,
        line,
        first,
        "description",
        &mut into.description,
        row.description,
    );
    one(
        errors,
        line,
        first,
        "seo_title",
        &mut into.seo_title,
        row.seo_title,
    );
    one(
        errors,
        line,
        first,
        "seo_description",
        &mut into.seo_description,
        row.seo_description,
    );
    one(
        errors,
        line,
        first,
        "category",
        &mut into.category,
        row.category,
    );
    one(errors, line, first, "brand", &mut into.brand, row.brand);
    one(errors, line, first, "tags", &mut into.tags, row.tags);
    one(
        errors,
        line,
        first,
        "featured",
        &mut into.featured,
        row.featured,
    );
    one(errors, line, first, "active", &mut into.active, row.active);
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "product_id,slug,name,description,category,brand,tags,featured,active,option1_name,option1_value,option2_name,option2_value,sku,price_cents,stock";

    #[test]
    fn rows_of_one_product_are_grouped_with_their_options() {
        let csv = format!(
            "{HEADER}\n,tee,Tee,\"Soft, light\",shirts,,\"summer, sale\",yes,true,Size,S,Colour,Red,TEE-S-R,1999,5\n\
             ,tee,,,,,,,,Size,M,Colour,Red,TEE-M-R,1999,0\n\
             ,,Mug,'- handmade,,,,,,,,,,MUG,900,3\n"
        );
        let (products, errors) = read(csv.as_bytes(), 100);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(products.len(), 2);
        let tee = &products[0];
        assert_eq!(tee.key, ProductKey::Slug("tee".into()));
        assert_eq!(tee.product.description.as_deref(), Some("Soft, light"));
        assert_eq!(tee.product.tags, Some(vec!["summer".into(), "sale".into()]));
        assert_eq!(tee.product.featured, Some(true));
        assert_eq!(tee.variants.len(), 2);
        assert_eq!(tee.variants[1].line, 3);
        let opts = tee.options();
        assert_eq!(opts[0].name, "Size");
        assert_eq!(opts[0].values, vec!["S", "M"]);
        assert_eq!(opts[1].values, vec!["Red"]);
        let mug = &products[1];
        assert_eq!(mug.key, ProductKey::Slug("mug".into()));
        assert!(mug.option_names.is_empty());
        // The export's formula guard is undone.
        assert_eq!(mug.product.description.as_deref(), Some("- handmade"));
        assert_eq!(mug.variants[0].price_cents, Some(900));
        assert_eq!(
            mug.variants[0].weight_grams, None,
            "without the column, weights are left as they are"
        );
    }

    #[test]
    fn a_weight_cell_sets_an_empty_one_clears_and_a_bad_one_is_reported() {
        let csv = format!(
            "{HEADER},weight_grams\n,a,A,,,,,,,,,,,A1,100,1,250\n,b,B,,,,,,,,,,,B1,100,1,\n\
             ,c,C,,,,,,,,,,,C1,100,1,heavy\n"
        );
        let (products, errors) = read(csv.as_bytes(), 100);
        assert_eq!(products[0].variants[0].weight_grams, Some(Some(250)));
        assert_eq!(products[1].variants[0].weight_grams, Some(None));
        let errors = errors.into_list();
        assert_eq!(errors[0].line, 4);
        assert!(
            errors[0].messages[0].starts_with("weight_grams"),
            "{errors:?}"
        );
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number() {
        let csv = format!(
            "{HEADER}\n,tee,Tee,,,,,yes,,Size,S,,,TEE-S,100,1\n\
             ,tee,Other name,,,,,,,Colour,Red,,,TEE-R,100,1\n\
             ,,,,,,,,,,,,,X,1,1\n\
             ,a,A,,,,,,,,,,,A1,1\n\
             ,b,B,,,,,maybe,,,,,,B1,abc,1\n"
        );
        let (products, errors) = read(csv.as_bytes(), 100);
        let errors = errors.into_list();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6]);
        assert!(errors[0]
            .messages
            .iter()
            .any(|m| m.contains("name differs from line 2")));
        assert!(errors[0].messages.iter().any(|m| m.contains("options")));
        assert_eq!(errors[1].messages, vec!["Give a product_id, slug or name."]);
        assert!(errors[2].messages[0].contains("cells"));
        assert!(errors[3].messages.iter().any(|m| m.starts_with("featured")));
        assert!(errors[3]
            .messages
            .iter()
            .any(|m| m.starts_with("price_cents")));
        // Lines with errors are left out, so checking the rest cannot trip over them.
        assert_eq!(products.len(), 1);
        assert_eq!(products[0].variants.len(), 1);
    }

    #[test]
    fn the_header_is_checked_before_any_row() {
        let e = read(b"name,colour\nTee,red\n", 10).1.into_list();
        assert_eq!(e[0].line, 1);
        assert!(e[0].messages.iter().any(|m| m.contains("colour")));
        assert!(e[0].messages.iter().any(|m| m.contains("sku")));
        let too_many = read(b"name,sku\na,A\nb,B\nc,C\n", 2).1.into_list();
        assert_eq!(too_many[0].line, 4);
        assert_eq!(
            read(b"name,sku\n", 2).1.into_list()[0].messages,
            vec!["The file has no product rows."]
        );
    }
}
