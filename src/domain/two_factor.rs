//! Two-factor login for staff (PRODUCT.md "Customers"): TOTP codes (RFC 6238: SHA-1, six
//! digits, 30-second steps, as every authenticator app expects), recovery codes, and the QR
//! code of the enrolment page.
//!
//! Design:
//! - A code is accepted for the current step or one step either side (clock drift), and only
//!   for a step later than the last one accepted: a code cannot be used twice, even within its
//!   30 seconds. The caller stores the returned step.
//! - Recovery codes are random, shown once, stored as SHA-256 hashes and used once; they are
//!   compared after removing spaces and hyphens and lower-casing, so "ABCDE-FGHIJ" and
//!   "abcde fghij" are the same code.
use qrcodegen::{QrCode, QrCodeEcc};
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, TOTP};

use super::secrets::constant_time_eq;

pub const STEP_SECS: u64 = 30;
pub const DIGITS: usize = 6;
pub const RECOVERY_CODES: usize = 10;
/// 160-bit secrets, as RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;

/// A user's authenticator: the shared secret with the labels the app shows.
pub struct Authenticator(TOTP);

impl Authenticator {
    /// # Errors
    /// A secret shorter than 128 bits.
    pub fn new(secret: Vec<u8>, issuer: &str, account: &str) -> Result<Self, String> {
        // The otpauth label is "issuer:account"; a colon inside either would split it wrongly.
        let issuer = issuer.replace(':', " ");
        let account = account.replace(':', " ");
        TOTP::new(
            Algorithm::SHA1,
            DIGITS,
            1,
            STEP_SECS,
            secret,
            Some(issuer),
            account,
        )
        .map(Self)
        .map_err(|e| e.to_string())
    }

    /// From the base32 text stored for the user.
    ///
    /// # Errors
    /// Text that is not base32, or too short a secret.
    pub fn from_base32(secret: &str, issuer: &str, account: &str) -> Result<Self, String> {
        let bytes = totp_rs::Secret::Encoded(secret.to_string())
            .to_bytes()
            .map_err(|e| e.to_string())?;
        Self::new(bytes, issuer, account)
    }

    #[must_use]
    pub fn secret_base32(&self) -> String {
        self.0.get_secret_base32()
    }

    /// The `otpauth://totp/…` address the QR code carries.
    #[must_use]
    pub fn otpauth_url(&self) -> String {
        self.0.get_url()
    }

    /// The code for the step that contains `unix` seconds.
    #[must_use]
    pub fn code_at(&self, unix: u64) -> String {
        self.0.generate(unix)
    }

    /// The step of `code` when it is valid at `now` (within one step) and later than `after`.
    #[must_use]
    pub fn verify(&self, code: &str, now: u64, after: Option<i64>) -> Option<i64> {
        let code: String = code.chars().filter(char::is_ascii_digit).collect();
        if code.len() != DIGITS {
            return None;
        }
        let current = now / STEP_SECS;
        // Each candidate is compared, matched or not, so timing says nothing about which.
        let mut found = None;
        for step in [current.saturating_sub(1), current, current + 1] {
            let ok = constant_time_eq(
                self.0.generate(step * STEP_SECS).as_bytes(),
                code.as_bytes(),
            );
            let step = i64::try_from(step).unwrap_or(i64::MAX);
            if ok && after.is_none_or(|a| step > a) {
                found = Some(step);
            }
        }
        found
    }
}

/// A recovery code from 50 random bits: ten base32 letters and digits in two groups.
#[must_use]
pub fn recovery_code(random: [u8; 8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut n = u64::from_le_bytes(random);
    let mut out = String::with_capacity(11);
    for i in 0..10 {
        if i == 5 {
            out.push('-');
        }
        out.push(ALPHABET[(n & 31) as usize] as char);
        n >>= 5;
    }
    out
}

/// A recovery code as typed, reduced to what was issued.
#[must_use]
pub fn normalise_recovery(input: &str) -> String {
    input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// What is stored for a recovery code.
#[must_use]
pub fn recovery_hash(input: &str) -> String {
    hex::encode(Sha256::digest(normalise_recovery(input).as_bytes()))
}

/// Whether the text typed at login is a recovery code (ten characters) rather than a TOTP
/// code (six digits).
#[must_use]
pub fn is_recovery_code(input: &str) -> bool {
    normalise_recovery(input).len() == 10
}

/// `text` as a QR code in SVG, one path of dark modules with a quiet zone of four, for
/// inline use (no script, no image request).
#[must_use]
pub fn qr_svg(text: &str) -> String {
    let Ok(qr) = QrCode::encode_text(text, QrCodeEcc::Medium) else {
        return String::new();
    };
    let border = 4;
    let size = qr.size();
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    let dim = size + border * 2;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {dim} {dim}\" width=\"220\" height=\"220\" role=\"img\" aria-label=\"QR code for your authenticator app\" shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_authenticator() -> Authenticator {
        // RFC 6238 appendix B's SHA-1 secret.
        Authenticator::new(b"12345678901234567890".to_vec(), "Shop", "a@example.com").unwrap()
    }

    #[test]
    fn codes_match_the_rfc_test_vectors() {
        let a = rfc_authenticator();
        // RFC 6238 appendix B gives 8 digits; six-digit codes are their last six.
        assert_eq!(a.code_at(59), "287082");
        assert_eq!(a.code_at(1_111_111_109), "081804");
        assert_eq!(a.code_at(2_000_000_000), "279037");
    }

    #[test]
    fn a_code_is_valid_one_step_either_side_and_only_once() {
        let a = rfc_authenticator();
        let now = 1_111_111_109;
        let step = i64::try_from(now / STEP_SECS).unwrap();
        let code = a.code_at(now);
        assert_eq!(a.verify(&code, now, None), Some(step));
        assert_eq!(
            a.verify(&format!("{} {}", &code[..3], &code[3..]), now + 30, None),
            Some(step)
        );
        assert_eq!(a.verify(&code, now - 30, None), Some(step));
        assert_eq!(a.verify(&code, now + 90, None), None, "two steps late");
        assert_eq!(a.verify(&code, now, Some(step)), None, "already used");
        assert_eq!(
            a.verify("000000", now, None).filter(|_| code != "000000"),
            None
        );
        assert_eq!(a.verify("12345", now, None), None);
    }

    #[test]
    fn the_otpauth_address_names_the_shop_and_the_account() {
        let a = Authenticator::new(vec![7; SECRET_BYTES], "My: Shop", "a@example.com").unwrap();
        let url = a.otpauth_url();
        assert!(
            url.starts_with("otpauth://totp/My%20%20Shop:a%40example.com?secret="),
            "{url}"
        );
        assert!(url.contains("issuer=My%20%20Shop"));
        let again = Authenticator::from_base32(&a.secret_base32(), "x", "y").unwrap();
        assert_eq!(again.code_at(1000), a.code_at(1000));
        assert!(
            Authenticator::new(vec![1; 8], "x", "y").is_err(),
            "64-bit secret"
        );
    }

    #[test]
    fn recovery_codes_are_compared_loosely_and_stored_hashed() {
        let c = recovery_code([1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(c.len(), 11);
        assert_eq!(c.as_bytes()[5], b'-');
        assert_eq!(
            recovery_hash(&c),
            recovery_hash(&c.to_uppercase().replace('-', " "))
        );
        assert_ne!(
            recovery_hash(&c),
            recovery_hash(&recovery_code([8, 7, 6, 5, 4, 3, 2, 1]))
        );
        assert!(is_recovery_code(&c));
        assert!(!is_recovery_code("123 456"));
    }

    #[test]
    fn the_qr_code_is_an_svg_of_dark_modules() {
        let svg = qr_svg("otpauth://totp/Shop:a?secret=ABC");
        assert!(svg.starts_with("<svg"));
        assert!(svg.matches('z').count() > 100);
    }
}
