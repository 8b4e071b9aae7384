//! The admin dashboard (staff roles only).
pub mod dashboard;
pub mod groups;
pub mod jobs;
pub mod outbox;
pub mod products;
pub mod users;

use loco_rs::{app::AppContext, prelude::Routes};

use crate::settings::Settings;

#[must_use]
pub fn routes(ctx: &AppContext) -> Vec<Routes> {
    vec![
        dashboard::routes(),
        users::routes(),
        products::routes(&Settings::get(ctx)),
        groups::routes(),
        outbox::routes(),
        jobs::routes(),
    ]
}
