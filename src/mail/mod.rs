//! Transactional mail: compose from templates, queue into the outbox, deliver from a job.
//!
//! Design:
//! - `queue` inserts the rendered mail into `mail_outbox` on the caller's connection, so it
//!   commits or rolls back with the change that caused it (transactional outbox).
//! - The caller enqueues `Job::DeliverMail` after commit; the scheduled `deliver_mail` sweep
//!   delivers anything a crash left pending, so no mail is lost and none is invented.
//! - Delivery is `deliver`: outbox transport only marks the row, SMTP sends it with lettre.
pub mod templates;
pub mod transport;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde_json::json;
use uuid::Uuid;

use crate::{errors::AppResult, models::_entities::mail_outbox, settings::Settings};

/// Every mail the shop sends, with the data its template needs.
#[derive(Debug, Clone)]
pub enum Mail {
    Welcome {
        first_name: String,
    },
    VerifyEmail {
        first_name: String,
        token: String,
    },
    PasswordReset {
        first_name: String,
        token: String,
        valid_minutes: i64,
    },
    /// To the new address: the link that makes the change.
    EmailChange {
        first_name: String,
        token: String,
        new_email: String,
        valid_hours: i64,
    },
    /// To the old address: a change was asked for.
    EmailChangeNotice {
        first_name: String,
        new_email: String,
    },
    /// To the old address: the shop's staff changed the account's address.
    EmailChangedByShop {
        first_name: String,
        new_email: String,
    },
    /// Order confirmation, cancellation or expiry.
    Order {
        kind: OrderMail,
        first_name: String,
        vars: serde_json::Value,
    },
    /// Variants that reached their low-stock threshold, for admins.
    LowStockDigest {
        items: serde_json::Value,
    },
}

/// The order mails; each has its own templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderMail {
    Placed,
    Paid,
    Shipped,
    Cancelled,
    Expired,
    Refunded,
}

impl Mail {
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Welcome { .. } => "welcome",
            Self::VerifyEmail { .. } => "verify_email",
            Self::PasswordReset { .. } => "password_reset",
            Self::EmailChange { .. } => "email_change",
            Self::EmailChangeNotice { .. } => "email_change_notice",
            Self::EmailChangedByShop { .. } => "email_changed_by_shop",
            Self::Order {
                kind: OrderMail::Placed,
                ..
            } => "order_placed",
            Self::Order {
                kind: OrderMail::Paid,
                ..
            } => "order_paid",
            Self::Order {
                kind: OrderMail::Refunded,
                ..
            } => "order_refunded",
            Self::Order {
                kind: OrderMail::Shipped,
                ..
            } => "order_shipped",
            Self::Order {
                kind: OrderMail::Cancelled,
                ..
            } => "order_cancelled",
            Self::Order {
                kind: OrderMail::Expired,
                ..
            } => "order_expired",
            Self::LowStockDigest { .. } => "low_stock_digest",
        }
    }

    fn vars(&self, settings: &Settings) -> serde_json::Value {
        let base = &settings.base_url;
        match self {
            Self::Welcome { first_name } => json!({ "first_name": first_name }),
            Self::VerifyEmail { first_name, token } => json!({
                "first_name": first_name,
                "verify_url": format!("{base}/verify?token={token}"),
            }),
            Self::PasswordReset {
                first_name,
                token,
                valid_minutes,
            } => json!({
                "first_name": first_name,
                "reset_url": format!("{base}/reset?token={token}"),
                "valid_minutes": valid_minutes,
            }),
            Self::EmailChange {
                first_name,
                token,
                new_email,
                valid_hours,
            } => json!({
                "first_name": first_name,
                "new_email": new_email,
                "confirm_url": format!("{base}/account/email/confirm?token={token}"),
                "valid_hours": valid_hours,
            }),
            Self::EmailChangeNotice {
                first_name,
                new_email,
            } => json!({
                "first_name": first_name,
                "new_email": new_email,
                "account_url": format!("{base}/account"),
                "forgot_url": format!("{base}/forgot"),
            }),
            Self::EmailChangedByShop {
                first_name,
                new_email,
            } => json!({
                "first_name": first_name,
                "new_email": new_email,
            }),
            Self::Order {
                first_name, vars, ..
            } => {
                let mut v = vars.clone();
                v["first_name"] = json!(first_name);
                v
            }
            Self::LowStockDigest { items } => json!({ "items": items }),
        }
    }
}

/// Renders `mail` and stores it as a pending outbox row; returns the row's public id, which the
/// caller hands to `Job::DeliverMail` once its transaction has committed.
///
/// # Errors
/// Template or database errors.
pub async fn queue<C: ConnectionTrait>(
    db: &C,
    settings: &Settings,
    to: &str,
    mail: &Mail,
) -> AppResult<Uuid> {
    let rendered = templates::render(settings, mail.kind(), &mail.vars(settings))?;
    let pid = Uuid::new_v4();
    mail_outbox::ActiveModel {
        pid: Set(pid),
        kind: Set(mail.kind().to_string()),
        to_address: Set(to.to_string()),
        subject: Set(rendered.subject),
        text_body: Set(rendered.text),
        html_body: Set(rendered.html),
        status: Set(crate::models::mail_outbox::Status::Pending
            .as_str()
            .to_string()),
        attempts: Set(0),
        last_error: Set(None),
        created_at: Set(Utc::now().into()),
        sent_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(pid)
}
