//! `/api/v1/admin/users`: admins only; list with pagination, create, change role, deactivate.
use emporium::domain::role::Role;
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::*;

#[tokio::test]
#[parallel]
async fn only_admins_may_manage_users() {
    with_app(|server, ctx| async move {
        assert_error(
            &server.get("/api/v1/admin/users").await,
            401,
            "unauthorized",
        );
        for (email, role) in [
            ("c@example.com", Role::Customer),
            ("s@example.com", Role::Staff),
            ("p@example.com", Role::ProductManager),
        ] {
            let token = access_token(&server, &ctx, email, role).await;
            let (h, v) = bearer(&token);
            assert_error(
                &server
                    .get("/api/v1/admin/users")
                    .add_header(h.clone(), v.clone())
                    .await,
                403,
                "forbidden",
            );
            assert_error(
                &server
                    .post("/api/v1/admin/users")
                    .add_header(h, v)
                    .json(&json!({}))
                    .await,
                403,
                "forbidden",
            );
        }
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn admin_lists_with_pagination_and_filters() {
    with_app(|server, ctx| async move {
        let token = access_token(&server, &ctx, "root@example.com", Role::Admin).await;
        for i in 0..4 {
            user(&ctx, &format!("cust{i}@example.com"), Role::Customer).await;
        }
        let (h, v) = bearer(&token);
        let res = server
            .get("/api/v1/admin/users?page=1&page_size=2&role=customer")
            .add_header(h.clone(), v.clone())
            .await;
        res.assert_status_ok();
        let page: Value = res.json();
        assert_eq!(page["count"], 4);
        assert_eq!(page["results"].as_array().unwrap().len(), 2);
        assert_eq!(page["page_size"], 2);
        assert_eq!(page["previous"], Value::Null);
        assert_eq!(
            page["next"],
            "http://localhost/api/v1/admin/users?role=customer&page=2&page_size=2"
        );
        let q: Value = server
            .get("/api/v1/admin/users?q=CUST3")
            .add_header(h.clone(), v.clone())
            .await
            .json();
        assert_eq!(q["count"], 1);
        assert_eq!(q["results"][0]["email"], "cust3@example.com");
        let bad = server
            .get("/api/v1/admin/users?page_size=101")
            .add_header(h.clone(), v.clone())
            .await;
        assert!(
            assert_error(&bad, 422, "validation_failed")["error"]["details"]["page_size"]
                .is_array()
        );
        let bad_role = server
            .get("/api/v1/admin/users?role=king")
            .add_header(h, v)
            .await;
        assert_error(&bad_role, 422, "validation_failed");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn admin_creates_updates_deactivates_and_deletes() {
    with_app(|server, ctx| async move {
        let token = access_token(&server, &ctx, "boss@example.com", Role::Admin).await;
        let (h, v) = bearer(&token);
        let res = server
            .post("/api/v1/admin/users")
            .add_header(h.clone(), v.clone())
            .json(&json!({"email": "new@example.com", "password": PASSWORD, "first_name": "New", "last_name": "Hire", "role": "staff"}))
            .await;
        assert_eq!(res.status_code(), 201);
        let created: Value = res.json();
        assert_eq!(created["role"], "staff");
        assert_eq!(created["email_verified"], true);
        let id = created["id"].as_str().unwrap().to_string();

        let staff_login = login(&server, "new@example.com", PASSWORD).await;
        let (sh, sv) = bearer(staff_login["access"].as_str().unwrap());

        let patched: Value = server.patch(&format!("/api/v1/admin/users/{id}")).add_header(h.clone(), v.clone()).json(&json!({"role": "product_manager", "active": false})).await.json();
        assert_eq!(patched["role"], "product_manager");
        assert_eq!(patched["active"], false);
        // Deactivation locks the user out at once: live access token and refresh token both die.
        assert_error(&server.get("/api/v1/me").add_header(sh, sv).await, 401, "unauthorized");
        assert_error(&server.post("/api/v1/auth/refresh").json(&json!({"refresh": staff_login["refresh"]})).await, 401, "unauthorized");
        assert_error(&server.post("/api/v1/auth/login").json(&json!({"email": "new@example.com", "password": PASSWORD})).await, 401, "unauthorized");

        assert_error(&server.get("/api/v1/admin/users/not-a-uuid").add_header(h.clone(), v.clone()).await, 404, "not_found");
        assert_error(&server.get(&format!("/api/v1/admin/users/{}", uuid::Uuid::new_v4())).add_header(h.clone(), v.clone()).await, 404, "not_found");
        assert_eq!(server.delete(&format!("/api/v1/admin/users/{id}")).add_header(h.clone(), v.clone()).await.status_code(), 204);
        assert_error(&server.get(&format!("/api/v1/admin/users/{id}")).add_header(h, v).await, 404, "not_found");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn an_admin_cannot_demote_or_delete_themselves() {
    with_app(|server, ctx| async move {
        let me = user(&ctx, "self@example.com", Role::Admin).await;
        let t = login(&server, "self@example.com", PASSWORD).await;
        let (h, v) = bearer(t["access"].as_str().unwrap());
        let res = server
            .patch(&format!("/api/v1/admin/users/{}", me.pid))
            .add_header(h.clone(), v.clone())
            .json(&json!({"role": "customer"}))
            .await;
        assert_error(&res, 409, "conflict");
        // Nor move their own account to another address with a token alone.
        let res = server
            .patch(&format!("/api/v1/admin/users/{}", me.pid))
            .add_header(h.clone(), v.clone())
            .json(&json!({"email": "elsewhere@example.com"}))
            .await;
        assert_error(&res, 409, "conflict");
        let renamed = server
            .patch(&format!("/api/v1/admin/users/{}", me.pid))
            .add_header(h.clone(), v.clone())
            .json(&json!({"first_name": "Root", "email": "SELF@example.com"}))
            .await;
        assert_eq!(renamed.status_code(), 200, "{}", renamed.text());
        assert_error(
            &server
                .delete(&format!("/api/v1/admin/users/{}", me.pid))
                .add_header(h, v)
                .await,
            409,
            "conflict",
        );
    })
    .await;
}
