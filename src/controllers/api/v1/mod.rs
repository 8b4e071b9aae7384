pub mod admin_users;
pub mod auth;
pub mod me;
pub mod openapi;
pub mod shop;

use loco_rs::prelude::Routes;

/// Every `/api/v1` route group.
#[must_use]
pub fn routes() -> Vec<Routes> {
    vec![
        auth::routes(),
        me::routes(),
        admin_users::routes(),
        shop::routes(),
        openapi::routes(),
    ]
}
