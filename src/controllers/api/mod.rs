//! The versioned JSON API (`/api/v1`, contract in API.md).
pub mod v1;
