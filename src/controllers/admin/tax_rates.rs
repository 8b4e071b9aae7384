//! `/admin/tax-rates`: one rate per country, on one page with the list, an add form and an
//! inline edit form per row. Admins only.
//!
//! Rates are typed as percentages ("19", "5.5") and stored in basis points; the rules are
//! `TaxRateDraft::parse`'s.
use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    Form,
};
use loco_rs::prelude::Routes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    domain::{role::Role, validation::FieldErrors},
    errors::{AppError, PageError},
    models::tax_rates::{self, TaxRateDraft},
    views::{money, orders::percent},
    web::html::{flash, form_errors, Page},
};

const ADMIN: &[Role] = &[Role::Admin];

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct RateForm {
    country: String,
    /// Percent.
    rate: String,
    name: String,
}

impl RateForm {
    fn draft(&self) -> Result<TaxRateDraft, FieldErrors> {
        let mut e = FieldErrors::new();
        let bp = money::read_percent(&mut e, "rate_bp", &self.rate);
        if self.rate.trim().is_empty() {
            e.add("rate_bp", "This field is required.");
        }
        match TaxRateDraft::parse(&self.country, bp.unwrap_or(0), &self.name) {
            Ok(d) => e.into_result().map(|()| d),
            Err(model) => {
                for (k, msgs) in model.0 {
                    if k != "rate_bp" {
                        for m in msgs {
                            e.add(&k, m);
                        }
                    } else if !e.0.contains_key("rate_bp") {
                        // The model speaks in basis points, the form in percent.
                        e.add("rate_bp", "Enter a percentage from 0 to 100.");
                    }
                }
                Err(e)
            }
        }
    }
}

/// Which form a refused submission came from (`new` or a rate id), with its values and errors.
struct Refused {
    target: String,
    form: Value,
    errors: Value,
}

async fn list_page(page: &Page, refused: Option<Refused>) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    let rows: Vec<Value> = tax_rates::list(&page.ctx)
        .await?
        .iter()
        .map(|t| {
            let mut v = json!(t);
            v["rate"] = json!(percent(i64::from(t.rate_bp)));
            v
        })
        .collect();
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
        "admin/tax_rates/index.html",
        "Tax rates",
        json!({ "rows": rows, "refused": refused }),
    )
    .await
}

async fn index(page: Page) -> Result<Response, PageError> {
    list_page(&page, None).await
}

async fn save(page: &Page, id: Option<Uuid>, f: RateForm) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    let result = match f.draft() {
        Err(e) => Err(AppError::from(e)),
        Ok(d) => match id {
            None => tax_rates::create(&page.ctx, d).await,
            Some(pid) => tax_rates::update(&page.ctx, pid, d).await,
        },
    };
    match result {
        Ok(t) => {
            let verb = if id.is_some() { "Saved" } else { "Added" };
            flash(
                &page.session,
                "success",
                format!(
                    "{verb} {} {} % for {}.",
                    t.name,
                    percent(i64::from(t.rate_bp)),
                    t.country
                ),
            )
            .await;
            Ok(Redirect::to("/admin/tax-rates").into_response())
        }
        Err(e) => {
            let refused = Refused {
                target: id.map_or_else(|| "new".to_string(), |i| i.to_string()),
                form: json!(f),
                errors: json!(form_errors(e)?),
            };
            list_page(page, Some(refused)).await
        }
    }
}

async fn create(page: Page, Form(f): Form<RateForm>) -> Result<Response, PageError> {
    save(&page, None, f).await
}

fn parse_id(id: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(id).map_err(|_| PageError(AppError::NotFound))
}

async fn update(
    page: Page,
    Path(id): Path<String>,
    Form(f): Form<RateForm>,
) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    save(&page, Some(parse_id(&id)?), f).await
}

async fn delete(page: Page, Path(id): Path<String>) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    tax_rates::delete(&page.ctx, parse_id(&id)?).await?;
    flash(&page.session, "success", "Deleted the tax rate.").await;
    Ok(Redirect::to("/admin/tax-rates").into_response())
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/admin/tax-rates", get(index).post(create))
        .add("/admin/tax-rates/{id}", post(update))
        .add("/admin/tax-rates/{id}/delete", post(delete))
}
