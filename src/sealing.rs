//! Secrets the shop must be able to read again (webhook signing secrets, TOTP secrets) are
//! stored sealed: ChaCha20-Poly1305 with a key from the environment (`SECRETS_KEY`), so a copy
//! of the database (a backup, a leaked dump, a read-only SQL injection) does not hand out the
//! keys that sign webhooks or make two-factor codes. Secrets that never need to be read again
//! (passwords, API keys, refresh and one-time tokens, recovery codes) are hashed instead.
//!
//! A sealed value reads `sealed:v1:<base64url(nonce | ciphertext | tag)>`; each value is bound
//! to its purpose (the associated data), so one cannot be moved into another column. Values
//! from before sealing existed are read as they are, and sealed at start.
use std::sync::Arc;

use base64::Engine;
use loco_rs::app::AppContext;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use sha2::{Digest, Sha256};

use crate::errors::{AppError, AppResult};

const PREFIX: &str = "sealed:v1:";

/// A sealing key derived from the JWT secret, for development and tests (which have no
/// `SECRETS_KEY`); never used in production.
#[must_use]
pub fn derive_key(jwt_secret: &str) -> String {
    hex::encode(Sha256::digest(
        format!("emporium sealing key\n{jwt_secret}").as_bytes(),
    ))
}

/// What a sealed value is for (its associated data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    WebhookSecret,
    TotpSecret,
}

impl Purpose {
    const fn label(self) -> &'static [u8] {
        match self {
            Self::WebhookSecret => b"emporium webhook secret",
            Self::TotpSecret => b"emporium totp secret",
        }
    }
}

/// Seals and opens stored secrets with the shop's key.
pub struct Sealer(LessSafeKey);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer keyed by `secret` (any length; production requires at least 32 characters).
    ///
    /// # Panics
    /// Never: a SHA-256 digest is always a valid ChaCha20-Poly1305 key.
    #[must_use]
    pub fn new(secret: &str) -> Self {
        let key = Sha256::digest(secret.as_bytes());
        Self(LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, &key).expect("32-byte key"),
        ))
    }

    /// # Panics
    /// Only if called before boot finished, which is a programming error.
    #[must_use]
    pub fn get(ctx: &AppContext) -> Arc<Self> {
        ctx.shared_store
            .get::<Arc<Self>>()
            .expect("the sealer is made during boot")
    }

    /// Whether `stored` is already sealed.
    #[must_use]
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }

    /// `plain`, sealed for `purpose` under a fresh random nonce.
    ///
    /// # Panics
    /// Never: sealing fails only for inputs larger than ChaCha20 can take (256 GiB).
    #[must_use]
    pub fn seal(&self, purpose: Purpose, plain: &str) -> String {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let mut buf = plain.as_bytes().to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.label()),
                &mut buf,
            )
            .expect("sealing a short secret");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
        )
    }

    /// The secret in `stored`: opened when sealed, as it is when from before sealing.
    ///
    /// # Errors
    /// `Internal` when a sealed value does not open (another key, or tampered with).
    pub fn open(&self, purpose: Purpose, stored: &str) -> AppResult<String> {
        let Some(b64) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let fail = || AppError::Internal("a sealed secret does not open with SECRETS_KEY".into());
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|_| fail())?;
        if raw.len() < NONCE_LEN {
            return Err(fail());
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| fail())?;
        let mut buf = sealed.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(purpose.label()), &mut buf)
            .map_err(|_| fail())?;
        String::from_utf8(plain.to_vec()).map_err(|_| fail())
    }
}

#[cfg(test)]
mod tests {
    use super::{Purpose, Sealer};

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_purpose() {
        let s = Sealer::new("a key of at least thirty-two characters");
        let sealed = s.seal(Purpose::WebhookSecret, "whsec_abc");
        assert!(Sealer::is_sealed(&sealed));
        assert!(!sealed.contains("whsec_abc"));
        assert_ne!(
            sealed,
            s.seal(Purpose::WebhookSecret, "whsec_abc"),
            "fresh nonce"
        );
        assert_eq!(
            s.open(Purpose::WebhookSecret, &sealed).unwrap(),
            "whsec_abc"
        );
        assert!(
            s.open(Purpose::TotpSecret, &sealed).is_err(),
            "bound to its purpose"
        );
        let other = Sealer::new("another key of at least thirty-two chars");
        assert!(other.open(Purpose::WebhookSecret, &sealed).is_err());
        // One character changed in the middle of the ciphertext.
        let mid = sealed.len() / 2 + 5;
        let swap = if &sealed[mid..=mid] == "A" { "B" } else { "A" };
        let tampered = format!("{}{swap}{}", &sealed[..mid], &sealed[mid + 1..]);
        assert_ne!(tampered, sealed);
        assert!(s.open(Purpose::WebhookSecret, &tampered).is_err());
        // Values from before sealing are read as they are.
        assert_eq!(s.open(Purpose::TotpSecret, "JBSWY3DP").unwrap(), "JBSWY3DP");
        // Short enough for the widened columns.
        assert!(s.seal(Purpose::WebhookSecret, &"x".repeat(49)).len() < 255);
    }
}
