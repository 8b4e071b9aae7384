//! `Idempotency-Key` on API POSTs: a repeat with the same key and caller within 24 h returns the
//! first response and does nothing again; concurrent repeats wait for the first to finish.
use std::time::Duration;

use axum::{
    body::{to_bytes, Body},
    extract::Request,
    http::{request::Parts, HeaderName, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use loco_rs::app::AppContext;

use crate::{
    errors::{ApiError, AppError},
    models::idempotency::{self, Attempt, Claim, Outcome, Produced, Saved},
    models::tokens::hash_secret,
    settings::Settings,
    web::extract::{api_key, bearer_claims, client_id, live_user},
};

pub const HEADER: &str = "idempotency-key";
const MAX_KEY_LEN: usize = 255;
/// Largest response we store for replay; bigger ones are not idempotent-cached.
const MAX_STORED_RESPONSE: usize = 1024 * 1024;
/// How long a repeat waits for the original request before answering 409.
const WAIT_FOR_ORIGINAL: Duration = Duration::from_secs(10);

/// Who a stored outcome belongs to: the authenticated caller, checked here, before any replay.
/// `None` when the credentials do not hold (forged, revoked, ended session): the request then
/// goes to its handler, which refuses it, and nothing stored is ever shown for it.
///
/// # Errors
/// `Unavailable` when the database cannot tell: the request is then refused (503) rather than
/// run without its key's protection.
async fn owner(ctx: &AppContext, parts: &Parts) -> Result<Option<String>, AppError> {
    let checked = |r: Result<_, AppError>| match r {
        Ok(v) => Ok(Some(v)),
        Err(e @ AppError::Unavailable(_)) => Err(e),
        Err(_) => Ok(None),
    };
    if let Some(key) = api_key(parts) {
        let path = parts.uri.path();
        let known = checked(
            crate::models::api_keys::authenticate(&ctx.db, key, parts.method.as_str(), path).await,
        )?;
        return Ok(known.map(|_| format!("key:{}", hash_secret(key))));
    }
    Ok(match bearer_claims(ctx, parts) {
        Ok(Some(claims)) => {
            checked(live_user(ctx, &claims).await)?.map(|user| format!("user:{}", user.pid))
        }
        Ok(None) => {
            // A guest is its client, its cart and the order token it holds: two guests behind
            // one address do not share outcomes, and a stored answer about an order is never
            // replayed to someone without that order's token.
            let secret = |name: &str| {
                parts
                    .headers
                    .get(name)
                    .map(|t| hash_secret(t.to_str().unwrap_or_default()))
                    .unwrap_or_default()
            };
            let cart = secret(crate::controllers::api::v1::cart::CART_TOKEN);
            let order = secret(crate::controllers::api::v1::orders::ORDER_TOKEN);
            // One hash of the three: the owner column holds 100 characters, and an IPv6
            // client with two token hashes would not fit.
            let who = hash_secret(&format!("{}:{cart}:{order}", client_id(ctx, parts)));
            Some(format!("anon:{who}"))
        }
        Err(_) => None,
    })
}

/// Requests whose answers are credentials (access and refresh tokens): never stored, never
/// replayed.
fn carries_secrets(path: &str) -> bool {
    matches!(path, "/api/v1/auth/login" | "/api/v1/auth/refresh")
}

/// Marks a response that shows a new secret once (an API key, a webhook signing secret): it is
/// not kept for replay, so the idempotency table never holds a secret in clear. A repeat with
/// the same key is told (409) that the request was carried out and its secret shown once; it
/// does not make a second key.
#[derive(Debug, Clone, Copy)]
pub struct ShowsSecret;

/// `res` marked with [`ShowsSecret`].
pub fn shows_secret(res: impl IntoResponse) -> Response {
    let mut res = res.into_response();
    res.extensions_mut().insert(ShowsSecret);
    res
}

/// Wraps `next` for POST requests that carry the header; everything else passes through.
pub async fn handle(ctx: &AppContext, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || carries_secrets(req.uri().path()) {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(HEADER).cloned() else {
        return next.run(req).await;
    };
    let key = match key.to_str() {
        Ok(k) if !k.trim().is_empty() && k.len() <= MAX_KEY_LEN => k.trim().to_string(),
        _ => {
            return ApiError(AppError::BadRequest(format!(
                "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters."
            )))
            .into_response()
        }
    };
    let (parts, body) = req.into_parts();
    let owner = match owner(ctx, &parts).await {
        Ok(Some(owner)) => owner,
        Ok(None) => return next.run(Request::from_parts(parts, body)).await,
        Err(e) => return ApiError(e).into_response(),
    };
    let settings = Settings::get(ctx);
    let is_upload = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    // Image uploads are the one kind of body allowed beyond the JSON limit.
    let limit = if is_upload {
        settings.upload_body_limit()
    } else {
        settings.limits.max_body_bytes
    };
    let Ok(bytes) = to_bytes(body, limit).await else {
        return ApiError(AppError::PayloadTooLarge).into_response();
    };
    let request_hash = request_hash(&settings.secrets_key, parts.uri.path(), &bytes);

    let deadline = tokio::time::Instant::now() + WAIT_FOR_ORIGINAL;
    let (attempt, recovered) =
        loop {
            match idempotency::claim(&ctx.db, &owner, &key, &request_hash).await {
                Err(e) => return ApiError(e).into_response(),
                Ok(Claim::Acquired(a)) => break (a, None),
                Ok(Claim::Recovered(a, outcome)) => break (a, Some(outcome)),
                Ok(Claim::Replay(saved)) => return replay(saved),
                Ok(Claim::Mismatch) => {
                    return ApiError(AppError::Unprocessable {
                        code: "idempotency_key_reused",
                        message: "This Idempotency-Key was already used for a different request."
                            .into(),
                    })
                    .into_response()
                }
                // A holder that died stops renewing its lease, which then runs out well before
                // this wait does: a retry after a crash takes the key over instead of hearing 409.
                Ok(Claim::InProgress) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(Claim::InProgress) => return ApiError(AppError::Conflict(
                    "A request with this Idempotency-Key is still being processed; retry later."
                        .into(),
                ))
                .into_response(),
            }
        };

    // Renewed while this request runs; dropped (a client gone, a panic) it stops, and the
    // lease runs out for a retry to take over.
    let _renewal = Renewal::start(ctx, attempt);
    // A guest's first add made a cart whose token only that lost answer carried: nobody can
    // reach it, so running the add again (into a new cart) is the faithful answer.
    let unreachable_cart = recovered
        .as_ref()
        .is_some_and(|o| o.produced == Some(Produced::Cart))
        && !parts
            .headers
            .contains_key(crate::controllers::api::v1::cart::CART_TOKEN)
        && owner.starts_with("anon:");
    let answered = recovered
        .as_ref()
        .is_some_and(|o| !o.runs_again() && !unreachable_cart);
    // That answer is final, as a stored one is.
    let secret_lost = recovered
        .as_ref()
        .is_some_and(|o| o.produced == Some(Produced::Secret));
    let response = match recovered {
        Some(outcome) if answered => recover(ctx, &parts, outcome).await,
        _ => {
            let req = Request::from_parts(parts, Body::from(bytes));
            idempotency::scope(attempt, next.run(req)).await
        }
    };
    let (res_parts, res_body) = response.into_parts();
    let Ok(res_bytes) = to_bytes(res_body, MAX_STORED_RESPONSE).await else {
        let _ = idempotency::release(&ctx.db, attempt).await;
        return ApiError(AppError::Internal(
            "response too large to store for idempotency".into(),
        ))
        .into_response();
    };
    // Server errors are not an outcome worth remembering: the client should be able to retry
    // (and runs again only if nothing was committed; see `idempotency::release`). Nor is a
    // failed read of what a lost attempt produced (deleted meanwhile, say): the next retry
    // reads again.
    let recovered_badly = answered && !secret_lost && !res_parts.status.is_success();
    if res_parts.status.is_server_error() || recovered_badly {
        let _ = idempotency::release(&ctx.db, attempt).await;
    } else if res_parts.extensions.get::<ShowsSecret>().is_some() {
        let (told_parts, told_body) = secret_shown_once().into_parts();
        let body = to_bytes(told_body, MAX_STORED_RESPONSE)
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        let saved = Saved {
            status: told_parts.status.as_u16(),
            headers: vec![("content-type".into(), "application/json".into())],
            body,
        };
        if let Err(e) = idempotency::complete(&ctx.db, attempt, &saved).await {
            tracing::error!(error = %e, "could not store idempotent response");
        }
    } else {
        let saved = Saved {
            status: res_parts.status.as_u16(),
            headers: res_parts
                .headers
                .iter()
                .filter(|(n, _)| !n.as_str().starts_with("x-ratelimit"))
                .filter_map(|(n, v)| Some((n.to_string(), v.to_str().ok()?.to_string())))
                .collect(),
            body: res_bytes.to_vec(),
        };
        if let Err(e) = idempotency::complete(&ctx.db, attempt, &saved).await {
            tracing::error!(error = %e, "could not store idempotent response");
        }
    }
    Response::from_parts(res_parts, Body::from(res_bytes))
}

/// What a repeat of a request that showed a new secret hears: the secret is not kept.
fn secret_shown_once() -> Response {
    ApiError(AppError::Conflict(
        "A request with this Idempotency-Key was carried out; the secret it made (a key, a \
         signing secret, a guest order's token) is shown only in that first answer."
            .into(),
    ))
    .into_response()
}

/// Keeps an attempt's lease alive until dropped.
struct Renewal(tokio::task::JoinHandle<()>);

impl Renewal {
    fn start(ctx: &AppContext, attempt: Attempt) -> Self {
        let db = ctx.db.clone();
        Self(tokio::spawn(async move {
            let mut every = tokio::time::interval(idempotency::RENEW_EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                if let Err(e) = idempotency::renew(&db, attempt).await {
                    tracing::warn!(error = %e, "could not renew an idempotency claim");
                }
            }
        }))
    }
}

impl Drop for Renewal {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The answer to a request whose first attempt died after committing its effect: what it
/// produced, read now (or the answer its use-case wrote), with the status it answered with.
/// The request is not run again.
async fn recover(ctx: &AppContext, parts: &Parts, outcome: Outcome) -> Response {
    let status = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::OK);
    let path = match outcome.produced {
        Some(Produced::Order(id)) => format!("/api/v1/orders/{id}"),
        Some(Produced::Product(id)) => format!("/api/v1/products/{id}"),
        Some(Produced::Cart) => "/api/v1/cart".into(),
        Some(Produced::Wishlist) => "/api/v1/wishlist".into(),
        // A sign-up answers the new account to its (anonymous) maker; an admin's new account
        // is read as the admin reads any account.
        Some(Produced::Account(id)) if parts.uri.path() == "/api/v1/auth/register" => {
            format!("/recovered/registration/{id}")
        }
        Some(Produced::Account(id)) => format!("/api/v1/admin/users/{id}"),
        Some(Produced::Nothing) => return replayed(StatusCode::NO_CONTENT.into_response()),
        Some(Produced::Secret) => return secret_shown_once(),
        Some(Produced::Answer) => {
            return replay(Saved {
                status: status.as_u16(),
                headers: vec![("content-type".into(), "application/json".into())],
                body: outcome.body.unwrap_or_default(),
            })
        }
        Some(Produced::Rerun) | None => {
            return ApiError(AppError::Internal(
                "a rerun has no outcome to answer".into(),
            ))
            .into_response()
        }
    };
    let mut req = Request::get(&path);
    for (name, value) in &parts.headers {
        let skip = [
            axum::http::header::CONTENT_TYPE,
            axum::http::header::CONTENT_LENGTH,
        ];
        if !skip.contains(name) && name.as_str() != HEADER {
            req = req.header(name, value);
        }
    }
    let Ok(req) = req.body(Body::empty()) else {
        return ApiError(AppError::Internal("replay request".into())).into_response();
    };
    let router = axum::Router::new()
        .route(
            "/api/v1/orders/{id}",
            axum::routing::get(crate::controllers::api::v1::orders::show),
        )
        .route(
            "/api/v1/products/{id}",
            axum::routing::get(crate::controllers::api::v1::catalogue::show),
        )
        .route(
            "/api/v1/cart",
            axum::routing::get(crate::controllers::api::v1::cart::show),
        )
        .route(
            "/api/v1/wishlist",
            axum::routing::get(crate::controllers::api::v1::customers::wishlist_list),
        )
        .route(
            "/api/v1/admin/users/{id}",
            axum::routing::get(crate::controllers::api::v1::admin_users::show),
        )
        .route(
            "/recovered/registration/{id}",
            axum::routing::get(crate::controllers::api::v1::auth::registered),
        )
        .with_state(ctx.clone());
    let mut res = match tower::ServiceExt::oneshot(router, req).await {
        Ok(res) => res,
        Err(never) => match never {},
    };
    if res.status().is_success() {
        *res.status_mut() = status;
        res = replayed(res);
    }
    res
}

/// Marks an answer that was not run now, as a stored answer is: told the same way.
fn replayed(mut res: Response) -> Response {
    res.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    res
}

fn replay(saved: Saved) -> Response {
    let mut res = Response::new(Body::from(saved.body));
    *res.status_mut() = StatusCode::from_u16(saved.status).unwrap_or(StatusCode::OK);
    for (name, value) in saved.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            res.headers_mut().append(n, v);
        }
    }
    replayed(res)
}

/// What tells a repeat from another request under the same key. Keyed with the server's secret:
/// bodies hold passwords, and a plain digest stored beside the e-mail address would let anyone
/// who reads the table test guesses offline.
fn request_hash(secret: &str, path: &str, body: &[u8]) -> String {
    use ring::hmac;
    let key = hmac::Key::new(
        hmac::HMAC_SHA256,
        format!("emporium idempotency\n{secret}").as_bytes(),
    );
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(path.as_bytes());
    ctx.update(&[0]);
    ctx.update(body);
    // 240 bits, so that the prefix and the digest fit the column's 64 characters.
    let tag = ctx.sign();
    format!(
        "{}{}",
        idempotency::KEYED_HASH,
        hex::encode(&tag.as_ref()[..30])
    )
}

#[cfg(test)]
mod tests {
    use super::request_hash;

    #[test]
    fn a_request_hash_fits_its_column_and_cannot_be_made_without_the_secret() {
        let body = br#"{"email":"ann@example.com","password":"correct horse"}"#;
        let h = request_hash("secret-a", "/api/v1/auth/register", body);
        assert!(h.starts_with("k1:") && h.len() <= 64, "{h}");
        assert_eq!(h, request_hash("secret-a", "/api/v1/auth/register", body));
        assert_ne!(h, request_hash("secret-b", "/api/v1/auth/register", body));
        assert_ne!(h, request_hash("secret-a", "/api/v1/auth/login", body));
        assert_ne!(h, request_hash("secret-a", "/api/v1/auth/register", b"{}"));
    }
}
