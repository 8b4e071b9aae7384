//! The one error type of the HTTP layer and its one mapping to responses.
//!
//! Domain and model functions return their own small enums; each converts into [`AppError`],
//! which knows its status, API.md code and public message. Two renderers use that one mapping:
//! [`ApiError`] writes API.md's `{"error": {"code", "message", "details"}}` body and
//! [`PageError`] marks the response so the HTML layer renders `errors/error.html`.
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use sea_orm::DbErr;
use serde_json::json;

use crate::domain::{order_status::InvalidTransition, stock::Shortage, validation::FieldErrors};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400 `bad_request`: the body could not be parsed at all (malformed JSON, wrong type).
    #[error("{0}")]
    BadRequest(String),
    /// 401 `unauthorized`: no valid credentials (missing, invalid or expired token; wrong password).
    #[error("{0}")]
    Unauthorized(String),
    /// 401 `otp_required`: the password was right, and the account also needs a two-factor
    /// code (send `otp` with the login).
    #[error("Enter the code from your authenticator app (or a recovery code) as `otp`.")]
    OtpRequired,
    /// 403 `forbidden`: authenticated, but the role or scope does not allow this.
    #[error("You are not allowed to do this.")]
    Forbidden,
    /// 403 `two_factor_required`: the shop requires staff to use two-factor login and this
    /// account has not set it up (pages send the user to the set-up page instead).
    #[error("Set up two-factor login in your account before using the staff tools.")]
    TwoFactorSetupRequired,
    /// 404 `not_found`: no such resource, or one that belongs to someone else (never reveal it).
    #[error("Not found.")]
    NotFound,
    /// 405 `method_not_allowed`.
    #[error("Method not allowed.")]
    MethodNotAllowed,
    /// 409 `conflict`: the request clashes with current state (duplicate, already done).
    #[error("{0}")]
    Conflict(String),
    /// 409 `insufficient_stock`: some lines cannot be had in the quantity asked; `details` maps
    /// each short product id to sentences naming the variant and what is left.
    #[error("Some items are not available in the quantity requested.")]
    InsufficientStock(Vec<Shortage>),
    /// 409 `invalid_transition`: the order's state machine has no such step from its state.
    #[error("{0}")]
    InvalidTransition(#[from] InvalidTransition),
    /// 409 `too_many_pending_orders`: the customer already has as many unpaid orders as the shop
    /// allows at once (stops one account holding back stock with orders it never pays).
    #[error(
        "You already have {limit} unpaid orders: pay or cancel one of them before placing another."
    )]
    TooManyPendingOrders { limit: u64 },
    /// 413 `payload_too_large`: the body exceeds the configured limit.
    #[error("The request body is too large.")]
    PayloadTooLarge,
    /// 415 `unsupported_media_type`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422 `validation_failed`: well-formed input that breaks a rule; `details` names each field.
    #[error("Some fields are invalid.")]
    Validation(FieldErrors),
    /// 422 with a specific code, for rules that are not about one field.
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// 429 `rate_limited`, with `Retry-After`.
    #[error("Too many requests. Try again in {retry_after} seconds.")]
    RateLimited { retry_after: u64 },
    /// 503 `unavailable`: a dependency (database, queue) is down.
    #[error("{0}")]
    Unavailable(String),
    /// 500 `internal_error`: anything unanticipated. The cause is logged, never shown.
    #[error("Something went wrong on our side.")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AppError {
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) | Self::OtpRequired => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::TwoFactorSetupRequired => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_)
            | Self::InsufficientStock(_)
            | Self::InvalidTransition(_)
            | Self::TooManyPendingOrders { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) | Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// API.md's snake_case error code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::OtpRequired => "otp_required",
            Self::Forbidden => "forbidden",
            Self::TwoFactorSetupRequired => "two_factor_required",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::InsufficientStock(_) => "insufficient_stock",
            Self::InvalidTransition(_) => "invalid_transition",
            Self::TooManyPendingOrders { .. } => "too_many_pending_orders",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Validation(_) => "validation_failed",
            Self::Unprocessable { code, .. } => code,
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    #[must_use]
    pub fn details(&self) -> serde_json::Value {
        match self {
            Self::Validation(fields) => json!(fields),
            Self::InsufficientStock(short) => {
                let mut by_product = FieldErrors::new();
                for s in short {
                    by_product.add(&s.product_id.to_string(), s.message());
                }
                json!(by_product)
            }
            _ => json!({}),
        }
    }

    /// Wraps any unexpected failure; it is logged with its cause chain and shown as a 500.
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(e))
    }

    /// The generic error for a bare status code (router fallbacks, middleware rejections).
    #[must_use]
    pub fn from_status(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => Self::BadRequest("The request could not be understood.".into()),
            401 => Self::Unauthorized("Authentication required.".into()),
            403 => Self::Forbidden,
            404 => Self::NotFound,
            405 => Self::MethodNotAllowed,
            409 => Self::Conflict("The request conflicts with the current state.".into()),
            413 => Self::PayloadTooLarge,
            415 => Self::UnsupportedMediaType("Unsupported content type.".into()),
            422 => Self::Validation(FieldErrors::new()),
            429 => Self::RateLimited { retry_after: 60 },
            503 => Self::Unavailable("Service unavailable.".into()),
            _ => Self::Internal(format!("unexpected status {status}").into()),
        }
    }

    fn log(&self) {
        if let Self::Internal(cause) = self {
            let mut chain = cause.to_string();
            let mut source = cause.source();
            while let Some(s) = source {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                source = s.source();
            }
            tracing::error!(error = %chain, "internal error");
        } else {
            tracing::debug!(code = self.code(), message = %self, "request rejected");
        }
    }
}

impl AppError {
    /// `Retry-After` for the errors that have one: a rate limit's wait, or a short one while a
    /// dependency is down.
    fn write_retry_after(&self, res: &mut Response) {
        let secs = match self {
            Self::RateLimited { retry_after } => *retry_after,
            Self::Unavailable(_) => u64::from(RETRY_AFTER_UNAVAILABLE_SECS),
            _ => return,
        };
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
}

impl From<DbErr> for AppError {
    fn from(e: DbErr) -> Self {
        match e {
            DbErr::RecordNotFound(_) => Self::NotFound,
            e if database_unreachable(&e) => {
                tracing::warn!(error = %e, "database unreachable");
                Self::Unavailable(
                    "The shop cannot reach its database right now; please try again in a moment."
                        .into(),
                )
            }
            other => Self::internal(other),
        }
    }
}

/// How long a client is asked to wait (`Retry-After`) when a dependency is down.
pub const RETRY_AFTER_UNAVAILABLE_SECS: u32 = 5;

/// Whether a database error says the database cannot be reached (down, restarting, the
/// network gone, no connection to be had in time) rather than that the statement failed: the
/// request then fails fast with 503 and `Retry-After`, and the pool reconnects by itself once
/// the database is back.
#[must_use]
pub fn database_unreachable(e: &DbErr) -> bool {
    use sea_orm::{sqlx, RuntimeErr};
    match e {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(_)) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                // PostgreSQL shutting down, starting up, or ending connections (class 57P).
                sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("57P")),
                _ => false,
            }
        }
        _ => false,
    }
}

impl From<FieldErrors> for AppError {
    fn from(e: FieldErrors) -> Self {
        Self::Validation(e)
    }
}

impl From<loco_rs::Error> for AppError {
    fn from(e: loco_rs::Error) -> Self {
        Self::internal(e)
    }
}

/// Renders an [`AppError`] as API.md's JSON error body.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let err = self.0;
        err.log();
        let body = json!({
            "error": {
                "code": err.code(),
                "message": err.to_string(),
                "details": err.details(),
            }
        });
        let mut res = (err.status(), Json(body)).into_response();
        err.write_retry_after(&mut res);
        res
    }
}

/// What the HTML layer needs to render an error page; put on the response by [`PageError`].
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub status: StatusCode,
    pub message: String,
    /// A heading other than the status's own.
    pub title: Option<String>,
    /// Where the person was (a local path), offered as the way back.
    pub back: Option<String>,
}

/// Renders an [`AppError`] as an HTML page: the `error_pages` middleware turns the marked response
/// into `errors/error.html` with the shop layout, or, for a missing login, into a redirect to
/// `/login` that comes back to the page afterwards.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let err = self.0;
        err.log();
        if matches!(err, AppError::TwoFactorSetupRequired) {
            return axum::response::Redirect::to("/account/two-factor").into_response();
        }
        let status = err.status();
        // An unavailable dependency is said as such (its message names no host); other
        // server errors stay vague.
        let message = if status.is_server_error() && !matches!(err, AppError::Unavailable(_)) {
            "Something went wrong on our side. Please try again.".to_string()
        } else {
            err.to_string()
        };
        let mut res = status.into_response();
        err.write_retry_after(&mut res);
        res.extensions_mut().insert(ErrorPage {
            status,
            message,
            title: None,
            back: None,
        });
        res
    }
}

/// Maps unique-constraint violations to a domain error at the call site, portably across
/// SQLite and PostgreSQL (never check-then-insert).
pub trait DbResultExt<T> {
    /// # Errors
    /// `on_unique()` when the database reports a unique violation, otherwise the original error.
    fn on_unique(self, on_unique: impl FnOnce() -> AppError) -> Result<T, AppError>;
}

impl<T> DbResultExt<T> for Result<T, DbErr> {
    fn on_unique(self, on_unique: impl FnOnce() -> AppError) -> Result<T, AppError> {
        self.map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => on_unique(),
            _ => AppError::from(e),
        })
    }
}

/// Whether a database error is a foreign-key violation. SQLite reports a violated parent
/// delete with code 1811 as well as 787, and sea-orm only classifies the latter.
#[must_use]
pub fn is_foreign_key_violation(e: &DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
    ) || e.to_string().contains("FOREIGN KEY constraint failed")
}

pub type AppResult<T> = Result<T, AppError>;
