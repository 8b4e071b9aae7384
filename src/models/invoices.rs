//! Invoices: one per paid order, numbered without gaps in the order payments were recorded.
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use uuid::Uuid;

use super::{
    _entities::{invoices, orders, users},
    counters,
    orders::{view, OrderView},
};
use crate::{
    errors::{AppError, AppResult},
    settings::Settings,
};

/// Issues the order's invoice in the caller's transaction (the payment's), taking the next
/// number; an order that already has one keeps it.
///
/// # Errors
/// Database errors.
pub async fn issue<C: ConnectionTrait>(
    db: &C,
    order: &orders::Model,
) -> AppResult<invoices::Model> {
    if let Some(existing) = invoices::Entity::find()
        .filter(invoices::Column::OrderId.eq(order.id))
        .one(db)
        .await?
    {
        return Ok(existing);
    }
    let number = counters::next(db, "invoice", 1).await?;
    Ok(invoices::ActiveModel {
        pid: Set(Uuid::new_v4()),
        order_id: Set(order.id),
        number: Set(number),
        issued_at: Set(Utc::now().into()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// The invoice number as printed.
#[must_use]
pub fn reference(number: i64) -> String {
    format!("INV-{number:06}")
}

/// The invoice document: the seller, the buyer and the frozen order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvoiceView {
    pub id: Uuid,
    pub number: i64,
    /// The number as printed, e.g. `INV-000042`.
    pub reference: String,
    pub issued_at: String,
    pub seller: String,
    /// The seller's postal address, a line each.
    pub seller_address: Vec<String>,
    /// The seller's VAT id; empty when it has none.
    pub seller_vat_id: String,
    pub customer_name: String,
    pub customer_email: String,
    pub order: OrderView,
}

/// The invoice of an order the caller may see.
///
/// # Errors
/// `NotFound` when the order has no invoice (it was never paid).
pub async fn for_order<C: ConnectionTrait>(
    db: &C,
    settings: &Settings,
    order: orders::Model,
) -> AppResult<InvoiceView> {
    let inv = invoices::Entity::find()
        .filter(invoices::Column::OrderId.eq(order.id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let user = match order.user_id {
        Some(id) => users::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    Ok(InvoiceView {
        id: inv.pid,
        number: inv.number,
        reference: reference(inv.number),
        issued_at: crate::views::rfc3339(&inv.issued_at),
        seller: if settings.seller.legal_name.trim().is_empty() {
            settings.shop_name.clone()
        } else {
            settings.seller.legal_name.trim().to_string()
        },
        seller_address: settings.seller.address_lines(),
        seller_vat_id: settings.seller.vat_id.trim().to_string(),
        // A guest's: the name on the billing address.
        customer_name: user.as_ref().map_or_else(
            || {
                serde_json::from_str::<serde_json::Value>(&order.billing_address)
                    .ok()
                    .and_then(|a| a["name"].as_str().map(str::to_string))
                    .unwrap_or_default()
            },
            users::Model::full_name,
        ),
        customer_email: order.email.clone(),
        order: view(db, order).await?,
    })
}
