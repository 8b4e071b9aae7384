//! Demo data for a newcomer's first start: an admin whose password is printed once, the demo
//! catalogue, and a month of order history.
pub mod bench_history;
pub mod catalogue;
pub mod history;

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

/// Shipping zones of a shop in Germany (Germany, the EU, a few more of Europe) with a standard
/// and a faster method each, so the first start shows the choice at checkout. Made with the
/// demo catalogue only: a shop whose admin removed its zones on purpose keeps its flat rate.
///
/// # Errors
/// Database errors.
pub async fn ensure_demo_shipping(ctx: &AppContext) -> AppResult<()> {
    use crate::{
        domain::shipping::{MethodInput, ZoneDraft},
        models::shipping::{methods, zones},
    };
    if super::_entities::shipping_zones::Entity::find()
        .count(&ctx.db)
        .await?
        > 0
    {
        return Ok(());
    }
    let list = |codes: &[&str]| codes.iter().map(|c| (*c).to_string()).collect::<Vec<_>>();
    let eu = [
        "AT", "BE", "CZ", "DK", "ES", "FI", "FR", "IE", "IT", "LU", "NL", "PL", "PT", "SE",
    ];
    let plan: [(&str, Vec<String>, Vec<MethodInput>); 3] = [
        (
            "Germany",
            list(&["DE"]),
            vec![
                demo_method("Standard", "DHL", 495, Some(5000), None, (2, 3)),
                demo_method("Express", "DHL Express", 990, None, Some(10_000), (1, 1)),
            ],
        ),
        (
            "European Union",
            list(&eu),
            vec![
                demo_method("Standard", "DPD", 990, Some(10_000), None, (3, 6)),
                demo_method("Express", "UPS", 2490, None, Some(5_000), (1, 2)),
            ],
        ),
        (
            "Rest of Europe",
            list(&["CH", "GB", "NO"]),
            vec![demo_method(
                "International",
                "DHL",
                1990,
                None,
                Some(20_000),
                (4, 8),
            )],
        ),
    ];
    for (name, countries, ways) in plan {
        let zone = zones::create(&ctx.db, ZoneDraft::parse(name, &countries)?).await?;
        for way in ways {
            methods::create(&ctx.db, zone.id, way.parse()?).await?;
        }
    }
    Ok(())
}

fn demo_method(
    name: &str,
    carrier: &str,
    price_cents: i64,
    free_from_cents: Option<i64>,
    max_weight_grams: Option<i64>,
    (min_days, max_days): (i64, i64),
) -> crate::domain::shipping::MethodInput {
    crate::domain::shipping::MethodInput {
        name: name.into(),
        carrier: carrier.into(),
        price_cents,
        free_from_cents,
        max_weight_grams,
        min_days: Some(min_days),
        max_days: Some(max_days),
        active: true,
        ..Default::default()
    }
}
