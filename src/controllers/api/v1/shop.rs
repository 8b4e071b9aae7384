//! `GET /api/v1/shop`: the shop's name and currency.
use axum::{extract::State, Json};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::Serialize;

use crate::settings::Settings;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShopInfo {
    pub name: String,
    /// ISO 4217 code; every `*_cents` amount is in this currency's minor unit.
    pub currency: String,
}

#[utoipa::path(get, path = "/api/v1/shop", tag = "shop", responses((status = 200, body = ShopInfo)))]
async fn show(State(ctx): State<AppContext>) -> Json<ShopInfo> {
    let s = Settings::get(&ctx);
    Json(ShopInfo {
        name: s.shop_name.clone(),
        currency: s.currency.clone(),
    })
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new()
        .prefix("/api/v1")
        .add("/shop", axum::routing::get(show))
}
