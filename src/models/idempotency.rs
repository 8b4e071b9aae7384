//! Stored outcomes of POST requests sent with an `Idempotency-Key`, safe across crashes.
//!
//! The unique index on (owner, key) is the lock: the first request inserts an `in_progress`
//! row and runs; a concurrent or later one with the same key finds the row and waits for, or
//! replays, the stored response instead of running again.
//!
//! A claim is held by one *attempt* (a random token) under a short lease that the attempt
//! renews while its request runs. When the holder dies (a crash, a kill, a lost connection)
//! the lease runs out within [`LEASE`] and the next retry takes the claim over. Whether the
//! dead attempt did anything is not guessed: every write transaction begun inside the request
//! ([`crate::models::db::write_txn`]) first stamps the claim (`effect_at`) in that same
//! transaction, and the use-case names what it produced ([`produced`]) there too. So the stamp
//! commits exactly when the effect does, and the retry either runs again (no stamp: nothing
//! committed) or answers from what was produced (stamp: it happened once, and only once). A
//! stamp also fences: an attempt whose claim was taken over cannot commit anything more.
use std::future::Future;

use chrono::{Duration, Utc};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, Set,
};
use uuid::Uuid;

use super::_entities::idempotency_keys::{self, Column, Entity};
use crate::errors::AppResult;

pub const TTL_HOURS: i64 = 24;
/// How long a claim stays held without its holder renewing it.
pub const LEASE: std::time::Duration = std::time::Duration::from_secs(5);
/// How often a running request renews its claim (well inside [`LEASE`]).
pub const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

fn lease_end() -> chrono::DateTime<Utc> {
    Utc::now() + Duration::from_std(LEASE).unwrap_or_else(|_| Duration::seconds(5))
}

/// A stored response.
#[derive(Debug, Clone)]
pub struct Saved {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// One attempt at running an idempotent request: the claim's row and the attempt's fencing
/// token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    pub id: i32,
    pub token: Uuid,
}

/// What an idempotent request produced, named in the transaction that produced it, so that a
/// retry after a crash can answer with it. A request whose transactions committed without
/// naming anything runs again: every use-case names what its last write produced (the
/// idempotency tests check each POST of the API does), so what committed before that is
/// preparation that is safe to repeat (a cart made, prices refreshed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Produced {
    /// An order was placed or moved; the answer is the order.
    Order(Uuid),
    /// The caller's cart changed; the answer is the cart.
    Cart,
    /// A product (or one of its variants or its stock) changed; the answer is the product.
    Product(Uuid),
    /// An account was made; the answer is the account.
    Account(Uuid),
    /// The caller's wishlist changed; the answer is the wishlist.
    Wishlist,
    /// The answer has no body (204 No Content).
    Nothing,
    /// The answer showed a new secret once (an API key, a webhook signing secret). It cannot
    /// be shown again, so a retry is told that the request was carried out.
    Secret,
    /// The use-case wrote the answer itself, in the transaction of its effect ([`answer`]).
    Answer,
    /// Running the request again does nothing twice (it finds and reuses what the first run
    /// made), so a retry simply runs it.
    Rerun,
}

impl Produced {
    fn encode(self) -> String {
        match self {
            Self::Order(id) => format!("order:{id}"),
            Self::Cart => "cart".into(),
            Self::Product(id) => format!("product:{id}"),
            Self::Account(id) => format!("account:{id}"),
            Self::Wishlist => "wishlist".into(),
            Self::Nothing => "nothing".into(),
            Self::Secret => "secret".into(),
            Self::Answer => "answer".into(),
            Self::Rerun => "rerun".into(),
        }
    }

    fn decode(s: &str) -> Option<Self> {
        let (kind, id) = s.split_once(':').unwrap_or((s, ""));
        let id = || Uuid::parse_str(id).ok();
        match kind {
            "order" => id().map(Self::Order),
            "cart" => Some(Self::Cart),
            "product" => id().map(Self::Product),
            "account" => id().map(Self::Account),
            "wishlist" => Some(Self::Wishlist),
            "nothing" => Some(Self::Nothing),
            "secret" => Some(Self::Secret),
            "answer" => Some(Self::Answer),
            "rerun" => Some(Self::Rerun),
            _ => None,
        }
    }
}

/// What a request left behind when its attempt died after committing its effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub produced: Option<Produced>,
    /// The status the request answered with (201 for something created, else 200).
    pub status: u16,
    /// The answer itself, when the use-case wrote it ([`Produced::Answer`]).
    pub body: Option<Vec<u8>>,
}

impl Outcome {
    /// Whether the retry runs the request again rather than answering from the outcome.
    #[must_use]
    pub fn runs_again(&self) -> bool {
        matches!(self.produced, None | Some(Produced::Rerun))
    }
}

pub enum Claim {
    /// This request owns the key: run it (inside [`scope`]), then `complete` or `release`.
    Acquired(Attempt),
    /// Same key, same request, already answered.
    Replay(Saved),
    /// Same key, same request, still running elsewhere.
    InProgress,
    /// Same key used for a different request.
    Mismatch,
    /// The attempt that held the key died after its effect committed; this one now holds the
    /// key and answers from the outcome instead of running again.
    Recovered(Attempt, Outcome),
}

tokio::task_local! {
    static CURRENT: Attempt;
}

/// Runs `f` (the request's handler) as `attempt`: its write transactions stamp the claim.
pub async fn scope<F: Future>(attempt: Attempt, f: F) -> F::Output {
    CURRENT.scope(attempt, f).await
}

/// The claim row while `a` still holds it (not taken over by a retry).
fn held_by(a: Attempt) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(Column::Id.eq(a.id))
        .add(Column::Attempt.eq(a.token.to_string()))
}

fn current() -> Option<Attempt> {
    CURRENT.try_with(|a| *a).ok()
}

/// The claim of the idempotent request this code runs in: the same for every attempt at it,
/// so work a dead attempt left half-done can be recognised and resumed by the retry.
#[must_use]
pub fn claim_id() -> Option<i32> {
    current().map(|a| a.id)
}

/// Whether this code runs inside a request sent with an Idempotency-Key.
#[must_use]
pub fn active() -> bool {
    current().is_some()
}

/// Stamps the current attempt's claim inside `txn` (called by every write transaction as its
/// first statement). Outside an idempotent request it does nothing.
///
/// # Errors
/// `DbErr::Custom` when the claim was taken over by a retry: this attempt must not commit.
pub async fn stamp<C: ConnectionTrait>(txn: &C) -> Result<(), DbErr> {
    let Some(a) = current() else {
        return Ok(());
    };
    // The lease is extended too: a request busy writing cannot renew it from its other task
    // while its own transaction holds the row (or, on SQLite, the write lock).
    let res = Entity::update_many()
        .col_expr(Column::EffectAt, Expr::value(Utc::now().fixed_offset()))
        .col_expr(Column::LockedUntil, Expr::value(lease_end().fixed_offset()))
        .filter(held_by(a))
        .exec(txn)
        .await?;
    if res.rows_affected == 1 {
        Ok(())
    } else {
        Err(DbErr::Custom(
            "this request's Idempotency-Key was taken over by a retry".into(),
        ))
    }
}

/// Names what the current idempotent request produced, inside the transaction that produced
/// it; `created` when the answer is 201.
///
/// # Errors
/// Database errors.
pub async fn produced<C: ConnectionTrait>(txn: &C, what: Produced, created: bool) -> AppResult<()> {
    let Some(a) = current() else {
        return Ok(());
    };
    Entity::update_many()
        .col_expr(Column::Outcome, Expr::value(what.encode()))
        .col_expr(
            Column::OutcomeStatus,
            Expr::value(if created { 201 } else { 200 }),
        )
        .col_expr(Column::OutcomeBody, Expr::value(Option::<Vec<u8>>::None))
        .filter(held_by(a))
        .exec(txn)
        .await?;
    Ok(())
}

/// Writes the answer of the current idempotent request (JSON, with `status`) inside the
/// transaction of its effect, for answers that are not a resource one can read again (a
/// ledger row, a delivery) or that the use-case has at hand anyway. A retry after a crash
/// repeats it as it was.
///
/// # Errors
/// Database errors.
pub async fn answer<C: ConnectionTrait, T: serde::Serialize>(
    txn: &C,
    status: u16,
    body: &T,
) -> AppResult<()> {
    let Some(a) = current() else {
        return Ok(());
    };
    let body = serde_json::to_vec(body)
        .map_err(|e| crate::errors::AppError::Internal(format!("answer: {e}").into()))?;
    Entity::update_many()
        .col_expr(Column::Outcome, Expr::value(Produced::Answer.encode()))
        .col_expr(Column::OutcomeStatus, Expr::value(i32::from(status)))
        .col_expr(Column::OutcomeBody, Expr::value(body))
        .filter(held_by(a))
        .exec(txn)
        .await?;
    Ok(())
}

/// How request hashes made with the server's key begin.
pub const KEYED_HASH: &str = "k1:";

/// # Errors
/// Database errors other than the expected unique violation.
pub async fn claim(
    db: &DatabaseConnection,
    owner: &str,
    key: &str,
    request_hash: &str,
) -> AppResult<Claim> {
    let now = Utc::now();
    // An expired record no longer protects anything; clear it so the key can be reused.
    Entity::delete_many()
        .filter(Column::Owner.eq(owner))
        .filter(Column::Key.eq(key))
        .filter(Column::CreatedAt.lt(now - Duration::hours(TTL_HOURS)))
        .exec(db)
        .await?;
    let token = Uuid::new_v4();
    let inserted = idempotency_keys::ActiveModel {
        owner: Set(owner.to_string()),
        key: Set(key.to_string()),
        request_hash: Set(request_hash.to_string()),
        state: Set("in_progress".into()),
        response_status: Set(None),
        response_headers: Set(None),
        response_body: Set(None),
        created_at: Set(now.into()),
        attempt: Set(token.to_string()),
        locked_until: Set(Some(lease_end().into())),
        effect_at: Set(None),
        outcome: Set(None),
        outcome_status: Set(None),
        outcome_body: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await;
    match inserted {
        Ok(row) => return Ok(Claim::Acquired(Attempt { id: row.id, token })),
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) => {}
        Err(e) => return Err(e.into()),
    }
    let Some(row) = Entity::find()
        .filter(Column::Owner.eq(owner))
        .filter(Column::Key.eq(key))
        .one(db)
        .await?
    else {
        // The holder failed and released the key between our insert and read: try again.
        return Ok(Claim::InProgress);
    };
    // Claims made before requests were hashed with a key cannot be compared; they are at most
    // a day old and are taken as the same request.
    let comparable = row.request_hash.starts_with(KEYED_HASH);
    if comparable && row.request_hash != request_hash {
        return Ok(Claim::Mismatch);
    }
    if row.state == "completed" {
        if let Some(status) = row.response_status {
            return Ok(Claim::Replay(Saved {
                status: u16::try_from(status).unwrap_or(500),
                headers: row
                    .response_headers
                    .as_deref()
                    .and_then(|h| serde_json::from_str(h).ok())
                    .unwrap_or_default(),
                body: row.response_body.unwrap_or_default(),
            }));
        }
    }
    // A claim from before leases existed (a rolling upgrade: an old process may still run it)
    // counts as held for a minute after it was made.
    let held_until = row.locked_until.or_else(|| {
        row.attempt
            .is_empty()
            .then(|| row.created_at + Duration::minutes(1))
    });
    if held_until.is_some_and(|t| t > now) {
        return Ok(Claim::InProgress);
    }
    // The holder stopped renewing: it is dead. Take the claim over, a compare-and-set on its
    // attempt token. While nothing was stamped the takeover also requires that nothing be
    // stamped meanwhile (PostgreSQL re-checks the condition after a committing effect releases
    // the row), so an effect that commits during the takeover is answered, not run again.
    // The lease is checked again in the update: a renewal that committed after our read wins.
    let mut takeover = Entity::update_many()
        .col_expr(Column::Attempt, Expr::value(token.to_string()))
        .col_expr(Column::LockedUntil, Expr::value(lease_end().fixed_offset()))
        .filter(Column::Id.eq(row.id))
        .filter(Column::Attempt.eq(row.attempt.clone()))
        .filter(Column::State.eq("in_progress"))
        .filter(
            sea_orm::Condition::any()
                .add(Column::LockedUntil.is_null())
                .add(Column::LockedUntil.lte(now.fixed_offset())),
        );
    if row.effect_at.is_none() {
        takeover = takeover.filter(Column::EffectAt.is_null());
    }
    if takeover.exec(db).await?.rows_affected != 1 {
        return Ok(Claim::InProgress);
    }
    let attempt = Attempt { id: row.id, token };
    if row.effect_at.is_none() {
        return Ok(Claim::Acquired(attempt));
    }
    // Read again after the takeover: on PostgreSQL it may have waited for the dead-looking
    // holder's last transaction, which can have named a later outcome.
    let row = Entity::find_by_id(row.id).one(db).await?.unwrap_or(row);
    Ok(Claim::Recovered(
        attempt,
        Outcome {
            produced: row.outcome.as_deref().and_then(Produced::decode),
            status: row
                .outcome_status
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(200),
            body: row.outcome_body,
        },
    ))
}

/// Extends the attempt's lease; a no-op once the claim is completed or taken over.
///
/// # Errors
/// Database errors.
pub async fn renew(db: &DatabaseConnection, a: Attempt) -> AppResult<()> {
    Entity::update_many()
        .col_expr(Column::LockedUntil, Expr::value(lease_end().fixed_offset()))
        .filter(held_by(a))
        .filter(Column::State.eq("in_progress"))
        .exec(db)
        .await?;
    Ok(())
}

/// # Errors
/// Database errors.
pub async fn complete(db: &DatabaseConnection, a: Attempt, saved: &Saved) -> AppResult<()> {
    Entity::update_many()
        .col_expr(Column::State, Expr::value("completed"))
        .col_expr(Column::ResponseStatus, Expr::value(i32::from(saved.status)))
        .col_expr(
            Column::ResponseHeaders,
            Expr::value(serde_json::to_string(&saved.headers).unwrap_or_default()),
        )
        .col_expr(Column::ResponseBody, Expr::value(saved.body.clone()))
        .filter(held_by(a))
        .exec(db)
        .await?;
    Ok(())
}

/// Gives up a claim whose request failed on our side. When nothing was committed the key is
/// forgotten and a retry runs again; when something was, the claim is only unleased, so the
/// retry answers from what was produced instead of doing it twice.
///
/// # Errors
/// Database errors.
pub async fn release(db: &DatabaseConnection, a: Attempt) -> AppResult<()> {
    let deleted = Entity::delete_many()
        .filter(held_by(a))
        .filter(Column::EffectAt.is_null())
        .exec(db)
        .await?;
    if deleted.rows_affected == 0 {
        Entity::update_many()
            .col_expr(
                Column::LockedUntil,
                Expr::value(Option::<chrono::DateTime<chrono::FixedOffset>>::None),
            )
            .filter(held_by(a))
            .filter(Column::State.eq("in_progress"))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Deletes records past their 24 hours, and claims abandoned by a dead attempt that had not
/// committed anything (nobody retried them; they protect nothing). Scheduled clean-up.
///
/// # Errors
/// Database errors.
pub async fn purge_expired(db: &DatabaseConnection) -> AppResult<u64> {
    let now = Utc::now();
    let old = Entity::delete_many()
        .filter(Column::CreatedAt.lt(now - Duration::hours(TTL_HOURS)))
        .exec(db)
        .await?;
    let abandoned = Entity::delete_many()
        .filter(Column::State.eq("in_progress"))
        .filter(Column::EffectAt.is_null())
        .filter(Column::LockedUntil.lt((now - Duration::minutes(1)).fixed_offset()))
        .exec(db)
        .await?;
    Ok(old.rows_affected + abandoned.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_was_produced_survives_the_round_trip() {
        let id = Uuid::new_v4();
        for p in [
            Produced::Order(id),
            Produced::Cart,
            Produced::Product(id),
            Produced::Account(id),
            Produced::Wishlist,
            Produced::Nothing,
            Produced::Secret,
            Produced::Answer,
            Produced::Rerun,
        ] {
            assert_eq!(Produced::decode(&p.encode()), Some(p));
        }
        assert_eq!(Produced::decode("order:nope"), None);
        assert_eq!(Produced::decode("gift"), None);
    }
}
