//! `/admin/shipping`: shipping zones (a name and countries) and their methods (price, free-from
//! threshold, order range, weight limit, carrier, delivery time). Admins only; the rules are
//! `domain::shipping`'s, the same as the API's.
use axum::{
    extract::{Path, Query},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    Form,
};
use loco_rs::prelude::Routes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    domain::{
        role::Role,
        shipping::{delivery_days, MethodInput, ZoneDraft},
        validation::FieldErrors,
    },
    errors::{AppError, PageError},
    models::shipping::{
        methods::{self, MethodView},
        zones::{self, ZoneView},
    },
    settings::Settings,
    views::money,
    web::html::{flash, form_errors, Page},
};

const ADMIN: &[Role] = &[Role::Admin];

type PageResult = Result<Response, PageError>;

fn parse_id(id: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(id).map_err(|_| PageError(AppError::NotFound))
}

// ---- zones -----------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct ZoneForm {
    name: String,
    /// ISO codes separated by commas or spaces: "DE, AT, CH".
    countries: String,
}

impl ZoneForm {
    fn of(z: &ZoneView) -> Self {
        Self {
            name: z.name.clone(),
            countries: z.countries.join(", "),
        }
    }

    fn draft(&self) -> Result<ZoneDraft, FieldErrors> {
        let codes: Vec<String> = self
            .countries
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        ZoneDraft::parse(&self.name, &codes)
    }
}

/// A method as the pages show it: amounts and delivery time for people.
fn present_method(m: &MethodView, currency: &str) -> Value {
    let amount = |c: Option<i64>| c.map(|c| money::format(c, currency));
    let mut v = json!(m);
    v["price_display"] = json!(money::format(m.price_cents, currency));
    v["free_from_display"] = json!(amount(m.free_from_cents));
    v["range_display"] = json!(match (m.min_subtotal_cents, m.max_subtotal_cents) {
        (None, None) => String::new(),
        (Some(a), None) => format!("from {}", money::format(a, currency)),
        (None, Some(b)) => format!("up to {}", money::format(b, currency)),
        (Some(a), Some(b)) => format!(
            "{} to {}",
            money::format(a, currency),
            money::format(b, currency)
        ),
    });
    v["days_display"] = json!(delivery_days(m.min_days, m.max_days));
    v
}

async fn index_page(page: &Page, refused: Option<(ZoneForm, FieldErrors)>) -> PageResult {
    page.require_role(ADMIN)?;
    let settings = Settings::get(&page.ctx);
    let all_zones = zones::all(&page.ctx.db).await?;
    let all_methods = methods::all(&page.ctx.db).await?;
    let list: Vec<Value> = all_zones
        .iter()
        .map(|z| {
            let mut v = json!(z);
            v["methods"] = all_methods
                .iter()
                .filter(|m| m.zone_id == z.id)
                .map(|m| present_method(m, &settings.currency))
                .collect();
            v
        })
        .collect();
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let (form, errors) = refused.unwrap_or_default();
    page.render_status(
        status,
        "admin/shipping/index.html",
        "Shipping",
        json!({
            "zones": list, "form": form, "errors": errors,
            "flat_fee": money::format(settings.checkout.shipping_fee_cents, &settings.currency),
            "flat_free_from": settings.checkout.free_shipping_from_cents
                .map(|c| money::format(c, &settings.currency)),
        }),
    )
    .await
}

async fn index(page: Page) -> PageResult {
    index_page(&page, None).await
}

async fn create_zone(page: Page, Form(f): Form<ZoneForm>) -> PageResult {
    page.require_role(ADMIN)?;
    let result = match f.draft() {
        Ok(d) => zones::create(&page.ctx.db, d).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(z) => {
            flash(
                &page.session,
                "success",
                format!("Added the zone {}. Now give it a shipping method.", z.name),
            )
            .await;
            Ok(Redirect::to(&format!("/admin/shipping/methods/new?zone={}", z.id)).into_response())
        }
        Err(e) => {
            let errors = form_errors(e)?;
            index_page(&page, Some((f, errors))).await
        }
    }
}

async fn zone_page(
    page: &Page,
    zone: &ZoneView,
    form: &ZoneForm,
    errors: &FieldErrors,
    status: StatusCode,
) -> PageResult {
    page.render_status(
        status,
        "admin/shipping/zone.html",
        &format!("Shipping zone {}", zone.name),
        json!({ "zone": zone, "form": form, "errors": errors }),
    )
    .await
}

async fn edit_zone(page: Page, Path(id): Path<String>) -> PageResult {
    page.require_role(ADMIN)?;
    let zone = zones::get(&page.ctx.db, parse_id(&id)?).await?;
    let form = ZoneForm::of(&zone);
    zone_page(&page, &zone, &form, &FieldErrors::new(), StatusCode::OK).await
}

async fn update_zone(page: Page, Path(id): Path<String>, Form(f): Form<ZoneForm>) -> PageResult {
    page.require_role(ADMIN)?;
    let pid = parse_id(&id)?;
    let zone = zones::get(&page.ctx.db, pid).await?;
    let result = match f.draft() {
        Ok(d) => zones::update(&page.ctx.db, pid, d).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(z) => {
            flash(
                &page.session,
                "success",
                format!("Saved the zone {}.", z.name),
            )
            .await;
            Ok(Redirect::to("/admin/shipping").into_response())
        }
        Err(e) => {
            let errors = form_errors(e)?;
            zone_page(&page, &zone, &f, &errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

async fn delete_zone(page: Page, Path(id): Path<String>) -> PageResult {
    page.require_role(ADMIN)?;
    zones::delete(&page.ctx.db, parse_id(&id)?).await?;
    flash(
        &page.session,
        "success",
        "Deleted the zone and its methods.",
    )
    .await;
    Ok(Redirect::to("/admin/shipping").into_response())
}

// ---- methods ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct MethodForm {
    zone: String,
    name: String,
    carrier: String,
    /// Amounts as typed: "4.95".
    price: String,
    free_from: String,
    min_subtotal: String,
    max_subtotal: String,
    max_weight_grams: String,
    min_days: String,
    max_days: String,
    /// An unchecked checkbox sends nothing.
    active: Option<String>,
}

impl MethodForm {
    fn of(m: &MethodView) -> Self {
        let cents = |c: Option<i64>| c.map(money::plain).unwrap_or_default();
        let count = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        Self {
            zone: m.zone_id.to_string(),
            name: m.name.clone(),
            carrier: m.carrier.clone(),
            price: money::plain(m.price_cents),
            free_from: cents(m.free_from_cents),
            min_subtotal: cents(m.min_subtotal_cents),
            max_subtotal: cents(m.max_subtotal_cents),
            max_weight_grams: count(m.max_weight_grams),
            min_days: count(m.min_days.map(i64::from)),
            max_days: count(m.max_days.map(i64::from)),
            active: m.active.then(|| "true".into()),
        }
    }

    /// The zone and the checked method, with the messages keyed by the model's field names
    /// and the amounts' messages in the unit the form uses.
    fn draft(&self) -> Result<(Uuid, crate::domain::shipping::MethodDraft), FieldErrors> {
        let mut e = FieldErrors::new();
        let zone = Uuid::parse_str(self.zone.trim()).ok();
        if zone.is_none() {
            e.add("zone_id", "Choose a zone.");
        }
        if self.price.trim().is_empty() {
            e.add("price_cents", "This field is required.");
        }
        let input = MethodInput {
            name: self.name.clone(),
            carrier: self.carrier.clone(),
            price_cents: money::read(&mut e, "price_cents", &self.price).unwrap_or(0),
            free_from_cents: money::read(&mut e, "free_from_cents", &self.free_from),
            min_subtotal_cents: money::read(&mut e, "min_subtotal_cents", &self.min_subtotal),
            max_subtotal_cents: money::read(&mut e, "max_subtotal_cents", &self.max_subtotal),
            max_weight_grams: e.whole_number("max_weight_grams", &self.max_weight_grams),
            min_days: e.whole_number("min_days", &self.min_days),
            max_days: e.whole_number("max_days", &self.max_days),
            active: self.active.is_some(),
        };
        match input.parse() {
            Ok(d) => e.into_result().map(|()| (zone.unwrap_or_default(), d)),
            Err(model) => {
                for (k, msgs) in model.0 {
                    if e.0.contains_key(&k) {
                        continue;
                    }
                    if k.ends_with("_cents") {
                        // The model speaks in minor units, the form in the currency.
                        e.add(&k, "Enter an amount from 0 to 10,000,000.");
                    } else {
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

async fn method_page(
    page: &Page,
    method: Option<&MethodView>,
    form: &MethodForm,
    errors: &FieldErrors,
    status: StatusCode,
) -> PageResult {
    let settings = Settings::get(&page.ctx);
    let all_zones = zones::all(&page.ctx.db).await?;
    let options: Vec<Value> = all_zones
        .iter()
        .map(|z| json!({"value": z.id, "label": z.name}))
        .collect();
    let title = method.map_or_else(
        || "New shipping method".to_string(),
        |m| format!("Shipping method {}", m.name),
    );
    page.render_status(
        status,
        "admin/shipping/method.html",
        &title,
        json!({
            "method": method, "form": form, "errors": errors, "zones": options,
            "currency": settings.currency,
        }),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
struct NewMethodQuery {
    #[serde(default)]
    zone: String,
}

async fn new_method(page: Page, Query(q): Query<NewMethodQuery>) -> PageResult {
    page.require_role(ADMIN)?;
    let form = MethodForm {
        zone: q.zone,
        active: Some("true".into()),
        ..MethodForm::default()
    };
    method_page(&page, None, &form, &FieldErrors::new(), StatusCode::OK).await
}

async fn create_method(page: Page, Form(f): Form<MethodForm>) -> PageResult {
    page.require_role(ADMIN)?;
    let result = match f.draft() {
        Ok((zone, d)) => methods::create(&page.ctx.db, zone, d).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(m) => {
            flash(&page.session, "success", format!("Added {}.", m.name)).await;
            Ok(Redirect::to("/admin/shipping").into_response())
        }
        Err(e) => {
            let errors = form_errors(e)?;
            method_page(&page, None, &f, &errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

async fn edit_method(page: Page, Path(id): Path<String>) -> PageResult {
    page.require_role(ADMIN)?;
    let m = methods::get(&page.ctx.db, parse_id(&id)?).await?;
    let form = MethodForm::of(&m);
    method_page(&page, Some(&m), &form, &FieldErrors::new(), StatusCode::OK).await
}

async fn update_method(
    page: Page,
    Path(id): Path<String>,
    Form(f): Form<MethodForm>,
) -> PageResult {
    page.require_role(ADMIN)?;
    let pid = parse_id(&id)?;
    let current = methods::get(&page.ctx.db, pid).await?;
    let result = match f.draft() {
        Ok((zone, d)) => methods::update(&page.ctx.db, pid, zone, d).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(m) => {
            flash(&page.session, "success", format!("Saved {}.", m.name)).await;
            Ok(Redirect::to("/admin/shipping").into_response())
        }
        Err(e) => {
            let errors = form_errors(e)?;
            method_page(
                &page,
                Some(&current),
                &f,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

async fn delete_method(page: Page, Path(id): Path<String>) -> PageResult {
    page.require_role(ADMIN)?;
    methods::delete(&page.ctx.db, parse_id(&id)?).await?;
    flash(&page.session, "success", "Deleted the shipping method.").await;
    Ok(Redirect::to("/admin/shipping").into_response())
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/admin/shipping", get(index))
        .add("/admin/shipping/zones", post(create_zone))
        .add(
            "/admin/shipping/zones/{id}",
            get(edit_zone).post(update_zone),
        )
        .add("/admin/shipping/zones/{id}/delete", post(delete_zone))
        .add("/admin/shipping/methods", post(create_method))
        .add("/admin/shipping/methods/new", get(new_method))
        .add(
            "/admin/shipping/methods/{id}",
            get(edit_method).post(update_method),
        )
        .add("/admin/shipping/methods/{id}/delete", post(delete_method))
}
