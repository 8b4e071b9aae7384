//! Saved addresses; API.md's `/me/address` reads and writes the default one.
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    TryIntoModel,
};
use serde::Serialize;
use uuid::Uuid;

use super::_entities::addresses::{self, Column, Entity};
use crate::{domain::account::Address, errors::AppResult};

/// API.md's address object.
#[derive(Debug, Clone, Serialize, Default, utoipa::ToSchema)]
pub struct AddressView {
    /// Who receives it (may be empty: the account holder).
    pub name: String,
    pub company: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub postal_code: String,
    pub country: String,
    pub phone: String,
}

impl From<&addresses::Model> for AddressView {
    fn from(a: &addresses::Model) -> Self {
        Self {
            name: a.name.clone(),
            company: a.company.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.clone(),
            phone: a.phone.clone(),
        }
    }
}

/// # Errors
/// Database errors.
pub async fn default_for(
    db: &DatabaseConnection,
    user_id: i32,
) -> AppResult<Option<addresses::Model>> {
    Ok(Entity::find()
        .filter(Column::UserId.eq(user_id))
        .order_by_desc(Column::IsDefault)
        .order_by_asc(Column::Id)
        .one(db)
        .await?)
}

/// Creates or replaces the user's default address.
///
/// # Errors
/// Database errors.
pub async fn set_default(
    db: &DatabaseConnection,
    user_id: i32,
    address: Address,
) -> AppResult<addresses::Model> {
    let now = Utc::now();
    let existing = default_for(db, user_id).await?;
    let mut row = match existing {
        Some(a) => a.into(),
        None => addresses::ActiveModel {
            pid: Set(Uuid::new_v4()),
            user_id: Set(user_id),
            created_at: Set(now.into()),
            ..Default::default()
        },
    };
    row.name = Set(address.name);
    row.company = Set(address.company);
    row.line1 = Set(address.line1);
    row.line2 = Set(address.line2);
    row.city = Set(address.city);
    row.postal_code = Set(address.postal_code);
    row.country = Set(address.country);
    row.phone = Set(address.phone);
    row.is_default = Set(true);
    row.updated_at = Set(now.into());
    Ok(row.save(db).await?.try_into_model()?)
}
