//! The admin dashboard (staff roles only).
pub mod dashboard;
pub mod jobs;
pub mod outbox;
pub mod users;

use loco_rs::prelude::Routes;

#[must_use]
pub fn routes() -> Vec<Routes> {
    vec![
        dashboard::routes(),
        users::routes(),
        outbox::routes(),
        jobs::routes(),
    ]
}
