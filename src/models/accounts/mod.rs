//! Account use-cases: registration, login, tokens, verification, password reset, profile and
//! admin user management. Called by the API, the shop pages, the admin pages and tasks.
pub mod addresses;
pub mod admin;
pub mod email_change;
pub mod mail_limits;
pub mod passwords;
pub mod personal_data;
pub mod revocation;

pub use admin::{admin_delete, admin_update, AdminUpdate, Removal};
use chrono::{Duration, Utc};
use loco_rs::app::AppContext;
pub use revocation::{end_other_sessions, Keep};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    actor::Actor,
    idempotency::Produced,
    tokens::{self, OneTimeKind, RefreshRejected},
    users::{self, Entity, Model},
};
use crate::{
    counters::Counters,
    domain::{
        account::{check_password, ProfileUpdate, Registration},
        email::Email,
        validation::FieldErrors,
    },
    errors::{AppError, AppResult, DbResultExt},
    jobs::{Job, Jobs},
    mail::{self, Mail},
    settings::Settings,
};

/// The pair returned by login and refresh.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tokens {
    /// Short-lived JWT for `Authorization: Bearer`.
    pub access: String,
    /// Long-lived, single-use token for `POST /auth/refresh`.
    pub refresh: String,
}

/// How a new account comes to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Self-service registration: welcome and verification mails.
    SignUp,
    /// Created by an admin or the `create_user` task: verified, no mails.
    Provisioned,
}

/// Creates an account. The user row and its mails commit together; mail delivery is enqueued
/// after the commit.
///
/// # Errors
/// `AppError::Validation` when the e-mail is taken; database errors.
pub async fn register(ctx: &AppContext, reg: Registration, origin: Origin) -> AppResult<Model> {
    create_account(ctx, reg, origin, None).await
}

/// An admin creates an account (verified, no mails), recorded in the audit log.
///
/// # Errors
/// As [`register`].
pub async fn provision(ctx: &AppContext, reg: Registration, by: &Actor) -> AppResult<Model> {
    create_account(ctx, reg, Origin::Provisioned, Some(by)).await
}

async fn create_account(
    ctx: &AppContext,
    reg: Registration,
    origin: Origin,
    by: Option<&Actor>,
) -> AppResult<Model> {
    let settings = Settings::get(ctx);
    let password_hash = passwords::hash(&reg.password).await?;
    let now = Utc::now();
    let txn = super::db::write_txn(&ctx.db).await?;
    let user = users::ActiveModel {
        pid: Set(Uuid::new_v4()),
        email: Set(reg.email.as_str().to_string()),
        password_hash: Set(password_hash),
        first_name: Set(reg.first_name.clone()),
        last_name: Set(reg.last_name.clone()),
        role: Set(reg.role.as_str().to_string()),
        active: Set(true),
        email_verified_at: Set((origin == Origin::Provisioned).then(|| now.into())),
        created_at: Set(now.into()),
        updated_at: Set(now.into()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .on_unique(|| {
        FieldErrors::single(
            "email",
            "An account with this e-mail address already exists.",
        )
        .into()
    })?;
    let mut jobs = Vec::new();
    if origin == Origin::SignUp {
        let welcome = Mail::Welcome {
            first_name: user.first_name.clone(),
        };
        jobs.push(mail::queue(&txn, &settings, &user.email, &welcome).await?);
        jobs.push(queue_verification(&txn, &settings, &user).await?);
    }
    if let Some(by) = by {
        super::audit::record(
            &txn,
            by,
            super::audit::Action::UserCreated,
            super::audit::Target::new(super::audit::TargetType::User, user.pid),
            None,
            Some(serde_json::json!({
                "email": user.email, "first_name": user.first_name,
                "last_name": user.last_name, "role": user.role,
            })),
        )
        .await?;
    }
    super::idempotency::produced(&txn, Produced::Account(user.pid), true).await?;
    txn.commit().await?;
    Jobs::get(ctx)
        .enqueue_all(jobs.into_iter().map(|mail_id| Job::DeliverMail { mail_id }))
        .await;
    Ok(user)
}

/// Self-service registration from `client`: the sign-up mails count against the mail limits
/// (per client, and per address so one victim is not signed up over and over).
///
/// # Errors
/// As [`register`]; `RateLimited` for a client over its mail limit.
pub async fn sign_up(ctx: &AppContext, reg: Registration, client: &str) -> AppResult<Model> {
    let quota = mail_limits::take(
        ctx,
        mail_limits::Purpose::SignUp,
        reg.email.as_str(),
        client,
    )
    .await?;
    quota.or_refuse()?;
    register(ctx, reg, Origin::SignUp).await
}

async fn queue_verification<C: sea_orm::ConnectionTrait>(
    db: &C,
    settings: &Settings,
    user: &Model,
) -> AppResult<Uuid> {
    let token = tokens::issue_one_time(
        db,
        user.id,
        OneTimeKind::VerifyEmail,
        Duration::hours(settings.auth.verify_ttl_hours),
    )
    .await?;
    let verify = Mail::VerifyEmail {
        first_name: user.first_name.clone(),
        token,
    };
    mail::queue(db, settings, &user.email, &verify).await
}

/// Sends a fresh verification link (older links are voided), within the mail limits.
///
/// # Errors
/// `AppError::Conflict` when already verified; `RateLimited` past the mail limits; database
/// errors.
pub async fn resend_verification(ctx: &AppContext, user: &Model, client: &str) -> AppResult<()> {
    if user.email_verified_at.is_some() {
        return Err(AppError::Conflict(
            "Your e-mail address is already verified.".into(),
        ));
    }
    mail_limits::take(ctx, mail_limits::Purpose::Verification, &user.email, client)
        .await?
        .or_refuse()?;
    let settings = Settings::get(ctx);
    let txn = super::db::write_txn(&ctx.db).await?;
    tokens::void_one_time(&txn, user.id, OneTimeKind::VerifyEmail).await?;
    let mail_id = queue_verification(&txn, &settings, user).await?;
    txn.commit().await?;
    Jobs::get(ctx)
        .enqueue_all([Job::DeliverMail { mail_id }])
        .await;
    Ok(())
}

/// # Errors
/// `AppError::Unprocessable("invalid_token")` for unknown, used or expired tokens.
pub async fn verify_email(ctx: &AppContext, token: &str) -> AppResult<Model> {
    let txn = super::db::write_txn(&ctx.db).await?;
    let user_id = tokens::consume_one_time(&txn, OneTimeKind::VerifyEmail, token).await?;
    let user = Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut active: users::ActiveModel = user.into();
    active.email_verified_at = Set(Some(Utc::now().into()));
    active.updated_at = Set(Utc::now().into());
    let user = active.update(&txn).await?;
    super::orders::attach_guest_orders(&txn, &user).await?;
    super::idempotency::produced(&txn, Produced::Nothing, false).await?;
    txn.commit().await?;
    Ok(user)
}

/// Whether `token` is a verification link that was used already by an account whose address
/// is confirmed: a second click on the link is not an error to the person.
///
/// # Errors
/// Database errors.
pub async fn verified_earlier(ctx: &AppContext, token: &str) -> AppResult<bool> {
    let Some(user_id) = tokens::used_by(&ctx.db, OneTimeKind::VerifyEmail, token).await? else {
        return Ok(false);
    };
    Ok(Entity::find_by_id(user_id)
        .one(&ctx.db)
        .await?
        .is_some_and(|u| u.email_verified_at.is_some()))
}

/// Failures from one client across all addresses may be this many times the per-address limit
/// (stops one client spraying guesses over many accounts without locking out a shared NAT).
const CLIENT_FAILURE_FACTOR: u64 = 10;

/// Tries on one account from all clients together may be this many times the per-client
/// limit (stops guesses spread over many addresses; a legitimate user rarely comes close).
const ACCOUNT_TRY_FACTOR: u64 = 4;

/// Checks credentials, throttled per (e-mail, client), per account and per client against
/// password guessing.
///
/// # Errors
/// `AppError::RateLimited` after too many failures; `AppError::Unauthorized` for wrong
/// credentials or a deactivated account (the same message, so neither is revealed).
pub async fn authenticate(
    ctx: &AppContext,
    email: &str,
    password: &str,
    client: &str,
) -> AppResult<Model> {
    let settings = Settings::get(ctx);
    let counters = Counters::get(ctx);
    let wrong = || AppError::Unauthorized("Wrong e-mail address or password.".into());
    let normalised = email.trim().to_lowercase();
    let pair_key = format!("login:{normalised}:{client}");
    let account_key = format!("login-account:{normalised}");
    let client_key = format!("login-client:{client}");
    let window = settings.auth.login_window_secs;
    let max = settings.auth.login_max_failures;
    // Each try on an account counts before the password is checked (a success clears it), so
    // guesses sent in parallel cannot all slip under the limit.
    let tried = counters.add(&pair_key, 1, window).await?;
    if tried.count > max {
        return Err(AppError::RateLimited {
            retry_after: tried.reset_in,
        });
    }
    let on_account = counters.add(&account_key, 1, window).await?;
    if on_account.count > max.saturating_mul(ACCOUNT_TRY_FACTOR) {
        return Err(AppError::RateLimited {
            retry_after: on_account.reset_in,
        });
    }
    // Counted before judging too (given back on success), so one client sending guesses for
    // many accounts in parallel cannot pass its limit while the hashes queue.
    let seen = counters.add(&client_key, 1, window).await?;
    if seen.count > max.saturating_mul(CLIENT_FAILURE_FACTOR) {
        return Err(AppError::RateLimited {
            retry_after: seen.reset_in,
        });
    }
    let user = match Email::parse(&normalised) {
        Ok(e) => users::find_by_email(&ctx.db, &e).await?,
        Err(_) => None,
    };
    // Verify against a real hash of the same parameters when the user does not exist, so the
    // response time does not reveal which addresses have accounts.
    let ok = match &user {
        Some(u) => passwords::verify(password, &u.password_hash).await?,
        None => {
            passwords::verify_nobody(password).await?;
            false
        }
    };
    match user {
        Some(u) if ok && u.active => {
            counters.clear(&pair_key).await?;
            counters.clear(&account_key).await?;
            counters.take_back(&client_key).await?;
            Ok(u)
        }
        _ => Err(wrong()),
    }
}

/// Signs a short-lived access token carrying the user's role, the session version it was
/// issued under and its API session (refresh-token family), so that ending the user's other
/// sessions stops it at once.
///
/// # Errors
/// Missing JWT configuration.
pub fn access_token(ctx: &AppContext, user: &Model, family: Uuid) -> AppResult<String> {
    let jwt = ctx.config.get_jwt_config()?;
    let settings = Settings::get(ctx);
    let mut claims = Map::new();
    claims.insert("role".into(), Value::String(user.role.clone()));
    claims.insert("typ".into(), Value::String("access".into()));
    claims.insert("sv".into(), Value::from(user.session_version));
    claims.insert("fam".into(), Value::String(family.to_string()));
    loco_rs::auth::jwt::JWT::new(&jwt.secret)
        .generate_token(settings.auth.access_ttl_secs, user.pid.to_string(), claims)
        .map_err(AppError::internal)
}

/// Starts an API session: a new refresh-token family and an access token.
///
/// # Errors
/// Database errors.
pub async fn issue_tokens(ctx: &AppContext, user: &Model) -> AppResult<Tokens> {
    let settings = Settings::get(ctx);
    let family = Uuid::new_v4();
    let refresh = tokens::issue_refresh(
        &ctx.db,
        user,
        family,
        Duration::days(settings.auth.refresh_ttl_days),
    )
    .await?;
    Ok(Tokens {
        access: access_token(ctx, user, family)?,
        refresh,
    })
}

/// Rotates a refresh token: the old one stops working, a successor in the same family is issued.
///
/// # Errors
/// `AppError::Unauthorized` for unknown, expired or reused tokens, deactivated users and
/// sessions ended since (password change, "sign out everywhere else", …).
pub async fn refresh(ctx: &AppContext, raw: &str) -> AppResult<(Model, Tokens)> {
    let settings = Settings::get(ctx);
    let txn = super::db::write_txn(&ctx.db).await?;
    let token = match tokens::redeem_refresh(&txn, raw).await? {
        Ok(t) => t,
        Err(reason) => {
            // A reused token's family revocation must stick even though we refuse the request.
            txn.commit().await?;
            tracing::info!(?reason, "refresh token refused");
            let msg = if reason == RefreshRejected::Expired {
                "The refresh token has expired."
            } else {
                "The refresh token is not valid."
            };
            return Err(AppError::Unauthorized(msg.into()));
        }
    };
    let user = Entity::find_by_id(token.user_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if !user.active || !user.session_is_current(token.session_version, Some(token.family)) {
        tokens::revoke_family(&txn, token.family).await?;
        txn.commit().await?;
        return Err(AppError::Unauthorized(
            "The refresh token is not valid.".into(),
        ));
    }
    // A session opened before the shop required two-factor login for staff ends here.
    if super::two_factor::setup_required(&settings, &user) {
        txn.commit().await?;
        return Err(AppError::TwoFactorSetupRequired);
    }
    let refresh = tokens::issue_refresh(
        &txn,
        &user,
        token.family,
        Duration::days(settings.auth.refresh_ttl_days),
    )
    .await?;
    txn.commit().await?;
    let access = access_token(ctx, &user, token.family)?;
    Ok((user, Tokens { access, refresh }))
}

/// Ends every session of `user` except the one asking ("sign out everywhere else").
///
/// # Errors
/// Database errors.
pub async fn sign_out_everywhere_else(
    ctx: &AppContext,
    user: &Model,
    keep: Keep,
) -> AppResult<Model> {
    let txn = super::db::write_txn(&ctx.db).await?;
    let user = end_other_sessions(&txn, user.id, keep).await?;
    super::idempotency::produced(&txn, Produced::Nothing, false).await?;
    txn.commit().await?;
    Ok(user)
}

/// Revokes the login session (refresh-token family) that `raw` belongs to.
///
/// # Errors
/// Database errors. A token that is not the user's is ignored (nothing to reveal).
pub async fn logout(ctx: &AppContext, user: &Model, raw: &str) -> AppResult<()> {
    if let Some(family) = tokens::family_of(&ctx.db, raw, user.id).await? {
        tokens::revoke_family(&ctx.db, family).await?;
    }
    Ok(())
}

/// Starts a password reset. Succeeds the same way whether or not the address has an account,
/// or has had enough reset mails for now, so the endpoint cannot be used to discover accounts
/// or to flood one inbox.
///
/// # Errors
/// `RateLimited` for a client that asked for too many mails (whatever the address);
/// `Unavailable` when the job queue cannot take the request.
pub async fn forgot_password(ctx: &AppContext, email: &str, client: &str) -> AppResult<()> {
    let Ok(email) = Email::parse(email) else {
        return Ok(());
    };
    let quota = mail_limits::take(
        ctx,
        mail_limits::Purpose::PasswordReset,
        email.as_str(),
        client,
    )
    .await?;
    if quota != mail_limits::Quota::Granted {
        return Ok(());
    }
    // Looking the account up, writing the token and the mail happen in a job, for every
    // address alike: the answer takes the same time whether or not there is an account. The
    // job is the only record of the request, so a queue that cannot take it is an error (503,
    // the same for every address), not a log line. (The job carries the address, not an id:
    // there may be no account to name.)
    Jobs::get(ctx)
        .enqueue(Job::SendPasswordReset {
            email: email.as_str().to_string(),
        })
        .await
}

/// The `SendPasswordReset` job: a new reset link (older ones voided) to the active account of
/// `email`, if there is one; nothing otherwise.
///
/// # Errors
/// Database errors (the job is retried).
pub async fn send_password_reset(env: &crate::jobs::JobEnv, email: &str) -> AppResult<()> {
    let Ok(email) = Email::parse(email) else {
        return Ok(());
    };
    let txn = super::db::write_txn(&env.db).await?;
    // Read under a lock in the transaction that issues the link: an admin moving the account
    // to another address at the same moment cannot have it mailed to the old one.
    let Some(user) = Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .lock(sea_orm::sea_query::LockType::NoKeyUpdate)
        .one(&txn)
        .await?
    else {
        return Ok(());
    };
    if !user.active || user.closed_at.is_some() {
        return Ok(());
    }
    let mail_id = admin::issue_reset(&txn, &env.settings, &user).await?;
    txn.commit().await?;
    env.enqueue_all([Job::DeliverMail { mail_id }]).await;
    Ok(())
}

async fn set_password_hash<C: sea_orm::ConnectionTrait>(
    db: &C,
    user: Model,
    hash: String,
) -> AppResult<Model> {
    let mut active: users::ActiveModel = user.into();
    active.password_hash = Set(hash);
    active.updated_at = Set(Utc::now().into());
    Ok(active.update(db).await?)
}

/// Completes a reset: single-use token, new password, every session signed out.
///
/// # Errors
/// `AppError::Validation` for a weak password; `invalid_token` for a bad link.
pub async fn reset_password(ctx: &AppContext, token: &str, password: &str) -> AppResult<Model> {
    // The policy needs the account's address and hashing is slow: both happen before the
    // write transaction, which then redeems the token (once, whoever races) and stores it.
    let user_id = tokens::peek_one_time(&ctx.db, OneTimeKind::PasswordReset, token).await?;
    let user = Entity::find_by_id(user_id)
        .one(&ctx.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut errors = FieldErrors::new();
    check_password(&mut errors, "password", password, Some(&user.email));
    errors.into_result()?;
    let hash = passwords::hash(password).await?;
    let txn = super::db::write_txn(&ctx.db).await?;
    let redeemed = tokens::consume_one_time(&txn, OneTimeKind::PasswordReset, token).await?;
    let user = Entity::find_by_id(redeemed)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let user = set_password_hash(&txn, user, hash).await?;
    tokens::void_one_time(&txn, user.id, OneTimeKind::PasswordReset).await?;
    // A pending change of address may be an intruder's: a new password voids it.
    tokens::void_one_time(&txn, user.id, OneTimeKind::EmailChange).await?;
    // A reset proves control of the mailbox.
    if user.email_verified_at.is_none() {
        let mut a: users::ActiveModel = user.clone().into();
        a.email_verified_at = Set(Some(Utc::now().into()));
        a.update(&txn).await?;
    }
    // The mailbox's holder, with a password only they know now (every other session ends):
    // the orders placed as a guest with the address are theirs.
    super::orders::attach_guest_orders(&txn, &user).await?;
    let user = end_other_sessions(&txn, user.id, Keep::Nothing).await?;
    super::idempotency::produced(&txn, Produced::Nothing, false).await?;
    txn.commit().await?;
    Ok(user)
}

/// Changes the password after checking the current one (throttled like a login) and ends
/// every other session of the user; `keep` is the session that asked.
///
/// # Errors
/// `AppError::Validation` naming `current_password` or `new_password`; `RateLimited`.
pub async fn change_password(
    ctx: &AppContext,
    user: Model,
    current: &str,
    new: &str,
    keep: Keep,
) -> AppResult<Model> {
    let mut errors = FieldErrors::new();
    check_password(&mut errors, "new_password", new, Some(&user.email));
    match passwords::check_current(ctx, &user, current, "current_password").await {
        Ok(()) => {}
        Err(AppError::Validation(f)) => errors.merge(f),
        Err(e) => return Err(e),
    }
    errors.into_result()?;
    let hash = passwords::hash(new).await?;
    let txn = super::db::write_txn(&ctx.db).await?;
    let user = set_password_hash(&txn, user, hash).await?;
    tokens::void_one_time(&txn, user.id, OneTimeKind::EmailChange).await?;
    let user = end_other_sessions(&txn, user.id, keep).await?;
    super::idempotency::produced(&txn, Produced::Nothing, false).await?;
    txn.commit().await?;
    Ok(user)
}

/// # Errors
/// Database errors.
pub async fn update_profile(
    ctx: &AppContext,
    user: Model,
    update: ProfileUpdate,
) -> AppResult<Model> {
    let mut active: users::ActiveModel = user.into();
    if let Some(v) = update.first_name {
        active.first_name = Set(v);
    }
    if let Some(v) = update.last_name {
        active.last_name = Set(v);
    }
    active.updated_at = Set(Utc::now().into());
    Ok(active.update(&ctx.db).await?)
}
