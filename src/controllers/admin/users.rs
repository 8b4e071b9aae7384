//! `/admin/users`: list, search, create, change role, (de)activate. Admins only.
use axum::{
    extract::{OriginalUri, Path, Query},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    Form,
};
use loco_rs::prelude::Routes;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    domain::{account::Registration, role::Role, validation::FieldErrors},
    errors::{AppError, PageError},
    models::{
        accounts::{self, AdminUpdate, Origin},
        users,
    },
    web::{
        html::{flash, Page},
        pagination::PageQuery,
    },
};

const ADMIN: &[Role] = &[Role::Admin];

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Filter {
    q: String,
    role: String,
}

async fn list_page(
    page: &Page,
    uri: &axum::http::Uri,
    filter: &Filter,
    paging: &PageQuery,
    status: StatusCode,
    form: Value,
    errors: Value,
) -> Result<Response, PageError> {
    let paging = paging.parse()?;
    let role = filter.role.parse::<Role>().ok();
    let (rows, count) =
        users::search(&page.ctx.db, &filter.q, role, paging.page, paging.page_size).await?;
    let list: Vec<Value> = rows
        .iter()
        .map(|u| json!({
            "id": u.pid, "email": u.email, "name": u.full_name(), "role": u.role, "active": u.active,
            "email_verified": u.email_verified_at.is_some(), "created_at": crate::views::rfc3339(&u.created_at),
        }))
        .collect();
    let pagination = paging.page_nav(count, uri)?;
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    page.render_status(status, "admin/users/index.html", "Users", json!({
        "users": list, "q": filter.q, "role": filter.role, "roles": roles, "pagination": pagination,
        "form": form, "errors": errors,
    })).await
}

async fn index(
    page: Page,
    OriginalUri(uri): OriginalUri,
    Query(filter): Query<Filter>,
    Query(paging): Query<PageQuery>,
) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    list_page(
        &page,
        &uri,
        &filter,
        &paging,
        StatusCode::OK,
        json!({}),
        json!({}),
    )
    .await
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct CreateForm {
    email: String,
    first_name: String,
    last_name: String,
    password: String,
    role: String,
}

async fn create(
    page: Page,
    OriginalUri(uri): OriginalUri,
    Form(f): Form<CreateForm>,
) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    let result = match f.role.parse::<Role>() {
        Ok(role) => {
            match Registration::parse(&f.email, &f.password, &f.first_name, &f.last_name, role) {
                Ok(reg) => accounts::register(&page.ctx, reg, Origin::Provisioned).await,
                Err(e) => Err(e.into()),
            }
        }
        Err(m) => Err(FieldErrors::single("role", m).into()),
    };
    match result {
        Ok(u) => {
            flash(
                &page.session,
                "success",
                format!("Created {} ({}).", u.email, u.role),
            )
            .await;
            Ok(Redirect::to("/admin/users").into_response())
        }
        Err(AppError::Validation(errors)) => {
            let form = json!({ "email": f.email, "first_name": f.first_name, "last_name": f.last_name, "role": f.role });
            list_page(
                &page,
                &uri,
                &Filter::default(),
                &PageQuery::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                json!(errors),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct UpdateForm {
    role: String,
    /// An unchecked checkbox sends nothing, so absence means "inactive".
    active: Option<String>,
}

async fn update(
    page: Page,
    Path(id): Path<String>,
    Form(f): Form<UpdateForm>,
) -> Result<Response, PageError> {
    let actor = page.require_role(ADMIN)?.clone();
    let pid = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let role = f
        .role
        .parse::<Role>()
        .map_err(|m| AppError::Validation(FieldErrors::single("role", m)))?;
    let change = AdminUpdate {
        role: Some(role),
        active: Some(f.active.as_deref() == Some("true")),
    };
    match accounts::admin_update(&page.ctx, &actor, pid, change).await {
        Ok(u) => flash(&page.session, "success", format!("Saved {}.", u.email)).await,
        Err(AppError::Conflict(m)) => flash(&page.session, "error", m).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to("/admin/users").into_response())
}

/// A customer's page: profile, role and access, lifetime value and their orders.
async fn show(page: Page, Path(id): Path<String>) -> Result<Response, PageError> {
    let admin = page.require_role(ADMIN)?;
    let pid = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let u = users::find_by_pid(&page.ctx.db, pid).await?;
    let ltv = crate::models::reports::lifetime_value(&page.ctx.db, u.id).await?;
    let filter = crate::models::orders::OrderFilter {
        customer: Some(u.pid.to_string()),
        ..Default::default()
    };
    let (orders, count) = crate::models::orders::list(
        &page.ctx.db,
        &crate::models::actor::Actor::user(admin),
        &filter,
        1,
        50,
    )
    .await?;
    let currency = crate::settings::Settings::get(&page.ctx).currency.clone();
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    page.render("admin/users/show.html", &u.email, json!({
        "u": {"id": u.pid, "email": u.email, "name": u.full_name(), "role": u.role, "active": u.active,
              "email_verified": u.email_verified_at.is_some(), "created_at": crate::views::rfc3339(&u.created_at)},
        "ltv": {"orders": ltv.orders, "spent": crate::views::money::format(ltv.spent_cents, &currency)},
        "orders": crate::views::orders::orders(&orders), "order_count": count, "roles": roles,
    })).await
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/admin/users", get(index))
        .add("/admin/users/new", post(create))
        .add("/admin/users/{id}", get(show).post(update))
}
