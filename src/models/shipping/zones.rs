//! Shipping zones: a name and the countries it covers (a country may be in several zones).
use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    domain::shipping::ZoneDraft,
    errors::{AppError, AppResult},
    models::{
        _entities::{
            shipping_zone_countries as countries,
            shipping_zones::{self, Column, Entity, Model},
        },
        db::write_txn,
        idempotency,
    },
};

/// API.md's shipping zone.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ZoneView {
    pub id: Uuid,
    pub name: String,
    /// ISO 3166-1 codes, sorted.
    pub countries: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn view(z: &Model, countries: Vec<String>) -> ZoneView {
    ZoneView {
        id: z.pid,
        name: z.name.clone(),
        countries,
        created_at: crate::views::rfc3339(&z.created_at),
        updated_at: crate::views::rfc3339(&z.updated_at),
    }
}

/// The countries of each of `zone_ids`, in one query.
async fn countries_of<C: ConnectionTrait>(
    db: &C,
    zone_ids: Vec<i32>,
) -> AppResult<BTreeMap<i32, Vec<String>>> {
    let rows = countries::Entity::find()
        .filter(countries::Column::ZoneId.is_in(zone_ids))
        .order_by_asc(countries::Column::Country)
        .all(db)
        .await?;
    let mut by_zone: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for r in rows {
        by_zone.entry(r.zone_id).or_default().push(r.country);
    }
    Ok(by_zone)
}

async fn views<C: ConnectionTrait>(db: &C, zones: &[Model]) -> AppResult<Vec<ZoneView>> {
    let mut by_zone = countries_of(db, zones.iter().map(|z| z.id).collect()).await?;
    Ok(zones
        .iter()
        .map(|z| view(z, by_zone.remove(&z.id).unwrap_or_default()))
        .collect())
}

/// One page of zones by name, with their countries.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &DatabaseConnection,
    page: u64,
    page_size: u64,
) -> AppResult<(Vec<ZoneView>, u64)> {
    let paginator = Entity::find()
        .order_by_asc(Column::Name)
        .order_by_asc(Column::Id)
        .paginate(db, page_size);
    let count = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((views(db, &rows).await?, count))
}

/// Every zone, by name (the admin page and the method form's zone list).
///
/// # Errors
/// Database errors.
pub async fn all(db: &DatabaseConnection) -> AppResult<Vec<ZoneView>> {
    let rows = Entity::find()
        .order_by_asc(Column::Name)
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    views(db, &rows).await
}

/// # Errors
/// `NotFound`.
pub async fn find<C: ConnectionTrait>(db: &C, pid: Uuid) -> AppResult<Model> {
    Entity::find()
        .filter(Column::Pid.eq(pid))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// # Errors
/// `NotFound`.
pub async fn get(db: &DatabaseConnection, pid: Uuid) -> AppResult<ZoneView> {
    let z = find(db, pid).await?;
    Ok(views(db, std::slice::from_ref(&z)).await?.remove(0))
}

async fn set_countries<C: ConnectionTrait>(
    txn: &C,
    zone_id: i32,
    codes: &[String],
) -> AppResult<()> {
    countries::Entity::delete_many()
        .filter(countries::Column::ZoneId.eq(zone_id))
        .exec(txn)
        .await?;
    if !codes.is_empty() {
        countries::Entity::insert_many(codes.iter().map(|c| countries::ActiveModel {
            zone_id: Set(zone_id),
            country: Set(c.clone()),
        }))
        .exec(txn)
        .await?;
    }
    Ok(())
}

/// # Errors
/// Database errors.
pub async fn create(db: &DatabaseConnection, d: ZoneDraft) -> AppResult<ZoneView> {
    let now = Utc::now().into();
    let txn = write_txn(db).await?;
    let row = shipping_zones::ActiveModel {
        pid: Set(Uuid::new_v4()),
        name: Set(d.name),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    set_countries(&txn, row.id, &d.countries).await?;
    let out = view(&row, d.countries);
    idempotency::answer(&txn, 201, &out).await?;
    txn.commit().await?;
    Ok(out)
}

/// Renames a zone and replaces its countries.
///
/// # Errors
/// `NotFound`.
pub async fn update(db: &DatabaseConnection, pid: Uuid, d: ZoneDraft) -> AppResult<ZoneView> {
    let txn = write_txn(db).await?;
    let mut row = find(&txn, pid).await?.into_active_model();
    row.name = Set(d.name);
    row.updated_at = Set(Utc::now().into());
    let row = row.update(&txn).await?;
    set_countries(&txn, row.id, &d.countries).await?;
    txn.commit().await?;
    Ok(view(&row, d.countries))
}

/// Deletes a zone with its methods; orders keep the method they were placed with.
///
/// # Errors
/// `NotFound`.
pub async fn delete(db: &DatabaseConnection, pid: Uuid) -> AppResult<()> {
    use crate::models::_entities::shipping_methods;
    let txn = write_txn(db).await?;
    let row = find(&txn, pid).await?;
    // Spelled out rather than left to the foreign keys' cascade, which SQLite applies only
    // with its foreign-key pragma on.
    shipping_methods::Entity::delete_many()
        .filter(shipping_methods::Column::ZoneId.eq(row.id))
        .exec(&txn)
        .await?;
    set_countries(&txn, row.id, &[]).await?;
    Entity::delete_by_id(row.id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}
