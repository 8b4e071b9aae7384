//! Browser journeys in real headless Chromium (Debian's chromium + chromedriver), against the
//! app served on a loopback port.
use std::{net::SocketAddr, process::Stdio, time::Duration};

use emporium::domain::role::Role;
use fantoccini::{wd::Capabilities, Client, ClientBuilder, Locator};
use loco_rs::app::AppContext;
use serde_json::json;
use serial_test::serial;

use crate::support::{self, PASSWORD};

/// A running app, a chromedriver and a browser session; all torn down on drop.
struct Browser {
    client: Client,
    base: String,
    ctx: AppContext,
    _driver: tokio::process::Child,
    app: Option<support::TestApp>,
    _profile: std::path::PathBuf,
}

async fn free_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

async fn start(chromedriver: &str) -> Browser {
    let app = support::boot().await;
    let ctx = app.ctx.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    support::set_settings(&ctx, |s| s.base_url = base.clone());
    let router = app.boot.router.clone().expect("web mode has a router");
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });

    let port = free_port().await;
    let driver = tokio::process::Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let profile = std::env::temp_dir().join(format!("emporium-chrome-{}", uuid::Uuid::new_v4()));
    let mut caps = Capabilities::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1280,900", format!("--user-data-dir={}", profile.display())],
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let mut client = None;
    for _ in 0..100 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    Browser {
        client: client.expect("chromedriver accepted a session"),
        base,
        ctx,
        _driver: driver,
        app: Some(app),
        _profile: profile,
    }
}

impl Browser {
    async fn finish(mut self) {
        if let Some(app) = self.app.take() {
            app.cleanup().await;
        }
        let _ = std::fs::remove_dir_all(&self._profile);
    }

    async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    async fn fill(&self, name: &str, value: &str) {
        let field = self
            .client
            .find(Locator::Css(&format!("main form [name='{name}']")))
            .await
            .unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Clicks and waits until the browser has replaced the page (the old root goes stale).
    async fn click_and_wait(&self, css: &str) {
        let old_root = self.client.find(Locator::Css("html")).await.unwrap();
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        for _ in 0..100 {
            if old_root.tag_name().await.is_err() {
                self.client
                    .wait()
                    .for_element(Locator::Css("body"))
                    .await
                    .unwrap();
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no navigation after clicking {css}");
    }

    async fn submit(&self, form_action: &str) {
        self.click_and_wait(&format!(
            "form[action='{form_action}'] button[type='submit']"
        ))
        .await;
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn log_in(&self, email: &str, password: &str) {
        self.goto("/login").await;
        self.fill("email", email).await;
        self.fill("password", password).await;
        self.submit("/login").await;
    }

    async fn log_out(&self) {
        self.submit("/logout").await;
    }
}

#[tokio::test]
#[serial]
async fn a_shopper_registers_verifies_from_the_outbox_and_logs_in_and_out() {
    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start(&chromedriver).await;
    support::user(&b.ctx, "owner@example.com", Role::Admin).await;

    b.goto("/register").await;
    b.fill("email", "shopper@example.com").await;
    b.fill("first_name", "Sam").await;
    b.fill("last_name", "Shopper").await;
    b.fill("password", PASSWORD).await;
    b.submit("/register").await;
    assert_eq!(b.path().await, "/account");
    assert!(b.text("main").await.contains("shopper@example.com"));
    b.log_out().await;

    // The shop owner reads the verification mail in the outbox and follows its link.
    b.log_in("owner@example.com", PASSWORD).await;
    assert_eq!(b.path().await, "/admin", "{}", b.text("body").await);
    b.goto("/admin/outbox?q=shopper").await;
    let rows = b
        .client
        .find_all(Locator::Css("a[href^='/admin/outbox/']"))
        .await
        .unwrap();
    let mut target = None;
    for row in rows {
        if row.text().await.unwrap().to_lowercase().contains("confirm") {
            target = row.attr("href").await.unwrap();
            break;
        }
    }
    let target = target.expect("the verification mail is listed in the outbox");
    b.click_and_wait(&format!("a[href='{target}']")).await;
    b.click_and_wait("a[href*='/verify?token=']").await;
    assert_eq!(b.path().await, "/verify");
    assert!(b.text("main").await.to_lowercase().contains("confirmed"));
    b.goto("/admin").await;
    b.log_out().await;

    b.log_in("shopper@example.com", PASSWORD).await;
    assert_eq!(b.path().await, "/account");
    let account = b.text("main").await;
    assert!(
        !account.contains("resend"),
        "no verification reminder once verified: {account}"
    );
    b.log_out().await;
    b.goto("/account").await;
    assert_eq!(b.path().await, "/login", "signed out");
    b.client.clone().close().await.unwrap();
    b.finish().await;
}
