//! The storefront pages.
pub mod account;
pub mod catalogue;
pub mod home;

use loco_rs::prelude::Routes;

#[must_use]
pub fn routes() -> Vec<Routes> {
    vec![home::routes(), catalogue::routes(), account::routes()]
}
