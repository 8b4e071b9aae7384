//! Pure business rules: no database, HTTP or framework types. Everything here is unit-tested
//! without I/O, and both the HTML and the API front doors parse their input into these types.
pub mod account;
pub mod api_key;
pub mod catalogue;
pub mod countries;
pub mod email;
pub mod imaging;
pub mod order_status;
pub mod paging;
pub mod payment;
pub mod pricing;
pub mod product_csv;
pub mod promo;
pub mod purchase_order;
pub mod redirect;
pub mod refund;
pub mod role;
pub mod secrets;
pub mod shipping;
pub mod stock;
pub mod two_factor;
pub mod validation;
pub mod webhook;
