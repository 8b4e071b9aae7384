//! The catalogue: products, variants, categories, brands, tags, images, search and caching.
//! Both the JSON API and the storefront/admin pages call these functions.
pub mod cache;
pub mod groups;
pub mod images;
pub mod listing;
pub mod products;
pub mod search_index;
pub mod views;
