//! Two-factor login pages: the code step of a login (`/login/two-factor`) and the set-up
//! page of staff accounts (`/account/two-factor`). Rules in `models::two_factor`.
use axum::{
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    Form,
};
use loco_rs::prelude::Routes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    errors::{AppError, PageError},
    models::{
        two_factor,
        users::{self, Model},
    },
    web::html::{flash, form_errors, Page},
};

type PageResult = Result<Response, PageError>;

/// A login whose password was right and whose code is still to come.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    user: Uuid,
    /// The user's session version at the password step: a password change or reset meanwhile
    /// ends the half-done login too.
    #[serde(default)]
    version: i64,
    since: i64,
    next: String,
}

const PENDING_KEY: &str = "two_factor_pending";
/// How long the code step waits after the password.
const PENDING_SECS: i64 = 300;

/// Remembers the half-done login and asks for the code.
pub(super) async fn await_code(page: &Page, user: &Model, next: &str) -> PageResult {
    // A new session id before anything is attached to it (no session fixation).
    page.session.cycle_id().await.map_err(AppError::internal)?;
    let pending = Pending {
        user: user.pid,
        version: user.session_version,
        since: chrono::Utc::now().timestamp(),
        next: next.to_string(),
    };
    page.session
        .insert(PENDING_KEY, pending)
        .await
        .map_err(AppError::internal)?;
    Ok(Redirect::to("/login/two-factor").into_response())
}

async fn pending(page: &Page) -> Result<Option<(Pending, Model)>, PageError> {
    let Some(p) = page
        .session
        .get::<Pending>(PENDING_KEY)
        .await
        .map_err(AppError::internal)?
    else {
        return Ok(None);
    };
    if chrono::Utc::now().timestamp() - p.since > PENDING_SECS {
        let _ = page.session.remove::<Pending>(PENDING_KEY).await;
        return Ok(None);
    }
    match users::find_by_pid(&page.ctx.db, p.user).await {
        Ok(u) if u.active && u.two_factor_enabled() && u.session_is_current(p.version, None) => {
            Ok(Some((p, u)))
        }
        Ok(_) | Err(AppError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn code_form(page: Page) -> PageResult {
    if pending(&page).await?.is_none() {
        flash(
            &page.session,
            "error",
            "Log in again: the code step timed out.",
        )
        .await;
        return Ok(Redirect::to("/login").into_response());
    }
    page.render(
        "account/two_factor_login.html",
        "Two-factor login",
        json!({"errors": {}}),
    )
    .await
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct CodeForm {
    code: String,
}

async fn submit_code(page: Page, Form(f): Form<CodeForm>) -> PageResult {
    let Some((p, user)) = pending(&page).await? else {
        flash(
            &page.session,
            "error",
            "Log in again: the code step timed out.",
        )
        .await;
        return Ok(Redirect::to("/login").into_response());
    };
    match two_factor::check(&page.ctx, &user, &f.code).await {
        Ok(()) => {
            let _ = page.session.remove::<Pending>(PENDING_KEY).await;
            super::account::complete_login(&page, &user, &p.next).await
        }
        Err(e) => {
            let errors = json!(form_errors(e)?);
            page.render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "account/two_factor_login.html",
                "Two-factor login",
                json!({ "errors": errors }),
            )
            .await
        }
    }
}

/// The set-up page: the QR code while enrolling, the state and its actions once on.
async fn render_setup(
    page: &Page,
    status: StatusCode,
    codes: Option<Vec<String>>,
    errors: Value,
) -> PageResult {
    let user = page.require_user()?;
    if !user.role().is_staff() {
        return Err(AppError::NotFound.into());
    }
    // Re-read: a step of this request may have changed it.
    let user = users::find_by_pid(&page.ctx.db, user.pid).await?;
    // Every form's errors are an object, so templates read `errors.<form>.<field>` safely.
    let mut all = json!({"codes": {}, "disable": {}});
    if let Value::Object(given) = errors {
        for (k, v) in given {
            all[k] = v;
        }
    }
    let errors = all;
    let data = if user.two_factor_enabled() {
        json!({
            "enabled": true, "codes": codes, "errors": errors,
            "codes_left": two_factor::codes_left(&page.ctx.db, &user).await?,
        })
    } else {
        json!({
            "enabled": false, "errors": errors,
            "enrolment": two_factor::enrolment_for(&page.ctx, &user).await?,
        })
    };
    page.render_status(status, "account/two_factor.html", "Two-factor login", data)
        .await
}

async fn setup(page: Page) -> PageResult {
    render_setup(&page, StatusCode::OK, None, json!({})).await
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ConfirmForm {
    password: String,
    code: String,
}

async fn confirm(page: Page, Form(f): Form<ConfirmForm>) -> PageResult {
    let user = page.require_user()?.clone();
    match two_factor::confirm(&page.ctx, &user, &f.password, &f.code).await {
        // The codes are shown on this response only.
        Ok((codes, user)) => {
            crate::web::html::keep_signed_in(&page.session, &user).await?;
            render_setup(&page, StatusCode::OK, Some(codes), json!({})).await
        }
        Err(e) => {
            let errors = json!(form_errors(e)?);
            render_setup(&page, StatusCode::UNPROCESSABLE_ENTITY, None, errors).await
        }
    }
}

async fn new_codes(page: Page, Form(f): Form<CodeForm>) -> PageResult {
    let user = page.require_user()?.clone();
    match two_factor::new_codes(&page.ctx, &user, &f.code).await {
        Ok(codes) => render_setup(&page, StatusCode::OK, Some(codes), json!({})).await,
        Err(e) => {
            let errors = json!({ "codes": form_errors(e)? });
            render_setup(&page, StatusCode::UNPROCESSABLE_ENTITY, None, errors).await
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct DisableForm {
    password: String,
    code: String,
}

async fn disable(page: Page, Form(f): Form<DisableForm>) -> PageResult {
    let user = page.require_user()?.clone();
    match two_factor::disable(&page.ctx, &user, &f.password, &f.code).await {
        Ok(()) => {
            flash(&page.session, "success", "Two-factor login is off.").await;
            Ok(Redirect::to("/account").into_response())
        }
        Err(e) => {
            let errors = json!({ "disable": form_errors(e)? });
            render_setup(&page, StatusCode::UNPROCESSABLE_ENTITY, None, errors).await
        }
    }
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/login/two-factor", get(code_form).post(submit_code))
        .add("/account/two-factor", get(setup))
        .add("/account/two-factor/confirm", post(confirm))
        .add("/account/two-factor/codes", post(new_codes))
        .add("/account/two-factor/disable", post(disable))
}
