//! A plain HTTP client for tests that talk to a running `emporium-cli` over the network (the
//! deployment and crash tests): it keeps cookies by name, as a browser does, and tells
//! connection failures (a process killed or restarting) from answers.
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use serde_json::Value;

pub type Http = Client<hyper_util::client::legacy::connect::HttpConnector, Full<bytes::Bytes>>;

/// A browser-like client for one origin: keeps the cookies it is given (the session's and
/// the visitor's CSRF cookie), by name.
#[derive(Clone)]
pub struct Browser {
    pub http: Http,
    cookies: Arc<Mutex<std::collections::BTreeMap<String, String>>>,
}

/// A request that got no answer: `connect` when it never reached the server (refused, no
/// route), otherwise it was cut or timed out after it may have been received.
#[derive(Debug)]
pub struct SendError {
    pub connect: bool,
    pub message: String,
}

impl SendError {
    fn broken(e: impl std::fmt::Debug) -> Self {
        Self {
            connect: false,
            message: format!("{e:?}"),
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

pub struct Answer {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }
}

impl Browser {
    pub fn new() -> Self {
        Self {
            http: Client::builder(TokioExecutor::new()).build_http(),
            cookies: Arc::default(),
        }
    }

    /// A second client holding a copy of this one's current cookies (as a thief would).
    pub fn copy(&self) -> Self {
        Self {
            http: self.http.clone(),
            cookies: Arc::new(Mutex::new(self.cookies.lock().unwrap().clone())),
        }
    }

    /// The same session, to use against another web process.
    pub fn sharing(&self) -> Self {
        Self {
            http: self.http.clone(),
            cookies: self.cookies.clone(),
        }
    }

    /// The `Cookie` header this client sends, if it holds any.
    pub fn cookie_header(&self) -> Option<String> {
        let jar = self.cookies.lock().unwrap();
        (!jar.is_empty()).then(|| {
            jar.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: Option<(&str, String)>,
    ) -> Answer {
        self.try_send(method, url, headers, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
    }

    /// As [`Self::send`], but a connection that fails (refused, reset, cut mid-answer) or an
    /// answer slower than a minute is an `Err`, as a process killed mid-request gives.
    pub async fn try_send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: Option<(&str, String)>,
    ) -> Result<Answer, SendError> {
        let body = body.map(|(ctype, text)| (ctype, text.into_bytes()));
        self.try_send_bytes(method, url, headers, body).await
    }

    /// A request with a binary body (an upload) of `ctype`.
    pub async fn send_bytes(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        ctype: &str,
        body: Vec<u8>,
    ) -> Answer {
        self.try_send_bytes(method, url, headers, Some((ctype, body)))
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
    }

    async fn try_send_bytes(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Answer, SendError> {
        let mut req = hyper::Request::builder().method(method).uri(url);
        if let Some(c) = self.cookie_header() {
            req = req.header("cookie", c);
        }
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        let bytes = match body {
            Some((ctype, data)) => {
                req = req.header("content-type", ctype);
                bytes::Bytes::from(data)
            }
            None => bytes::Bytes::new(),
        };
        let exchange = async {
            let res = self
                .http
                .request(req.body(Full::new(bytes)).map_err(SendError::broken)?)
                .await
                .map_err(|e| SendError {
                    // Nothing reached the server: as safe to send elsewhere as a refusal.
                    connect: e.is_connect(),
                    message: format!("{e:?}"),
                })?;
            let headers = res.headers().clone();
            let status = res.status().as_u16();
            let body = res
                .into_body()
                .collect()
                .await
                .map_err(SendError::broken)?
                .to_bytes();
            Ok::<_, SendError>((status, headers, body))
        };
        let (status, headers, body) = tokio::time::timeout(Duration::from_secs(60), exchange)
            .await
            .map_err(|_| SendError::broken("no answer within a minute"))??;
        for set in headers.get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let mut jar = self.cookies.lock().unwrap();
            if set.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_string(), value.to_string());
            }
        }
        Ok(Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    pub async fn get(&self, url: &str) -> Answer {
        self.send("GET", url, &[], None).await
    }

    pub async fn form(&self, url: &str, fields: &[(&str, &str)]) -> Answer {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send(
            "POST",
            url,
            &[],
            Some(("application/x-www-form-urlencoded", body)),
        )
        .await
    }

    pub async fn api(&self, method: &str, url: &str, token: Option<&str>, body: Value) -> Answer {
        let auth: Vec<(&str, String)> = token
            .map(|t| vec![("authorization", format!("Bearer {t}"))])
            .unwrap_or_default();
        let body = (method != "GET").then(|| ("application/json", body.to_string()));
        self.send(method, url, &auth, body).await
    }

    /// Signs in through the login form of `base`.
    pub async fn log_in(&self, base: &str, email: &str) {
        let page = self.get(&format!("{base}/login")).await;
        let csrf = super::csrf_from(&page.body);
        let res = self
            .form(
                &format!("{base}/login"),
                &[
                    ("csrf_token", &csrf),
                    ("email", email),
                    ("password", super::PASSWORD),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
    }
}

impl Browser {
    /// An API access token for `email` (the test password), from `base`'s login.
    pub async fn token(&self, base: &str, email: &str) -> String {
        let res = self
            .api(
                "POST",
                &format!("{base}/api/v1/auth/login"),
                None,
                serde_json::json!({"email": email, "password": super::PASSWORD}),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        res.json()["access"].as_str().unwrap().to_string()
    }

    /// Creates a product through the API as `token` (a product manager); its JSON.
    pub async fn create_product(&self, base: &str, token: &str, product: Value) -> Value {
        let res = self
            .api(
                "POST",
                &format!("{base}/api/v1/products"),
                Some(token),
                product,
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.body);
        res.json()
    }
}
