//! Browser journeys in real headless Chromium (Debian's chromium + chromedriver), against the
//! app served on a loopback port.
use std::{net::SocketAddr, process::Stdio, time::Duration};

use emporium::domain::role::Role;
use fantoccini::{wd::Capabilities, Client, ClientBuilder, Locator};
use loco_rs::app::{AppContext, Hooks};
use serde_json::json;
use serial_test::serial;

use crate::support::{self, PASSWORD};

/// A running app, a chromedriver and a browser session; all torn down on drop.
struct Browser {
    client: Client,
    base: String,
    ctx: AppContext,
    _driver: tokio::process::Child,
    app: Option<support::TestApp>,
    _profile: std::path::PathBuf,
}

async fn free_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

/// Whether the browser runs page scripts; with `NoScript` every page must work as plain
/// links and forms.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Js {
    On,
    Off,
}

async fn start(chromedriver: &str) -> Browser {
    start_with(chromedriver, Js::On).await
}

async fn start_with(chromedriver: &str, js: Js) -> Browser {
    let app = support::boot().await;
    let ctx = app.ctx.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    support::set_settings(&ctx, |s| s.base_url = base.clone());
    let router = app.boot.router.clone().expect("web mode has a router");
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });

    let port = free_port().await;
    let driver = tokio::process::Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let profile = std::env::temp_dir().join(format!("emporium-chrome-{}", uuid::Uuid::new_v4()));
    let mut caps = Capabilities::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1280,900", format!("--user-data-dir={}", profile.display())],
            // 2 = block: Chromium's own "JavaScript off" content setting.
            "prefs": {"profile.managed_default_content_settings.javascript": if js == Js::On { 1 } else { 2 }},
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let mut client = None;
    for _ in 0..100 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    Browser {
        client: client.expect("chromedriver accepted a session"),
        base,
        ctx,
        _driver: driver,
        app: Some(app),
        _profile: profile,
    }
}

impl Browser {
    async fn finish(mut self) {
        if let Some(app) = self.app.take() {
            app.cleanup().await;
        }
        let _ = std::fs::remove_dir_all(&self._profile);
    }

    async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    async fn fill(&self, name: &str, value: &str) {
        let field = self
            .client
            .find(Locator::Css(&format!("main form [name='{name}']")))
            .await
            .unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Clicks and waits until the browser has replaced the page (the old root goes stale).
    async fn click_and_wait(&self, css: &str) {
        let old_root = self.client.find(Locator::Css("html")).await.unwrap();
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        for _ in 0..100 {
            if old_root.tag_name().await.is_err() {
                self.client
                    .wait()
                    .for_element(Locator::Css("body"))
                    .await
                    .unwrap();
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no navigation after clicking {css}");
    }

    async fn submit(&self, form_action: &str) {
        self.click_and_wait(&format!(
            "form[action='{form_action}'] button[type='submit']"
        ))
        .await;
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Waits (up to 5 s) until `css` exists and its text satisfies `ok`; returns the text.
    async fn wait_text(&self, css: &str, ok: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        for _ in 0..100 {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                if let Ok(t) = el.text().await {
                    if ok(&t) {
                        return t;
                    }
                    last = t;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css} never matched; last text: {last:?}");
    }

    /// Saves a screenshot under `$E2E_SCREENSHOTS` when that is set (for looking at pages).
    async fn screenshot(&self, name: &str) {
        if let Ok(dir) = std::env::var("E2E_SCREENSHOTS") {
            let png = self.client.screenshot().await.unwrap();
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
        }
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn query(&self) -> String {
        self.client
            .current_url()
            .await
            .unwrap()
            .query()
            .unwrap_or_default()
            .to_string()
    }

    async fn log_in(&self, email: &str, password: &str) {
        self.goto("/login").await;
        self.fill("email", email).await;
        self.fill("password", password).await;
        self.submit("/login").await;
    }

    async fn log_out(&self) {
        self.submit("/logout").await;
    }
}

/// `user` orders one unit of the first demo product without options that has at least
/// `min_stock` units: the variant, its product and the pending order.
async fn order_demo_product(
    ctx: &AppContext,
    user: &emporium::models::users::Model,
    min_stock: i32,
) -> (
    emporium::models::_entities::variants::Model,
    emporium::models::_entities::products::Model,
    emporium::models::orders::OrderView,
) {
    use emporium::{
        domain::account::Address,
        models::{
            _entities::{products, variants},
            carts::{self, AddItem, CartKey},
            checkout::{self, PlaceOrder},
        },
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let variant = variants::Entity::find()
        .filter(variants::Column::Options.eq("{}"))
        .filter(variants::Column::Stock.gte(min_stock))
        .order_by_asc(variants::Column::Id)
        .one(&ctx.db)
        .await
        .unwrap()
        .expect("the demo catalogue has simple products in stock");
    let product = products::Entity::find_by_id(variant.product_id)
        .one(&ctx.db)
        .await
        .unwrap()
        .unwrap();
    let add = AddItem::parse(product.pid, None, 1, 99).unwrap();
    carts::add_item(ctx, Some(&CartKey::User(user)), &add)
        .await
        .unwrap();
    let shipping = Address::parse("1 Harbour Road", "", "Kiel", "24103", "DE", "").unwrap();
    let order = checkout::place_order(
        ctx,
        user,
        PlaceOrder {
            shipping,
            billing: None,
        },
    )
    .await
    .unwrap();
    (variant, product, order)
}

#[tokio::test]
#[serial]
async fn a_shopper_registers_verifies_from_the_outbox_and_logs_in_and_out() {
    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start(&chromedriver).await;
    support::user(&b.ctx, "owner@example.com", Role::Admin).await;

    b.goto("/register").await;
    b.fill("email", "shopper@example.com").await;
    b.fill("first_name", "Sam").await;
    b.fill("last_name", "Shopper").await;
    b.fill("password", PASSWORD).await;
    b.submit("/register").await;
    assert_eq!(b.path().await, "/account");
    assert!(b.text("main").await.contains("shopper@example.com"));
    b.log_out().await;

    // The shop owner reads the verification mail in the outbox and follows its link.
    b.log_in("owner@example.com", PASSWORD).await;
    assert_eq!(b.path().await, "/admin", "{}", b.text("body").await);
    b.goto("/admin/outbox?q=shopper").await;
    let rows = b
        .client
        .find_all(Locator::Css("a[href^='/admin/outbox/']"))
        .await
        .unwrap();
    let mut target = None;
    for row in rows {
        if row.text().await.unwrap().to_lowercase().contains("confirm") {
            target = row.attr("href").await.unwrap();
            break;
        }
    }
    let target = target.expect("the verification mail is listed in the outbox");
    b.click_and_wait(&format!("a[href='{target}']")).await;
    b.click_and_wait("a[href*='/verify?token=']").await;
    assert_eq!(b.path().await, "/verify");
    assert!(b.text("main").await.to_lowercase().contains("confirmed"));
    b.goto("/admin").await;
    b.log_out().await;

    b.log_in("shopper@example.com", PASSWORD).await;
    assert_eq!(b.path().await, "/account");
    let account = b.text("main").await;
    assert!(
        !account.contains("resend"),
        "no verification reminder once verified: {account}"
    );
    b.log_out().await;
    b.goto("/account").await;
    assert_eq!(b.path().await, "/login", "signed out");
    b.client.clone().close().await.unwrap();
    b.finish().await;
}

/// The catalogue journey of issue 3: search from the home page, narrow by a category facet,
/// open a product, pick a variant and see its price — with scripts (htmx swaps regions and
/// pushes the URL) and without (the same forms submitted as plain GETs).
async fn browse_search_filter_and_pick_a_variant(js: Js) {
    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start_with(&chromedriver, js).await;
    emporium::app::App::seed(&b.ctx, std::path::Path::new("."))
        .await
        .unwrap();

    let tag = if js == Js::On { "js" } else { "nojs" };
    b.goto("/").await;
    b.screenshot(&format!("{tag}-home")).await;
    b.fill("q", "notebook").await;
    b.submit("/products").await;
    assert_eq!(b.path().await, "/products");
    let names = b.text(".product-grid").await;
    assert!(names.contains("Dot Grid Notebook"), "{names}");

    // The whole shop, narrowed by the Stationery facet.
    b.click_and_wait(".site-header a[href='/products']").await;
    let before = b.text(".result-count").await;
    assert!(before.contains("60 products"), "{before}");
    b.click("input[name=category][value=stationery]").await;
    if js == Js::On {
        b.wait_text(".result-count", |t| t.contains("8 products"))
            .await;
        assert!(
            b.query().await.contains("category=stationery"),
            "URL pushed"
        );
    } else {
        assert!(
            !b.query().await.contains("category="),
            "nothing happens without a submit"
        );
        b.click_and_wait("#apply-filters").await;
        assert!(b.query().await.contains("category=stationery"));
        assert!(b.text(".result-count").await.contains("8 products"));
    }
    let cards = b
        .client
        .find_all(Locator::Css(".product-card-name"))
        .await
        .unwrap();
    assert!(!cards.is_empty());
    assert!(b.text(".product-grid").await.contains("Dot Grid Notebook"));
    let facet = b
        .client
        .find(Locator::Css("input[name=category][value=stationery]"))
        .await
        .unwrap();
    assert!(facet.is_selected().await.unwrap(), "the facet stays chosen");
    b.screenshot(&format!("{tag}-listing")).await;

    b.click_and_wait("a.product-card-link[href='/p/dot-grid-notebook']")
        .await;
    assert_eq!(b.path().await, "/p/dot-grid-notebook");
    assert_eq!(b.text("#price").await, "€16.00");
    let gallery = b.client.find(Locator::Css("#gallery img")).await.unwrap();
    assert_eq!(
        gallery.attr("alt").await.unwrap().as_deref(),
        Some("Dot Grid Notebook")
    );

    // The A4 size costs more.
    b.click("input[name='opt.Size'][value=A4]").await;
    if js == Js::On {
        b.wait_text("#price", |t| t == "€20.00").await;
        assert!(b.query().await.contains("opt.Size=A4"), "URL pushed");
    } else {
        assert_eq!(b.text("#price").await, "€16.00", "no script, no change yet");
        b.click_and_wait("#variant-update").await;
        assert_eq!(b.text("#price").await, "€20.00");
    }
    b.screenshot(&format!("{tag}-product")).await;
    let sku = b.text("#sku").await;
    assert!(sku.starts_with("DOT-GRID-NOTEBOOK-A4-"), "{sku}");
    b.client.clone().close().await.unwrap();
    b.finish().await;
}

#[tokio::test]
#[serial]
async fn a_shopper_searches_filters_and_picks_a_variant_with_htmx() {
    browse_search_filter_and_pick_a_variant(Js::On).await;
}

#[tokio::test]
#[serial]
async fn a_shopper_searches_filters_and_picks_a_variant_without_javascript() {
    browse_search_filter_and_pick_a_variant(Js::Off).await;
}

/// Issue 4's journey: a guest fills the cart, logs in (the cart follows), applies a promo
/// code, checks out and sees the order; the admin records the payment and ships it.
#[tokio::test]
#[serial]
async fn a_guest_cart_follows_the_login_through_coupon_and_checkout_and_the_admin_ships_it() {
    use emporium::{
        domain::promo::{PromoDraft, PromoInput},
        models::{
            _entities::{products, variants},
            promos,
        },
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start(&chromedriver).await;
    emporium::app::App::seed(&b.ctx, std::path::Path::new("."))
        .await
        .unwrap();
    support::user(&b.ctx, "owner@example.com", Role::Admin).await;
    support::user(&b.ctx, "ann@example.com", Role::Customer).await;
    let draft = PromoDraft::try_from(PromoInput {
        code: "SPRING10".into(),
        kind: "percent".into(),
        value: 1000,
        active: true,
        ..PromoInput::default()
    })
    .unwrap();
    promos::create(&b.ctx, draft).await.unwrap();
    // A demo product without options and with stock to spare.
    let variant = variants::Entity::find()
        .filter(variants::Column::Options.eq("{}"))
        .filter(variants::Column::Stock.gte(3))
        .order_by_asc(variants::Column::Id)
        .one(&b.ctx.db)
        .await
        .unwrap()
        .expect("the demo catalogue has simple products in stock");
    let product = products::Entity::find_by_id(variant.product_id)
        .one(&b.ctx.db)
        .await
        .unwrap()
        .unwrap();

    b.goto(&format!("/p/{}", product.slug)).await;
    b.click("#add-button").await;
    b.wait_text("#add-result", |t| t.contains("Added")).await;
    b.wait_text("#mini-cart .badge", |t| t.trim() == "1").await;
    b.screenshot("cart-added").await;

    b.log_in("ann@example.com", PASSWORD).await;
    b.goto("/cart").await;
    assert!(
        b.text("#cart").await.contains(&product.name),
        "the guest cart was merged"
    );
    b.fill("code", "spring10").await;
    b.click("form[action='/cart/coupon'] button[type='submit']")
        .await;
    b.wait_text("#coupon-code", |t| t == "SPRING10").await;
    assert!(b.text("#discount").await.starts_with('−'));
    b.screenshot("cart-coupon").await;

    b.click_and_wait("#checkout-link").await;
    assert_eq!(b.path().await, "/checkout");
    b.fill("line1", "1 Harbour Road").await;
    b.fill("postal_code", "24103").await;
    b.fill("city", "Kiel").await;
    b.fill("country", "DE").await;
    b.click_and_wait("#place-order").await;
    let order_path = b.path().await;
    assert!(
        order_path.starts_with("/orders/"),
        "{order_path}: {}",
        b.text("main").await
    );
    assert!(b.text("#flash").await.contains("Thank you"));
    assert_eq!(b.text("#order-status").await, "Awaiting payment");
    b.screenshot("order-placed").await;
    b.log_out().await;

    b.log_in("owner@example.com", PASSWORD).await;
    let id = order_path.trim_start_matches("/orders/");
    b.goto(&format!("/admin/orders/{id}")).await;
    b.click("#action-mark-paid").await;
    b.wait_text("#order-status", |t| t == "Paid").await;
    b.fill("carrier", "DHL").await;
    b.fill("tracking_number", "JJD000390007").await;
    b.click("#action-ship").await;
    b.wait_text("#order-status", |t| t == "Shipped").await;
    assert!(b.text("#timeline").await.contains("owner@example.com"));
    b.screenshot("admin-shipped").await;
    b.client.clone().close().await.unwrap();
    b.finish().await;
}

/// Issue 5's journey with nothing configured: the shopper pays through the built-in test
/// provider (one declined attempt first) and sees the order paid; the admin sees both
/// attempts among the transactions.
#[tokio::test]
#[serial]
async fn a_shopper_pays_with_the_test_provider_after_a_declined_card() {
    use emporium::models::_entities::{products, variants};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start(&chromedriver).await;
    emporium::app::App::seed(&b.ctx, std::path::Path::new("."))
        .await
        .unwrap();
    support::user(&b.ctx, "owner@example.com", Role::Admin).await;
    support::user(&b.ctx, "ann@example.com", Role::Customer).await;
    let variant = variants::Entity::find()
        .filter(variants::Column::Options.eq("{}"))
        .filter(variants::Column::Stock.gte(3))
        .order_by_desc(variants::Column::Id)
        .one(&b.ctx.db)
        .await
        .unwrap()
        .unwrap();
    let product = products::Entity::find_by_id(variant.product_id)
        .one(&b.ctx.db)
        .await
        .unwrap()
        .unwrap();

    b.log_in("ann@example.com", PASSWORD).await;
    b.goto(&format!("/p/{}", product.slug)).await;
    b.click("#add-button").await;
    b.wait_text("#mini-cart .badge", |t| t.trim() == "1").await;
    b.goto("/checkout").await;
    b.fill("line1", "1 Harbour Road").await;
    b.fill("postal_code", "24103").await;
    b.fill("city", "Kiel").await;
    b.fill("country", "DE").await;
    b.click_and_wait("#place-order").await;
    let order_path = b.path().await;
    assert!(order_path.starts_with("/orders/"));

    b.click_and_wait("#pay-now").await;
    assert!(
        b.path().await.starts_with("/pay/test/"),
        "{}",
        b.path().await
    );
    b.screenshot("test-provider").await;
    b.click_and_wait("#test-decline").await;
    assert_eq!(b.path().await, order_path);
    assert!(b.text("#flash").await.contains("declined"));
    assert_eq!(b.text("#order-status").await, "Awaiting payment");

    b.click_and_wait("#pay-now").await;
    b.click_and_wait("#test-pay").await;
    assert_eq!(b.path().await, order_path);
    assert!(b.text("#flash").await.contains("Payment received"));
    assert_eq!(b.text("#order-status").await, "Paid");
    assert!(b.text("#transactions").await.contains("succeeded"));
    b.screenshot("order-paid").await;
    b.log_out().await;

    b.log_in("owner@example.com", PASSWORD).await;
    b.goto("/admin/transactions").await;
    let table = b.text("#transactions-table").await;
    assert!(
        table.contains("succeeded") && table.contains("failed"),
        "{table}"
    );
    b.client.clone().close().await.unwrap();
    b.finish().await;
}

/// Issue 6: a customer who bought a product reviews it from its page and keeps it on the
/// wishlist with the heart (htmx), then finds it on the wishlist page.
#[tokio::test]
#[serial]
async fn a_buyer_reviews_a_product_and_keeps_it_on_the_wishlist() {
    use emporium::models::{
        actor::Actor,
        orders::{self, Action},
    };

    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start(&chromedriver).await;
    emporium::app::App::seed(&b.ctx, std::path::Path::new("."))
        .await
        .unwrap();
    let ann = support::user(&b.ctx, "ann@example.com", Role::Customer).await;
    let (_, product, order) = order_demo_product(&b.ctx, &ann, 3).await;
    orders::act(
        &b.ctx,
        order.id,
        Action::Pay,
        &Actor::system("test payment"),
    )
    .await
    .unwrap();

    b.log_in("ann@example.com", PASSWORD).await;
    b.goto(&format!("/p/{}", product.slug)).await;
    b.click("#review-form input[name=rating][value='4']").await;
    b.fill("comment", "Exactly as pictured.").await;
    b.click_and_wait("#review-submit").await;
    assert!(b
        .text("#flash")
        .await
        .contains("Thank you for your review."));
    assert!(b.text("#reviews").await.contains("Exactly as pictured."));
    assert!(b.text("#reviews").await.contains("Rated 4"));

    b.click("#wishlist-button").await;
    b.wait_text("#wishlist-button", |t| t.contains("On your wishlist"))
        .await;
    b.screenshot("review-and-wishlist").await;
    b.goto("/wishlist").await;
    assert!(b.text("#wishlist").await.contains(&product.name));
    b.client.clone().close().await.unwrap();
    b.finish().await;
}

/// Issue 6: an admin turns on two-factor login from the QR page, keeps the recovery codes,
/// and from then on logs in with the code from the authenticator app.
#[tokio::test]
#[serial]
async fn staff_turn_on_two_factor_login_and_log_in_with_a_code() {
    use emporium::domain::two_factor::Authenticator;
    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start(&chromedriver).await;
    support::user(&b.ctx, "owner@example.com", Role::Admin).await;
    let code = |secret: &str, ahead: u64| {
        let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
        Authenticator::from_base32(secret, "Shop", "owner")
            .unwrap()
            .code_at(now + ahead)
    };

    b.log_in("owner@example.com", PASSWORD).await;
    assert_eq!(b.path().await, "/admin");
    b.goto("/account").await;
    b.click_and_wait("a[href='/account/two-factor']").await;
    assert!(b.client.find(Locator::Css("#totp-qr svg")).await.is_ok());
    let secret = b.text("#totp-secret").await;
    b.fill("code", &code(&secret, 0)).await;
    b.fill("password", PASSWORD).await;
    b.submit("/account/two-factor/confirm").await;
    let codes = b.text("#recovery-codes").await;
    assert_eq!(codes.matches('-').count(), 10, "{codes}");
    b.screenshot("two-factor-on").await;
    b.log_out().await;

    b.log_in("owner@example.com", PASSWORD).await;
    assert_eq!(b.path().await, "/login/two-factor");
    b.fill("code", "000000").await;
    b.submit("/login/two-factor").await;
    assert!(b.text("main").await.contains("not valid"));
    b.fill("code", &code(&secret, 30)).await;
    b.submit("/login/two-factor").await;
    assert_eq!(b.path().await, "/admin", "{}", b.text("main").await);
    b.client.clone().close().await.unwrap();
    b.finish().await;
}

/// Issue 6: the dashboard shows a new order and a new notification as they happen, without
/// being reloaded (server-sent events; here the embedded default, which watches the database).
#[tokio::test]
#[serial]
async fn new_orders_and_notifications_appear_on_the_open_dashboard() {
    use emporium::models::{_entities::variants, notifications};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start(&chromedriver).await;
    emporium::app::App::seed(&b.ctx, std::path::Path::new("."))
        .await
        .unwrap();
    support::user(&b.ctx, "owner@example.com", Role::Admin).await;
    let ann = support::user(&b.ctx, "ann@example.com", Role::Customer).await;
    b.log_in("owner@example.com", PASSWORD).await;
    assert_eq!(b.path().await, "/admin");
    b.wait_text("#live-title", |t| t.contains("Happening now"))
        .await;
    // Marks this very page: a reload would lose it.
    b.client
        .execute("window.emporiumMark = 42; return true;", vec![])
        .await
        .unwrap();
    // Let the event stream open before anything happens.
    tokio::time::sleep(Duration::from_millis(800)).await;

    let (variant, _, order) = order_demo_product(&b.ctx, &ann, 8).await;
    let text = b
        .wait_text("#live-orders", |t| {
            t.contains(&format!("Order #{}", order.number))
        })
        .await;
    assert!(text.contains("ann@example.com"));

    // The stock check runs in another process in production; here it writes the same rows.
    variants::Entity::update_many()
        .col_expr(
            variants::Column::LowStockThreshold,
            sea_orm::sea_query::Expr::value(1_000_000),
        )
        .filter(variants::Column::Id.eq(variant.id))
        .exec(&b.ctx.db)
        .await
        .unwrap();
    notifications::check_stock(&b.ctx).await.unwrap();
    b.wait_text("#live-notifications", |t| t.contains(&variant.sku))
        .await;
    let mark = b
        .client
        .execute("return window.emporiumMark || 0;", vec![])
        .await
        .unwrap();
    assert_eq!(mark, json!(42), "the page was not reloaded");
    b.screenshot("live-dashboard").await;
    b.client.clone().close().await.unwrap();
    b.finish().await;
}
