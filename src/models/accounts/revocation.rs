//! Ending a user's sessions: browser sessions and API token families alike.
//!
//! Design: each session carries the user's `session_version` from when it was opened (the
//! browser session stores it, access tokens carry it as a claim, refresh tokens in their row).
//! Ending every other session is one bump of the version on the user row, which every
//! authenticated request loads anyway, so a stale session is refused at its next request:
//! access tokens included, long before they expire. The session that asked keeps working:
//! a browser session is moved to the new version by its caller, an API session is named on
//! the user row as the one family that survives the bump.
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use uuid::Uuid;

use crate::{
    errors::{AppError, AppResult},
    models::{
        _entities::refresh_tokens,
        users::{self, Model},
    },
};

/// Which session survives [`end_other_sessions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// None: a reset by e-mail link, a deactivation, an account closure.
    Nothing,
    /// The browser session that asked; its caller stores the new version in it.
    Browser,
    /// The API session (refresh-token family) that asked.
    ApiFamily(Uuid),
}

impl Keep {
    /// The API caller's session, when the caller came with a token of one.
    #[must_use]
    pub fn api(family: Option<Uuid>) -> Self {
        family.map_or(Self::Nothing, Self::ApiFamily)
    }
}

impl Model {
    /// Whether a session opened under `version` (and, for API sessions, in `family`) is still
    /// one of this user's live sessions.
    #[must_use]
    pub fn session_is_current(&self, version: i64, family: Option<Uuid>) -> bool {
        version == self.session_version
            || family.is_some_and(|f| self.session_kept_family == Some(f))
    }
}

/// Ends every session of `user` but `keep` and returns the user as it now is (with the new
/// `session_version`). Runs inside the caller's transaction, so the change that asked for it
/// and the end of the sessions commit together.
///
/// # Errors
/// `NotFound` for a deleted user; database errors.
pub async fn end_other_sessions<C: ConnectionTrait>(
    db: &C,
    user_id: i32,
    keep: Keep,
) -> AppResult<Model> {
    let kept = match keep {
        Keep::ApiFamily(f) => Some(f),
        Keep::Nothing | Keep::Browser => None,
    };
    // A refresh racing this may still commit a token of the old version after the update
    // below; it is refused when redeemed (`accounts::refresh` checks the version), and so is
    // its access token.
    users::Entity::update_many()
        .col_expr(
            users::Column::SessionVersion,
            Expr::col(users::Column::SessionVersion).add(1),
        )
        .col_expr(users::Column::SessionKeptFamily, Expr::value(kept))
        .filter(users::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    let mut revoke = refresh_tokens::Entity::update_many()
        .col_expr(
            refresh_tokens::Column::RevokedAt,
            Expr::value(chrono::Utc::now()),
        )
        .filter(refresh_tokens::Column::UserId.eq(user_id))
        .filter(refresh_tokens::Column::RevokedAt.is_null());
    if let Some(f) = kept {
        revoke = revoke.filter(refresh_tokens::Column::Family.ne(f));
    }
    revoke.exec(db).await?;
    users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    fn user(version: i64, kept: Option<Uuid>) -> crate::models::users::Model {
        let now = chrono::Utc::now().fixed_offset();
        crate::models::users::Model {
            id: 1,
            pid: Uuid::new_v4(),
            email: "a@example.com".into(),
            password_hash: String::new(),
            first_name: "A".into(),
            last_name: "B".into(),
            role: "customer".into(),
            active: true,
            email_verified_at: None,
            created_at: now,
            updated_at: now,
            totp_secret: None,
            totp_enabled_at: None,
            totp_last_step: None,
            session_version: version,
            session_kept_family: kept,
            closed_at: None,
        }
    }

    #[test]
    fn only_the_current_version_or_the_kept_family_stays_signed_in() {
        let kept = Uuid::new_v4();
        let u = user(3, Some(kept));
        assert!(u.session_is_current(3, None));
        assert!(u.session_is_current(3, Some(Uuid::new_v4())));
        assert!(u.session_is_current(2, Some(kept)), "the family that asked");
        assert!(
            !u.session_is_current(2, None),
            "a browser session of before"
        );
        assert!(
            !u.session_is_current(2, Some(Uuid::new_v4())),
            "another family"
        );
        assert!(!user(3, None).session_is_current(2, Some(kept)));
    }
}
