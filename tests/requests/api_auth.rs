//! API.md "Auth and account": register, login, refresh rotation, logout, verify, forgot, reset.
use emporium::domain::role::Role;
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::*;

#[tokio::test]
#[parallel]
async fn register_creates_a_customer_and_queues_welcome_and_verification_mail() {
    with_app(|server, ctx| async move {
        let res = server
            .post("/api/v1/auth/register")
            .json(&json!({"email": " Ann@Example.com ", "password": PASSWORD, "first_name": "Ann", "last_name": "Lee"}))
            .await;
        assert_eq!(res.status_code(), 201);
        let body: Value = res.json();
        assert_eq!(body["user"]["email"], "ann@example.com");
        assert_eq!(body["user"]["role"], "customer");
        assert!(uuid::Uuid::parse_str(body["user"]["id"].as_str().unwrap()).is_ok());
        let mails = mails_to(&ctx, "ann@example.com").await;
        let kinds: Vec<_> = mails.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, ["welcome", "verify_email"]);
        // Jobs run inline in tests; the outbox transport keeps the mail.
        assert!(mails.iter().all(|m| m.status == "kept" && m.sent_at.is_some()));
        assert!(mails[1].text_body.contains("http://localhost/verify?token="));
        assert!(mails[1].html_body.contains("Ann"));
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn register_rejects_bad_input_field_by_field_and_writes_nothing() {
    with_app(|server, ctx| async move {
        let res = server
            .post("/api/v1/auth/register")
            .json(&json!({"email": "nope", "password": "1234567890", "first_name": "", "last_name": "x"}))
            .await;
        let body = assert_error(&res, 422, "validation_failed");
        let details = body["error"]["details"].as_object().unwrap();
        assert_eq!(details.keys().collect::<Vec<_>>(), ["email", "first_name", "password"]);
        assert_eq!(body["error"]["details"]["password"][0], "Must not be all digits.");
        assert!(mails_to(&ctx, "nope").await.is_empty());

        let same_as_email = server
            .post("/api/v1/auth/register")
            .json(&json!({"email": "bob@example.com", "password": "bob@example.com", "first_name": "B", "last_name": "C"}))
            .await;
        assert_eq!(assert_error(&same_as_email, 422, "validation_failed")["error"]["details"]["password"][0], "Must not be your e-mail address.");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn register_with_a_taken_email_fails_without_a_second_mail() {
    with_app(|server, ctx| async move {
        user(&ctx, "taken@example.com", Role::Customer).await;
        let res = server
            .post("/api/v1/auth/register")
            .json(&json!({"email": "TAKEN@example.com", "password": PASSWORD, "first_name": "A", "last_name": "B"}))
            .await;
        assert!(assert_error(&res, 422, "validation_failed")["error"]["details"]["email"].is_array());
        assert!(mails_to(&ctx, "taken@example.com").await.is_empty());
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn login_returns_tokens_and_wrong_credentials_are_401_alike() {
    with_app(|server, ctx| async move {
        user(&ctx, "cat@example.com", Role::Staff).await;
        let ok = login(&server, "CAT@example.com", PASSWORD).await;
        assert_eq!(ok["user"]["role"], "staff");
        assert!(ok["access"].as_str().unwrap().split('.').count() == 3);
        assert!(ok["refresh"].as_str().unwrap().len() >= 40);

        let wrong = server
            .post("/api/v1/auth/login")
            .json(&json!({"email": "cat@example.com", "password": "wrong password"}))
            .await;
        let unknown = server
            .post("/api/v1/auth/login")
            .json(&json!({"email": "nobody@example.com", "password": "wrong password"}))
            .await;
        let a = assert_error(&wrong, 401, "unauthorized");
        let b = assert_error(&unknown, 401, "unauthorized");
        assert_eq!(
            a, b,
            "unknown accounts must look exactly like wrong passwords"
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn login_is_throttled_after_repeated_failures_even_with_the_right_password() {
    with_app(|server, ctx| async move {
        user(&ctx, "dan@example.com", Role::Customer).await;
        for _ in 0..5 {
            let res = server
                .post("/api/v1/auth/login")
                .json(&json!({"email": "dan@example.com", "password": "guess guess guess"}))
                .await;
            assert_eq!(res.status_code(), 401);
        }
        let res = server
            .post("/api/v1/auth/login")
            .json(&json!({"email": "dan@example.com", "password": PASSWORD}))
            .await;
        assert_error(&res, 429, "rate_limited");
        assert!(res.headers().get("retry-after").is_some());
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn refresh_rotates_and_a_reused_token_revokes_the_whole_family() {
    with_app(|server, ctx| async move {
        user(&ctx, "eve@example.com", Role::Customer).await;
        let first = login(&server, "eve@example.com", PASSWORD).await;
        let r1 = first["refresh"].as_str().unwrap().to_string();

        let res = server
            .post("/api/v1/auth/refresh")
            .json(&json!({"refresh": r1}))
            .await;
        res.assert_status_ok();
        let second: Value = res.json();
        let r2 = second["refresh"].as_str().unwrap().to_string();
        assert_ne!(r1, r2);
        let me = server
            .get("/api/v1/me")
            .add_header(
                bearer(second["access"].as_str().unwrap()).0,
                bearer(second["access"].as_str().unwrap()).1,
            )
            .await;
        me.assert_status_ok();

        // The rotated token is dead, and presenting it again kills its successor too.
        assert_error(
            &server
                .post("/api/v1/auth/refresh")
                .json(&json!({"refresh": r1}))
                .await,
            401,
            "unauthorized",
        );
        assert_error(
            &server
                .post("/api/v1/auth/refresh")
                .json(&json!({"refresh": r2}))
                .await,
            401,
            "unauthorized",
        );
        assert_error(
            &server
                .post("/api/v1/auth/refresh")
                .json(&json!({"refresh": "garbage"}))
                .await,
            401,
            "unauthorized",
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn logout_revokes_the_refresh_token() {
    with_app(|server, ctx| async move {
        user(&ctx, "fay@example.com", Role::Customer).await;
        let t = login(&server, "fay@example.com", PASSWORD).await;
        let (h, v) = bearer(t["access"].as_str().unwrap());
        let anon = server
            .post("/api/v1/auth/logout")
            .json(&json!({"refresh": t["refresh"]}))
            .await;
        assert_error(&anon, 401, "unauthorized");
        let res = server
            .post("/api/v1/auth/logout")
            .add_header(h, v)
            .json(&json!({"refresh": t["refresh"]}))
            .await;
        assert_eq!(res.status_code(), 204);
        assert_error(
            &server
                .post("/api/v1/auth/refresh")
                .json(&json!({"refresh": t["refresh"]}))
                .await,
            401,
            "unauthorized",
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn verification_link_from_the_mail_verifies_once() {
    with_app(|server, ctx| async move {
        server
            .post("/api/v1/auth/register")
            .json(&json!({"email": "gus@example.com", "password": PASSWORD, "first_name": "Gus", "last_name": "Ho"}))
            .await
            .assert_status(axum::http::StatusCode::CREATED);
        let token = token_from_mail(&ctx, "gus@example.com", "verify_email").await;
        let t = login(&server, "gus@example.com", PASSWORD).await;
        let (h, v) = bearer(t["access"].as_str().unwrap());
        let before: Value = server.get("/api/v1/me").add_header(h.clone(), v.clone()).await.json();
        assert_eq!(before["email_verified"], false);

        assert_eq!(server.post("/api/v1/auth/verify").json(&json!({"token": token})).await.status_code(), 204);
        let after: Value = server.get("/api/v1/me").add_header(h, v).await.json();
        assert_eq!(after["email_verified"], true);
        assert_error(&server.post("/api/v1/auth/verify").json(&json!({"token": token})).await, 422, "invalid_token");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn forgot_answers_202_for_everyone_but_mails_only_real_accounts() {
    with_app(|server, ctx| async move {
        user(&ctx, "hal@example.com", Role::Customer).await;
        for email in ["hal@example.com", "ghost@example.com", "not an email"] {
            let res = server
                .post("/api/v1/auth/forgot")
                .json(&json!({ "email": email }))
                .await;
            assert_eq!(res.status_code(), 202, "{email}");
        }
        assert_eq!(mails_to(&ctx, "hal@example.com").await.len(), 1);
        assert!(mails_to(&ctx, "ghost@example.com").await.is_empty());
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn reset_sets_a_new_password_once_and_signs_out_everywhere() {
    with_app(|server, ctx| async move {
        user(&ctx, "ivy@example.com", Role::Customer).await;
        let session = login(&server, "ivy@example.com", PASSWORD).await;
        server
            .post("/api/v1/auth/forgot")
            .json(&json!({"email": "ivy@example.com"}))
            .await;
        let token = token_from_mail(&ctx, "ivy@example.com", "password_reset").await;

        // A weak password is refused and leaves the link usable (nothing half-written).
        let weak = server
            .post("/api/v1/auth/reset")
            .json(&json!({"token": token, "password": "short"}))
            .await;
        assert!(
            assert_error(&weak, 422, "validation_failed")["error"]["details"]["password"]
                .is_array()
        );

        let res = server
            .post("/api/v1/auth/reset")
            .json(&json!({"token": token, "password": "a brand new secret"}))
            .await;
        assert_eq!(res.status_code(), 204);
        login(&server, "ivy@example.com", "a brand new secret").await;
        assert_error(
            &server
                .post("/api/v1/auth/login")
                .json(&json!({"email": "ivy@example.com", "password": PASSWORD}))
                .await,
            401,
            "unauthorized",
        );
        assert_error(
            &server
                .post("/api/v1/auth/reset")
                .json(&json!({"token": token, "password": "another new secret"}))
                .await,
            422,
            "invalid_token",
        );
        assert_error(
            &server
                .post("/api/v1/auth/refresh")
                .json(&json!({"refresh": session["refresh"]}))
                .await,
            401,
            "unauthorized",
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn racing_redemptions_of_one_refresh_or_reset_token_succeed_once() {
    with_app(|server, ctx| async move {
        user(&ctx, "race@example.com", Role::Customer).await;
        let t = login(&server, "race@example.com", PASSWORD).await;
        let refresh = || {
            server
                .post("/api/v1/auth/refresh")
                .json(&json!({"refresh": t["refresh"]}))
        };
        let results = tokio::join!(refresh(), refresh(), refresh(), refresh());
        let ok = [&results.0, &results.1, &results.2, &results.3]
            .iter()
            .filter(|r| r.status_code() == 200)
            .count();
        assert_eq!(ok, 1, "exactly one rotation wins");
        for r in [&results.0, &results.1, &results.2, &results.3] {
            assert!(
                matches!(r.status_code().as_u16(), 200 | 401),
                "losers are refused, not errors: {}",
                r.text()
            );
        }

        server
            .post("/api/v1/auth/forgot")
            .json(&json!({"email": "race@example.com"}))
            .await;
        let token = token_from_mail(&ctx, "race@example.com", "password_reset").await;
        let reset = |p: &'static str| {
            server
                .post("/api/v1/auth/reset")
                .json(&json!({"token": token, "password": p}))
        };
        let (a, b, c) = tokio::join!(
            reset("first new password"),
            reset("second new password"),
            reset("third new password")
        );
        let winners: Vec<_> = [
            (&a, "first new password"),
            (&b, "second new password"),
            (&c, "third new password"),
        ]
        .into_iter()
        .filter(|(r, _)| r.status_code() == 204)
        .map(|(_, p)| p)
        .collect();
        assert_eq!(winners.len(), 1, "a reset link works once");
        for r in [&a, &b, &c] {
            assert!(
                matches!(r.status_code().as_u16(), 204 | 422),
                "losers are refused, not errors: {}",
                r.text()
            );
        }
        login(&server, "race@example.com", winners[0]).await;
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn guesses_sent_at_once_cannot_slip_under_the_login_limit() {
    with_app(|server, ctx| async move {
        user(&ctx, "dan@example.com", Role::Customer).await;
        let body = json!({"email": "dan@example.com", "password": "guess guess guess"});
        let tries = (0..12).map(|_| {
            std::future::IntoFuture::into_future(server.post("/api/v1/auth/login").json(&body))
        });
        let answers = futures::future::join_all(tries).await;
        let refused = answers.iter().filter(|r| r.status_code() == 401).count();
        let limited = answers.iter().filter(|r| r.status_code() == 429).count();
        assert_eq!(
            (refused, limited),
            (5, 7),
            "five tries, however they arrive"
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn one_client_guessing_across_many_accounts_is_throttled_too() {
    with_app(|server, _ctx| async move {
        // 5 failures per address, 50 per client: ten addresses exhaust the client's budget.
        for i in 0..50 {
            let res = server.post("/api/v1/auth/login").json(&json!({"email": format!("victim{}@example.com", i / 5), "password": "guess guess guess"})).await;
            assert_eq!(res.status_code(), 401, "attempt {i}");
        }
        let res = server.post("/api/v1/auth/login").json(&json!({"email": "fresh@example.com", "password": "guess guess guess"})).await;
        assert_error(&res, 429, "rate_limited");
    })
    .await;
}
