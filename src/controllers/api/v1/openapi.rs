//! The OpenAPI 3 document, generated from the handlers' annotations, and Swagger UI.
use axum::response::{Html, IntoResponse};
use loco_rs::prelude::Routes;
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

use super::{
    admin_users, admin_webhooks, api_keys, auth, back_office, cart, catalogue, customers, invoices,
    me, orders, payments, shipping, shop, webhooks,
};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Adds the error answers every operation can give (API.md "General") where its own
/// annotation does not list them, so the document names every status a client can meet:
/// 401 (a bad bearer token is refused everywhere), 429 (rate limits), 403 where a role is
/// needed, 404 where the path names a resource, 422 where input is read, and 400/413/415
/// where a body is read.
struct CommonErrors;

impl CommonErrors {
    fn add(op: &mut utoipa::openapi::path::Operation) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
        let params = op.parameters.as_ref().map_or(0, Vec::len);
        let path_params = op.parameters.as_ref().map_or(0, |ps| {
            ps.iter()
                .filter(|p| match p {
                    utoipa::openapi::RefOr::T(p) => {
                        matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Path)
                    }
                    utoipa::openapi::RefOr::Ref(_) => false,
                })
                .count()
        });
        let body = op.request_body.is_some();
        let mut add = |status: &str, why: &str| {
            op.responses
                .responses
                .entry(status.to_string())
                .or_insert_with(|| {
                    ResponseBuilder::new()
                        .description(why)
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("ErrorBody")))
                                .build(),
                        )
                        .build()
                        .into()
                });
        };
        add(
            "401",
            "`unauthorized`: a missing (where needed), invalid or expired bearer token",
        );
        add("429", "`rate_limited`, with `Retry-After`");
        add(
            "503",
            "`unavailable`: a service the shop needs (its database, the file store) is down for \
             the moment; retry after `Retry-After` seconds",
        );
        if secured {
            add(
                "403",
                "`forbidden`: the role or the API key's scopes do not allow this",
            );
        }
        if path_params > 0 {
            add("404", "`not_found`: no such resource, or not yours");
        }
        if params > 0 || body {
            add("422", "`validation_failed`: `details` names each field");
        }
        if body {
            add(
                "400",
                "`bad_request`: the body is not JSON of the documented shape",
            );
            add("413", "`payload_too_large`");
            add(
                "415",
                "`unsupported_media_type`: send the documented content type",
            );
        }
    }
}

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                Self::add(op);
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Emporium API", version = "1", description = "Contract: API.md. Errors always use the `ErrorBody` shape."),
    modifiers(&BearerAuth, &CommonErrors),
    paths(
        auth::register, auth::login, auth::refresh, auth::logout, auth::verify, auth::confirm_email, auth::forgot, auth::reset,
        me::show, me::update, me::close, me::export, me::password, me::change_email, me::revoke_sessions, me::show_address, me::put_address,
        me::list_addresses, me::create_address, me::update_address, me::delete_address,
        admin_users::list, admin_users::create, admin_users::show, admin_users::update, admin_users::destroy,
        admin_users::password_reset, admin_users::audit_log,
        shop::show,
        catalogue::list, catalogue::show, catalogue::create, catalogue::update, catalogue::destroy,
        catalogue::add_variant, catalogue::update_variant, catalogue::delete_variant,
        catalogue::upload_image, catalogue::delete_image,
        catalogue::list_categories, catalogue::create_category, catalogue::show_category,
        catalogue::update_category, catalogue::delete_category,
        catalogue::list_brands, catalogue::create_brand, catalogue::show_brand,
        catalogue::update_brand, catalogue::delete_brand,
        cart::show, cart::add_item, cart::update_item, cart::remove_item, cart::apply_coupon, cart::remove_coupon,
        orders::place, orders::list, orders::show, orders::cancel, orders::ship, orders::complete,
        orders::refund, orders::mark_paid, orders::pay, orders::invoice, orders::credit_note,
        payments::list, payments::show, invoices::list, invoices::show,
        webhooks::stripe_webhook,
        customers::list, customers::create, customers::update, customers::destroy, customers::moderate,
        customers::wishlist_list, customers::wishlist_add, customers::wishlist_remove,
        api_keys::list, api_keys::create, api_keys::revoke,
        admin_webhooks::list, admin_webhooks::create, admin_webhooks::show, admin_webhooks::update,
        admin_webhooks::destroy, admin_webhooks::deliveries, admin_webhooks::redeliver,
        back_office::list_promos, back_office::create_promo, back_office::show_promo,
        back_office::update_promo, back_office::delete_promo,
        back_office::list_purchase_orders, back_office::create_purchase_order,
        back_office::show_purchase_order, back_office::receive_purchase_order, back_office::cancel_purchase_order,
        back_office::ledger, back_office::adjust,
        back_office::list_notifications, back_office::mark_notification, back_office::delete_notification,
        back_office::list_tax_rates, back_office::create_tax_rate, back_office::update_tax_rate,
        back_office::delete_tax_rate,
        shipping::offers, shipping::list_zones, shipping::create_zone, shipping::show_zone,
        shipping::update_zone, shipping::delete_zone, shipping::list_methods, shipping::create_method,
        shipping::show_method, shipping::update_method, shipping::delete_method,
        crate::controllers::health::health,
    ),
    tags(
        (name = "auth", description = "Registration, login and tokens"),
        (name = "account", description = "The signed-in user"),
        (name = "admin", description = "Back office"),
        (name = "shop", description = "Shop information"),
        (name = "catalogue", description = "Products, variants, images, categories and brands"),
        (name = "cart", description = "Guest and user carts, promo codes on carts"),
        (name = "orders", description = "Checkout, orders and their state machine, invoices"),
        (name = "back office", description = "Promo codes, purchase orders, stock, notifications, tax rates, shipping zones and methods"),
    )
)]
pub struct ApiDoc;

/// The document, with the limits this shop's settings set in place of the defaults the
/// annotations carry, and the rules between fields the annotations cannot state.
fn for_shop(settings: &crate::settings::Settings) -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    let schemas = &mut doc["components"]["schemas"];
    for name in ["AddItemRequest", "QuantityRequest"] {
        schemas[name]["properties"]["quantity"]["maximum"] =
            settings.checkout.max_line_quantity.into();
    }
    // A product is either flat (its one variant's SKU and price) or declares its variants; its
    // slug is given, or made from a name with a letter or digit in it.
    schemas["CreateProductRequest"]["allOf"] = serde_json::json!([
        {"anyOf": [
            {"required": ["sku", "price_cents"],
             "properties": {"sku": {"type": "string"}, "price_cents": {"type": "integer"}}},
            {"required": ["variants"], "properties": {"variants": {"minItems": 1}}},
        ]},
        {"anyOf": [
            {"required": ["slug"], "properties": {"slug": {"type": "string", "pattern": "[a-z0-9]"}}},
            {"properties": {"name": {"pattern": "[A-Za-z0-9]"}}},
        ]},
    ]);
    // Each address is given, or taken from the address book, not both; the shipping address
    // is needed one way or the other.
    let given = |field: &str| {
        let kind = if field.ends_with("_id") {
            "string"
        } else {
            "object"
        };
        serde_json::json!({"required": [field], "properties": {field: {"type": kind}}})
    };
    let not_both = |a: &str, b: &str| serde_json::json!({"not": {"allOf": [given(a), given(b)]}});
    schemas["CheckoutRequest"]["anyOf"] =
        serde_json::json!([given("shipping_address"), given("shipping_address_id"),]);
    schemas["CheckoutRequest"]["allOf"] = serde_json::json!([
        not_both("shipping_address", "shipping_address_id"),
        not_both("billing_address", "billing_address_id"),
    ]);
    doc
}

async fn document(
    axum::extract::State(ctx): axum::extract::State<loco_rs::app::AppContext>,
) -> impl IntoResponse {
    axum::Json(for_shop(&crate::settings::Settings::get(&ctx)))
}

async fn docs(
    axum::extract::State(ctx): axum::extract::State<loco_rs::app::AppContext>,
) -> Result<Html<String>, crate::errors::PageError> {
    use loco_rs::controller::views::ViewRenderer;
    let html = crate::web::html::engine(&ctx)
        .render("api/docs.html", serde_json::json!({}))
        .map_err(crate::errors::AppError::from)?;
    Ok(Html(html))
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new()
        .add("/api/v1/openapi.json", axum::routing::get(document))
        .add("/api/docs", axum::routing::get(docs))
}
