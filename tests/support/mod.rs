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
use loco_rs::{
    app::{AppContext, Hooks},
    boot::{BootResult, StartMode},
    environment::Environment,
    testing::prelude::*,
};
use sea_orm::ConnectionTrait;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};

pub mod browser;
pub mod catalogue;
pub mod fake_stripe;
pub mod faults;
pub mod orders;
pub mod processes;
pub mod receiver;

pub const PASSWORD: &str = "correct horse battery";

/// The app booted on its own fresh database: a temporary SQLite file, or a new PostgreSQL
/// database when `DATABASE_URL` is `postgres://…`. (Loco's `boot_test_with_create_db` cannot
/// drop a PostgreSQL database while the app's pool still holds connections.)
pub struct TestApp {
    pub boot: BootResult,
    pub ctx: AppContext,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(std::path::PathBuf),
    Postgres { root_url: String, db_name: String },
}

pub async fn boot() -> TestApp {
    let mut config = App::load_config(&Environment::Test).await.unwrap();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let cleanup = if config.database.uri.starts_with("postgres://") {
        let mut url = url::Url::parse(&config.database.uri).unwrap();
        let db_name = format!("emporium_t_{}", &id[..16]);
        url.set_path("/postgres");
        let root_url = url.to_string();
        create_migrated_postgres(&url, &db_name).await;
        url.set_path(&format!("/{db_name}"));
        config.database.uri = url.to_string();
        Cleanup::Postgres { root_url, db_name }
    } else {
        let dir = std::env::temp_dir().join(format!("emporium-test-{id}"));
        std::fs::create_dir_all(&dir).unwrap();
        config.database.uri = format!("sqlite://{}?mode=rwc", dir.join("test.sqlite").display());
        Cleanup::Sqlite(dir)
    };
    let boot = App::boot(StartMode::ServerOnly, &Environment::Test, config)
        .await
        .unwrap();
    let ctx = boot.app_context.clone();
    ctx.shared_store.insert(AppRouter(
        boot.router.clone().expect("web mode has a router"),
    ));
    TestApp { boot, ctx, cleanup }
}

/// The template the suite's PostgreSQL databases are copied from, named after the migrations'
/// sources so that a changed migration makes a new one.
fn template_name() -> String {
    use sha2::{Digest, Sha256};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migration/src");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut hasher = Sha256::new();
    for f in files {
        hasher.update(f.file_name().unwrap().as_encoded_bytes());
        hasher.update(std::fs::read(&f).unwrap());
    }
    format!("emporium_tpl_{}", &hex::encode(hasher.finalize())[..16])
}

/// Creates the database `name` on the server of `url` (any database path), already migrated: a
/// copy of a template migrated once, instead of running every migration for each of the
/// suite's apps (which took most of the PostgreSQL run).
pub async fn create_migrated_postgres(url: &url::Url, name: &str) {
    use migration::MigratorTrait;
    let mut root_url = url.clone();
    root_url.set_path("/postgres");
    let root = sea_orm::Database::connect(root_url.as_str()).await.unwrap();
    let template = template_name();
    let exists = |db: String| {
        let root = &root;
        async move {
            root.query_one_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT 1 FROM pg_database WHERE datname = $1",
                [db.into()],
            ))
            .await
            .unwrap()
            .is_some()
        }
    };
    if !exists(template.clone()).await {
        // Built under a name of its own and renamed when done: tests racing to build it never
        // copy a half-migrated one, and the loser drops its copy.
        let building = format!(
            "emporium_tb_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..16]
        );
        root.execute_unprepared(&format!("CREATE DATABASE {building}"))
            .await
            .unwrap();
        let mut building_url = url.clone();
        building_url.set_path(&format!("/{building}"));
        let db = sea_orm::Database::connect(building_url.as_str())
            .await
            .unwrap();
        migration::Migrator::up(&db, None).await.unwrap();
        db.close().await.unwrap();
        let renamed = root
            .execute_unprepared(&format!("ALTER DATABASE {building} RENAME TO {template}"))
            .await;
        if renamed.is_err() {
            root.execute_unprepared(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
                .await
                .unwrap();
        } else {
            // Templates of earlier migrations would pile up on a developer's server; one in use
            // by a copy being made refuses the drop, which is fine.
            let stale = root
                .query_all_raw(sea_orm::Statement::from_sql_and_values(
                    sea_orm::DbBackend::Postgres,
                    "SELECT datname FROM pg_database WHERE datname LIKE 'emporium\\_tpl\\_%' AND datname <> $1",
                    [template.clone().into()],
                ))
                .await
                .unwrap();
            for row in stale {
                let old: String = row.try_get("", "datname").unwrap();
                let _ = root
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {old}"))
                    .await;
            }
        }
    }
    root.execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
        .await
        .unwrap();
    root.close().await.unwrap();
}

/// The booted app's router, kept so that a test can open more browsers on it.
#[derive(Clone)]
struct AppRouter(axum::Router);

/// A client for the app on a loopback port that keeps its own cookies like a browser: one per
/// device of a test's user.
pub fn browser(ctx: &AppContext) -> TestServer {
    let router = ctx
        .shared_store
        .get::<AppRouter>()
        .expect("booted by support::boot")
        .0;
    TestServer::new_with_config(
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        RequestConfigBuilder::new().save_cookies(true).build(),
    )
    .unwrap()
}

impl TestApp {
    /// A client for the app on a loopback port that keeps cookies like a browser.
    pub fn server(&self) -> TestServer {
        browser(&self.ctx)
    }

    /// Closes the pool and deletes the database.
    pub async fn cleanup(self) {
        let _ = self.ctx.db.clone().close().await;
        match self.cleanup {
            Cleanup::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { root_url, db_name } => {
                let root = sea_orm::Database::connect(&root_url).await.unwrap();
                root.execute_unprepared(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
                    .await
                    .unwrap();
                let _ = root.close().await;
            }
        }
    }
}

/// Boots the app on a fresh database and runs `f` against an in-memory HTTP server.
pub async fn with_app<F, Fut>(f: F)
where
    F: FnOnce(TestServer, AppContext) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let app = boot().await;
    f(app.server(), app.ctx.clone()).await;
    app.cleanup().await;
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

/// Signs out whoever is signed in and posts the login form for `email` (with `next`, when
/// given); returns the answer.
pub async fn post_login(
    server: &TestServer,
    email: &str,
    next: Option<&str>,
) -> axum_test::TestResponse {
    let csrf = csrf_from(&server.get("/").await.text());
    server
        .post("/logout")
        .form(&[("csrf_token", csrf.as_str())])
        .await;
    let csrf = csrf_from(&server.get("/login").await.text());
    let mut fields = vec![
        ("csrf_token", csrf.as_str()),
        ("email", email),
        ("password", PASSWORD),
    ];
    if let Some(next) = next {
        fields.push(("next", next));
    }
    server.post("/login").form(&fields).await
}

/// Signs out whoever is signed in, signs `email` in through the login form, and returns the
/// CSRF token of the new session.
pub async fn sign_in(server: &TestServer, email: &str) -> String {
    let res = post_login(server, email, None).await;
    assert_eq!(res.status_code(), 303, "{}", res.text());
    csrf_from(&server.get("/").await.text())
}

/// A plain HTTP GET against a real server (S3, the app on a port): status, content type, body.
pub async fn http_get(url: &str) -> (u16, String, Vec<u8>) {
    use http_body_util::{BodyExt, Empty};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<bytes::Bytes>>();
    let res = client.get(url.parse().unwrap()).await.unwrap();
    let status = res.status().as_u16();
    let ctype = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, ctype, body)
}

/// A GET with `Authorization: Bearer <token>` against a real server: status, content type, body.
pub async fn http_get_bearer(url: &str, token: &str) -> (u16, String, Vec<u8>) {
    use http_body_util::{BodyExt, Empty};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<bytes::Bytes>>();
    let req = hyper::Request::get(url)
        .header("authorization", format!("Bearer {token}"))
        .body(Empty::new())
        .unwrap();
    let res = client.request(req).await.unwrap();
    let status = res.status().as_u16();
    let ctype = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, ctype, body)
}

/// A PNG of the given size with a colour gradient.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 120])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A multipart body with an `image` file field (and `alt`), and its content type.
pub fn multipart_image(
    bytes: &[u8],
    filename: &str,
    alt: &str,
) -> axum_test::multipart::MultipartForm {
    axum_test::multipart::MultipartForm::new()
        .add_text("alt", alt.to_string())
        .add_part(
            "image",
            axum_test::multipart::Part::bytes(bytes.to_vec()).file_name(filename.to_string()),
        )
}

/// The text of each element matching `selector` (tags stripped, trimmed).
pub fn texts(html: &str, selector: &str) -> Vec<String> {
    loco_rs::testing::prelude::select(html, selector)
        .iter()
        .map(|h| {
            let mut out = String::new();
            let mut in_tag = false;
            for c in h.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => out.push(c),
                    _ => {}
                }
            }
            out.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

/// The location of a 303 answer.
pub fn location(res: &axum_test::TestResponse) -> String {
    assert_eq!(
        res.status_code(),
        303,
        "{}",
        &res.text()[res.text().len().saturating_sub(3000)..]
    );
    res.headers()["location"].to_str().unwrap().to_string()
}

/// Follows a 303 and returns the page it leads to (with the flash message it carries).
pub async fn follow(server: &TestServer, res: &axum_test::TestResponse) -> String {
    let to = location(res);
    let page = server.get(&to).await;
    page.assert_status_ok();
    page.text()
}
