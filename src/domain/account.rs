//! Account commands parsed at the edge: registration, profile, address, password policy.
use super::{email::Email, role::Role, validation::FieldErrors};

pub const NAME_MAX: usize = 100;
pub const PASSWORD_MIN: usize = 10;
/// argon2 hashes any length, but an unbounded password is a cheap CPU-exhaustion attack.
pub const PASSWORD_MAX: usize = 128;

/// API.md password policy: at least 10 characters, not all digits, not the e-mail address.
pub fn check_password(errors: &mut FieldErrors, field: &str, password: &str, email: Option<&str>) {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN {
        errors.add(
            field,
            format!("Must be at least {PASSWORD_MIN} characters."),
        );
    } else if chars > PASSWORD_MAX {
        errors.add(field, format!("Must be at most {PASSWORD_MAX} characters."));
    } else if password.chars().all(|c| c.is_ascii_digit()) {
        errors.add(field, "Must not be all digits.");
    } else if email.is_some_and(|e| password.trim().eq_ignore_ascii_case(e)) {
        errors.add(field, "Must not be your e-mail address.");
    }
}

fn parse_email(errors: &mut FieldErrors, raw: &str) -> Option<Email> {
    match Email::parse(raw) {
        Ok(e) => Some(e),
        Err(msg) => {
            errors.add("email", msg);
            None
        }
    }
}

/// A new account, from `POST /auth/register`, the register page or `create_user`.
#[derive(Debug, Clone)]
pub struct Registration {
    pub email: Email,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
}

impl Registration {
    /// # Errors
    /// Every field problem at once, keyed by field name.
    pub fn parse(
        email: &str,
        password: &str,
        first_name: &str,
        last_name: &str,
        role: Role,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let email = parse_email(&mut errors, email);
        check_password(
            &mut errors,
            "password",
            password,
            email.as_ref().map(Email::as_str),
        );
        let first_name = errors.text("first_name", first_name, NAME_MAX);
        let last_name = errors.text("last_name", last_name, NAME_MAX);
        errors.into_result()?;
        Ok(Self {
            email: email.expect("checked above"),
            password: password.to_string(),
            first_name,
            last_name,
            role,
        })
    }
}

/// A partial profile update (`PATCH /me`): absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

impl ProfileUpdate {
    /// # Errors
    /// Field messages for blank or overlong names.
    pub fn parse(first_name: Option<&str>, last_name: Option<&str>) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let first_name = first_name.map(|v| errors.text("first_name", v, NAME_MAX));
        let last_name = last_name.map(|v| errors.text("last_name", v, NAME_MAX));
        errors.into_result()?;
        Ok(Self {
            first_name,
            last_name,
        })
    }
}

/// A postal address as API.md's `/me/address` object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// Who receives it; empty when the API left it out (the account holder, then).
    pub name: String,
    /// Optional.
    pub company: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper-case.
    pub country: String,
    pub phone: String,
}

impl Address {
    /// # Errors
    /// Field messages for missing or malformed parts.
    pub fn parse(
        line1: &str,
        line2: &str,
        city: &str,
        postal_code: &str,
        country: &str,
        phone: &str,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let line1 = errors.text("line1", line1, 200);
        let line2 = errors.optional_text("line2", line2, 200);
        let city = errors.text("city", city, 100);
        let postal_code = errors.text("postal_code", postal_code, 20);
        let country = country.trim().to_ascii_uppercase();
        if country.is_empty() {
            errors.add("country", "Choose a country.");
        } else if let Some(problem) = super::countries::problem(&country) {
            errors.add("country", problem);
        }
        let phone = errors.optional_text("phone", phone, 32);
        if !phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()/.".contains(c))
        {
            errors.add("phone", "May contain only digits, spaces and + - ( ) / .");
        }
        errors.into_result()?;
        Ok(Self {
            name: String::new(),
            company: String::new(),
            line1,
            line2,
            city,
            postal_code,
            country,
            phone,
        })
    }

    /// The address with who receives it: the name is required where a person types the
    /// address (`name_required`); the API may leave it out.
    ///
    /// # Errors
    /// The field messages of the recipient and of the address, together.
    #[allow(clippy::too_many_arguments)]
    pub fn parse_with_recipient(
        name: &str,
        company: &str,
        name_required: bool,
        line1: &str,
        line2: &str,
        city: &str,
        postal_code: &str,
        country: &str,
        phone: &str,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = if name_required {
            errors.text("name", name, 120)
        } else {
            errors.optional_text("name", name, 120)
        };
        let company = errors.optional_text("company", company, 120);
        let parsed = Self::parse(line1, line2, city, postal_code, country, phone);
        match parsed {
            Ok(a) => {
                errors.into_result()?;
                Ok(Self { name, company, ..a })
            }
            Err(e) => {
                errors.merge(e);
                Err(errors)
            }
        }
    }
}

/// Changes to some parts of an address; `None` keeps the part as it is.
#[derive(Debug, Clone, Default)]
pub struct AddressPatch {
    pub name: Option<String>,
    pub company: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
}

impl AddressPatch {
    /// Whether the patch changes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        [
            &self.name,
            &self.company,
            &self.line1,
            &self.line2,
            &self.city,
            &self.postal_code,
            &self.country,
            &self.phone,
        ]
        .iter()
        .all(|f| f.is_none())
    }

    /// `current` with the patch's parts, checked as a whole (the API may leave the name out).
    ///
    /// # Errors
    /// The field messages of the resulting address.
    pub fn apply(&self, current: &Address) -> Result<Address, FieldErrors> {
        let pick = |new: &Option<String>, old: &str| new.clone().unwrap_or_else(|| old.to_string());
        Address::parse_with_recipient(
            &pick(&self.name, &current.name),
            &pick(&self.company, &current.company),
            false,
            &pick(&self.line1, &current.line1),
            &pick(&self.line2, &current.line2),
            &pick(&self.city, &current.city),
            &pick(&self.postal_code, &current.postal_code),
            &pick(&self.country, &current.country),
            &pick(&self.phone, &current.phone),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password_errors(p: &str, email: Option<&str>) -> Vec<String> {
        let mut e = FieldErrors::new();
        check_password(&mut e, "password", p, email);
        e.0.remove("password").unwrap_or_default()
    }

    #[test]
    fn password_policy_matches_the_api_contract() {
        assert_eq!(
            password_errors("short", None),
            vec!["Must be at least 10 characters."]
        );
        assert_eq!(
            password_errors("1234567890", None),
            vec!["Must not be all digits."]
        );
        assert_eq!(
            password_errors("Ann@Example.com", Some("ann@example.com")),
            vec!["Must not be your e-mail address."]
        );
        assert!(password_errors(&"x".repeat(129), None)[0].contains("at most"));
        assert!(password_errors("correct horse battery", Some("ann@example.com")).is_empty());
    }

    #[test]
    fn registration_reports_every_bad_field_at_once() {
        let err = Registration::parse("nope", "123", " ", "", Role::Customer).unwrap_err();
        let fields: Vec<_> = err.0.keys().cloned().collect();
        assert_eq!(fields, ["email", "first_name", "last_name", "password"]);
    }

    #[test]
    fn a_patch_keeps_the_parts_it_does_not_name_and_checks_the_whole() {
        let current = Address::parse("1 Main St", "Flat 2", "Berlin", "10115", "DE", "").unwrap();
        let none = AddressPatch::default();
        assert!(none.is_empty());
        assert_eq!(none.apply(&current).unwrap(), current);
        let moved = AddressPatch {
            city: Some("Vienna".into()),
            country: Some("at".into()),
            ..AddressPatch::default()
        };
        assert!(!moved.is_empty());
        let a = moved.apply(&current).unwrap();
        assert_eq!((a.city.as_str(), a.country.as_str()), ("Vienna", "AT"));
        assert_eq!(a.line2, "Flat 2", "an unnamed part is kept");
        let bad = AddressPatch {
            line1: Some(" ".into()),
            ..AddressPatch::default()
        };
        let fields: Vec<_> = bad.apply(&current).unwrap_err().0.into_keys().collect();
        assert_eq!(fields, ["line1"]);
    }

    #[test]
    fn address_normalises_country_and_checks_phone() {
        let a = Address::parse("1 Main St", "", "Berlin", "10115", "de", "+49 30 123").unwrap();
        assert_eq!(a.country, "DE");
        let err = Address::parse("", "", "", "", "Germany", "call me").unwrap_err();
        let fields: Vec<_> = err.0.keys().cloned().collect();
        assert_eq!(fields, ["city", "country", "line1", "phone", "postal_code"]);
        let err = Address::parse_with_recipient(
            " ",
            "",
            true,
            "1 Main St",
            "",
            "Berlin",
            "10115",
            "ZZ",
            "",
        )
        .unwrap_err();
        let fields: Vec<_> = err.0.keys().cloned().collect();
        assert_eq!(fields, ["country", "name"], "both parts' messages at once");
        let a = Address::parse_with_recipient(
            " Ann Lee ",
            "",
            true,
            "1 Main St",
            "",
            "Berlin",
            "10115",
            "DE",
            "",
        )
        .unwrap();
        assert_eq!((a.name.as_str(), a.company.as_str()), ("Ann Lee", ""));
        assert!(Address::parse_with_recipient(
            "",
            "",
            false,
            "1 Main St",
            "",
            "Berlin",
            "10115",
            "DE",
            ""
        )
        .is_ok());
        for unassigned in ["ZZ", "UK", "XK"] {
            let err = Address::parse("1 Main St", "", "London", "N1", unassigned, "").unwrap_err();
            assert!(err.0.contains_key("country"), "{unassigned} is refused");
        }
    }
}
