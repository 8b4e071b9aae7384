//! Staff two-factor login: enrolment with a QR code, the code step of a login on the pages and
//! in the API, recovery codes, replayed and racing codes, and the shop-wide requirement.
use emporium::{
    domain::{role::Role, two_factor::Authenticator},
    models::{two_factor, users},
};
use loco_rs::app::AppContext;
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::*;

fn now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap()
}

/// The code an authenticator app shows for `secret`, `ahead` seconds from now.
fn code(secret: &str, ahead: u64) -> String {
    Authenticator::from_base32(secret, "Shop", "x")
        .unwrap()
        .code_at(now() + ahead)
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let i = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {html}"))
        + start.len();
    &html[i..i + html[i..].find(end).unwrap()]
}

async fn by_email(ctx: &AppContext, email: &str) -> users::Model {
    let e = emporium::domain::email::Email::parse(email).unwrap();
    users::find_by_email(&ctx.db, &e).await.unwrap().unwrap()
}

/// Turns two-factor login on for `email` through the model; returns the secret and the
/// recovery codes.
async fn enable(ctx: &AppContext, email: &str) -> (String, Vec<String>) {
    let enrolment = two_factor::enrolment_for(ctx, &by_email(ctx, email).await)
        .await
        .unwrap();
    let (codes, _) = two_factor::confirm(
        ctx,
        &by_email(ctx, email).await,
        PASSWORD,
        &code(&enrolment.secret, 0),
    )
    .await
    .unwrap();
    (enrolment.secret, codes)
}

async fn password_step(server: &loco_rs::TestServer, email: &str) -> axum_test::TestResponse {
    let csrf = csrf_from(&server.get("/").await.text());
    server
        .post("/logout")
        .form(&[("csrf_token", csrf.as_str())])
        .await;
    let csrf = csrf_from(&server.get("/login").await.text());
    server
        .post("/login")
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", email),
            ("password", PASSWORD),
        ])
        .await
}

async fn code_step(server: &loco_rs::TestServer, code: &str) -> axum_test::TestResponse {
    let page = server.get("/login/two-factor").await;
    assert_eq!(page.status_code(), 200, "{}", page.text());
    let csrf = csrf_from(&page.text());
    server
        .post("/login/two-factor")
        .form(&[("csrf_token", csrf.as_str()), ("code", code)])
        .await
}

#[tokio::test]
#[parallel]
async fn a_staff_member_turns_two_factor_on_and_then_logs_in_with_codes() {
    with_app(|server, ctx| async move {
        user(&ctx, "chief@example.com", Role::Admin).await;
        let csrf = sign_in(&server, "chief@example.com").await;
        let account = server.get("/account").await.text();
        assert!(account.contains("Set it up"), "{account}");
        let page = server.get("/account/two-factor").await;
        assert_eq!(page.status_code(), 200);
        let html = page.text();
        let secret = between(&html, "<code id=\"totp-secret\">", "</code>").to_string();
        assert!(html.contains("<svg"), "the QR code is inline");
        assert_eq!(
            between(
                &server.get("/account/two-factor").await.text(),
                "<code id=\"totp-secret\">",
                "</code>"
            ),
            secret,
            "reloading keeps the secret"
        );

        let wrong = server
            .post("/account/two-factor/confirm")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("code", "12345"),
                ("password", PASSWORD),
            ])
            .await;
        assert_eq!(wrong.status_code(), 422);
        assert!(wrong.text().contains("That code is not valid"));
        // A borrowed session without the password cannot turn it on.
        let no_password = server
            .post("/account/two-factor/confirm")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("code", &code(&secret, 0)),
                ("password", "guess guess guess"),
            ])
            .await;
        assert_eq!(no_password.status_code(), 422);
        assert!(no_password.text().contains("This is not your password."));
        let on = server
            .post("/account/two-factor/confirm")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("code", &code(&secret, 0)),
                ("password", PASSWORD),
            ])
            .await;
        assert_eq!(on.status_code(), 200, "{}", on.text());
        let html = on.text();
        let codes: Vec<String> = between(&html, "<ul class=\"codes\">", "</ul>")
            .split("<code>")
            .skip(1)
            .map(|c| c[..c.find("</code>").unwrap()].to_string())
            .collect();
        assert_eq!(codes.len(), 10);
        assert!(html.contains("10 recovery codes left."));
        assert!(server
            .get("/account")
            .await
            .text()
            .contains("On: logging in asks for a code"));

        // The password alone no longer signs in.
        let res = password_step(&server, "chief@example.com").await;
        assert_eq!(res.headers()["location"], "/login/two-factor");
        assert!(server.get("/admin").await.status_code().is_redirection());
        let reused = code_step(&server, &code(&secret, 0)).await;
        assert_eq!(
            reused.status_code(),
            422,
            "the code used to confirm is spent"
        );
        let res = code_step(&server, &code(&secret, 30)).await;
        assert_eq!(res.status_code(), 303, "{}", res.text());
        assert_eq!(res.headers()["location"], "/admin");
        assert_eq!(server.get("/admin").await.status_code(), 200);

        // A recovery code, typed loosely, works once.
        let typed = codes[0].to_uppercase().replace('-', " ");
        password_step(&server, "chief@example.com").await;
        assert_eq!(code_step(&server, &typed).await.status_code(), 303);
        password_step(&server, "chief@example.com").await;
        assert_eq!(code_step(&server, &codes[0]).await.status_code(), 422);
        assert_eq!(code_step(&server, &codes[1]).await.status_code(), 303);
        let html = server.get("/account/two-factor").await.text();
        assert!(html.contains("8 recovery codes left."), "{html}");

        // Turning it off needs the password and a code.
        let csrf = csrf_from(&html);
        let res = server
            .post("/account/two-factor/disable")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("password", "wrong password!"),
                ("code", codes[2].as_str()),
            ])
            .await;
        assert_eq!(res.status_code(), 422);
        assert!(res.text().contains("This is not your password."));
        let res = server
            .post("/account/two-factor/disable")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("password", PASSWORD),
                ("code", codes[2].as_str()),
            ])
            .await;
        assert_eq!(res.status_code(), 303);
        let res = password_step(&server, "chief@example.com").await;
        assert_eq!(res.headers()["location"], "/admin");

        // Customers have no such page.
        user(&ctx, "ann@example.com", Role::Customer).await;
        sign_in(&server, "ann@example.com").await;
        assert_eq!(server.get("/account/two-factor").await.status_code(), 404);
        assert!(!server.get("/account").await.text().contains("Two-factor"));
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn the_api_asks_for_the_code_and_turning_two_factor_on_ends_password_only_sessions() {
    with_app(|server, ctx| async move {
        user(&ctx, "pm@example.com", Role::ProductManager).await;
        let before = login(&server, "pm@example.com", PASSWORD).await;
        let (secret, codes) = enable(&ctx, "pm@example.com").await;
        let refresh = server
            .post("/api/v1/auth/refresh")
            .json(&json!({"refresh": before["refresh"]}))
            .await;
        assert_error(&refresh, 401, "unauthorized");

        let ask = |otp: Option<&str>| {
            let mut body = json!({"email": "pm@example.com", "password": PASSWORD});
            if let Some(o) = otp {
                body["otp"] = json!(o);
            }
            server.post("/api/v1/auth/login").json(&body)
        };
        assert_error(&ask(None).await, 401, "otp_required");
        let valid = code(&secret, 30);
        let wrong = if valid == "000000" {
            "111111"
        } else {
            "000000"
        };
        assert_error(&ask(Some(wrong)).await, 401, "unauthorized");
        let ok = ask(Some(&valid)).await;
        ok.assert_status_ok();
        assert!(ok.json::<Value>()["access"].is_string());
        assert_error(&ask(Some(&valid)).await, 401, "unauthorized");
        ask(Some(&codes[3])).await.assert_status_ok();
        // A wrong password is refused before any code is asked for.
        let bad = server
            .post("/api/v1/auth/login")
            .json(&json!({"email": "pm@example.com", "password": "not the password"}))
            .await;
        assert_error(&bad, 401, "unauthorized");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn logins_racing_with_one_code_let_exactly_one_in() {
    with_app(|server, ctx| async move {
        // Two accounts, so that the losers of one race do not throttle the other.
        user(&ctx, "clerk@example.com", Role::Staff).await;
        user(&ctx, "chief@example.com", Role::Admin).await;
        let (secret, _) = enable(&ctx, "clerk@example.com").await;
        let (_, codes) = enable(&ctx, "chief@example.com").await;
        for (email, otp) in [
            ("clerk@example.com", code(&secret, 30)),
            ("chief@example.com", codes[0].clone()),
        ] {
            let body = json!({"email": email, "password": PASSWORD, "otp": otp});
            let tries = (0..4).map(|_| {
                std::future::IntoFuture::into_future(server.post("/api/v1/auth/login").json(&body))
            });
            let results = futures::future::join_all(tries).await;
            let ok = results.iter().filter(|r| r.status_code() == 200).count();
            let refused = results.iter().filter(|r| r.status_code() == 401).count();
            assert_eq!((ok, refused), (1, 3), "{otp}");
        }
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn wrong_codes_are_throttled() {
    with_app(|server, ctx| async move {
        user(&ctx, "clerk@example.com", Role::Staff).await;
        let (secret, _) = enable(&ctx, "clerk@example.com").await;
        let res = password_step(&server, "clerk@example.com").await;
        assert_eq!(res.headers()["location"], "/login/two-factor");
        let valid = code(&secret, 30);
        let wrong = if valid == "000000" {
            "111111"
        } else {
            "000000"
        };
        for _ in 0..5 {
            assert_eq!(code_step(&server, wrong).await.status_code(), 422);
        }
        let blocked = code_step(&server, &valid).await;
        assert_eq!(blocked.status_code(), 422);
        assert!(
            blocked.text().contains("Too many attempts"),
            "{}",
            blocked.text()
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn the_shop_can_require_staff_to_set_up_two_factor_login() {
    with_app(|server, ctx| async move {
        user(&ctx, "clerk@example.com", Role::Staff).await;
        user(&ctx, "ann@example.com", Role::Customer).await;
        // Signed in through the API before the shop turned the requirement on.
        let earlier = login(&server, "clerk@example.com", PASSWORD).await;
        set_settings(&ctx, |s| s.auth.require_staff_2fa = true);
        let old_token = server
            .get("/api/v1/me")
            .add_header(
                "authorization",
                format!("Bearer {}", earlier["access"].as_str().unwrap()),
            )
            .await;
        assert_error(&old_token, 403, "two_factor_required");
        let refresh = server
            .post("/api/v1/auth/refresh")
            .json(&json!({"refresh": earlier["refresh"]}))
            .await;
        assert_error(&refresh, 403, "two_factor_required");
        sign_in(&server, "clerk@example.com").await;
        let admin = server.get("/admin/purchase-orders").await;
        assert_eq!(admin.status_code(), 303);
        assert_eq!(admin.headers()["location"], "/account/two-factor");
        assert_eq!(server.get("/account/two-factor").await.status_code(), 200);
        let api = server
            .post("/api/v1/auth/login")
            .json(&json!({"email": "clerk@example.com", "password": PASSWORD}))
            .await;
        assert_error(&api, 403, "two_factor_required");
        login(&server, "ann@example.com", PASSWORD).await;

        // Turned on elsewhere (here through the model): this password-only browser session
        // ends; the next login takes a code and then the admin opens.
        let (secret, _) = enable(&ctx, "clerk@example.com").await;
        let ended = server.get("/admin/purchase-orders").await;
        assert_eq!(ended.status_code(), 303);
        assert!(ended.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"));
        assert_eq!(
            password_step(&server, "clerk@example.com")
                .await
                .status_code(),
            303
        );
        assert_eq!(
            code_step(&server, &code(&secret, 30)).await.status_code(),
            303
        );
        assert_eq!(
            server.get("/admin/purchase-orders").await.status_code(),
            200
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_password_change_during_the_code_step_ends_the_half_done_login() {
    with_app(|server, ctx| async move {
        user(&ctx, "chief@example.com", Role::Admin).await;
        let (secret, _) = enable(&ctx, "chief@example.com").await;
        let res = password_step(&server, "chief@example.com").await;
        assert_eq!(res.headers()["location"], "/login/two-factor");
        // The owner, who learnt the password leaked, changes it meanwhile.
        emporium::models::accounts::change_password(
            &ctx,
            by_email(&ctx, "chief@example.com").await,
            PASSWORD,
            "a brand new secret",
            emporium::models::accounts::Keep::Nothing,
        )
        .await
        .unwrap();
        let page = server.get("/login/two-factor").await;
        assert_eq!(page.status_code(), 303);
        assert_eq!(page.headers()["location"], "/login");
        let csrf = csrf_from(&server.get("/login").await.text());
        let res = server
            .post("/login/two-factor")
            .form(&[("csrf_token", csrf.as_str()), ("code", &code(&secret, 30))])
            .await;
        assert_eq!(res.headers()["location"], "/login");
        assert!(server.get("/admin").await.status_code().is_redirection());
    })
    .await;
}
