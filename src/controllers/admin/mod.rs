//! The admin dashboard (staff roles only).
pub mod api_keys;
pub mod dashboard;
pub mod groups;
pub mod inventory;
pub mod jobs;
pub mod live;
pub mod notifications;
pub mod orders;
pub mod outbox;
pub mod product_csv;
pub mod products;
pub mod promo_codes;
pub mod purchase_orders;
pub mod reviews;
pub mod shipping;
pub mod tax_rates;
pub mod transactions;
pub mod users;
pub mod webhooks;

use loco_rs::{app::AppContext, prelude::Routes};

use crate::settings::Settings;

#[must_use]
pub fn routes(ctx: &AppContext) -> Vec<Routes> {
    vec![
        dashboard::routes(),
        live::routes(),
        users::routes(),
        products::routes(&Settings::get(ctx)),
        product_csv::routes(&Settings::get(ctx)),
        groups::routes(),
        outbox::routes(),
        jobs::routes(),
        orders::routes(),
        transactions::routes(),
        reviews::routes(),
        api_keys::routes(),
        inventory::routes(),
        purchase_orders::routes(),
        promo_codes::routes(),
        tax_rates::routes(),
        shipping::routes(),
        notifications::routes(),
        webhooks::routes(),
    ]
}
