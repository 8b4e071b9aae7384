//! A webhook receiver on a loopback port: records every delivery and answers with the statuses
//! it is told to (then 200). Signatures are checked here independently of the app's code.
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
    Router,
};
use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: HeaderMap,
    pub body: String,
}

impl Delivery {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Inner {
    got: Vec<Delivery>,
    answers: VecDeque<u16>,
    /// How long each answer takes (a slow receiver keeps senders busy).
    delay: Duration,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let (status, delay) = {
        let mut i = inner.lock().unwrap();
        i.got.push(Delivery {
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        (i.answers.pop_front().unwrap_or(200), i.delay)
    };
    tokio::time::sleep(delay).await;
    (StatusCode::from_u16(status).unwrap(), "thanks")
}

impl Receiver {
    /// Answers `answers` in turn, then 200 to everything.
    pub async fn start(answers: &[u16]) -> Self {
        Self::start_slow(answers, Duration::ZERO).await
    }

    /// As [`Self::start`], each answer taking `delay` after the delivery was received.
    pub async fn start_slow(answers: &[u16], delay: Duration) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            got: Vec::new(),
            answers: answers.iter().copied().collect(),
            delay,
        }));
        let app = Router::new()
            .route("/hooks", post(receive))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, inner }
    }

    pub fn answer_next(&self, answers: &[u16]) {
        self.inner
            .lock()
            .unwrap()
            .answers
            .extend(answers.iter().copied());
    }

    pub fn received(&self) -> Vec<Delivery> {
        self.inner.lock().unwrap().got.clone()
    }

    /// Waits (up to 10 s) until at least `n` deliveries arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Delivery> {
        for _ in 0..200 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} deliveries, got {}", self.received().len());
    }
}

/// Checks `X-Emporium-Signature: t=<unix>,v1=<hex>` as a receiver following our docs would:
/// HMAC-SHA256 over `t.body` with the secret, and a timestamp at most five minutes old.
pub fn signature_valid(secret: &str, header: &str, body: &str) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1 = hex::decode(x).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    if (chrono::Utc::now().timestamp() - t).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&v1).is_ok()
}
