//! The audit log (issue 20): every change an admin makes in the back office — to customers and
//! staff (names, e-mail, role, access, reset links, deletion), refunds, stock adjustments,
//! price changes, API keys and webhooks — with who, when, and the values before and after.
//!
//! Each use-case writes its row with [`record`] in its own write transaction, so the change and
//! its record commit together (a crash leaves neither or both). Rows are read by
//! `GET /admin/audit-log`, `/admin/audit` and the customer's admin page.
use chrono::Utc;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{_entities::audit_log, actor::Actor};
use crate::{
    domain::{email::Email, validation::FieldErrors},
    errors::AppResult,
};

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Action {
    #[serde(rename = "user.created")]
    UserCreated,
    /// Names, e-mail, role or access changed (`before`/`after` hold the changed fields).
    #[serde(rename = "user.updated")]
    UserUpdated,
    #[serde(rename = "user.password_reset_sent")]
    UserPasswordResetSent,
    #[serde(rename = "user.deleted")]
    UserDeleted,
    /// Closed and anonymised (the account had orders, which keep it).
    #[serde(rename = "user.closed")]
    UserClosed,
    #[serde(rename = "refund.requested")]
    RefundRequested,
    #[serde(rename = "stock.adjusted")]
    StockAdjusted,
    #[serde(rename = "price.changed")]
    PriceChanged,
    #[serde(rename = "api_key.created")]
    ApiKeyCreated,
    #[serde(rename = "api_key.revoked")]
    ApiKeyRevoked,
    #[serde(rename = "webhook.created")]
    WebhookCreated,
    #[serde(rename = "webhook.updated")]
    WebhookUpdated,
    #[serde(rename = "webhook.deleted")]
    WebhookDeleted,
}

impl Action {
    pub const ALL: [Self; 13] = [
        Self::UserCreated,
        Self::UserUpdated,
        Self::UserPasswordResetSent,
        Self::UserDeleted,
        Self::UserClosed,
        Self::RefundRequested,
        Self::StockAdjusted,
        Self::PriceChanged,
        Self::ApiKeyCreated,
        Self::ApiKeyRevoked,
        Self::WebhookCreated,
        Self::WebhookUpdated,
        Self::WebhookDeleted,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UserCreated => "user.created",
            Self::UserUpdated => "user.updated",
            Self::UserPasswordResetSent => "user.password_reset_sent",
            Self::UserDeleted => "user.deleted",
            Self::UserClosed => "user.closed",
            Self::RefundRequested => "refund.requested",
            Self::StockAdjusted => "stock.adjusted",
            Self::PriceChanged => "price.changed",
            Self::ApiKeyCreated => "api_key.created",
            Self::ApiKeyRevoked => "api_key.revoked",
            Self::WebhookCreated => "webhook.created",
            Self::WebhookUpdated => "webhook.updated",
            Self::WebhookDeleted => "webhook.deleted",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// What a row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetType {
    User,
    Order,
    Variant,
    ApiKey,
    Webhook,
}

impl TargetType {
    pub const ALL: [Self; 5] = [
        Self::User,
        Self::Order,
        Self::Variant,
        Self::ApiKey,
        Self::Webhook,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Order => "order",
            Self::Variant => "variant",
            Self::ApiKey => "api_key",
            Self::Webhook => "webhook",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The thing changed: its kind and public id.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub kind: TargetType,
    pub id: Uuid,
}

impl Target {
    #[must_use]
    pub const fn new(kind: TargetType, id: Uuid) -> Self {
        Self { kind, id }
    }
}

/// Writes one row in the caller's transaction. `before` and `after` hold only what changed.
///
/// # Errors
/// Database errors (the caller's change fails with them).
pub async fn record<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    action: Action,
    target: Target,
    before: Option<Value>,
    after: Option<Value>,
) -> AppResult<()> {
    audit_log::ActiveModel {
        pid: Set(Uuid::new_v4()),
        actor_id: Set(actor.user_pid),
        actor: Set(actor.label.chars().take(320).collect()),
        action: Set(action.as_str().into()),
        target_type: Set(target.kind.as_str().into()),
        target_id: Set(target.id.to_string()),
        before: Set(before.map(|v| v.to_string())),
        after: Set(after.map(|v| v.to_string())),
        at: Set(Utc::now().into()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// One row as the API and the admin pages show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    /// Who acted: their e-mail and role when it happened, or the job.
    pub actor: String,
    /// The acting user's id (absent for jobs).
    pub actor_id: Option<Uuid>,
    pub action: Action,
    pub target_type: TargetType,
    pub target_id: Uuid,
    /// The changed fields before the change (absent for a creation).
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    /// The changed fields after the change (absent for a deletion).
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
    pub at: String,
}

impl From<&audit_log::Model> for AuditEntry {
    fn from(r: &audit_log::Model) -> Self {
        let json = |s: &Option<String>| s.as_deref().and_then(|t| serde_json::from_str(t).ok());
        Self {
            id: r.pid,
            actor: r.actor.clone(),
            actor_id: r.actor_id,
            action: Action::parse(&r.action).unwrap_or(Action::UserUpdated),
            target_type: TargetType::parse(&r.target_type).unwrap_or(TargetType::User),
            target_id: r.target_id.parse().unwrap_or_default(),
            before: json(&r.before),
            after: json(&r.after),
            at: crate::views::rfc3339(&r.at),
        }
    }
}

/// The filters of the log, parsed.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Who acted: a user id, or an e-mail address resolved to that user's id.
    pub actor: Option<ActorRef>,
    pub action: Option<Action>,
    pub target_type: Option<TargetType>,
    pub target_id: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub enum ActorRef {
    Id(Uuid),
    Email(Email),
}

impl AuditFilter {
    /// # Errors
    /// Field messages naming each filter that is not one of the values it takes.
    pub fn parse(
        actor: Option<&str>,
        action: Option<&str>,
        target_type: Option<&str>,
        target_id: Option<&str>,
    ) -> Result<Self, FieldErrors> {
        fn given(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|v| !v.is_empty())
        }
        let mut errors = FieldErrors::new();
        let actor = given(actor).and_then(|a| {
            if let Ok(id) = Uuid::parse_str(a) {
                Some(ActorRef::Id(id))
            } else if let Ok(e) = Email::parse(a) {
                Some(ActorRef::Email(e))
            } else {
                errors.add("actor", "Give a user id or an e-mail address.");
                None
            }
        });
        let action = given(action).and_then(|a| {
            let found = Action::parse(a);
            if found.is_none() {
                errors.add("action", "Is not an action the log records.");
            }
            found
        });
        let target_type = given(target_type).and_then(|t| {
            let found = TargetType::parse(t);
            if found.is_none() {
                errors.add(
                    "target_type",
                    "Must be one of user, order, variant, api_key, webhook.",
                );
            }
            found
        });
        let target_id = given(target_id).and_then(|t| {
            let found = Uuid::parse_str(t).ok();
            if found.is_none() {
                errors.add("target_id", "Must be an id (UUID).");
            }
            found
        });
        errors.into_result()?;
        Ok(Self {
            actor,
            action,
            target_type,
            target_id,
        })
    }
}

/// One page of the log, newest first.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &DatabaseConnection,
    filter: &AuditFilter,
    page: u64,
    page_size: u64,
) -> AppResult<(Vec<AuditEntry>, u64)> {
    let mut q = audit_log::Entity::find().order_by_desc(audit_log::Column::Id);
    match &filter.actor {
        Some(ActorRef::Id(id)) => q = q.filter(audit_log::Column::ActorId.eq(*id)),
        Some(ActorRef::Email(e)) => {
            // By who holds the address now; an unknown address has acted on nothing.
            let pid = super::users::find_by_email(db, e).await?.map(|u| u.pid);
            q = q.filter(audit_log::Column::ActorId.eq(pid.unwrap_or_else(Uuid::nil)));
        }
        None => {}
    }
    if let Some(a) = filter.action {
        q = q.filter(audit_log::Column::Action.eq(a.as_str()));
    }
    if let Some(t) = filter.target_type {
        q = q.filter(audit_log::Column::TargetType.eq(t.as_str()));
    }
    if let Some(id) = filter.target_id {
        q = q.filter(audit_log::Column::TargetId.eq(id.to_string()));
    }
    let pages = q.paginate(db, page_size);
    let count = pages.num_items().await?;
    let rows = pages.fetch_page(page.saturating_sub(1)).await?;
    Ok((rows.iter().map(AuditEntry::from).collect(), count))
}

/// The latest rows about one user, for their admin page.
///
/// # Errors
/// Database errors.
pub async fn about_user(
    db: &DatabaseConnection,
    user_pid: Uuid,
    limit: u64,
) -> AppResult<Vec<AuditEntry>> {
    let filter = AuditFilter {
        target_type: Some(TargetType::User),
        target_id: Some(user_pid),
        ..AuditFilter::default()
    };
    Ok(list(db, &filter, 1, limit).await?.0)
}

/// What a closed account leaves in the log: rows about it keep what was done, not the
/// personal values (names, e-mail addresses) they held; rows it wrote as the actor name
/// a closed account.
///
/// # Errors
/// Database errors.
pub async fn anonymise_user<C: ConnectionTrait>(
    db: &C,
    user_pid: Uuid,
    anonymous_label: &str,
) -> AppResult<()> {
    let about = audit_log::Entity::find()
        .filter(audit_log::Column::TargetType.eq(TargetType::User.as_str()))
        .filter(audit_log::Column::TargetId.eq(user_pid.to_string()))
        .all(db)
        .await?;
    for row in about {
        let scrub = |s: &Option<String>| {
            s.as_deref()
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
                .map(|v| scrub_personal(v).to_string())
        };
        let mut a: audit_log::ActiveModel = row.clone().into();
        a.before = Set(scrub(&row.before));
        a.after = Set(scrub(&row.after));
        a.update(db).await?;
    }
    audit_log::Entity::update_many()
        .col_expr(audit_log::Column::Actor, Expr::value(anonymous_label))
        .filter(audit_log::Column::ActorId.eq(user_pid))
        .exec(db)
        .await?;
    Ok(())
}

const PERSONAL: [&str; 3] = ["email", "first_name", "last_name"];

fn scrub_personal(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    if PERSONAL.contains(&k.as_str()) {
                        (k, Value::String("(erased)".into()))
                    } else {
                        (k, v)
                    }
                })
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_targets_round_trip_through_their_names() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
        for t in TargetType::ALL {
            assert_eq!(TargetType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
    }

    #[test]
    fn scrubbing_keeps_what_changed_but_not_who() {
        let v = serde_json::json!({"email": "a@x.test", "role": "staff", "first_name": "Ann"});
        let s = scrub_personal(v);
        assert_eq!(s["email"], "(erased)");
        assert_eq!(s["first_name"], "(erased)");
        assert_eq!(s["role"], "staff");
    }

    #[test]
    fn filters_name_the_bad_value() {
        let e =
            AuditFilter::parse(Some("nobody"), Some("x"), Some("planet"), Some("7")).unwrap_err();
        for f in ["actor", "action", "target_type", "target_id"] {
            assert!(e.0.contains_key(f), "{f}");
        }
        let ok =
            AuditFilter::parse(Some("a@x.test"), Some("user.updated"), Some("user"), None).unwrap();
        assert!(matches!(ok.actor, Some(ActorRef::Email(_))));
        assert_eq!(ok.action, Some(Action::UserUpdated));
    }
}
