//! Staff two-factor login: enrolment, the second step of a login, recovery codes (rules in
//! `domain::two_factor`).
//!
//! Design:
//! - Enrolment stores the new secret on the user with `totp_enabled_at` still empty; the
//!   first correct code turns it on and issues the recovery codes (shown once). Until then a
//!   login asks for no code.
//! - Accepting a code is a compare-and-set on `totp_last_step` (only a later step is taken),
//!   and using a recovery code on its `used_at`: two logins racing with the same code cannot
//!   both pass.
//! - Every code tried counts against a throttle of the account (`auth.login_max_failures`
//!   per window) before it is judged, so six digits cannot be guessed, not even by many
//!   requests at once; the password asked before turning it on or off is throttled the same.
use chrono::Utc;
use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, Set,
};
use serde::Serialize;

use super::{
    _entities::{recovery_codes, users},
    accounts::Keep,
    db::write_txn,
    users::Model as User,
};
use crate::{
    domain::{
        two_factor::{
            is_recovery_code, qr_svg, recovery_code, recovery_hash, Authenticator, RECOVERY_CODES,
            SECRET_BYTES,
        },
        validation::FieldErrors,
    },
    errors::{AppError, AppResult},
    sealing::{Purpose, Sealer},
    settings::Settings,
};

/// What the enrolment page shows: the secret as text and as a QR code.
#[derive(Debug, Clone, Serialize)]
pub struct Enrolment {
    pub secret: String,
    pub otpauth_url: String,
    pub qr_svg: String,
}

impl User {
    #[must_use]
    pub const fn two_factor_enabled(&self) -> bool {
        self.totp_enabled_at.is_some()
    }
}

fn authenticator(ctx: &AppContext, user: &User) -> AppResult<Authenticator> {
    let stored = user
        .totp_secret
        .as_deref()
        .ok_or_else(|| AppError::Internal("no TOTP secret".into()))?;
    let secret = Sealer::get(ctx).open(Purpose::TotpSecret, stored)?;
    Authenticator::from_base32(&secret, &Settings::get(ctx).shop_name, &user.email)
        .map_err(|e| AppError::Internal(e.into()))
}

/// Seals the TOTP secrets stored before sealing existed (run at start; each row once, by
/// compare-and-set).
///
/// # Errors
/// Database errors.
pub async fn seal_legacy_secrets(db: &DatabaseConnection, sealer: &Sealer) -> AppResult<u64> {
    let legacy = users::Entity::find()
        .filter(users::Column::TotpSecret.is_not_null())
        .filter(users::Column::TotpSecret.not_like("sealed:v1:%"))
        .all(db)
        .await?;
    let mut sealed = 0;
    for u in legacy {
        let Some(plain) = u.totp_secret else { continue };
        sealed += users::Entity::update_many()
            .col_expr(
                users::Column::TotpSecret,
                Expr::value(sealer.seal(Purpose::TotpSecret, &plain)),
            )
            .filter(users::Column::Id.eq(u.id))
            .filter(users::Column::TotpSecret.eq(plain.as_str()))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(sealed)
}

fn enrolment(a: &Authenticator) -> Enrolment {
    let url = a.otpauth_url();
    Enrolment {
        secret: a.secret_base32(),
        qr_svg: qr_svg(&url),
        otpauth_url: url,
    }
}

fn staff_only(user: &User) -> AppResult<()> {
    if user.role().is_staff() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The enrolment in progress, starting one (a new secret) when there is none.
///
/// # Errors
/// `Forbidden` for customers; `Conflict` when two-factor login is already on.
pub async fn enrolment_for(ctx: &AppContext, user: &User) -> AppResult<Enrolment> {
    staff_only(user)?;
    if user.two_factor_enabled() {
        return Err(AppError::Conflict("Two-factor login is already on.".into()));
    }
    if user.totp_secret.is_some() {
        return Ok(enrolment(&authenticator(ctx, user)?));
    }
    let secret: [u8; SECRET_BYTES] = rand::random();
    let a = Authenticator::new(secret.to_vec(), &Settings::get(ctx).shop_name, &user.email)
        .map_err(|e| AppError::Internal(e.into()))?;
    users::Entity::update_many()
        .col_expr(
            users::Column::TotpSecret,
            Expr::value(Sealer::get(ctx).seal(Purpose::TotpSecret, &a.secret_base32())),
        )
        .filter(users::Column::Id.eq(user.id))
        .filter(users::Column::TotpEnabledAt.is_null())
        .exec(&ctx.db)
        .await?;
    // Re-read: a second tab may have started the enrolment first; both show its secret.
    let fresh = super::users::find_by_pid(&ctx.db, user.pid).await?;
    Ok(enrolment(&authenticator(ctx, &fresh)?))
}

fn wrong_code() -> AppError {
    FieldErrors::single(
        "code",
        "That code is not valid. Enter the current code from your app.",
    )
    .into()
}

/// Turns two-factor login on with the password and the first correct code; returns the
/// recovery codes, which are never shown again, and the user under its new session version
/// (every other session ends: the caller keeps its browser session on that version).
///
/// # Errors
/// `Forbidden` for customers, `Conflict` when already on or not started, 422 `password` or
/// `code`, `RateLimited`.
pub async fn confirm(
    ctx: &AppContext,
    user: &User,
    password: &str,
    code: &str,
) -> AppResult<(Vec<String>, User)> {
    staff_only(user)?;
    if user.two_factor_enabled() || user.totp_secret.is_none() {
        return Err(AppError::Conflict(
            "Start the set-up again: there is no enrolment to confirm.".into(),
        ));
    }
    reauthenticate(ctx, user, password).await?;
    let a = authenticator(ctx, user)?;
    let now = u64::try_from(Utc::now().timestamp()).unwrap_or(0);
    let step = a.verify(code, now, None).ok_or_else(wrong_code)?;
    let txn = write_txn(&ctx.db).await?;
    let on = users::Entity::update_many()
        .col_expr(
            users::Column::TotpEnabledAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .col_expr(users::Column::TotpLastStep, Expr::value(step))
        .filter(users::Column::Id.eq(user.id))
        .filter(users::Column::TotpEnabledAt.is_null())
        .filter(users::Column::TotpSecret.eq(user.totp_secret.clone()))
        .exec(&txn)
        .await?;
    if on.rows_affected != 1 {
        return Err(AppError::Conflict("Two-factor login is already on.".into()));
    }
    let codes = issue_codes(&txn, user.id).await?;
    // Sessions opened with the password alone end here; the browser that turned it on stays.
    let user = super::accounts::end_other_sessions(&txn, user.id, Keep::Browser).await?;
    txn.commit().await?;
    Ok((codes, user))
}

async fn issue_codes<C: sea_orm::ConnectionTrait>(db: &C, user_id: i32) -> AppResult<Vec<String>> {
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| recovery_code(rand::random()))
        .collect();
    let now = Utc::now();
    for c in &codes {
        recovery_codes::ActiveModel {
            user_id: Set(user_id),
            code_hash: Set(recovery_hash(c)),
            used_at: Set(None),
            created_at: Set(now.into()),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(codes)
}

/// Recovery codes not used yet.
///
/// # Errors
/// Database errors.
pub async fn codes_left(db: &DatabaseConnection, user: &User) -> AppResult<u64> {
    Ok(recovery_codes::Entity::find()
        .filter(recovery_codes::Column::UserId.eq(user.id))
        .filter(recovery_codes::Column::UsedAt.is_null())
        .count(db)
        .await?)
}

/// The second step of a login (and the proof asked before turning two-factor off): a current
/// TOTP code, or an unused recovery code, which is then used up.
///
/// # Errors
/// `RateLimited` after too many wrong codes; 422 `code` for a wrong or reused code.
pub async fn check(ctx: &AppContext, user: &User, code: &str) -> AppResult<()> {
    let key = format!("2fa:{}", user.id);
    let result = super::accounts::passwords::limited_try(ctx, &key, || async {
        if is_recovery_code(code) {
            let used = recovery_codes::Entity::update_many()
                .col_expr(
                    recovery_codes::Column::UsedAt,
                    Expr::value(Utc::now().fixed_offset()),
                )
                .filter(recovery_codes::Column::UserId.eq(user.id))
                .filter(recovery_codes::Column::CodeHash.eq(recovery_hash(code)))
                .filter(recovery_codes::Column::UsedAt.is_null())
                .exec(&ctx.db)
                .await?;
            return Ok(used.rows_affected == 1);
        }
        let now = u64::try_from(Utc::now().timestamp()).unwrap_or(0);
        let Some(step) = authenticator(ctx, user)?.verify(code, now, user.totp_last_step) else {
            return Ok(false);
        };
        let taken = users::Entity::update_many()
            .col_expr(users::Column::TotpLastStep, Expr::value(step))
            .filter(users::Column::Id.eq(user.id))
            .filter(
                Condition::any()
                    .add(users::Column::TotpLastStep.is_null())
                    .add(Expr::col(users::Column::TotpLastStep).lt(step)),
            )
            .exec(&ctx.db)
            .await?;
        Ok(taken.rows_affected == 1)
    })
    .await;
    match result {
        Err(AppError::Validation(_)) => Err(wrong_code()),
        other => other,
    }
}

/// The password again, before two-factor login is turned on or off (a borrowed session alone
/// must not be able to change it), throttled like a login.
async fn reauthenticate(ctx: &AppContext, user: &User, password: &str) -> AppResult<()> {
    super::accounts::passwords::check_current(ctx, user, password, "password").await
}

/// Turns two-factor login off (or abandons an enrolment); needs the password and, when it is
/// on, a code.
///
/// # Errors
/// 422 `password` or `code`; `RateLimited`.
pub async fn disable(ctx: &AppContext, user: &User, password: &str, code: &str) -> AppResult<()> {
    reauthenticate(ctx, user, password).await?;
    if user.two_factor_enabled() {
        check(ctx, user, code).await?;
    }
    let txn = write_txn(&ctx.db).await?;
    users::Entity::update_many()
        .col_expr(
            users::Column::TotpSecret,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            users::Column::TotpEnabledAt,
            Expr::value(Option::<chrono::DateTime<chrono::FixedOffset>>::None),
        )
        .col_expr(
            users::Column::TotpLastStep,
            Expr::value(Option::<i64>::None),
        )
        .filter(users::Column::Id.eq(user.id))
        .exec(&txn)
        .await?;
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// New recovery codes (the old ones stop working), after a current code.
///
/// # Errors
/// `Conflict` when two-factor login is off; 422 `code`; `RateLimited`.
pub async fn new_codes(ctx: &AppContext, user: &User, code: &str) -> AppResult<Vec<String>> {
    if !user.two_factor_enabled() {
        return Err(AppError::Conflict("Two-factor login is off.".into()));
    }
    check(ctx, user, code).await?;
    let txn = write_txn(&ctx.db).await?;
    let codes = issue_codes(&txn, user.id).await?;
    txn.commit().await?;
    Ok(codes)
}

/// Whether `user` must set up two-factor login before using staff tools (the
/// `auth.require_staff_2fa` setting).
#[must_use]
pub fn setup_required(settings: &Settings, user: &User) -> bool {
    settings.auth.require_staff_2fa && user.role().is_staff() && !user.two_factor_enabled()
}

/// The second factor of an API login: nothing for accounts without it, the `otp` for those
/// with it.
///
/// # Errors
/// `TwoFactorSetupRequired` (staff must set it up first), `OtpRequired` without `otp`,
/// `Unauthorized` for a wrong code, `RateLimited`.
pub async fn api_login(ctx: &AppContext, user: &User, otp: Option<&str>) -> AppResult<()> {
    if setup_required(&Settings::get(ctx), user) {
        return Err(AppError::TwoFactorSetupRequired);
    }
    if !user.two_factor_enabled() {
        return Ok(());
    }
    match otp.map(str::trim).filter(|c| !c.is_empty()) {
        None => Err(AppError::OtpRequired),
        Some(code) => check(ctx, user, code).await.map_err(|e| match e {
            AppError::Validation(_) => {
                AppError::Unauthorized("The two-factor code is not valid.".into())
            }
            other => other,
        }),
    }
}
