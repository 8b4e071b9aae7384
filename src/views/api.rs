//! Shapes that appear only in the OpenAPI document (the runtime builds them elsewhere).
use serde::Serialize;

use crate::models::users::Profile;

/// API.md's error body, for every status ≥ 400.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// snake_case code, e.g. `validation_failed`.
    pub code: String,
    pub message: String,
    /// Field name → messages (may be empty).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// A page of users in API.md's list envelope.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProfilePage {
    pub results: Vec<Profile>,
    pub count: u64,
    pub page: u64,
    pub page_size: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
}

/// Declares a list-envelope schema for the OpenAPI document.
macro_rules! page_schema {
    ($name:ident, $item:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub results: Vec<$item>,
            pub count: u64,
            pub page: u64,
            pub page_size: u64,
            pub next: Option<String>,
            pub previous: Option<String>,
        }
    };
}

page_schema!(
    AuditEntryPage,
    crate::models::audit::AuditEntry,
    "A page of the audit log."
);
page_schema!(
    OrderPage,
    crate::models::orders::OrderView,
    "A page of orders in API.md's list envelope."
);
page_schema!(
    PromoPage,
    crate::models::promos::PromoView,
    "A page of promo codes."
);
page_schema!(
    PurchaseOrderPage,
    crate::models::purchase_orders::PurchaseOrderView,
    "A page of purchase orders."
);
page_schema!(
    LedgerPage,
    crate::models::stock::LedgerEntry,
    "A page of stock ledger rows."
);
page_schema!(
    NotificationPage,
    crate::models::notifications::NotificationView,
    "A page of notifications."
);
page_schema!(
    TransactionPage,
    crate::models::payments::TransactionView,
    "A page of transactions."
);
page_schema!(
    ReviewPage,
    crate::models::reviews::ReviewView,
    "A page of reviews."
);
page_schema!(
    AddressPage,
    crate::models::accounts::addresses::BookAddress,
    "A page of the caller's address book."
);
page_schema!(
    OfferPage,
    crate::models::shipping::Offer,
    "The shipping methods that take the caller's cart to a country, priced for it."
);
page_schema!(
    ZonePage,
    crate::models::shipping::zones::ZoneView,
    "A page of shipping zones."
);
page_schema!(
    MethodPage,
    crate::models::shipping::methods::MethodView,
    "A page of shipping methods."
);
page_schema!(
    WebhookPage,
    crate::models::webhooks::EndpointView,
    "A page of webhook endpoints."
);
page_schema!(
    DeliveryPage,
    crate::models::webhooks::DeliveryView,
    "A page of one endpoint's deliveries, newest first."
);
page_schema!(
    ApiKeyPage,
    crate::models::api_keys::ApiKeyView,
    "A page of API keys (secrets are never listed)."
);
page_schema!(
    TaxRatePage,
    crate::models::tax_rates::TaxRateView,
    "A page of tax rates, by country."
);
page_schema!(
    CategoryPage,
    crate::models::catalogue::groups::CategoryView,
    "A page of categories."
);
page_schema!(
    BrandPage,
    crate::models::catalogue::groups::BrandView,
    "A page of brands."
);
page_schema!(
    ProductPage,
    crate::models::catalogue::views::ProductView,
    "A page of products (the wishlist)."
);
page_schema!(
    InvoicePage,
    crate::models::invoices::InvoiceSummary,
    "A page of invoices, newest first."
);
