//! Field-level validation errors, shared by every form and JSON body.
use std::collections::BTreeMap;

use serde::Serialize;

/// Messages per field name; rendered as API.md's `details` and next to HTML form fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(pub BTreeMap<String, Vec<String>>);

impl FieldErrors {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    #[must_use]
    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new();
        e.add(field, message);
        e
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_string())
            .or_default()
            .push(message.into());
    }

    /// Adds every message of `other`.
    pub fn merge(&mut self, other: Self) {
        for (field, messages) in other.0 {
            self.0.entry(field).or_default().extend(messages);
        }
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was recorded, so a parser can end with `errors.into_result()?`.
    ///
    /// # Errors
    /// Returns `self` when any field has a message.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// Checks a required, length-limited text field and returns it trimmed.
    pub fn text(&mut self, field: &str, value: &str, max_chars: usize) -> String {
        let v = value.trim();
        if v.contains('\0') {
            // PostgreSQL text cannot hold it; nothing a person types contains it.
            self.add(field, "Must not contain a NUL character.");
        } else if v.is_empty() {
            self.add(field, "This field is required.");
        } else if v.chars().count() > max_chars {
            self.add(field, format!("Must be at most {max_chars} characters."));
        }
        v.to_string()
    }

    /// Reads an optional whole number typed into a form: `None` when empty or unreadable (then
    /// with a message under `field`). Ranges are checked by the rule that uses it.
    pub fn whole_number(&mut self, field: &str, value: &str) -> Option<i64> {
        let v = value.trim();
        if v.is_empty() {
            return None;
        }
        let n = v.parse::<i64>().ok();
        if n.is_none() {
            self.add(field, "Enter a whole number.");
        }
        n
    }

    /// Checks an optional, length-limited text field and returns it trimmed.
    pub fn optional_text(&mut self, field: &str, value: &str, max_chars: usize) -> String {
        let v = value.trim();
        if v.contains('\0') {
            self.add(field, "Must not contain a NUL character.");
        } else if v.chars().count() > max_chars {
            self.add(field, format!("Must be at most {max_chars} characters."));
        }
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rejects_blank_and_overlong_values() {
        let mut e = FieldErrors::new();
        assert_eq!(e.text("a", "  x ", 5), "x");
        e.text("b", "   ", 5);
        e.text("c", "abcdef", 5);
        assert!(!e.0.contains_key("a"));
        assert_eq!(e.0["b"], vec!["This field is required."]);
        assert_eq!(e.0["c"], vec!["Must be at most 5 characters."]);
        e.text("d", "a\0b", 5);
        e.optional_text("e", "\0", 5);
        assert_eq!(e.0["d"], vec!["Must not contain a NUL character."]);
        assert!(e.0.contains_key("e"));
        assert!(e.into_result().is_err());
    }
}
