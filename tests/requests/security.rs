//! Issue 16's holes, each tried as the attacker or careless operator would: unsafe production
//! configurations, sessions that outlive a password change, redirects off the site, mail
//! cannons, password hashing on the async threads, forwarded client addresses, and customers
//! hoarding stock with unpaid orders.
use std::{sync::Arc, time::Duration};

use emporium::{
    domain::role::Role,
    models::_entities::{orders, users},
    web::client_ip::TrustedProxies,
};
use loco_rs::{app::AppContext, TestServer};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use serial_test::parallel;

use emporium::settings::Settings;

use crate::support::{
    fake_stripe::{self, sign, FakeStripe},
    orders::{add, checkout, customer, get, post, shop},
    *,
};

/// Whether this browser is signed in (the account page answers instead of sending it to log in).
async fn signed_in(server: &TestServer) -> bool {
    server.get("/account").await.status_code() == 200
}

/// Believe `X-Forwarded-For` from the test client, as a shop behind a local proxy would.
fn behind_local_proxy(ctx: &AppContext) {
    ctx.shared_store
        .insert(TrustedProxies::parse("127.0.0.0/8, ::1").unwrap());
}

// ---------------------------------------------------------------------------------------
// 1. Unsafe production configurations

#[tokio::test]
#[parallel]
async fn production_refuses_to_start_with_stripe_and_no_webhook_secret() {
    let dir = std::env::temp_dir().join(format!("emporium-boot-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_emporium-cli"))
        .arg("start")
        .env("LOCO_ENV", "production")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.join("boot.sqlite").display()),
        )
        .env(
            "JWT_SECRET",
            "b3BlcmF0b3JzLW93bi1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg==",
        )
        .env("BASE_URL", "https://shop.example")
        .env("SECRETS_KEY", "operators-own-sealing-key-0123456789abcdef")
        .env("PAYMENT_PROVIDER", "stripe")
        .env("STRIPE_SECRET_KEY", "sk_live_something")
        .env("STRIPE_WEBHOOK_SECRET", "")
        .env("PORT", "1")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("the process stops by itself")
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "exit status: {:?}", out.status);
    assert!(stderr.contains("STRIPE_WEBHOOK_SECRET"), "{stderr}");
    assert!(
        !stderr.contains("STRIPE_SECRET_KEY "),
        "only what is missing is named: {stderr}"
    );
}

#[test]
fn every_secret_without_a_safe_default_is_named() {
    let mut s: emporium::settings::Settings = serde_json::from_value(json!({
        "shop_name": "S", "currency": "EUR", "base_url": "",
        "mail": {"transport": "smtp", "from": "a <a@example.com>"},
        "payments": {"provider": "stripe"},
    }))
    .unwrap();
    let problems = s.production_problems("").join("\n");
    for var in [
        "JWT_SECRET",
        "BASE_URL",
        "SECRETS_KEY",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
    ] {
        assert!(problems.contains(var), "{var} in {problems}");
    }
    // The committed development secret is public.
    assert!(s
        .production_problems("ZGV2ZWxvcG1lbnQtb25seS1zZWNyZXQtY2hhbmdlLW1lLWluLXByb2R1Y3Rpb24=")
        .iter()
        .any(|p| p.contains("JWT_SECRET")));
    // The test provider lets anyone pay: only on purpose.
    s.base_url = "https://shop.example".into();
    s.secrets_key = "operators-own-sealing-key-0123456789abcdef".into();
    s.payments.provider = emporium::settings::PaymentProviderKind::Test;
    let secret = "b3BlcmF0b3JzLW93bi1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg==";
    assert!(s.production_problems(secret)[0].contains("PAYMENT_PROVIDER"));
    s.payments.allow_test_provider = true;
    assert!(s.production_problems(secret).is_empty());
    // A browser origin over plain HTTP may call the API only in development.
    s.cors_allowed_origins = "https://app.example, http://localhost:3000".into();
    assert!(s.production_problems(secret).is_empty());
    s.cors_allowed_origins = "https://app.example,http://app.example:8080".into();
    let cors = s.production_problems(secret).join("\n");
    assert!(
        cors.contains("CORS_ALLOWED_ORIGINS") && cors.contains("http://app.example:8080"),
        "{cors}"
    );
}

#[tokio::test]
#[parallel]
async fn a_webhook_signed_with_an_empty_secret_pays_nothing() {
    with_app(|server, ctx| async move {
        let fake = FakeStripe::start().await;
        fake_stripe::use_fake(&ctx, &fake).await;
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("MUG-2"), 1).await;
        let order: Value = checkout(&server, &ann).await.json();
        let id = order["id"].as_str().unwrap();
        let pay: Value = post(
            &server,
            &ann,
            &format!("/api/v1/orders/{id}/pay"),
            json!({}),
        )
        .await
        .json();
        set_settings(&ctx, |s| s.payments.stripe.webhook_secret = String::new());
        // The attacker signs a "paid" event with the empty key.
        let body = fake.pay(pay["session_id"].as_str().unwrap()).to_string();
        let res = server
            .post("/api/v1/webhooks/stripe")
            .add_header(
                "stripe-signature",
                sign(&body, "", chrono::Utc::now().timestamp()),
            )
            .add_header("content-type", "application/json")
            .bytes(body.into())
            .await;
        assert_error(&res, 503, "unavailable");
        let now: Value = get(&server, &ann, &format!("/api/v1/orders/{id}"))
            .await
            .json();
        assert_eq!(now["status"], "pending");
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// 2. Sessions belong to users

async fn api_session(server: &TestServer, email: &str) -> (String, String) {
    let body = login(server, email, PASSWORD).await;
    (
        body["access"].as_str().unwrap().to_string(),
        body["refresh"].as_str().unwrap().to_string(),
    )
}

async fn me_status(server: &TestServer, access: &str) -> u16 {
    let (h, v) = bearer(access);
    server
        .get("/api/v1/me")
        .add_header(h, v)
        .await
        .status_code()
        .as_u16()
}

async fn refresh_status(server: &TestServer, refresh: &str) -> u16 {
    server
        .post("/api/v1/auth/refresh")
        .json(&json!({ "refresh": refresh }))
        .await
        .status_code()
        .as_u16()
}

#[tokio::test]
#[parallel]
async fn a_password_change_through_the_api_ends_every_other_session_at_once() {
    with_app(|server, ctx| async move {
        user(&ctx, "eve@example.com", Role::Customer).await;
        let (mine, my_refresh) = api_session(&server, "eve@example.com").await;
        let (stolen, stolen_refresh) = api_session(&server, "eve@example.com").await;
        let laptop = browser(&ctx);
        sign_in(&laptop, "eve@example.com").await;
        assert!(signed_in(&laptop).await);

        let (h, v) = bearer(&mine);
        let res = server
            .post("/api/v1/me/password")
            .add_header(h, v)
            .json(&json!({"current_password": PASSWORD, "new_password": "a brand new secret"}))
            .await;
        assert_eq!(res.status_code(), 204, "{}", res.text());

        assert_eq!(
            me_status(&server, &stolen).await,
            401,
            "access token ends at once"
        );
        assert_eq!(refresh_status(&server, &stolen_refresh).await, 401);
        assert!(!signed_in(&laptop).await, "browser signed out");
        assert_eq!(
            me_status(&server, &mine).await,
            200,
            "the caller's session stays"
        );
        assert_eq!(refresh_status(&server, &my_refresh).await, 200);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn sign_out_everywhere_else_from_the_account_page_keeps_only_this_browser() {
    with_app(|server, ctx| async move {
        user(&ctx, "eve@example.com", Role::Customer).await;
        let (token, refresh) = api_session(&server, "eve@example.com").await;
        let phone = browser(&ctx);
        sign_in(&phone, "eve@example.com").await;
        let csrf = sign_in(&server, "eve@example.com").await;
        let page = server.get("/account").await.text();
        assert!(page.contains("action=\"/account/sessions/revoke\""));

        let res = server
            .post("/account/sessions/revoke")
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(res.status_code(), 303);
        assert!(signed_in(&server).await, "this browser stays");
        assert!(!signed_in(&phone).await);
        assert_eq!(me_status(&server, &token).await, 401);
        assert_eq!(refresh_status(&server, &refresh).await, 401);
        // Signing in again works as before.
        sign_in(&phone, "eve@example.com").await;
        assert!(signed_in(&phone).await);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn the_api_revokes_every_session_but_the_callers() {
    with_app(|server, ctx| async move {
        user(&ctx, "eve@example.com", Role::Customer).await;
        let (mine, _) = api_session(&server, "eve@example.com").await;
        let (other, other_refresh) = api_session(&server, "eve@example.com").await;
        let laptop = browser(&ctx);
        sign_in(&laptop, "eve@example.com").await;
        let (h, v) = bearer(&mine);
        let res = server
            .post("/api/v1/me/sessions/revoke")
            .add_header(h, v)
            .await;
        assert_eq!(res.status_code(), 204, "{}", res.text());
        assert_eq!(me_status(&server, &other).await, 401);
        assert_eq!(refresh_status(&server, &other_refresh).await, 401);
        assert!(!signed_in(&laptop).await);
        assert_eq!(me_status(&server, &mine).await, 200);
        // A revoked token cannot be used to revoke anything either.
        let (h, v) = bearer(&other);
        let res = server
            .post("/api/v1/me/sessions/revoke")
            .add_header(h, v)
            .await;
        assert_error(&res, 401, "unauthorized");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_password_change_in_the_browser_and_a_reset_end_the_other_sessions() {
    with_app(|server, ctx| async move {
        user(&ctx, "eve@example.com", Role::Customer).await;
        let (token, _) = api_session(&server, "eve@example.com").await;
        let phone = browser(&ctx);
        sign_in(&phone, "eve@example.com").await;
        let csrf = sign_in(&server, "eve@example.com").await;
        let res = server
            .post("/account/password")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("current_password", PASSWORD),
                ("new_password", "a brand new secret"),
            ])
            .await;
        assert_eq!(res.status_code(), 303, "{}", res.text());
        assert!(
            signed_in(&server).await,
            "the browser that changed it stays"
        );
        assert!(!signed_in(&phone).await);
        assert_eq!(me_status(&server, &token).await, 401);

        // A reset by e-mail link ends every session, this browser's too.
        accounts_forgot(&ctx, "eve@example.com").await;
        let reset = token_from_mail(&ctx, "eve@example.com", "password_reset").await;
        let res = server
            .post("/api/v1/auth/reset")
            .json(&json!({"token": reset, "password": "yet another secret"}))
            .await;
        assert_eq!(res.status_code(), 204, "{}", res.text());
        assert!(!signed_in(&server).await);
    })
    .await;
}

async fn accounts_forgot(ctx: &AppContext, email: &str) {
    emporium::models::accounts::forgot_password(ctx, email, "test-client")
        .await
        .unwrap();
}

#[tokio::test]
#[parallel]
async fn deactivating_a_user_signs_their_browser_out() {
    with_app(|_server, ctx| async move {
        let admin = user(&ctx, "admin@example.com", Role::Admin).await;
        let eve = user(&ctx, "eve@example.com", Role::Customer).await;
        let laptop = browser(&ctx);
        sign_in(&laptop, "eve@example.com").await;
        emporium::models::accounts::admin_update(
            &ctx,
            &emporium::models::actor::Actor::user(&admin),
            eve.pid,
            emporium::models::accounts::AdminUpdate {
                active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(!signed_in(&laptop).await);
        let row = users::Entity::find_by_id(eve.id)
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.session_version, eve.session_version + 1);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn the_csrf_token_is_renewed_at_login() {
    with_app(|server, ctx| async move {
        user(&ctx, "eve@example.com", Role::Customer).await;
        let before = csrf_from(&server.get("/login").await.text());
        let res = server
            .post("/login")
            .form(&[
                ("csrf_token", before.as_str()),
                ("email", "eve@example.com"),
                ("password", PASSWORD),
            ])
            .await;
        assert_eq!(res.status_code(), 303);
        let after = csrf_from(&server.get("/account").await.text());
        assert_ne!(before, after);
        // A token planted or read before the login no longer works.
        let res = server
            .post("/account/profile")
            .form(&[
                ("csrf_token", before.as_str()),
                ("first_name", "Mallory"),
                ("last_name", "X"),
            ])
            .await;
        assert_eq!(res.status_code(), 403);
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// 3. Redirects stay on the site

#[tokio::test]
#[parallel]
async fn login_never_follows_a_next_that_leaves_the_site_and_never_fails_on_one() {
    with_app(|server, ctx| async move {
        user(&ctx, "eve@example.com", Role::Customer).await;
        for next in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: a=b",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/caf\u{e9}",
        ] {
            let res = post_login(&server, "eve@example.com", Some(next)).await;
            assert_eq!(res.status_code(), 303, "{next:?}: {}", res.text());
            assert_eq!(res.headers()["location"], "/account", "{next:?}");
            // Already signed in: the login page sends the visitor on, just as safely.
            let encoded: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
            let res = server.get(&format!("/login?next={encoded}")).await;
            assert_eq!(res.status_code(), 303, "{next:?}");
            assert_eq!(res.headers()["location"], "/account", "{next:?}");
        }
        let res = post_login(&server, "eve@example.com", Some("/orders?page=2")).await;
        assert_eq!(res.headers()["location"], "/orders?page=2");
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// 4. Mail cannons

#[tokio::test]
#[parallel]
async fn thirty_reset_requests_for_one_address_send_three_mails_and_answer_alike() {
    with_app(|server, ctx| async move {
        user(&ctx, "eve@example.com", Role::Customer).await;
        behind_local_proxy(&ctx);
        for i in 0..30 {
            // Spread over clients, as a botnet would.
            let res = server
                .post("/api/v1/auth/forgot")
                .add_header("x-forwarded-for", format!("198.51.100.{i}"))
                .json(&json!({"email": "eve@example.com"}))
                .await;
            assert_eq!(res.status_code(), 202);
        }
        let resets = mails_to(&ctx, "eve@example.com").await;
        assert_eq!(
            resets.iter().filter(|m| m.kind == "password_reset").count(),
            3
        );
        // The pages count with the API: the same address gets nothing more there either.
        let csrf = csrf_from(&server.get("/forgot").await.text());
        let res = server
            .post("/forgot")
            .form(&[("csrf_token", csrf.as_str()), ("email", "eve@example.com")])
            .await;
        assert_eq!(res.status_code(), 200);
        assert!(res.text().contains("If an account exists"));
        assert_eq!(mails_to(&ctx, "eve@example.com").await.len(), resets.len());
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn one_client_cannot_fire_reset_mails_at_many_addresses() {
    with_app(|server, ctx| async move {
        let limit = Settings::get(&ctx).auth.mail_per_client;
        for i in 0..limit {
            let res = server
                .post("/api/v1/auth/forgot")
                .json(&json!({"email": format!("nobody{i}@example.com")}))
                .await;
            assert_eq!(res.status_code(), 202);
        }
        let res = server
            .post("/api/v1/auth/forgot")
            .json(&json!({"email": "one-more@example.com"}))
            .await;
        assert_error(&res, 429, "rate_limited");
        // Sign-ups from the same client draw on the same budget.
        let res = server
            .post("/api/v1/auth/register")
            .json(
                &json!({"email": "new@example.com", "password": "long enough secret",
                "first_name": "N", "last_name": "U"}),
            )
            .await;
        assert_error(&res, 429, "rate_limited");
        assert!(mails_to(&ctx, "new@example.com").await.is_empty());
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_sent_reset_mail_keeps_no_working_link_in_the_outbox() {
    let Some(port) = require("SMTP_PORT") else {
        return;
    };
    with_app(|server, ctx| async move {
        use emporium::{
            jobs::{Job, JobEnv},
            settings::{MailTransportKind, SmtpTls},
        };
        user(&ctx, "eve@example.com", Role::Customer).await;
        accounts_forgot(&ctx, "eve@example.com").await;
        let token = token_from_mail(&ctx, "eve@example.com", "password_reset").await;
        // The test shop keeps mail in its outbox; make this one wait for SMTP instead.
        let mail = mails_to(&ctx, "eve@example.com").await.pop().unwrap();
        emporium::models::_entities::mail_outbox::Entity::update_many()
            .col_expr(
                emporium::models::_entities::mail_outbox::Column::Status,
                Expr::value("pending"),
            )
            .filter(emporium::models::_entities::mail_outbox::Column::Id.eq(mail.id))
            .exec(&ctx.db)
            .await
            .unwrap();
        let mut settings = (*Settings::get(&ctx)).clone();
        settings.mail.transport = MailTransportKind::Smtp;
        settings.mail.smtp.host = "127.0.0.1".into();
        settings.mail.smtp.port = port.parse().unwrap();
        settings.mail.smtp.tls = SmtpTls::None;
        let env = JobEnv::for_context(&ctx, Arc::new(settings)).unwrap();
        Job::DeliverMail { mail_id: mail.pid }
            .run(&env)
            .await
            .unwrap();
        let kept = mails_to(&ctx, "eve@example.com").await.pop().unwrap();
        assert_eq!(kept.status, "sent");
        for body in [&kept.text_body, &kept.html_body] {
            assert!(!body.contains(&token), "the live link is gone");
            assert!(body.contains("token=redacted-after-sending"), "{body}");
        }
        // Nor does the admin outbox.
        user(&ctx, "admin@example.com", Role::Admin).await;
        sign_in(&server, "admin@example.com").await;
        let page = server
            .get(&format!("/admin/outbox/{}", kept.pid))
            .await
            .text();
        assert!(!page.contains(&token));
        // The link the recipient got still works.
        let res = server
            .post("/api/v1/auth/reset")
            .json(&json!({"token": token, "password": "a brand new secret"}))
            .await;
        assert_eq!(res.status_code(), 204);
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// 5. Password hashing off the async threads

#[tokio::test]
#[parallel]
async fn a_burst_of_logins_does_not_hold_up_other_requests() {
    // The test runtime has one thread: argon2 run on it would make every request wait for
    // each login in turn.
    with_app(|server, ctx| async move {
        user(&ctx, "eve@example.com", Role::Customer).await;
        let order = std::sync::Mutex::new(Vec::new());
        let login = |i: usize| {
            let server = &server;
            let order = &order;
            async move {
                server
                    .post("/api/v1/auth/login")
                    .add_header("x-forwarded-for", format!("203.0.113.{i}"))
                    .json(&json!({"email": "eve@example.com", "password": "wrong password!"}))
                    .await;
                order.lock().unwrap().push(format!("login {i}"));
            }
        };
        let read = async {
            server.get("/api/v1/shop").await.assert_status_ok();
            order.lock().unwrap().push("read".to_string());
        };
        futures::join!(login(1), login(2), login(3), login(4), read);
        let order = order.into_inner().unwrap();
        assert_eq!(order.first().map(String::as_str), Some("read"), "{order:?}");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn wrong_current_passwords_are_throttled_like_logins() {
    with_app(|server, ctx| async move {
        user(&ctx, "eve@example.com", Role::Customer).await;
        let (token, _) = api_session(&server, "eve@example.com").await;
        let max = Settings::get(&ctx).auth.login_max_failures;
        let change = |current: &'static str| {
            let (h, v) = bearer(&token);
            server
                .post("/api/v1/me/password")
                .add_header(h, v)
                .json(&json!({"current_password": current, "new_password": "a brand new secret"}))
        };
        for _ in 0..max {
            assert_error(&change("not my password").await, 422, "validation_failed");
        }
        assert_error(&change("not my password").await, 429, "rate_limited");
        // Even the right password waits now: the guesser cannot tell.
        assert_error(&change(PASSWORD).await, 429, "rate_limited");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn guesses_spread_over_many_addresses_still_hit_a_cap_per_account() {
    with_app(|server, ctx| async move {
        user(&ctx, "eve@example.com", Role::Customer).await;
        behind_local_proxy(&ctx);
        let max = Settings::get(&ctx).auth.login_max_failures;
        let mut first_refused = None;
        // One guess per client address: no client comes near its own limit.
        for i in 0..(max * 6) {
            let res = server
                .post("/api/v1/auth/login")
                .add_header("x-forwarded-for", format!("198.51.100.{i}"))
                .json(&json!({"email": "eve@example.com", "password": "guess number x"}))
                .await;
            if res.status_code() == 429 {
                first_refused = Some(i);
                break;
            }
            assert_eq!(res.status_code(), 401);
        }
        assert_eq!(
            first_refused,
            Some(max * 4),
            "the account's own cap stops the guessing"
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// 6. Client addresses behind a proxy

#[tokio::test]
#[parallel]
async fn a_forwarded_address_counts_only_behind_a_trusted_proxy() {
    with_app(|server, ctx| async move {
        set_settings(&ctx, |s| s.rate_limits.anonymous = 3);
        ctx.shared_store.insert(TrustedProxies::parse("").unwrap());
        // Not trusted: rotating the header does not escape the limit.
        let mut statuses = Vec::new();
        for i in 0..4 {
            statuses.push(
                server
                    .get("/api/v1/products")
                    .add_header("x-forwarded-for", format!("192.0.2.{i}"))
                    .await
                    .status_code()
                    .as_u16(),
            );
        }
        assert_eq!(statuses, [200, 200, 200, 429]);
        // Behind a trusted proxy (the test client's loopback), each client counts alone.
        ctx.shared_store
            .insert(TrustedProxies::parse("127.0.0.0/8, ::1").unwrap());
        for i in 0..4 {
            let res = server
                .get("/api/v1/products")
                .add_header("x-forwarded-for", format!("192.0.2.{}, 127.0.0.1", 50 + i))
                .await;
            assert_eq!(res.status_code(), 200, "client {i}");
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// 7. No hoarding

#[tokio::test]
#[parallel]
async fn a_customer_holds_at_most_three_unpaid_orders() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        let mut ids = Vec::new();
        for _ in 0..3 {
            add(&server, &ann, shop.id("MUG-2"), 1).await;
            let res = checkout(&server, &ann).await;
            assert_eq!(res.status_code(), 201, "{}", res.text());
            ids.push(res.json::<Value>()["id"].as_str().unwrap().to_string());
        }
        add(&server, &ann, shop.id("MUG-2"), 1).await;
        let res = checkout(&server, &ann).await;
        assert_error(&res, 409, "too_many_pending_orders");
        let cart: Value = get(&server, &ann, "/api/v1/cart").await.json();
        assert_eq!(
            cart["items"].as_array().unwrap().len(),
            1,
            "nothing reserved or emptied"
        );
        // Cancelling one makes room.
        let res = post(
            &server,
            &ann,
            &format!("/api/v1/orders/{}/cancel", ids[0]),
            json!({}),
        )
        .await;
        assert_eq!(res.status_code(), 200, "{}", res.text());
        assert_eq!(checkout(&server, &ann).await.status_code(), 201);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn paying_never_revives_an_order_whose_time_has_run_out() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("MUG-2"), 1).await;
        let order: Value = checkout(&server, &ann).await.json();
        let id = uuid::Uuid::parse_str(order["id"].as_str().unwrap()).unwrap();
        let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).fixed_offset();
        orders::Entity::update_many()
            .col_expr(orders::Column::ExpiresAt, Expr::value(past))
            .filter(orders::Column::Pid.eq(id))
            .exec(&ctx.db)
            .await
            .unwrap();
        let res = post(
            &server,
            &ann,
            &format!("/api/v1/orders/{id}/pay"),
            json!({}),
        )
        .await;
        assert_error(&res, 409, "conflict");
        let row = orders::Entity::find()
            .filter(orders::Column::Pid.eq(id))
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.expires_at.unwrap().timestamp(), past.timestamp());
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// 8. Smaller items

#[tokio::test]
#[parallel]
async fn an_idempotent_answer_is_replayed_only_to_the_caller_it_belongs_to() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        user(&ctx, "ann@example.com", Role::Customer).await;
        let (mine, _) = api_session(&server, "ann@example.com").await;
        let (other, _) = api_session(&server, "ann@example.com").await;
        let body = json!({"product_id": shop.id("MUG-2"), "quantity": 1});
        let send = |token: String| {
            let (h, v) = bearer(&token);
            server
                .post("/api/v1/cart/items")
                .add_header(h, v)
                .add_header("idempotency-key", "cart-1")
                .json(&body)
        };
        let first = send(other.clone()).await;
        assert!(first.status_code().is_success(), "{}", first.text());
        // That session is ended; its token must not fetch the stored answer.
        let (h, v) = bearer(&mine);
        server
            .post("/api/v1/me/sessions/revoke")
            .add_header(h, v)
            .await;
        let replay = send(other).await;
        assert_error(&replay, 401, "unauthorized");
        assert!(replay.headers().get("idempotent-replayed").is_none());

        // An API key's public prefix is not the key.
        let res = post(
            &server,
            &shop.admin,
            "/api/v1/admin/api-keys",
            json!({"name": "Sync", "scopes": ["catalogue:write"]}),
        )
        .await;
        let secret = res.json::<Value>()["secret"].as_str().unwrap().to_string();
        let brand = |bearer: &str| {
            server
                .post("/api/v1/brands")
                .add_header("authorization", format!("Bearer {bearer}"))
                .add_header("idempotency-key", "brand-1")
                .json(&json!({"name": "Acme"}))
        };
        assert_eq!(brand(&secret).await.status_code(), 201);
        let (prefix, _) = secret.rsplit_once('_').unwrap();
        let forged = brand(&format!("{prefix}_not-the-secret")).await;
        assert_error(&forged, 401, "unauthorized");
        assert!(forged.headers().get("idempotent-replayed").is_none());
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn login_answers_are_never_stored_for_replay() {
    with_app(|server, ctx| async move {
        user(&ctx, "ann@example.com", Role::Customer).await;
        let login = || {
            server
                .post("/api/v1/auth/login")
                .add_header("idempotency-key", "login-1")
                .json(&json!({"email": "ann@example.com", "password": PASSWORD}))
        };
        let a: Value = login().await.json();
        let b = login().await;
        assert!(b.headers().get("idempotent-replayed").is_none());
        assert_ne!(a["refresh"], b.json::<Value>()["refresh"]);
        let stored = emporium::models::_entities::idempotency_keys::Entity::find()
            .all(&ctx.db)
            .await
            .unwrap();
        assert!(stored.is_empty(), "no credentials at rest: {stored:?}");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn health_says_unavailable_without_the_cause() {
    with_app(|server, ctx| async move {
        ctx.db.clone().close().await.unwrap();
        let res = server.get("/_health").await;
        assert_eq!(res.status_code(), 503);
        let body: Value = res.json();
        assert_eq!(body["database"], "unavailable", "{body}");
        assert_eq!(body["ok"], false);
        let text = res.text().to_lowercase();
        for leak in ["error", "pool", "sqlite", "postgres", "closed"] {
            assert!(!text.contains(leak), "{leak} in {text}");
        }
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn large_multipart_bodies_are_read_only_for_signed_in_uploads() {
    with_app(|server, ctx| async move {
        let csrf = csrf_from(&server.get("/login").await.text());
        let big = "x".repeat(1024 * 1024);
        let form = || {
            axum_test::multipart::MultipartForm::new()
                .add_text("csrf_token", csrf.clone())
                .add_text("filler", big.clone())
        };
        // An ordinary form is never bigger than the form limit, multipart or not.
        let res = server.post("/login").multipart(form()).await;
        assert_eq!(res.status_code(), 413, "{}", res.text());
        // The upload forms take big bodies, but only from someone who may upload.
        let res = server
            .post("/admin/products/import")
            .multipart(form())
            .await;
        assert_eq!(res.status_code(), 403);
        user(&ctx, "eve@example.com", Role::Customer).await;
        let csrf = sign_in(&server, "eve@example.com").await;
        let res = server
            .post("/admin/products/import")
            .multipart(
                axum_test::multipart::MultipartForm::new()
                    .add_text("csrf_token", csrf)
                    .add_text("filler", big.clone()),
            )
            .await;
        assert_eq!(
            res.status_code(),
            403,
            "a customer is refused before the body is read"
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn secrets_the_shop_reads_again_are_sealed_in_the_database() {
    use emporium::models::_entities::webhook_endpoints;
    with_app(|server, ctx| async move {
        set_settings(&ctx, |s| s.webhooks.allow_private_targets = true);
        let shop = shop(&server, &ctx).await;
        let res = post(
            &server,
            &shop.admin,
            "/api/v1/admin/webhooks",
            json!({"url": "http://127.0.0.1:9/hook", "events": ["order.paid"]}),
        )
        .await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        let shown = res.json::<Value>()["secret"].as_str().unwrap().to_string();
        assert!(shown.starts_with("whsec_"));
        let row = webhook_endpoints::Entity::find()
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert!(row.secret.starts_with("sealed:v1:"), "{}", row.secret);
        assert!(!row.secret.contains(&shown[6..]));

        // A row from before sealing is sealed at start and reads the same.
        let legacy = "whsec_from-an-older-version";
        webhook_endpoints::Entity::update_many()
            .col_expr(webhook_endpoints::Column::Secret, Expr::value(legacy))
            .exec(&ctx.db)
            .await
            .unwrap();
        let sealer = emporium::sealing::Sealer::get(&ctx);
        let n = emporium::models::webhooks::seal_legacy_secrets(&ctx.db, &sealer)
            .await
            .unwrap();
        assert_eq!(n, 1);
        let row = webhook_endpoints::Entity::find()
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert!(row.secret.starts_with("sealed:v1:"));
        let shown: Value = get(
            &server,
            &shop.admin,
            &format!("/api/v1/admin/webhooks/{}", row.pid),
        )
        .await
        .json();
        assert_eq!(shown["secret"], legacy);

        // The same for a staff member's TOTP secret.
        let staff = user(&ctx, "clerk@example.com", Role::Staff).await;
        let enrolment = emporium::models::two_factor::enrolment_for(&ctx, &staff)
            .await
            .unwrap();
        let stored = users::Entity::find_by_id(staff.id)
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap()
            .totp_secret
            .unwrap();
        assert!(stored.starts_with("sealed:v1:"));
        assert!(!stored.contains(&enrolment.secret));
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn one_client_guessing_many_accounts_at_once_stops_at_its_limit() {
    with_app(|server, ctx| async move {
        // A success is given back: it does not count against the client.
        user(&ctx, "eve@example.com", Role::Customer).await;
        login(&server, "eve@example.com", PASSWORD).await;
        let counters = emporium::counters::Counters::get(&ctx);
        assert_eq!(
            counters
                .peek("login-client:127.0.0.1", 900)
                .await
                .unwrap()
                .count,
            0
        );

        let limit = Settings::get(&ctx).auth.login_max_failures * 10;
        let tries = usize::try_from(limit).unwrap() + 10;
        let answers = futures::future::join_all((0..tries).map(|i| {
            std::future::IntoFuture::into_future(server.post("/api/v1/auth/login").json(
                &json!({"email": format!("victim{i}@example.com"), "password": "guess x y z"}),
            ))
        }))
        .await;
        let refused = answers.iter().filter(|r| r.status_code() == 429).count();
        assert_eq!(refused, 10, "all sent at once, still only {limit} judged");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn with_smtp_the_admin_outbox_shows_no_working_link_even_before_sending() {
    with_app(|server, ctx| async move {
        user(&ctx, "admin@example.com", Role::Admin).await;
        user(&ctx, "other-admin@example.com", Role::Admin).await;
        sign_in(&server, "admin@example.com").await;
        // The attacker asks for a reset of the other admin's account...
        accounts_forgot(&ctx, "other-admin@example.com").await;
        let token = token_from_mail(&ctx, "other-admin@example.com", "password_reset").await;
        let mail = mails_to(&ctx, "other-admin@example.com")
            .await
            .pop()
            .unwrap();
        // ...and reads the outbox of a shop that sends by SMTP.
        set_settings(&ctx, |s| {
            s.mail.transport = emporium::settings::MailTransportKind::Smtp;
        });
        let page = server.get(&format!("/admin/outbox/{}", mail.pid)).await;
        assert_eq!(page.status_code(), 200);
        assert!(!page.text().contains(&token));
        assert!(page.text().contains("redacted-after-sending"));
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_review_posted_to_a_crafted_address_is_answered_without_a_500() {
    with_app(|server, ctx| async move {
        user(&ctx, "eve@example.com", Role::Customer).await;
        let csrf = sign_in(&server, "eve@example.com").await;
        for rating in ["9", "5"] {
            let res = server
                .post("/p/x%0Aevil/reviews")
                .form(&[("csrf_token", csrf.as_str()), ("rating", rating)])
                .await;
            assert_eq!(res.status_code(), 404, "{}", res.text());
        }
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_new_api_key_is_never_kept_for_replay() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let create = || {
            server
                .post("/api/v1/admin/api-keys")
                .add_header(shop.admin.0.clone(), shop.admin.1.clone())
                .add_header("idempotency-key", "key-1")
                .json(&json!({"name": "Sync", "scopes": ["orders:read"]}))
        };
        let first: Value = create().await.json();
        let secret = first["secret"].as_str().unwrap();
        let stored = emporium::models::_entities::idempotency_keys::Entity::find()
            .all(&ctx.db)
            .await
            .unwrap();
        assert!(
            stored.iter().all(|r| !String::from_utf8_lossy(
                r.response_body.as_deref().unwrap_or_default()
            )
            .contains(secret)),
            "the key is not at rest in clear"
        );
        // A repeat makes no second key: it is told the first one was made.
        let again = create().await;
        assert_error(&again, 409, "conflict");
        let keys = emporium::models::_entities::api_keys::Entity::find()
            .all(&ctx.db)
            .await
            .unwrap();
        assert_eq!(keys.len(), 1, "one key for one request");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn made_up_api_keys_share_their_clients_rate_limit() {
    with_app(|server, ctx| async move {
        set_settings(&ctx, |s| s.rate_limits.anonymous = 3);
        let mut statuses = Vec::new();
        for i in 0..4 {
            let fake = format!("emp_{:012}_made-up-secret", i);
            statuses.push(
                server
                    .get("/api/v1/products")
                    .add_header("authorization", format!("Bearer {fake}"))
                    .await
                    .status_code()
                    .as_u16(),
            );
        }
        assert_eq!(statuses, [200, 200, 200, 429]);
    })
    .await;
}
