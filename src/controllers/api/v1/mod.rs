pub mod admin_users;
pub mod admin_webhooks;
pub mod api_keys;
pub mod auth;
pub mod back_office;
pub mod cart;
pub mod catalogue;
pub mod customers;
pub mod invoices;
pub mod me;
pub mod openapi;
pub mod orders;
pub mod payments;
pub mod shipping;
pub mod shop;
pub mod webhooks;

use loco_rs::{app::AppContext, prelude::Routes};

/// Every `/api/v1` route group.
#[must_use]
pub fn routes(ctx: &AppContext) -> Vec<Routes> {
    vec![
        auth::routes(),
        catalogue::routes(ctx),
        me::routes(),
        admin_users::routes(),
        shop::routes(),
        cart::routes(),
        orders::routes(),
        payments::routes(),
        invoices::routes(),
        webhooks::routes(),
        customers::routes(),
        api_keys::routes(),
        admin_webhooks::routes(),
        back_office::routes(),
        shipping::routes(),
        openapi::routes(),
    ]
}
