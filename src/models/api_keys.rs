//! API keys: issued by an admin with scopes, shown once, stored hashed, revocable, with the
//! time of last use. A key acts as the admin who issued it, within its scopes only.
//!
//! A key reads `emp_<prefix>_<secret>`: the prefix finds the row (and is shown in lists), the
//! secret is compared by its SHA-256 hash in constant time.
use chrono::{Duration, Utc};
use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::{_entities::api_keys, tokens, users};
use crate::{
    domain::{api_key::Scope, role::Role, secrets::constant_time_eq, validation::FieldErrors},
    errors::{AppError, AppResult},
};

pub const KEY_PREFIX: &str = "emp_";

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// The key's public start, to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

/// A new key: the only time its secret is shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NewApiKey {
    #[serde(flatten)]
    pub key: ApiKeyView,
    pub secret: String,
}

fn scopes_of(k: &api_keys::Model) -> Vec<Scope> {
    k.scopes.split(',').filter_map(Scope::parse).collect()
}

impl From<&api_keys::Model> for ApiKeyView {
    fn from(k: &api_keys::Model) -> Self {
        Self {
            id: k.pid,
            name: k.name.clone(),
            prefix: format!("{KEY_PREFIX}{}", k.prefix),
            scopes: scopes_of(k),
            created_at: crate::views::rfc3339(&k.created_at),
            last_used_at: k.last_used_at.as_ref().map(crate::views::rfc3339),
            revoked: k.revoked_at.is_some(),
        }
    }
}

/// A validated key request.
#[derive(Debug, Clone)]
pub struct KeyDraft {
    pub name: String,
    pub scopes: Vec<Scope>,
}

impl KeyDraft {
    /// # Errors
    /// Field messages for a missing name or no or unknown scopes.
    pub fn parse(name: &str, scopes: &[String]) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.text("name", name, 120);
        let mut parsed = Vec::new();
        for s in scopes {
            match Scope::parse(s) {
                Some(x) if !parsed.contains(&x) => parsed.push(x),
                Some(_) => {}
                None => errors.add("scopes", format!("Unknown scope {s:?}.")),
            }
        }
        if parsed.is_empty() && !errors.0.contains_key("scopes") {
            errors.add("scopes", "Choose at least one scope.");
        }
        errors.into_result()?;
        parsed.sort();
        Ok(Self {
            name,
            scopes: parsed,
        })
    }
}

/// # Errors
/// Database errors.
pub async fn create(
    ctx: &AppContext,
    admin: &users::Model,
    draft: KeyDraft,
) -> AppResult<NewApiKey> {
    let prefix = hex::encode(rand::random::<[u8; 6]>());
    let secret = tokens::new_secret();
    let txn = super::db::write_txn(&ctx.db).await?;
    let row = api_keys::ActiveModel {
        pid: Set(Uuid::new_v4()),
        name: Set(draft.name),
        prefix: Set(prefix.clone()),
        secret_hash: Set(tokens::hash_secret(&secret)),
        scopes: Set(draft
            .scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")),
        created_by: Set(admin.id),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(Utc::now().into()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    super::audit::record(
        &txn,
        &super::actor::Actor::user(admin),
        super::audit::Action::ApiKeyCreated,
        super::audit::Target::new(super::audit::TargetType::ApiKey, row.pid),
        None,
        Some(serde_json::json!({ "name": row.name, "scopes": row.scopes, "prefix": row.prefix })),
    )
    .await?;
    super::idempotency::produced(&txn, super::idempotency::Produced::Secret, true).await?;
    txn.commit().await?;
    Ok(NewApiKey {
        key: ApiKeyView::from(&row),
        secret: format!("{KEY_PREFIX}{prefix}_{secret}"),
    })
}

/// # Errors
/// Database errors.
pub async fn list(db: &DatabaseConnection) -> AppResult<Vec<ApiKeyView>> {
    Ok(api_keys::Entity::find()
        .order_by_desc(api_keys::Column::CreatedAt)
        .order_by_desc(api_keys::Column::Id)
        .all(db)
        .await?
        .iter()
        .map(ApiKeyView::from)
        .collect())
}

/// Revokes a key at once (its next request is refused).
///
/// # Errors
/// `NotFound`.
pub async fn revoke(db: &DatabaseConnection, by: &super::actor::Actor, pid: Uuid) -> AppResult<()> {
    let txn = super::db::write_txn(db).await?;
    let res = api_keys::Entity::update_many()
        .col_expr(
            api_keys::Column::RevokedAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .filter(api_keys::Column::Pid.eq(pid))
        .filter(api_keys::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    let key = api_keys::Entity::find()
        .filter(api_keys::Column::Pid.eq(pid))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    // Revoking a revoked key again changes nothing, and is not recorded twice.
    if res.rows_affected == 1 {
        super::audit::record(
            &txn,
            by,
            super::audit::Action::ApiKeyRevoked,
            super::audit::Target::new(super::audit::TargetType::ApiKey, key.pid),
            Some(serde_json::json!({ "name": key.name, "revoked": false })),
            Some(serde_json::json!({ "revoked": true })),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The live (not revoked) key that `raw` is, checked against its stored hash; `None` for
/// anything else. Reads only.
///
/// # Errors
/// Database errors.
pub async fn verify(db: &DatabaseConnection, raw: &str) -> AppResult<Option<api_keys::Model>> {
    let Some((prefix, secret)) = raw
        .strip_prefix(KEY_PREFIX)
        .and_then(|rest| rest.split_once('_'))
    else {
        return Ok(None);
    };
    if prefix.len() != 12 || secret.is_empty() || secret.len() > 128 {
        return Ok(None);
    }
    let Some(key) = api_keys::Entity::find()
        .filter(api_keys::Column::Prefix.eq(prefix))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let matches = constant_time_eq(
        tokens::hash_secret(secret).as_bytes(),
        key.secret_hash.as_bytes(),
    );
    Ok((key.revoked_at.is_none() && matches).then_some(key))
}

/// The admin a key acts as, when the key is valid and grants what `method` on `path` needs.
///
/// # Errors
/// `Unauthorized` for an unknown, revoked or malformed key, or one whose admin is no longer
/// an active admin; `Forbidden` when its scopes do not cover the request.
pub async fn authenticate(
    db: &DatabaseConnection,
    raw: &str,
    method: &str,
    path: &str,
) -> AppResult<users::Model> {
    let invalid = || AppError::Unauthorized("The API key is invalid or revoked.".into());
    let key = verify(db, raw).await?.ok_or_else(invalid)?;
    let owner = users::Entity::find_by_id(key.created_by)
        .one(db)
        .await?
        .filter(|u| u.active && u.role() == Role::Admin)
        .ok_or_else(invalid)?;
    let needed = Scope::required(method, path).ok_or(AppError::Forbidden)?;
    if !scopes_of(&key).iter().any(|s| s.grants(needed)) {
        return Err(AppError::Forbidden);
    }
    // Last use is kept to the minute: a busy integration does not write on every request.
    let now = Utc::now();
    if key
        .last_used_at
        .is_none_or(|t| t.with_timezone(&Utc) < now - Duration::minutes(1))
    {
        api_keys::Entity::update_many()
            .col_expr(
                api_keys::Column::LastUsedAt,
                Expr::value(now.fixed_offset()),
            )
            .filter(api_keys::Column::Id.eq(key.id))
            .exec(db)
            .await?;
    }
    Ok(owner)
}
