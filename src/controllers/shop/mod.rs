//! The storefront pages.
pub mod account;
pub mod cart;
pub mod catalogue;
pub mod checkout;
pub mod customers;
pub mod home;
pub mod order_live;
pub mod payments;
pub mod two_factor;

use loco_rs::prelude::Routes;

#[must_use]
pub fn routes() -> Vec<Routes> {
    vec![
        home::routes(),
        catalogue::routes(),
        account::routes(),
        two_factor::routes(),
        cart::routes(),
        checkout::routes(),
        order_live::routes(),
        payments::routes(),
        customers::routes(),
    ]
}
