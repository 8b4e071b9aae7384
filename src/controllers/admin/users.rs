//! `/admin/users`: list, search, create; a user's page to correct names and e-mail, change role
//! and access, mail a reset link, delete or close, with their addresses, orders, reviews and
//! the audit log's rows about them. `/admin/audit`: the whole audit log. Admins only.
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
        accounts::{self, AdminUpdate, Removal},
        audit::{self, AuditFilter},
        reviews, users,
    },
    web::{
        html::{flash, form_errors, Page},
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
                Ok(reg) => accounts::provision(&page.ctx, reg, &page.actor()).await,
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
    page.require_role(ADMIN)?;
    let pid = parse_id(&id)?;
    let role = f
        .role
        .parse::<Role>()
        .map_err(|m| AppError::Validation(FieldErrors::single("role", m)))?;
    let change = AdminUpdate {
        role: Some(role),
        active: Some(f.active.as_deref() == Some("true")),
        ..AdminUpdate::default()
    };
    match accounts::admin_update(&page.ctx, &page.actor(), pid, change).await {
        Ok(u) => flash(&page.session, "success", format!("Saved {}.", u.email)).await,
        Err(AppError::Conflict(m)) => flash(&page.session, "error", m).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/admin/users/{pid}")).into_response())
}

fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::NotFound)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ProfileForm {
    first_name: String,
    last_name: String,
    email: String,
}

/// Corrects a user's names and e-mail address.
async fn update_profile(
    page: Page,
    Path(id): Path<String>,
    Form(f): Form<ProfileForm>,
) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    let pid = parse_id(&id)?;
    let result = match AdminUpdate::parse(
        None,
        None,
        Some(&f.first_name),
        Some(&f.last_name),
        Some(&f.email),
    ) {
        Ok(change) => accounts::admin_update(&page.ctx, &page.actor(), pid, change).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(u) => {
            flash(&page.session, "success", format!("Saved {}.", u.email)).await;
            Ok(Redirect::to(&format!("/admin/users/{pid}")).into_response())
        }
        Err(e) => {
            let errors = json!(form_errors(e)?);
            let form =
                json!({"first_name": f.first_name, "last_name": f.last_name, "email": f.email});
            render_show(&page, pid, StatusCode::UNPROCESSABLE_ENTITY, form, errors).await
        }
    }
}

/// Mails the user a reset link; the admin never sees it.
async fn password_reset(page: Page, Path(id): Path<String>) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    let pid = parse_id(&id)?;
    match accounts::admin::send_reset_link(&page.ctx, &page.actor(), pid).await {
        Ok(()) => {
            flash(
                &page.session,
                "success",
                "A password-reset link is on its way to the account's address.",
            )
            .await;
        }
        Err(e @ (AppError::Conflict(_) | AppError::RateLimited { .. })) => {
            let message = match e {
                AppError::Conflict(m) => m,
                _ => "Enough reset mails went to this address for now; try again later.".into(),
            };
            flash(&page.session, "error", message).await;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/admin/users/{pid}")).into_response())
}

/// Deletes the user, or closes and anonymises an account that has orders.
async fn delete(page: Page, Path(id): Path<String>) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    let pid = parse_id(&id)?;
    match accounts::admin_delete(&page.ctx, &page.actor(), pid).await {
        Ok(Removal::Deleted) => {
            flash(&page.session, "success", "The account is deleted.").await;
            Ok(Redirect::to("/admin/users").into_response())
        }
        Ok(Removal::Closed) => {
            flash(
                &page.session,
                "success",
                "The account has orders, which the books keep: it is closed and its personal data erased.",
            )
            .await;
            Ok(Redirect::to(&format!("/admin/users/{pid}")).into_response())
        }
        Err(AppError::Conflict(m)) => {
            flash(&page.session, "error", m).await;
            Ok(Redirect::to(&format!("/admin/users/{pid}")).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// A user's page: profile, role and access, lifetime value, addresses, orders, reviews and
/// what admins changed about them.
async fn show(page: Page, Path(id): Path<String>) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    let pid = parse_id(&id)?;
    render_show(&page, pid, StatusCode::OK, json!(null), json!({})).await
}

async fn render_show(
    page: &Page,
    pid: Uuid,
    status: StatusCode,
    form: Value,
    errors: Value,
) -> Result<Response, PageError> {
    let admin = page.require_role(ADMIN)?;
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
        None,
    )
    .await?;
    let currency = crate::settings::Settings::get(&page.ctx).currency.clone();
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    let addresses: Vec<accounts::addresses::BookAddress> =
        accounts::addresses::list(&page.ctx.db, u.id)
            .await?
            .iter()
            .map(accounts::addresses::BookAddress::from)
            .collect();
    let reviews = reviews::by_user(&page.ctx.db, u.id).await?;
    let history = shown(&audit::about_user(&page.ctx.db, u.pid, 50).await?);
    let form = if form.is_null() {
        json!({"first_name": u.first_name, "last_name": u.last_name, "email": u.email})
    } else {
        form
    };
    page.render_status(status, "admin/users/show.html", &u.email, json!({
        "u": {"id": u.pid, "email": u.email, "name": u.full_name(), "role": u.role, "active": u.active,
              "email_verified": u.email_verified_at.is_some(), "created_at": crate::views::rfc3339(&u.created_at),
              "closed_at": u.closed_at.as_ref().map(crate::views::rfc3339)},
        "ltv": {"orders": ltv.orders, "spent": crate::views::money::format(ltv.spent_cents, &currency)},
        "orders": crate::views::orders::orders(&orders), "order_count": count, "roles": roles,
        "addresses": addresses, "reviews": reviews, "history": history,
        "form": form, "errors": errors,
    })).await
}

/// Log rows for the page: the before and after values as compact JSON text.
fn shown(rows: &[audit::AuditEntry]) -> Vec<Value> {
    let text = |v: &Option<Value>| v.as_ref().map(Value::to_string);
    rows.iter()
        .map(|r| {
            let mut v = json!(r);
            v["before_text"] = json!(text(&r.before));
            v["after_text"] = json!(text(&r.after));
            v
        })
        .collect()
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct AuditForm {
    actor: String,
    action: String,
    target_type: String,
    target_id: String,
}

/// The audit log, newest first, with its filters.
async fn audit_page(
    page: Page,
    OriginalUri(uri): OriginalUri,
    Query(f): Query<AuditForm>,
    Query(paging): Query<PageQuery>,
) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    let paging = paging.parse()?;
    let given = |s: &str| Some(s.to_string()).filter(|v| !v.trim().is_empty());
    let (filter, errors) = match AuditFilter::parse(
        given(&f.actor).as_deref(),
        given(&f.action).as_deref(),
        given(&f.target_type).as_deref(),
        given(&f.target_id).as_deref(),
    ) {
        Ok(filter) => (Some(filter), json!({})),
        Err(e) => (None, json!(e)),
    };
    let (rows, count) = match &filter {
        Some(filter) => audit::list(&page.ctx.db, filter, paging.page, paging.page_size).await?,
        None => (Vec::new(), 0),
    };
    let pagination = paging.page_nav(count, &uri)?;
    let actions: Vec<&str> = audit::Action::ALL.iter().map(|a| a.as_str()).collect();
    let targets: Vec<&str> = audit::TargetType::ALL.iter().map(|t| t.as_str()).collect();
    let status = if filter.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page.render_status(status, "admin/audit/index.html", "Audit log", json!({
        "entries": shown(&rows), "count": count, "pagination": pagination, "filter": {
            "actor": f.actor, "action": f.action, "target_type": f.target_type, "target_id": f.target_id,
        }, "actions": actions, "targets": targets, "errors": errors,
    })).await
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/admin/users", get(index))
        .add("/admin/users/new", post(create))
        .add("/admin/users/{id}", get(show).post(update))
        .add("/admin/users/{id}/profile", post(update_profile))
        .add("/admin/users/{id}/password-reset", post(password_reset))
        .add("/admin/users/{id}/delete", post(delete))
        .add("/admin/audit", get(audit_page))
}
