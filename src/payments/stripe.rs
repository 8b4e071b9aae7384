//! Stripe Checkout through async-stripe: a Checkout Session per payment, session look-ups for
//! the shopper's return, refunds, and the webhook's signature check and event mapping.
//!
//! The API base URL is configurable (`settings.payments.stripe.api_base`) so tests point it at
//! a local fake that speaks the same HTTP API.
use std::{collections::HashMap, str::FromStr};

use async_trait::async_trait;
use stripe::{IdempotencyKey, RequestStrategy, StripeRequest};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    CreateCheckoutSessionPaymentIntentData, ExpireCheckoutSession, ProductData,
    RetrieveCheckoutSession,
};
use stripe_checkout::{CheckoutSessionMode, CheckoutSessionPaymentStatus};
use stripe_webhook::{EventObject, Webhook, WebhookError};

use super::{CheckoutRequest, CheckoutSession, PaymentProvider, SessionState};
use crate::{
    domain::payment::PaymentEvent,
    errors::{AppError, AppResult},
    settings::StripeSettings,
};

pub const NAME: &str = "stripe";

pub struct StripeProvider {
    client: stripe::Client,
}

fn unavailable(e: impl std::fmt::Display) -> AppError {
    tracing::warn!(error = %e, "stripe request failed");
    AppError::Unavailable("The payment provider could not be reached; please try again.".into())
}

impl StripeProvider {
    /// # Errors
    /// `Internal` when the client cannot be built (bad base URL).
    pub fn new(settings: &StripeSettings) -> AppResult<Self> {
        let mut builder = stripe::ClientBuilder::new(settings.secret_key.clone());
        if !settings.api_base.is_empty() {
            builder = builder.url(settings.api_base.clone());
        }
        Ok(Self {
            client: builder.build().map_err(AppError::internal)?,
        })
    }
}

#[async_trait]
impl PaymentProvider for StripeProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn create_session(&self, req: &CheckoutRequest) -> AppResult<CheckoutSession> {
        let Ok(currency) = stripe_types::Currency::from_str(&req.currency.to_lowercase());
        let items: Vec<CreateCheckoutSessionLineItems> = req
            .lines
            .iter()
            .map(|l| {
                let mut price = CreateCheckoutSessionLineItemsPriceData::new(currency.clone());
                price.unit_amount = Some(l.unit_amount_cents);
                price.product_data = Some(ProductData::new(l.name.clone()));
                let mut item = CreateCheckoutSessionLineItems::new();
                item.price_data = Some(price);
                item.quantity = Some(u64::try_from(l.quantity).unwrap_or(1));
                item
            })
            .collect();
        let metadata = HashMap::from([("order_id".to_string(), req.order_id.to_string())]);
        let mut intent = CreateCheckoutSessionPaymentIntentData::new();
        intent.metadata = Some(metadata.clone());
        let session = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Payment)
            .client_reference_id(req.order_id.to_string())
            .customer_email(req.email.clone())
            .line_items(items)
            .metadata(metadata)
            .payment_intent_data(intent)
            .success_url(req.success_url.clone())
            .cancel_url(req.cancel_url.clone())
            .expires_at(req.expires_at.timestamp())
            .send(&self.client)
            .await
            .map_err(unavailable)?;
        Ok(CheckoutSession {
            id: session.id.as_str().to_string(),
            url: session
                .url
                .ok_or_else(|| unavailable("session without a URL"))?,
            expires_at: chrono::DateTime::from_timestamp(session.expires_at, 0),
        })
    }

    async fn session(&self, session_id: &str) -> AppResult<Option<SessionState>> {
        let s = RetrieveCheckoutSession::new(session_id)
            .send(&self.client)
            .await
            .map_err(unavailable)?;
        Ok(Some(SessionState {
            paid: s.payment_status == CheckoutSessionPaymentStatus::Paid,
            payment_ref: s
                .payment_intent
                .as_ref()
                .map(|p| p.id().as_str().to_string()),
            amount_cents: s.amount_total.unwrap_or(0),
        }))
    }

    async fn refund(&self, payment_ref: &str, amount_cents: i64, key: &str) -> AppResult<String> {
        let key = IdempotencyKey::new(key).map_err(AppError::internal)?;
        let refund = stripe_core::refund::CreateRefund::new()
            .payment_intent(payment_ref)
            .amount(amount_cents)
            .customize()
            .request_strategy(RequestStrategy::Idempotent(key))
            .send(&self.client)
            .await
            .map_err(|e| match e {
                // Stripe looked at it and said no (already refunded, more than the charge):
                // nothing went back, and asking again will not change that. A 409 (the same
                // key still in flight) or 429 is not an answer: the refund may have been made.
                stripe::StripeError::Stripe(e, status)
                    if (400..500).contains(&status) && status != 409 && status != 429 =>
                {
                    tracing::warn!(status, error = ?e, "stripe refused a refund");
                    AppError::Conflict("The payment provider refused this refund.".into())
                }
                e => unavailable(e),
            })?;
        Ok(refund.id.as_str().to_string())
    }

    async fn expire_session(&self, session_id: &str) -> AppResult<()> {
        match ExpireCheckoutSession::new(session_id)
            .send(&self.client)
            .await
        {
            Ok(_) => Ok(()),
            // Stripe refuses to expire a session that is complete or already expired; the
            // webhook tells what became of it (a late payment is refunded there).
            Err(stripe::StripeError::Stripe(e, status)) if (400..500).contains(&status) => {
                tracing::info!(%session_id, status, error = ?e, "stripe session not expired");
                Ok(())
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// A verified webhook delivery: the event's id and type, and what it means for us (`None`
/// for event types we do not act on).
#[derive(Debug)]
pub struct Delivery {
    pub event_id: String,
    pub kind: String,
    pub event: Option<PaymentEvent>,
}

/// Checks `Stripe-Signature` (HMAC-SHA256 over `t.payload`, five minutes of tolerance) on
/// the exact body and maps the event.
///
/// # Errors
/// The signature, timestamp or payload is not Stripe's.
pub fn verify(payload: &str, signature: &str, secret: &str) -> Result<Delivery, WebhookError> {
    let event = Webhook::construct_event(payload, signature, secret)?;
    let kind = event.type_.as_str().to_string();
    let completed = |s: &stripe_checkout::CheckoutSession| PaymentEvent::SessionCompleted {
        session_id: s.id.as_str().to_string(),
        payment_ref: s
            .payment_intent
            .as_ref()
            .map(|p| p.id().as_str().to_string()),
        amount_cents: s.amount_total.unwrap_or(0),
    };
    let refunded = |r: &stripe_core::Refund| {
        let failed = matches!(r.status.as_deref(), Some("failed" | "canceled"));
        match r.payment_intent.as_ref() {
            Some(pi) if !failed => Some(PaymentEvent::Refunded {
                payment_ref: pi.id().as_str().to_string(),
                refund_ref: r.id.as_str().to_string(),
                amount_cents: r.amount,
            }),
            _ => None,
        }
    };
    let mapped = match event.data.object {
        // A card pays at completion; delayed methods (bank debits) complete unpaid and report
        // the outcome later with the async events.
        EventObject::CheckoutSessionCompleted(s) => {
            Some(completed(&s)).filter(|_| s.payment_status == CheckoutSessionPaymentStatus::Paid)
        }
        EventObject::CheckoutSessionAsyncPaymentSucceeded(s) => Some(completed(&s)),
        EventObject::CheckoutSessionAsyncPaymentFailed(s) => Some(PaymentEvent::SessionFailed {
            session_id: s.id.as_str().to_string(),
            reason: "The delayed payment failed.".into(),
        }),
        EventObject::CheckoutSessionExpired(s) => Some(PaymentEvent::SessionExpired {
            session_id: s.id.as_str().to_string(),
        }),
        EventObject::PaymentIntentPaymentFailed(pi) => Some(PaymentEvent::PaymentFailed {
            payment_ref: pi.id.as_str().to_string(),
            order_id: pi
                .metadata
                .get("order_id")
                .and_then(|o| uuid::Uuid::parse_str(o).ok()),
            reason: pi
                .last_payment_error
                .as_ref()
                .and_then(|e| e.message.clone())
                .unwrap_or_else(|| "The payment was declined.".into()),
        }),
        // Since API version 2022-11-15 a charge's refunds are not in its events; the refund
        // events carry the refund itself.
        EventObject::RefundCreated(r)
        | EventObject::RefundUpdated(r)
        | EventObject::ChargeRefundUpdated(r) => refunded(&r),
        EventObject::ChargeRefunded(c) => c
            .refunds
            .as_ref()
            .and_then(|l| l.data.first())
            .and_then(refunded),
        _ => None,
    };
    Ok(Delivery {
        event_id: event.id.as_str().to_string(),
        kind,
        event: mapped,
    })
}
