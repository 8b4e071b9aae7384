//! Paying from the shop: the order page's "Pay now" button, the return from the provider,
//! and the built-in test provider's checkout page (Pay / Decline).
use axum::{
    extract::{Path, Query},
    response::{IntoResponse, Redirect, Response},
};
use loco_rs::prelude::Routes;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::{
    domain::payment::TransactionStatus,
    errors::{AppError, PageError},
    models::payments::{self, Handled},
    views,
    web::html::{error_sentence, flash, Page},
};

type PageResult = Result<Response, PageError>;

async fn pay(page: Page, Path(id): Path<Uuid>) -> PageResult {
    let actor = page.order_actor(id).await?;
    match payments::start(&page.ctx, id, &actor).await {
        Ok(p) => Ok(Redirect::to(&p.checkout_url).into_response()),
        Err(e) => {
            let message = match e {
                AppError::Unavailable(_) => "We could not reach the payment provider, so nothing \
                    was charged. Please try again in a moment."
                    .to_string(),
                e => error_sentence(e)?,
            };
            flash(&page.session, "error", message).await;
            Ok(Redirect::to(&format!("/orders/{id}")).into_response())
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ReturnQuery {
    session_id: String,
}

/// The provider sends the shopper back here; the webhook may or may not have arrived yet.
async fn paid(page: Page, Path(id): Path<Uuid>, Query(q): Query<ReturnQuery>) -> PageResult {
    page.order_actor(id).await?;
    if !q.session_id.is_empty() && q.session_id.len() <= 255 {
        match payments::confirm_return(&page.ctx, &q.session_id).await {
            Ok(_) => {}
            // The webhook will record it; the shopper is not kept waiting on the provider.
            Err(e) => tracing::warn!(error = %e, "could not confirm the payment on return"),
        }
    }
    flash(
        &page.session,
        "success",
        "Thank you! We will confirm your payment by e-mail.",
    )
    .await;
    Ok(Redirect::to(&format!("/orders/{id}")).into_response())
}

/// The test provider's pages exist only while it is the shop's provider.
fn test_provider_only(page: &Page) -> Result<(), PageError> {
    if crate::settings::Settings::get(&page.ctx).payments.provider
        == crate::settings::PaymentProviderKind::Test
    {
        Ok(())
    } else {
        Err(PageError(crate::errors::AppError::NotFound))
    }
}

async fn test_page(page: Page, Path(session): Path<String>) -> PageResult {
    test_provider_only(&page)?;
    let (tx, order) = payments::test_session(&page.ctx.db, &session).await?;
    page.render(
        "shop/payments/test_checkout.html",
        "Test payment",
        json!({
            "session_id": session,
            "open": TransactionStatus::parse(&tx.status) == TransactionStatus::Pending,
            "amount_display": views::money::format(tx.amount_cents, &tx.currency),
            "order": views::orders::order(&order),
        }),
    )
    .await
}

async fn test_outcome(page: &Page, session: &str, pay: bool) -> PageResult {
    test_provider_only(page)?;
    let (handled, order_id) = payments::test_outcome(&page.ctx, session, pay).await?;
    let (kind, message) = match (pay, handled) {
        (true, Handled::Applied) => ("success", "Payment received. Thank you!"),
        (true, Handled::RefundedLate) => (
            "error",
            "This order had already expired; your payment was refunded.",
        ),
        (true, Handled::Ignored) => ("info", "This payment was already recorded."),
        (false, _) => ("error", "Your card was declined. You can try again."),
    };
    flash(&page.session, kind, message).await;
    Ok(Redirect::to(&format!("/orders/{order_id}")).into_response())
}

async fn test_pay(page: Page, Path(session): Path<String>) -> PageResult {
    test_outcome(&page, &session, true).await
}

async fn test_decline(page: Page, Path(session): Path<String>) -> PageResult {
    test_outcome(&page, &session, false).await
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/orders/{id}/pay", post(pay))
        .add("/orders/{id}/paid", get(paid))
        .add("/pay/test/{session}", get(test_page))
        .add("/pay/test/{session}/pay", post(test_pay))
        .add("/pay/test/{session}/decline", post(test_decline))
}
