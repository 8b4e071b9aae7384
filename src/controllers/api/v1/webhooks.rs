//! `POST /api/v1/webhooks/stripe`: Stripe's events, verified on the exact body.
use axum::{body::Bytes, extract::State, http::HeaderMap, Json};
use loco_rs::{app::AppContext, prelude::Routes};
use serde_json::{json, Value};

use crate::{
    errors::{ApiError, AppError},
    models::payments,
    payments::stripe,
    settings::{PaymentProviderKind, Settings},
    views::api::ErrorBody,
};

#[utoipa::path(post, path = "/api/v1/webhooks/stripe", tag = "orders",
    params(("Stripe-Signature" = String, Header, description = "t=<unix>,v1=<hex HMAC-SHA256 of \"t.body\">")),
    request_body(content = String, description = "Stripe's event, exactly as sent", content_type = "application/json"),
    responses((status = 200, description = "Handled, or seen before"), (status = 400, body = ErrorBody, description = "Bad signature, stale timestamp or altered body: nothing changes"),
        (status = 404, body = ErrorBody, description = "Stripe is not the configured provider"),
        (status = 503, body = ErrorBody, description = "The shop has no webhook secret, so no event can be verified")))]
async fn stripe_webhook(
    State(ctx): State<AppContext>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let settings = Settings::get(&ctx);
    if settings.payments.provider != PaymentProviderKind::Stripe {
        return Err(AppError::NotFound.into());
    }
    // An empty key would let anyone compute a valid signature; production refuses to start
    // without one, and this holds for every other environment too.
    let secret = settings.payments.stripe.webhook_secret.trim();
    if secret.is_empty() {
        tracing::error!("stripe webhook refused: STRIPE_WEBHOOK_SECRET is not set");
        return Err(AppError::Unavailable(
            "Stripe events cannot be verified: the shop has no webhook secret.".into(),
        )
        .into());
    }
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AppError::BadRequest("The Stripe-Signature header is missing.".into()))?;
    let payload = std::str::from_utf8(&body)
        .map_err(|_| AppError::BadRequest("The body is not UTF-8.".into()))?;
    let delivery = stripe::verify(payload, signature, secret).map_err(|e| {
        tracing::warn!(error = %e, "stripe webhook refused");
        AppError::BadRequest("The webhook signature does not verify.".into())
    })?;
    let Some(event) = delivery.event else {
        return Ok(Json(json!({"received": true, "handled": false})));
    };
    let handled = payments::handle_event(
        &ctx,
        stripe::NAME,
        &delivery.event_id,
        &delivery.kind,
        event,
    )
    .await?;
    Ok(Json(
        json!({"received": true, "handled": handled == payments::Handled::Applied || handled == payments::Handled::RefundedLate}),
    ))
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new()
        .prefix("/api/v1")
        .add("/webhooks/stripe", axum::routing::post(stripe_webhook))
}
