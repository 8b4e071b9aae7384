//! `/api/v1/me*`: the signed-in user's profile, password, e-mail, address book, personal data
//! and closing the account.
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
    Json,
};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::Deserialize;

use crate::{
    domain::account::{Address, AddressPatch, ProfileUpdate},
    errors::{ApiError, AppError},
    models::{
        accounts,
        accounts::addresses::{self, AddressView, BookAddress, Content, Defaults},
        accounts::personal_data::PersonalData,
        users::Profile,
    },
    views::api::{AddressPage, ErrorBody},
    web::{
        extract::{ApiJson, ApiSession, CurrentUser},
        pagination::{Listing, PageQuery},
    },
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
    /// 10 to 128 characters, not only digits, not the e-mail address.
    #[schema(min_length = 10, max_length = 128, pattern = r"\D")]
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

#[utoipa::path(get, path = "/api/v1/me/export", tag = "account", security(("bearer" = [])),
    description = "Everything the shop holds on the caller, as one JSON document (sent as a file to save).",
    responses((status = 200, body = PersonalData), (status = 401, body = ErrorBody)))]
pub(crate) async fn export(
    State(ctx): State<AppContext>,
    user: CurrentUser,
) -> Result<impl IntoResponse, ApiError> {
    let data = accounts::personal_data::export(&ctx, &user.0).await?;
    Ok((
        [(
            axum::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"my-data.json\"",
        )],
        Json(data),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// The account's current password.
    pub password: String,
}

#[utoipa::path(delete, path = "/api/v1/me", tag = "account", security(("bearer" = [])), request_body = CloseRequest,
    description = "Closes the caller's account: personal data is erased or anonymised, unpaid orders are cancelled, orders and invoices are kept for the books without the e-mail, delivery address or phone, and every session and token ends.",
    responses((status = 204), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "A staff account, or an order paid and not shipped yet"),
        (status = 422, body = ErrorBody, description = "Wrong password")))]
pub(crate) async fn close(
    State(ctx): State<AppContext>,
    user: CurrentUser,
    ApiJson(req): ApiJson<CloseRequest>,
) -> Result<StatusCode, ApiError> {
    accounts::personal_data::close(&ctx, &user.0, &req.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChangeRequest {
    /// The address to sign in with once confirmed.
    #[schema(
        format = "email",
        max_length = 254,
        pattern = r"^\s*[^@\s<>.]+(\.[^@\s<>.]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\s*$"
    )]
    pub new_email: String,
    /// The account's current password.
    pub password: String,
}

#[utoipa::path(post, path = "/api/v1/me/email", tag = "account", security(("bearer" = [])), request_body = EmailChangeRequest,
    description = "Sends a confirmation link to `new_email` and tells the current address. Nothing changes until the link is followed (`POST /auth/email/confirm`, or the page it opens); then the new address is verified and every session and token of the account ends.",
    responses((status = 202, description = "The link is on its way"), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "A malformed, unchanged or taken address, or a wrong password"),
        (status = 429, body = ErrorBody, description = "Too many wrong passwords, or too many links to that address")))]
pub(crate) async fn change_email(
    State(ctx): State<AppContext>,
    user: CurrentUser,
    ApiJson(req): ApiJson<EmailChangeRequest>,
) -> Result<StatusCode, ApiError> {
    accounts::email_change::request(&ctx, &user.0, &req.new_email, &req.password).await?;
    Ok(StatusCode::ACCEPTED)
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
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub line1: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub line2: String,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub city: String,
    #[schema(min_length = 1, max_length = 20, pattern = r"\S")]
    pub postal_code: String,
    /// An assigned ISO 3166-1 alpha-2 code (any case), e.g. `DE`; `UK` or `ZZ` are refused.
    #[schema(value_type = crate::domain::countries::CountryCode)]
    pub country: String,
    /// Digits, spaces and `+ - ( ) / .`
    #[serde(default)]
    #[schema(max_length = 32, pattern = r"^[0-9 +\-()/.]*$")]
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

#[utoipa::path(get, path = "/api/v1/me/addresses", tag = "account", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = AddressPage, description = "The default for shipping first, then the default for billing, then oldest first"),
        (status = 401, body = ErrorBody)))]
async fn list_addresses(
    State(ctx): State<AppContext>,
    user: CurrentUser,
    page: Listing,
) -> Result<impl IntoResponse, ApiError> {
    let all = addresses::list(&ctx.db, user.0.id).await?;
    let count = all.len() as u64;
    let skip = usize::try_from((page.page - 1) * page.page_size).unwrap_or(usize::MAX);
    let take = usize::try_from(page.page_size).unwrap_or(usize::MAX);
    let results = all
        .iter()
        .skip(skip)
        .take(take)
        .map(BookAddress::from)
        .collect();
    Ok(page.answer(results, count))
}

/// An address for the book: API.md's address object and which defaults it is.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookAddressRequest {
    #[serde(default)]
    #[schema(max_length = 120)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 120)]
    pub company: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub line1: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub line2: String,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub city: String,
    #[schema(min_length = 1, max_length = 20, pattern = r"\S")]
    pub postal_code: String,
    #[schema(value_type = crate::domain::countries::CountryCode)]
    pub country: String,
    /// Digits, spaces and `+ - ( ) / .`
    #[serde(default)]
    #[schema(max_length = 32, pattern = r"^[0-9 +\-()/.]*$")]
    pub phone: String,
    /// Make it the default for shipping (the first address is the default of both kinds).
    pub is_default_shipping: Option<bool>,
    pub is_default_billing: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/me/addresses", tag = "account", security(("bearer" = [])), request_body = BookAddressRequest,
    responses((status = 201, body = BookAddress), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "Invalid fields, or the book already holds 20 addresses")))]
async fn create_address(
    State(ctx): State<AppContext>,
    user: CurrentUser,
    ApiJson(req): ApiJson<BookAddressRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let address = Address::parse_with_recipient(
        &req.name,
        &req.company,
        false,
        &req.line1,
        &req.line2,
        &req.city,
        &req.postal_code,
        &req.country,
        &req.phone,
    )?;
    let defaults = Defaults {
        shipping: req.is_default_shipping,
        billing: req.is_default_billing,
    };
    let saved = addresses::add(&ctx.db, user.0.id, address, defaults).await?;
    Ok((StatusCode::CREATED, Json(BookAddress::from(&saved))))
}

/// Changes to an address of the book: the fields given, and which defaults it is (`false`
/// leaves the customer without a default of that kind).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BookAddressPatch {
    pub name: Option<String>,
    pub company: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    #[schema(value_type = Option<crate::domain::countries::CountryCode>)]
    pub country: Option<String>,
    pub phone: Option<String>,
    pub is_default_shipping: Option<bool>,
    pub is_default_billing: Option<bool>,
}

fn address_id(id: &str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(id).map_err(|_| AppError::NotFound)
}

#[utoipa::path(patch, path = "/api/v1/me/addresses/{id}", tag = "account", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)), request_body = BookAddressPatch,
    responses((status = 200, body = BookAddress), (status = 404, body = ErrorBody, description = "Not an address of the caller"),
        (status = 422, body = ErrorBody)))]
async fn update_address(
    State(ctx): State<AppContext>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(p): ApiJson<BookAddressPatch>,
) -> Result<Json<BookAddress>, ApiError> {
    let pid = address_id(&id)?;
    let content = Content::Patch(AddressPatch {
        name: p.name,
        company: p.company,
        line1: p.line1,
        line2: p.line2,
        city: p.city,
        postal_code: p.postal_code,
        country: p.country,
        phone: p.phone,
    });
    let defaults = Defaults {
        shipping: p.is_default_shipping,
        billing: p.is_default_billing,
    };
    let saved = addresses::update(&ctx.db, user.0.id, pid, content, defaults).await?;
    Ok(Json(BookAddress::from(&saved)))
}

#[utoipa::path(delete, path = "/api/v1/me/addresses/{id}", tag = "account", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)),
    description = "A default the address was passes to the oldest address left.",
    responses((status = 204), (status = 404, body = ErrorBody, description = "Not an address of the caller")))]
async fn delete_address(
    State(ctx): State<AppContext>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    addresses::delete(&ctx.db, user.0.id, address_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new()
        .prefix("/api/v1/me")
        .add("/", axum::routing::get(show).patch(update).delete(close))
        .add("/export", axum::routing::get(export))
        .add("/password", axum::routing::post(password))
        .add("/email", axum::routing::post(change_email))
        .add("/sessions/revoke", axum::routing::post(revoke_sessions))
        .add(
            "/address",
            axum::routing::get(show_address).put(put_address),
        )
        .add(
            "/addresses",
            axum::routing::get(list_addresses).post(create_address),
        )
        .add(
            "/addresses/{id}",
            axum::routing::patch(update_address).delete(delete_address),
        )
}
