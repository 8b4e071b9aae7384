//! Shopper account pages: register, log in and out, verify e-mail, reset password, profile,
//! address book.
//! Each action calls the same `models::accounts` function as the API.
use axum::{
    extract::{Path, Query},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    Form,
};
use loco_rs::prelude::Routes;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    domain::{
        account::{Address, ProfileUpdate, Registration},
        role::Role,
        validation::FieldErrors,
    },
    errors::{AppError, PageError},
    models::{
        accounts,
        accounts::addresses::{self, AddressView, BookAddress, Content, Defaults},
        users::{Model, Profile},
    },
    web::{
        extract::ClientId,
        html::{
            error_sentence, flash, form_errors, keep_signed_in, safe_next, sign_in, sign_out, Page,
        },
    },
};

type PageResult = Result<Response, PageError>;

fn errors_json(e: &FieldErrors) -> Value {
    json!(e)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct NextQuery {
    next: String,
}

/// "Create an account" from the login page keeps where the shopper was going.
fn register_href(next: &str) -> String {
    if next.is_empty() {
        "/register".to_string()
    } else {
        let encoded: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
        format!("/register?next={encoded}")
    }
}

async fn login_form(page: Page, Query(q): Query<NextQuery>) -> PageResult {
    if page.user.is_some() {
        return Ok(Redirect::to(safe_next(&q.next)).into_response());
    }
    page.render(
        "account/login.html",
        "Log in",
        json!({ "form": {}, "errors": {}, "next": q.next, "register_href": register_href(&q.next) }),
    )
    .await
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct LoginForm {
    email: String,
    password: String,
    next: String,
}

/// Signs `user` in and sends them on: the end of a login, with or without a second step.
pub(super) async fn complete_login(page: &Page, user: &Model, next: &str) -> PageResult {
    sign_in(&page.session, user).await?;
    flash(
        &page.session,
        "success",
        format!("Welcome back, {}.", user.first_name),
    )
    .await;
    super::cart::adopt_guest_cart(page, user).await?;
    let default = if user.role().is_staff() {
        "/admin"
    } else {
        "/account"
    };
    let next = if next.is_empty() {
        default
    } else {
        safe_next(next)
    };
    Ok(Redirect::to(next).into_response())
}

async fn login(page: Page, ClientId(client): ClientId, Form(f): Form<LoginForm>) -> PageResult {
    match accounts::authenticate(&page.ctx, &f.email, &f.password, &client).await {
        Ok(user) if user.two_factor_enabled() => {
            super::two_factor::await_code(&page, &user, &f.next).await
        }
        Ok(user) => complete_login(&page, &user, &f.next).await,
        Err(e) => {
            let errors = form_errors(e)?;
            page.render_status(StatusCode::UNPROCESSABLE_ENTITY, "account/login.html", "Log in",
                json!({ "form": { "email": f.email }, "errors": errors_json(&errors), "next": f.next, "register_href": register_href(&f.next) })).await
        }
    }
}

async fn logout(page: Page) -> PageResult {
    sign_out(&page.session).await?;
    Ok(Redirect::to("/").into_response())
}

async fn register_form(page: Page, Query(q): Query<NextQuery>) -> PageResult {
    page.render(
        "account/register.html",
        "Create an account",
        json!({ "form": {}, "errors": {}, "next": q.next }),
    )
    .await
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct RegisterForm {
    email: String,
    password: String,
    first_name: String,
    last_name: String,
    /// Where the shopper was going when asked to log in (the checkout, say).
    next: String,
}

async fn register(
    page: Page,
    ClientId(client): ClientId,
    Form(f): Form<RegisterForm>,
) -> PageResult {
    let result = match Registration::parse(
        &f.email,
        &f.password,
        &f.first_name,
        &f.last_name,
        Role::Customer,
    ) {
        Ok(reg) => accounts::sign_up(&page.ctx, reg, &client).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(user) => {
            sign_in(&page.session, &user).await?;
            flash(
                &page.session,
                "success",
                "Your account is ready. We have sent you a link to confirm your e-mail address.",
            )
            .await;
            super::cart::adopt_guest_cart(&page, &user).await?;
            let to = if f.next.is_empty() {
                "/account"
            } else {
                safe_next(&f.next)
            };
            Ok(Redirect::to(to).into_response())
        }
        Err(e) => {
            let errors = form_errors(e)?;
            page.render_status(StatusCode::UNPROCESSABLE_ENTITY, "account/register.html", "Create an account",
                json!({ "form": { "email": f.email, "first_name": f.first_name, "last_name": f.last_name }, "errors": errors_json(&errors), "next": f.next })).await
        }
    }
}

async fn forgot_form(page: Page) -> PageResult {
    page.render(
        "account/forgot.html",
        "Forgot your password?",
        json!({ "form": {}, "errors": {}, "sent": false }),
    )
    .await
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ForgotForm {
    email: String,
}

async fn forgot(page: Page, ClientId(client): ClientId, Form(f): Form<ForgotForm>) -> PageResult {
    if let Err(e) = accounts::forgot_password(&page.ctx, &f.email, &client).await {
        let status = e.status();
        let errors = form_errors(e)?;
        return page
            .render_status(
                status,
                "account/forgot.html",
                "Forgot your password?",
                json!({ "form": { "email": f.email }, "errors": errors_json(&errors), "sent": false }),
            )
            .await;
    }
    page.render(
        "account/forgot.html",
        "Forgot your password?",
        json!({ "form": {}, "errors": {}, "sent": true }),
    )
    .await
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct TokenQuery {
    token: String,
}

async fn reset_form(page: Page, Query(q): Query<TokenQuery>) -> PageResult {
    page.render(
        "account/reset.html",
        "Choose a new password",
        json!({ "form": {}, "errors": {}, "token": q.token }),
    )
    .await
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ResetForm {
    token: String,
    password: String,
}

async fn reset(page: Page, Form(f): Form<ResetForm>) -> PageResult {
    match accounts::reset_password(&page.ctx, &f.token, &f.password).await {
        Ok(_) => {
            flash(
                &page.session,
                "success",
                "Your password has been changed. Please log in.",
            )
            .await;
            Ok(Redirect::to("/login").into_response())
        }
        Err(e) => {
            let errors = form_errors(e)?;
            page.render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "account/reset.html",
                "Choose a new password",
                json!({ "form": {}, "errors": errors_json(&errors), "token": f.token }),
            )
            .await
        }
    }
}

/// The mail's link only asks: confirming is a button (a POST), so that a mail scanner that
/// fetches links, or someone who did not make the account, confirms nothing (confirming gives
/// the account the guest orders placed with the address).
async fn verify_form(page: Page, Query(q): Query<TokenQuery>) -> PageResult {
    use crate::models::{_entities::users, tokens};
    use sea_orm::EntityTrait;
    let user = match tokens::peek_one_time(&page.ctx.db, tokens::OneTimeKind::VerifyEmail, &q.token)
        .await
    {
        Ok(id) => users::Entity::find_by_id(id).one(&page.ctx.db).await?,
        Err(_) => None,
    };
    let Some(user) = user else {
        return verify_outcome(&page, false, &q.token).await;
    };
    page.render(
        "account/verify.html",
        "Confirm your e-mail",
        json!({ "confirm": true, "token": q.token, "email": user.email,
                "created": user.created_at.format("%Y-%m-%d").to_string() }),
    )
    .await
}

async fn verify(page: Page, Form(q): Form<TokenQuery>) -> PageResult {
    let ok = accounts::verify_email(&page.ctx, &q.token).await.is_ok();
    verify_outcome(&page, ok, &q.token).await
}

async fn verify_outcome(page: &Page, ok: bool, token: &str) -> PageResult {
    let q = TokenQuery {
        token: token.to_string(),
    };
    let already = !ok && accounts::verified_earlier(&page.ctx, &q.token).await?;
    let status = if ok || already {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page.render_status(
        status,
        "account/verify.html",
        "Confirm your e-mail",
        json!({ "ok": ok, "already": already }),
    )
    .await
}

/// Renders the account page with each form's own errors.
async fn account_page(
    page: &Page,
    status: StatusCode,
    form: Value,
    errors: [(&str, Value); 5],
) -> PageResult {
    let user = page
        .user
        .as_ref()
        .ok_or(AppError::Unauthorized(String::new()))?;
    let book: Vec<BookAddress> = addresses::list(&page.ctx.db, user.id)
        .await?
        .iter()
        .map(BookAddress::from)
        .collect();
    let mut form = form;
    if form.is_null() {
        form = json!({
            "first_name": user.first_name, "last_name": user.last_name,
            "name": user.full_name(),
            "country": crate::settings::Settings::get(&page.ctx).checkout.default_country,
        });
    }
    let mut data = json!({
        "user": Profile::from(user), "book": book, "form": form, "errors": {},
        // Staff only: "on" or "off"; empty for customers.
        "two_factor": match (user.role().is_staff(), user.two_factor_enabled()) {
            (false, _) => "",
            (true, true) => "on",
            (true, false) => "off",
        },
    });
    for (k, v) in errors {
        data[k] = v;
    }
    page.render_status(status, "account/show.html", "Your account", data)
        .await
}

fn no_errors() -> [(&'static str, Value); 5] {
    [
        ("profile_errors", json!({})),
        ("password_errors", json!({})),
        ("address_errors", json!({})),
        ("email_errors", json!({})),
        ("close_errors", json!({})),
    ]
}

async fn show(page: Page) -> PageResult {
    page.require_user()?;
    account_page(&page, StatusCode::OK, Value::Null, no_errors()).await
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ProfileForm {
    first_name: String,
    last_name: String,
}

async fn update_profile(page: Page, Form(f): Form<ProfileForm>) -> PageResult {
    let user = page.require_user()?.clone();
    let result = match ProfileUpdate::parse(Some(&f.first_name), Some(&f.last_name)) {
        Ok(u) => accounts::update_profile(&page.ctx, user, u).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(_) => {
            flash(&page.session, "success", "Your profile has been saved.").await;
            Ok(Redirect::to("/account").into_response())
        }
        Err(e) => {
            let errors = form_errors(e)?;
            let mut errs = no_errors();
            errs[0].1 = errors_json(&errors);
            account_page(
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "first_name": f.first_name, "last_name": f.last_name }),
                errs,
            )
            .await
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct PasswordForm {
    current_password: String,
    new_password: String,
}

async fn change_password(page: Page, Form(f): Form<PasswordForm>) -> PageResult {
    let user = page.require_user()?.clone();
    match accounts::change_password(
        &page.ctx,
        user,
        &f.current_password,
        &f.new_password,
        accounts::Keep::Browser,
    )
    .await
    {
        Ok(user) => {
            keep_signed_in(&page.session, &user).await?;
            flash(
                &page.session,
                "success",
                "Your password has been changed, and every other device has been signed out.",
            )
            .await;
            Ok(Redirect::to("/account").into_response())
        }
        Err(e) => {
            let errors = form_errors(e)?;
            let mut errs = no_errors();
            errs[1].1 = errors_json(&errors);
            account_page(&page, StatusCode::UNPROCESSABLE_ENTITY, Value::Null, errs).await
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct EmailForm {
    new_email: String,
    password: String,
}

/// Asks for the change: the link goes to the new address, the notice to the current one.
async fn change_email(page: Page, Form(f): Form<EmailForm>) -> PageResult {
    let user = page.require_user()?.clone();
    match accounts::email_change::request(&page.ctx, &user, &f.new_email, &f.password).await {
        Ok(()) => {
            flash(
                &page.session,
                "success",
                format!(
                    "We sent a link to {}: your e-mail address changes when you follow it. We told {} too.",
                    f.new_email.trim(),
                    user.email
                ),
            )
            .await;
            Ok(Redirect::to("/account").into_response())
        }
        Err(e) => {
            let errors = form_errors(e)?;
            let mut errs = no_errors();
            errs[3].1 = errors_json(&errors);
            account_page(
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "new_email": f.new_email }),
                errs,
            )
            .await
        }
    }
}

/// The link in the mail only asks (a mail scanner fetching links changes nothing); the
/// button makes the change.
async fn confirm_email_form(page: Page, Query(q): Query<TokenQuery>) -> PageResult {
    let Some(me) = page.user.clone() else {
        // Only the account that asked may confirm: sign in first, then come back here.
        let back = format!(
            "/account/email/confirm?token={}",
            form_urlencoded::byte_serialize(q.token.as_bytes()).collect::<String>()
        );
        let next: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
        flash(
            &page.session,
            "info",
            "Sign in to the account whose e-mail address changes to confirm the new one.",
        )
        .await;
        return Ok(Redirect::to(&format!("/login?next={next}")).into_response());
    };
    match accounts::email_change::pending(&page.ctx, &q.token).await {
        Ok((user, _)) if user.id != me.id => {
            page.render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "account/email_confirm.html",
                "Confirm your new e-mail address",
                json!({ "ok": false, "message": "This link belongs to another account. Sign out, then sign in to the account whose e-mail address changes and open the link again." }),
            )
            .await
        }
        Ok((user, new_email)) => {
            page.render(
                "account/email_confirm.html",
                "Confirm your new e-mail address",
                json!({ "confirm": true, "token": q.token, "old_email": user.email, "new_email": new_email }),
            )
            .await
        }
        Err(AppError::Unprocessable { .. } | AppError::NotFound) => {
            email_confirm_outcome(&page).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn confirm_email(page: Page, Form(q): Form<TokenQuery>) -> PageResult {
    let me = page.require_user()?.clone();
    match accounts::email_change::confirm(&page.ctx, &q.token, &me, accounts::Keep::Browser).await {
        Ok(user) => {
            keep_signed_in(&page.session, &user).await?;
            flash(
                &page.session,
                "success",
                format!(
                    "Your e-mail address is now {}. Every other device has been signed out: sign in there with the new address.",
                    user.email
                ),
            )
            .await;
            Ok(Redirect::to("/account").into_response())
        }
        Err(AppError::Unprocessable { .. } | AppError::NotFound) => {
            email_confirm_outcome(&page).await
        }
        Err(AppError::Validation(f)) => {
            let message = f.0.values().flatten().next().cloned().unwrap_or_default();
            page.render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "account/email_confirm.html",
                "Confirm your new e-mail address",
                json!({ "ok": false, "message": message }),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// A link that cannot (or can no longer) change anything.
async fn email_confirm_outcome(page: &Page) -> PageResult {
    page.render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "account/email_confirm.html",
        "Confirm your new e-mail address",
        json!({ "ok": false }),
    )
    .await
}

/// The personal-data download: the same document as `GET /api/v1/me/export`.
async fn export_data(page: Page) -> PageResult {
    let user = page.require_user()?.clone();
    let data = accounts::personal_data::export(&page.ctx, &user).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"my-data.json\"",
            ),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        axum::Json(data),
    )
        .into_response())
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct CloseForm {
    password: String,
}

async fn close_account(page: Page, Form(f): Form<CloseForm>) -> PageResult {
    let user = page.require_user()?.clone();
    match accounts::personal_data::close(&page.ctx, &user, &f.password).await {
        Ok(()) => {
            sign_out(&page.session).await?;
            flash(
                &page.session,
                "success",
                "Your account is closed and your personal data erased. Thank you for shopping with us.",
            )
            .await;
            Ok(Redirect::to("/").into_response())
        }
        Err(AppError::Conflict(m)) => {
            let mut errs = no_errors();
            errs[4].1 = json!({ "_form": [m] });
            account_page(&page, StatusCode::CONFLICT, Value::Null, errs).await
        }
        Err(e) => {
            let errors = form_errors(e)?;
            let mut errs = no_errors();
            errs[4].1 = errors_json(&errors);
            account_page(&page, StatusCode::UNPROCESSABLE_ENTITY, Value::Null, errs).await
        }
    }
}

#[derive(Debug, Deserialize, Default, serde::Serialize)]
#[serde(default)]
struct AddressForm {
    name: String,
    company: String,
    line1: String,
    line2: String,
    city: String,
    postal_code: String,
    country: String,
    phone: String,
    /// "on": make it the default for delivery (or billing).
    default_shipping: String,
    default_billing: String,
}

impl AddressForm {
    fn parse(&self) -> Result<Address, FieldErrors> {
        Address::parse_with_recipient(
            &self.name,
            &self.company,
            true,
            &self.line1,
            &self.line2,
            &self.city,
            &self.postal_code,
            &self.country,
            &self.phone,
        )
    }
}

fn address_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::NotFound)
}

async fn add_address(page: Page, Form(f): Form<AddressForm>) -> PageResult {
    let user = page.require_user()?.clone();
    let added = match f.parse() {
        Ok(a) => {
            let defaults = Defaults {
                shipping: Some(f.default_shipping == "on"),
                billing: Some(f.default_billing == "on"),
            };
            addresses::add(&page.ctx.db, user.id, a, defaults).await
        }
        Err(errors) => Err(errors.into()),
    };
    match added {
        Ok(_) => {
            flash(
                &page.session,
                "success",
                "The address is in your address book.",
            )
            .await;
            Ok(Redirect::to("/account#address-title").into_response())
        }
        Err(e) => {
            let mut errs = no_errors();
            errs[2].1 = errors_json(&form_errors(e)?);
            let mut form = json!(f);
            form["first_name"] = json!(user.first_name);
            form["last_name"] = json!(user.last_name);
            account_page(&page, StatusCode::UNPROCESSABLE_ENTITY, form, errs).await
        }
    }
}

async fn render_address(
    page: &Page,
    status: StatusCode,
    id: Uuid,
    form: Value,
    errors: &FieldErrors,
) -> PageResult {
    page.render_status(
        status,
        "account/address.html",
        "Edit address",
        json!({ "id": id, "form": form, "errors": errors }),
    )
    .await
}

async fn edit_address(page: Page, Path(id): Path<String>) -> PageResult {
    let user = page.require_user()?;
    let a = addresses::find_own(&page.ctx.db, user.id, address_id(&id)?).await?;
    let mut form = json!(AddressView::from(&a));
    if a.name.is_empty() {
        form["name"] = json!(user.full_name());
    }
    render_address(&page, StatusCode::OK, a.pid, form, &FieldErrors::new()).await
}

async fn save_address(
    page: Page,
    Path(id): Path<String>,
    Form(f): Form<AddressForm>,
) -> PageResult {
    let user = page.require_user()?.clone();
    let pid = address_id(&id)?;
    addresses::find_own(&page.ctx.db, user.id, pid).await?;
    match f.parse() {
        Ok(a) => {
            addresses::update(
                &page.ctx.db,
                user.id,
                pid,
                Content::Replace(a),
                Defaults::default(),
            )
            .await?;
            flash(&page.session, "success", "Your address has been saved.").await;
            Ok(Redirect::to("/account#address-title").into_response())
        }
        Err(errors) => {
            render_address(
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
                pid,
                json!(f),
                &errors,
            )
            .await
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct DefaultForm {
    kind: String,
}

async fn make_default(
    page: Page,
    Path(id): Path<String>,
    Form(f): Form<DefaultForm>,
) -> PageResult {
    let user = page.require_user()?.clone();
    let (defaults, said) = match f.kind.as_str() {
        "shipping" => (
            Defaults {
                shipping: Some(true),
                billing: None,
            },
            "Orders go to this address unless you choose another.",
        ),
        "billing" => (
            Defaults {
                shipping: None,
                billing: Some(true),
            },
            "Invoices name this address unless you choose another.",
        ),
        _ => return Err(AppError::BadRequest("Unknown kind of default.".into()).into()),
    };
    addresses::update(
        &page.ctx.db,
        user.id,
        address_id(&id)?,
        Content::Keep,
        defaults,
    )
    .await?;
    flash(&page.session, "success", said).await;
    Ok(Redirect::to("/account#address-title").into_response())
}

async fn delete_address(page: Page, Path(id): Path<String>) -> PageResult {
    let user = page.require_user()?.clone();
    addresses::delete(&page.ctx.db, user.id, address_id(&id)?).await?;
    flash(&page.session, "success", "The address has been removed.").await;
    Ok(Redirect::to("/account#address-title").into_response())
}

/// "Sign out everywhere else": every other browser session and API token of the user ends.
async fn sign_out_elsewhere(page: Page) -> PageResult {
    let user = page.require_user()?.clone();
    let user =
        accounts::sign_out_everywhere_else(&page.ctx, &user, accounts::Keep::Browser).await?;
    keep_signed_in(&page.session, &user).await?;
    flash(
        &page.session,
        "success",
        "Every other device and app has been signed out.",
    )
    .await;
    Ok(Redirect::to("/account").into_response())
}

async fn resend_verification(page: Page, ClientId(client): ClientId) -> PageResult {
    let user = page.require_user()?.clone();
    match accounts::resend_verification(&page.ctx, &user, &client).await {
        Ok(()) => {
            flash(
                &page.session,
                "success",
                "We have sent you a new confirmation link.",
            )
            .await
        }
        Err(AppError::Conflict(m)) => flash(&page.session, "info", m).await,
        Err(e @ AppError::RateLimited { .. }) => {
            flash(&page.session, "error", error_sentence(e)?).await;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to("/account").into_response())
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/login", get(login_form).post(login))
        .add("/logout", post(logout))
        .add("/register", get(register_form).post(register))
        .add("/forgot", get(forgot_form).post(forgot))
        .add("/reset", get(reset_form).post(reset))
        .add("/verify", get(verify_form).post(verify))
        .add("/account", get(show))
        .add("/account/profile", post(update_profile))
        .add("/account/password", post(change_password))
        .add("/account/email", post(change_email))
        .add("/account/export", get(export_data))
        .add("/account/close", post(close_account))
        .add(
            "/account/email/confirm",
            get(confirm_email_form).post(confirm_email),
        )
        .add("/account/sessions/revoke", post(sign_out_elsewhere))
        .add("/account/addresses", post(add_address))
        .add(
            "/account/addresses/{id}",
            get(edit_address).post(save_address),
        )
        .add("/account/addresses/{id}/default", post(make_default))
        .add("/account/addresses/{id}/delete", post(delete_address))
        .add("/account/verify/resend", post(resend_verification))
}
