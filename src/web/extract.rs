//! Request extractors: JSON with our error body, the bearer-authenticated user, the client id.
use std::net::SocketAddr;

use axum::{
    extract::{rejection::JsonRejection, ConnectInfo, FromRequest, FromRequestParts, Request},
    http::{header, request::Parts},
};
use loco_rs::app::AppContext;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::{
    domain::role::Role,
    errors::{ApiError, AppError},
    models::users::{self, Model},
};

/// `axum::Json`, but a malformed body answers API.md's 400 `bad_request` (and a wrong
/// content type 415) instead of axum's plain-text rejection.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => typed(v).map(Self),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(ApiError(AppError::UnsupportedMediaType(
                    "Send JSON with Content-Type: application/json.".into(),
                )))
            }
            Err(JsonRejection::BytesRejection(e))
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(ApiError(AppError::PayloadTooLarge))
            }
            Err(e) => Err(ApiError(AppError::BadRequest(format!(
                "Malformed JSON body: {}",
                e.body_text()
            )))),
        }
    }
}

/// [`ApiJson`] for a body that may be left out (`POST …/receive` with no body receives
/// everything): an empty body or `null` is `None`, anything else must be the JSON `T`.
pub struct MaybeApiJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for MaybeApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes =
            axum::body::Bytes::from_request(Request::from_parts(parts.clone(), body), state)
                .await
                .map_err(|e| {
                    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                        ApiError(AppError::PayloadTooLarge)
                    } else {
                        ApiError(AppError::BadRequest("The body could not be read.".into()))
                    }
                })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        // `null` is the JSON way of sending nothing.
        let ApiJson(v) = ApiJson::<Option<T>>::from_request(req, state).await?;
        Ok(Self(v))
    }
}

/// The verified claims of a bearer access token.
#[derive(Debug, Clone)]
pub struct Claims {
    pub user_pid: Uuid,
    pub role: Role,
    /// The user's session version when the token was issued (0 for tokens from before).
    pub version: i64,
    /// The API session (refresh-token family) the token belongs to.
    pub family: Option<Uuid>,
}

/// The API key sent as the bearer token, if the token is one (`emp_…`).
#[must_use]
pub fn api_key(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))?
        .trim();
    token
        .starts_with(crate::models::api_keys::KEY_PREFIX)
        .then_some(token)
}

/// Reads and verifies `Authorization: Bearer <jwt>`; `None` when the header is absent, or
/// when the bearer is an API key (checked with its scopes by [`CurrentUser`]).
///
/// # Errors
/// `AppError::Unauthorized` for a malformed, forged or expired token.
pub fn bearer_claims(ctx: &AppContext, parts: &Parts) -> Result<Option<Claims>, AppError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    if api_key(parts).is_some() {
        return Ok(None);
    }
    let invalid =
        || AppError::Unauthorized("The access token is missing, invalid or expired.".into());
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or_else(invalid)?
        .trim();
    let jwt = ctx.config.get_jwt_config().map_err(AppError::from)?;
    let data = loco_rs::auth::jwt::JWT::new(&jwt.secret)
        .validate(token)
        .map_err(|_| invalid())?;
    if data.claims.claims.get("typ").and_then(|v| v.as_str()) != Some("access") {
        return Err(invalid());
    }
    let user_pid = Uuid::parse_str(&data.claims.pid).map_err(|_| invalid())?;
    let role = data
        .claims
        .claims
        .get("role")
        .and_then(|v| v.as_str())
        .and_then(|r| r.parse().ok())
        .ok_or_else(invalid)?;
    let version = data
        .claims
        .claims
        .get("sv")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0);
    let family = data
        .claims
        .claims
        .get("fam")
        .and_then(|v| v.as_str())
        .and_then(|f| Uuid::parse_str(f).ok());
    Ok(Some(Claims {
        user_pid,
        role,
        version,
        family,
    }))
}

/// The user behind a valid bearer token. The row is loaded on every request so that a
/// deactivated or deleted user, or a session ended since (password change, "sign out
/// everywhere else", …), is locked out at once, not when the token expires.
pub struct CurrentUser(pub Model);

/// The user of a verified token's claims, if that session is still live.
///
/// # Errors
/// `Unauthorized` for a deleted or deactivated user or an ended session.
pub async fn live_user(ctx: &AppContext, claims: &Claims) -> Result<Model, AppError> {
    let unauthorized =
        || AppError::Unauthorized("The access token is missing, invalid or expired.".into());
    let user = users::find_by_pid(&ctx.db, claims.user_pid)
        .await
        .map_err(|e| match e {
            // The database being down is not the token's fault: 503, to be retried.
            AppError::Unavailable(_) => e,
            _ => unauthorized(),
        })?;
    if !user.active || !user.session_is_current(claims.version, claims.family) {
        return Err(unauthorized());
    }
    Ok(user)
}

impl FromRequestParts<AppContext> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &AppContext,
    ) -> Result<Self, Self::Rejection> {
        let unauthorized =
            || AppError::Unauthorized("The access token is missing, invalid or expired.".into());
        if let Some(key) = api_key(parts) {
            // A key acts as the admin who issued it, within its scopes for this request.
            let path = parts
                .extensions
                .get::<axum::extract::OriginalUri>()
                .map_or_else(|| parts.uri.path().to_string(), |u| u.0.path().to_string());
            let user =
                crate::models::api_keys::authenticate(&ctx.db, key, parts.method.as_str(), &path)
                    .await?;
            return Ok(Self(user));
        }
        let claims = bearer_claims(ctx, parts)?.ok_or_else(unauthorized)?;
        let user = live_user(ctx, &claims).await?;
        // Tokens issued before the shop required two-factor login for staff stop working.
        if crate::models::two_factor::setup_required(&crate::settings::Settings::get(ctx), &user) {
            return Err(ApiError(AppError::TwoFactorSetupRequired));
        }
        Ok(Self(user))
    }
}

/// The client's address, used to key rate limits and login throttling.
pub struct ClientId(pub String);

impl FromRequestParts<AppContext> for ClientId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &AppContext,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_id(ctx, parts)))
    }
}

/// The client's address: the peer, or the client a trusted proxy names (`TRUSTED_PROXIES`,
/// see [`crate::web::client_ip`]).
#[must_use]
pub fn client_id(ctx: &AppContext, parts: &Parts) -> String {
    let Some(peer) = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip())
    else {
        return "unknown".to_string();
    };
    // Bytes a client wrote that are not text must not make our proxy's own entry unreadable.
    let forwarded: Vec<String> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let forwarded: Vec<&str> = forwarded.iter().map(String::as_str).collect();
    ctx.shared_store
        .get_ref::<crate::web::client_ip::TrustedProxies>()
        .map_or(peer, |t| t.client(peer, &forwarded))
        .to_string()
}

/// A set of roles allowed through [`Authorized`].
pub trait RoleSet: Send + Sync {
    const ROLES: &'static [Role];
}

pub struct AdminOnly;

impl RoleSet for AdminOnly {
    const ROLES: &'static [Role] = &[Role::Admin];
}

/// The roles that manage the catalogue (PRODUCT.md "Roles").
pub struct CatalogueManagers;

impl RoleSet for CatalogueManagers {
    const ROLES: &'static [Role] = Role::CATALOGUE_MANAGERS;
}

/// Staff and admins: purchase orders, the stock ledger, notifications (API.md "Back office").
pub struct StaffAndAdmins;

impl RoleSet for StaffAndAdmins {
    const ROLES: &'static [Role] = &[Role::Staff, Role::Admin];
}

/// The bearer-authenticated user when a token is sent; `None` for an anonymous caller. A token
/// that is sent but invalid is still a 401.
pub struct MaybeUser(pub Option<Model>);

impl FromRequestParts<AppContext> for MaybeUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &AppContext,
    ) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            let CurrentUser(user) = CurrentUser::from_request_parts(parts, ctx).await?;
            Ok(Self(Some(user)))
        } else {
            Ok(Self(None))
        }
    }
}

/// Who is reading a public endpoint: anonymous, or a verified bearer token's claims (staff see
/// inactive products). A present but invalid token, or one whose session has ended, is still
/// a 401.
pub struct Viewer(pub Option<Claims>);

impl Viewer {
    #[must_use]
    pub fn is_staff(&self) -> bool {
        self.0.as_ref().is_some_and(|c| c.role.is_staff())
    }
}

impl FromRequestParts<AppContext> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &AppContext,
    ) -> Result<Self, Self::Rejection> {
        let Some(mut claims) = bearer_claims(ctx, parts)? else {
            return Ok(Self(None));
        };
        // The role that counts is the one the user has now, not the one in the token.
        claims.role = live_user(ctx, &claims).await?.role();
        Ok(Self(Some(claims)))
    }
}

/// The API session (refresh-token family) of the caller's access token, if it has one: the
/// session that survives when the caller ends its other sessions.
pub struct ApiSession(pub Option<Uuid>);

impl FromRequestParts<AppContext> for ApiSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &AppContext,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(bearer_claims(ctx, parts)?.and_then(|c| c.family)))
    }
}

/// The bearer-authenticated user, already checked against the role set `R`. As an extractor it
/// runs before the body is parsed, so a caller without the right role gets 401/403 and never a
/// validation error that would reveal the endpoint's shape.
pub struct Authorized<R: RoleSet>(pub Model, std::marker::PhantomData<R>);

impl<R: RoleSet> FromRequestParts<AppContext> for Authorized<R> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &AppContext,
    ) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, ctx).await?;
        if !R::ROLES.contains(&user.role()) {
            return Err(ApiError(AppError::Forbidden));
        }
        Ok(Self(user, std::marker::PhantomData))
    }
}

/// A JSON body that may be left out entirely (an empty body reads as `T::default()`), for
/// actions whose fields are all optional, like `POST /orders/{id}/ship`.
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError(AppError::PayloadTooLarge))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError(AppError::BadRequest(format!("Malformed JSON body: {e}"))))?;
        typed(value).map(Self)
    }
}

/// Reads a parsed body as `T`. JSON has one kind of number: `3.0` is the integer 3 to JSON
/// Schema (and to JavaScript, which cannot tell them apart), so whole floats are read as
/// integers before serde, which would refuse them for an integer field.
fn typed<T: DeserializeOwned>(mut value: serde_json::Value) -> Result<T, ApiError> {
    fn whole_numbers(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Number(n) if n.is_f64() => {
                if let Some(f) = n.as_f64() {
                    // Strictly inside i64's range: -2^63 is exact, 2^63 is not an i64.
                    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
                    if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 {
                        *v = serde_json::Value::from(f as i64);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(whole_numbers),
            serde_json::Value::Object(fields) => fields.values_mut().for_each(whole_numbers),
            _ => {}
        }
    }
    whole_numbers(&mut value);
    serde_json::from_value(value)
        .map_err(|e| ApiError(AppError::BadRequest(format!("Malformed JSON body: {e}"))))
}
