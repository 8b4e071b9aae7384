//! A local fake of the parts of Stripe's HTTP API the shop calls (Checkout Sessions create and
//! retrieve, Refunds create with Idempotency-Key), and webhook deliveries signed exactly as
//! Stripe signs them: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
    routing::{get, post},
    Json, Router,
};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

pub const SECRET_KEY: &str = "sk_test_fake";
pub const WEBHOOK_SECRET: &str = "whsec_test_fake_secret";

#[derive(Default)]
pub struct FakeState {
    pub sessions: HashMap<String, Value>,
    /// Idempotency key → refund.
    pub refunds: HashMap<String, Value>,
    pub refund_calls: usize,
    pub session_calls: usize,
    /// Stripe's refunds API is down: refund calls fail with a 500.
    pub refunds_failing: bool,
}

#[derive(Clone)]
pub struct FakeStripe {
    pub base: String,
    pub state: Arc<Mutex<FakeState>>,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn authorised(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {SECRET_KEY}"))
}

fn form(body: &str) -> HashMap<String, String> {
    form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

async fn create_session(
    State(s): State<FakeStripe>,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    if !authorised(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"type": "invalid_request_error", "message": "bad key"}})),
        );
    }
    let f = form(&body);
    let mut total = 0i64;
    let mut i = 0;
    while let Some(amount) = f.get(&format!("line_items[{i}][price_data][unit_amount]")) {
        let qty: i64 = f
            .get(&format!("line_items[{i}][quantity]"))
            .and_then(|q| q.parse().ok())
            .unwrap_or(1);
        total += amount.parse::<i64>().unwrap() * qty;
        i += 1;
    }
    let id = format!("cs_test_{}", uuid::Uuid::new_v4().simple());
    let session = json!({
        "id": id, "object": "checkout.session", "automatic_tax": {"enabled": false}, "created": now(),
        "custom_fields": [], "custom_text": {}, "expires_at": f["expires_at"].parse::<i64>().unwrap(),
        "livemode": false, "mode": f["mode"], "payment_method_types": ["card"], "payment_status": "unpaid",
        "shipping_options": [], "status": "open", "url": format!("https://checkout.stripe.com/c/pay/{id}"),
        "amount_total": total, "currency": f["line_items[0][price_data][currency]"],
        "client_reference_id": f["client_reference_id"], "customer_email": f["customer_email"],
        "metadata": {"order_id": f["metadata[order_id]"]}, "payment_intent": null,
        "success_url": f["success_url"], "cancel_url": f["cancel_url"],
        "_line_items": i, "_intent_order_id": f["payment_intent_data[metadata][order_id]"],
    });
    let mut st = s.state.lock().unwrap();
    st.session_calls += 1;
    st.sessions.insert(id, session.clone());
    (StatusCode::OK, Json(session))
}

async fn retrieve_session(
    State(s): State<FakeStripe>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> impl IntoResponse {
    if !authorised(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"type": "invalid_request_error"}})),
        );
    }
    match s.state.lock().unwrap().sessions.get(&id) {
        Some(v) => (StatusCode::OK, Json(v.clone())),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"type": "invalid_request_error", "message": "No such session"}})),
        ),
    }
}

/// Stripe expires only open sessions; anything else is a 400.
async fn expire_session(
    State(s): State<FakeStripe>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> impl IntoResponse {
    if !authorised(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"type": "invalid_request_error"}})),
        );
    }
    let mut st = s.state.lock().unwrap();
    match st.sessions.get_mut(&id) {
        Some(v) if v["status"] == "open" => {
            v["status"] = json!("expired");
            (StatusCode::OK, Json(v.clone()))
        }
        Some(_) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"type": "invalid_request_error",
                "message": "Only Checkout Sessions with a status of open can be expired."}})),
        ),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"type": "invalid_request_error", "message": "No such session"}})),
        ),
    }
}

async fn create_refund(
    State(s): State<FakeStripe>,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    if !authorised(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"type": "invalid_request_error"}})),
        );
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let f = form(&body);
    let mut st = s.state.lock().unwrap();
    st.refund_calls += 1;
    if st.refunds_failing {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": {"type": "api_error", "message": "An unknown error occurred"}})),
        );
    }
    if let Some(r) = st.refunds.get(&key) {
        return (StatusCode::OK, Json(r.clone()));
    }
    let refund = json!({
        "id": format!("re_test_{}", uuid::Uuid::new_v4().simple()), "object": "refund",
        "amount": f["amount"].parse::<i64>().unwrap(), "created": now(), "currency": "eur",
        "payment_intent": f["payment_intent"], "status": "succeeded",
    });
    st.refunds.insert(key, refund.clone());
    (StatusCode::OK, Json(refund))
}

impl FakeStripe {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/", listener.local_addr().unwrap());
        let fake = Self {
            base,
            state: Arc::new(Mutex::new(FakeState::default())),
        };
        let app = Router::new()
            .route("/v1/checkout/sessions", post(create_session))
            .route("/v1/checkout/sessions/{id}", get(retrieve_session))
            .route("/v1/checkout/sessions/{id}/expire", post(expire_session))
            .route("/v1/refunds", post(create_refund))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        fake
    }

    pub fn session(&self, id: &str) -> Value {
        self.state.lock().unwrap().sessions[id].clone()
    }

    /// The shopper pays on Stripe's page: the session is complete and paid. Returns the
    /// `checkout.session.completed` event Stripe would then deliver.
    pub fn pay(&self, session_id: &str) -> Value {
        let mut st = self.state.lock().unwrap();
        let s = st.sessions.get_mut(session_id).unwrap();
        s["payment_status"] = json!("paid");
        s["status"] = json!("complete");
        s["payment_intent"] = json!(format!("pi_test_{}", &session_id[8..20]));
        event("checkout.session.completed", s.clone())
    }

    pub fn expire(&self, session_id: &str) -> Value {
        let mut st = self.state.lock().unwrap();
        let s = st.sessions.get_mut(session_id).unwrap();
        s["status"] = json!("expired");
        event("checkout.session.expired", s.clone())
    }

    /// A declined card on Stripe's page.
    pub fn decline(&self, session_id: &str) -> Value {
        let st = self.state.lock().unwrap();
        let s = &st.sessions[session_id];
        event(
            "payment_intent.payment_failed",
            json!({
                "id": format!("pi_test_declined_{}", uuid::Uuid::new_v4().simple()), "object": "payment_intent",
                "amount": s["amount_total"], "amount_capturable": 0, "amount_received": 0,
                "capture_method": "automatic", "confirmation_method": "automatic", "created": now(),
                "currency": "eur", "livemode": false, "metadata": {"order_id": s["_intent_order_id"]},
                "payment_method_types": ["card"], "status": "requires_payment_method",
                "last_payment_error": {"type": "card_error", "code": "card_declined", "message": "Your card was declined."},
            }),
        )
    }

    /// A refund made in Stripe's dashboard, reported as `charge.refunded`.
    pub fn dashboard_refund(&self, payment_intent: &str, amount: i64) -> Value {
        let refund = format!("re_dash_{}", uuid::Uuid::new_v4().simple());
        event(
            "charge.refunded",
            json!({
                "id": format!("ch_{}", uuid::Uuid::new_v4().simple()), "object": "charge", "amount": amount,
                "amount_captured": amount, "amount_refunded": amount, "billing_details": {}, "captured": true,
                "created": now(), "currency": "eur", "disputed": false, "livemode": false, "metadata": {},
                "paid": true, "refunded": true, "status": "succeeded", "payment_intent": payment_intent,
                "refunds": {"object": "list", "has_more": false, "url": "/v1/refunds", "data": [
                    {"id": refund, "object": "refund", "amount": amount, "created": now(), "currency": "eur",
                     "payment_intent": payment_intent, "status": "succeeded"}
                ]},
            }),
        )
    }
}

fn event(kind: &str, object: Value) -> Value {
    json!({
        "id": format!("evt_{}", uuid::Uuid::new_v4().simple()), "object": "event", "created": now(),
        "data": {"object": object}, "livemode": false, "pending_webhooks": 1, "type": kind,
        "request": {"id": null, "idempotency_key": null},
    })
}

/// Stripe's signature header for `payload` at time `t`.
pub fn sign(payload: &str, secret: &str, t: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{payload}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Delivers an event to the shop as Stripe does: the exact bytes, signed now.
pub async fn deliver(server: &loco_rs::TestServer, event: &Value) -> axum_test::TestResponse {
    let body = event.to_string();
    server
        .post("/api/v1/webhooks/stripe")
        .add_header("stripe-signature", sign(&body, WEBHOOK_SECRET, now()))
        .add_header("content-type", "application/json")
        .bytes(body.into())
        .await
}

/// Points the booted app (and its job queue) at the fake.
pub async fn use_fake(ctx: &loco_rs::app::AppContext, fake: &FakeStripe) {
    super::set_settings(ctx, |s| {
        s.payments.provider = emporium::settings::PaymentProviderKind::Stripe;
        s.payments.stripe.secret_key = SECRET_KEY.into();
        s.payments.stripe.webhook_secret = WEBHOOK_SECRET.into();
        s.payments.stripe.api_base = fake.base.clone();
    });
    let settings = emporium::settings::Settings::get(ctx);
    ctx.shared_store
        .insert(emporium::payments::Payments::from_settings(&settings).unwrap());
    let env = emporium::jobs::JobEnv::for_context(ctx, settings).unwrap();
    ctx.shared_store
        .insert(emporium::jobs::Jobs::start(env).await.unwrap());
}
