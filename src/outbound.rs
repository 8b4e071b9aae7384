//! The HTTP client of outgoing webhook deliveries.
//!
//! Design:
//! - Host names are resolved by [`PublicResolver`], which drops private, loopback and
//!   link-local addresses (unless the shop allows them, as in development): the address checked
//!   is the address connected to, so a name that changes its answer between registration and
//!   delivery still cannot reach the shop's own network. Literal IPs are checked before sending.
//! - Redirects are not followed (a 3xx is a failed delivery): following one would leave the
//!   checked address.
//! - One deadline covers connecting, sending and reading; only the first KiB of the answer is
//!   read, for the delivery log.
use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{
        connect::{dns::Name, HttpConnector},
        Client,
    },
    rt::TokioExecutor,
};

use crate::domain::webhook::is_public;

/// How much of a receiver's answer is kept.
pub const MAX_RESPONSE_BYTES: usize = 1024;

/// Resolves names to public addresses only (see the module notes).
#[derive(Clone)]
pub struct PublicResolver {
    allow_private: bool,
}

type Resolving =
    Pin<Box<dyn Future<Output = Result<std::vec::IntoIter<SocketAddr>, std::io::Error>> + Send>>;

impl tower::Service<Name> for PublicResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Resolving;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{} has no public address", name.as_str()),
                ));
            }
            Ok(addrs.into_iter())
        })
    }
}

type Https = hyper_rustls::HttpsConnector<HttpConnector<PublicResolver>>;

/// A pooled client for deliveries.
#[derive(Clone)]
pub struct Outbound {
    client: Client<Https, Full<Bytes>>,
    timeout: Duration,
    allow_private: bool,
}

/// What the receiver answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// The first [`MAX_RESPONSE_BYTES`] of the body, lossily decoded.
    pub body: String,
    pub duration: Duration,
}

/// Why nothing usable came back.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{0}")]
    Refused(String),
    #[error("no answer within {0} seconds")]
    Timeout(u64),
    #[error("{0}")]
    Http(String),
}

impl Outbound {
    #[must_use]
    pub fn new(timeout: Duration, allow_private: bool) -> Self {
        let mut http = HttpConnector::new_with_resolver(PublicResolver { allow_private });
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Self {
            client,
            timeout,
            allow_private,
        }
    }

    /// POSTs `body` to `url` with `headers`.
    ///
    /// # Errors
    /// `Refused` for a URL that may not be reached, `Timeout`, or `Http` for connection and
    /// protocol failures. A non-2xx answer is an `Ok(Answer)`: the caller decides.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Answer, SendError> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| SendError::Refused(format!("invalid URL: {e}")))?;
        if let Some(host) = uri.host() {
            let literal = host.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = literal.parse::<IpAddr>() {
                if !self.allow_private && !is_public(ip) {
                    return Err(SendError::Refused(format!("{ip} is not a public address")));
                }
            }
        }
        let mut req = hyper::Request::post(uri);
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| SendError::Refused(e.to_string()))?;
        let started = Instant::now();
        let exchange = async {
            let res = self
                .client
                .request(req)
                .await
                .map_err(|e| SendError::Http(error_chain(&e)))?;
            let status = res.status().as_u16();
            let mut body = res.into_body();
            let mut kept = Vec::new();
            while kept.len() < MAX_RESPONSE_BYTES {
                match body.frame().await {
                    Some(Ok(frame)) => {
                        if let Some(data) = frame.data_ref() {
                            let room = MAX_RESPONSE_BYTES - kept.len();
                            kept.extend_from_slice(&data[..data.len().min(room)]);
                        }
                    }
                    // A broken body after the status line still tells what the receiver said.
                    Some(Err(_)) | None => break,
                }
            }
            Ok::<_, SendError>((status, kept))
        };
        let (status, kept) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| SendError::Timeout(self.timeout.as_secs()))??;
        Ok(Answer {
            status,
            body: String::from_utf8_lossy(&kept).into_owned(),
            duration: started.elapsed(),
        })
    }
}

/// The error with its causes ("client error (Connect): tcp connect error: Connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
