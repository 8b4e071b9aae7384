//! Issue 20, item 1 (API): admins correct customers' names and e-mail, send reset links, delete
//! or close accounts, and every back-office change lands in the audit log.
use emporium::{
    domain::role::Role,
    models::_entities::{audit_log, users},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::{
    orders::{add, checkout, customer, get, post, shop, Auth},
    *,
};

async fn patch(server: &loco_rs::TestServer, auth: &Auth, path: &str, body: Value) -> Value {
    let res = server
        .patch(path)
        .add_header(auth.0.clone(), auth.1.clone())
        .json(&body)
        .await;
    assert!(res.status_code().is_success(), "{path}: {}", res.text());
    res.json()
}

async fn audit(server: &loco_rs::TestServer, auth: &Auth, query: &str) -> Value {
    let res = get(server, auth, &format!("/api/v1/admin/audit-log?{query}")).await;
    assert_eq!(res.status_code(), 200, "{query}: {}", res.text());
    res.json()
}

#[tokio::test]
#[parallel]
async fn an_admin_corrects_a_customers_email_which_then_opens_only_through_the_new_mailbox() {
    with_app(|server, ctx| async move {
        let admin = bearer(&access_token(&server, &ctx, "boss@example.com", Role::Admin).await);
        let ann = user(&ctx, "ann@example.com", Role::Customer).await;
        user(&ctx, "taken@example.com", Role::Customer).await;
        let ann_session = login(&server, "ann@example.com", PASSWORD).await;
        let (ah, av) = bearer(ann_session["access"].as_str().unwrap());
        let path = format!("/api/v1/admin/users/{}", ann.pid);

        // Bad values are named, and change nothing.
        let bad = server
            .patch(&path)
            .add_header(admin.0.clone(), admin.1.clone())
            .json(&json!({"first_name": " ", "email": "not an address"}))
            .await;
        let details = &assert_error(&bad, 422, "validation_failed")["error"]["details"];
        assert!(
            details["first_name"].is_array() && details["email"].is_array(),
            "{details}"
        );
        let taken = server
            .patch(&path)
            .add_header(admin.0.clone(), admin.1.clone())
            .json(&json!({"email": "Taken@Example.com"}))
            .await;
        assert!(
            assert_error(&taken, 422, "validation_failed")["error"]["details"]["email"].is_array()
        );
        let unknown = server
            .patch(&path)
            .add_header(admin.0.clone(), admin.1.clone())
            .json(&json!({"nickname": "x"}))
            .await;
        assert!(
            unknown.status_code() == 400 || unknown.status_code() == 422,
            "{}",
            unknown.text()
        );
        assert_eq!(
            users::Entity::find_by_id(ann.id)
                .one(&ctx.db)
                .await
                .unwrap()
                .unwrap()
                .email,
            "ann@example.com"
        );

        let changed = patch(
            &server,
            &admin,
            &path,
            json!({"first_name": "Anne", "last_name": "Example", "email": "anne@example.com"}),
        )
        .await;
        assert_eq!(changed["email"], "anne@example.com");
        assert_eq!(changed["first_name"], "Anne");
        assert_eq!(changed["email_verified"], false);
        // The address is a credential: her sessions end, and the account opens only through the
        // new mailbox — the old password stops working, a link to choose one goes there.
        assert_error(
            &server.get("/api/v1/me").add_header(ah, av).await,
            401,
            "unauthorized",
        );
        assert_error(
            &server
                .post("/api/v1/auth/refresh")
                .json(&json!({"refresh": ann_session["refresh"]}))
                .await,
            401,
            "unauthorized",
        );
        for email in ["ann@example.com", "anne@example.com"] {
            let refused = server
                .post("/api/v1/auth/login")
                .json(&json!({"email": email, "password": PASSWORD}))
                .await;
            assert_error(&refused, 401, "unauthorized");
        }
        assert!(mails_to(&ctx, "ann@example.com")
            .await
            .iter()
            .any(|m| m.kind == "email_changed_by_shop"));
        let token = token_from_mail(&ctx, "anne@example.com", "password_reset").await;
        server
            .post("/api/v1/auth/reset")
            .json(&json!({"token": token, "password": "anne's new secret"}))
            .await
            .assert_status(axum::http::StatusCode::NO_CONTENT);
        let back = login(&server, "anne@example.com", "anne's new secret").await;
        let me: Value = get(
            &server,
            &bearer(back["access"].as_str().unwrap()),
            "/api/v1/me",
        )
        .await
        .json();
        assert_eq!(me["email_verified"], true, "the reset proved the mailbox");

        // Recorded: who, what, before and after; a PATCH that changes nothing records nothing.
        // The same address again (as the page's form sends it) is no change: her password
        // stays good.
        patch(
            &server,
            &admin,
            &path,
            json!({"first_name": "Anne", "email": "Anne@Example.com"}),
        )
        .await;
        login(&server, "anne@example.com", "anne's new secret").await;
        let log = audit(
            &server,
            &admin,
            &format!("target_type=user&target_id={}", ann.pid),
        )
        .await;
        assert_eq!(log["count"], 1, "{log}");
        let row = &log["results"][0];
        assert_eq!(row["action"], "user.updated");
        assert!(row["actor"]
            .as_str()
            .unwrap()
            .starts_with("boss@example.com"));
        assert_eq!(row["before"]["email"], "ann@example.com");
        assert_eq!(row["after"]["email"], "anne@example.com");
        assert_eq!(row["after"]["first_name"], "Anne");
        assert!(
            row["after"].get("role").is_none(),
            "only what changed: {row}"
        );
        for f in ["id", "actor_id", "target_type", "target_id", "at"] {
            assert!(!row[f].is_null(), "{f}: {row}");
        }

        // A role change ends the sessions too (the token carried the old role).
        let staff = user(&ctx, "sam@example.com", Role::Staff).await;
        let sam = login(&server, "sam@example.com", PASSWORD).await;
        patch(
            &server,
            &admin,
            &format!("/api/v1/admin/users/{}", staff.pid),
            json!({"role": "customer"}),
        )
        .await;
        assert_error(
            &get(
                &server,
                &bearer(sam["access"].as_str().unwrap()),
                "/api/v1/me",
            )
            .await,
            401,
            "unauthorized",
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn an_admin_sends_a_reset_link_without_seeing_it() {
    with_app(|server, ctx| async move {
        let admin = bearer(&access_token(&server, &ctx, "boss@example.com", Role::Admin).await);
        let staff = bearer(&access_token(&server, &ctx, "staff@example.com", Role::Staff).await);
        let ann = user(&ctx, "ann@example.com", Role::Customer).await;
        let path = format!("/api/v1/admin/users/{}/password-reset", ann.pid);
        assert_error(
            &post(&server, &staff, &path, json!({})).await,
            403,
            "forbidden",
        );
        assert_error(
            &server.post(&path).json(&json!({})).await,
            401,
            "unauthorized",
        );
        let unknown = format!(
            "/api/v1/admin/users/{}/password-reset",
            uuid::Uuid::new_v4()
        );
        assert_error(
            &post(&server, &admin, &unknown, json!({})).await,
            404,
            "not_found",
        );

        let res = post(&server, &admin, &path, json!({})).await;
        assert_eq!(res.status_code(), 202, "{}", res.text());
        let token = token_from_mail(&ctx, "ann@example.com", "password_reset").await;
        assert!(
            !res.text().contains(&token),
            "the admin never sees the link"
        );
        server
            .post("/api/v1/auth/reset")
            .json(&json!({"token": token, "password": "a fresh secret here"}))
            .await
            .assert_status(axum::http::StatusCode::NO_CONTENT);
        login(&server, "ann@example.com", "a fresh secret here").await;
        let log = audit(&server, &admin, "action=user.password_reset_sent").await;
        assert_eq!(log["count"], 1);
        assert_eq!(log["results"][0]["target_id"], ann.pid.to_string());

        // A deactivated account gets no link.
        patch(
            &server,
            &admin,
            &format!("/api/v1/admin/users/{}", ann.pid),
            json!({"active": false}),
        )
        .await;
        assert_error(
            &post(&server, &admin, &path, json!({})).await,
            409,
            "conflict",
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn deleting_a_customer_with_orders_closes_and_anonymises_the_account() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let ann = customer(&server, &ctx, "ann@example.com").await;
        assert!(add(&server, &ann, shop.id("KTL-1"), 1)
            .await
            .status_code()
            .is_success());
        let order: Value = checkout(&server, &ann).await.json();
        let row = users::Entity::find()
            .filter(users::Column::Email.eq("ann@example.com"))
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        let path = format!("/api/v1/admin/users/{}", row.pid);
        patch(&server, &shop.admin, &path, json!({"first_name": "Annie"})).await;

        let res = server
            .delete(&path)
            .add_header(shop.admin.0.clone(), shop.admin.1.clone())
            .await;
        assert_eq!(res.status_code(), 204, "{}", res.text());
        // Kept for the books, without the person.
        let closed = users::Entity::find_by_id(row.id)
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert!(
            !closed.active
                && closed.first_name.is_empty()
                && closed.email.ends_with("@closed.invalid")
        );
        let seen: Value = get(
            &server,
            &shop.admin,
            &format!("/api/v1/orders/{}", order["id"].as_str().unwrap()),
        )
        .await
        .json();
        assert_eq!(seen["status"], "cancelled");
        assert_error(
            &server
                .post("/api/v1/auth/login")
                .json(&json!({"email": "ann@example.com", "password": PASSWORD}))
                .await,
            401,
            "unauthorized",
        );
        // The log keeps what was done, not the names and addresses it held.
        let log = audit(&server, &shop.admin, &format!("target_id={}", row.pid)).await;
        let actions: Vec<&str> = log["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["action"].as_str().unwrap())
            .collect();
        // (The deletion that the orders refused left no row: its transaction rolled back.)
        assert_eq!(actions, ["user.closed", "user.updated"]);
        let stored: Vec<audit_log::Model> = audit_log::Entity::find().all(&ctx.db).await.unwrap();
        for r in &stored {
            let text = format!("{:?} {:?} {}", r.before, r.after, r.actor);
            assert!(
                !text.contains("Annie") && !text.contains("ann@example.com"),
                "{text}"
            );
        }
        assert!(
            log["results"][1]["before"]["first_name"] == "(erased)",
            "{log}"
        );

        // Closing is final: no reopening, no address, no reset link; deleting again is a no-op.
        assert!(closed.closed_at.is_some());
        for body in [
            json!({"active": true}),
            json!({"email": "mallory@example.com", "active": true}),
        ] {
            let res = server
                .patch(&path)
                .add_header(shop.admin.0.clone(), shop.admin.1.clone())
                .json(&body)
                .await;
            assert_error(&res, 409, "conflict");
        }
        let res = post(
            &server,
            &shop.admin,
            &format!("{path}/password-reset"),
            json!({}),
        )
        .await;
        assert_error(&res, 409, "conflict");
        let res = server
            .delete(&path)
            .add_header(shop.admin.0.clone(), shop.admin.1.clone())
            .await;
        assert_eq!(res.status_code(), 204, "{}", res.text());
        let still = users::Entity::find_by_id(row.id)
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (still.active, still.email.as_str(), still.closed_at),
            (false, closed.email.as_str(), closed.closed_at)
        );

        // Without orders, an account is deleted outright.
        let bob = user(&ctx, "bob@example.com", Role::Customer).await;
        let bob_path = format!("/api/v1/admin/users/{}", bob.pid);
        assert_eq!(
            server
                .delete(&bob_path)
                .add_header(shop.admin.0.clone(), shop.admin.1.clone())
                .await
                .status_code(),
            204
        );
        assert!(users::Entity::find_by_id(bob.id)
            .one(&ctx.db)
            .await
            .unwrap()
            .is_none());
        let log = audit(
            &server,
            &shop.admin,
            &format!("target_type=user&target_id={}", bob.pid),
        )
        .await;
        assert_eq!(log["results"][0]["action"], "user.deleted");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn the_audit_log_records_refunds_stock_prices_api_keys_and_webhooks() {
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let admin = &shop.admin;
        let kettle = shop.id("KTL-1").to_string();
        post(
            &server,
            admin,
            "/api/v1/admin/stock-adjustments",
            json!({"product_id": kettle, "delta": 3, "reason": "found a box"}),
        )
        .await
        .assert_status(axum::http::StatusCode::CREATED);
        patch(
            &server,
            &shop.pm,
            &format!("/api/v1/products/{kettle}"),
            json!({"price_cents": 4321}),
        )
        .await;
        let key: Value = post(
            &server,
            admin,
            "/api/v1/admin/api-keys",
            json!({"name": "Sync", "scopes": ["orders:read"]}),
        )
        .await
        .json();
        let key_id = key["id"].as_str().unwrap().to_string();
        assert_eq!(
            server
                .delete(&format!("/api/v1/admin/api-keys/{key_id}"))
                .add_header(admin.0.clone(), admin.1.clone())
                .await
                .status_code(),
            204
        );
        let hook: Value = post(
            &server,
            admin,
            "/api/v1/admin/webhooks",
            json!({"url": "http://127.0.0.1:9/hook", "events": ["order.paid"]}),
        )
        .await
        .json();
        let hook_id = hook["id"].as_str().unwrap().to_string();
        patch(
            &server,
            admin,
            &format!("/api/v1/admin/webhooks/{hook_id}"),
            json!({"active": false, "rotate_secret": true}),
        )
        .await;
        assert_eq!(
            server
                .delete(&format!("/api/v1/admin/webhooks/{hook_id}"))
                .add_header(admin.0.clone(), admin.1.clone())
                .await
                .status_code(),
            204
        );
        let ann = customer(&server, &ctx, "ann@example.com").await;
        assert!(add(&server, &ann, &kettle, 1)
            .await
            .status_code()
            .is_success());
        let order: Value = checkout(&server, &ann).await.json();
        let order_id = order["id"].as_str().unwrap().to_string();
        post(
            &server,
            admin,
            &format!("/api/v1/orders/{order_id}/mark-paid"),
            json!({}),
        )
        .await
        .assert_status_ok();
        post(
            &server,
            admin,
            &format!("/api/v1/orders/{order_id}/refund"),
            json!({"amount_cents": 100}),
        )
        .await
        .assert_status(axum::http::StatusCode::CREATED);

        let all = audit(&server, admin, "page_size=100").await;
        let actions: Vec<&str> = all["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["action"].as_str().unwrap())
            .collect();
        for a in [
            "stock.adjusted",
            "price.changed",
            "api_key.created",
            "api_key.revoked",
            "webhook.created",
            "webhook.updated",
            "webhook.deleted",
            "refund.requested",
        ] {
            assert!(actions.contains(&a), "{a} in {actions:?}");
        }
        // Newest first.
        assert_eq!(actions[0], "refund.requested");
        let price = audit(&server, admin, "action=price.changed").await;
        assert_eq!(price["results"][0]["after"]["price_cents"], 4321);
        assert!(price["results"][0]["actor"]
            .as_str()
            .unwrap()
            .contains("product_manager"));
        let stock = audit(&server, admin, "action=stock.adjusted").await;
        let s = &stock["results"][0];
        assert_eq!(
            s["after"]["stock"].as_i64().unwrap() - s["before"]["stock"].as_i64().unwrap(),
            3
        );
        assert_eq!(s["target_type"], "variant");
        let refund = audit(
            &server,
            admin,
            &format!("target_type=order&target_id={order_id}"),
        )
        .await;
        assert_eq!(refund["results"][0]["after"]["amount_cents"], 100);
        let hook_rows = audit(&server, admin, &format!("target_id={hook_id}")).await;
        assert_eq!(hook_rows["count"], 3);
        let updated = &hook_rows["results"][1];
        assert_eq!(updated["after"]["active"], false);
        assert_eq!(updated["after"]["secret"], "(rotated)");
        assert!(
            !hook_rows
                .to_string()
                .contains(hook["secret"].as_str().unwrap()),
            "no secret in the log"
        );
        let created = &hook_rows["results"][2]["after"]["url"];
        assert!(
            created.as_str().unwrap().contains("(fingerprint "),
            "{created}: the receiver's path may be its credential"
        );
        assert!(
            !all.to_string()
                .contains(key["secret"].as_str().unwrap_or("never")),
            "no key in the log"
        );

        // Filters by who acted (id or e-mail), checked like every other list.
        let by_email = audit(&server, admin, "actor=admin@example.com&page_size=100").await;
        // The adjustment, the key twice, the endpoint three times and the refund.
        assert_eq!(by_email["count"], 7, "{by_email}");
        assert!(by_email["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["actor"]
                .as_str()
                .unwrap()
                .starts_with("admin@example.com")));
        let pm_id = price["results"][0]["actor_id"]
            .as_str()
            .unwrap()
            .to_string();
        let by_pm = audit(&server, admin, &format!("actor={pm_id}&page_size=100")).await;
        assert_eq!(
            by_pm["count"].as_u64().unwrap() + 7,
            all["count"].as_u64().unwrap()
        );
        assert_eq!(
            audit(&server, admin, "actor=nobody@example.com").await["count"],
            0
        );
        let paged = audit(&server, admin, "page_size=2").await;
        assert_eq!(paged["results"].as_array().unwrap().len(), 2);
        assert!(paged["next"].as_str().unwrap().contains("page=2"));
        for bad in [
            "actor=%20not-an-address",
            "action=user.exploded",
            "target_type=planet",
            "target_id=42",
            "page_size=500",
        ] {
            let res = get(&server, admin, &format!("/api/v1/admin/audit-log?{bad}")).await;
            assert_error(&res, 422, "validation_failed");
        }
        assert_error(
            &get(&server, &shop.staff, "/api/v1/admin/audit-log").await,
            403,
            "forbidden",
        );
        assert_error(
            &server.get("/api/v1/admin/audit-log").await,
            401,
            "unauthorized",
        );

        // The product manager leaves: the log forgets who they were, not what they were.
        let res = server
            .delete(&format!("/api/v1/admin/users/{pm_id}"))
            .add_header(admin.0.clone(), admin.1.clone())
            .await;
        assert!(res.status_code().is_success(), "{}", res.text());
        let price = audit(&server, admin, "action=price.changed").await;
        assert_eq!(
            price["results"][0]["actor"],
            "a closed account (product_manager)"
        );
        assert!(!price.to_string().contains("pm@"), "{price}");

        // Staff act on stock without an order; their rows are relabelled too when they go.
        let stocker =
            bearer(&access_token(&server, &ctx, "stocker@example.com", Role::Admin).await);
        post(
            &server,
            &stocker,
            "/api/v1/admin/stock-adjustments",
            json!({"product_id": kettle, "delta": 1, "reason": "recount"}),
        )
        .await
        .assert_status(axum::http::StatusCode::CREATED);
        let stocker_row = users::Entity::find()
            .filter(users::Column::Email.eq("stocker@example.com"))
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        let res = server
            .delete(&format!("/api/v1/admin/users/{}", stocker_row.pid))
            .add_header(admin.0.clone(), admin.1.clone())
            .await;
        assert!(res.status_code().is_success(), "{}", res.text());
        let actors: Vec<String> = emporium::models::_entities::stock_ledger::Entity::find()
            .all(&ctx.db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.actor)
            .collect();
        assert!(
            actors.iter().any(|a| a == "a closed account (admin)"),
            "{actors:?}"
        );
        assert!(!actors.iter().any(|a| a.contains("stocker@")), "{actors:?}");
    })
    .await;
}

/// Two admins demoting each other at the same moment: each request checked its own rights when
/// it arrived, so the second must find, under the account locks, that it has lost them —
/// otherwise the shop is left without an admin.
#[tokio::test]
#[parallel]
async fn an_admin_who_lost_their_rights_meanwhile_changes_nothing() {
    with_app(|_server, ctx| async move {
        let ada = user(&ctx, "ada@example.com", Role::Admin).await;
        let bea = user(&ctx, "bea@example.com", Role::Admin).await;
        let cid = user(&ctx, "cid@example.com", Role::Customer).await;
        // Bea's request was let in while she was an admin …
        let bea_as_she_was = emporium::models::actor::Actor::user(&bea);
        let demote = emporium::models::accounts::admin::AdminUpdate {
            role: Some(Role::Customer),
            ..Default::default()
        };
        // … and Ada's demotion of Bea commits first.
        emporium::models::accounts::admin::admin_update(
            &ctx,
            &emporium::models::actor::Actor::user(&ada),
            bea.pid,
            demote.clone(),
        )
        .await
        .unwrap();
        let res =
            emporium::models::accounts::admin::admin_update(&ctx, &bea_as_she_was, ada.pid, demote)
                .await;
        assert!(
            matches!(res, Err(emporium::errors::AppError::Forbidden)),
            "{res:?}"
        );
        let res =
            emporium::models::accounts::admin::send_reset_link(&ctx, &bea_as_she_was, cid.pid)
                .await;
        assert!(
            matches!(res, Err(emporium::errors::AppError::Forbidden)),
            "{res:?}"
        );
        let res =
            emporium::models::accounts::admin::admin_delete(&ctx, &bea_as_she_was, cid.pid).await;
        assert!(
            matches!(res, Err(emporium::errors::AppError::Forbidden)),
            "{res:?}"
        );
        let ada = users::Entity::find_by_id(ada.id)
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((ada.role.as_str(), ada.active), ("admin", true));
        assert!(users::Entity::find_by_id(cid.id)
            .one(&ctx.db)
            .await
            .unwrap()
            .is_some());
    })
    .await;
}

/// Each move of an account mails both addresses: moving it back and forth is held to the same
/// per-address mail limit as everything else, and the refused move changes nothing.
#[tokio::test]
#[parallel]
async fn moving_an_account_back_and_forth_cannot_flood_an_inbox() {
    with_app(|server, ctx| async move {
        let admin = bearer(&access_token(&server, &ctx, "mover@example.com", Role::Admin).await);
        let cyd = user(&ctx, "cyd-a@example.com", Role::Customer).await;
        let path = format!("/api/v1/admin/users/{}", cyd.pid);
        let addresses = ["cyd-b@example.com", "cyd-a@example.com"];
        let mut refused = None;
        for n in 0..10 {
            let to = addresses[n % 2];
            let res = server
                .patch(&path)
                .add_header(admin.0.clone(), admin.1.clone())
                .json(&json!({"email": to}))
                .await;
            if res.status_code() == 429 {
                refused = Some((n, to));
                break;
            }
            assert_eq!(res.status_code(), 200, "{}", res.text());
        }
        let (n, to) = refused.expect("the moves were never limited");
        assert!(n >= 3, "limited after {n} moves only");
        let now = users::Entity::find_by_id(cyd.id)
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(now.email, to, "the refused move changed the address");
        // At most the limit (3) of reset links and of notices to each address.
        for address in addresses {
            let mails = mails_to(&ctx, address).await.len();
            assert!(mails <= 2 * 3, "{mails} mails to {address}");
        }
    })
    .await;
}
