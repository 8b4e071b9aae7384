//! Images in a local folder, served by the app through HMAC-signed, expiring URLs.
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{check_key, ObjectStore, StorageError, StorageResult, UrlWindow};

type HmacSha256 = Hmac<Sha256>;

/// The URL prefix under which the app serves local objects (`controllers::media`).
pub const MEDIA_PREFIX: &str = "/media/";

pub struct LocalStore {
    root: PathBuf,
    secret: Vec<u8>,
}

/// A signing key of its own, derived from the JWT secret, so a leaked media signature can never
/// help forge a token or the other way round.
#[must_use]
pub fn derive_secret(jwt_secret: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(jwt_secret.as_bytes()).expect("any key length");
    mac.update(b"emporium media url signing v1");
    mac.finalize().into_bytes().to_vec()
}

impl LocalStore {
    /// # Errors
    /// The folder cannot be created.
    pub fn new(root: &str, secret: Vec<u8>) -> StorageResult<Self> {
        std::fs::create_dir_all(root).map_err(|e| StorageError::Io(format!("{root}: {e}")))?;
        Ok(Self {
            root: PathBuf::from(root),
            secret,
        })
    }

    fn path(&self, key: &str) -> StorageResult<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(Path::new(key)))
    }

    fn mac(&self, key: &str, expires_at: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("any key length");
        mac.update(key.as_bytes());
        mac.update(b"\n");
        mac.update(expires_at.to_string().as_bytes());
        mac
    }

    /// The signature a URL for `key` valid until `expires_at` carries.
    #[must_use]
    pub fn sign(&self, key: &str, expires_at: i64) -> String {
        hex::encode(self.mac(key, expires_at).finalize().into_bytes())
    }

    /// Whether a request for `key` with this expiry and signature may be served at `now`.
    #[must_use]
    pub fn verify(&self, key: &str, expires_at: i64, signature: &str, now: i64) -> bool {
        if expires_at < now || check_key(key).is_err() {
            return false;
        }
        let Ok(sig) = hex::decode(signature) else {
            return false;
        };
        // Constant-time comparison through the MAC's own verifier.
        self.mac(key, expires_at).verify_slice(&sig).is_ok()
    }

    /// Reads a file for serving; `None` when it does not exist.
    ///
    /// # Errors
    /// I/O errors other than "not found".
    pub async fn read(&self, key: &str) -> StorageResult<Option<Vec<u8>>> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::Io(e.to_string())),
        }
    }
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> StorageResult<()> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| StorageError::Io(e.to_string()))?;
        }
        // Write then rename, so a reader never sees half a file.
        let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
        tokio::fs::write(&tmp, bytes)
            .await
            .map_err(|e| StorageError::Io(e.to_string()))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| StorageError::Io(e.to_string()))
    }

    async fn get(&self, key: &str) -> StorageResult<Vec<u8>> {
        self.read(key)
            .await?
            .ok_or_else(|| StorageError::NotFound(key.to_string()))
    }

    async fn delete(&self, key: &str) -> StorageResult<()> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(StorageError::Io(e.to_string()))
            }
            _ => Ok(()),
        }
    }

    async fn url(&self, key: &str, window: UrlWindow) -> StorageResult<String> {
        check_key(key)?;
        Ok(format!(
            "{MEDIA_PREFIX}{key}?expires={}&signature={}",
            window.expires_at,
            self.sign(key, window.expires_at)
        ))
    }

    async fn check(&self) -> StorageResult<()> {
        tokio::fs::metadata(&self.root)
            .await
            .map(|_| ())
            .map_err(|e| StorageError::Io(e.to_string()))
    }

    fn as_local(&self) -> Option<&LocalStore> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_key_and_expiry() {
        let dir = std::env::temp_dir().join(format!("emporium-ls-{}", uuid::Uuid::new_v4()));
        let store = LocalStore::new(dir.to_str().unwrap(), b"k".to_vec()).unwrap();
        let sig = store.sign("a/b.png", 1000);
        assert!(store.verify("a/b.png", 1000, &sig, 999));
        assert!(!store.verify("a/b.png", 1000, &sig, 1001), "expired");
        assert!(!store.verify("a/c.png", 1000, &sig, 999), "other key");
        assert!(!store.verify("a/b.png", 2000, &sig, 999), "extended expiry");
        assert!(!store.verify("a/b.png", 1000, "zz", 999));
        let other = LocalStore::new(dir.to_str().unwrap(), b"x".to_vec()).unwrap();
        assert!(!other.verify("a/b.png", 1000, &sig, 999), "other secret");
        std::fs::remove_dir_all(dir).ok();
    }
}
