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
    domain::{account::Address, email::Email, validation::FieldErrors},
    errors::{AppError, PageError},
    models::{
        accounts::addresses::{self, BookAddress},
        actor::Actor,
        carts,
        checkout::{self, Buyer, PlaceOrder},
        invoices,
        orders::{self, Action, OrderFilter},
    },
    settings::Settings,
    views,
    web::{
        extract::ClientId,
        html::{flash, form_errors, Page},
        pagination::PageQuery,
    },
};

type PageResult = Result<Response, PageError>;

#[derive(Debug, Deserialize, Default, Clone, serde::Serialize)]
#[serde(default)]
struct CheckoutForm {
    /// A guest's e-mail address (signed-in shoppers' orders go to their account's).
    email: String,
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
    /// An address of the book (its id) to deliver to; empty or "new": the fields above.
    ship_to: String,
    /// "same", an address of the book, or "new" (the billing fields); empty: `billing_same`.
    bill_to: String,
    /// The id of the shipping method chosen.
    shipping_method: String,
    /// "shipping": only show the delivery options for the address chosen (the form's "Update
    /// delivery options" button, and htmx when the country or address changes).
    update: String,
}

/// A choice of the address book's radio buttons: the saved address it names, if any.
fn saved_choice(choice: &str) -> Option<&str> {
    (!matches!(choice, "" | "new" | "same")).then_some(choice)
}

impl TryFrom<&CheckoutForm> for PlaceOrder {
    type Error = FieldErrors;

    fn try_from(f: &CheckoutForm) -> Result<Self, FieldErrors> {
        let mut all = FieldErrors::new();
        let shipping = if saved_choice(&f.ship_to).is_some() {
            // Taken from the book by `command`.
            Ok(Address::default())
        } else {
            Address::parse_with_recipient(
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
        }
        .map_err(|e| all.0.extend(e.0))
        .ok();
        let billing = if f.bill_to == "same"
            || saved_choice(&f.bill_to).is_some()
            || (f.bill_to.is_empty() && f.billing_same == "on")
        {
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
        let shipping_method = match f.shipping_method.trim() {
            "" => None,
            id => Uuid::parse_str(id)
                .map_err(|_| all.add("shipping_method_id", "Choose a shipping method."))
                .ok(),
        };
        all.into_result()?;
        Ok(Self {
            shipping: shipping.unwrap_or_default(),
            billing,
            shipping_method,
        })
    }
}

/// The order the form asks for, with the address book's choices read from the database.
async fn command(page: &Page, user_id: i32, f: &CheckoutForm) -> Result<PlaceOrder, AppError> {
    let typed = PlaceOrder::try_from(f);
    let mut errors = FieldErrors::new();
    let mut pick = async |choice: &str, field: &str| -> Result<Option<Address>, AppError> {
        let Some(id) = saved_choice(choice) else {
            return Ok(None);
        };
        let Ok(pid) = Uuid::parse_str(id) else {
            errors.add(field, "This is not an address of your address book.");
            return Ok(None);
        };
        match addresses::resolve(&page.ctx.db, user_id, pid, field).await {
            Ok(a) => Ok(Some(a)),
            Err(AppError::Validation(e)) => {
                errors.merge(e);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    };
    let ship = pick(&f.ship_to, "ship_to").await?;
    let bill = pick(&f.bill_to, "bill_to").await?;
    match typed {
        Ok(mut cmd) => {
            errors.into_result()?;
            if let Some(a) = ship {
                cmd.shipping = a;
            }
            if bill.is_some() {
                cmd.billing = bill;
            }
            Ok(cmd)
        }
        Err(mut e) => {
            e.merge(errors);
            Err(e.into())
        }
    }
}

async fn render_checkout(
    page: &Page,
    status: StatusCode,
    form: &CheckoutForm,
    errors: &FieldErrors,
) -> PageResult {
    let user = page.user.as_ref();
    let settings = Settings::get(&page.ctx);
    let book: Vec<BookAddress> = match user {
        Some(u) => addresses::list(&page.ctx.db, u.id)
            .await?
            .iter()
            .map(BookAddress::from)
            .collect(),
        None => Vec::new(),
    };
    // Tax and delivery options are those of where the form says the order goes.
    let typed = form.country.trim().to_ascii_uppercase();
    let country = match saved_choice(&form.ship_to) {
        Some(id) => book
            .iter()
            .find(|a| a.id.to_string() == id)
            .map(|a| a.address.country.clone()),
        None => crate::domain::countries::name(&typed).map(|_| typed),
    };
    let to = carts::Destination {
        country,
        method: Uuid::parse_str(form.shipping_method.trim()).ok(),
    };
    let cart = page.cart().await?;
    let view = carts::view_for(&page.ctx, cart.as_ref(), user, vec![], to).await?;
    if view.items.is_empty() && status == StatusCode::OK {
        flash(&page.session, "info", "Your cart is empty.").await;
        return Ok(Redirect::to("/cart").into_response());
    }
    page.render_status(
        status,
        "shop/checkout/show.html",
        "Checkout",
        json!({
            "cart": views::orders::cart(&view), "form": form, "errors": errors, "book": book,
            "guest": user.is_none(),
            "ttl_minutes": settings.checkout.order_ttl_minutes,
            "ship_countries": views::countries::shipping(&settings.checkout.ship_to),
        }),
    )
    .await
}

async fn show(page: Page) -> PageResult {
    let settings = Settings::get(&page.ctx);
    let Some(user) = page.user.as_ref() else {
        // A guest checks out with an e-mail address, or logs in from the page first.
        let form = CheckoutForm {
            country: settings.checkout.default_country.clone(),
            billing_same: "on".into(),
            ..CheckoutForm::default()
        };
        return render_checkout(&page, StatusCode::OK, &form, &FieldErrors::new()).await;
    };
    // The default addresses of the book are chosen; billing is the delivery address unless the
    // book says otherwise. Without a book, the fields are offered and saved.
    let ship = addresses::default_for(&page.ctx.db, user.id).await?;
    let bill = addresses::default_billing_for(&page.ctx.db, user.id).await?;
    let form = CheckoutForm {
        name: user.full_name(),
        country: settings.checkout.default_country.clone(),
        billing_same: "on".into(),
        save_address: if ship.is_none() {
            "on".into()
        } else {
            String::new()
        },
        ship_to: ship.as_ref().map(|a| a.pid.to_string()).unwrap_or_default(),
        bill_to: match (&ship, &bill) {
            (Some(s), Some(b)) if s.id != b.id => b.pid.to_string(),
            (Some(_), _) => "same".into(),
            _ => String::new(),
        },
        ..CheckoutForm::default()
    };
    // A saved address the shop does not ship to is said at once, not after "Place order".
    let mut errors = FieldErrors::new();
    if let Some(a) = &ship {
        if let Err(AppError::Unprocessable { message, .. }) =
            checkout::check_destination(&settings, &a.country)
        {
            errors.add("ship_to", message);
        }
    }
    render_checkout(&page, StatusCode::OK, &form, &errors).await
}

async fn place(page: Page, ClientId(client): ClientId, Form(f): Form<CheckoutForm>) -> PageResult {
    if f.update == "shipping" {
        return render_checkout(&page, StatusCode::OK, &f, &FieldErrors::new()).await;
    }
    let Some(user) = page.user.clone() else {
        return place_as_guest(&page, &client, &f).await;
    };
    let cmd = match command(&page, user.id, &f).await {
        Ok(c) => c,
        Err(e) => {
            let errors = form_errors(e)?;
            return render_checkout(&page, StatusCode::UNPROCESSABLE_ENTITY, &f, &errors).await;
        }
    };
    let shipping = cmd.shipping.clone();
    match checkout::place_order(&page.ctx, &user, cmd).await {
        Ok(order) => {
            // The order is placed whether or not the book has room for one more address.
            if f.save_address == "on" && saved_choice(&f.ship_to).is_none() {
                if let Err(e) = addresses::remember(&page.ctx.db, user.id, shipping).await {
                    tracing::info!(error = %e, "a checkout address was not saved");
                }
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
            let errors = checkout_errors(&f, e)?;
            render_checkout(&page, StatusCode::UNPROCESSABLE_ENTITY, &f, &errors).await
        }
    }
}

/// Where an order cannot go is a fault of the country chosen: said there.
fn checkout_errors(f: &CheckoutForm, e: AppError) -> Result<FieldErrors, PageError> {
    Ok(match e {
        AppError::Unprocessable {
            code: checkout::SHIPPING_UNAVAILABLE,
            message,
        } if saved_choice(&f.ship_to).is_some() => FieldErrors::single("ship_to", message),
        AppError::Unprocessable {
            code: checkout::SHIPPING_UNAVAILABLE,
            message,
        } => FieldErrors::single("country", message),
        e => form_errors(e)?,
    })
}

/// A guest's order: the session's cart, the typed addresses and an e-mail address. The order
/// opens in this session at once, and from the confirmation mail's link anywhere.
async fn place_as_guest(page: &Page, client: &str, f: &CheckoutForm) -> PageResult {
    let mut typed = CheckoutForm {
        ship_to: String::new(),
        bill_to: String::new(),
        save_address: String::new(),
        ..f.clone()
    };
    if typed.billing_same.is_empty() {
        typed.bill_to = "new".into();
    }
    let email = Email::parse(&f.email);
    let cmd = PlaceOrder::try_from(&typed);
    let (email, cmd) = match (email, cmd) {
        (Ok(m), Ok(c)) => (m, c),
        (m, c) => {
            let mut errors = c.err().unwrap_or_default();
            if let Err(msg) = m {
                errors.add("email", msg);
            }
            return render_checkout(page, StatusCode::UNPROCESSABLE_ENTITY, f, &errors).await;
        }
    };
    let Some(token) = page.cart_token().await? else {
        flash(&page.session, "info", "Your cart is empty.").await;
        return Ok(Redirect::to("/cart").into_response());
    };
    let buyer = Buyer::Guest {
        cart_token: &token,
        email: email.as_str(),
        client,
    };
    match checkout::place(&page.ctx, buyer, cmd).await {
        Ok(placed) => {
            page.grant_guest_order(placed.order.id).await?;
            flash(
                &page.session,
                "success",
                format!(
                    "Thank you! Your order #{} is placed. We sent its link to {}.",
                    placed.order.number,
                    email.as_str()
                ),
            )
            .await;
            Ok(Redirect::to(&format!("/orders/{}", placed.order.id)).into_response())
        }
        Err(e) => {
            let errors = checkout_errors(f, e)?;
            render_checkout(page, StatusCode::UNPROCESSABLE_ENTITY, f, &errors).await
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
        paging.cursor,
    )
    .await?;
    let pagination = paging.page_nav_keyed(count, rows.len(), orders::ends(&rows), &uri)?;
    page.render(
        "shop/orders/index.html",
        "Your orders",
        json!({
            "orders": views::orders::orders(&rows), "count": count, "pagination": pagination,
        }),
    )
    .await
}

/// The shopper's own order (a guest's through its link); staff find only their own here.
async fn own_order(
    page: &Page,
    id: Uuid,
) -> Result<crate::models::_entities::orders::Model, PageError> {
    let actor = page.order_actor(id).await?;
    let order = orders::find_for(&page.ctx.db, id, &actor).await?;
    if !actor.owns(&order) {
        return Err(PageError(crate::errors::AppError::NotFound));
    }
    Ok(order)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct GuestLink {
    token: String,
}

/// The link of a guest's confirmation mail: opens the order in this session, then shows it
/// at its plain address (the token does not stay in the address bar or in a referrer).
async fn guest_link(page: Page, Path(id): Path<Uuid>, Query(q): Query<GuestLink>) -> PageResult {
    orders::guest_access(&page.ctx.db, id, &q.token).await?;
    page.grant_guest_order(id).await?;
    Ok(Redirect::to(&format!("/orders/{id}")).into_response())
}

async fn show_order(page: Page, Path(id): Path<Uuid>) -> PageResult {
    // Taken before the order is read: the page's live stream leaves out moves from before it
    // that the page already shows.
    let live_since = chrono::Utc::now().timestamp_millis();
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
            "can_reorder": page.user.is_some(),
            "transactions": views::orders::transactions(&transactions),
            "live_since": live_since,
        }),
    )
    .await
}

async fn cancel(page: Page, Path(id): Path<Uuid>) -> PageResult {
    let actor = page.order_actor(id).await?;
    match orders::act(&page.ctx, id, Action::Cancel, &actor).await {
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
    let actor = page.order_actor(id).await?;
    let order = orders::find_for(&page.ctx.db, id, &actor).await?;
    if !(actor.is_admin() || actor.owns(&order)) {
        return Err(PageError(crate::errors::AppError::NotFound));
    }
    // Staff reading a customer's invoice came from the admin's order page.
    let back = if actor.owns(&order) {
        format!("/orders/{id}")
    } else {
        format!("/admin/orders/{id}")
    };
    let inv = invoices::for_order(&page.ctx.db, &Settings::get(&page.ctx), order).await?;
    Ok(views::orders::invoice_html(&page.ctx, &inv, Some(&back))?.into_response())
}

/// A printable credit note of the order, for its owner (or the guest holding its link) and
/// staff, like the invoice.
async fn credit_note(page: Page, Path((id, number)): Path<(Uuid, String)>) -> PageResult {
    let number: i64 = number
        .parse()
        .map_err(|_| PageError(crate::errors::AppError::NotFound))?;
    let actor = page.order_actor(id).await?;
    let order = orders::find_for(&page.ctx.db, id, &actor).await?;
    if !(actor.is_admin() || actor.owns(&order)) {
        return Err(PageError(crate::errors::AppError::NotFound));
    }
    let back = if actor.owns(&order) {
        format!("/orders/{id}")
    } else {
        format!("/admin/orders/{id}")
    };
    let note =
        crate::models::refunds::credit_note(&page.ctx.db, &Settings::get(&page.ctx), order, number)
            .await?;
    Ok(views::orders::credit_note_html(&page.ctx, &note, Some(&back))?.into_response())
}

#[must_use]
pub fn routes() -> Routes {
    use axum::routing::{get, post};
    Routes::new()
        .add("/checkout", get(show).post(place))
        .add("/orders", get(list))
        .add("/orders/{id}", get(show_order))
        .add("/orders/{id}/access", get(guest_link))
        .add("/orders/{id}/cancel", post(cancel))
        .add("/orders/{id}/reorder", post(reorder))
        .add("/orders/{id}/invoice", get(invoice))
        .add("/orders/{id}/credit-notes/{number}", get(credit_note))
}
