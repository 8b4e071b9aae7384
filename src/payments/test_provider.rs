//! The built-in test provider (embedded default): its "checkout page" is the shop's own
//! `/pay/test/{session}` with Pay and Decline buttons, which feed the same
//! `models::payments::handle_event` as Stripe's webhook. No keys, no network.
use async_trait::async_trait;
use uuid::Uuid;

use super::{CheckoutRequest, CheckoutSession, PaymentProvider, SessionState};
use crate::errors::AppResult;

pub const NAME: &str = "test";

pub struct TestProvider;

/// The test checkout page of a session: a path on the shop itself, so it follows the shop to
/// whatever address it is reached at (never an origin stored at click time).
#[must_use]
pub fn checkout_path(session_id: &str) -> String {
    format!("/pay/test/{session_id}")
}

#[async_trait]
impl PaymentProvider for TestProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn create_session(&self, req: &CheckoutRequest) -> AppResult<CheckoutSession> {
        let id = format!("test_cs_{}", Uuid::new_v4().simple());
        Ok(CheckoutSession {
            url: checkout_path(&id),
            id,
            expires_at: Some(req.expires_at),
        })
    }

    /// The test page reports its outcome itself, so there is nothing to look up.
    async fn session(&self, _session_id: &str) -> AppResult<Option<SessionState>> {
        Ok(None)
    }

    async fn refund(&self, _payment_ref: &str, _amount: i64, key: &str) -> AppResult<String> {
        Ok(format!("test_re_{key}"))
    }

    /// The test page reads the session's transaction, which is already marked expired.
    async fn expire_session(&self, _session_id: &str) -> AppResult<()> {
        Ok(())
    }
}
