//! The HTML side's shared pieces: the `page` context every template gets (shop name, CSRF
//! token, signed-in user, flash messages), rendering, login state and error pages.
use std::sync::Arc;

use axum::{
    extract::{FromRequestParts, Request, State},
    http::{request::Parts, HeaderValue, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Redirect, Response},
};
use loco_rs::{
    app::AppContext,
    controller::views::{engines::TeraView, ViewRenderer},
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tower_sessions::Session;
use uuid::Uuid;

use crate::{
    domain::{role::Role, validation::FieldErrors},
    errors::{AppError, ErrorPage, PageError},
    models::{
        actor::Actor,
        users::{self, Model},
    },
    settings::Settings,
};

const USER_KEY: &str = "user_pid";
/// The user's session version when this session signed in (see `models::accounts::revocation`).
const VERSION_KEY: &str = "session_version";
const FLASH_KEY: &str = "flash";
/// A guest's cart token, kept in their session until they log in.
pub const CART_TOKEN_KEY: &str = "cart_token";
/// The guest orders this session may open (their links were followed here).
const GUEST_ORDERS_KEY: &str = "guest_orders";
const MAX_GUEST_ORDERS: usize = 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: String,
    pub message: String,
}

/// Queues a message for the next page this session renders.
pub async fn flash(session: &Session, kind: &str, message: impl Into<String>) {
    let mut list: Vec<Flash> = session
        .get(FLASH_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    list.push(Flash {
        kind: kind.into(),
        message: message.into(),
    });
    let _ = session.insert(FLASH_KEY, list).await;
}

/// Signs the session in, with a fresh session id (no session fixation) and a fresh CSRF token
/// (a token seen before the login is worth nothing after it).
///
/// # Errors
/// Session store failures.
pub async fn sign_in(session: &Session, user: &Model) -> Result<(), AppError> {
    session.cycle_id().await.map_err(AppError::internal)?;
    crate::web::csrf::renew(session).await?;
    // Guest orders opened in this browser stay with whoever opened them, not the account now
    // signed in (a shared computer, or a link planted by someone else).
    session
        .remove::<Vec<Uuid>>(GUEST_ORDERS_KEY)
        .await
        .map_err(AppError::internal)?;
    session
        .insert(USER_KEY, user.pid)
        .await
        .map_err(AppError::internal)?;
    keep_signed_in(session, user).await
}

/// Moves this (signed-in) session to the user's current session version, after an action of
/// its own ended every other session (password change, two-factor on, "sign out everywhere
/// else").
///
/// # Errors
/// Session store failures.
pub async fn keep_signed_in(session: &Session, user: &Model) -> Result<(), AppError> {
    session
        .insert(VERSION_KEY, user.session_version)
        .await
        .map_err(AppError::internal)
}

/// Ends the session entirely (data and cookie).
///
/// # Errors
/// Session store failures.
pub async fn sign_out(session: &Session) -> Result<(), AppError> {
    session.flush().await.map_err(AppError::internal)
}

/// Whether a stored session record (read without the session layer, as the live stream's
/// recheck does) is still signed in as `user`.
#[must_use]
pub fn record_signed_in_as(data: &std::collections::HashMap<String, Value>, user: &Model) -> bool {
    let pid = data
        .get(USER_KEY)
        .and_then(|v| serde_json::from_value::<Uuid>(v.clone()).ok());
    let version = data.get(VERSION_KEY).and_then(Value::as_i64).unwrap_or(0);
    pid == Some(user.pid) && user.active && user.session_is_current(version, None)
}

/// The signed-in user of a live session (active, session not ended), for checks made before a
/// page handler runs.
///
/// # Errors
/// Session store or database failures.
pub async fn signed_in_user(
    ctx: &AppContext,
    session: &Session,
) -> Result<Option<Model>, AppError> {
    session_user(ctx, session).await
}

async fn session_user(ctx: &AppContext, session: &Session) -> Result<Option<Model>, AppError> {
    let Some(pid) = session
        .get::<Uuid>(USER_KEY)
        .await
        .map_err(AppError::internal)?
    else {
        return Ok(None);
    };
    // Sessions from before versions existed read as version 0, the version users start at.
    let version = session
        .get::<i64>(VERSION_KEY)
        .await
        .map_err(AppError::internal)?
        .unwrap_or(0);
    match users::find_by_pid(&ctx.db, pid).await {
        // Ended by another session of the user. It is only read as signed out, not flushed:
        // the session that ended it may be this one, with its own update still in flight.
        Ok(u) if u.active && !u.session_is_current(version, None) => Ok(None),
        Ok(u) if u.active => Ok(Some(u)),
        Ok(_) | Err(AppError::NotFound) => {
            // Deactivated or deleted since sign-in: end the session now.
            sign_out(session).await?;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Everything a page handler needs about the request's session.
pub struct Page {
    pub ctx: AppContext,
    pub session: Session,
    pub user: Option<Model>,
    pub path: String,
    /// The CSRF token of a visitor without a session token (see `web::csrf`).
    pub visitor: Option<crate::web::csrf::VisitorToken>,
}

impl FromRequestParts<AppContext> for Page {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &AppContext,
    ) -> Result<Self, Self::Rejection> {
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| AppError::Internal("session layer missing".into()))?;
        let user = session_user(ctx, &session).await?;
        Ok(Self {
            ctx: ctx.clone(),
            session,
            user,
            path: parts.uri.path().to_string(),
            visitor: parts.extensions.get().cloned(),
        })
    }
}

impl Page {
    /// The `page` object of the templates (see `assets/views/layouts/base.html`).
    ///
    /// # Errors
    /// Session store failures.
    pub async fn context(&self, title: &str) -> Result<Value, AppError> {
        let settings = Settings::get(&self.ctx);
        // Read first: removing marks the session modified even when there is nothing to
        // remove, and a modified session is written back — a database write per page view.
        let flash: Vec<Flash> = self
            .session
            .get(FLASH_KEY)
            .await
            .map_err(AppError::internal)?
            .unwrap_or_default();
        if !flash.is_empty() {
            self.session
                .remove_value(FLASH_KEY)
                .await
                .map_err(AppError::internal)?;
        }
        let user = self.user.as_ref().map(|u| {
            json!({
                "email": u.email, "first_name": u.first_name, "last_name": u.last_name,
                "role": u.role, "is_staff": u.role().is_staff(),
                "manages_catalogue": Role::CATALOGUE_MANAGERS.contains(&u.role()),
            })
        });
        Ok(json!({
            "title": title,
            "shop_name": settings.shop_name,
            "csrf_token": crate::web::csrf::token(&self.session, self.visitor.as_ref()).await?,
            "user": user,
            "flash": flash,
            "cart_count": self.cart_count().await?,
            "path": self.path,
            "description": "",
            "price_note": settings.checkout.price_note(),
        }))
    }

    /// Renders `template` with `data` plus the `page` object, with `status`.
    ///
    /// # Errors
    /// Template or session errors.
    pub async fn render_status(
        &self,
        status: StatusCode,
        template: &str,
        title: &str,
        mut data: Value,
    ) -> Result<Response, PageError> {
        data["page"] = self.context(title).await?;
        if let Some(d) = data.get("meta_description").cloned() {
            data["page"]["description"] = d;
        }
        let html = engine(&self.ctx)
            .render(template, data)
            .map_err(AppError::from)?;
        let mut res = (status, Html(html)).into_response();
        res.headers_mut()
            .insert("vary", HeaderValue::from_static("HX-Request"));
        // Pages carry this browser's CSRF token (and who is signed in): never from a shared cache.
        res.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
        Ok(res)
    }

    /// # Errors
    /// Template or session errors.
    pub async fn render(
        &self,
        template: &str,
        title: &str,
        data: Value,
    ) -> Result<Response, PageError> {
        self.render_status(StatusCode::OK, template, title, data)
            .await
    }

    /// The guest cart token of this session, if a cart was started before logging in.
    ///
    /// # Errors
    /// Session store failures.
    pub async fn cart_token(&self) -> Result<Option<String>, AppError> {
        self.session
            .get::<String>(CART_TOKEN_KEY)
            .await
            .map_err(AppError::internal)
    }

    /// The session's cart (the user's, or the guest's by its token); none is created.
    ///
    /// # Errors
    /// Session or database errors.
    pub async fn cart(&self) -> Result<Option<crate::models::_entities::carts::Model>, AppError> {
        use crate::models::carts::{self, CartKey};
        if let Some(u) = &self.user {
            return carts::find(&self.ctx.db, &CartKey::User(u)).await;
        }
        match self.cart_token().await? {
            Some(t) => carts::find(&self.ctx.db, &CartKey::Guest(&t)).await,
            None => Ok(None),
        }
    }

    /// Units in the session's cart for the header; no query for a visitor without a cart.
    async fn cart_count(&self) -> Result<i64, AppError> {
        match self.cart().await? {
            Some(c) => crate::models::carts::item_count(&self.ctx.db, c.id).await,
            None => Ok(0),
        }
    }

    /// Who acts, for timelines and the stock ledger.
    #[must_use]
    pub fn actor(&self) -> crate::models::actor::Actor {
        self.user.as_ref().map_or_else(
            crate::models::actor::Actor::anonymous,
            crate::models::actor::Actor::user,
        )
    }

    /// The signed-in user.
    ///
    /// # Errors
    /// `Unauthorized` when nobody is signed in (rendered as a redirect to the login page).
    pub fn require_user(&self) -> Result<&Model, PageError> {
        self.user
            .as_ref()
            .ok_or_else(|| PageError(AppError::Unauthorized("Please log in.".into())))
    }

    /// The signed-in user if their role is one of `roles`.
    ///
    /// # Errors
    /// `Unauthorized` when signed out; `Forbidden` for other roles; `TwoFactorSetupRequired`
    /// for staff without two-factor login when the shop requires it.
    pub fn require_role(&self, roles: &[Role]) -> Result<&Model, PageError> {
        let user = self.require_user()?;
        if !roles.contains(&user.role()) {
            return Err(PageError(AppError::Forbidden));
        }
        if crate::models::two_factor::setup_required(&Settings::get(&self.ctx), user) {
            return Err(PageError(AppError::TwoFactorSetupRequired));
        }
        Ok(user)
    }

    /// Remembers that this visitor followed the secret link of the guest order `pid` (or placed
    /// it): its pages open for them without an account, in this session only.
    ///
    /// # Errors
    /// Session store failures.
    pub async fn grant_guest_order(&self, pid: Uuid) -> Result<(), AppError> {
        let mut granted = self.guest_orders().await;
        granted.retain(|p| *p != pid);
        granted.push(pid);
        if granted.len() > MAX_GUEST_ORDERS {
            granted.remove(0);
        }
        self.session
            .insert(GUEST_ORDERS_KEY, granted)
            .await
            .map_err(AppError::internal)
    }

    async fn guest_orders(&self) -> Vec<Uuid> {
        self.session
            .get(GUEST_ORDERS_KEY)
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Who acts on the order `pid` from the shop's pages: its signed-in owner, a visitor whose
    /// session holds the guest link of it, or else the signed-in user (who then finds no such
    /// order of theirs). Nobody signed in and no link: the login page.
    ///
    /// # Errors
    /// `Unauthorized` (the login page) or database errors.
    pub async fn order_actor(&self, pid: Uuid) -> Result<Actor, PageError> {
        use crate::models::_entities::orders;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let owner = self.user.as_ref().map(Actor::user);
        if self.guest_orders().await.contains(&pid) {
            let order = orders::Entity::find()
                .filter(orders::Column::Pid.eq(pid))
                .one(&self.ctx.db)
                .await?
                .ok_or(AppError::NotFound)?;
            return Ok(match owner {
                Some(o) if o.owns(&order) => o,
                // Given to an account since: the link no longer opens it.
                _ if order.user_id.is_some() => return Err(PageError(AppError::NotFound)),
                _ => Actor::guest(&order),
            });
        }
        owner.ok_or_else(|| PageError(AppError::Unauthorized("Please log in.".into())))
    }

    /// Whether the request came from htmx (render a fragment instead of the full page).
    #[must_use]
    pub fn is_htmx(headers: &axum::http::HeaderMap) -> bool {
        headers.contains_key("hx-request")
    }
}

fn login_redirect(path: &str) -> Response {
    let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
    Redirect::to(&format!("/login?next={next}")).into_response()
}

/// Anticipated failures re-render the form (422) with messages; the rest become error pages.
/// Messages that belong to no field are under `_form`.
///
/// # Errors
/// The error itself, as an error page, when no form could show it.
/// Whether an API document (invoice, credit note) is asked for as its printable page.
#[must_use]
pub fn wants_html(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

pub fn form_errors(e: AppError) -> Result<FieldErrors, PageError> {
    match e {
        AppError::Validation(f) => Ok(f),
        AppError::Unauthorized(m) | AppError::Conflict(m) => Ok(FieldErrors::single("_form", m)),
        AppError::Unprocessable { message, .. } => Ok(FieldErrors::single("_form", message)),
        AppError::InvalidTransition(t) => Ok(FieldErrors::single("_form", t.to_string())),
        e @ AppError::TooManyPendingOrders { .. } => {
            Ok(FieldErrors::single("_form", e.to_string()))
        }
        AppError::InsufficientStock(short) => {
            let mut f = FieldErrors::new();
            for s in &short {
                f.add("_form", s.message());
            }
            Ok(f)
        }
        AppError::RateLimited { retry_after } => Ok(FieldErrors::single(
            "_form",
            format!(
                "Too many attempts. Try again in {} minutes.",
                retry_after.div_ceil(60)
            ),
        )),
        other => Err(PageError(other)),
    }
}

/// An anticipated failure as one sentence, for a flash message or a small fragment (the
/// rest become error pages, as with [`form_errors`]).
///
/// # Errors
/// The error itself, as an error page, when it is not anticipated.
pub fn error_sentence(e: AppError) -> Result<String, PageError> {
    let errors = form_errors(e)?;
    Ok(errors
        .0
        .values()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(" "))
}

/// Only plain local paths are followed after login (no open redirect, never a 500 for a
/// value that is no header); see [`crate::domain::redirect`].
#[must_use]
pub fn safe_next(next: &str) -> &str {
    crate::domain::redirect::local_or(next, "/account")
}

/// The page templates, loaded at boot.
///
/// # Panics
/// Only if called before boot finished, which is a programming error.
#[must_use]
pub fn engine(ctx: &AppContext) -> Arc<TeraView> {
    ctx.shared_store
        .get::<Arc<TeraView>>()
        .expect("view engine is loaded during boot")
}

/// Turns error responses of HTML routes (marked by `PageError`, or bare 404/405 from the
/// router) into the shop's error page.
pub async fn error_pages(State(ctx): State<AppContext>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let session = req.extensions().get::<Session>().cloned();
    let visitor = req.extensions().get().cloned();
    // After logging in, only a page can be returned to, not the form post that needed a login.
    let path = if req.method() == axum::http::Method::GET {
        req.uri().path().to_string()
    } else {
        "/account".to_string()
    };
    let res = next.run(req).await;
    let status = res.status();
    let page = match res.extensions().get::<ErrorPage>() {
        Some(p) => p.clone(),
        None if (status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED)
            && !res.headers().contains_key(axum::http::header::CONTENT_TYPE) =>
        {
            ErrorPage {
                status,
                message: AppError::from_status(status).to_string(),
                title: None,
                back: None,
            }
        }
        None => return res,
    };
    if page.status == StatusCode::UNAUTHORIZED {
        return login_redirect(&path);
    }
    let Some(session) = session else { return res };
    let user = session_user(&ctx, &session).await.ok().flatten();
    let view = Page {
        ctx,
        session,
        user,
        path,
        visitor,
    };
    let title = page.status.canonical_reason().unwrap_or("Error");
    match view
        .render_status(
            page.status,
            "errors/error.html",
            page.title.as_deref().unwrap_or(title),
            json!({ "status": page.status.as_u16(), "message": page.message,
                    "title": page.title, "back": page.back }),
        )
        .await
    {
        Ok(mut rendered) => {
            for (k, v) in res.headers() {
                if k == axum::http::header::RETRY_AFTER {
                    rendered.headers_mut().insert(k, v.clone());
                }
            }
            rendered
        }
        Err(e) => {
            tracing::error!(error = ?e.0, "could not render the error page");
            (page.status, page.message).into_response()
        }
    }
}

/// The Content-Security-Policy values, built once at start-up: images may also come from the
/// object store's origin (S3 presigned URLs).
#[derive(Clone)]
pub struct SecurityHeaders {
    pages: HeaderValue,
    docs: HeaderValue,
    /// `Strict-Transport-Security`, only when the shop is served over https (secure cookies):
    /// sent over plain http it would lock a development shop out of its own browser.
    hsts: Option<HeaderValue>,
}

impl SecurityHeaders {
    /// # Panics
    /// Never: the origin comes from a parsed URL, which holds no header-invalid bytes.
    #[must_use]
    pub fn new(media_origin: Option<&str>, checkout_origin: Option<&str>, https: bool) -> Self {
        let img = media_origin.map_or_else(
            || "img-src 'self' data:".to_string(),
            |o| format!("img-src 'self' data: {o}"),
        );
        let form_action = checkout_origin.map_or_else(
            || "form-action 'self'".to_string(),
            |o| format!("form-action 'self' {o}"),
        );
        // No inline scripts anywhere; Swagger UI's stylesheet uses inline styles.
        let pages = format!(
            "default-src 'self'; {img}; style-src 'self'; script-src 'self'; frame-src 'self'; frame-ancestors 'none'; {form_action}; base-uri 'none'; object-src 'none'"
        );
        let docs = format!(
            "default-src 'self'; {img}; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        );
        Self {
            pages: HeaderValue::from_str(&pages).expect("ASCII policy"),
            docs: HeaderValue::from_str(&docs).expect("ASCII policy"),
            hsts: https.then(|| HeaderValue::from_static("max-age=63072000; includeSubDomains")),
        }
    }
}

/// Security headers on every response.
pub async fn security_headers(
    State(policy): State<SecurityHeaders>,
    req: Request,
    next: Next,
) -> Response {
    let docs = req.uri().path() == "/api/docs";
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "referrer-policy",
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), usb=()"),
    );
    if let Some(hsts) = policy.hsts {
        h.insert("strict-transport-security", hsts);
    }
    let csp = if docs { policy.docs } else { policy.pages };
    h.entry("content-security-policy").or_insert(csp);
    res
}

/// The router fallback: API.md's JSON 404 under `/api`, the shop's 404 page elsewhere.
pub async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        crate::errors::ApiError(AppError::NotFound).into_response()
    } else {
        PageError(AppError::NotFound).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::SecurityHeaders;

    #[test]
    fn the_policy_allows_images_from_the_object_store_only_when_it_is_elsewhere() {
        let local = SecurityHeaders::new(None, None, false);
        assert!(local.hsts.is_none(), "no HSTS over plain http");
        assert!(local
            .pages
            .to_str()
            .unwrap()
            .contains("img-src 'self' data:;"));
        let s3 = SecurityHeaders::new(
            Some("https://shop.s3.eu-west-1.amazonaws.com"),
            Some("https://checkout.stripe.com"),
            true,
        );
        assert_eq!(
            s3.hsts.as_ref().unwrap().to_str().unwrap(),
            "max-age=63072000; includeSubDomains"
        );
        assert!(s3
            .pages
            .to_str()
            .unwrap()
            .contains("form-action 'self' https://checkout.stripe.com;"));
        for v in [&s3.pages, &s3.docs] {
            assert!(v
                .to_str()
                .unwrap()
                .contains("img-src 'self' data: https://shop.s3.eu-west-1.amazonaws.com;"));
        }
        assert!(!s3.pages.to_str().unwrap().contains("unsafe-inline"));
    }
}
