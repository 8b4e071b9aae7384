//! `/admin/api-keys`: issue keys with scopes (the secret is shown once), see their last use,
//! revoke them. Admins only.
use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::Form;
use loco_rs::prelude::Routes;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::{
    domain::{api_key::Scope, role::Role},
    errors::PageError,
    models::api_keys::{self, KeyDraft},
    web::html::{flash, form_errors, Page},
};

const ADMIN: &[Role] = &[Role::Admin];

async fn render(
    page: &Page,
    status: StatusCode,
    secret: Option<String>,
    errors: serde_json::Value,
) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    let keys = api_keys::list(&page.ctx.db).await?;
    let scopes: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    page.render_status(
        status,
        "admin/api_keys/index.html",
        "API keys",
        json!({"keys": keys, "scopes": scopes, "secret": secret, "errors": errors}),
    )
    .await
}

async fn index(page: Page) -> Result<Response, PageError> {
    render(&page, StatusCode::OK, None, json!({})).await
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct KeyForm {
    name: String,
    scopes: Vec<String>,
}

async fn create(page: Page, Form(f): Form<KeyForm>) -> Result<Response, PageError> {
    let admin = page.require_role(ADMIN)?.clone();
    let result = match KeyDraft::parse(&f.name, &f.scopes) {
        Ok(d) => api_keys::create(&page.ctx, &admin, d).await,
        Err(e) => Err(e.into()),
    };
    match result {
        // Shown once, on this very page: it is never stored in the clear.
        Ok(k) => render(&page, StatusCode::CREATED, Some(k.secret), json!({})).await,
        Err(e) => {
            let errors = json!(form_errors(e)?);
            render(&page, StatusCode::UNPROCESSABLE_ENTITY, None, errors).await
        }
    }
}

async fn revoke(page: Page, Path(id): Path<Uuid>) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    api_keys::revoke(&page.ctx.db, &page.actor(), id).await?;
    flash(&page.session, "success", "The key is revoked.").await;
    Ok(Redirect::to("/admin/api-keys").into_response())
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/admin/api-keys", get(index).post(create))
        .add("/admin/api-keys/{id}/revoke", post(revoke))
}
