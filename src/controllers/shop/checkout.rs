//! The checkout page and the shopper's orders: `/checkout`, `/orders`, `/orders/{id}`, its
//! cancel button and the printable invoice. The same model calls as the API.
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
    domain::{account::Address, validation::FieldErrors},
    errors::{AppError, PageError},
    models::{
        actor::Actor,
        addresses::{self, AddressView},
        carts,
        checkout::{self, PlaceOrder},
        invoices,
        orders::{self, Action, OrderFilter},
    },
    settings::Settings,
    views,
    web::{
        html::{flash, form_errors, Page},
        pagination::PageQuery,
    },
};

type PageResult = Result<Response, PageError>;

#[derive(Debug, Deserialize, Default, Clone, serde::Serialize)]
#[serde(default)]
struct CheckoutForm {
    line1: String,
    line2: String,
    city: String,
    postal_code: String,
    country: String,
    phone: String,
    name: String,
    company: String,
    /// "on" when billing is the shipping address (the default).
    billing_same: String,
    billing_name: String,
    billing_company: String,
    billing_line1: String,
    billing_line2: String,
    billing_city: String,
    billing_postal_code: String,
    billing_country: String,
    billing_phone: String,
    save_address: String,
}

impl TryFrom<&CheckoutForm> for PlaceOrder {
    type Error = FieldErrors;

    fn try_from(f: &CheckoutForm) -> Result<Self, FieldErrors> {
        let mut all = FieldErrors::new();
        let shipping = Address::parse_with_recipient(
            &f.name,
            &f.company,
            true,
            &f.line1,
            &f.line2,
            &f.city,
            &f.postal_code,
            &f.country,
            &f.phone,
        )
        .map_err(|e| all.0.extend(e.0))
        .ok();
        let billing = if f.billing_same == "on" {
            None
        } else {
            Address::parse_with_recipient(
                &f.billing_name,
                &f.billing_company,
                true,
                &f.billing_line1,
                &f.billing_line2,
                &f.billing_city,
                &f.billing_postal_code,
                &f.billing_country,
                &f.billing_phone,
            )
            .map_err(|e| {
                for (k, v) in e.0 {
                    all.0.insert(format!("billing_{k}"), v);
                }
            })
            .ok()
        };
        all.into_result()?;
        Ok(Self {
            shipping: shipping.unwrap_or_default(),
            billing,
        })
    }
}

async fn render_checkout(
    page: &Page,
    status: StatusCode,
    form: &CheckoutForm,
    errors: &FieldErrors,
) -> PageResult {
    let user = page.require_user()?;
    let cart = carts::find(&page.ctx.db, &carts::CartKey::User(user)).await?;
    let view = carts::view(&page.ctx, cart.as_ref(), Some(user), vec![]).await?;
    if view.items.is_empty() && status == StatusCode::OK {
        flash(&page.session, "info", "Your cart is empty.").await;
        return Ok(Redirect::to("/cart").into_response());
    }
    let settings = Settings::get(&page.ctx);
    page.render_status(
        status,
        "shop/checkout/show.html",
        "Checkout",
        json!({
            "cart": views::orders::cart(&view), "form": form, "errors": errors,
            "ttl_minutes": settings.checkout.order_ttl_minutes,
            "ship_countries": views::countries::shipping(&settings.checkout.ship_to),
        }),
    )
    .await
}

async fn show(page: Page) -> PageResult {
    let user = page.require_user()?;
    // The saved address is offered; billing defaults to the same.
    let saved = addresses::default_for(&page.ctx.db, user.id).await?;
    let a = saved.as_ref().map(AddressView::from).unwrap_or_default();
    let form = CheckoutForm {
        name: if a.name.is_empty() {
            user.full_name()
        } else {
            a.name
        },
        company: a.company,
        line1: a.line1,
        line2: a.line2,
        city: a.city,
        postal_code: a.postal_code,
        country: if a.country.is_empty() {
            Settings::get(&page.ctx).checkout.default_country.clone()
        } else {
            a.country
        },
        phone: a.phone,
        billing_same: "on".into(),
        save_address: if saved.is_none() {
            "on".into()
        } else {
            String::new()
        },
        ..CheckoutForm::default()
    };
    // A saved address the shop does not ship to is said at once, not after "Place order".
    let mut errors = FieldErrors::new();
    if let Err(AppError::Unprocessable { message, .. }) =
        checkout::check_destination(&Settings::get(&page.ctx), &form.country)
    {
        errors.add("country", message);
    }
    render_checkout(&page, StatusCode::OK, &form, &errors).await
}

async fn place(page: Page, Form(f): Form<CheckoutForm>) -> PageResult {
    let user = page.require_user()?.clone();
    let cmd = match PlaceOrder::try_from(&f) {
        Ok(c) => c,
        Err(e) => return render_checkout(&page, StatusCode::UNPROCESSABLE_ENTITY, &f, &e).await,
    };
    let shipping = cmd.shipping.clone();
    match checkout::place_order(&page.ctx, &user, cmd).await {
        Ok(order) => {
            if f.save_address == "on" {
                addresses::set_default(&page.ctx.db, user.id, shipping).await?;
            }
            flash(
                &page.session,
                "success",
                format!("Thank you! Your order #{} is placed.", order.number),
            )
            .await;
            Ok(Redirect::to(&format!("/orders/{}", order.id)).into_response())
        }
        Err(e) => {
            // Where the order cannot go is a fault of the country chosen: say it there.
            let errors = match e {
                AppError::Unprocessable {
                    code: checkout::SHIPPING_UNAVAILABLE,
                    message,
                } => FieldErrors::single("country", message),
                e => form_errors(e)?,
            };
            render_checkout(&page, StatusCode::UNPROCESSABLE_ENTITY, &f, &errors).await
        }
    }
}

async fn list(
    page: Page,
    OriginalUri(uri): OriginalUri,
    Query(paging): Query<PageQuery>,
) -> PageResult {
    let user = page.require_user()?;
    let paging = paging.parse().unwrap_or_default();
    // The shop's "Your orders" is the shopper's own, whatever their role.
    let (rows, count) = orders::list(
        &page.ctx.db,
        &Actor::user(user).as_shopper(),
        &OrderFilter::default(),
        paging.page,
        paging.page_size,
    )
    .await?;
    let pagination = paging.page_nav(count, &uri)?;
    page.render(
        "shop/orders/index.html",
        "Your orders",
        json!({
            "orders": views::orders::orders(&rows), "count": count, "pagination": pagination,
        }),
    )
    .await
}

/// The shopper's own order; staff are sent to the admin page of it.
async fn own_order(
    page: &Page,
    id: Uuid,
) -> Result<crate::models::_entities::orders::Model, PageError> {
    let user = page.require_user()?;
    let order = orders::find_for(&page.ctx.db, id, &Actor::user(user)).await?;
    if order.user_id != user.id {
        return Err(PageError(crate::errors::AppError::NotFound));
    }
    Ok(order)
}

async fn show_order(page: Page, Path(id): Path<Uuid>) -> PageResult {
    let order = own_order(&page, id).await?;
    let transactions = crate::models::payments::of_order(&page.ctx.db, order.id).await?;
    let view = orders::view(&page.ctx.db, order).await?;
    let can_cancel = view.status == crate::domain::order_status::OrderStatus::Pending;
    let title = format!("Order #{}", view.number);
    page.render(
        "shop/orders/show.html",
        &title,
        json!({
            "order": views::orders::order(&view), "can_cancel": can_cancel,
            "transactions": views::orders::transactions(&transactions),
        }),
    )
    .await
}

async fn cancel(page: Page, Path(id): Path<Uuid>) -> PageResult {
    let user = page.require_user()?;
    match orders::act(&page.ctx, id, Action::Cancel, &Actor::user(user)).await {
        Ok(o) => {
            flash(
                &page.session,
                "success",
                format!("Order #{} is cancelled.", o.number),
            )
            .await
        }
        Err(e) => {
            let errors: Value = json!(form_errors(e)?);
            let message = errors["_form"][0]
                .as_str()
                .unwrap_or("The order could not be cancelled.")
                .to_string();
            flash(&page.session, "error", message).await;
        }
    }
    Ok(Redirect::to(&format!("/orders/{id}")).into_response())
}

/// "Put these items back in my cart" on a cancelled or expired order.
async fn reorder(page: Page, Path(id): Path<Uuid>) -> PageResult {
    let user = page.require_user()?;
    match carts::add_order_again(&page.ctx, user, id).await {
        Ok(done) => {
            if !done.added.is_empty() {
                let n = done.added.len();
                let what = if n == 1 { "item is" } else { "items are" };
                flash(
                    &page.session,
                    "success",
                    format!("{n} {what} back in your cart."),
                )
                .await;
            }
            if !done.not_added.is_empty() {
                let why = done.not_added.join(" ");
                flash(&page.session, "error", format!("Not put back: {why}")).await;
            }
            Ok(Redirect::to("/cart").into_response())
        }
        Err(e) => {
            let message = crate::web::html::error_sentence(e)?;
            flash(&page.session, "error", message).await;
            Ok(Redirect::to(&format!("/orders/{id}")).into_response())
        }
    }
}

async fn invoice(page: Page, Path(id): Path<Uuid>) -> PageResult {
    let user = page.require_user()?;
    let actor = Actor::user(user);
    let order = orders::find_for(&page.ctx.db, id, &actor).await?;
    if !(actor.is_admin() || order.user_id == user.id) {
        return Err(PageError(crate::errors::AppError::NotFound));
    }
    // Staff reading a customer's invoice came from the admin's order page.
    let back = if order.user_id == user.id {
        format!("/orders/{id}")
    } else {
        format!("/admin/orders/{id}")
    };
    let inv = invoices::for_order(&page.ctx.db, &Settings::get(&page.ctx), order).await?;
    Ok(views::orders::invoice_html(&page.ctx, &inv, Some(&back))?.into_response())
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/checkout", get(show).post(place))
        .add("/orders", get(list))
        .add("/orders/{id}", get(show_order))
        .add("/orders/{id}/cancel", post(cancel))
        .add("/orders/{id}/reorder", post(reorder))
        .add("/orders/{id}/invoice", get(invoice))
}
