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
    ) -> Result<Answer, String> {
        let mut req = hyper::Request::builder().method(method).uri(url);
        if let Some(c) = self.cookie_header() {
            req = req.header("cookie", c);
        }
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        let bytes = match body {
            Some((ctype, text)) => {
                req = req.header("content-type", ctype);
                bytes::Bytes::from(text)
            }
            None => bytes::Bytes::new(),
        };
        let exchange = async {
            let res = self
                .http
                .request(req.body(Full::new(bytes)).map_err(|e| e.to_string())?)
                .await
                .map_err(|e| format!("{e:?}"))?;
            let headers = res.headers().clone();
            let status = res.status().as_u16();
            let body = res
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("{e:?}"))?
                .to_bytes();
            Ok::<_, String>((status, headers, body))
        };
        let (status, headers, body) = tokio::time::timeout(Duration::from_secs(60), exchange)
            .await
            .map_err(|_| "no answer within a minute".to_string())??;
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
