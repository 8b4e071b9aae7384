//! `/admin/promo-codes`: the list (with search), the create and edit forms and delete.
//! Product managers and admins.
//!
//! The form speaks in shop units: a fixed value is an amount ("5.00"), a percent value a
//! percentage ("12.5"), and start and end are `datetime-local` inputs read as UTC. They become
//! the API's `PromoInput`; `PromoDraft::try_from` checks every rule.
use axum::{
    extract::{OriginalUri, Path, Query},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    Form,
};
use chrono::{DateTime, NaiveDateTime, Utc};
use loco_rs::prelude::Routes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    domain::{
        promo::{PromoDraft, PromoInput, PromoKind},
        role::Role,
        validation::FieldErrors,
    },
    errors::{AppError, PageError},
    models::promos::{self, PromoView},
    settings::Settings,
    views::{money, orders::percent, orders::when},
    web::{
        html::{flash, form_errors, Page},
        pagination::PageQuery,
    },
};

const MANAGERS: &[Role] = Role::CATALOGUE_MANAGERS;

fn parse_id(id: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(id).map_err(|_| PageError(AppError::NotFound))
}

/// A code's value for people: "€5.00" or "12.5 %".
fn value_display(kind: PromoKind, value: i64, currency: &str) -> String {
    match kind {
        PromoKind::Fixed => money::format(value, currency),
        PromoKind::Percent => format!("{} %", percent(value)),
    }
}

fn present(p: &PromoView, currency: &str) -> Value {
    let mut v = json!(p);
    v["value_display"] = json!(value_display(p.kind, p.value, currency));
    v["max_discount_display"] = json!(p.max_discount_cents.map(|c| money::format(c, currency)));
    v["min_subtotal_display"] = json!(p.min_subtotal_cents.map(|c| money::format(c, currency)));
    v["starts_display"] = json!(p.starts_at.as_deref().map(when));
    v["ends_display"] = json!(p.ends_at.as_deref().map(when));
    v
}

// ---------------------------------------------------------------------------------------------
// The list

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListFilter {
    q: String,
}

async fn index(
    page: Page,
    OriginalUri(uri): OriginalUri,
    Query(filter): Query<ListFilter>,
    Query(paging): Query<PageQuery>,
) -> Result<Response, PageError> {
    page.require_role(MANAGERS)?;
    let request = paging.parse()?;
    let (rows, count) =
        promos::list(&page.ctx.db, &filter.q, request.page, request.page_size).await?;
    let currency = Settings::get(&page.ctx).currency.clone();
    page.render(
        "admin/promo_codes/index.html",
        "Promo codes",
        json!({
            "codes": rows.iter().map(|p| present(p, &currency)).collect::<Vec<_>>(),
            "q": filter.q,
            "pagination": request.page_nav(count, &uri)?,
        }),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Create and edit

/// The promo code form, as typed.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct PromoForm {
    code: String,
    /// `fixed` or `percent`.
    kind: String,
    /// An amount for `fixed`, a percentage for `percent`.
    value: String,
    max_discount: String,
    min_subtotal: String,
    /// `datetime-local`: "2026-12-01T10:00", read as UTC.
    starts_at: String,
    ends_at: String,
    usage_limit: String,
    per_customer_limit: String,
    /// An unchecked checkbox sends nothing.
    active: Option<String>,
}

/// "2026-12-01T10:00" (or with seconds) as UTC.
fn read_datetime(errors: &mut FieldErrors, field: &str, text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let parsed = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S"));
    if let Ok(n) = parsed {
        Some(n.and_utc())
    } else {
        errors.add(field, "Enter a date and time like 2026-12-31T18:00.");
        None
    }
}

/// An RFC 3339 time as a `datetime-local` value (UTC).
fn datetime_value(rfc3339: Option<&str>) -> String {
    rfc3339
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc).format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

impl PromoForm {
    fn of(p: &PromoView) -> Self {
        let cents = |c: Option<i64>| c.map(money::plain).unwrap_or_default();
        let count = |n: Option<i32>| n.map(|n| n.to_string()).unwrap_or_default();
        Self {
            code: p.code.clone(),
            kind: p.kind.as_str().to_string(),
            value: match p.kind {
                PromoKind::Fixed => money::plain(p.value),
                PromoKind::Percent => percent(p.value),
            },
            max_discount: cents(p.max_discount_cents),
            min_subtotal: cents(p.min_subtotal_cents),
            starts_at: datetime_value(p.starts_at.as_deref()),
            ends_at: datetime_value(p.ends_at.as_deref()),
            usage_limit: count(p.usage_limit),
            per_customer_limit: count(p.per_customer_limit),
            active: p.active.then(|| "true".into()),
        }
    }

    /// The draft, with the messages keyed by the model's field names (`max_discount_cents`, …)
    /// and the value's message in the unit the form uses.
    fn draft(&self) -> Result<PromoDraft, FieldErrors> {
        let mut e = FieldErrors::new();
        let kind = PromoKind::parse(self.kind.trim());
        let value = match kind {
            Some(PromoKind::Percent) => money::read_percent(&mut e, "value", &self.value),
            _ => money::read(&mut e, "value", &self.value),
        };
        if self.value.trim().is_empty() {
            e.add("value", "This field is required.");
        }
        let input = PromoInput {
            code: self.code.clone(),
            kind: self.kind.clone(),
            value: value.unwrap_or(0),
            max_discount_cents: money::read(&mut e, "max_discount_cents", &self.max_discount),
            min_subtotal_cents: money::read(&mut e, "min_subtotal_cents", &self.min_subtotal),
            starts_at: read_datetime(&mut e, "starts_at", &self.starts_at),
            ends_at: read_datetime(&mut e, "ends_at", &self.ends_at),
            usage_limit: e.whole_number("usage_limit", &self.usage_limit),
            per_customer_limit: e.whole_number("per_customer_limit", &self.per_customer_limit),
            active: self.active.is_some(),
        };
        match PromoDraft::try_from(input) {
            Ok(d) => e.into_result().map(|()| d),
            Err(model) => {
                for (k, msgs) in model.0 {
                    if k == "value" {
                        // The model speaks in minor units and basis points, the form does not;
                        // an unreadable value already has its message.
                        if !e.0.contains_key("value") {
                            e.add(
                                "value",
                                match kind {
                                    Some(PromoKind::Percent) => {
                                        "Enter a percentage from 0.01 to 100."
                                    }
                                    _ => "Enter an amount of at least 0.01.",
                                },
                            );
                        }
                    } else if !e.0.contains_key(&k) {
                        for m in msgs {
                            e.add(&k, m);
                        }
                    }
                }
                Err(e)
            }
        }
    }
}

async fn form_page(
    page: &Page,
    promo: Option<&PromoView>,
    form: Value,
    errors: Value,
    status: StatusCode,
) -> Result<Response, PageError> {
    let settings = Settings::get(&page.ctx);
    let title = promo.map_or_else(
        || "New promo code".to_string(),
        |p| format!("Promo code {}", p.code),
    );
    page.render_status(
        status,
        "admin/promo_codes/form.html",
        &title,
        json!({
            "promo": promo.map(|p| present(p, &settings.currency)),
            "form": form,
            "errors": errors,
            "currency": settings.currency,
        }),
    )
    .await
}

async fn new(page: Page) -> Result<Response, PageError> {
    page.require_role(MANAGERS)?;
    let form = PromoForm {
        kind: "percent".into(),
        active: Some("true".into()),
        ..Default::default()
    };
    form_page(&page, None, json!(form), json!({}), StatusCode::OK).await
}

async fn create(page: Page, Form(f): Form<PromoForm>) -> Result<Response, PageError> {
    page.require_role(MANAGERS)?;
    let result = match f.draft() {
        Ok(d) => promos::create(&page.ctx, d).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(p) => {
            flash(
                &page.session,
                "success",
                format!("Created promo code {}.", p.code),
            )
            .await;
            Ok(Redirect::to("/admin/promo-codes").into_response())
        }
        Err(e) => {
            let errors = json!(form_errors(e)?);
            form_page(
                &page,
                None,
                json!(f),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

async fn edit(page: Page, Path(id): Path<String>) -> Result<Response, PageError> {
    page.require_role(MANAGERS)?;
    let p = PromoView::from(&promos::find(&page.ctx.db, parse_id(&id)?).await?);
    form_page(
        &page,
        Some(&p),
        json!(PromoForm::of(&p)),
        json!({}),
        StatusCode::OK,
    )
    .await
}

async fn update(
    page: Page,
    Path(id): Path<String>,
    Form(f): Form<PromoForm>,
) -> Result<Response, PageError> {
    page.require_role(MANAGERS)?;
    let pid = parse_id(&id)?;
    let current = PromoView::from(&promos::find(&page.ctx.db, pid).await?);
    let result = match f.draft() {
        Ok(d) => promos::update(&page.ctx, pid, d).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(p) => {
            flash(
                &page.session,
                "success",
                format!("Saved promo code {}.", p.code),
            )
            .await;
            Ok(Redirect::to("/admin/promo-codes").into_response())
        }
        Err(e) => {
            let errors = json!(form_errors(e)?);
            form_page(
                &page,
                Some(&current),
                json!(f),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

async fn delete(page: Page, Path(id): Path<String>) -> Result<Response, PageError> {
    page.require_role(MANAGERS)?;
    let pid = parse_id(&id)?;
    let code = promos::find(&page.ctx.db, pid).await?.code;
    promos::delete(&page.ctx, pid).await?;
    flash(
        &page.session,
        "success",
        format!("Deleted promo code {code}."),
    )
    .await;
    Ok(Redirect::to("/admin/promo-codes").into_response())
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/admin/promo-codes", get(index).post(create))
        .add("/admin/promo-codes/new", get(new))
        .add("/admin/promo-codes/{id}", get(edit).post(update))
        .add("/admin/promo-codes/{id}/delete", post(delete))
}
