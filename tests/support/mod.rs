//! Test harness: one helper per endpoint the tests use, plus factories.
#![allow(dead_code)]
use std::sync::Arc;

use axum::http::{HeaderName, HeaderValue};
use axum_test::TestResponse;
use emporium::{
    app::App,
    domain::{account::Registration, role::Role},
    models::{
        _entities::mail_outbox,
        accounts::{self, Origin},
        users::Model,
    },
    settings::Settings,
};
use loco_rs::TestServer;
use loco_rs::{app::AppContext, testing::prelude::*};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};

pub const PASSWORD: &str = "correct horse battery";

/// Boots the app on a fresh database and runs `f` against an in-memory HTTP server.
pub async fn with_app<F, Fut>(f: F)
where
    F: FnOnce(TestServer, AppContext) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    request_config_with_create_db::<App, _, _>(
        RequestConfigBuilder::new().save_cookies(true).build(),
        f,
    )
    .await;
}

/// Creates a verified user with `role` directly through the model layer.
pub async fn user(ctx: &AppContext, email: &str, role: Role) -> Model {
    let reg = Registration::parse(email, PASSWORD, "Test", "User", role).unwrap();
    accounts::register(ctx, reg, Origin::Provisioned)
        .await
        .unwrap()
}

pub fn bearer(token: &str) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static("authorization"),
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    )
}

/// Logs in through the API and returns the JSON body (`access`, `refresh`, `user`).
pub async fn login(server: &TestServer, email: &str, password: &str) -> Value {
    let res = server
        .post("/api/v1/auth/login")
        .json(&json!({ "email": email, "password": password }))
        .await;
    res.assert_status_ok();
    res.json::<Value>()
}

pub async fn access_token(
    server: &TestServer,
    ctx: &AppContext,
    email: &str,
    role: Role,
) -> String {
    user(ctx, email, role).await;
    login(server, email, PASSWORD).await["access"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Asserts API.md's error body and returns it.
pub fn assert_error(res: &TestResponse, status: u16, code: &str) -> Value {
    assert_eq!(res.status_code().as_u16(), status, "body: {}", res.text());
    let body: Value = res.json();
    assert_eq!(body["error"]["code"], code, "body: {body}");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert!(body["error"]["details"].is_object());
    body
}

/// All outbox mails to `to`, oldest first.
pub async fn mails_to(ctx: &AppContext, to: &str) -> Vec<mail_outbox::Model> {
    mail_outbox::Entity::find()
        .filter(mail_outbox::Column::ToAddress.eq(to))
        .order_by_asc(mail_outbox::Column::Id)
        .all(&ctx.db)
        .await
        .unwrap()
}

/// The `token=` value of the first link in the newest mail of `kind` to `to`.
pub async fn token_from_mail(ctx: &AppContext, to: &str, kind: &str) -> String {
    let mail = mails_to(ctx, to)
        .await
        .into_iter()
        .rev()
        .find(|m| m.kind == kind)
        .expect("mail was queued");
    let start = mail
        .text_body
        .find("token=")
        .expect("mail has a token link")
        + "token=".len();
    mail.text_body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// Replaces the settings for this app instance (e.g. lower rate limits).
pub fn set_settings(ctx: &AppContext, f: impl FnOnce(&mut Settings)) {
    let mut s = (*Settings::get(ctx)).clone();
    f(&mut s);
    ctx.shared_store.insert(Arc::new(s));
}

/// The CSRF token from a rendered page's meta tag.
pub fn csrf_from(html: &str) -> String {
    let start = html
        .find("name=\"csrf-token\" content=\"")
        .expect("page has a csrf meta tag")
        + "name=\"csrf-token\" content=\"".len();
    html[start..].chars().take_while(|c| *c != '"').collect()
}

/// Whether a service-backed test must run (scripts/test sets this; a bare `cargo test` skips them).
pub fn require(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                std::env::var("EMPORIUM_REQUIRE_SERVICES").is_err(),
                "{var} must be set when EMPORIUM_REQUIRE_SERVICES is"
            );
            eprintln!("skipped: {var} is not set");
            None
        }
    }
}
