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

/// Issue 20, item 2 (API): the change needs the password, waits for the link sent to the new
/// address, tells the old one, and once confirmed ends every token of the account.
#[tokio::test]
#[parallel]
async fn an_email_change_waits_for_the_link_and_then_ends_every_other_session() {
    with_app(|server, ctx| async move {
        let ann = bearer(&access_token(&server, &ctx, "ann@example.com", Role::Customer).await);
        user(&ctx, "bob@example.com", Role::Customer).await;
        let change = |body: Value| {
            server
                .post("/api/v1/me/email")
                .add_header(ann.0.clone(), ann.1.clone())
                .json(&body)
        };
        for (body, field) in [
            (
                json!({"new_email": "ann.new@example.com", "password": "wrong password!"}),
                "password",
            ),
            (
                json!({"new_email": "not an address", "password": PASSWORD}),
                "new_email",
            ),
            (
                json!({"new_email": "ANN@example.com", "password": PASSWORD}),
                "new_email",
            ),
            (
                json!({"new_email": "bob@example.com", "password": PASSWORD}),
                "new_email",
            ),
        ] {
            let res = change(body).await;
            let err = assert_error(&res, 422, "validation_failed");
            assert!(err["error"]["details"][field].is_array(), "{err}");
        }
        assert!(mails_to(&ctx, "ann.new@example.com").await.is_empty());
        assert_error(
            &server
                .post("/api/v1/me/email")
                .json(&json!({"new_email": "x@example.com", "password": PASSWORD}))
                .await,
            401,
            "unauthorized",
        );

        // A first request, then a second: only the newest link works.
        assert_eq!(
            change(json!({"new_email": "ann.old-idea@example.com", "password": PASSWORD}))
                .await
                .status_code(),
            202
        );
        let stale = token_from_mail(&ctx, "ann.old-idea@example.com", "email_change").await;
        assert_eq!(
            change(json!({"new_email": "Ann.New@Example.com", "password": PASSWORD}))
                .await
                .status_code(),
            202
        );
        let token = token_from_mail(&ctx, "ann.new@example.com", "email_change").await;
        let notices: Vec<_> = mails_to(&ctx, "ann@example.com")
            .await
            .into_iter()
            .filter(|m| m.kind == "email_change_notice")
            .collect();
        assert_eq!(notices.len(), 2);
        assert!(notices[1].text_body.contains("ann.new@example.com"));
        assert!(
            !notices[1].text_body.contains(&token),
            "the old address never gets the link"
        );
        // Nothing changed yet.
        let me: Value = server
            .get("/api/v1/me")
            .add_header(ann.0.clone(), ann.1.clone())
            .await
            .json();
        assert_eq!(me["email"], "ann@example.com");

        let confirm = |t: String| {
            server
                .post("/api/v1/auth/email/confirm")
                .add_header(ann.0.clone(), ann.1.clone())
                .json(&json!({"token": t}))
        };
        // Only as the account that asked: not signed in, or as someone else, the link does
        // nothing (and stays good for its owner).
        let anonymous = server
            .post("/api/v1/auth/email/confirm")
            .json(&json!({"token": token}))
            .await;
        assert_error(&anonymous, 401, "unauthorized");
        let bob = bearer(
            login(&server, "bob@example.com", PASSWORD).await["access"]
                .as_str()
                .unwrap(),
        );
        let as_bob = server
            .post("/api/v1/auth/email/confirm")
            .add_header(bob.0.clone(), bob.1.clone())
            .json(&json!({"token": token}))
            .await;
        assert_error(&as_bob, 422, "invalid_token");
        assert_error(&confirm(stale).await, 422, "invalid_token");
        assert_error(&confirm("forged".into()).await, 422, "invalid_token");
        let phone = bearer(
            login(&server, "ann@example.com", PASSWORD).await["access"]
                .as_str()
                .unwrap(),
        );
        assert_eq!(confirm(token.clone()).await.status_code(), 204);
        assert_error(&confirm(token).await, 422, "invalid_token");

        // Her other sessions stop at once (the confirming one goes on); the old address no
        // longer signs in, the new one does.
        assert_error(
            &server
                .get("/api/v1/me")
                .add_header(phone.0.clone(), phone.1.clone())
                .await,
            401,
            "unauthorized",
        );
        let still: Value = server
            .get("/api/v1/me")
            .add_header(ann.0.clone(), ann.1.clone())
            .await
            .json();
        assert_eq!(still["email"], "ann.new@example.com");
        let old = server
            .post("/api/v1/auth/login")
            .json(&json!({"email": "ann@example.com", "password": PASSWORD}))
            .await;
        assert_error(&old, 401, "unauthorized");
        let fresh = login(&server, "ann.new@example.com", PASSWORD).await;
        assert_eq!(fresh["user"]["email"], "ann.new@example.com");
        let me: Value = server
            .get("/api/v1/me")
            .add_header(
                "authorization",
                format!("Bearer {}", fresh["access"].as_str().unwrap()),
            )
            .await
            .json();
        assert_eq!(me["email_verified"], true);
    })
    .await;
}

/// A pending change dies with a new password: an intruder's link stops working once the
/// owner, warned by the notice, changes it.
#[tokio::test]
#[parallel]
async fn a_new_password_voids_a_pending_email_change() {
    with_app(|server, ctx| async move {
        let ann = bearer(&access_token(&server, &ctx, "ann@example.com", Role::Customer).await);
        let res = server
            .post("/api/v1/me/email")
            .add_header(ann.0.clone(), ann.1.clone())
            .json(&json!({"new_email": "intruder@example.com", "password": PASSWORD}))
            .await;
        assert_eq!(res.status_code(), 202);
        let token = token_from_mail(&ctx, "intruder@example.com", "email_change").await;
        let changed = server
            .post("/api/v1/me/password")
            .add_header(ann.0.clone(), ann.1.clone())
            .json(&json!({"current_password": PASSWORD, "new_password": "another horse battery"}))
            .await;
        assert_eq!(changed.status_code(), 204);
        let again = bearer(
            login(&server, "ann@example.com", "another horse battery").await["access"]
                .as_str()
                .unwrap(),
        );
        let used = server
            .post("/api/v1/auth/email/confirm")
            .add_header(again.0, again.1)
            .json(&json!({"token": token}))
            .await;
        assert_error(&used, 422, "invalid_token");
        login(&server, "ann@example.com", "another horse battery").await;
    })
    .await;
}

/// Issue 20, item 3 (API): the export holds everything the shop has on the caller; closing
/// the account needs the password, waits for paid orders to ship, cancels unpaid ones, erases
/// what is only about the person and keeps the books without it.
#[tokio::test]
#[parallel]
async fn the_export_holds_everything_and_closing_erases_it_but_keeps_the_books() {
    use crate::support::orders::{add, checkout, get, post, product, shop};
    use emporium::models::_entities::{orders, users, wishlist_items};
    use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = bearer(&access_token(&server, &ctx, "ann@example.com", Role::Customer).await);
        assert!(add(&server, &ann, shop.id("KTL-1"), 1).await.status_code().is_success());
        let bought: Value = checkout(&server, &ann).await.json();
        let bought_id = bought["id"].as_str().unwrap().to_string();
        post(&server, &shop.admin, &format!("/api/v1/orders/{bought_id}/mark-paid"), json!({})).await.assert_status_ok();
        post(&server, &ann, &format!("/api/v1/products/{}/reviews", shop.id("KTL-1")), json!({"rating": 4, "comment": "Boils fast."}))
            .await
            .assert_status(axum::http::StatusCode::CREATED);
        post(&server, &ann, "/api/v1/wishlist", json!({"product_id": shop.id("MUG-2")})).await;
        post(&server, &ann, "/api/v1/me/addresses", json!({"name": "Ann Home", "line1": "1 Fjord Road", "city": "Bergen", "postal_code": "5003", "country": "NO", "phone": "+47 5555"}))
            .await
            .assert_status(axum::http::StatusCode::CREATED);

        let export = get(&server, &ann, "/api/v1/me/export").await;
        export.assert_status_ok();
        assert!(export.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
        let data: Value = export.json();
        assert_eq!(data["profile"]["email"], "ann@example.com");
        assert_eq!(data["addresses"][0]["line1"], "1 Fjord Road");
        assert_eq!(data["orders"].as_array().unwrap().len(), 1);
        assert_eq!(data["orders"][0]["id"], bought_id.as_str());
        assert_eq!(data["invoices"].as_array().unwrap().len(), 1);
        assert_eq!(data["reviews"][0]["comment"], "Boils fast.");
        assert_eq!(data["wishlist"][0]["sku"], "MUG-2");
        assert_error(&server.get("/api/v1/me/export").await, 401, "unauthorized");
        // Staff read every order, but their own data holds only their own.
        let staff_data: Value = get(&server, &shop.admin, "/api/v1/me/export").await.json();
        assert_eq!(staff_data["orders"], json!([]));
        assert_eq!(staff_data["invoices"], json!([]));

        let close = |who: &(axum::http::HeaderName, axum::http::HeaderValue), password: &str| {
            server
                .delete("/api/v1/me")
                .add_header(who.0.clone(), who.1.clone())
                .json(&json!({"password": password}))
        };
        let wrong = assert_error(&close(&ann, "not my password").await, 422, "validation_failed");
        assert!(wrong["error"]["details"]["password"].is_array());
        assert_error(&close(&shop.staff, PASSWORD).await, 409, "conflict");
        // Paid and not shipped: the goods still need the address.
        assert_error(&close(&ann, PASSWORD).await, 409, "conflict");
        post(&server, &shop.admin, &format!("/api/v1/orders/{bought_id}/ship"), json!({})).await.assert_status_ok();

        // An unpaid order is cancelled by the closing, and its stock released.
        assert!(add(&server, &ann, shop.id("LMP-1"), 2).await.status_code().is_success());
        let unpaid: Value = checkout(&server, &ann).await.json();
        let lamp_before = product(&server, shop.id("LMP-1")).await["available"].as_i64().unwrap();
        let invoice_number = data["invoices"][0]["number"].as_i64().unwrap();

        assert_eq!(close(&ann, PASSWORD).await.status_code(), 204);
        assert_error(&get(&server, &ann, "/api/v1/me").await, 401, "unauthorized");
        let login = server.post("/api/v1/auth/login").json(&json!({"email": "ann@example.com", "password": PASSWORD})).await;
        assert_error(&login, 401, "unauthorized");
        assert_eq!(product(&server, shop.id("LMP-1")).await["available"].as_i64().unwrap(), lamp_before + 2);
        let cancelled: Value = get(&server, &shop.admin, &format!("/api/v1/orders/{}", unpaid["id"].as_str().unwrap())).await.json();
        assert_eq!(cancelled["status"], "cancelled");

        // The account row stays, anonymised; nothing of Ann is left on it.
        let row = users::Entity::find().filter(users::Column::Email.eq("ann@example.com")).one(&ctx.db).await.unwrap();
        assert!(row.is_none());
        let kept: Vec<orders::Model> = orders::Entity::find().filter(orders::Column::Email.contains("closed.invalid")).all(&ctx.db).await.unwrap();
        assert_eq!(kept.len(), 2);
        // The admin's search index of order addresses (migration 24) let go of hers too.
        let left = ctx.db.query_all_raw(sea_orm::Statement::from_string(
            ctx.db.get_database_backend(),
            "SELECT email FROM order_emails",
        )).await.unwrap();
        let left: Vec<String> = left.iter().map(|r| r.try_get("", "email").unwrap()).collect();
        assert!(!left.iter().any(|e| e.contains("ann@")), "{left:?}");
        assert!(left.contains(&kept[0].email), "the scrubbed orders' address is searchable: {left:?}");
        let found: Value = get(&server, &shop.admin, "/api/v1/orders?q=ann%40example").await.json();
        assert_eq!(found["count"], 0);
        let closed = users::Entity::find_by_id(kept[0].user_id.unwrap()).one(&ctx.db).await.unwrap().unwrap();
        assert!(!closed.active && closed.first_name.is_empty() && closed.email.ends_with("@closed.invalid"));
        assert!(wishlist_items::Entity::find().filter(wishlist_items::Column::UserId.eq(closed.id)).all(&ctx.db).await.unwrap().is_empty());
        for o in &kept {
            assert!(!o.shipping_address.contains("Harbour") && o.shipping_address.contains("DE"), "{}", o.shipping_address);
            assert!(!o.billing_address.contains("+49"), "{}", o.billing_address);
        }
        // The books: the invoice is still there for the admin, without the e-mail.
        let invoice: Value = get(&server, &shop.admin, &format!("/api/v1/invoices/{invoice_number}")).await.json();
        assert_eq!(invoice["order"]["id"], bought_id.as_str());
        assert!(!invoice.to_string().contains("ann@example.com"));
        // The review is gone and the rating follows.
        let kettle = product(&server, shop.id("KTL-1")).await;
        assert_eq!(kettle["review_count"], 0);
        // The address is free for a new account.
        user(&ctx, "ann@example.com", Role::Customer).await;
    })
    .await;
}
