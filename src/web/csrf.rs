//! CSRF protection for every state-changing HTML request (synchronizer token in the session).
//!
//! Every unsafe request outside `/api` must carry the session's token, either in the
//! `X-CSRF-Token` header (htmx sends it from the page's meta tag) or as the `csrf_token` field
//! of a urlencoded or multipart form. The API is exempt: it authenticates with bearer tokens, which a browser
//! never attaches on its own.
use axum::{
    body::{to_bytes, Body, Bytes},
    extract::{Request, State},
    http::{header, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};
use loco_rs::app::AppContext;
use tower_sessions::Session;

use crate::{
    domain::secrets::constant_time_eq,
    errors::{AppError, PageError},
    settings::Settings,
};

const SESSION_KEY: &str = "csrf_token";
pub const FORM_FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";

/// The session's token, created on first use.
///
/// # Errors
/// Session store failures.
pub async fn token(session: &Session) -> Result<String, AppError> {
    if let Some(t) = session
        .get::<String>(SESSION_KEY)
        .await
        .map_err(AppError::internal)?
    {
        return Ok(t);
    }
    renew(session).await
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

pub async fn verify(State(ctx): State<AppContext>, req: Request, next: Next) -> Response {
    if is_exempt(&req) {
        return next.run(req).await;
    }
    let forbidden = || PageError(AppError::Forbidden).into_response();
    let Some(session) = req.extensions().get::<Session>().cloned() else {
        return forbidden();
    };
    let Ok(Some(expected)) = session.get::<String>(SESSION_KEY).await else {
        return forbidden();
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
    let settings = Settings::get(&ctx);
    let multipart = content_type.starts_with("multipart/form-data");
    if !multipart && !content_type.starts_with("application/x-www-form-urlencoded") {
        return forbidden();
    }
    // The body is read before any handler has checked who is asking, so only an upload form,
    // posted by someone signed in, may make us hold more than an ordinary form.
    let upload = multipart && is_upload_route(req.uri().path());
    if upload && !may_upload(&ctx, &session).await {
        return forbidden();
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
