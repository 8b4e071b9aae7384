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
        (status = 404, body = ErrorBody, description = "Stripe is not the configured provider")))]
async fn stripe_webhook(
    State(ctx): State<AppContext>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let settings = Settings::get(&ctx);
    if settings.payments.provider != PaymentProviderKind::Stripe {
        return Err(AppError::NotFound.into());
    }
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AppError::BadRequest("The Stripe-Signature header is missing.".into()))?;
    let payload = std::str::from_utf8(&body)
        .map_err(|_| AppError::BadRequest("The body is not UTF-8.".into()))?;
    let delivery = stripe::verify(payload, signature, &settings.payments.stripe.webhook_secret)
        .map_err(|e| {
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
