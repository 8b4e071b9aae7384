//! Running `emporium-cli` as real processes (the deployment and crash tests): free ports,
//! waiting for health, a database of the test's own, and waiting for something to happen.
use std::{collections::HashMap, process::Stdio, time::Duration};

use sea_orm::{ConnectionTrait, Database};

use super::browser::Browser;

pub async fn free_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

/// Waits (up to a minute) until `base` answers its health check.
pub async fn wait_healthy(http: &Browser, base: &str) {
    for _ in 0..600 {
        if let Ok(Ok(res)) = tokio::time::timeout(
            Duration::from_secs(2),
            http.http.get(format!("{base}/_health").parse().unwrap()),
        )
        .await
        {
            if res.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{base} did not become healthy");
}

/// Waits up to `secs` for `check` to return `Some`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, check: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..secs * 10 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within {secs} s");
}

/// A database for one test: on PostgreSQL (`DATABASE_URL=postgres://…`) a new database,
/// dropped by [`OwnDatabase::drop_it`]; otherwise a SQLite file in a temporary directory.
pub struct OwnDatabase {
    pub url: String,
    root_url: Option<String>,
    name: String,
    dir: Option<std::path::PathBuf>,
}

impl OwnDatabase {
    pub async fn new() -> Self {
        let db_url = std::env::var("DATABASE_URL").unwrap_or_default();
        let id = uuid::Uuid::new_v4().simple().to_string();
        if db_url.starts_with("postgres://") {
            let mut url = url::Url::parse(&db_url).unwrap();
            let name = format!("emporium_t_{}", &id[..16]);
            url.set_path("/postgres");
            let root_url = url.to_string();
            let root = Database::connect(&root_url).await.unwrap();
            root.execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            url.set_path(&format!("/{name}"));
            Self {
                url: url.to_string(),
                root_url: Some(root_url),
                name,
                dir: None,
            }
        } else {
            let dir = std::env::temp_dir().join(format!("emporium-t-{}", &id[..16]));
            std::fs::create_dir_all(&dir).unwrap();
            let url = format!("sqlite://{}/shop.sqlite?mode=rwc", dir.display());
            Self {
                url,
                root_url: None,
                name: String::new(),
                dir: Some(dir),
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.root_url.is_some()
    }

    pub async fn drop_it(self) {
        if let Some(root) = &self.root_url {
            let root = Database::connect(root).await.unwrap();
            let _ = root
                .execute_unprepared(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .await;
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// `emporium-cli` with `args`, in `environment` (`production`, `development`), with `env`.
pub fn cli(
    environment: &str,
    args: &[&str],
    env: &HashMap<&'static str, String>,
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_emporium-cli"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("LOCO_ENV", environment)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    // `PROCESS_LOGS=<dir>` keeps each process's output there, to see why a test failed.
    if let Ok(dir) = std::env::var("PROCESS_LOGS") {
        let name = format!(
            "{dir}/{}-{}.log",
            args.join("-").replace([':', '/'], "_"),
            uuid::Uuid::new_v4().simple()
        );
        if let Ok(file) = std::fs::File::create(name) {
            cmd.stdout(file.try_clone().map_or_else(|_| Stdio::null(), Stdio::from))
                .stderr(Stdio::from(file));
        }
    }
    cmd
}

/// The environment of a production deployment on this machine's services (the deployment
/// and dependency-failure tests): `id` keeps its queue and bucket apart from other tests'.
pub fn production_env(
    database_url: &str,
    redis_url: &str,
    s3_endpoint: &str,
    smtp_port: &str,
    id: &str,
) -> HashMap<&'static str, String> {
    HashMap::from([
        ("DATABASE_URL", database_url.to_string()),
        ("REDIS_URL", redis_url.to_string()),
        (
            "JWT_SECRET",
            "ZGVwbG95bWVudC10ZXN0LXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm".into(),
        ),
        ("BASE_URL", "http://127.0.0.1".into()),
        (
            "SECRETS_KEY",
            "deployment-test-sealing-key-0123456789abcdef".into(),
        ),
        ("JOBS_QUEUE", format!("deploy-{id}")),
        ("LIVE_BACKEND", "redis".into()),
        ("STORAGE_BACKEND", "s3".into()),
        ("S3_ENDPOINT", s3_endpoint.to_string()),
        ("S3_BUCKET", format!("deploy-{}", &id[..12])),
        ("S3_CREATE_BUCKET", "true".into()),
        (
            "S3_ACCESS_KEY_ID",
            std::env::var("S3_ACCESS_KEY").unwrap_or_else(|_| "testing".into()),
        ),
        (
            "S3_SECRET_ACCESS_KEY",
            std::env::var("S3_SECRET_KEY").unwrap_or_else(|_| "testingsecret".into()),
        ),
        ("MAIL_TRANSPORT", "smtp".into()),
        ("SMTP_HOST", "127.0.0.1".into()),
        ("SMTP_PORT", smtp_port.to_string()),
        ("SMTP_TLS", "none".into()),
        ("PAYMENT_PROVIDER", "test".into()),
        // A staging-like shop: production refuses the test provider unless told so.
        ("PAYMENTS_ALLOW_TEST_PROVIDER", "true".into()),
        ("SECURE_COOKIES", "false".into()),
        ("RATE_LIMIT_ANONYMOUS", "100000".into()),
        ("RATE_LIMIT_CUSTOMER", "100000".into()),
        ("RATE_LIMIT_STAFF", "100000".into()),
        ("LOG_LEVEL", "warn".into()),
    ])
}

/// A Redis database of its own (`number`), emptied first.
pub async fn own_redis(redis_url: &str, number: u8) -> String {
    let mut url = url::Url::parse(redis_url).unwrap();
    url.set_path(&format!("/{number}"));
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("FLUSHDB")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    url.to_string()
}

/// Makes a user with `role` through the `create_user` task, as an operator does.
pub async fn create_user(
    env: &HashMap<&'static str, String>,
    environment: &str,
    email: &str,
    role: &str,
) {
    let status = cli(
        environment,
        &[
            "task",
            "create_user",
            &format!("email:{email}"),
            &format!("password:{}", super::PASSWORD),
            &format!("role:{role}"),
        ],
        env,
    )
    .status()
    .await
    .unwrap();
    assert!(status.success(), "create_user {email}");
}

/// The services a production-like test talks to (`scripts/test` starts them).
pub struct Services {
    pub redis: String,
    pub s3: String,
    pub smtp_port: String,
    pub maildir: String,
}

/// The services, or `None` (the test is skipped, unless `EMPORIUM_REQUIRE_SERVICES` makes a
/// missing one fail it).
pub fn services() -> Option<Services> {
    let (Some(redis), Some(s3), Some(smtp_port), Some(maildir)) = (
        super::require("REDIS_URL"),
        super::require("S3_ENDPOINT"),
        super::require("SMTP_PORT"),
        super::require("SMTP_MAILDIR"),
    ) else {
        return None;
    };
    Some(Services {
        redis,
        s3,
        smtp_port,
        maildir,
    })
}

/// The services for a test of a production deployment, which runs on PostgreSQL: `None` on
/// the SQLite pass of the suite (skipped) or without the services.
pub fn production_services() -> Option<Services> {
    if !std::env::var("DATABASE_URL").is_ok_and(|u| u.starts_with("postgres://")) {
        eprintln!("skipped: production runs on PostgreSQL");
        return None;
    }
    services()
}

/// Starts a web process (`start`) on a free port and waits until it is healthy.
pub async fn start_web(
    environment: &str,
    env: &HashMap<&'static str, String>,
) -> (String, tokio::process::Child) {
    let port = free_port().await;
    let mut env = env.clone();
    env.insert("PORT", port.to_string());
    env.insert("BIND", "127.0.0.1".into());
    let base = format!("http://127.0.0.1:{port}");
    let process = cli(environment, &["start"], &env).spawn().unwrap();
    wait_healthy(&Browser::new(), &base).await;
    (base, process)
}
