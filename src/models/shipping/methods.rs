//! Shipping methods: what a zone's parcels cost, for which orders, how fast and by whom.
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::zones;
use crate::{
    domain::{
        shipping::{MethodDraft, MethodInput, Rule},
        validation::FieldErrors,
    },
    errors::{AppError, AppResult},
    models::{
        _entities::{
            shipping_methods::{self, Column, Entity, Model},
            shipping_zones,
        },
        db::write_txn,
        idempotency,
    },
};

/// API.md's shipping method.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MethodView {
    pub id: Uuid,
    pub zone_id: Uuid,
    pub name: String,
    pub carrier: String,
    pub price_cents: i64,
    pub free_from_cents: Option<i64>,
    pub min_subtotal_cents: Option<i64>,
    pub max_subtotal_cents: Option<i64>,
    pub max_weight_grams: Option<i64>,
    pub min_days: Option<i32>,
    pub max_days: Option<i32>,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

fn view(m: &Model, zone: Uuid) -> MethodView {
    MethodView {
        id: m.pid,
        zone_id: zone,
        name: m.name.clone(),
        carrier: m.carrier.clone(),
        price_cents: m.price_cents,
        free_from_cents: m.free_from_cents,
        min_subtotal_cents: m.min_subtotal_cents,
        max_subtotal_cents: m.max_subtotal_cents,
        max_weight_grams: m.max_weight_grams,
        min_days: m.min_days,
        max_days: m.max_days,
        active: m.active,
        created_at: crate::views::rfc3339(&m.created_at),
        updated_at: crate::views::rfc3339(&m.updated_at),
    }
}

/// The pricing rule of a stored method.
#[must_use]
pub const fn rule(m: &Model) -> Rule {
    Rule {
        price_cents: m.price_cents,
        free_from_cents: m.free_from_cents,
        min_subtotal_cents: m.min_subtotal_cents,
        max_subtotal_cents: m.max_subtotal_cents,
        max_weight_grams: m.max_weight_grams,
    }
}

impl From<&MethodView> for MethodInput {
    /// A stored method as input, for a change that names only some fields.
    fn from(m: &MethodView) -> Self {
        Self {
            name: m.name.clone(),
            carrier: m.carrier.clone(),
            price_cents: m.price_cents,
            free_from_cents: m.free_from_cents,
            min_subtotal_cents: m.min_subtotal_cents,
            max_subtotal_cents: m.max_subtotal_cents,
            max_weight_grams: m.max_weight_grams,
            min_days: m.min_days.map(i64::from),
            max_days: m.max_days.map(i64::from),
            active: m.active,
        }
    }
}

async fn zone_pids<C: ConnectionTrait>(
    db: &C,
    rows: &[Model],
) -> AppResult<std::collections::HashMap<i32, Uuid>> {
    let ids: Vec<i32> = rows.iter().map(|m| m.zone_id).collect();
    Ok(shipping_zones::Entity::find()
        .filter(shipping_zones::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|z| (z.id, z.pid))
        .collect())
}

async fn views<C: ConnectionTrait>(db: &C, rows: &[Model]) -> AppResult<Vec<MethodView>> {
    let zones = zone_pids(db, rows).await?;
    Ok(rows
        .iter()
        .map(|m| view(m, zones.get(&m.zone_id).copied().unwrap_or_default()))
        .collect())
}

/// One page of methods (of one zone when `zone` is given), by zone then price.
///
/// # Errors
/// `Validation` naming `zone` for an unknown zone; database errors.
pub async fn list(
    db: &DatabaseConnection,
    zone: Option<Uuid>,
    page: u64,
    page_size: u64,
) -> AppResult<(Vec<MethodView>, u64)> {
    let mut query = Entity::find()
        .order_by_asc(Column::ZoneId)
        .order_by_asc(Column::PriceCents)
        .order_by_asc(Column::Id);
    if let Some(z) = zone {
        let zone = zone_named(db, z, "zone").await?;
        query = query.filter(Column::ZoneId.eq(zone.id));
    }
    let paginator = query.paginate(db, page_size);
    let count = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((views(db, &rows).await?, count))
}

/// Every method, by zone then price (the admin page).
///
/// # Errors
/// Database errors.
pub async fn all(db: &DatabaseConnection) -> AppResult<Vec<MethodView>> {
    let rows = Entity::find()
        .order_by_asc(Column::ZoneId)
        .order_by_asc(Column::PriceCents)
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    views(db, &rows).await
}

/// The zone a request names in `field`; an unknown one is that field's error.
async fn zone_named<C: ConnectionTrait>(
    db: &C,
    pid: Uuid,
    field: &str,
) -> AppResult<shipping_zones::Model> {
    match zones::find(db, pid).await {
        Err(AppError::NotFound) => {
            Err(FieldErrors::single(field, "There is no such shipping zone.").into())
        }
        other => other,
    }
}

async fn find<C: ConnectionTrait>(db: &C, pid: Uuid) -> AppResult<Model> {
    Entity::find()
        .filter(Column::Pid.eq(pid))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// # Errors
/// `NotFound`.
pub async fn get(db: &DatabaseConnection, pid: Uuid) -> AppResult<MethodView> {
    let m = find(db, pid).await?;
    Ok(views(db, std::slice::from_ref(&m)).await?.remove(0))
}

fn fill(row: &mut shipping_methods::ActiveModel, d: MethodDraft) {
    row.name = Set(d.name);
    row.carrier = Set(d.carrier);
    row.price_cents = Set(d.rule.price_cents);
    row.free_from_cents = Set(d.rule.free_from_cents);
    row.min_subtotal_cents = Set(d.rule.min_subtotal_cents);
    row.max_subtotal_cents = Set(d.rule.max_subtotal_cents);
    row.max_weight_grams = Set(d.rule.max_weight_grams);
    row.min_days = Set(d.min_days);
    row.max_days = Set(d.max_days);
    row.active = Set(d.active);
}

/// Adds a method to a zone.
///
/// # Errors
/// `Validation` naming `zone_id` for an unknown zone; database errors.
pub async fn create(db: &DatabaseConnection, zone: Uuid, d: MethodDraft) -> AppResult<MethodView> {
    let now = Utc::now().into();
    let txn = write_txn(db).await?;
    let zone = zone_named(&txn, zone, "zone_id").await?;
    let mut row = shipping_methods::ActiveModel {
        pid: Set(Uuid::new_v4()),
        zone_id: Set(zone.id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    fill(&mut row, d);
    let row = row.insert(&txn).await?;
    let out = view(&row, zone.pid);
    idempotency::answer(&txn, 201, &out).await?;
    txn.commit().await?;
    Ok(out)
}

/// Changes a method, moving it to `zone`.
///
/// # Errors
/// `NotFound`; `Validation` naming `zone_id` for an unknown zone.
pub async fn update(
    db: &DatabaseConnection,
    pid: Uuid,
    zone: Uuid,
    d: MethodDraft,
) -> AppResult<MethodView> {
    let txn = write_txn(db).await?;
    let current = find(&txn, pid).await?;
    let zone = zone_named(&txn, zone, "zone_id").await?;
    let mut row = current.into_active_model();
    fill(&mut row, d);
    row.zone_id = Set(zone.id);
    row.updated_at = Set(Utc::now().into());
    let row = row.update(&txn).await?;
    txn.commit().await?;
    Ok(view(&row, zone.pid))
}

/// Deletes a method; orders keep the method they were placed with.
///
/// # Errors
/// `NotFound`.
pub async fn delete(db: &DatabaseConnection, pid: Uuid) -> AppResult<()> {
    let row = find(db, pid).await?;
    Entity::delete_by_id(row.id).exec(db).await?;
    Ok(())
}
