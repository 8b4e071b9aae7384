//! Secrets handed to users: refresh tokens (rotated, revocable) and one-time tokens
//! (e-mail verification, password reset). Only SHA-256 hashes are stored.
use chrono::{Duration, Utc};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::_entities::{refresh_tokens, user_tokens};
use crate::errors::{AppError, AppResult};

/// A 256-bit random token, URL-safe.
#[must_use]
pub fn new_secret() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[must_use]
pub fn hash_secret(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OneTimeKind {
    VerifyEmail,
    PasswordReset,
    /// Confirms a new address; the token carries it (`new_email`).
    EmailChange,
}

impl OneTimeKind {
    const fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::PasswordReset => "password_reset",
            Self::EmailChange => "email_change",
        }
    }
}

/// Creates a one-time token for `user_id`; returns the raw secret to put in a link.
///
/// # Errors
/// Database errors.
pub async fn issue_one_time<C: ConnectionTrait>(
    db: &C,
    user_id: i32,
    kind: OneTimeKind,
    ttl: Duration,
) -> AppResult<String> {
    issue_carrying(db, user_id, kind, ttl, None).await
}

/// As [`issue_one_time`], the token carrying the new address it confirms.
///
/// # Errors
/// Database errors.
pub async fn issue_carrying<C: ConnectionTrait>(
    db: &C,
    user_id: i32,
    kind: OneTimeKind,
    ttl: Duration,
    new_email: Option<&str>,
) -> AppResult<String> {
    let raw = new_secret();
    let now = Utc::now();
    user_tokens::ActiveModel {
        user_id: Set(user_id),
        kind: Set(kind.as_str().to_string()),
        token_hash: Set(hash_secret(&raw)),
        expires_at: Set((now + ttl).into()),
        used_at: Set(None),
        created_at: Set(now.into()),
        new_email: Set(new_email.map(str::to_string)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(raw)
}

/// Marks a one-time token used and returns its user id. The conditional UPDATE is the
/// single-use guarantee: of two concurrent redemptions exactly one affects a row.
///
/// # Errors
/// `AppError::Unprocessable("invalid_token")` for unknown, used or expired tokens.
pub async fn consume_one_time<C: ConnectionTrait>(
    db: &C,
    kind: OneTimeKind,
    raw: &str,
) -> AppResult<i32> {
    Ok(consume_token(db, kind, raw).await?.user_id)
}

/// As [`consume_one_time`], answering the whole token (what it carries too).
///
/// # Errors
/// `AppError::Unprocessable("invalid_token")` for unknown, used or expired tokens.
pub async fn consume_token<C: ConnectionTrait>(
    db: &C,
    kind: OneTimeKind,
    raw: &str,
) -> AppResult<user_tokens::Model> {
    let invalid = invalid_token;
    if raw.is_empty() || raw.len() > 200 {
        return Err(invalid());
    }
    let hash = hash_secret(raw);
    let now = Utc::now();
    let res = user_tokens::Entity::update_many()
        .col_expr(user_tokens::Column::UsedAt, Expr::value(now))
        .filter(user_tokens::Column::TokenHash.eq(&hash))
        .filter(user_tokens::Column::Kind.eq(kind.as_str()))
        .filter(user_tokens::Column::UsedAt.is_null())
        .filter(user_tokens::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    if res.rows_affected != 1 {
        return Err(invalid());
    }
    user_tokens::Entity::find()
        .filter(user_tokens::Column::TokenHash.eq(&hash))
        .one(db)
        .await?
        .ok_or_else(invalid)
}

/// The user whose one-time token `raw` was already used (for saying "done already" to a
/// second click on a link), if it was.
///
/// # Errors
/// Database errors.
pub async fn used_by<C: ConnectionTrait>(
    db: &C,
    kind: OneTimeKind,
    raw: &str,
) -> AppResult<Option<i32>> {
    if raw.is_empty() || raw.len() > 200 {
        return Ok(None);
    }
    Ok(user_tokens::Entity::find()
        .filter(user_tokens::Column::TokenHash.eq(hash_secret(raw)))
        .filter(user_tokens::Column::Kind.eq(kind.as_str()))
        .filter(user_tokens::Column::UsedAt.is_not_null())
        .one(db)
        .await?
        .map(|t| t.user_id))
}

/// The user a live (unused, unexpired) one-time token belongs to, without using it up: for
/// checks that must run before the write that redeems it.
///
/// # Errors
/// `AppError::Unprocessable("invalid_token")` for unknown, used or expired tokens.
pub async fn peek_one_time<C: ConnectionTrait>(
    db: &C,
    kind: OneTimeKind,
    raw: &str,
) -> AppResult<i32> {
    Ok(peek_token(db, kind, raw).await?.user_id)
}

/// As [`peek_one_time`], answering the whole token.
///
/// # Errors
/// `AppError::Unprocessable("invalid_token")` for unknown, used or expired tokens.
pub async fn peek_token<C: ConnectionTrait>(
    db: &C,
    kind: OneTimeKind,
    raw: &str,
) -> AppResult<user_tokens::Model> {
    if raw.is_empty() || raw.len() > 200 {
        return Err(invalid_token());
    }
    user_tokens::Entity::find()
        .filter(user_tokens::Column::TokenHash.eq(hash_secret(raw)))
        .filter(user_tokens::Column::Kind.eq(kind.as_str()))
        .filter(user_tokens::Column::UsedAt.is_null())
        .filter(user_tokens::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?
        .ok_or_else(invalid_token)
}

fn invalid_token() -> AppError {
    AppError::Unprocessable {
        code: "invalid_token",
        message: "This link is invalid or has expired.".into(),
    }
}

/// Invalidates every unused token of one kind for a user (a new reset link voids older ones;
/// a successful reset voids them all).
///
/// # Errors
/// Database errors.
pub async fn void_one_time<C: ConnectionTrait>(
    db: &C,
    user_id: i32,
    kind: OneTimeKind,
) -> AppResult<()> {
    user_tokens::Entity::update_many()
        .col_expr(user_tokens::Column::UsedAt, Expr::value(Utc::now()))
        .filter(user_tokens::Column::UserId.eq(user_id))
        .filter(user_tokens::Column::Kind.eq(kind.as_str()))
        .filter(user_tokens::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Issues a refresh token in `family` (new for a login, the old one's for a rotation), under
/// the user's current session version.
///
/// # Errors
/// Database errors.
pub async fn issue_refresh<C: ConnectionTrait>(
    db: &C,
    user: &super::users::Model,
    family: Uuid,
    ttl: Duration,
) -> AppResult<String> {
    let raw = new_secret();
    let now = Utc::now();
    refresh_tokens::ActiveModel {
        user_id: Set(user.id),
        token_hash: Set(hash_secret(&raw)),
        family: Set(family),
        expires_at: Set((now + ttl).into()),
        revoked_at: Set(None),
        created_at: Set(now.into()),
        session_version: Set(user.session_version),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(raw)
}

/// Why a refresh token was refused; all map to 401 without telling the client which.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshRejected {
    Unknown,
    Expired,
    /// A token that was already rotated or revoked: possible theft, the family is revoked.
    Reused,
}

/// Revokes `raw` and returns its row, so the caller can issue the successor in the same family.
///
/// # Errors
/// `RefreshRejected` inside `Ok(Err(..))` for refused tokens; database errors as `AppError`.
pub async fn redeem_refresh<C: ConnectionTrait>(
    db: &C,
    raw: &str,
) -> AppResult<Result<refresh_tokens::Model, RefreshRejected>> {
    if raw.is_empty() || raw.len() > 200 {
        return Ok(Err(RefreshRejected::Unknown));
    }
    let Some(token) = refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::TokenHash.eq(hash_secret(raw)))
        .one(db)
        .await?
    else {
        return Ok(Err(RefreshRejected::Unknown));
    };
    let now = Utc::now();
    if token.revoked_at.is_some() {
        revoke_family(db, token.family).await?;
        return Ok(Err(RefreshRejected::Reused));
    }
    if token.expires_at < now {
        return Ok(Err(RefreshRejected::Expired));
    }
    // Compare-and-set: of two concurrent refreshes with the same token only one succeeds.
    let res = refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(now))
        .filter(refresh_tokens::Column::Id.eq(token.id))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    if res.rows_affected != 1 {
        return Ok(Err(RefreshRejected::Reused));
    }
    Ok(Ok(token))
}

/// Revokes every live token of a family (logout, reuse detection).
///
/// # Errors
/// Database errors.
pub async fn revoke_family<C: ConnectionTrait>(db: &C, family: Uuid) -> AppResult<()> {
    refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_tokens::Column::Family.eq(family))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Finds a live token's family for logout, only if it belongs to `user_id`.
///
/// # Errors
/// Database errors.
pub async fn family_of<C: ConnectionTrait>(
    db: &C,
    raw: &str,
    user_id: i32,
) -> AppResult<Option<Uuid>> {
    Ok(refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::TokenHash.eq(hash_secret(raw)))
        .filter(refresh_tokens::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .map(|t| t.family))
}

/// Deletes tokens that can never be used again (scheduled clean-up).
///
/// # Errors
/// Database errors.
pub async fn purge_expired<C: ConnectionTrait>(db: &C) -> AppResult<u64> {
    let now = Utc::now();
    let a = refresh_tokens::Entity::delete_many()
        .filter(refresh_tokens::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?;
    let b = user_tokens::Entity::delete_many()
        .filter(user_tokens::Column::ExpiresAt.lt(now - Duration::days(7)))
        .exec(db)
        .await?;
    Ok(a.rows_affected + b.rows_affected)
}
