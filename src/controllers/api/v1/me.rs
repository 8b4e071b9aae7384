//! `/api/v1/me*`: the signed-in user's profile, password and saved address.
use axum::{extract::State, http::StatusCode, Json};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::Deserialize;

use crate::{
    domain::account::{Address, ProfileUpdate},
    errors::{ApiError, AppError},
    models::{
        accounts,
        addresses::{self, AddressView},
        users::Profile,
    },
    views::api::ErrorBody,
    web::extract::{ApiJson, ApiSession, CurrentUser},
};

#[utoipa::path(get, path = "/api/v1/me", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = Profile), (status = 401, body = ErrorBody)))]
async fn show(user: CurrentUser) -> Json<Profile> {
    Json(Profile::from(&user.0))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/me", tag = "account", security(("bearer" = [])), request_body = ProfilePatch,
    responses((status = 200, body = Profile), (status = 422, body = ErrorBody)))]
async fn update(
    State(ctx): State<AppContext>,
    user: CurrentUser,
    ApiJson(req): ApiJson<ProfilePatch>,
) -> Result<Json<Profile>, ApiError> {
    let update = ProfileUpdate::parse(req.first_name.as_deref(), req.last_name.as_deref())?;
    let user = accounts::update_profile(&ctx, user.0, update).await?;
    Ok(Json(Profile::from(&user)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

#[utoipa::path(post, path = "/api/v1/me/password", tag = "account", security(("bearer" = [])), request_body = PasswordChange,
    description = "Every other session of the user ends (browser sessions and API tokens); the caller's stays.",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many wrong current passwords")))]
async fn password(
    State(ctx): State<AppContext>,
    user: CurrentUser,
    ApiSession(family): ApiSession,
    ApiJson(req): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    accounts::change_password(
        &ctx,
        user.0,
        &req.current_password,
        &req.new_password,
        accounts::Keep::api(family),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/me/sessions/revoke", tag = "account", security(("bearer" = [])),
    description = "Ends every session of the caller (browser sessions and API tokens, access tokens at once) except the one making this request.",
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn revoke_sessions(
    State(ctx): State<AppContext>,
    user: CurrentUser,
    ApiSession(family): ApiSession,
) -> Result<StatusCode, ApiError> {
    accounts::sign_out_everywhere_else(&ctx, &user.0, accounts::Keep::api(family)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me/address", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = AddressView), (status = 404, body = ErrorBody)))]
async fn show_address(
    State(ctx): State<AppContext>,
    user: CurrentUser,
) -> Result<Json<AddressView>, ApiError> {
    let address = addresses::default_for(&ctx.db, user.0.id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(AddressView::from(&address)))
}

/// API.md's address object, as `/me/address` and checkout take it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressRequest {
    /// Who receives it; the account holder's name when left out.
    #[serde(default)]
    #[schema(max_length = 120)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 120)]
    pub company: String,
    pub line1: String,
    #[serde(default)]
    pub line2: String,
    pub city: String,
    pub postal_code: String,
    /// An assigned ISO 3166-1 alpha-2 code (any case), e.g. `DE`; `UK` or `ZZ` are refused.
    #[schema(example = "DE", min_length = 2)]
    pub country: String,
    #[serde(default)]
    pub phone: String,
}

impl TryFrom<&AddressRequest> for Address {
    type Error = crate::domain::validation::FieldErrors;

    fn try_from(r: &AddressRequest) -> Result<Self, Self::Error> {
        Self::parse_with_recipient(
            &r.name,
            &r.company,
            false,
            &r.line1,
            &r.line2,
            &r.city,
            &r.postal_code,
            &r.country,
            &r.phone,
        )
    }
}

#[utoipa::path(put, path = "/api/v1/me/address", tag = "account", security(("bearer" = [])), request_body = AddressRequest,
    responses((status = 200, body = AddressView), (status = 422, body = ErrorBody)))]
async fn put_address(
    State(ctx): State<AppContext>,
    user: CurrentUser,
    ApiJson(req): ApiJson<AddressRequest>,
) -> Result<Json<AddressView>, ApiError> {
    let address = Address::try_from(&req)?;
    let saved = addresses::set_default(&ctx.db, user.0.id, address).await?;
    Ok(Json(AddressView::from(&saved)))
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new()
        .prefix("/api/v1/me")
        .add("/", axum::routing::get(show).patch(update))
        .add("/password", axum::routing::post(password))
        .add("/sessions/revoke", axum::routing::post(revoke_sessions))
        .add(
            "/address",
            axum::routing::get(show_address).put(put_address),
        )
}
