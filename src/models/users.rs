//! Finders and read models for users.
use sea_orm::{
    sea_query::{Expr, ExprTrait, Func},
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use serde::Serialize;
use uuid::Uuid;

pub use super::_entities::users::{ActiveModel, Column, Entity, Model};
use crate::{
    domain::{email::Email, role::Role},
    errors::{AppError, AppResult},
};

impl Model {
    /// The stored role; an unknown value (impossible through our writes) degrades to customer.
    #[must_use]
    pub fn role(&self) -> Role {
        self.role.parse().unwrap_or(Role::Customer)
    }

    #[must_use]
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// # Errors
/// `AppError::NotFound` when no user has that public id.
pub async fn find_by_pid(db: &DatabaseConnection, pid: Uuid) -> AppResult<Model> {
    Entity::find()
        .filter(Column::Pid.eq(pid))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// # Errors
/// Database errors.
pub async fn find_by_email(
    db: &impl sea_orm::ConnectionTrait,
    email: &Email,
) -> AppResult<Option<Model>> {
    Ok(Entity::find()
        .filter(Column::Email.eq(email.as_str()))
        .one(db)
        .await?)
}

/// API.md's `user` object.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserSummary {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
}

impl From<&Model> for UserSummary {
    fn from(u: &Model) -> Self {
        Self {
            id: u.pid,
            email: u.email.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            role: u.role(),
        }
    }
}

/// API.md's profile (`/me`) object; admins also see `active`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Profile {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub email_verified: bool,
    pub active: bool,
    pub created_at: String,
}

impl From<&Model> for Profile {
    fn from(u: &Model) -> Self {
        Self {
            id: u.pid,
            email: u.email.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            role: u.role(),
            email_verified: u.email_verified_at.is_some(),
            active: u.active,
            created_at: crate::views::rfc3339(&u.created_at),
        }
    }
}

/// One page of users for the admin, newest first, filtered by a search term and a role.
///
/// # Errors
/// Database errors.
pub async fn search(
    db: &DatabaseConnection,
    q: &str,
    role: Option<Role>,
    page: u64,
    page_size: u64,
) -> AppResult<(Vec<Model>, u64)> {
    let mut query = Entity::find()
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id);
    if let Some(role) = role {
        query = query.filter(Column::Role.eq(role.as_str()));
    }
    let q = q.trim();
    if !q.is_empty() {
        let pattern = format!("%{}%", q.to_lowercase());
        query = query.filter(
            Condition::any()
                .add(Expr::col(Column::Email).like(pattern.clone()))
                .add(Expr::expr(Func::lower(Expr::col(Column::FirstName))).like(pattern.clone()))
                .add(Expr::expr(Func::lower(Expr::col(Column::LastName))).like(pattern)),
        );
    }
    let paginator = query.paginate(db, page_size);
    let count = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((rows, count))
}

/// # Errors
/// Database errors.
pub async fn count(db: &DatabaseConnection, role: Option<Role>) -> AppResult<u64> {
    let mut q = Entity::find();
    if let Some(role) = role {
        q = q.filter(Column::Role.eq(role.as_str()));
    }
    Ok(q.count(db).await?)
}
