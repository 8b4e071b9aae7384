//! Limits on the mails anyone can make the shop send: password resets, sign-ups,
//! verification links and guests' order confirmations. Without them the shop is a mail cannon: a script asks for a
//! thousand resets for one victim's address (their inbox floods, the shop's sender reputation
//! sinks), or for one reset each for a thousand addresses from one client.
//!
//! Two counters per request, both counted before anything is looked up, so the answer never
//! depends on whether the address has an account:
//! - per target address and purpose: past the limit, the mail is silently not sent (the
//!   caller answers as if it had been, where the contract promises a uniform answer);
//! - per client: past the limit, the request is refused with 429.
use loco_rs::app::AppContext;

use crate::{
    counters::Counters,
    errors::{AppError, AppResult},
    settings::Settings,
};

/// What a mail is for; each purpose has its own per-address budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    PasswordReset,
    SignUp,
    Verification,
    /// A guest's order confirmation: anyone can name any address at a guest checkout.
    GuestOrder,
    /// A link confirming a new address for an account.
    EmailChange,
}

impl Purpose {
    const fn key(self) -> &'static str {
        match self {
            Self::PasswordReset => "reset",
            Self::SignUp => "signup",
            Self::Verification => "verify",
            Self::GuestOrder => "guest-order",
            Self::EmailChange => "email-change",
        }
    }
}

/// Whether the address may get another mail of this purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    Granted,
    /// Enough went to this address for now; the window resets in this many seconds.
    AddressExhausted {
        retry_after: u64,
    },
}

/// Counts one mail of `purpose` to `address` asked for by `client` (a client address, or
/// `user:<id>` for an admin acting on an account).
///
/// # Errors
/// `RateLimited` when the client has asked for too many mails; counter store errors.
pub async fn take(
    ctx: &AppContext,
    purpose: Purpose,
    address: &str,
    client: &str,
) -> AppResult<Quota> {
    let limits = &Settings::get(ctx).auth;
    let counters = Counters::get(ctx);
    let window = limits.mail_window_secs;
    let by_client = counters
        .add(&format!("mail-client:{client}"), 1, window)
        .await?;
    if by_client.count > limits.mail_per_client {
        return Err(AppError::RateLimited {
            retry_after: by_client.reset_in,
        });
    }
    let normalised = address.trim().to_lowercase();
    let to_address = counters
        .add(
            &format!("mail-to:{}:{normalised}", purpose.key()),
            1,
            window,
        )
        .await?;
    if to_address.count > limits.mail_per_address {
        tracing::info!(purpose = purpose.key(), "mail to one address limited");
        return Ok(Quota::AddressExhausted {
            retry_after: to_address.reset_in,
        });
    }
    Ok(Quota::Granted)
}

impl Quota {
    /// For callers that tell the user (a signed-in user's own address): exhausted is a 429.
    ///
    /// # Errors
    /// `RateLimited` when the address's budget is spent.
    pub const fn or_refuse(self) -> AppResult<()> {
        match self {
            Self::Granted => Ok(()),
            Self::AddressExhausted { retry_after } => Err(AppError::RateLimited { retry_after }),
        }
    }
}
