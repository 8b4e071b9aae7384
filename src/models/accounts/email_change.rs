//! Changing the address an account signs in with (issue 20). The request needs the password;
//! it changes nothing yet: a link goes to the new address, and the old address is told, so a
//! stolen session alone cannot move the account to an attacker's mailbox, and the owner hears
//! of any attempt. Following the link (once, before it expires) while signed in to that very
//! account makes the change, marks the new address verified and ends every other session and
//! token of the account: the address is a credential. (Signed in, because a link mailed to someone
//! else's address would otherwise let that person — tricked into clicking "confirm" — give
//! their address to the requester's account.)
use chrono::{Duration, Utc};
use loco_rs::app::AppContext;
use sea_orm::{ActiveModelTrait, EntityTrait, QuerySelect, Set};

use super::{
    end_other_sessions, mail_limits, passwords,
    users::{self, Entity, Model},
    Keep,
};
use crate::{
    domain::{email::Email, validation::FieldErrors},
    errors::{AppError, AppResult, DbResultExt},
    jobs::{Job, Jobs},
    mail::{self, Mail},
    models::{
        idempotency::Produced,
        tokens::{self, OneTimeKind},
    },
    settings::Settings,
};

fn invalid_link() -> AppError {
    AppError::Unprocessable {
        code: "invalid_token",
        message: "This link is invalid or has expired.".into(),
    }
}

fn taken() -> AppError {
    FieldErrors::single(
        "new_email",
        "An account with this e-mail address already exists.",
    )
    .into()
}

/// Sends the confirmation link to `new_email` and the notice to the account's address; older
/// links for a change are voided.
///
/// # Errors
/// Field messages for a malformed, unchanged or taken address and a wrong password (tries are
/// throttled like logins); `RateLimited` past the mail limits (counted per account, and per
/// new address so one mailbox is not flooded).
pub async fn request(
    ctx: &AppContext,
    user: &Model,
    new_email: &str,
    password: &str,
) -> AppResult<()> {
    let mut errors = FieldErrors::new();
    let parsed = match Email::parse(new_email) {
        Ok(e) if e.as_str() == user.email => {
            errors.add("new_email", "This is already your e-mail address.");
            None
        }
        Ok(e) => Some(e),
        Err(m) => {
            errors.add("new_email", m);
            None
        }
    };
    match passwords::check_current(ctx, user, password, "password").await {
        Ok(()) => {}
        Err(AppError::Validation(f)) => errors.merge(f),
        Err(e) => return Err(e),
    }
    errors.into_result()?;
    let Some(new_email) = parsed else {
        return Err(AppError::Internal("e-mail checked above".into()));
    };
    // The quota first: probing addresses for accounts spends it like sending links does.
    mail_limits::take(
        ctx,
        mail_limits::Purpose::EmailChange,
        new_email.as_str(),
        &format!("user:{}", user.id),
    )
    .await?
    .or_refuse()?;
    if users::find_by_email(&ctx.db, &new_email).await?.is_some() {
        return Err(taken());
    }
    let settings = Settings::get(ctx);
    let txn = crate::models::db::write_txn(&ctx.db).await?;
    // Two requests at once: the second waits here and voids the first's link, so one link
    // is live at a time.
    Entity::find_by_id(user.id)
        .lock(sea_orm::sea_query::LockType::NoKeyUpdate)
        .one(&txn)
        .await?;
    tokens::void_one_time(&txn, user.id, OneTimeKind::EmailChange).await?;
    let valid_hours = settings.auth.verify_ttl_hours;
    let token = tokens::issue_carrying(
        &txn,
        user.id,
        OneTimeKind::EmailChange,
        Duration::hours(valid_hours),
        Some(new_email.as_str()),
    )
    .await?;
    let confirm = Mail::EmailChange {
        first_name: user.first_name.clone(),
        token,
        new_email: new_email.as_str().to_string(),
        valid_hours,
    };
    let notice = Mail::EmailChangeNotice {
        first_name: user.first_name.clone(),
        new_email: new_email.as_str().to_string(),
    };
    let mails = [
        mail::queue(&txn, &settings, new_email.as_str(), &confirm).await?,
        mail::queue(&txn, &settings, &user.email, &notice).await?,
    ];
    // No outcome is named: a retry after a crash asks again (a new link, within the mail
    // limits, voiding this one), as a repeated request for a reset link does.
    txn.commit().await?;
    Jobs::get(ctx)
        .enqueue_all(
            mails
                .into_iter()
                .map(|mail_id| Job::DeliverMail { mail_id }),
        )
        .await;
    Ok(())
}

/// The account and the address a live link would move it to (the confirming page shows both
/// before the button that does it).
///
/// # Errors
/// `invalid_token` for an unknown, used or expired link.
pub async fn pending(ctx: &AppContext, token: &str) -> AppResult<(Model, String)> {
    let t = tokens::peek_token(&ctx.db, OneTimeKind::EmailChange, token).await?;
    let user = Entity::find_by_id(t.user_id)
        .one(&ctx.db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((user, t.new_email.unwrap_or_default()))
}

/// Follows the link, signed in as `signed_in`: the account's address becomes the new one,
/// verified, and every session and token of the account but `keep` (the one confirming) ends.
///
/// # Errors
/// `invalid_token` for an unknown, used or expired link, and for a link of another account
/// (which stays usable by its own); a field message when another account took the address in
/// the meantime.
pub async fn confirm(
    ctx: &AppContext,
    token: &str,
    signed_in: &Model,
    keep: Keep,
) -> AppResult<Model> {
    let txn = crate::models::db::write_txn(&ctx.db).await?;
    let t = tokens::consume_token(&txn, OneTimeKind::EmailChange, token).await?;
    if t.user_id != signed_in.id {
        // Rolled back: the link is not used up by someone else's try.
        return Err(invalid_link());
    }
    let new_email = t
        .new_email
        .ok_or_else(|| AppError::Internal("an e-mail change token without its address".into()))?;
    let user = Entity::find_by_id(t.user_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if !user.active {
        return Err(invalid_link());
    }
    let now = Utc::now();
    let mut active: users::ActiveModel = user.into();
    active.email = Set(new_email);
    active.email_verified_at = Set(Some(now.into()));
    active.updated_at = Set(now.into());
    let user = active.update(&txn).await.on_unique(taken)?;
    tokens::void_one_time(&txn, user.id, OneTimeKind::EmailChange).await?;
    // Reset links sent to the old address must not open the account any more.
    tokens::void_one_time(&txn, user.id, OneTimeKind::PasswordReset).await?;
    tokens::void_one_time(&txn, user.id, OneTimeKind::VerifyEmail).await?;
    // Guest orders placed with the new address are not attached here: whoever asked for the
    // change proved they read that mailbox once, not that they placed those orders. Signing
    // up or resetting the password with it (which prove the same and end other sessions)
    // attach them, as before.
    let user = end_other_sessions(&txn, user.id, keep).await?;
    crate::models::idempotency::produced(&txn, Produced::Nothing, false).await?;
    txn.commit().await?;
    Ok(user)
}
