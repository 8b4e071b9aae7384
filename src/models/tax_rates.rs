//! Tax rates per country (admin-managed); carts and orders look up the rate of the shipping
//! country, or of the shop's default country before an address is known.
use chrono::Utc;
use loco_rs::app::AppContext;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::_entities::tax_rates::{self, Column, Entity};
use crate::{
    domain::validation::FieldErrors,
    errors::{AppError, AppResult, DbResultExt},
};

/// Highest accepted rate: 100 %.
pub const MAX_RATE_BP: i64 = 10_000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaxRateView {
    pub id: Uuid,
    pub country: String,
    pub rate_bp: i32,
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&tax_rates::Model> for TaxRateView {
    fn from(t: &tax_rates::Model) -> Self {
        Self {
            id: t.pid,
            country: t.country.clone(),
            rate_bp: t.rate_bp,
            name: t.name.clone(),
            created_at: crate::views::rfc3339(&t.created_at),
            updated_at: crate::views::rfc3339(&t.updated_at),
        }
    }
}

/// A validated rate.
#[derive(Debug, Clone)]
pub struct TaxRateDraft {
    pub country: String,
    pub rate_bp: i32,
    pub name: String,
}

impl TaxRateDraft {
    /// # Errors
    /// Field messages for a malformed country, a rate outside 0–10000 or a missing name.
    pub fn parse(country: &str, rate_bp: i64, name: &str) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let country = country.trim().to_ascii_uppercase();
        if let Some(problem) = crate::domain::countries::problem(&country) {
            errors.add("country", problem);
        }
        if !(0..=MAX_RATE_BP).contains(&rate_bp) {
            errors.add(
                "rate_bp",
                "Basis points from 0 to 10000 (e.g. 1900 for 19 %).",
            );
        }
        let name = errors.text("name", name, 80);
        errors.into_result()?;
        Ok(Self {
            country,
            rate_bp: i32::try_from(rate_bp).unwrap_or(0),
            name,
        })
    }
}

/// The rate for `country` in basis points; 0 when the shop has none for it.
///
/// # Errors
/// Database errors.
pub async fn rate_for<C: ConnectionTrait>(db: &C, country: &str) -> AppResult<u32> {
    let rate = Entity::find()
        .filter(Column::Country.eq(country.to_ascii_uppercase()))
        .one(db)
        .await?
        .map_or(0, |t| t.rate_bp);
    Ok(u32::try_from(rate).unwrap_or(0))
}

/// # Errors
/// Database errors.
pub async fn list(ctx: &AppContext) -> AppResult<Vec<TaxRateView>> {
    Ok(Entity::find()
        .order_by_asc(Column::Country)
        .all(&ctx.db)
        .await?
        .iter()
        .map(TaxRateView::from)
        .collect())
}

/// # Errors
/// `Conflict` when the country already has a rate.
pub async fn create(ctx: &AppContext, d: TaxRateDraft) -> AppResult<TaxRateView> {
    let now = Utc::now().into();
    let txn = super::db::write_txn(&ctx.db).await?;
    let row = tax_rates::ActiveModel {
        pid: Set(Uuid::new_v4()),
        country: Set(d.country),
        rate_bp: Set(d.rate_bp),
        name: Set(d.name),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .on_unique(|| AppError::Conflict("This country already has a tax rate.".into()))?;
    let view = TaxRateView::from(&row);
    super::idempotency::answer(&txn, 201, &view).await?;
    txn.commit().await?;
    Ok(view)
}

async fn find(ctx: &AppContext, pid: Uuid) -> AppResult<tax_rates::Model> {
    Entity::find()
        .filter(Column::Pid.eq(pid))
        .one(&ctx.db)
        .await?
        .ok_or(AppError::NotFound)
}

/// # Errors
/// `NotFound`; `Conflict` when moving to a country that has a rate.
pub async fn update(ctx: &AppContext, pid: Uuid, d: TaxRateDraft) -> AppResult<TaxRateView> {
    let mut row = find(ctx, pid).await?.into_active_model();
    row.country = Set(d.country);
    row.rate_bp = Set(d.rate_bp);
    row.name = Set(d.name);
    row.updated_at = Set(Utc::now().into());
    let row = row
        .update(&ctx.db)
        .await
        .on_unique(|| AppError::Conflict("This country already has a tax rate.".into()))?;
    Ok(TaxRateView::from(&row))
}

/// # Errors
/// `NotFound`.
pub async fn delete(ctx: &AppContext, pid: Uuid) -> AppResult<()> {
    let row = find(ctx, pid).await?;
    Entity::delete_by_id(row.id).exec(&ctx.db).await?;
    Ok(())
}
