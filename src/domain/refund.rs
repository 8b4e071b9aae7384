//! Why an order is refunded: a reason from a short list (what shops report on) and an optional
//! note, kept in the order's timeline.
use super::validation::FieldErrors;

/// The reasons offered to staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundReason {
    RequestedByCustomer,
    Damaged,
    NotDelivered,
    WrongItem,
    Duplicate,
    Fraudulent,
    Other,
}

impl RefundReason {
    pub const ALL: [Self; 7] = [
        Self::RequestedByCustomer,
        Self::Damaged,
        Self::NotDelivered,
        Self::WrongItem,
        Self::Duplicate,
        Self::Fraudulent,
        Self::Other,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RequestedByCustomer => "requested_by_customer",
            Self::Damaged => "damaged",
            Self::NotDelivered => "not_delivered",
            Self::WrongItem => "wrong_item",
            Self::Duplicate => "duplicate",
            Self::Fraudulent => "fraudulent",
            Self::Other => "other",
        }
    }

    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::RequestedByCustomer => "Requested by the customer",
            Self::Damaged => "Arrived damaged",
            Self::NotDelivered => "Not delivered",
            Self::WrongItem => "Wrong item sent",
            Self::Duplicate => "Duplicate order",
            Self::Fraudulent => "Fraudulent order",
            Self::Other => "Other",
        }
    }

    #[must_use]
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == code.trim())
    }
}

/// The reason as the timeline keeps it: a chosen reason (required, as staff give it) and a
/// note (required with "Other").
///
/// # Errors
/// Field messages for a missing or unknown reason and an over-long or missing note.
pub fn staff_reason(code: &str, note: &str) -> Result<String, FieldErrors> {
    let mut errors = FieldErrors::new();
    let reason = RefundReason::parse(code);
    if reason.is_none() {
        errors.add("reason", "Choose why the order is refunded.");
    }
    let note = errors.optional_text("note", note, 200);
    if reason == Some(RefundReason::Other) && note.is_empty() {
        errors.add("note", "Say why, as the reason is \"Other\".");
    }
    errors.into_result()?;
    let label = reason.map_or("", RefundReason::label);
    Ok(if note.is_empty() {
        label.to_string()
    } else {
        format!("{label}: {note}")
    })
}

/// A free-text reason as API clients give it (optional, one line).
///
/// # Errors
/// A field message for an over-long reason.
pub fn api_reason(reason: Option<&str>) -> Result<Option<String>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let text = errors.optional_text("reason", reason.unwrap_or_default(), 200);
    errors.into_result()?;
    Ok(Some(text).filter(|t| !t.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_give_a_listed_reason_and_explain_other() {
        assert_eq!(staff_reason("damaged", "").unwrap(), "Arrived damaged");
        assert_eq!(
            staff_reason("damaged", " box crushed ").unwrap(),
            "Arrived damaged: box crushed"
        );
        assert!(staff_reason("", "").unwrap_err().0.contains_key("reason"));
        assert!(staff_reason("because", "")
            .unwrap_err()
            .0
            .contains_key("reason"));
        assert!(staff_reason("other", "")
            .unwrap_err()
            .0
            .contains_key("note"));
        assert!(staff_reason("other", &"x".repeat(201))
            .unwrap_err()
            .0
            .contains_key("note"));
        assert_eq!(api_reason(Some("  ")).unwrap(), None);
        assert_eq!(api_reason(Some("late")).unwrap().as_deref(), Some("late"));
    }
}
