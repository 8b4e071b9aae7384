//! Account and admin forms through the pages: each re-renders with messages on bad input and
//! calls the same model function as the API on success.
use emporium::{
    domain::role::Role,
    jobs::{Job, Jobs},
    models::{_entities::users, dead_jobs},
};
use loco_rs::testing::prelude::*;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serial_test::parallel;

use crate::support::*;

#[tokio::test]
#[parallel]
async fn forgot_and_reset_pages_change_the_password_once() {
    with_app(|server, ctx| async move {
        user(&ctx, "rosa@example.com", Role::Customer).await;
        let csrf = csrf_from(&server.get("/forgot").await.text());
        let sent = server
            .post("/forgot")
            .form(&[("csrf_token", csrf.as_str()), ("email", "rosa@example.com")])
            .await;
        sent.assert_status_ok();
        assert!(sent.text().contains("If an account exists"));
        let unknown = server
            .post("/forgot")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email", "nobody@example.com"),
            ])
            .await;
        assert_eq!(
            unknown.text(),
            sent.text()
                .replace("rosa@example.com", "nobody@example.com"),
            "same page either way"
        );

        let token = token_from_mail(&ctx, "rosa@example.com", "password_reset").await;
        let form = server.get(&format!("/reset?token={token}")).await.text();
        assert_css_exists(&form, &format!("input[name=token][value='{token}']"));
        let weak = server
            .post("/reset")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("token", token.as_str()),
                ("password", "short"),
            ])
            .await;
        assert_eq!(weak.status_code(), 422);
        assert_css_exists(&weak.text(), ".field-error");
        let ok = server
            .post("/reset")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("token", token.as_str()),
                ("password", "my new long secret"),
            ])
            .await;
        assert_eq!(ok.headers()["location"], "/login");
        let again = server
            .post("/reset")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("token", token.as_str()),
                ("password", "yet another secret"),
            ])
            .await;
        assert_eq!(again.status_code(), 422);
        assert!(again.text().contains("invalid or has expired"));
        login(&server, "rosa@example.com", "my new long secret").await;
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn account_forms_save_or_show_their_own_errors() {
    with_app(|server, ctx| async move {
        let me = user(&ctx, "sid@example.com", Role::Customer).await;
        let csrf = sign_in(&server, "sid@example.com").await;

        let bad = server
            .post("/account/profile")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("first_name", ""),
                ("last_name", "Vicious"),
            ])
            .await;
        assert_eq!(bad.status_code(), 422);
        assert!(bad.text().contains("This field is required."));
        let ok = server
            .post("/account/profile")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("first_name", "Sid"),
                ("last_name", "Vicious"),
            ])
            .await;
        assert_eq!(ok.status_code(), 303);
        let page = server.get("/account").await.text();
        assert!(page.contains("Your profile has been saved."));
        assert_css_exists(&page, "input[name=last_name][value=Vicious]");

        let bad_addr = server
            .post("/account/addresses")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("line1", "1 Road"),
                ("city", "Oslo"),
                ("postal_code", "0150"),
                ("country", "Norway"),
            ])
            .await;
        assert_eq!(bad_addr.status_code(), 422);
        assert_css_exists(&bad_addr.text(), "input[name=line1][value='1 Road']");
        assert_css_exists(&bad_addr.text(), "#name[aria-invalid=true]");
        let addr = server
            .post("/account/addresses")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "Sid Vicious"),
                ("company", "Pistols AS"),
                ("line1", "1 Road"),
                ("line2", ""),
                ("city", "Oslo"),
                ("postal_code", "0150"),
                ("country", "no"),
                ("phone", ""),
            ])
            .await;
        assert_eq!(addr.status_code(), 303);
        let book = select(&server.get("/account").await.text(), "#address-book li").join("");
        assert!(
            book.contains("Pistols AS") && book.contains("Norway"),
            "{book}"
        );

        let wrong = server
            .post("/account/password")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("current_password", "not it at all"),
                ("new_password", "a new long password"),
            ])
            .await;
        assert_eq!(wrong.status_code(), 422);
        assert!(wrong.text().contains("This is not your current password."));
        let changed = server
            .post("/account/password")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("current_password", PASSWORD),
                ("new_password", "a new long password"),
            ])
            .await;
        assert_eq!(changed.status_code(), 303);
        login(&server, "sid@example.com", "a new long password").await;

        // Provisioned users are verified: resending says so instead of mailing.
        let resend = server
            .post("/account/verify/resend")
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(resend.status_code(), 303);
        assert!(server
            .get("/account")
            .await
            .text()
            .contains("already verified"));
        assert!(mails_to(&ctx, &me.email).await.is_empty());
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_form_post_that_needs_a_login_redirects_to_the_login_page() {
    with_app(|server, _ctx| async move {
        let csrf = csrf_from(&server.get("/").await.text());
        let res = server
            .post("/account/profile")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("first_name", "X"),
                ("last_name", "Y"),
            ])
            .await;
        assert_eq!(res.status_code(), 303);
        assert_eq!(res.headers()["location"], "/login?next=%2Faccount");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn admin_creates_and_edits_users_through_the_users_page() {
    with_app(|server, ctx| async move {
        user(&ctx, "admin@example.com", Role::Admin).await;
        let csrf = sign_in(&server, "admin@example.com").await;
        let bad = server
            .post("/admin/users/new")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email", "admin@example.com"),
                ("first_name", "A"),
                ("last_name", "B"),
                ("password", PASSWORD),
                ("role", "staff"),
            ])
            .await;
        assert_eq!(bad.status_code(), 422);
        assert!(bad.text().contains("already exists"));
        let ok = server
            .post("/admin/users/new")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email", "clerk@example.com"),
                ("first_name", "C"),
                ("last_name", "L"),
                ("password", PASSWORD),
                ("role", "staff"),
            ])
            .await;
        assert_eq!(ok.status_code(), 303);
        let clerk = users::Entity::find()
            .filter(users::Column::Email.eq("clerk@example.com"))
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(clerk.role, "staff");

        // Unticked "active" checkbox means deactivate.
        let edit = server
            .post(&format!("/admin/users/{}", clerk.pid))
            .form(&[("csrf_token", csrf.as_str()), ("role", "product_manager")])
            .await;
        assert_eq!(edit.status_code(), 303);
        let clerk = users::Entity::find_by_id(clerk.id)
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (clerk.role.as_str(), clerk.active),
            ("product_manager", false)
        );

        let paged = server.get("/admin/users?page_size=1").await.text();
        assert_count(&paged, "#users-table tbody tr", 1);
        assert_css_exists(&paged, "a[href='/admin/users?page=2&page_size=1']");
        let list = server.get("/admin/users?role=product_manager").await.text();
        assert_count(&list, "#users-table tbody tr", 1);
        let fragment = server
            .get("/admin/users?q=clerk")
            .add_header("hx-request", "true")
            .await;
        assert_css_exists(&fragment.text(), "#users-table");
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn outbox_shows_a_mail_with_its_links_and_failed_jobs_can_be_retried_or_discarded() {
    with_app(|server, ctx| async move {
        user(&ctx, "admin@example.com", Role::Admin).await;
        let csrf = sign_in(&server, "admin@example.com").await;
        let t = login(&server, "admin@example.com", PASSWORD).await;
        assert!(t["access"].is_string());
        server.post("/api/v1/auth/register").json(&serde_json::json!({"email": "new@example.com", "password": PASSWORD, "first_name": "N", "last_name": "U"})).await;
        let verify = mails_to(&ctx, "new@example.com").await.into_iter().find(|m| m.kind == "verify_email").unwrap();
        let list = server.get("/admin/outbox?q=new@example").await.text();
        assert_count(&list, "a[href^='/admin/outbox/']", 2);
        let show = server.get(&format!("/admin/outbox/{}", verify.pid)).await;
        show.assert_status_ok();
        assert_css_exists(&show.text(), "a[href^='http://localhost/verify?token=']");
        assert_eq!(server.get("/admin/outbox/not-an-id").await.status_code(), 404);

        let jobs = Jobs::get(&ctx);
        let job = Job::DeliverMail { mail_id: verify.pid };
        dead_jobs::record(&ctx.db, &job, "smtp down", 8).await.unwrap();
        dead_jobs::record(&ctx.db, &job, "smtp down", 8).await.unwrap();
        let dead = jobs.dead(10).await.unwrap();
        assert_eq!(dead.len(), 2);
        let page = server.get("/admin/jobs").await.text();
        assert!(page.contains("smtp down"));
        let retry = server.post(&format!("/admin/jobs/{}/retry", dead[0].id)).form(&[("csrf_token", csrf.as_str())]).await;
        assert_eq!(retry.status_code(), 303);
        let discard = server.post(&format!("/admin/jobs/{}/delete", dead[1].id)).form(&[("csrf_token", csrf.as_str())]).await;
        assert_eq!(discard.status_code(), 303);
        assert!(jobs.dead(10).await.unwrap().is_empty());
        assert_eq!(server.post(&format!("/admin/jobs/{}/retry", dead[0].id)).form(&[("csrf_token", csrf.as_str())]).await.status_code(), 404);
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn a_shopper_sent_to_log_in_from_the_checkout_who_registers_lands_back_there() {
    with_app(|server, _ctx| async move {
        // The checkout's "Log in" (beside the guest's form; tested with the guest checkout)
        // remembers where the visitor was.
        let login = "/login?next=%2Fcheckout";
        let page = server.get(login).await.text();
        assert_css_exists(&page, "a[href='/register?next=%2Fcheckout']");
        let form = server.get("/register?next=%2Fcheckout").await.text();
        assert_css_exists(&form, "input[name=next][value='/checkout']");
        let csrf = csrf_from(&form);
        let register = |email: &'static str, next: &'static str| {
            server.post("/register").form(&[
                ("csrf_token", csrf.as_str()),
                ("email", email),
                ("password", "long enough secret"),
                ("first_name", "New"),
                ("last_name", "Shopper"),
                ("next", next),
            ])
        };
        // A mistake keeps where they were going.
        let bad = register("not-an-address", "/checkout").await;
        assert_eq!(bad.status_code(), 422);
        assert_css_exists(&bad.text(), "input[name=next][value='/checkout']");
        let res = register("new@example.com", "/checkout").await;
        assert_eq!(res.status_code(), 303, "{}", res.text());
        assert_eq!(res.headers()["location"], "/checkout");
        // And only ever to a page of this shop.
        let csrf_after = csrf_from(&server.get("/").await.text());
        server
            .post("/logout")
            .form(&[("csrf_token", csrf_after.as_str())])
            .await;
        let csrf = csrf_from(&server.get("/register").await.text());
        let res = server
            .post("/register")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email", "other@example.com"),
                ("password", "long enough secret"),
                ("first_name", "O"),
                ("last_name", "S"),
                ("next", "//evil.example"),
            ])
            .await;
        assert_eq!(res.headers()["location"], "/account");
    })
    .await;
}

/// Issue 20, item 2 (pages): the account page asks for the new address and the password, the
/// mail's link only shows a button, and the button changes the address and signs everyone out.
#[tokio::test]
#[parallel]
async fn the_account_page_changes_the_email_through_the_link() {
    with_app(|server, ctx| async move {
        user(&ctx, "ann@example.com", Role::Customer).await;
        user(&ctx, "bob@example.com", Role::Customer).await;
        let csrf = sign_in(&server, "ann@example.com").await;
        let html = server.get("/account").await.text();
        assert_css_exists(
            &html,
            "form[action='/account/email'] input[name='new_email']",
        );

        let refused = server
            .post("/account/email")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("new_email", "bob@example.com"),
                ("password", "not it at all"),
            ])
            .await;
        assert_eq!(refused.status_code(), 422);
        let html = refused.text();
        assert!(html.contains("This is not your password."), "{html}");
        // Whether an address has an account is told only to who knows the password.
        assert!(!html.contains("already exists"), "{html}");
        assert_css_exists(&html, "#new_email[value='bob@example.com']");
        let taken = server
            .post("/account/email")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("new_email", "bob@example.com"),
                ("password", PASSWORD),
            ])
            .await;
        assert_eq!(taken.status_code(), 422);
        assert!(taken
            .text()
            .contains("An account with this e-mail address already exists."));

        let asked = server
            .post("/account/email")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("new_email", "ann.new@example.com"),
                ("password", PASSWORD),
            ])
            .await;
        assert_eq!(asked.status_code(), 303, "{}", asked.text());
        let html = server.get("/account").await.text();
        assert!(
            html.contains("We sent a link to ann.new@example.com"),
            "{html}"
        );
        assert!(html.contains("Signed in as <strong>ann@example.com</strong>"));
        let token = token_from_mail(&ctx, "ann.new@example.com", "email_change").await;

        // The link only asks; a forged one says it cannot.
        let form = server
            .get(&format!("/account/email/confirm?token={token}"))
            .await;
        form.assert_status_ok();
        assert_css_exists(&form.text(), "#confirm-new-email");
        assert!(form.text().contains("ann.new@example.com"));
        assert_eq!(
            server
                .get("/account/email/confirm?token=forged")
                .await
                .status_code(),
            422
        );
        let me = users::Entity::find()
            .filter(users::Column::Email.eq("ann@example.com"))
            .one(&ctx.db)
            .await
            .unwrap();
        assert!(me.is_some(), "following the link alone changes nothing");

        // Only the account that asked may confirm: another signed-in customer is told so, and a
        // visitor is sent to sign in first (and back here after).
        let bob = browser(&ctx);
        sign_in(&bob, "bob@example.com").await;
        let other = bob
            .get(&format!("/account/email/confirm?token={token}"))
            .await;
        assert_eq!(other.status_code(), 422);
        assert!(other
            .text()
            .contains("This link belongs to another account."));
        let visitor = browser(&ctx);
        let to_login = visitor
            .get(&format!("/account/email/confirm?token={token}"))
            .await;
        let next = location(&to_login);
        assert!(
            next.starts_with("/login?next=%2Faccount%2Femail%2Fconfirm%3Ftoken%3D"),
            "{next}"
        );

        // An old browser session of Ann's ends with the change; the confirming one stays.
        let laptop = browser(&ctx);
        sign_in(&laptop, "ann@example.com").await;
        let done = server
            .post("/account/email/confirm")
            .form(&[("csrf_token", csrf.as_str()), ("token", token.as_str())])
            .await;
        let shown = follow(&server, &done).await;
        assert!(
            shown.contains("Your e-mail address is now ann.new@example.com."),
            "{shown}"
        );
        assert_eq!(
            laptop.get("/account").await.status_code(),
            303,
            "signed out elsewhere"
        );
        let again = server
            .get(&format!("/account/email/confirm?token={token}"))
            .await;
        assert_eq!(again.status_code(), 422);
        assert_ne!(
            post_login(&server, "ann@example.com", None)
                .await
                .status_code(),
            303,
            "the old address no longer signs in"
        );
        sign_in(&server, "ann.new@example.com").await;
    })
    .await;
}

/// Issue 20, item 3 (pages): the account page downloads the data and closes the account with
/// the password; a wrong one shows the form again.
#[tokio::test]
#[parallel]
async fn the_account_page_downloads_the_data_and_closes_the_account() {
    with_app(|server, ctx| async move {
        user(&ctx, "ann@example.com", Role::Customer).await;
        let csrf = sign_in(&server, "ann@example.com").await;
        let html = server.get("/account").await.text();
        assert_css_exists(&html, "a#export-data[href='/account/export']");
        let file = server.get("/account/export").await;
        file.assert_status_ok();
        assert!(file.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("my-data.json"));
        assert_eq!(file.headers()["cache-control"], "no-store");
        let data: serde_json::Value = file.json();
        assert_eq!(data["profile"]["email"], "ann@example.com");

        let wrong = server
            .post("/account/close")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("password", "not my password"),
            ])
            .await;
        assert_eq!(wrong.status_code(), 422);
        assert!(wrong.text().contains("This is not your password."));
        let forged = server
            .post("/account/close")
            .form(&[("password", PASSWORD)])
            .await;
        assert_eq!(forged.status_code(), 403);

        let closed = server
            .post("/account/close")
            .form(&[("csrf_token", csrf.as_str()), ("password", PASSWORD)])
            .await;
        assert_eq!(closed.status_code(), 303, "{}", closed.text());
        assert_eq!(closed.headers()["location"], "/");
        assert!(server
            .get("/")
            .await
            .text()
            .contains("Your account is closed"));
        assert_eq!(
            server.get("/account/export").await.status_code(),
            303,
            "signed out"
        );
        assert!(users::Entity::find()
            .filter(users::Column::Email.eq("ann@example.com"))
            .one(&ctx.db)
            .await
            .unwrap()
            .is_none());
    })
    .await;
}

/// Issue 20, item 1 (pages): an admin corrects a customer's name and e-mail, mails a reset
/// link, sees the changes on the customer's page and at `/admin/audit`, and deletes accounts
/// (one with orders is closed instead).
#[tokio::test]
#[parallel]
async fn admin_manages_a_customer_from_their_page_and_the_audit_log_shows_it() {
    with_app(|server, ctx| async move {
        user(&ctx, "admin@example.com", Role::Admin).await;
        let ann = user(&ctx, "ann@example.com", Role::Customer).await;
        user(&ctx, "taken@example.com", Role::Customer).await;
        let csrf = sign_in(&server, "admin@example.com").await;
        let page = format!("/admin/users/{}", ann.pid);
        let form = |first: &'static str, email: &'static str| {
            vec![
                ("csrf_token", csrf.clone()),
                ("first_name", first.to_string()),
                ("last_name", "User".to_string()),
                ("email", email.to_string()),
            ]
        };

        // Refused: the form again with the messages, nothing saved.
        let bad = server
            .post(&format!("{page}/profile"))
            .form(&form("", "taken@example.com"))
            .await;
        assert_eq!(bad.status_code(), 422);
        let html = bad.text();
        assert_css_exists(&html, "#profile-first-name[aria-invalid='true']");
        assert!(html.contains("This field is required."), "{html}");
        let taken = server
            .post(&format!("{page}/profile"))
            .form(&form("Ann", "taken@example.com"))
            .await;
        assert_eq!(taken.status_code(), 422);
        assert!(taken.text().contains("Another account already uses"));
        // Without the CSRF token nothing happens.
        let forged = server
            .post(&format!("{page}/profile"))
            .form(&[
                ("first_name", "Mallory"),
                ("last_name", "X"),
                ("email", "mallory@example.com"),
            ])
            .await;
        assert_eq!(forged.status_code(), 403);

        let saved = server
            .post(&format!("{page}/profile"))
            .form(&form("Anne", "anne@example.com"))
            .await;
        let shown = follow(&server, &saved).await;
        assert!(shown.contains("Saved anne@example.com."), "{shown}");
        assert!(shown.contains("e-mail not verified"));
        assert_count(
            &shown,
            "#audit-table .audit-row[data-action='user.updated']",
            1,
        );
        assert!(texts(&shown, "#audit-table .audit-before")
            .iter()
            .any(|t| t.contains("ann@example.com")));

        let reset = server
            .post(&format!("{page}/password-reset"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        let shown = follow(&server, &reset).await;
        assert!(
            shown.contains("A password-reset link is on its way"),
            "{shown}"
        );
        let token = token_from_mail(&ctx, "anne@example.com", "password_reset").await;
        assert!(!shown.contains(&token));

        // The whole log, filtered.
        let log = server.get("/admin/audit").await.text();
        assert_count(&log, "#audit-table .audit-row", 2);
        let only = server
            .get("/admin/audit?action=user.password_reset_sent")
            .await
            .text();
        assert_count(&only, "#audit-table .audit-row", 1);
        let by = server
            .get("/admin/audit?actor=admin@example.com")
            .await
            .text();
        assert_count(&by, "#audit-table .audit-row", 2);
        let refused = server.get("/admin/audit?target_type=planet").await;
        assert_eq!(refused.status_code(), 422);
        assert_css_exists(&refused.text(), "#audit-target-type[aria-invalid='true']");

        // Delete: without orders the account goes.
        let gone = server
            .post(&format!("{page}/delete"))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(location(&gone), "/admin/users");
        assert!(users::Entity::find_by_id(ann.id)
            .one(&ctx.db)
            .await
            .unwrap()
            .is_none());
        assert_eq!(server.get(&page).await.status_code(), 404);
        // Nor may an admin delete themselves here.
        let me = users::Entity::find()
            .filter(users::Column::Email.eq("admin@example.com"))
            .one(&ctx.db)
            .await
            .unwrap()
            .unwrap();
        let own = server
            .post(&format!("/admin/users/{}/delete", me.pid))
            .form(&[("csrf_token", csrf.as_str())])
            .await;
        let shown = follow(&server, &own).await;
        assert!(shown.contains("You cannot delete your own account here."));

        // A closed account's page says so and offers nothing to change; a forged post is refused.
        let cy = user(&ctx, "cy@example.com", Role::Customer).await;
        emporium::models::accounts::personal_data::erase(
            &ctx,
            &cy,
            &emporium::models::actor::Actor::user(&me),
        )
        .await
        .unwrap();
        let cy_page = format!("/admin/users/{}", cy.pid);
        let shown = server.get(&cy_page).await.text();
        assert_css_exists(&shown, "#closed");
        for gone in ["#send-reset", "#delete-user", "#profile-email", "#role"] {
            assert_count(&shown, gone, 0);
        }
        let reopen = server
            .post(&format!("{cy_page}/profile"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("first_name", "Cy"),
                ("last_name", "Back"),
                ("email", "cy@example.com"),
            ])
            .await;
        assert_eq!(reopen.status_code(), 422);
        let shown = reopen.text();
        assert!(shown.contains("cannot be changed or reopened"), "{shown}");

        // Other roles are refused every form.
        let clerk = browser(&ctx);
        user(&ctx, "clerk@example.com", Role::Staff).await;
        let clerk_csrf = sign_in(&clerk, "clerk@example.com").await;
        let me_page = format!("/admin/users/{}", me.pid);
        for action in ["profile", "password-reset", "delete"] {
            let res = clerk
                .post(&format!("{me_page}/{action}"))
                .form(&[
                    ("csrf_token", clerk_csrf.as_str()),
                    ("first_name", "X"),
                    ("last_name", "Y"),
                    ("email", "x@example.com"),
                ])
                .await;
            assert_eq!(res.status_code(), 403, "{action}");
        }
        assert_eq!(clerk.get("/admin/audit").await.status_code(), 403);
    })
    .await;
}
