//! `/api/v1/admin/users*`: user management for admins.
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::IntoResponse,
    Json,
};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    domain::{account::Registration, role::Role, validation::FieldErrors},
    errors::{ApiError, AppError},
    models::{
        accounts::{self, AdminUpdate, Origin},
        users::{self, Profile},
    },
    views::api::{ErrorBody, ProfilePage},
    web::{
        extract::{AdminOnly, ApiJson, Authorized},
        pagination::{Listing, PageQuery},
    },
};

type Admin = Authorized<AdminOnly>;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UserFilter {
    /// Search in e-mail and names.
    pub q: Option<String>,
    /// Only users with this role.
    pub role: Option<String>,
}

fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::NotFound)
}

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = [])), params(UserFilter, PageQuery),
    responses((status = 200, body = ProfilePage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    State(ctx): State<AppContext>,
    _admin: Admin,
    Query(filter): Query<UserFilter>,
    page: Listing,
) -> Result<impl IntoResponse, ApiError> {
    let role = match filter.role.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => Some(
            r.parse::<Role>()
                .map_err(|m| FieldErrors::single("role", m))?,
        ),
        None => None,
    };
    let (rows, count) = users::search(
        &ctx.db,
        filter.q.as_deref().unwrap_or(""),
        role,
        page.page,
        page.page_size,
    )
    .await?;
    let results = rows.iter().map(Profile::from).collect();
    Ok(page.answer(results, count))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateUserRequest {
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    /// Defaults to `customer`.
    pub role: Option<Role>,
}

#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = [])), request_body = CreateUserRequest,
    responses((status = 201, body = Profile), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(ctx): State<AppContext>,
    _admin: Admin,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let reg = Registration::parse(
        &req.email,
        &req.password,
        &req.first_name,
        &req.last_name,
        req.role.unwrap_or(Role::Customer),
    )?;
    let created = accounts::register(&ctx, reg, Origin::Provisioned).await?;
    Ok((StatusCode::CREATED, Json(Profile::from(&created))))
}

#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Profile), (status = 404, body = ErrorBody)))]
pub(crate) async fn show(
    State(ctx): State<AppContext>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<Profile>, ApiError> {
    let found = users::find_by_pid(&ctx.db, parse_id(&id)?).await?;
    Ok(Json(Profile::from(&found)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    pub role: Option<Role>,
    pub active: Option<bool>,
}

#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin", security(("bearer" = [])), request_body = UpdateUserRequest,
    params(("id" = Uuid, Path)), responses((status = 200, body = Profile), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update(
    State(ctx): State<AppContext>,
    admin: Admin,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateUserRequest>,
) -> Result<Json<Profile>, ApiError> {
    let actor = &admin.0;
    let updated = accounts::admin_update(
        &ctx,
        actor,
        parse_id(&id)?,
        AdminUpdate {
            role: req.role,
            active: req.active,
        },
    )
    .await?;
    Ok(Json(Profile::from(&updated)))
}

#[utoipa::path(delete, path = "/api/v1/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn destroy(
    State(ctx): State<AppContext>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let actor = &admin.0;
    accounts::admin_delete(&ctx, actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new()
        .prefix("/api/v1/admin/users")
        .add("/", axum::routing::get(list).post(create))
        .add(
            "/{id}",
            axum::routing::get(show).patch(update).delete(destroy),
        )
}
