//! The HTML side: page shells, CSRF on every form, session login, staff-only admin.
use emporium::domain::role::Role;
use loco_rs::testing::prelude::*;
use serial_test::parallel;

use crate::support::*;

#[tokio::test]
#[parallel]
async fn home_and_error_pages_render_with_the_layout() {
    with_app(|server, _ctx| async move {
        let home = server.get("/").await;
        home.assert_status_ok();
        let html = home.text();
        assert_css_exists(&html, "meta[name=csrf-token]");
        assert_css_exists(&html, "script[src='/static/js/htmx.min.js']");
        assert!(home.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'"));
        let missing = server.get("/no/such/page").await;
        assert_eq!(missing.status_code(), 404);
        assert_css_exists(&missing.text(), "main");
        assert!(missing.text().contains("Not found"));
        let htmx = server.get("/static/js/htmx.min.js").await;
        htmx.assert_status_ok();
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn forms_without_the_csrf_token_are_refused() {
    with_app(|server, ctx| async move {
        user(&ctx, "csrf@example.com", Role::Customer).await;
        server.get("/login").await.assert_status_ok();
        let res = server
            .post("/login")
            .form(&[("email", "csrf@example.com"), ("password", PASSWORD)])
            .await;
        assert_eq!(res.status_code(), 403);
        let res = server
            .post("/login")
            .form(&[
                ("email", "csrf@example.com"),
                ("password", PASSWORD),
                ("csrf_token", "forged"),
            ])
            .await;
        assert_eq!(res.status_code(), 403);
        assert!(
            server.get("/account").await.status_code().is_redirection(),
            "still signed out"
        );
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn register_then_log_out_and_in_through_the_pages() {
    with_app(|server, ctx| async move {
        let page = server.get("/register").await.text();
        let csrf = csrf_from(&page);
        let bad = server
            .post("/register")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email", "x"),
                ("password", "1"),
                ("first_name", "Pat"),
                ("last_name", ""),
            ])
            .await;
        assert_eq!(bad.status_code(), 422);
        let html = bad.text();
        assert_css_exists(&html, ".field-error");
        assert!(
            html.contains("value=\"Pat\""),
            "the form keeps what was typed"
        );

        let ok = server
            .post("/register")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email", "pat@example.com"),
                ("password", PASSWORD),
                ("first_name", "Pat"),
                ("last_name", "Doe"),
            ])
            .await;
        assert_eq!(ok.status_code(), 303);
        assert_eq!(ok.headers()["location"], "/account");
        let account = server.get("/account").await;
        account.assert_status_ok();
        assert!(account.text().contains("pat@example.com"));
        assert_eq!(mails_to(&ctx, "pat@example.com").await.len(), 2);

        let csrf = csrf_from(&account.text());
        let out = server
            .post("/logout")
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(out.status_code(), 303);
        let after = server.get("/account").await;
        assert_eq!(after.status_code(), 303);
        assert_eq!(after.headers()["location"], "/login?next=%2Faccount");

        let csrf = csrf_from(&server.get("/login").await.text());
        let wrong = server
            .post("/login")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email", "pat@example.com"),
                ("password", "nope nope nope"),
            ])
            .await;
        assert_eq!(wrong.status_code(), 422);
        assert!(wrong.text().contains("Wrong e-mail address or password."));
        let good = server
            .post("/login")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email", "pat@example.com"),
                ("password", PASSWORD),
                ("next", "https://evil.example/"),
            ])
            .await;
        assert_eq!(good.status_code(), 303);
        assert_eq!(good.headers()["location"], "/account", "no open redirect");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn admin_area_is_for_staff_and_admin_pages_for_admins() {
    with_app(|server, ctx| async move {
        let anon = server.get("/admin").await;
        assert_eq!(anon.status_code(), 303);
        user(&ctx, "shopper@example.com", Role::Customer).await;
        user(&ctx, "clerk@example.com", Role::Staff).await;
        user(&ctx, "chief@example.com", Role::Admin).await;

        sign_in(&server, "shopper@example.com").await;
        assert_eq!(server.get("/admin").await.status_code(), 403);
        sign_in(&server, "clerk@example.com").await;
        server.get("/admin").await.assert_status_ok();
        assert_eq!(server.get("/admin/users").await.status_code(), 403);
        assert_eq!(server.get("/admin/outbox").await.status_code(), 403);
        sign_in(&server, "chief@example.com").await;
        let users = server.get("/admin/users?q=clerk").await;
        users.assert_status_ok();
        assert_count(&users.text(), "#users-table tbody tr", 1);
        let outbox = server.get("/admin/outbox").await;
        outbox.assert_status_ok();
        server.get("/admin/jobs").await.assert_status_ok();
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn reading_pages_does_not_write_the_session_back() {
    use emporium::models::_entities::sessions;
    use sea_orm::EntityTrait;
    with_app(|server, ctx| async move {
        user(&ctx, "reader@example.com", Role::Customer).await;
        sign_in(&server, "reader@example.com").await;
        let before = sessions::Entity::find().all(&ctx.db).await.unwrap();
        assert_eq!(before.len(), 1);
        // A save would move the inactivity expiry, which has one-second resolution.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        for path in ["/", "/products", "/account"] {
            server.get(path).await.assert_status_ok();
        }
        let after = sessions::Entity::find().all(&ctx.db).await.unwrap();
        assert_eq!(after.len(), 1);
        assert_eq!(
            after[0].expires_at, before[0].expires_at,
            "no write per page view"
        );
        assert_eq!(after[0].data, before[0].data);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn sessions_are_read_from_the_cache_and_a_logout_is_final() {
    use axum::http::{HeaderName, HeaderValue};
    use emporium::models::_entities::sessions;
    use sea_orm::EntityTrait;
    with_app(|server, ctx| async move {
        user(&ctx, "keeper@example.com", Role::Staff).await;
        let csrf = sign_in(&server, "keeper@example.com").await;
        let rows = sessions::Entity::find().all(&ctx.db).await.unwrap();
        assert_eq!(rows.len(), 1);
        // The cookie as someone who copied it would replay it, without the client's jar.
        let replay = || {
            server.get("/admin").clear_cookies().add_header(
                HeaderName::from_static("cookie"),
                HeaderValue::from_str(&format!("emporium_session={}", rows[0].id)).unwrap(),
            )
        };
        // The login wrote the session through to the cache: with its row gone behind the
        // store's back, the session still reads.
        sessions::Entity::delete_many().exec(&ctx.db).await.unwrap();
        let admin = replay().await;
        admin.assert_status_ok();
        assert!(admin.text().contains("keeper@example.com"));
        // A logout removes the cached copy too: the copied cookie is worth nothing after it.
        let out = server
            .post("/logout")
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(out.status_code(), 303);
        assert_eq!(replay().await.status_code(), 303, "signed out for good");
    })
    .await;
}

/// Issue 17, item 2 (and issue 21): a visitor browsing without a session gets pages, and can
/// post their forms, without a session being written; the token of their visitor cookie is
/// worth nothing once they are signed in.
#[tokio::test]
#[parallel]
async fn visitors_browse_and_post_forms_without_a_session_row() {
    use emporium::models::_entities::sessions;
    use sea_orm::{EntityTrait, PaginatorTrait};
    with_app(|server, ctx| async move {
        user(&ctx, "visitor@example.com", Role::Customer).await;
        for path in ["/", "/products", "/login", "/register", "/no-such-page"] {
            let res = server.get(path).await;
            assert!(
                res.status_code() == 200 || res.status_code() == 404,
                "{path}"
            );
        }
        assert_eq!(
            sessions::Entity::find().count(&ctx.db).await.unwrap(),
            0,
            "reads write nothing"
        );
        let visitor_token = csrf_from(&server.get("/login").await.text());
        assert_eq!(
            visitor_token,
            csrf_from(&server.get("/").await.text()),
            "one token per visitor"
        );
        let wrong = server
            .post("/login")
            .form(&[
                ("csrf_token", "forged"),
                ("email", "visitor@example.com"),
                ("password", PASSWORD),
            ])
            .await;
        assert_eq!(wrong.status_code(), 403);
        let ok = server
            .post("/login")
            .form(&[
                ("csrf_token", visitor_token.as_str()),
                ("email", "visitor@example.com"),
                ("password", PASSWORD),
            ])
            .await;
        assert_eq!(ok.status_code(), 303, "{}", ok.text());
        assert_eq!(sessions::Entity::find().count(&ctx.db).await.unwrap(), 1);
        let own = csrf_from(&server.get("/account").await.text());
        assert_ne!(own, visitor_token, "a signed-in session has its own token");
        let stale = server
            .post("/logout")
            .form(&[("csrf_token", visitor_token.as_str())])
            .await;
        assert_eq!(
            stale.status_code(),
            403,
            "the visitor token is worth nothing after the login"
        );
    })
    .await;
}

/// Issue 17, item 2: the login gives the session a new id; an answer to a request that was
/// sent with the old one (an htmx request still in flight) neither removes nor replaces the
/// new session's cookie, so the person stays signed in.
#[tokio::test]
#[parallel]
async fn an_answer_for_the_session_of_before_a_login_leaves_the_new_cookie_alone() {
    use axum::http::{HeaderName, HeaderValue};
    use emporium::models::_entities::sessions;
    use sea_orm::EntityTrait;
    with_app(|server, ctx| async move {
        let shop = crate::support::orders::shop(&server, &ctx).await;
        user(&ctx, "ann@example.com", Role::Customer).await;
        // A guest's cart is what gives a visitor a session before the login.
        let page = server.get("/").await.text();
        let add = server
            .post("/cart/items")
            .form(&[
                ("csrf_token", csrf_from(&page).as_str()),
                ("product_id", shop.id("KTL-1")),
                ("quantity", "1"),
            ])
            .await;
        assert_eq!(add.status_code(), 303, "{}", add.text());
        let before = sessions::Entity::find()
            .one(&ctx.db)
            .await
            .unwrap()
            .expect("the guest's session")
            .id;

        let login = post_login(&server, "ann@example.com", None).await;
        assert_eq!(login.status_code(), 303);
        for path in ["/products", "/cart", "/account", "/no-such-page"] {
            let late = server
                .get(path)
                .clear_cookies()
                .add_header(
                    HeaderName::from_static("cookie"),
                    HeaderValue::from_str(&format!("emporium_session={before}")).unwrap(),
                )
                .await;
            let touched: Vec<_> = late
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .filter(|c| c.starts_with("emporium_session="))
                .collect();
            assert!(touched.is_empty(), "{path} answered {touched:?}");
        }
        let account = server.get("/account").await;
        account.assert_status_ok();
        assert!(
            account.text().contains("ann@example.com"),
            "still signed in"
        );
    })
    .await;
}

/// Issue 17, item 12: the small things a careful person notices, each as they would meet it.
#[tokio::test]
#[parallel]
async fn small_things_a_careful_person_notices() {
    use crate::support::orders::{add, customer, shop};
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;

        // A page number past the end is no page at all.
        assert_eq!(server.get("/products?page=99").await.status_code(), 404);
        server.get("/products?page=1").await.assert_status_ok();
        // A category page's breadcrumbs lead through its parent to the category itself.
        let category = server.get("/c/tents").await.text();
        let crumbs = select(&category, ".breadcrumbs")[0].clone();
        assert!(crumbs.contains("href=\"/c/outdoor\"") && crumbs.contains("Tents"), "{crumbs}");
        assert!(select(&category, ".breadcrumbs [aria-current=page]")[0].contains("Tents"));

        // A second click on a used verification link says the address is confirmed.
        let reg = server
            .post("/api/v1/auth/register")
            .json(&serde_json::json!({"email": "new@example.com", "password": "correct horse battery", "first_name": "N", "last_name": "E"}))
            .await;
        assert_eq!(reg.status_code(), 201, "{}", reg.text());
        let token = token_from_mail(&ctx, "new@example.com", "verify_email").await;
        // Following the link only asks; the button confirms.
        let ask = server.get(&format!("/verify?token={token}")).await;
        ask.assert_status_ok();
        let html = ask.text();
        assert!(html.contains("new@example.com") && !html.contains("Email address confirmed"));
        let address = emporium::domain::email::Email::parse("new@example.com").unwrap();
        let me = emporium::models::users::find_by_email(&ctx.db, &address)
            .await
            .unwrap()
            .unwrap();
        assert!(me.email_verified_at.is_none(), "a GET confirms nothing");
        let csrf = csrf_from(&html);
        let first = server
            .post("/verify")
            .form(&[("csrf_token", csrf.as_str()), ("token", token.as_str())])
            .await;
        assert!(first.text().contains("Email address confirmed"));
        let again = server.get(&format!("/verify?token={token}")).await;
        again.assert_status_ok();
        assert!(again.text().contains("already confirmed"), "{}", again.text());
        assert_eq!(server.get("/verify?token=made-up").await.status_code(), 422);

        // A form left open across a sign-out: a page that says so, with the way back.
        let stale = server
            .post("/cart/coupon")
            .add_header(axum::http::header::REFERER, axum::http::HeaderValue::from_static("http://localhost/cart?x=1"))
            .form(&[("csrf_token", "left-over-token"), ("code", "X")])
            .await;
        assert_eq!(stale.status_code(), 403);
        let html = stale.text();
        assert!(html.contains("This form has expired"), "{html}");
        assert_css_exists(&html, "#error-back[href='/cart?x=1']");

        // The cart: an empty promo code and an impossible quantity each get a message.
        let ann = customer(&server, &ctx, "ann@example.com").await;
        add(&server, &ann, shop.id("MUG-2"), 1).await;
        let csrf = sign_in(&server, "ann@example.com").await;
        let empty = server.post("/cart/coupon").form(&[("csrf_token", csrf.as_str()), ("code", " ")]).await;
        assert_eq!(empty.status_code(), 422);
        assert!(empty.text().contains("Enter a code."));
        let cart: serde_json::Value = crate::support::orders::get(&server, &ann, "/api/v1/cart").await.json();
        let item = cart["items"][0]["id"].as_str().unwrap().to_string();
        let many = server
            .post(&format!("/cart/items/{item}"))
            .form(&[("csrf_token", csrf.as_str()), ("quantity", "500")])
            .await;
        assert_eq!(many.status_code(), 422);
        assert!(many.text().contains("Quantity: Must be between"), "{}", many.text());

        // The wishlist page removes items and puts them in the cart.
        let kettle = shop.id("KTL-1").to_string();
        server
            .post(&format!("/wishlist/{kettle}"))
            .form(&[("csrf_token", csrf.as_str()), ("on", "1")])
            .await;
        let list = server.get("/wishlist").await.text();
        assert_css_exists(&list, ".product-card-actions form[action='/cart/items'] input[name='back'][value='/wishlist']");
        let removed = server
            .post(&format!("/wishlist/{kettle}"))
            .form(&[("csrf_token", csrf.as_str()), ("on", "0"), ("back", "/wishlist")])
            .await;
        assert_eq!(removed.headers()["location"], "/wishlist");
        assert!(server.get("/wishlist").await.text().contains("Nothing here yet"));

        // Every page names its icon.
        assert_css_exists(&server.get("/").await.text(), "link[rel=icon][href='/static/favicon.svg']");
        assert_eq!(server.get("/static/favicon.svg").await.status_code(), 200);
    })
    .await;
}

/// Issue 17, items 12 and 13, for staff: purchase-order SKUs in any case with suggestions and
/// more lines without a script; an upload without a file; field names as words; dates and
/// outbox statuses as people read them.
#[tokio::test]
#[parallel]
async fn the_back_office_speaks_plainly() {
    use crate::support::orders::shop;
    with_app(|server, ctx| async move {
        let shop = shop(&server, &ctx).await;
        let csrf = sign_in(&server, "admin@example.com").await;

        let more = server
            .post("/admin/purchase-orders")
            .form(&[("csrf_token", csrf.as_str()), ("supplier", "Fjell AS"), ("lines[0][sku]", "mug-2"), ("lines[0][quantity]", "3"), ("more", "1")])
            .await;
        more.assert_status_ok();
        let html = more.text();
        assert_count(&html, "tr.po-line", 6);
        assert_css_exists(&html, "#line-0-sku[value='mug-2']");
        let options = server.get("/admin/purchase-orders/skus?lines%5B0%5D%5Bsku%5D=mug").await.text();
        assert_css_exists(&options, "datalist#sku-options option[value='MUG-2']");
        let made = server
            .post("/admin/purchase-orders")
            .form(&[("csrf_token", csrf.as_str()), ("supplier", "Fjell AS"), ("lines[0][sku]", "mug-2"), ("lines[0][quantity]", "3"), ("lines[0][unit_cost]", "2")])
            .await;
        assert_eq!(made.status_code(), 303, "{}", made.text());
        // Two SKUs that differ only in case: the exact one is taken, another case is refused.
        crate::support::catalogue::post(
            &server,
            &shop.pm,
            "/api/v1/products",
            serde_json::json!({"sku": "mug-2", "name": "Mug twin", "description": "", "price_cents": 100, "stock": 1}),
        )
        .await;
        let po = |sku: &'static str| {
            server.post("/admin/purchase-orders").form(&[
                ("csrf_token", csrf.clone()),
                ("supplier", "Fjell AS".into()),
                ("lines[0][sku]", sku.into()),
                ("lines[0][quantity]", "1".into()),
                ("lines[0][unit_cost]", "1".into()),
            ])
        };
        assert_eq!(po("mug-2").await.status_code(), 303);
        let unsure = po("Mug-2").await;
        assert_eq!(unsure.status_code(), 422);
        assert!(unsure.text().contains("Several SKUs read “Mug-2” in another case"), "{}", unsure.text());

        // An adjustment's message names the field in words.
        let inventory = server.get("/admin/inventory?q=MUG-2").await.text();
        let row = select(&inventory, "tr[data-sku='MUG-2']")[0].clone();
        let variant = row.split("id=\"variant-").nth(1).unwrap().split('"').next().unwrap().to_string();
        let bad = server
            .post(&format!("/admin/inventory/{variant}/adjust"))
            .form(&[("csrf_token", csrf.as_str()), ("delta", "0"), ("reason", "count")])
            .await;
        assert_eq!(bad.status_code(), 422);
        assert!(bad.text().contains("Change: Must not be zero."), "{}", bad.text());

        // An image upload without a file says so.
        let products: serde_json::Value = server.get("/api/v1/products?page_size=1").await.json();
        let product = products["results"][0]["id"].as_str().unwrap().to_string();
        let boundary = "XBOUNDARY";
        let body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--{boundary}--\r\n");
        let none = server
            .post(&format!("/admin/products/{product}/images/upload"))
            .content_type(&format!("multipart/form-data; boundary={boundary}"))
            .bytes(body.into())
            .await;
        assert_eq!(none.status_code(), 422, "{}", none.text());
        assert!(none.text().contains("Choose an image file to upload."));

        // Dates and statuses in words (a sign-up's mails are in the outbox).
        let reg = server
            .post("/api/v1/auth/register")
            .json(&serde_json::json!({"email": "new@example.com", "password": "correct horse battery", "first_name": "N", "last_name": "E"}))
            .await;
        assert_eq!(reg.status_code(), 201);
        let outbox = server.get("/admin/outbox").await.text();
        assert!(!texts(&outbox, "td .badge").is_empty());
        for status in texts(&outbox, "td .badge") {
            assert!(["Waiting to be sent", "Sent", "Kept here, not sent", "Could not be sent"].contains(&status.trim()), "{status}");
        }
        let users = server.get("/admin/users").await.text();
        let when = texts(&users, "td time")[0].clone();
        let read = chrono::NaiveDateTime::parse_from_str(when.trim_end_matches(" UTC"), "%d %b %Y, %H:%M");
        assert!(read.is_ok() && when.ends_with(" UTC"), "{when}");
    })
    .await;
}

/// A request that loaded the session before a logout and writes it after (a message, say)
/// does not bring the deleted session back: the logout stays final.
#[tokio::test]
#[parallel]
async fn a_write_after_a_logout_does_not_bring_the_session_back() {
    use axum::http::{HeaderName, HeaderValue};
    use emporium::models::{_entities::sessions, sessions::DbSessionStore};
    use sea_orm::{EntityTrait, PaginatorTrait};
    use tower_sessions::{session::Id, SessionStore};
    with_app(|server, ctx| async move {
        user(&ctx, "leaver@example.com", Role::Customer).await;
        let csrf = sign_in(&server, "leaver@example.com").await;
        let row = sessions::Entity::find()
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        let store = DbSessionStore::new(ctx.db.clone()).with_cache(ctx.cache.clone());
        let id: Id = row.id.parse().unwrap();
        let in_flight = store
            .load(&id)
            .await
            .unwrap()
            .expect("the signed-in session");

        let out = server
            .post("/logout")
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(out.status_code(), 303);
        store.save(&in_flight).await.unwrap();
        assert_eq!(sessions::Entity::find().count(&ctx.db).await.unwrap(), 0);
        assert!(
            store.load(&id).await.unwrap().is_none(),
            "not in the cache either"
        );
        let replay = server
            .get("/account")
            .clear_cookies()
            .add_header(
                HeaderName::from_static("cookie"),
                HeaderValue::from_str(&format!("emporium_session={}", row.id)).unwrap(),
            )
            .await;
        assert_eq!(replay.status_code(), 303, "signed out for good");
    })
    .await;
}

/// With the session cache unreachable a sign-out still ends the session (in the database,
/// which every read falls back to), and so does a login's change of session id.
#[tokio::test]
#[parallel]
async fn a_sign_out_ends_the_session_while_the_cache_is_down() {
    use emporium::models::{_entities::sessions, sessions::DbSessionStore};
    use sea_orm::EntityTrait;
    use tower_sessions::{session::Id, SessionStore};
    with_app(|server, ctx| async move {
        user(&ctx, "leaver2@example.com", Role::Customer).await;
        sign_in(&server, "leaver2@example.com").await;
        let row = sessions::Entity::find()
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        let id: Id = row.id.parse().unwrap();
        // loco's null cache refuses every write and removal, as an unreachable Redis does.
        let down = std::sync::Arc::new(loco_rs::cache::Cache::new(
            loco_rs::cache::drivers::null::new(),
        ));
        let store = DbSessionStore::new(ctx.db.clone()).with_cache(down);
        store.delete(&id).await.unwrap();
        assert!(
            sessions::Entity::find_by_id(row.id.clone())
                .one(&ctx.db)
                .await
                .unwrap()
                .is_none(),
            "the session is gone"
        );
        assert!(store.load(&id).await.unwrap().is_none());
    })
    .await;
}
