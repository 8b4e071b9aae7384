//! `/api/v1/auth/*`: registration, login, token refresh and logout, verification, password reset.
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
    Json,
};
use loco_rs::{app::AppContext, prelude::Routes};
use serde::{Deserialize, Serialize};

use crate::{
    domain::{account::Registration, role::Role},
    errors::ApiError,
    models::{
        accounts::{self, Tokens},
        two_factor,
        users::{self, UserSummary},
    },
    views::api::ErrorBody,
    web::extract::{ApiJson, ApiSession, ClientId, CurrentUser},
};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegisterRequest {
    #[schema(
        format = "email",
        max_length = 254,
        pattern = r"^\s*[^@\s<>.]+(\.[^@\s<>.]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\s*$"
    )]
    pub email: String,
    /// At least 10 characters, not all digits, not the e-mail address.
    #[schema(min_length = 10, max_length = 128, pattern = r"\D")]
    pub password: String,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub first_name: String,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub last_name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserEnvelope {
    pub user: UserSummary,
}

#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = UserEnvelope), (status = 422, body = ErrorBody), (status = 400, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many sign-ups from this client, or for this address")))]
async fn register(
    State(ctx): State<AppContext>,
    ClientId(client): ClientId,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let reg = Registration::parse(
        &req.email,
        &req.password,
        &req.first_name,
        &req.last_name,
        Role::Customer,
    )?;
    let user = accounts::sign_up(&ctx, reg, &client).await?;
    Ok((
        StatusCode::CREATED,
        Json(UserEnvelope {
            user: UserSummary::from(&user),
        }),
    ))
}

/// The answer of a sign-up whose first attempt died after the account was made. Reached only
/// through the idempotency layer, for the same caller repeating the same request (its address
/// and password) with the same key.
pub(crate) async fn registered(
    State(ctx): State<AppContext>,
    Path(pid): Path<uuid::Uuid>,
) -> Result<Json<UserEnvelope>, ApiError> {
    let user = users::find_by_pid(&ctx.db, pid).await?;
    Ok(Json(UserEnvelope {
        user: UserSummary::from(&user),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// The authenticator code (or a recovery code) of an account with two-factor login;
    /// without it such an account answers 401 `otp_required`.
    #[serde(default)]
    pub otp: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub access: String,
    pub refresh: String,
    pub user: UserSummary,
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse),
        (status = 401, body = ErrorBody, description = "`unauthorized` for wrong credentials or code; `otp_required` when the account needs a two-factor code"),
        (status = 403, body = ErrorBody, description = "`two_factor_required`: the shop requires staff to set up two-factor login first"),
        (status = 429, body = ErrorBody)))]
async fn login(
    State(ctx): State<AppContext>,
    ClientId(client): ClientId,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let user = accounts::authenticate(&ctx, &req.email, &req.password, &client).await?;
    two_factor::api_login(&ctx, &user, req.otp.as_deref()).await?;
    let Tokens { access, refresh } = accounts::issue_tokens(&ctx, &user).await?;
    Ok(Json(LoginResponse {
        access,
        refresh,
        user: UserSummary::from(&user),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RefreshRequest {
    pub refresh: String,
}

#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = Tokens), (status = 401, body = ErrorBody)))]
async fn refresh(
    State(ctx): State<AppContext>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<Json<Tokens>, ApiError> {
    let (_, tokens) = accounts::refresh(&ctx, &req.refresh).await?;
    Ok(Json(tokens))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    security(("bearer" = [])), responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(
    State(ctx): State<AppContext>,
    user: CurrentUser,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    accounts::logout(&ctx, &user.0, &req.refresh).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// The token from the link mailed (43 URL-safe characters).
    #[schema(min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]{43}$")]
    pub token: String,
}

#[utoipa::path(post, path = "/api/v1/auth/verify", tag = "auth", request_body = TokenRequest,
    responses((status = 204), (status = 422, body = ErrorBody)))]
async fn verify(
    State(ctx): State<AppContext>,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<StatusCode, ApiError> {
    accounts::verify_email(&ctx, &req.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/auth/email/confirm", tag = "auth", request_body = TokenRequest, security(("bearer" = [])),
    description = "Follows the link an e-mail change sent to the new address, signed in as the account that asked for it: the account signs in with the new address from now on (verified), and every other session and token of the account ends.",
    responses((status = 204), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`invalid_token` (also for another account's link), or the address was taken meanwhile")))]
pub(crate) async fn confirm_email(
    State(ctx): State<AppContext>,
    user: CurrentUser,
    ApiSession(family): ApiSession,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<StatusCode, ApiError> {
    let keep = accounts::Keep::api(family);
    accounts::email_change::confirm(&ctx, &req.token, &user.0, keep).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ForgotRequest {
    pub email: String,
}

#[utoipa::path(post, path = "/api/v1/auth/forgot", tag = "auth", request_body = ForgotRequest,
    responses((status = 202, description = "Always, whether or not the address has an account (an address that had enough reset mails for now gets none)"),
        (status = 429, body = ErrorBody, description = "This client asked for too many mails, whatever the addresses"),
        (status = 503, body = ErrorBody, description = "The job queue cannot take the request (the same for every address)")))]
async fn forgot(
    State(ctx): State<AppContext>,
    ClientId(client): ClientId,
    ApiJson(req): ApiJson<ForgotRequest>,
) -> Result<StatusCode, ApiError> {
    accounts::forgot_password(&ctx, &req.email, &client).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ResetRequest {
    /// The token from the link mailed (43 URL-safe characters).
    #[schema(min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]{43}$")]
    pub token: String,
    /// The new password: 10 to 128 characters, not only digits.
    #[schema(min_length = 10, max_length = 128, pattern = r"\D")]
    pub password: String,
}

#[utoipa::path(post, path = "/api/v1/auth/reset", tag = "auth", request_body = ResetRequest,
    responses((status = 204), (status = 422, body = ErrorBody)))]
async fn reset(
    State(ctx): State<AppContext>,
    ApiJson(req): ApiJson<ResetRequest>,
) -> Result<StatusCode, ApiError> {
    accounts::reset_password(&ctx, &req.token, &req.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new()
        .prefix("/api/v1/auth")
        .add("/register", axum::routing::post(register))
        .add("/login", axum::routing::post(login))
        .add("/refresh", axum::routing::post(refresh))
        .add("/logout", axum::routing::post(logout))
        .add("/verify", axum::routing::post(verify))
        .add("/email/confirm", axum::routing::post(confirm_email))
        .add("/forgot", axum::routing::post(forgot))
        .add("/reset", axum::routing::post(reset))
}
