//! What an admin does to other people's accounts (issue 20): correct their names and e-mail,
//! change role and access, mail them a reset link, delete or close them. Every change is
//! written to the audit log in the transaction that makes it.
use chrono::{Duration, Utc};
use loco_rs::app::AppContext;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{
    end_other_sessions, mail_limits, personal_data,
    users::{self, Column, Entity, Model},
    Keep,
};
use crate::{
    domain::{account::ProfileUpdate, email::Email, role::Role, validation::FieldErrors},
    errors::{AppError, AppResult, DbResultExt},
    jobs::{Job, Jobs},
    mail::{self, Mail},
    models::{
        actor::Actor,
        audit::{self, Action, Target, TargetType},
        db::write_txn,
        idempotency,
        tokens::{self, OneTimeKind},
    },
    settings::Settings,
};

/// An admin's change to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AdminUpdate {
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<Email>,
}

impl AdminUpdate {
    /// Checks names and the address as the customer's own forms do.
    ///
    /// # Errors
    /// Field messages for blank or overlong names and a malformed address.
    pub fn parse(
        role: Option<Role>,
        active: Option<bool>,
        first_name: Option<&str>,
        last_name: Option<&str>,
        email: Option<&str>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let names = match ProfileUpdate::parse(first_name, last_name) {
            Ok(n) => n,
            Err(e) => {
                errors.merge(e);
                ProfileUpdate {
                    first_name: None,
                    last_name: None,
                }
            }
        };
        let email = email.and_then(|e| match Email::parse(e) {
            Ok(e) => Some(e),
            Err(m) => {
                errors.add("email", m);
                None
            }
        });
        errors.into_result()?;
        Ok(Self {
            role,
            active,
            first_name: names.first_name,
            last_name: names.last_name,
            email,
        })
    }
}

fn taken() -> AppError {
    FieldErrors::single("email", "Another account already uses this e-mail address.").into()
}

/// Refused for every admin change to a closed account: closing is final (its data is erased,
/// and it cannot be given an address, reopened or mailed a link).
fn closed() -> AppError {
    AppError::Conflict("This account is closed: it cannot be changed or reopened.".into())
}

/// Locks the target account and the acting admin's own row (in id order, so two admins acting
/// on each other wait instead of deadlocking) and checks, under those locks, that the actor is
/// still an active admin: two admins demoting or deactivating each other at the same moment
/// then happen one after the other, and the second finds it no longer may — the shop always
/// keeps an admin. Also serialises two admins' changes to one account, so each records true
/// `before` values.
///
/// # Errors
/// `NotFound` for an unknown target; `Forbidden` when the actor lost their admin rights.
async fn lock_for_admin<C: sea_orm::ConnectionTrait>(
    txn: &C,
    by: &Actor,
    pid: Uuid,
) -> AppResult<Model> {
    let mut rows = Entity::find().filter(Column::Pid.eq(pid));
    if let Some(me) = by.user_id {
        rows = Entity::find().filter(
            sea_orm::Condition::any()
                .add(Column::Pid.eq(pid))
                .add(Column::Id.eq(me)),
        );
    }
    let rows = rows
        .order_by_asc(Column::Id)
        .lock(sea_orm::sea_query::LockType::NoKeyUpdate)
        .all(txn)
        .await?;
    if let Some(me) = by.user_id {
        let still_admin = rows
            .iter()
            .any(|u| u.id == me && u.active && u.role() == Role::Admin);
        if !still_admin {
            return Err(AppError::Forbidden);
        }
    }
    rows.into_iter()
        .find(|u| u.pid == pid)
        .ok_or(AppError::NotFound)
}

/// Applies an admin's change. A new address gets the account only through its mailbox: the
/// password stops working and a link to choose a new one goes to the new address (the old one
/// is told), so whoever asked support for the change cannot sign in with it — nor collect the
/// guest orders of the address's real holder — without reading that mailbox. A new address, a
/// new role or deactivation ends every session of the user, as credentials changed. An admin cannot demote or deactivate themselves, so the shop
/// always keeps an admin who can undo it, nor change their own address here.
///
/// # Errors
/// `NotFound`; `Conflict` for changes to oneself; a field message for a taken address.
pub async fn admin_update(
    ctx: &AppContext,
    by: &Actor,
    pid: Uuid,
    change: AdminUpdate,
) -> AppResult<Model> {
    let settings = Settings::get(ctx);
    // Hashed before the transaction (slow, and the row lock must not wait for it), and only
    // when the address really changes: the page's form sends the address with every save.
    let moves = match &change.email {
        Some(e) => {
            let old = users::find_by_pid(&ctx.db, pid).await?.email;
            let moves = old != e.as_str();
            if moves {
                // A move mails both addresses (a reset link, a notice): counted like every
                // other mail to them, so an inbox cannot be flooded by moving an account
                // back and forth.
                let client = format!("admin:{}", by.user_id.unwrap_or_default());
                for (purpose, to) in [
                    (mail_limits::Purpose::PasswordReset, e.as_str()),
                    (mail_limits::Purpose::EmailChange, old.as_str()),
                ] {
                    mail_limits::take(ctx, purpose, to, &client)
                        .await?
                        .or_refuse()?;
                }
            }
            moves
        }
        None => false,
    };
    let unusable = if moves {
        Some(super::passwords::hash(&tokens::new_secret()).await?)
    } else {
        None
    };
    let txn = write_txn(&ctx.db).await?;
    let user = lock_for_admin(&txn, by, pid).await?;
    if by.user_id == Some(user.id)
        && (change.role.is_some_and(|r| r != Role::Admin) || change.active == Some(false))
    {
        return Err(AppError::Conflict(
            "You cannot remove your own admin rights or deactivate yourself.".into(),
        ));
    }
    // One's own address is a credential of one's own: it changes through the account page
    // (password, then a link to the new address), not with a token that may be stolen.
    if by.user_id == Some(user.id)
        && change
            .email
            .as_ref()
            .is_some_and(|e| e.as_str() != user.email)
    {
        return Err(AppError::Conflict(
            "Change your own e-mail address from your account page: it needs your password and a link sent to the new address."
                .into(),
        ));
    }
    if user.closed_at.is_some() {
        return Err(closed());
    }
    let (mut before, mut after) = (Map::new(), Map::new());
    let mut note = |field: &str, old: Value, new: Value| {
        if old != new {
            before.insert(field.into(), old);
            after.insert(field.into(), new);
            true
        } else {
            false
        }
    };
    let mut row: users::ActiveModel = user.clone().into();
    let mut credentials = false;
    if let Some(r) = change.role {
        if note("role", json!(user.role), json!(r.as_str())) {
            row.role = Set(r.as_str().into());
            credentials = true;
        }
    }
    if let Some(a) = change.active {
        if note("active", json!(user.active), json!(a)) {
            row.active = Set(a);
            credentials |= !a;
        }
    }
    if let Some(v) = change.first_name {
        if note("first_name", json!(user.first_name), json!(v)) {
            row.first_name = Set(v);
        }
    }
    if let Some(v) = change.last_name {
        if note("last_name", json!(user.last_name), json!(v)) {
            row.last_name = Set(v);
        }
    }
    let new_email = change
        .email
        .filter(|e| e.as_str() != user.email)
        .map(|e| e.as_str().to_string());
    if let Some(e) = &new_email {
        note("email", json!(user.email), json!(e));
        row.email = Set(e.clone());
        row.email_verified_at = Set(None);
        // Changed by someone else since the look-up above: no unusable password is ready.
        let Some(hash) = unusable else {
            return Err(AppError::Conflict(
                "This account changed meanwhile: reload it and try again.".into(),
            ));
        };
        row.password_hash = Set(hash);
        credentials = true;
    }
    if after.is_empty() {
        return Ok(user);
    }
    row.updated_at = Set(Utc::now().into());
    let mut saved = row.update(&txn).await.on_unique(taken)?;
    let mut mails = Vec::new();
    if let Some(e) = &new_email {
        // Links mailed to the old address must not open the account any more.
        for kind in [
            OneTimeKind::EmailChange,
            OneTimeKind::PasswordReset,
            OneTimeKind::VerifyEmail,
        ] {
            tokens::void_one_time(&txn, saved.id, kind).await?;
        }
        // A reset proves the mailbox (it verifies the address) and sets the only password.
        mails.push(issue_reset(&txn, &settings, &saved).await?);
        let notice = Mail::EmailChangedByShop {
            first_name: saved.first_name.clone(),
            new_email: e.clone(),
        };
        mails.push(mail::queue(&txn, &settings, &user.email, &notice).await?);
    }
    if credentials {
        saved = end_other_sessions(&txn, saved.id, Keep::Nothing).await?;
    }
    audit::record(
        &txn,
        by,
        Action::UserUpdated,
        Target::new(TargetType::User, saved.pid),
        Some(Value::Object(before)),
        Some(Value::Object(after)),
    )
    .await?;
    txn.commit().await?;
    Jobs::get(ctx)
        .enqueue_all(
            mails
                .into_iter()
                .map(|mail_id| Job::DeliverMail { mail_id }),
        )
        .await;
    Ok(saved)
}

/// A new reset link for `user` (older ones voided), in `txn`; the mail to deliver after commit.
pub(super) async fn issue_reset<C: sea_orm::ConnectionTrait>(
    txn: &C,
    settings: &Settings,
    user: &Model,
) -> AppResult<Uuid> {
    tokens::void_one_time(txn, user.id, OneTimeKind::PasswordReset).await?;
    let token = tokens::issue_one_time(
        txn,
        user.id,
        OneTimeKind::PasswordReset,
        Duration::minutes(settings.auth.reset_ttl_minutes),
    )
    .await?;
    let m = Mail::PasswordReset {
        first_name: user.first_name.clone(),
        token,
        valid_minutes: settings.auth.reset_ttl_minutes,
    };
    mail::queue(txn, settings, &user.email, &m).await
}

/// Mails `pid` a password-reset link; the admin never sees it. Counts against the address's
/// reset-mail limit like the customer's own requests, so an inbox cannot be flooded from here
/// either.
///
/// # Errors
/// `NotFound`; `Conflict` for a deactivated account (reactivate it first); `RateLimited`.
pub async fn send_reset_link(ctx: &AppContext, by: &Actor, pid: Uuid) -> AppResult<()> {
    let user = users::find_by_pid(&ctx.db, pid).await?;
    can_reset(&user)?;
    let client = format!("admin:{}", by.user_id.unwrap_or_default());
    mail_limits::take(
        ctx,
        mail_limits::Purpose::PasswordReset,
        &user.email,
        &client,
    )
    .await?
    .or_refuse()?;
    let settings = Settings::get(ctx);
    let txn = write_txn(&ctx.db).await?;
    // Read again under the lock: an address changed or an account closed since the look-up
    // above must not get the link at the address it had then.
    let now = lock_for_admin(&txn, by, pid).await?;
    can_reset(&now)?;
    if now.email != user.email {
        return Err(AppError::Conflict(
            "This account changed meanwhile: reload it and try again.".into(),
        ));
    }
    let mail_id = issue_reset(&txn, &settings, &now).await?;
    audit::record(
        &txn,
        by,
        Action::UserPasswordResetSent,
        Target::new(TargetType::User, user.pid),
        None,
        None,
    )
    .await?;
    idempotency::answer(&txn, 202, &reset_sent()).await?;
    txn.commit().await?;
    Jobs::get(ctx)
        .enqueue_all([Job::DeliverMail { mail_id }])
        .await;
    Ok(())
}

fn can_reset(user: &Model) -> AppResult<()> {
    if user.closed_at.is_some() {
        return Err(closed());
    }
    if !user.active {
        return Err(AppError::Conflict(
            "This account is deactivated: reactivate it before sending a reset link.".into(),
        ));
    }
    Ok(())
}

/// The answer of `POST /admin/users/{id}/password-reset`.
#[must_use]
pub fn reset_sent() -> Value {
    json!({"message": "A password-reset link was mailed to the account's address."})
}

/// What [`admin_delete`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Deleted,
    /// The account had orders, which keep it: it was closed and anonymised instead.
    Closed,
}

/// Deletes a user; one with orders (which keep their customer for the books) is closed and
/// anonymised instead, as closing one's own account does.
///
/// # Errors
/// `NotFound`; `Conflict` when deleting oneself, or closing an account with an order that is
/// paid and not shipped.
pub async fn admin_delete(ctx: &AppContext, by: &Actor, pid: Uuid) -> AppResult<Removal> {
    let user = users::find_by_pid(&ctx.db, pid).await?;
    if by.user_id == Some(user.id) {
        return Err(AppError::Conflict(
            "You cannot delete your own account here.".into(),
        ));
    }
    let txn = write_txn(&ctx.db).await?;
    let user = lock_for_admin(&txn, by, pid).await?;
    audit::record(
        &txn,
        by,
        Action::UserDeleted,
        Target::new(TargetType::User, user.pid),
        Some(json!({"role": user.role})),
        None,
    )
    .await?;
    let res = Entity::delete_many()
        .filter(Column::Id.eq(user.id))
        .exec(&txn)
        .await;
    match res {
        Ok(r) if r.rows_affected == 0 => Err(AppError::NotFound),
        Ok(_) => {
            // The log keeps that an account was deleted and what was done to it, not the
            // person's names and addresses (they are gone).
            personal_data::relabel_actor(&txn, &user).await?;
            audit::anonymise_user(&txn, user.pid, &personal_data::closed_label(&user.role)).await?;
            txn.commit().await?;
            Ok(Removal::Deleted)
        }
        Err(e) if crate::errors::is_foreign_key_violation(&e) => {
            drop(txn);
            personal_data::erase(ctx, &user, by).await?;
            Ok(Removal::Closed)
        }
        Err(e) => Err(e.into()),
    }
}
