//! Images in an S3-compatible bucket through aws-sdk-s3 (AWS, MinIO, s3s, R2), fetched by
//! browsers through presigned GET URLs.
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_s3::{
    config::{BehaviorVersion, Credentials, Region},
    presigning::PresigningConfig,
    primitives::ByteStream,
    Client,
};

use super::{check_key, ObjectStore, StorageError, StorageResult, UrlWindow};
use crate::settings::S3Settings;

pub struct S3Store {
    client: Client,
    bucket: String,
    /// Where presigned URLs point (`https://bucket.s3.region.amazonaws.com`, the custom
    /// endpoint…), for the pages' Content-Security-Policy.
    origin: Option<String>,
}

fn io(e: impl std::fmt::Display) -> StorageError {
    StorageError::Io(e.to_string())
}

/// The full error chain: the SDK's `Display` alone says only "service error".
fn sdk_err<E: std::error::Error>(e: E) -> StorageError {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    StorageError::Io(msg)
}

impl S3Store {
    /// # Errors
    /// Bad settings, or a bucket that is missing and could not be created.
    pub async fn connect(s: &S3Settings) -> StorageResult<Self> {
        if s.bucket.is_empty() {
            return Err(io("storage.s3.bucket is empty"));
        }
        // rustls with ring: no aws-lc C build (research/loco-deps.md 3.3).
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .region(Region::new(s.region.clone()));
        if !s.access_key_id.is_empty() {
            loader = loader.credentials_provider(Credentials::new(
                s.access_key_id.clone(),
                s.secret_access_key.clone(),
                None,
                None,
                "emporium-settings",
            ));
        }
        let shared = loader.load().await;
        let mut conf =
            aws_sdk_s3::config::Builder::from(&shared).force_path_style(s.force_path_style);
        if !s.endpoint.is_empty() {
            conf = conf.endpoint_url(s.endpoint.clone());
        }
        let mut store = Self {
            client: Client::from_conf(conf.build()),
            bucket: s.bucket.clone(),
            origin: None,
        };
        // Presigning is local: this asks the SDK which host it addresses (path or virtual
        // style), exactly as the real URLs will.
        let probe = store.url("probe", UrlWindow::now(3600)).await?;
        store.origin = probe
            .parse::<axum::http::Uri>()
            .ok()
            .and_then(|u| Some(format!("{}://{}", u.scheme_str()?, u.authority()?)));
        if s.create_bucket && store.check().await.is_err() {
            store
                .client
                .create_bucket()
                .bucket(&store.bucket)
                .send()
                .await
                .map_err(sdk_err)?;
        }
        Ok(store)
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> StorageResult<()> {
        check_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .cache_control("public, max-age=31536000, immutable")
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> StorageResult<Vec<u8>> {
        check_key(key)?;
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(aws_sdk_s3::operation::get_object::GetObjectError::is_no_such_key)
                {
                    StorageError::NotFound(key.to_string())
                } else {
                    sdk_err(e)
                }
            })?;
        let body = out.body.collect().await.map_err(io)?;
        Ok(body.into_bytes().to_vec())
    }

    async fn delete(&self, key: &str) -> StorageResult<()> {
        check_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    async fn url(&self, key: &str, window: UrlWindow) -> StorageResult<String> {
        check_key(key)?;
        let start = SystemTime::UNIX_EPOCH
            + Duration::from_secs(u64::try_from(window.starts_at).unwrap_or(0));
        let ttl = Duration::from_secs(
            u64::try_from(window.expires_at - window.starts_at).unwrap_or(3600),
        );
        let cfg = PresigningConfig::builder()
            .start_time(start)
            .expires_in(ttl)
            .build()
            .map_err(io)?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(cfg)
            .await
            .map_err(sdk_err)?;
        Ok(req.uri().to_string())
    }

    fn media_origin(&self) -> Option<String> {
        self.origin.clone()
    }

    async fn check(&self) -> StorageResult<()> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }
}
