//! `/admin/categories` and `/admin/brands`: one page each with the list, an add form and an
//! inline edit form per row. Product managers and admins.
use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    Form,
};
use loco_rs::prelude::Routes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::products::CATALOGUE;
use crate::{
    domain::catalogue,
    errors::{AppError, PageError},
    models::catalogue::groups,
    web::html::{flash, form_errors, Page},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Category,
    Brand,
}

impl Kind {
    const fn path(self) -> &'static str {
        match self {
            Self::Category => "/admin/categories",
            Self::Brand => "/admin/brands",
        }
    }

    const fn noun(self) -> &'static str {
        match self {
            Self::Category => "category",
            Self::Brand => "brand",
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct GroupForm {
    name: String,
    slug: String,
    description: String,
    /// Categories only: the parent's slug, "" for a top-level category.
    parent_id: String,
}

/// Which form a refused submission came from (`new` or a row id), with its values and errors.
struct Refused {
    target: String,
    form: Value,
    errors: Value,
}

async fn list_page(
    page: &Page,
    kind: Kind,
    refused: Option<Refused>,
) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    let (rows, title) = match kind {
        Kind::Category => (json!(groups::categories(&page.ctx).await?), "Categories"),
        Kind::Brand => (json!(groups::brands(&page.ctx).await?), "Brands"),
    };
    let parents: Vec<Value> = if kind == Kind::Category {
        rows.as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["parent"].is_null())
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let refused = refused.map_or(
        json!({"target": "", "form": {}, "errors": {}}),
        |r| json!({"target": r.target, "form": r.form, "errors": r.errors}),
    );
    page.render_status(
        status,
        "admin/groups/index.html",
        title,
        json!({
            "kind": kind.noun(), "base": kind.path(), "rows": rows, "parents": parents,
            "nested": kind == Kind::Category, "refused": refused,
        }),
    )
    .await
}

async fn save(
    page: &Page,
    kind: Kind,
    key: Option<&str>,
    f: GroupForm,
) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    let parent = (!f.parent_id.is_empty()).then_some(f.parent_id.as_str());
    let result = match catalogue::group(
        &f.name,
        (!f.slug.trim().is_empty()).then_some(f.slug.as_str()),
        &f.description,
    ) {
        Err(e) => Err(AppError::from(e)),
        Ok(draft) => match (kind, key) {
            (Kind::Category, None) => groups::create_category(&page.ctx, draft, parent)
                .await
                .map(|_| ()),
            (Kind::Category, Some(k)) => groups::update_category(&page.ctx, k, draft, parent).await,
            (Kind::Brand, None) => groups::create_brand(&page.ctx, draft).await.map(|_| ()),
            (Kind::Brand, Some(k)) => groups::update_brand(&page.ctx, k, draft).await,
        },
    };
    match result {
        Ok(()) => {
            let verb = if key.is_some() { "Saved" } else { "Added" };
            flash(
                &page.session,
                "success",
                format!("{verb} {} “{}”.", kind.noun(), f.name.trim()),
            )
            .await;
            Ok(Redirect::to(kind.path()).into_response())
        }
        Err(e) => {
            let refused = Refused {
                target: key.unwrap_or("new").to_string(),
                form: json!(f),
                errors: json!(form_errors(e)?),
            };
            list_page(page, kind, Some(refused)).await
        }
    }
}

async fn remove(page: &Page, kind: Kind, key: &str) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    let result = match kind {
        Kind::Category => groups::delete_category(&page.ctx, key).await,
        Kind::Brand => groups::delete_brand(&page.ctx, key).await,
    };
    match result {
        Ok(()) => {
            flash(
                &page.session,
                "success",
                format!("Deleted the {}.", kind.noun()),
            )
            .await
        }
        Err(AppError::Conflict(m)) => flash(&page.session, "error", m).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(kind.path()).into_response())
}

async fn categories(page: Page) -> Result<Response, PageError> {
    list_page(&page, Kind::Category, None).await
}

async fn create_category(page: Page, Form(f): Form<GroupForm>) -> Result<Response, PageError> {
    save(&page, Kind::Category, None, f).await
}

async fn update_category(
    page: Page,
    Path(id): Path<String>,
    Form(f): Form<GroupForm>,
) -> Result<Response, PageError> {
    save(&page, Kind::Category, Some(&id), f).await
}

async fn delete_category(page: Page, Path(id): Path<String>) -> Result<Response, PageError> {
    remove(&page, Kind::Category, &id).await
}

async fn brands(page: Page) -> Result<Response, PageError> {
    list_page(&page, Kind::Brand, None).await
}

async fn create_brand(page: Page, Form(f): Form<GroupForm>) -> Result<Response, PageError> {
    save(&page, Kind::Brand, None, f).await
}

async fn update_brand(
    page: Page,
    Path(id): Path<String>,
    Form(f): Form<GroupForm>,
) -> Result<Response, PageError> {
    save(&page, Kind::Brand, Some(&id), f).await
}

async fn delete_brand(page: Page, Path(id): Path<String>) -> Result<Response, PageError> {
    remove(&page, Kind::Brand, &id).await
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/admin/categories", get(categories).post(create_category))
        .add("/admin/categories/{id}", post(update_category))
        .add("/admin/categories/{id}/delete", post(delete_category))
        .add("/admin/brands", get(brands).post(create_brand))
        .add("/admin/brands/{id}", post(update_brand))
        .add("/admin/brands/{id}/delete", post(delete_brand))
}
