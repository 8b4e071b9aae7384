//! `/api/v1/me*`: profile, password and address of the signed-in user.
use emporium::domain::role::Role;
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::*;

#[tokio::test]
#[parallel]
async fn me_requires_a_valid_bearer_token() {
    with_app(|server, _ctx| async move {
        assert_error(&server.get("/api/v1/me").await, 401, "unauthorized");
        let (h, v) = bearer("not.a.jwt");
        assert_error(
            &server.get("/api/v1/me").add_header(h, v).await,
            401,
            "unauthorized",
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn profile_reads_and_patches_only_given_fields() {
    with_app(|server, ctx| async move {
        let token = access_token(&server, &ctx, "jo@example.com", Role::Customer).await;
        let (h, v) = bearer(&token);
        let me: Value = server
            .get("/api/v1/me")
            .add_header(h.clone(), v.clone())
            .await
            .json();
        for key in [
            "id",
            "email",
            "first_name",
            "last_name",
            "role",
            "email_verified",
            "created_at",
        ] {
            assert!(me.get(key).is_some(), "missing {key}");
        }
        assert!(me["created_at"].as_str().unwrap().ends_with('Z'));
        let res = server
            .patch("/api/v1/me")
            .add_header(h.clone(), v.clone())
            .json(&json!({"first_name": "Joanna"}))
            .await;
        res.assert_status_ok();
        let body: Value = res.json();
        assert_eq!(body["first_name"], "Joanna");
        assert_eq!(body["last_name"], "User");
        let bad = server
            .patch("/api/v1/me")
            .add_header(h.clone(), v.clone())
            .json(&json!({"first_name": "  "}))
            .await;
        assert_error(&bad, 422, "validation_failed");
        let unknown = server
            .patch("/api/v1/me")
            .add_header(h, v)
            .json(&json!({"role": "admin"}))
            .await;
        assert_error(&unknown, 400, "bad_request");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn change_password_checks_the_current_one_and_the_policy() {
    with_app(|server, ctx| async move {
        let token = access_token(&server, &ctx, "kim@example.com", Role::Customer).await;
        let (h, v) = bearer(&token);
        let bad = server
            .post("/api/v1/me/password")
            .add_header(h.clone(), v.clone())
            .json(&json!({"current_password": "wrong one!", "new_password": "123"}))
            .await;
        let body = assert_error(&bad, 422, "validation_failed");
        assert!(body["error"]["details"]["current_password"].is_array());
        assert!(body["error"]["details"]["new_password"].is_array());
        let ok = server
            .post("/api/v1/me/password")
            .add_header(h, v)
            .json(&json!({"current_password": PASSWORD, "new_password": "a totally new one"}))
            .await;
        assert_eq!(ok.status_code(), 204);
        login(&server, "kim@example.com", "a totally new one").await;
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn address_is_404_until_saved_then_round_trips() {
    with_app(|server, ctx| async move {
        let token = access_token(&server, &ctx, "lu@example.com", Role::Customer).await;
        let (h, v) = bearer(&token);
        assert_error(&server.get("/api/v1/me/address").add_header(h.clone(), v.clone()).await, 404, "not_found");
        let bad = server.put("/api/v1/me/address").add_header(h.clone(), v.clone()).json(&json!({"line1": "", "city": "X", "postal_code": "1", "country": "Germany"})).await;
        let body = assert_error(&bad, 422, "validation_failed");
        assert!(body["error"]["details"]["line1"].is_array() && body["error"]["details"]["country"].is_array());
        let addr = json!({"line1": "1 Main St", "line2": "", "city": "Berlin", "postal_code": "10115", "country": "de", "phone": "+49 30 1"});
        let res = server.put("/api/v1/me/address").add_header(h.clone(), v.clone()).json(&addr).await;
        res.assert_status_ok();
        let got: Value = server.get("/api/v1/me/address").add_header(h, v).await.json();
        assert_eq!(got["country"], "DE");
        assert_eq!(got["city"], "Berlin");
    })
    .await;
}
