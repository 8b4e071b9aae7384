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
    cmd
}
