//! A customer's personal data (issue 20): everything the shop holds on them as one document
//! (`GET /me/export`, the account page's download), and closing the account (`DELETE /me`,
//! "close my account").
//!
//! Closing erases what is only about the person — profile, address book, wishlist, cart,
//! reviews, tokens, sessions, the mails kept in the outbox — and anonymises the account row,
//! which stays (inactive, signing in impossible) because orders point at it, and the rows that
//! named the customer as the one who acted (timelines, stock ledger). Orders and their
//! invoices and credit notes stay for the books, as the law requires, with the billing address
//! an invoice must name and without what it need not: the e-mail, the delivery address (the
//! country is kept for tax reports) and phone numbers. An account with an order that is paid
//! and not yet shipped is not closed (the goods still need their address); unpaid orders are
//! cancelled first, releasing their stock.
use chrono::Utc;
use loco_rs::app::AppContext;
use sea_orm::{
    sea_query::{Expr, Query},
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::{
    addresses::{self, BookAddress},
    end_other_sessions, passwords,
    users::{self, Model, Profile},
    Keep,
};
use crate::{
    domain::{order_status::OrderStatus, paging::Cursor},
    errors::{AppError, AppResult},
    models::{
        _entities::{
            addresses as address_rows, cart_items, carts, mail_outbox, order_events, orders,
            refresh_tokens, stock_ledger, user_tokens, webhook_deliveries, wishlist_items,
        },
        actor::Actor,
        audit,
        catalogue::views::ProductView,
        idempotency::Produced,
        invoices::{self, InvoiceFilter, InvoiceSummary},
        orders::{self as order_model, Action, OrderView},
        reviews::{self, ReviewView},
        wishlist,
    },
};

/// Everything the shop holds on one customer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonalData {
    pub exported_at: String,
    pub profile: Profile,
    pub addresses: Vec<BookAddress>,
    /// Every order, newest first, as the order pages show them.
    pub orders: Vec<OrderView>,
    pub invoices: Vec<InvoiceSummary>,
    pub reviews: Vec<ReviewView>,
    pub wishlist: Vec<ProductView>,
}

/// How many orders are read per query while exporting (bounded memory per step).
const ORDER_BATCH: u64 = 200;

/// # Errors
/// Database errors.
pub async fn export(ctx: &AppContext, user: &Model) -> AppResult<PersonalData> {
    let db = &ctx.db;
    // As a shopper: staff and admins read every order, but their data is their own orders.
    let actor = Actor::user(user).as_shopper();
    let mut all_orders = Vec::new();
    let mut page = 1;
    loop {
        // Each batch starts after the last order read (keyset), not at an offset.
        let after = all_orders
            .last()
            .map(|o: &order_model::OrderView| Cursor::After(o.id));
        let (batch, count) = order_model::list(
            db,
            &actor,
            &order_model::OrderFilter::default(),
            page,
            ORDER_BATCH,
            after,
        )
        .await?;
        let done = batch.is_empty() || page * ORDER_BATCH >= count;
        all_orders.extend(batch);
        if done {
            break;
        }
        page += 1;
    }
    let mut all_invoices = Vec::new();
    let mut page = 1;
    loop {
        let (batch, count) =
            invoices::list(db, &actor, &InvoiceFilter::default(), page, ORDER_BATCH).await?;
        let done = batch.is_empty() || page * ORDER_BATCH >= count;
        all_invoices.extend(batch);
        if done {
            break;
        }
        page += 1;
    }
    Ok(PersonalData {
        exported_at: crate::views::rfc3339(&Utc::now().fixed_offset()),
        profile: Profile::from(user),
        addresses: addresses::list(db, user.id)
            .await?
            .iter()
            .map(BookAddress::from)
            .collect(),
        orders: all_orders,
        invoices: all_invoices,
        reviews: reviews::by_user(db, user.id).await?,
        wishlist: wishlist::list(ctx, user).await?,
    })
}

/// The address a closed account keeps: unique, and one no mail can reach.
#[must_use]
pub fn closed_address(pid: Uuid) -> String {
    format!("closed-{}@closed.invalid", pid.simple())
}

/// Renames what `user` did in the order timelines and the stock ledger to their closed label:
/// the rows keep that someone of that role acted, not who.
///
/// # Errors
/// Database errors.
pub async fn relabel_actor<C: sea_orm::ConnectionTrait>(db: &C, user: &Model) -> AppResult<()> {
    let label = Actor::user(user).label;
    let anonymous = closed_label(&user.role);
    let mut events = order_events::Entity::update_many()
        .col_expr(order_events::Column::Actor, Expr::value(anonymous.clone()))
        .filter(order_events::Column::Actor.eq(&label));
    let mut ledger = stock_ledger::Entity::update_many()
        .col_expr(stock_ledger::Column::Actor, Expr::value(anonymous))
        .filter(stock_ledger::Column::Actor.eq(&label));
    if !user.role().is_staff() {
        // A customer acts on their own orders only: those rows, found by the order index.
        let theirs = Query::select()
            .column(orders::Column::Id)
            .from(orders::Entity)
            .and_where(orders::Column::UserId.eq(user.id))
            .to_owned();
        events = events.filter(order_events::Column::OrderId.in_subquery(theirs.clone()));
        ledger = ledger.filter(stock_ledger::Column::OrderId.in_subquery(theirs));
    }
    // Staff act on everyone's orders and on stock without an order: every row they wrote (a
    // rare scan, once per departure).
    events.exec(db).await?;
    ledger.exec(db).await?;
    Ok(())
}

/// The webhook deliveries already made of events about `orders` keep what the orders keep:
/// the log shows what was sent, but an admin reading it or redelivering an old event must not
/// bring the erased person back. Deliveries still to go out are left as they are (the event
/// happened while the account was open, and the receiver is owed it).
async fn scrub_webhook_log<C: sea_orm::ConnectionTrait>(
    db: &C,
    orders: &[orders::Model],
    user: &Model,
    erased: &str,
) -> AppResult<()> {
    use sea_orm::Condition;
    let person = Person {
        email: user.email.to_lowercase(),
        label: Actor::user(user).label,
        erased: erased.to_string(),
        anonymous: closed_label(&user.role),
    };
    for chunk in orders.chunks(100) {
        // Payloads name the order by its id; ids are hex and hyphens, safe inside LIKE.
        let mentions = chunk.iter().fold(Condition::any(), |c, o| {
            c.add(webhook_deliveries::Column::Payload.like(format!("%\"{}\"%", o.pid)))
        });
        let rows = webhook_deliveries::Entity::find()
            .filter(
                webhook_deliveries::Column::Status
                    .ne(crate::models::webhooks::Status::Pending.as_str()),
            )
            .filter(mentions)
            .all(db)
            .await?;
        for d in rows {
            let scrubbed = scrub_payload(&d.payload, &person);
            if scrubbed != d.payload {
                let mut a: webhook_deliveries::ActiveModel = d.into();
                a.payload = Set(scrubbed);
                a.update(db).await?;
            }
        }
    }
    Ok(())
}

/// Who is taken out of a sent event, and what stands in their place.
struct Person {
    /// Lower-cased.
    email: String,
    /// How the timelines named them (see [`closed_label`]).
    label: String,
    erased: String,
    anonymous: String,
}

/// An event's JSON with the person taken out as [`scrub_address`] takes them out of orders,
/// their timeline label replaced as in the order's own timeline, and their address replaced
/// wherever else it appears.
fn scrub_payload(payload: &str, person: &Person) -> String {
    fn walk(v: &mut serde_json::Value, p: &Person) {
        match v {
            serde_json::Value::String(s) if *s == p.label => s.clone_from(&p.anonymous),
            serde_json::Value::String(s) if s.to_lowercase().contains(&p.email) => {
                *s = s.to_lowercase().replace(&p.email, &p.erased);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| walk(i, p)),
            serde_json::Value::Object(fields) => {
                for (key, value) in fields.iter_mut() {
                    let keep_lines = match key.as_str() {
                        "billing_address" => Some(true),
                        "shipping_address" => Some(false),
                        _ => None,
                    };
                    match (keep_lines, &*value) {
                        (Some(keep), serde_json::Value::Object(_)) => {
                            let scrubbed = scrub_address(&value.to_string(), keep);
                            *value = serde_json::from_str(&scrubbed).unwrap_or_default();
                        }
                        _ => walk(value, p),
                    }
                }
            }
            _ => {}
        }
    }
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(payload) else {
        return payload.to_string();
    };
    walk(&mut v, person);
    v.to_string()
}

/// What an order keeps of an address once its customer is gone: the billing address without
/// the phone (an invoice names the buyer and their address), the delivery address's country.
fn scrub_address(json: &str, keep_lines: bool) -> String {
    let Ok(serde_json::Value::Object(mut a)) = serde_json::from_str::<serde_json::Value>(json)
    else {
        return json.to_string();
    };
    if keep_lines {
        a.remove("phone");
        serde_json::Value::Object(a).to_string()
    } else {
        serde_json::json!({ "country": a.get("country").cloned().unwrap_or_default() }).to_string()
    }
}

/// Closes the caller's account after checking the password.
///
/// # Errors
/// A field message for a wrong password (tries throttled like logins); `Conflict` for staff
/// accounts (an admin closes those) and while an order is paid but not shipped.
pub async fn close(ctx: &AppContext, user: &Model, password: &str) -> AppResult<()> {
    passwords::check_current(ctx, user, password, "password").await?;
    if user.role().is_staff() {
        return Err(AppError::Conflict(
            "Staff accounts are closed by an admin (Admin → Users).".into(),
        ));
    }
    erase(ctx, user, &Actor::user(user)).await
}

/// How the timelines, the stock ledger and the audit log name a closed account that acted:
/// its role stays (a staff member's stock adjustments must not read as a customer's).
#[must_use]
pub fn closed_label(role: &str) -> String {
    format!("a closed account ({role})")
}

/// Closes `user`'s account and erases or anonymises their personal data (see the module
/// notes); `by` is the customer themselves or the admin who closed it (then recorded in the
/// audit log).
///
/// # Errors
/// `Conflict` while an order is paid but not shipped, or changed while closing.
pub async fn erase(ctx: &AppContext, user: &Model, by: &Actor) -> AppResult<()> {
    let mine = || orders::Entity::find().filter(orders::Column::UserId.eq(user.id));
    let open: Vec<orders::Model> = mine()
        .filter(orders::Column::Status.is_in([
            OrderStatus::Pending.as_str(),
            OrderStatus::Paid.as_str(),
            OrderStatus::PartiallyRefunded.as_str(),
        ]))
        .all(&ctx.db)
        .await?;
    if open
        .iter()
        .any(|o| o.status != OrderStatus::Pending.as_str() && o.shipped_at.is_none())
    {
        return Err(AppError::Conflict(
            "An order of yours is paid and not shipped yet: close your account once it has shipped (or been refunded)."
                .into(),
        ));
    }
    for o in open
        .iter()
        .filter(|o| o.status == OrderStatus::Pending.as_str())
    {
        match order_model::act(ctx, o.pid, Action::Cancel, by).await {
            // Paid or expired in the meantime: the sweep below sees it as it is now.
            Ok(_) | Err(AppError::InvalidTransition(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let erased = closed_address(user.pid);
    // Signing in is impossible: nobody knows this password, and the account is inactive.
    let unusable = passwords::hash(&crate::models::tokens::new_secret()).await?;
    let txn = crate::models::db::write_txn(&ctx.db).await?;
    // Serialised with checkouts, which lock the customer's cart first: one that committed
    // before is seen by the checks below, one that comes after finds no cart. The account row
    // is taken too, against an admin's change or an e-mail change in between — `FOR NO KEY
    // UPDATE`, which a checkout's order insert (a key-share lock on the account) does not wait
    // for, so the two cannot deadlock.
    // What is erased below is read under that lock: an address changed since the caller's
    // look-up is the one whose mails and labels go.
    let user = &users::Entity::find_by_id(user.id)
        .lock(sea_orm::sea_query::LockType::NoKeyUpdate)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if user.closed_at.is_some() {
        // Closed already (a retried request): nothing left to erase.
        crate::models::idempotency::produced(&txn, Produced::Nothing, false).await?;
        txn.commit().await?;
        return Ok(());
    }
    carts::Entity::find()
        .filter(carts::Column::UserId.eq(user.id))
        .lock_exclusive()
        .all(&txn)
        .await?;
    let still_paid = mine()
        .filter(orders::Column::Status.is_in([
            OrderStatus::Paid.as_str(),
            OrderStatus::PartiallyRefunded.as_str(),
        ]))
        .filter(orders::Column::ShippedAt.is_null())
        .one(&txn)
        .await?;
    if still_paid.is_some()
        || mine()
            .filter(orders::Column::Status.eq(OrderStatus::Pending.as_str()))
            .one(&txn)
            .await?
            .is_some()
    {
        return Err(AppError::Conflict(
            "An order of yours changed while the account was closing: try again.".into(),
        ));
    }
    let kept = mine().order_by_asc(orders::Column::Id).all(&txn).await?;
    scrub_webhook_log(&txn, &kept, user, &erased).await?;
    for o in kept {
        let mut a: orders::ActiveModel = o.clone().into();
        a.email = Set(erased.clone());
        a.billing_address = Set(scrub_address(&o.billing_address, true));
        a.shipping_address = Set(scrub_address(&o.shipping_address, false));
        a.update(&txn).await?;
    }
    address_rows::Entity::delete_many()
        .filter(address_rows::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?;
    wishlist_items::Entity::delete_many()
        .filter(wishlist_items::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?;
    cart_items::Entity::delete_many()
        .filter(
            cart_items::Column::CartId.in_subquery(
                Query::select()
                    .column(carts::Column::Id)
                    .from(carts::Entity)
                    .and_where(carts::Column::UserId.eq(user.id))
                    .to_owned(),
            ),
        )
        .exec(&txn)
        .await?;
    carts::Entity::delete_many()
        .filter(carts::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?;
    let reviewed = reviews::erase_by_user(&txn, user.id).await?;
    user_tokens::Entity::delete_many()
        .filter(user_tokens::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?;
    refresh_tokens::Entity::delete_many()
        .filter(refresh_tokens::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?;
    // Timelines and the stock ledger named the customer by e-mail where they acted (placing,
    // cancelling): they keep that a customer did it, not who.
    let anonymous = closed_label(&user.role);
    relabel_actor(&txn, user).await?;
    // Mails already sent or given up on; ones still waiting (the cancellations above) go out.
    mail_outbox::Entity::delete_many()
        .filter(mail_outbox::Column::ToAddress.eq(&user.email))
        .filter(mail_outbox::Column::Status.ne("pending"))
        .exec(&txn)
        .await?;
    let now = Utc::now();
    let mut a: users::ActiveModel = user.clone().into();
    a.email = Set(erased);
    a.first_name = Set(String::new());
    a.last_name = Set(String::new());
    a.password_hash = Set(unusable);
    a.active = Set(false);
    a.email_verified_at = Set(None);
    a.totp_secret = Set(None);
    a.totp_enabled_at = Set(None);
    a.closed_at = Set(Some(now.into()));
    a.updated_at = Set(now.into());
    a.update(&txn).await?;
    end_other_sessions(&txn, user.id, Keep::Nothing).await?;
    audit::anonymise_user(&txn, user.pid, &anonymous).await?;
    if by.user_id != Some(user.id) {
        audit::record(
            &txn,
            by,
            audit::Action::UserClosed,
            audit::Target::new(audit::TargetType::User, user.pid),
            Some(serde_json::json!({"active": user.active, "role": user.role})),
            Some(serde_json::json!({"active": false})),
        )
        .await?;
    }
    crate::models::idempotency::produced(&txn, Produced::Nothing, false).await?;
    txn.commit().await?;
    // Their reviews left product pages' ratings; an account without any changes no page.
    if reviewed > 0 {
        crate::models::catalogue::cache::invalidate(&ctx.cache).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_event_keeps_what_the_order_keeps() {
        let sent = r#"{"event":"order.created","data":{"id":"x","email":"Ann@Example.com","shipping_address":{"name":"Ann","line1":"1 Road","country":"NO"},"billing_address":{"name":"Ann","phone":"+47 1","country":"NO"},"timeline":[{"actor":"ann@example.com (customer)"}]}}"#;
        let ann = Person {
            email: "ann@example.com".into(),
            label: "ann@example.com (customer)".into(),
            erased: "closed-1@closed.invalid".into(),
            anonymous: closed_label("customer"),
        };
        let out = scrub_payload(sent, &ann);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["data"]["email"], "closed-1@closed.invalid");
        assert_eq!(
            v["data"]["shipping_address"],
            serde_json::json!({"country": "NO"})
        );
        assert!(v["data"]["billing_address"].get("phone").is_none());
        assert_eq!(v["data"]["billing_address"]["name"], "Ann");
        assert_eq!(
            v["data"]["timeline"][0]["actor"],
            "a closed account (customer)"
        );
        assert!(!out.to_lowercase().contains("ann@example.com"), "{out}");
        assert_eq!(scrub_payload("not json", &ann), "not json");
    }

    #[test]
    fn orders_keep_the_invoice_address_and_the_delivery_country_only() {
        let a = r#"{"name":"Ann Example","line1":"1 Road","city":"Oslo","postal_code":"0150","country":"NO","phone":"+47 123"}"#;
        let billing: serde_json::Value = serde_json::from_str(&scrub_address(a, true)).unwrap();
        assert_eq!(billing["name"], "Ann Example");
        assert!(billing.get("phone").is_none());
        assert_eq!(scrub_address(a, false), r#"{"country":"NO"}"#);
        assert_eq!(scrub_address("", false), "");
    }
}
