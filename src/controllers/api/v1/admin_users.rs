//! `/api/v1/admin/users*`: user management for admins; `/api/v1/admin/audit-log`: what admins
//! changed.
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
        accounts::{self, AdminUpdate},
        actor::Actor,
        audit::{self, AuditFilter},
        users::{self, Profile},
    },
    views::api::{AuditEntryPage, ErrorBody, ProfilePage},
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
    #[schema(
        format = "email",
        max_length = 254,
        pattern = r"^\s*[^@\s<>.]+(\.[^@\s<>.]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\s*$"
    )]
    pub email: String,
    /// At least 10 characters, not all digits, not the e-mail address.
    #[schema(min_length = 10, max_length = 128, pattern = r"\D")]
    pub password: String,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub first_name: String,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub last_name: String,
    /// Defaults to `customer`.
    pub role: Option<Role>,
}

#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = [])), request_body = CreateUserRequest,
    responses((status = 201, body = Profile), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(ctx): State<AppContext>,
    admin: Admin,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let reg = Registration::parse(
        &req.email,
        &req.password,
        &req.first_name,
        &req.last_name,
        req.role.unwrap_or(Role::Customer),
    )?;
    let created = accounts::provision(&ctx, reg, &Actor::user(&admin.0)).await?;
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
    /// A new role ends every session of the user.
    pub role: Option<Role>,
    /// `false` deactivates: every session ends and signing in is refused.
    pub active: Option<bool>,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub first_name: Option<String>,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub last_name: Option<String>,
    /// Unique. The account's password stops working and a link to choose a new one goes to
    /// the new address (which it verifies); the old address is told and every session ends.
    #[schema(
        format = "email",
        max_length = 254,
        pattern = r"^\s*[^@\s<>.]+(\.[^@\s<>.]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\s*$"
    )]
    pub email: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin", security(("bearer" = [])), request_body = UpdateUserRequest,
    params(("id" = Uuid, Path)), responses((status = 200, body = Profile), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(ctx): State<AppContext>,
    admin: Admin,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateUserRequest>,
) -> Result<Json<Profile>, ApiError> {
    let pid = parse_id(&id)?;
    let change = AdminUpdate::parse(
        req.role,
        req.active,
        req.first_name.as_deref(),
        req.last_name.as_deref(),
        req.email.as_deref(),
    )?;
    let updated = accounts::admin_update(&ctx, &Actor::user(&admin.0), pid, change).await?;
    Ok(Json(Profile::from(&updated)))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ResetSent {
    pub message: String,
}

#[utoipa::path(post, path = "/api/v1/admin/users/{id}/password-reset", tag = "admin", security(("bearer" = [])),
    description = "Mails the user a password-reset link (the admin never sees it); counts against the address's reset-mail limit.",
    params(("id" = Uuid, Path)), responses((status = 202, body = ResetSent), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The account is deactivated"), (status = 429, body = ErrorBody)))]
async fn password_reset(
    State(ctx): State<AppContext>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let pid = parse_id(&id)?;
    accounts::admin::send_reset_link(&ctx, &Actor::user(&admin.0), pid).await?;
    Ok((StatusCode::ACCEPTED, Json(accounts::admin::reset_sent())))
}

#[utoipa::path(delete, path = "/api/v1/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn destroy(
    State(ctx): State<AppContext>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let pid = parse_id(&id)?;
    accounts::admin_delete(&ctx, &Actor::user(&admin.0), pid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Who acted: a user id or an e-mail address.
    pub actor: Option<String>,
    /// One action, e.g. `user.updated`.
    pub action: Option<audit::Action>,
    pub target_type: Option<audit::TargetType>,
    pub target_id: Option<Uuid>,
}

#[derive(Debug, Deserialize)]
struct AuditQueryRaw {
    actor: Option<String>,
    action: Option<String>,
    target_type: Option<String>,
    target_id: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/admin/audit-log", tag = "admin", security(("bearer" = [])), params(AuditQuery, PageQuery),
    description = "Every change made in the back office, newest first.",
    responses((status = 200, body = AuditEntryPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn audit_log(
    State(ctx): State<AppContext>,
    _admin: Admin,
    Query(q): Query<AuditQueryRaw>,
    page: Listing,
) -> Result<impl IntoResponse, ApiError> {
    let filter = AuditFilter::parse(
        q.actor.as_deref(),
        q.action.as_deref(),
        q.target_type.as_deref(),
        q.target_id.as_deref(),
    )?;
    let (rows, count) = audit::list(&ctx.db, &filter, page.page, page.page_size).await?;
    Ok(page.answer(rows, count))
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .prefix("/api/v1/admin")
        .add("/users", get(list).post(create))
        .add("/users/{id}", get(show).patch(update).delete(destroy))
        .add("/users/{id}/password-reset", post(password_reset))
        .add("/audit-log", get(audit_log))
}
