//! The address book: a customer's saved addresses, one of them the default for shipping and one
//! the default for billing (at most one of each, by partial unique indexes). API.md's
//! `/me/address` reads and writes the default shipping address.
use chrono::Utc;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    domain::{
        account::{Address, AddressPatch},
        validation::FieldErrors,
    },
    errors::{AppError, AppResult},
    models::{
        _entities::{
            addresses::{self, Column, Entity, Model},
            users,
        },
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

/// What a change does to an address's content.
#[derive(Debug, Clone)]
pub enum Content {
    Keep,
    Replace(Address),
    /// Some parts, merged with the address as it is when the change runs.
    Patch(AddressPatch),
}

/// The user's addresses: the default for shipping first, then the default for billing, then
/// oldest first.
///
/// # Errors
/// Database errors.
pub async fn list<C: ConnectionTrait>(db: &C, user_id: i32) -> AppResult<Vec<Model>> {
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
pub async fn default_for<C: ConnectionTrait>(db: &C, user_id: i32) -> AppResult<Option<Model>> {
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

/// Locks the user's row for the rest of the transaction (`FOR NO KEY UPDATE` on PostgreSQL, so
/// rows that merely point at the user, such as a new order, are not held up and cannot deadlock
/// with it), so that one user's address-book writes run one after another: the size limit and the one-default-of-each-kind rule then see each
/// other's work instead of racing into a full book or a unique-index error.
async fn lock_book<C: ConnectionTrait>(txn: &C, user_id: i32) -> AppResult<()> {
    users::Entity::find_by_id(user_id)
        .lock(sea_orm::sea_query::LockType::NoKeyUpdate)
        .one(txn)
        .await?;
    Ok(())
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

/// A new address (the caller holds the book's lock).
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
    lock_book(&txn, user_id).await?;
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
    let txn = write_txn(db).await?;
    lock_book(&txn, user_id).await?;
    let known = list(&txn, user_id)
        .await?
        .iter()
        .any(|a| to_address(a) == address);
    if !known {
        insert(&txn, user_id, address, Defaults::default()).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Changes one of the user's addresses: its content as `content` says, its defaults as
/// `defaults` says (an address stops being a default only when told `false`).
///
/// # Errors
/// `NotFound` for an address that is not the user's; `Validation` for a patch that leaves a
/// bad address; database errors.
pub async fn update(
    db: &DatabaseConnection,
    user_id: i32,
    pid: Uuid,
    content: Content,
    defaults: Defaults,
) -> AppResult<Model> {
    let txn = write_txn(db).await?;
    lock_book(&txn, user_id).await?;
    let current = find_own(&txn, user_id, pid).await?;
    let address = match content {
        Content::Keep => None,
        Content::Replace(a) => Some(a),
        Content::Patch(p) if p.is_empty() => None,
        Content::Patch(p) => Some(p.apply(&to_address(&current))?),
    };
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
    lock_book(&txn, user_id).await?;
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

/// Replaces the address `GET /me/address` shows (API.md's `PUT /me/address`: the default
/// shipping address, or else the oldest, which becomes the default), or makes the first
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
    lock_book(&txn, user_id).await?;
    let saved = match default_for(&txn, user_id).await? {
        Some(a) => {
            let mut row: addresses::ActiveModel = a.into();
            fill(&mut row, address);
            row.is_default_shipping = Set(true);
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
