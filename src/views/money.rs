//! Money for people: integer minor units shown in the shop currency.

/// "€12.50", "$1,299.00", "12.50 CHF". Two decimals, thousands separated by commas.
#[must_use]
pub fn format(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let units = (abs / 100).to_string();
    let mut grouped = String::with_capacity(units.len() + units.len() / 3);
    for (i, c) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let amount = format!("{grouped}.{:02}", abs % 100);
    match currency {
        "EUR" => format!("{sign}€{amount}"),
        "USD" => format!("{sign}${amount}"),
        "GBP" => format!("{sign}£{amount}"),
        other => format!("{sign}{amount} {other}"),
    }
}

/// An amount for a form field: "12.50", "-0.05".
#[must_use]
pub fn plain(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Reads an amount typed into a form field: `None` when left empty, or when it cannot be read
/// (then a message is added under `field`).
pub fn read(
    errors: &mut crate::domain::validation::FieldErrors,
    field: &str,
    text: &str,
) -> Option<i64> {
    if text.trim().is_empty() {
        return None;
    }
    let cents = parse(text);
    if cents.is_none() {
        errors.add(field, "Enter an amount like 12 or 12.50.");
    }
    cents
}

/// Reads a shopper's price ("12", "12.5", "12,50") as minor units.
#[must_use]
pub fn parse(text: &str) -> Option<i64> {
    let t = text.trim().replace(',', ".");
    if t.is_empty() {
        return None;
    }
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if whole.len() > 12
        || frac.len() > 2
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    Some(whole * 100 + frac)
}

/// Reads a percentage typed into a form ("19", "5.5", "12,25") as basis points: `None` when
/// left empty, or when it cannot be read (then a message is added under `field`). Two decimals
/// at most, so the conversion is exact.
pub fn read_percent(
    errors: &mut crate::domain::validation::FieldErrors,
    field: &str,
    text: &str,
) -> Option<i64> {
    if text.trim().is_empty() {
        return None;
    }
    // A percentage with two decimals is a count of hundredths, exactly as an amount is.
    let bp = parse(text.trim().trim_end_matches('%').trim_end());
    if bp.is_none() {
        errors.add(field, "Enter a percentage like 19 or 5.5.");
    }
    bp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(format(1250, "EUR"), "€12.50");
        assert_eq!(format(129_900, "USD"), "$1,299.00");
        assert_eq!(format(5, "CHF"), "0.05 CHF");
        assert_eq!(format(100_000_000, "GBP"), "£1,000,000.00");
        assert_eq!(plain(1250), "12.50");
        assert_eq!(plain(7), "0.07");
        assert_eq!(parse(&plain(123_456)), Some(123_456));
        assert_eq!(parse("12"), Some(1200));
        assert_eq!(parse("12,5"), Some(1250));
        assert_eq!(parse(".99"), Some(99));
        assert_eq!(parse("1.234"), None);
        assert_eq!(parse("-3"), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn percentages_read_as_exact_basis_points() {
        let mut e = crate::domain::validation::FieldErrors::new();
        assert_eq!(read_percent(&mut e, "rate", "19"), Some(1900));
        assert_eq!(read_percent(&mut e, "rate", "5.5 %"), Some(550));
        assert_eq!(read_percent(&mut e, "rate", ""), None);
        assert!(e.is_empty());
        assert_eq!(read_percent(&mut e, "rate", "lots"), None);
        assert!(e.0.contains_key("rate"));
    }
}
