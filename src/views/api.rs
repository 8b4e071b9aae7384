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
