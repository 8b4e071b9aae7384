//! The session cookie is only ever replaced or removed on purpose.
//!
//! tower-sessions removes the cookie of a request whose session it cannot find. That is wrong
//! for a request sent with the session of *before* a login: the login gave the session a new
//! id (no fixation) and deleted the old one, and an answer to a request still in flight (an
//! htmx request of the page, the live stream reconnecting) would then remove the new cookie
//! and sign the person out. Such a request is answered as for a visitor, and the browser's
//! cookie is left as it is; an explicit sign-out (which flushes the session) still removes it.
use axum::{
    extract::Request,
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};
use tower_sessions::Session;

/// The name of the session cookie.
pub const NAME: &str = "emporium_session";

/// Marks an answer whose request named a session that does not exist (any more).
#[derive(Clone, Copy, Debug)]
struct UnknownSession;

/// Inside the session layer: notes when the request's cookie named a session the store does
/// not have. A flush (sign-out) marks the session modified; a failed load does not.
pub async fn note_unknown(req: Request, next: Next) -> Response {
    let session = req.extensions().get::<Session>().cloned();
    let sent = super::cookie(&req, NAME).is_some();
    let mut res = next.run(req).await;
    if let Some(session) = session {
        if sent && session.id().is_none() && !session.is_modified() {
            res.extensions_mut().insert(UnknownSession);
        }
    }
    res
}

/// Outside the session layer: drops the session cookie's removal from answers marked by
/// [`note_unknown`], so the browser keeps whatever session it has now.
pub async fn keep_current(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if res.extensions().get::<UnknownSession>().is_none() {
        return res;
    }
    let prefix = format!("{NAME}=");
    let kept: Vec<HeaderValue> = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter(|v| !v.to_str().is_ok_and(|c| c.starts_with(&prefix)))
        .cloned()
        .collect();
    res.headers_mut().remove(header::SET_COOKIE);
    for v in kept {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}
