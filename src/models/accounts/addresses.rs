//! The address book: a customer's saved addresses, one of them the default for shipping and one
//! the default for billing (at most one of each, by partial unique indexes). API.md's
//! `/me/address` reads and writes the default shipping address.
use chrono::Utc;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    domain::{account::Address, validation::FieldErrors},
    errors::{AppError, AppResult},
    models::{
        _entities::addresses::{self, Column, Entity, Model},
        db::write_txn,
        idempotency,
    },
};

/// How many addresses one customer may keep.
pub const MAX_ADDRESSES: u64 = 20;

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

impl From<&Model> for AddressView {
    fn from(a: &Model) -> Self {
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

/// An address of the book as API.md's `/me/addresses` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BookAddress {
    pub id: Uuid,
    #[serde(flatten)]
    pub address: AddressView,
    pub is_default_shipping: bool,
    pub is_default_billing: bool,
}

impl From<&Model> for BookAddress {
    fn from(a: &Model) -> Self {
        Self {
            id: a.pid,
            address: AddressView::from(a),
            is_default_shipping: a.is_default_shipping,
            is_default_billing: a.is_default_billing,
        }
    }
}

/// The saved address as checkout takes it.
#[must_use]
pub fn to_address(a: &Model) -> Address {
    Address {
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

/// Which defaults an address should be (`None`: leave as it is).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Defaults {
    pub shipping: Option<bool>,
    pub billing: Option<bool>,
}

/// The user's addresses: the default for shipping first, then the default for billing, then
/// oldest first.
///
/// # Errors
/// Database errors.
pub async fn list(db: &DatabaseConnection, user_id: i32) -> AppResult<Vec<Model>> {
    Ok(Entity::find()
        .filter(Column::UserId.eq(user_id))
        .order_by_desc(Column::IsDefaultShipping)
        .order_by_desc(Column::IsDefaultBilling)
        .order_by_asc(Column::Id)
        .all(db)
        .await?)
}

/// One of the user's own addresses; another's, or none, is `NotFound`.
///
/// # Errors
/// `NotFound`; database errors.
pub async fn find_own<C: ConnectionTrait>(db: &C, user_id: i32, pid: Uuid) -> AppResult<Model> {
    Entity::find()
        .filter(Column::Pid.eq(pid))
        .filter(Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// An address of the book named by its id in a request (`field`), as checkout takes it.
///
/// # Errors
/// `Validation` naming `field` for an id that is not one of the user's addresses.
pub async fn resolve(
    db: &DatabaseConnection,
    user_id: i32,
    pid: Uuid,
    field: &str,
) -> AppResult<Address> {
    match find_own(db, user_id, pid).await {
        Ok(a) => Ok(to_address(&a)),
        Err(AppError::NotFound) => {
            Err(FieldErrors::single(field, "This is not an address of your address book.").into())
        }
        Err(e) => Err(e),
    }
}

/// The default shipping address, or else the oldest one.
///
/// # Errors
/// Database errors.
pub async fn default_for(db: &DatabaseConnection, user_id: i32) -> AppResult<Option<Model>> {
    Ok(Entity::find()
        .filter(Column::UserId.eq(user_id))
        .order_by_desc(Column::IsDefaultShipping)
        .order_by_asc(Column::Id)
        .one(db)
        .await?)
}

/// The default billing address, or else the default shipping one, or else the oldest.
///
/// # Errors
/// Database errors.
pub async fn default_billing_for(
    db: &DatabaseConnection,
    user_id: i32,
) -> AppResult<Option<Model>> {
    Ok(Entity::find()
        .filter(Column::UserId.eq(user_id))
        .order_by_desc(Column::IsDefaultBilling)
        .order_by_desc(Column::IsDefaultShipping)
        .order_by_asc(Column::Id)
        .one(db)
        .await?)
}

/// Takes the defaults that `keep` is to become away from the user's other addresses first (the
/// partial unique indexes allow one of each).
async fn clear_defaults<C: ConnectionTrait>(
    txn: &C,
    user_id: i32,
    keep: i32,
    defaults: Defaults,
) -> AppResult<()> {
    for (wanted, col) in [
        (defaults.shipping, Column::IsDefaultShipping),
        (defaults.billing, Column::IsDefaultBilling),
    ] {
        if wanted == Some(true) {
            Entity::update_many()
                .col_expr(col, Expr::value(false))
                .filter(Column::UserId.eq(user_id))
                .filter(Column::Id.ne(keep))
                .filter(col.eq(true))
                .exec(txn)
                .await?;
        }
    }
    Ok(())
}

fn fill(row: &mut addresses::ActiveModel, a: Address) {
    row.name = Set(a.name);
    row.company = Set(a.company);
    row.line1 = Set(a.line1);
    row.line2 = Set(a.line2);
    row.city = Set(a.city);
    row.postal_code = Set(a.postal_code);
    row.country = Set(a.country);
    row.phone = Set(a.phone);
}

/// A new address unless the user has the same one already (then that one).
async fn insert<C: ConnectionTrait>(
    txn: &C,
    user_id: i32,
    address: Address,
    defaults: Defaults,
) -> AppResult<Model> {
    let count = Entity::find()
        .filter(Column::UserId.eq(user_id))
        .count(txn)
        .await?;
    if count >= MAX_ADDRESSES {
        return Err(FieldErrors::single(
            "address",
            format!("An address book holds at most {MAX_ADDRESSES} addresses; remove one first."),
        )
        .into());
    }
    // The first address is the default of both kinds: there is no other.
    let first = count == 0;
    let now = Utc::now();
    let mut row = addresses::ActiveModel {
        pid: Set(Uuid::new_v4()),
        user_id: Set(user_id),
        is_default_shipping: Set(first || defaults.shipping == Some(true)),
        is_default_billing: Set(first || defaults.billing == Some(true)),
        created_at: Set(now.into()),
        updated_at: Set(now.into()),
        ..Default::default()
    };
    fill(&mut row, address);
    if !first {
        clear_defaults(txn, user_id, 0, defaults).await?;
    }
    Ok(row.insert(txn).await?)
}

/// Adds an address to the user's book; the first one becomes the default of both kinds.
///
/// # Errors
/// `Validation` when the book is full; database errors.
pub async fn add(
    db: &DatabaseConnection,
    user_id: i32,
    address: Address,
    defaults: Defaults,
) -> AppResult<Model> {
    let txn = write_txn(db).await?;
    let row = insert(&txn, user_id, address, defaults).await?;
    idempotency::answer(&txn, 201, &BookAddress::from(&row)).await?;
    txn.commit().await?;
    Ok(row)
}

/// Saves an address given at checkout, unless the book has the same one already.
///
/// # Errors
/// `Validation` when the book is full; database errors.
pub async fn remember(db: &DatabaseConnection, user_id: i32, address: Address) -> AppResult<()> {
    let known = list(db, user_id)
        .await?
        .iter()
        .any(|a| to_address(a) == address);
    if !known {
        let txn = write_txn(db).await?;
        insert(&txn, user_id, address, Defaults::default()).await?;
        txn.commit().await?;
    }
    Ok(())
}

/// Changes one of the user's addresses: its content when `address` is given, its defaults as
/// `defaults` says (an address stops being a default only when told `false`).
///
/// # Errors
/// `NotFound` for an address that is not the user's; database errors.
pub async fn update(
    db: &DatabaseConnection,
    user_id: i32,
    pid: Uuid,
    address: Option<Address>,
    defaults: Defaults,
) -> AppResult<Model> {
    let txn = write_txn(db).await?;
    let current = find_own(&txn, user_id, pid).await?;
    clear_defaults(&txn, user_id, current.id, defaults).await?;
    let mut row: addresses::ActiveModel = current.into();
    if let Some(a) = address {
        fill(&mut row, a);
    }
    if let Some(v) = defaults.shipping {
        row.is_default_shipping = Set(v);
    }
    if let Some(v) = defaults.billing {
        row.is_default_billing = Set(v);
    }
    row.updated_at = Set(Utc::now().into());
    let saved = row.update(&txn).await?;
    txn.commit().await?;
    Ok(saved)
}

/// Removes one of the user's addresses. A default it was passes to the oldest address left,
/// so a customer with addresses always has a default of each kind.
///
/// # Errors
/// `NotFound` for an address that is not the user's; database errors.
pub async fn delete(db: &DatabaseConnection, user_id: i32, pid: Uuid) -> AppResult<()> {
    let txn = write_txn(db).await?;
    let gone = find_own(&txn, user_id, pid).await?;
    Entity::delete_by_id(gone.id).exec(&txn).await?;
    for (was, col) in [
        (gone.is_default_shipping, Column::IsDefaultShipping),
        (gone.is_default_billing, Column::IsDefaultBilling),
    ] {
        if !was {
            continue;
        }
        let heir = Entity::find()
            .filter(Column::UserId.eq(user_id))
            .order_by_asc(Column::Id)
            .one(&txn)
            .await?;
        if let Some(heir) = heir {
            Entity::update_many()
                .col_expr(col, Expr::value(true))
                .filter(Column::Id.eq(heir.id))
                .exec(&txn)
                .await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

/// Replaces the default shipping address (API.md's `PUT /me/address`), or makes the first
/// address of the book.
///
/// # Errors
/// Database errors.
pub async fn set_default(
    db: &DatabaseConnection,
    user_id: i32,
    address: Address,
) -> AppResult<Model> {
    let txn = write_txn(db).await?;
    let current = Entity::find()
        .filter(Column::UserId.eq(user_id))
        .filter(Column::IsDefaultShipping.eq(true))
        .one(&txn)
        .await?;
    let saved = match current {
        Some(a) => {
            let mut row: addresses::ActiveModel = a.into();
            fill(&mut row, address);
            row.updated_at = Set(Utc::now().into());
            row.update(&txn).await?
        }
        None => {
            let defaults = Defaults {
                shipping: Some(true),
                billing: None,
            };
            insert(&txn, user_id, address, defaults).await?
        }
    };
    txn.commit().await?;
    Ok(saved)
}
