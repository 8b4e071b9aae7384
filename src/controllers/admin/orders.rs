//! `/admin/orders`: the order list (status filter, search) and the order page with its
//! timeline and the transition buttons. Staff read; admins act. Every button is a form post
//! (303 back without JavaScript); with htmx the order panel is swapped in place.
use axum::{
    extract::{OriginalUri, Path, Query},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use loco_rs::prelude::Routes;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{
    domain::{order_status::OrderStatus, refund::RefundAsk, role::Role},
    errors::{AppError, PageError},
    models::{
        actor::Actor,
        orders::{self, Action, OrderFilter},
        refunds::{self, RefundCommand},
    },
    views,
    web::{
        html::{flash, form_errors, Page},
        pagination::PageQuery,
    },
};

const READERS: &[Role] = &[Role::Staff, Role::Admin];

type PageResult = Result<Response, PageError>;

#[derive(Debug, Deserialize, Default, serde::Serialize)]
#[serde(default)]
struct Filter {
    status: String,
    q: String,
}

async fn index(
    page: Page,
    OriginalUri(uri): OriginalUri,
    Query(filter): Query<Filter>,
    Query(paging): Query<PageQuery>,
) -> PageResult {
    let user = page.require_role(READERS)?;
    let paging = paging.parse().unwrap_or_default();
    let status = filter.status.parse::<OrderStatus>().ok();
    let of = OrderFilter {
        status,
        customer: None,
        q: Some(filter.q.clone()),
    };
    let (rows, count) = orders::list(
        &page.ctx.db,
        &Actor::user(user),
        &of,
        paging.page,
        paging.page_size,
        paging.cursor,
    )
    .await?;
    let counts = orders::count_by_status(&page.ctx.db).await?;
    let statuses: Vec<_> = OrderStatus::ALL
        .iter()
        .map(|s| json!({"value": s.as_str(), "label": views::orders::status_label(*s), "count": counts.get(s.as_str()).copied().unwrap_or(0)}))
        .collect();
    let pagination = paging.page_nav_keyed(count, rows.len(), orders::ends(&rows), &uri)?;
    let export_url = format!(
        "/admin/orders/export.csv?{}",
        form_urlencoded::Serializer::new(String::new())
            .append_pair("status", &filter.status)
            .append_pair("q", &filter.q)
            .finish()
    );
    page.render("admin/orders/index.html", "Orders", json!({
        "export_url": export_url,
        "orders": views::orders::orders(&rows), "count": count, "filter": filter, "statuses": statuses,
        "pagination": pagination,
    }))
    .await
}

/// The buttons an admin gets for an order in `status`: exactly the steps the state machine
/// allows from there (payment is recorded by hand here; providers record it themselves).
fn actions(status: OrderStatus, shipped: bool) -> Vec<&'static str> {
    use crate::domain::order_status::OrderEvent as E;
    [
        (E::Pay, "mark-paid"),
        (E::Ship, "ship"),
        (E::Complete, "complete"),
        (E::Cancel, "cancel"),
        (E::Refund, "refund"),
    ]
    .into_iter()
    .filter(|(e, _)| status.apply(*e).is_ok())
    // A partially refunded order ships once and completes once shipped.
    .filter(|(e, _)| match e {
        E::Ship => !shipped,
        E::Complete => shipped,
        _ => true,
    })
    .map(|(_, a)| a)
    .collect()
}

async fn render_order(
    page: &Page,
    headers: &HeaderMap,
    id: Uuid,
    status: StatusCode,
    errors: &crate::domain::validation::FieldErrors,
    form: &StepForm,
) -> PageResult {
    let user = page.require_role(READERS)?;
    let actor = Actor::user(user);
    let order = orders::find_for(&page.ctx.db, id, &actor).await?;
    let transactions = crate::models::payments::of_order(&page.ctx.db, order.id).await?;
    let refund_list = refunds::of_order(&page.ctx.db, order.id).await?;
    let view = orders::view(&page.ctx.db, order).await?;
    let data = json!({
        "order": views::orders::order(&view),
        "transactions": views::orders::transactions(&transactions), "show_refs": true,
        "actions": if actor.is_admin() { actions(view.status, view.shipped_at.is_some()) } else { vec![] },
        "errors": errors, "show_actor": true, "form": form,
        "refund_list": views::orders::refunds(&refund_list),
        "refundable_display": views::money::format(
            (view.total_cents - view.refunded_cents).max(0),
            &view.currency,
        ),
        "refund_reasons": crate::domain::refund::RefundReason::ALL
            .iter()
            .map(|r| json!({"value": r.as_str(), "label": r.label()}))
            .collect::<Vec<_>>(),
    });
    let template = if Page::is_htmx(headers) {
        "admin/orders/_panel.html"
    } else {
        "admin/orders/show.html"
    };
    page.render_status(status, template, &format!("Order #{}", view.number), data)
        .await
}

async fn show(page: Page, headers: HeaderMap, Path(id): Path<Uuid>) -> PageResult {
    render_order(
        &page,
        &headers,
        id,
        StatusCode::OK,
        &crate::domain::validation::FieldErrors::new(),
        &StepForm::default(),
    )
    .await
}

#[derive(Debug, Deserialize, Serialize, Default)]
#[serde(default)]
struct StepForm {
    carrier: String,
    tracking_number: String,
    restock: String,
    reason: String,
    note: String,
}

async fn step(
    page: Page,
    headers: HeaderMap,
    Path((id, step)): Path<(Uuid, String)>,
    Form(f): Form<StepForm>,
) -> PageResult {
    let user = page.require_role(&[Role::Admin])?;
    let action = match step.as_str() {
        "mark-paid" => Ok(Action::Pay),
        "ship" => Action::ship(Some(&f.carrier), Some(&f.tracking_number)).map_err(AppError::from),
        "complete" => Ok(Action::Complete),
        "cancel" => Ok(Action::Cancel),
        _ => Err(AppError::NotFound),
    };
    let result = match action {
        Ok(a) => orders::act(&page.ctx, id, a, &Actor::user(user)).await,
        Err(e) => Err(e),
    }
    .map(|o| {
        format!(
            "Order #{} is now {}.",
            o.number,
            views::orders::status_label(o.status).to_lowercase()
        )
    });
    answer(&page, &headers, id, result, &f).await
}

/// The answer to an admin's action on the order page: back to the order with `done` said
/// (or the panel again, with htmx); the form again with its messages when it failed.
async fn answer(
    page: &Page,
    headers: &HeaderMap,
    id: Uuid,
    result: Result<String, AppError>,
    f: &StepForm,
) -> PageResult {
    match result {
        Ok(done) if !Page::is_htmx(headers) => {
            flash(&page.session, "success", done).await;
            Ok(Redirect::to(&format!("/admin/orders/{id}")).into_response())
        }
        Ok(_) => {
            render_order(
                page,
                headers,
                id,
                StatusCode::OK,
                &crate::domain::validation::FieldErrors::new(),
                &StepForm::default(),
            )
            .await
        }
        Err(e) => {
            let errors = form_errors(e)?;
            render_order(
                page,
                headers,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                &errors,
                f,
            )
            .await
        }
    }
}

/// Refunds part of a paid order (`mode=part`: a quantity per item, `qty_<variant id>`, and
/// optionally an amount) or everything that is left, with a reason.
async fn refund(
    page: Page,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let user = page.require_role(&[Role::Admin])?;
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let f = StepForm {
        restock: get("restock"),
        reason: get("reason"),
        note: get("note"),
        ..StepForm::default()
    };
    let result = match refund_command(&fields, &get, &f) {
        Ok(cmd) => refunds::refund(&page.ctx, id, cmd, &Actor::user(user))
            .await
            .map(|(r, o)| {
                format!(
                    "Refunded {} of order #{}: credit note {}.",
                    views::money::format(r.amount_cents, &r.currency),
                    o.number,
                    r.credit_note_reference.unwrap_or_default()
                )
            })
            .map_err(|e| match e {
                // The form names the fields its own way.
                AppError::Validation(fields) => AppError::Validation(refund_form_errors(fields)),
                e => e,
            }),
        Err(e) => Err(e),
    };
    answer(&page, &headers, id, result, &f).await
}

/// The refund the admin's form asks for.
fn refund_command(
    fields: &[(String, String)],
    get: &dyn Fn(&str) -> String,
    f: &StepForm,
) -> Result<RefundCommand, AppError> {
    let mut errors = crate::domain::validation::FieldErrors::new();
    let reason = crate::domain::refund::staff_reason(&f.reason, &f.note)
        .map_err(|e| errors.merge(e))
        .ok();
    let mut ask = RefundAsk::default();
    if get("mode") == "part" {
        for (k, v) in fields {
            let Some(variant) = k.strip_prefix("qty_") else {
                continue;
            };
            let v = v.trim();
            if v.is_empty() || v == "0" {
                continue;
            }
            match (variant.parse::<Uuid>(), v.parse::<i64>()) {
                (Ok(variant), Ok(q)) => ask.lines.push((variant, q)),
                _ => errors.add("refund_lines", "Enter whole numbers of items."),
            }
        }
        ask.amount_cents = views::money::read(&mut errors, "amount", &get("amount"));
        if ask.lines.is_empty() && ask.amount_cents.is_none() && errors.is_empty() {
            errors.add(
                "refund_lines",
                "Choose items to refund, or enter an amount.",
            );
        }
    }
    errors.into_result()?;
    Ok(RefundCommand {
        ask,
        restock: f.restock == "on",
        reason,
        cancels: false,
    })
}

/// The refund's field messages under the form's names: lines together, the amount as typed.
fn refund_form_errors(
    fields: crate::domain::validation::FieldErrors,
) -> crate::domain::validation::FieldErrors {
    let mut out = crate::domain::validation::FieldErrors::new();
    for (k, msgs) in fields.0 {
        let to = match k.as_str() {
            "amount_cents" => "amount",
            k if k.starts_with("lines") => "refund_lines",
            k => k,
        };
        for m in msgs {
            out.add(to, m);
        }
    }
    out
}

/// Every order of the current filter as CSV, one row per order, streamed.
async fn export(page: Page, Query(filter): Query<Filter>) -> PageResult {
    let user = page.require_role(READERS)?;
    let of = OrderFilter {
        status: filter.status.parse::<OrderStatus>().ok(),
        customer: None,
        q: Some(filter.q.clone()),
    };
    let chunks = orders::export::csv_chunks(page.ctx.db.clone(), Actor::user(user), of);
    Ok(crate::views::csv::streamed("orders", chunks))
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/admin/orders", get(index))
        .add("/admin/orders/export.csv", get(export))
        .add("/admin/orders/{id}", get(show))
        .add("/admin/orders/{id}/refund", post(refund))
        .add("/admin/orders/{id}/{step}", post(step))
}
