//! Payment providers behind one interface: Stripe Checkout (async-stripe) in production, and
//! a built-in test provider for the embedded default, with nothing to configure.
//!
//! Design:
//! - A provider only talks to the outside: open a checkout session, look one up, refund a
//!   payment. It never touches the database. What its events mean for orders and money is
//!   decided in one place, `models::payments`, which both the Stripe webhook and the test
//!   provider's pay/decline page feed with the same `PaymentEvent`s.
//! - Amounts always come from the order on the server.
pub mod stripe;
pub mod test_provider;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use loco_rs::app::AppContext;
use uuid::Uuid;

use crate::{
    errors::AppResult,
    settings::{PaymentProviderKind, Settings},
};

/// One line shown on the provider's checkout page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutLine {
    pub name: String,
    pub unit_amount_cents: i64,
    pub quantity: i64,
}

/// What a checkout session is opened for.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    pub order_id: Uuid,
    pub order_number: i64,
    pub email: String,
    pub currency: String,
    /// Sum to exactly the order's total.
    pub lines: Vec<CheckoutLine>,
    pub total_cents: i64,
    pub success_url: String,
    pub cancel_url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct CheckoutSession {
    pub id: String,
    pub url: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A session as the provider sees it now (the shopper's redirect back asks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    pub paid: bool,
    pub payment_ref: Option<String>,
    pub amount_cents: i64,
}

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// The name stored with every transaction (`stripe`, `test`).
    fn name(&self) -> &'static str;

    /// # Errors
    /// `Unavailable` when the provider cannot be reached or refuses.
    async fn create_session(&self, req: &CheckoutRequest) -> AppResult<CheckoutSession>;

    /// # Errors
    /// `Unavailable` when the provider cannot be reached.
    async fn session(&self, session_id: &str) -> AppResult<Option<SessionState>>;

    /// Refunds `amount_cents` of the payment; the key makes a retried call refund once.
    /// Returns the provider's refund id.
    ///
    /// # Errors
    /// `Conflict` when the provider answered that it will not make this refund (nothing went
    /// back); `Unavailable` for anything else (unreachable, no clear answer: the refund may
    /// have been made, and the same key finds it).
    async fn refund(
        &self,
        payment_ref: &str,
        amount_cents: i64,
        idempotency_key: &str,
    ) -> AppResult<String>;

    /// Closes an open checkout session so it can no longer be paid (its order was cancelled or
    /// expired). A session that is no longer open is left as it is: `Ok`.
    ///
    /// # Errors
    /// `Unavailable` when the provider cannot be reached (the job retries).
    async fn expire_session(&self, session_id: &str) -> AppResult<()>;
}

/// The configured provider, built at boot.
#[derive(Clone)]
pub struct Payments(pub Arc<dyn PaymentProvider>);

impl Payments {
    /// # Errors
    /// Invalid provider settings.
    pub fn from_settings(settings: &Settings) -> AppResult<Self> {
        Ok(match settings.payments.provider {
            PaymentProviderKind::Test => Self(Arc::new(test_provider::TestProvider)),
            PaymentProviderKind::Stripe => Self(Arc::new(stripe::StripeProvider::new(
                &settings.payments.stripe,
            )?)),
        })
    }

    /// Where the provider's checkout page lives, when it is not this shop: forms that post to
    /// `/orders/{id}/pay` are redirected there, so the CSP's `form-action` must allow it.
    #[must_use]
    pub fn checkout_origin(settings: &Settings) -> Option<&'static str> {
        match settings.payments.provider {
            PaymentProviderKind::Test => None,
            PaymentProviderKind::Stripe => Some("https://checkout.stripe.com"),
        }
    }

    /// # Panics
    /// Only if called before boot finished, which is a programming error.
    #[must_use]
    pub fn get(ctx: &AppContext) -> Arc<dyn PaymentProvider> {
        ctx.shared_store
            .get::<Self>()
            .expect("payments are set up during boot")
            .0
    }
}
