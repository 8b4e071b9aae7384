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
