//! CSRF protection for every state-changing HTML request (synchronizer token).
//!
//! Every unsafe request outside `/api` must carry the expected token, either in the
//! `X-CSRF-Token` header (htmx sends it from the page's meta tag) or as the `csrf_token` field
//! of a urlencoded or multipart form. The API is exempt: it authenticates with bearer tokens, which a browser
//! never attaches on its own.
//!
//! Where the token lives: a signed-in session keeps its own (renewed at login). A visitor
//! without one gets a token derived from a random `emporium_csrf` cookie with a server-side
//! HMAC, so rendering a page never has to create a session. That matters beyond saving a
//! write per first visit: an answer that created a session would set a new session cookie,
//! and a request sent with the session of before a login (htmx requests still in flight)
//! would so replace the new session's cookie and sign the person out.
use axum::{
    body::{to_bytes, Body, Bytes},
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use loco_rs::app::AppContext;
use ring::hmac;
use tower_sessions::Session;

use crate::{
    domain::secrets::constant_time_eq,
    errors::{AppError, ErrorPage, PageError},
    settings::Settings,
};

const SESSION_KEY: &str = "csrf_token";
pub const FORM_FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";
/// The cookie holding a visitor's random CSRF seed.
pub const VISITOR_COOKIE: &str = "emporium_csrf";

/// The server key that turns a visitor's cookie into their token (made at boot from the
/// secrets key, so every web process derives the same token).
#[derive(Clone)]
pub struct CsrfKey(hmac::Key);

impl CsrfKey {
    #[must_use]
    pub fn new(secret: &str) -> Self {
        Self(hmac::Key::new(
            hmac::HMAC_SHA256,
            format!("emporium csrf\n{secret}").as_bytes(),
        ))
    }

    fn token_for(&self, seed: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(hmac::sign(&self.0, seed.as_bytes()).as_ref())
    }

    /// # Panics
    /// When the boot did not store the key (a programming error).
    #[must_use]
    pub fn get(ctx: &AppContext) -> std::sync::Arc<Self> {
        ctx.shared_store
            .get::<std::sync::Arc<Self>>()
            .expect("the CSRF key is stored during boot")
    }
}

/// This request's visitor token (from its `emporium_csrf` cookie, or one just made for it).
#[derive(Clone, Debug)]
pub struct VisitorToken(pub String);

/// The token the pages of this request carry: the session's own when it has one, otherwise the
/// visitor's. Nothing is written for a visitor; without a visitor token (a request that did
/// not pass [`verify`]) one is stored in the session.
///
/// # Errors
/// Session store failures.
pub async fn token(session: &Session, visitor: Option<&VisitorToken>) -> Result<String, AppError> {
    if let Some(t) = session
        .get::<String>(SESSION_KEY)
        .await
        .map_err(AppError::internal)?
    {
        return Ok(t);
    }
    match visitor {
        Some(v) => Ok(v.0.clone()),
        None => renew(session).await,
    }
}

/// Replaces the session's token (at login), so one seen before cannot be used after.
///
/// # Errors
/// Session store failures.
pub async fn renew(session: &Session) -> Result<String, AppError> {
    let t = crate::models::tokens::new_secret();
    session
        .insert(SESSION_KEY, &t)
        .await
        .map_err(AppError::internal)?;
    Ok(t)
}

/// The visitor seed sent in `req`'s cookies, when it is one we could have made.
fn visitor_seed(req: &Request) -> Option<String> {
    super::cookie(req, VISITOR_COOKIE)
        .map(str::to_string)
        .filter(|v| {
            v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn visitor_cookie(seed: &str, settings: &Settings) -> Option<HeaderValue> {
    let max_age = settings.sessions.ttl_days.saturating_mul(86_400);
    let secure = if settings.sessions.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{VISITOR_COOKIE}={seed}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

/// Whether the session's user may post to the upload forms (catalogue managers, with a live
/// session): checked before their large bodies are read.
async fn may_upload(ctx: &AppContext, session: &Session) -> bool {
    matches!(
        crate::web::html::signed_in_user(ctx, session).await,
        Ok(Some(u)) if crate::domain::role::Role::CATALOGUE_MANAGERS.contains(&u.role())
    )
}

/// The HTML routes that take files (product images, product CSV imports).
fn is_upload_route(path: &str) -> bool {
    path == "/admin/products/import"
        || path
            .strip_prefix("/admin/products/")
            .and_then(|rest| rest.strip_suffix("/images/upload"))
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

fn is_exempt(req: &Request) -> bool {
    matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) || req.uri().path().starts_with("/api/")
}

/// Gives every HTML request its visitor token (setting the cookie on the answer when the
/// browser had none). Runs outside the error pages, which render with the token.
pub async fn visitor(State(ctx): State<AppContext>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.starts_with("/api/") {
        return next.run(req).await;
    }
    // Files are cached (by proxies too) and must not carry a cookie.
    let files = path.starts_with("/static/") || path.starts_with("/media/");
    let sent_seed = visitor_seed(&req);
    let seed = sent_seed
        .clone()
        .unwrap_or_else(crate::models::tokens::new_secret);
    let visitor = VisitorToken(CsrfKey::get(&ctx).token_for(&seed));
    req.extensions_mut().insert(visitor);
    let mut res = next.run(req).await;
    if sent_seed.is_none() && !files {
        if let Some(cookie) = visitor_cookie(&seed, &Settings::get(&ctx)) {
            res.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }
    res
}

/// The page a refused form was posted from (a local path), to offer as the way back.
fn came_from(req: &Request) -> Option<String> {
    let referer = req.headers().get(header::REFERER)?.to_str().ok()?;
    let url = url::Url::parse(referer).ok()?;
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    crate::domain::redirect::local_path(&path).map(str::to_string)
}

/// A form posted with a missing or stale token: most often a page left open across a login,
/// a logout or a restart. Said as such, with the way back to the form.
fn expired(req: &Request) -> Response {
    let mut res = StatusCode::FORBIDDEN.into_response();
    res.extensions_mut().insert(ErrorPage {
        status: StatusCode::FORBIDDEN,
        title: Some("This form has expired".into()),
        message: "The page was open for a long time, or you signed in or out meanwhile, so it \
                  was not sent. Go back, reload the page and try again."
            .into(),
        back: came_from(req),
    });
    res
}

/// Checks the token of unsafe requests (inside the error pages, so a refusal is a page).
pub async fn verify(State(ctx): State<AppContext>, req: Request, next: Next) -> Response {
    if is_exempt(&req) {
        return next.run(req).await;
    }
    let Some(visitor) = req.extensions().get::<VisitorToken>().cloned() else {
        return expired(&req);
    };
    let ctx = &ctx;
    let forbidden = {
        let refused = expired(&req);
        move || refused
    };
    let Some(session) = req.extensions().get::<Session>().cloned() else {
        return forbidden();
    };
    let expected = match session.get::<String>(SESSION_KEY).await {
        Ok(Some(own)) => own,
        Ok(None) => visitor.0,
        Err(_) => return forbidden(),
    };
    if let Some(sent) = req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return if constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
            next.run(req).await
        } else {
            forbidden()
        };
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let settings = Settings::get(ctx);
    let multipart = content_type.starts_with("multipart/form-data");
    if !multipart && !content_type.starts_with("application/x-www-form-urlencoded") {
        return forbidden();
    }
    // The body is read before any handler has checked who is asking, so only an upload form,
    // posted by someone signed in, may make us hold more than an ordinary form.
    let upload = multipart && is_upload_route(req.uri().path());
    if upload && !may_upload(ctx, &session).await {
        return PageError(AppError::Forbidden).into_response();
    }
    let limit = if upload {
        settings.upload_body_limit()
    } else {
        settings.limits.max_body_bytes
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, limit).await else {
        return PageError(AppError::PayloadTooLarge).into_response();
    };
    let sent = if multipart {
        multipart_token(&bytes, &content_type).await
    } else {
        form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == FORM_FIELD)
            .map(|(_, v)| v.into_owned())
    };
    match sent {
        Some(s) if constant_time_eq(s.as_bytes(), expected.as_bytes()) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => forbidden(),
    }
}

/// The token field of a multipart form (file uploads without JS). Forms put it first, so
/// the file parts after it are not read.
async fn multipart_token(bytes: &Bytes, content_type: &str) -> Option<String> {
    let boundary = multer::parse_boundary(content_type).ok()?;
    let mut form = multer::Multipart::new(Body::from(bytes.clone()).into_data_stream(), boundary);
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some(FORM_FIELD) {
            return field.text().await.ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_upload_forms_count_as_uploads() {
        assert!(super::is_upload_route("/admin/products/import"));
        assert!(super::is_upload_route(
            "/admin/products/0b8f9c3e-1111-4c4c-9a9a-000000000000/images/upload"
        ));
        for not in [
            "/account/profile",
            "/admin/products/new",
            "/admin/products//images/upload",
            "/admin/products/a/b/images/upload",
            "/admin/products/import/extra",
        ] {
            assert!(!super::is_upload_route(not), "{not}");
        }
    }
}
