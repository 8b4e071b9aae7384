//! Demo data for a newcomer's first start: an admin whose password is printed once, and the
//! demo catalogue.
pub mod catalogue;

use loco_rs::app::AppContext;
use sea_orm::{EntityTrait, PaginatorTrait};

use super::{
    _entities::users::Entity,
    accounts::{self, Origin},
};
use crate::{
    domain::{account::Registration, role::Role},
    errors::AppResult,
};

pub const DEMO_ADMIN_EMAIL: &str = "admin@emporium.test";

/// Creates the demo admin when the shop has no users at all, and prints its credentials.
/// The password is random per installation: no shared default credentials exist.
///
/// # Errors
/// Database errors.
pub async fn ensure_demo_admin(ctx: &AppContext) -> AppResult<()> {
    if Entity::find().count(&ctx.db).await? > 0 {
        return Ok(());
    }
    let password = format!("demo-{}", loco_rs::hash::random_string(16));
    let reg = Registration::parse(DEMO_ADMIN_EMAIL, &password, "Demo", "Admin", Role::Admin)?;
    accounts::register(ctx, reg, Origin::Provisioned).await?;
    println!("\n  Demo admin created (shown once):\n    e-mail:   {DEMO_ADMIN_EMAIL}\n    password: {password}\n    sign in at /login, then open /admin\n");
    Ok(())
}

/// A tax rate for the shop's default country and a welcome code, when the shop has none, so
/// a first checkout on a laptop shows tax and a discount like a real shop would.
///
/// # Errors
/// Database errors.
pub async fn ensure_demo_checkout(ctx: &AppContext) -> AppResult<()> {
    use crate::{
        domain::promo::{PromoDraft, PromoInput},
        models::{
            _entities::{promo_codes, tax_rates},
            promos, tax_rates as rates,
        },
        settings::Settings,
    };
    if tax_rates::Entity::find().count(&ctx.db).await? == 0 {
        let country = Settings::get(ctx).checkout.default_country.clone();
        rates::create(ctx, rates::TaxRateDraft::parse(&country, 1900, "VAT")?).await?;
    }
    if promo_codes::Entity::find().count(&ctx.db).await? == 0 {
        let draft = PromoDraft::try_from(PromoInput {
            code: "WELCOME10".into(),
            kind: "percent".into(),
            value: 1000,
            max_discount_cents: Some(2000),
            per_customer_limit: Some(1),
            active: true,
            ..PromoInput::default()
        })?;
        promos::create(ctx, draft).await?;
    }
    Ok(())
}
