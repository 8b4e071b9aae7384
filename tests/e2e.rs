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

    /// Picks the option with `value` in the form's select `name`.
    async fn choose(&self, name: &str, value: &str) {
        self.client
            .find(Locator::Css(&format!(
                "main select[name='{name}'] option[value='{value}']"
            )))
            .await
            .unwrap_or_else(|e| panic!("no option {value} in {name}: {e}"))
            .click()
            .await
            .unwrap();
        self.htmx_idle().await;
    }

    /// Presses an irreversible action's button `css` the way a person must: first the button
    /// that asks, then the one that acts.
    async fn confirm(&self, css: &str) {
        let ask = format!("details.confirm:has({css}) > summary");
        self.click(&ask).await;
        assert!(
            self.client
                .find(Locator::Css(css))
                .await
                .unwrap()
                .is_displayed()
                .await
                .unwrap(),
            "the question shows its button"
        );
        self.click(css).await;
    }

    /// The serious and critical accessibility violations axe-core finds on each of `pages`.
    async fn accessibility(&self, axe: &str, pages: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for p in pages {
            self.goto(p).await;
            self.client.execute(axe, vec![]).await.unwrap();
            let found = self
                .client
                .execute_async(
                    "const done = arguments[arguments.length - 1];
                     axe.run(document, {resultTypes: ['violations']}).then(r => done(
                       r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                         .map(v => v.id + ': ' + v.help + ' (' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ') + ')')));",
                    vec![],
                )
                .await
                .unwrap();
            for line in found.as_array().cloned().unwrap_or_default() {
                out.push(format!("{p}: {}", line.as_str().unwrap_or_default()));
            }
        }
        out
    }

    /// Types into the field `css` names, replacing what is there.
    async fn fill_css(&self, css: &str, value: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Clicks and waits until the browser has replaced the page (the old root goes stale).
    async fn click_and_wait(&self, css: &str) {
        let old_root = self.client.find(Locator::Css("html")).await.unwrap();
        self.press(css).await;
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

    /// The text of `css`. A live page (an order page following its order) can swap the element
    /// between finding and reading it; then it is found again (up to 5 s).
    async fn text(&self, css: &str) -> String {
        let mut last = None;
        for _ in 0..100 {
            match self.client.find(Locator::Css(css)).await {
                Ok(el) => match el.text().await {
                    Ok(t) => return t,
                    Err(e) => last = Some(e.to_string()),
                },
                Err(e) => last = Some(e.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css}: {}", last.unwrap_or_default());
    }

    /// The texts of every element `css` finds, read again when a live page swapped them
    /// between finding and reading (up to 5 s).
    async fn texts(&self, css: &str) -> Vec<String> {
        let mut last = String::new();
        'again: for _ in 0..100 {
            let found = match self.client.find_all(Locator::Css(css)).await {
                Ok(found) => found,
                Err(e) => {
                    last = e.to_string();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let mut out = Vec::new();
            for el in found {
                match el.text().await {
                    Ok(t) => out.push(t),
                    Err(e) => {
                        last = e.to_string();
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue 'again;
                    }
                }
            }
            return out;
        }
        panic!("{css}: {last}");
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
        self.press(css).await;
        self.htmx_idle().await;
    }

    /// Finds `css` and clicks it; when a live page swapped the element in between (it went
    /// stale), finds it again, for up to 5 s.
    async fn press(&self, css: &str) {
        let mut last = String::new();
        for _ in 0..100 {
            match self.client.find(Locator::Css(css)).await {
                Ok(el) => match el.click().await {
                    Ok(_) => return,
                    Err(e) => last = e.to_string(),
                },
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css}: {last}");
    }

    /// Waits (up to 5 s) until no htmx request is in flight or being swapped in, so that the
    /// next step meets the page the last change asked for (a country chosen at checkout
    /// fetches its delivery options, say). Returns at once when nothing is pending, or when
    /// scripts cannot run (a journey without JavaScript).
    async fn htmx_idle(&self) {
        let busy = "return document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling') !== null";
        for _ in 0..100 {
            match self.client.execute(busy, vec![]).await {
                Ok(serde_json::Value::Bool(true)) => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                _ => return,
            }
        }
        panic!("an htmx request was still pending after 5 s");
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

    /// Signs in, puts one of the product into the cart from its page and opens the checkout.
    async fn sign_in_and_check_out_one(&self, email: &str, slug: &str) {
        self.log_in(email, PASSWORD).await;
        self.goto(&format!("/p/{slug}")).await;
        self.click("#add-button").await;
        self.wait_text("#mini-cart .badge", |t| t.trim() == "1")
            .await;
        self.goto("/checkout").await;
    }
    /// Runs a journey's steps; when one fails, keeps a screenshot and the page's HTML under
    /// `$E2E_ARTIFACTS` (CI keeps that folder) before failing the test.
    async fn journey(&self, name: &str, steps: impl std::future::Future<Output = ()>) {
        use futures::FutureExt;
        let outcome = std::panic::AssertUnwindSafe(steps).catch_unwind().await;
        if let Err(panic) = outcome {
            let dir = std::env::var("E2E_ARTIFACTS").map_or_else(
                |_| std::env::temp_dir().join("emporium-e2e"),
                std::path::PathBuf::from,
            );
            let _ = std::fs::create_dir_all(&dir);
            if let Ok(png) = self.client.screenshot().await {
                let _ = std::fs::write(dir.join(format!("{name}.png")), png);
            }
            if let Ok(html) = self.client.source().await {
                let _ = std::fs::write(dir.join(format!("{name}.html")), html);
            }
            let url = self
                .client
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            eprintln!(
                "e2e journey {name} failed at {url}; screenshot and page in {}",
                dir.display()
            );
            std::panic::resume_unwind(panic);
        }
    }

    async fn log_out(&self) {
        self.submit("/logout").await;
    }
}

/// The first demo product without options that has at least `min_stock` units, and its variant.
async fn simple_product(
    ctx: &AppContext,
    min_stock: i32,
) -> (
    emporium::models::_entities::variants::Model,
    emporium::models::_entities::products::Model,
) {
    use emporium::models::_entities::{products, variants};
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
    (variant, product)
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
            carts::{self, AddItem, CartKey},
            checkout::{self, PlaceOrder},
        },
    };
    let (variant, product) = simple_product(ctx, min_stock).await;
    let add = AddItem::parse(product.pid, None, 1, 99).unwrap();
    carts::add_item(ctx, Some(&CartKey::User(user)), &add)
        .await
        .unwrap();
    let shipping = Address::parse("1 Harbour Road", "", "Kiel", "24103", "DE", "").unwrap();
    // The demo shop ships to Germany two ways: the cheapest, as the checkout page offers first.
    let cart = carts::find(&ctx.db, &CartKey::User(user)).await.unwrap();
    let priced = carts::view(ctx, cart.as_ref(), Some(user), vec![])
        .await
        .unwrap();
    let order = checkout::place_order(
        ctx,
        user,
        PlaceOrder {
            shipping,
            billing: None,
            shipping_method: priced.shipping_choice,
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
    b.journey(
        "a-shopper-registers-verifies-from-the-outbox-and-logs-in-and-out",
        async {
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
            b.click_and_wait("#confirm-email").await;
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
        },
    )
    .await;
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
    let name = if js == Js::On {
        "browse-with-js"
    } else {
        "browse-without-js"
    };
    b.journey(name, async {
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
        assert_eq!(b.text("#price .amount").await, "€16.00");
        let gallery = b.client.find(Locator::Css("#gallery img")).await.unwrap();
        assert_eq!(
            gallery.attr("alt").await.unwrap().as_deref(),
            Some("Dot Grid Notebook")
        );

        // The A4 size costs more. Whatever the page shows, the option chosen is the one
        // that "Add to cart" adds (issue 17: without JavaScript it used to add the variant
        // the page was drawn with).
        b.click("input[name='opt.Size'][value=A4]").await;
        if js == Js::On {
            b.wait_text("#price .amount", |t| t == "€20.00").await;
            assert!(b.query().await.contains("opt.Size=A4"), "URL pushed");
            let sku = b.text("#sku").await;
            assert!(sku.starts_with("DOT-GRID-NOTEBOOK-A4-"), "{sku}");
            b.screenshot(&format!("{tag}-product")).await;
            b.click("#add-button").await;
            b.wait_text("#add-result", |t| t.contains("Added")).await;
            assert!(b.text("#add-result").await.contains("A4"));
        } else {
            assert_eq!(
                b.text("#price .amount").await,
                "€16.00",
                "no script, no redraw"
            );
            b.screenshot(&format!("{tag}-product")).await;
            b.click_and_wait("#add-button").await;
            assert_eq!(b.path().await, "/cart");
        }
        b.goto("/cart").await;
        let cart = b.text("#cart").await;
        assert!(cart.contains("SKU DOT-GRID-NOTEBOOK-A4-"), "{cart}");
        assert!(!cart.contains("SKU DOT-GRID-NOTEBOOK-A5-"), "{cart}");
        assert!(cart.contains("€20.00"), "{cart}");
    })
    .await;
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
    b.journey(
        "a-guest-cart-follows-the-login-through-coupon-and-checkout-and-the-admin-ships-it",
        async {
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
            b.choose("country", "DE").await;
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
        },
    )
    .await;
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
    b.journey(
        "a-shopper-pays-with-the-test-provider-after-a-declined-card",
        async {
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

            b.sign_in_and_check_out_one("ann@example.com", &product.slug)
                .await;
            b.fill("line1", "1 Harbour Road").await;
            b.fill("postal_code", "24103").await;
            b.fill("city", "Kiel").await;
            b.choose("country", "DE").await;
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
            // Payments are listed in the order they happened (issue 17, item 12).
            let attempts = b.texts("#transactions li").await;
            assert_eq!(attempts.len(), 2, "{attempts:?}");
            assert!(
                attempts[0].contains("failed") && attempts[1].contains("succeeded"),
                "{attempts:?}"
            );
            b.screenshot("order-paid").await;
            b.log_out().await;

            b.log_in("owner@example.com", PASSWORD).await;
            b.goto("/admin/transactions").await;
            let table = b.text("#transactions-table").await;
            assert!(
                table.contains("succeeded") && table.contains("failed"),
                "{table}"
            );
        },
    )
    .await;
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
    b.journey(
        "a-buyer-reviews-a-product-and-keeps-it-on-the-wishlist",
        async {
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
        },
    )
    .await;
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
    b.journey(
        "staff-turn-on-two-factor-login-and-log-in-with-a-code",
        async {
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
        },
    )
    .await;
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
    b.journey(
        "new-orders-and-notifications-appear-on-the-open-dashboard",
        async {
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
        },
    )
    .await;
    b.client.clone().close().await.unwrap();
    b.finish().await;
}

/// Issue 7, staff: order stock from a supplier, receive it, and read the low-stock
/// notifications after a stock check.
#[tokio::test]
#[serial]
async fn staff_receive_a_purchase_order_and_read_the_notifications() {
    use emporium::models::_entities::variants;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start(&chromedriver).await;
    b.journey("staff-purchase-order", async {
        emporium::app::App::seed(&b.ctx, std::path::Path::new("."))
            .await
            .unwrap();
        support::user(&b.ctx, "clerk@example.com", Role::Staff).await;
        let variant = variants::Entity::find()
            .filter(variants::Column::Options.eq("{}"))
            .order_by_asc(variants::Column::Id)
            .one(&b.ctx.db)
            .await
            .unwrap()
            .unwrap();
        b.log_in("clerk@example.com", PASSWORD).await;
        assert_eq!(b.path().await, "/admin");
        b.goto("/admin/purchase-orders/new").await;
        b.fill("supplier", "Nordic Supplies").await;
        b.fill("lines[0][sku]", &variant.sku).await;
        b.fill("lines[0][quantity]", "12").await;
        b.fill("lines[0][unit_cost]", "3.50").await;
        b.submit("/admin/purchase-orders").await;
        let po_path = b.path().await;
        assert!(
            po_path.starts_with("/admin/purchase-orders/"),
            "{po_path}: {}",
            b.text("main").await
        );
        b.submit(&format!("{po_path}/receive")).await;
        assert!(b.text("main").await.to_lowercase().contains("received"));
        let after = variants::Entity::find_by_id(variant.id)
            .one(&b.ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            after.stock,
            variant.stock + 12,
            "the receipt added the units"
        );
        b.screenshot("staff-received").await;

        // The demo catalogue's own shortages first, then a new one: it is the newest row.
        emporium::models::notifications::check_stock(&b.ctx)
            .await
            .unwrap();
        variants::Entity::update_many()
            .col_expr(
                variants::Column::LowStockThreshold,
                sea_orm::sea_query::Expr::value(1_000_000),
            )
            .filter(variants::Column::Id.eq(variant.id))
            .exec(&b.ctx.db)
            .await
            .unwrap();
        // The scheduler's stock check, as it runs every quarter of an hour.
        emporium::models::notifications::check_stock(&b.ctx)
            .await
            .unwrap();
        b.goto("/admin/notifications").await;
        let table = b.text("#notifications-table").await;
        assert!(table.contains(&variant.sku), "{table}");
        assert!(!b.text("#unread-count").await.starts_with("0 "));
    })
    .await;
    b.client.clone().close().await.unwrap();
    b.finish().await;
}

/// Issue 7, product manager: a product with options becomes one variant per combination,
/// gets a picture, and shows in the shop with its variant picker.
#[tokio::test]
#[serial]
async fn a_product_manager_creates_a_product_with_variants_and_an_image() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start(&chromedriver).await;
    b.journey("pm-product", async {
        support::user(&b.ctx, "pm@example.com", Role::ProductManager).await;
        b.log_in("pm@example.com", PASSWORD).await;
        b.goto("/admin/products/new").await;
        b.fill("name", "Trail Jacket").await;
        b.fill("price", "79.00").await;
        b.fill("stock", "4").await;
        b.fill("options", "Size: S, M\nColour: Red, Blue").await;
        let active = b
            .client
            .find(Locator::Css("main form [name='active']"))
            .await
            .unwrap();
        if !active.is_selected().await.unwrap() {
            active.click().await.unwrap();
        }
        b.submit("/admin/products/new").await;
        let edit = b.path().await;
        assert!(
            edit.starts_with("/admin/products/"),
            "{edit}: {}",
            b.text("main").await
        );
        let rows = b
            .client
            .find_all(Locator::Css("#variants tbody tr[id^='variant-']"))
            .await
            .unwrap();
        assert_eq!(rows.len(), 4, "2 sizes × 2 colours");

        let picture = std::env::temp_dir().join(format!("jacket-{}.png", uuid::Uuid::new_v4()));
        std::fs::write(&picture, support::png(800, 600)).unwrap();
        b.client
            .find(Locator::Css("#img-file"))
            .await
            .unwrap()
            .send_keys(&picture.display().to_string())
            .await
            .unwrap();
        b.fill_css("#img-alt", "The jacket, front").await;
        b.click("#images form.upload-form button[type='submit']")
            .await;
        b.wait_text("#image-list", |t| {
            t.contains("The jacket, front") || t.contains("1 image")
        })
        .await;
        let _ = std::fs::remove_file(&picture);
        b.screenshot("pm-product").await;

        let slug = emporium::models::_entities::products::Entity::find()
            .filter(emporium::models::_entities::products::Column::Name.eq("Trail Jacket"))
            .one(&b.ctx.db)
            .await
            .unwrap()
            .expect("the product was saved")
            .slug;
        b.goto(&format!("/p/{slug}")).await;
        let page = b.text("main").await;
        assert!(page.contains("Trail Jacket"));
        assert!(page.contains("Size") && page.contains("Colour"), "{page}");
    })
    .await;
    b.client.clone().close().await.unwrap();
    b.finish().await;
}

/// Issue 7, admin: refund a paid order, change a customer's access, issue an API key and
/// register a webhook that then receives a signed event.
#[tokio::test]
#[serial]
async fn an_admin_refunds_manages_a_customer_and_connects_an_integration() {
    use emporium::models::{
        actor::Actor,
        orders::{self, Action},
    };

    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start(&chromedriver).await;
    b.journey("admin-integrations", async {
        emporium::app::App::seed(&b.ctx, std::path::Path::new("."))
            .await
            .unwrap();
        support::user(&b.ctx, "owner@example.com", Role::Admin).await;
        let ann = support::user(&b.ctx, "ann@example.com", Role::Customer).await;
        let (_, _, order) = order_demo_product(&b.ctx, &ann, 5).await;
        orders::act(
            &b.ctx,
            order.id,
            Action::Pay,
            &Actor::system("test payment"),
        )
        .await
        .unwrap();

        b.log_in("owner@example.com", PASSWORD).await;
        b.goto(&format!("/admin/orders/{}", order.id)).await;
        b.choose("reason", "damaged").await;
        b.fill_css("#refund-note", "box crushed").await;
        b.confirm("#action-refund").await;
        b.wait_text("#order-status", |t| t == "Refunded").await;
        assert!(b
            .text("#order-panel")
            .await
            .contains("Arrived damaged: box crushed"));

        // The customer: found by search, made inactive.
        b.goto("/admin/users?q=ann").await;
        b.click_and_wait(&format!("a[href='/admin/users/{}']", ann.pid))
            .await;
        assert!(b.text("main").await.contains("ann@example.com"));
        b.click("main form.row-form input[name='active']").await;
        b.submit(&format!("/admin/users/{}", ann.pid)).await;
        let row = emporium::models::users::find_by_pid(&b.ctx.db, ann.pid)
            .await
            .unwrap();
        assert!(!row.active, "deactivated from the page");

        // An API key, shown once, that works.
        b.goto("/admin/api-keys").await;
        b.fill("name", "Warehouse sync").await;
        b.click("input[name='scopes'][value='orders:read']").await;
        b.submit("/admin/api-keys").await;
        let secret = b.text("#key-secret").await;
        let (status, _, body) =
            support::http_get_bearer(&format!("{}/api/v1/orders/{}", b.base, order.id), &secret)
                .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));

        // A webhook endpoint that receives the next payment, signed.
        let receiver = support::receiver::Receiver::start(&[]).await;
        b.goto("/admin/webhooks").await;
        b.fill("url", &receiver.url).await;
        b.click("input[name='events'][value='order.paid']").await;
        b.submit("/admin/webhooks").await;
        let secret = b.text("#hook-secret").await;
        let bob = support::user(&b.ctx, "bob@example.com", Role::Customer).await;
        let (_, _, second) = order_demo_product(&b.ctx, &bob, 5).await;
        orders::act(
            &b.ctx,
            second.id,
            Action::Pay,
            &Actor::system("test payment"),
        )
        .await
        .unwrap();
        let got = receiver.wait_for(1).await;
        assert!(support::receiver::signature_valid(
            &secret,
            &got[0].header("x-emporium-signature"),
            &got[0].body
        ));
        b.goto(&b.path().await).await;
        b.wait_text("#deliveries-table", |t| t.contains("order.paid"))
            .await;
        b.screenshot("admin-webhook").await;
    })
    .await;
    b.client.clone().close().await.unwrap();
    b.finish().await;
}

/// Issue 20: an admin corrects a customer's mistyped e-mail and mails them a reset link; the
/// customer sets a password from it, later moves to a new address through the link mailed
/// there, downloads their data and closes the account.
#[tokio::test]
#[serial]
async fn an_admin_corrects_a_customer_who_later_moves_address_takes_their_data_and_leaves() {
    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start(&chromedriver).await;
    b.journey("account-lifecycle", async {
        support::user(&b.ctx, "owner@example.com", Role::Admin).await;
        let ann = support::user(&b.ctx, "ann@exmaple.com", Role::Customer).await;

        // The admin fixes the typo and sends a reset link; the page shows what changed.
        b.log_in("owner@example.com", PASSWORD).await;
        b.goto(&format!("/admin/users/{}", ann.pid)).await;
        b.fill_css("#profile-email", "ann@example.com").await;
        b.submit(&format!("/admin/users/{}/profile", ann.pid)).await;
        assert!(b.text("body").await.contains("Saved ann@example.com."));
        let change = b.text("#audit-table .audit-row[data-action='user.updated']").await;
        assert!(change.contains("ann@exmaple.com") && change.contains("owner@example.com"), "{change}");
        b.submit(&format!("/admin/users/{}/password-reset", ann.pid)).await;
        assert!(b.text("body").await.contains("password-reset link is on its way"));
        b.goto("/admin/audit").await;
        assert_eq!(b.texts("#audit-table .audit-action").await, ["user.password_reset_sent", "user.updated"]);
        b.log_out().await;

        // Ann sets her password from the link that reached the corrected address.
        let reset = support::token_from_mail(&b.ctx, "ann@example.com", "password_reset").await;
        b.goto(&format!("/reset?token={reset}")).await;
        b.fill("password", "ann's own secret").await;
        b.submit("/reset").await;
        b.log_in("ann@example.com", "ann's own secret").await;
        assert_eq!(b.path().await, "/account");

        // Later she moves to a new address: the link mailed there, opened while signed in,
        // asks once more and makes the change.
        b.fill_css("#new_email", "ann@newmail.example").await;
        b.fill_css("#email-password", "ann's own secret").await;
        b.submit("/account/email").await;
        assert!(b.text("body").await.contains("We sent a link to ann@newmail.example"));
        let link = support::token_from_mail(&b.ctx, "ann@newmail.example", "email_change").await;
        b.goto(&format!("/account/email/confirm?token={link}")).await;
        b.click_and_wait("#confirm-new-email").await;
        assert_eq!(b.path().await, "/account");
        assert!(b.text("main").await.contains("Signed in as ann@newmail.example"));

        // Her data, as the download link gives it.
        let data = b
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 fetch(document.querySelector('#export-data').href).then(r => r.json()).then(done);",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(data["profile"]["email"], "ann@newmail.example");

        // Closing with the password ends it all.
        b.fill_css("#close-password", "ann's own secret").await;
        b.submit("/account/close").await;
        assert_eq!(b.path().await, "/");
        b.goto("/account").await;
        assert_eq!(b.path().await, "/login");
        b.log_in("ann@newmail.example", "ann's own secret").await;
        assert_eq!(b.path().await, "/login", "a closed account cannot sign in");
        let row = emporium::models::users::find_by_pid(&b.ctx.db, ann.pid).await.unwrap();
        assert!(!row.active && row.email.ends_with("@closed.invalid"));
    })
    .await;
    b.client.clone().close().await.unwrap();
    b.finish().await;
}

/// Issue 7: the shop's and the admin's pages have no serious or critical accessibility
/// violations as axe-core (npm) finds them in Chromium.
#[tokio::test]
#[serial]
async fn pages_have_no_serious_accessibility_violations() {
    let (Some(chromedriver), Some(axe)) = (
        support::require("CHROMEDRIVER"),
        support::require("AXE_CORE"),
    ) else {
        return;
    };
    let axe = std::fs::read_to_string(axe).expect("axe-core's axe.min.js");
    let b = start(&chromedriver).await;
    b.journey("accessibility", async {
        emporium::app::App::seed(&b.ctx, std::path::Path::new("."))
            .await
            .unwrap();
        support::user(&b.ctx, "owner@example.com", Role::Admin).await;
        let ann = support::user(&b.ctx, "ann@example.com", Role::Customer).await;
        let (_, product, order) = order_demo_product(&b.ctx, &ann, 3).await;
        let pages = vec![
            "/".to_string(),
            "/products".into(),
            "/products?q=shirt".into(),
            format!("/p/{}", product.slug),
            "/cart".into(),
            "/login".into(),
            "/register".into(),
            "/forgot".into(),
        ];
        let mut found = Vec::new();
        found.extend(b.accessibility(&axe, &pages).await);
        b.log_in("ann@example.com", PASSWORD).await;
        found.extend(
            b.accessibility(
                &axe,
                &[
                    "/account".into(),
                    "/orders".into(),
                    format!("/orders/{}", order.id),
                    "/wishlist".into(),
                    "/checkout".into(),
                ],
            )
            .await,
        );
        b.log_out().await;
        b.log_in("owner@example.com", PASSWORD).await;
        found.extend(
            b.accessibility(
                &axe,
                &[
                    "/admin".into(),
                    "/admin/products".into(),
                    format!("/admin/products/{}", product.pid),
                    "/admin/products/import".into(),
                    "/admin/orders".into(),
                    format!("/admin/orders/{}", order.id),
                    "/admin/inventory".into(),
                    "/admin/purchase-orders/new".into(),
                    "/admin/users".into(),
                    format!("/admin/users/{}", ann.pid),
                    "/admin/audit".into(),
                    "/admin/webhooks".into(),
                    "/admin/api-keys".into(),
                    "/account/two-factor".into(),
                ],
            )
            .await,
        );
        assert!(
            found.is_empty(),
            "{} violations:\n{}",
            found.len(),
            found.join("\n")
        );
    })
    .await;
    b.client.clone().close().await.unwrap();
    b.finish().await;
}

/// Fails when the page is the login form or lacks the signed-in header (its logout form).
async fn assert_signed_in(b: &Browser, visit: usize, path: &str) {
    let now = b.path().await;
    assert_ne!(
        now, "/login",
        "visit {visit} to {path} was sent to the login page"
    );
    assert!(
        b.client
            .find(Locator::Css("form[action='/logout']"))
            .await
            .is_ok(),
        "visit {visit} to {path} is not signed in (at {now})"
    );
}

/// Issue 17, item 2: an admin with the live stream open in another tab (it rechecks the
/// session every second in tests) loads 100 admin pages, some with their own stream; a shopper
/// loads 100 shop pages while htmx requests of the previous page are still in flight. Neither
/// is ever signed out.
#[tokio::test]
#[serial]
async fn signed_in_people_stay_signed_in_across_many_pages_and_requests_in_flight() {
    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start(&chromedriver).await;
    b.journey("signed-in-people-stay-signed-in", async {
        emporium::app::App::seed(&b.ctx, std::path::Path::new("."))
            .await
            .unwrap();
        support::user(&b.ctx, "owner@example.com", Role::Admin).await;
        support::user(&b.ctx, "ann@example.com", Role::Customer).await;

        b.log_in("owner@example.com", PASSWORD).await;
        assert_eq!(b.path().await, "/admin");
        b.wait_text("#live-title", |t| t.contains("Happening now"))
            .await;
        let dashboard = b.client.window().await.unwrap();
        let tab = b.client.new_window(true).await.unwrap();
        b.client.switch_to_window(tab.handle).await.unwrap();
        let admin = [
            "/admin/orders",
            "/admin/products",
            "/admin/users",
            "/admin/inventory",
            "/admin/notifications",
            "/admin/purchase-orders",
            "/admin/promo-codes",
            "/admin/tax-rates",
            "/admin/stock-ledger",
            "/admin",
        ];
        for visit in 0..100 {
            let path = admin[visit % admin.len()];
            b.goto(path).await;
            assert_signed_in(&b, visit, path).await;
        }
        b.client.close_window().await.unwrap();
        b.client.switch_to_window(dashboard).await.unwrap();
        b.goto("/admin").await;
        assert_signed_in(&b, 100, "/admin").await;
        b.log_out().await;

        // Logging in with the catalogue's requests still in flight: answers to requests sent
        // with the session of before the login must not replace the new session's cookie.
        for attempt in 0..5 {
            b.goto("/login").await;
            b.fill("email", "ann@example.com").await;
            b.fill("password", PASSWORD).await;
            b.client
                .execute(
                    "const h = {'HX-Request': 'true'};
                     const burst = () => { for (let i = 0; i < 20; i++) fetch('/products?q=' + i, {headers: h}); };
                     burst();
                     document.querySelector('main form[action=\"/login\"]').submit();
                     burst();
                     return true;",
                    vec![],
                )
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(1500)).await;
            b.goto("/account").await;
            assert_signed_in(&b, attempt, "/account after logging in").await;
            b.log_out().await;
        }
        b.log_in("ann@example.com", PASSWORD).await;
        let slugs: Vec<String> = {
            use emporium::models::_entities::products;
            use sea_orm::{EntityTrait, QueryOrder};
            products::Entity::find()
                .order_by_asc(products::Column::Id)
                .all(&b.ctx.db)
                .await
                .unwrap()
                .into_iter()
                .map(|p| p.slug)
                .collect()
        };
        for visit in 0..100 {
            let path = match visit % 5 {
                0 => "/products".to_string(),
                1 => format!("/p/{}", slugs[visit % slugs.len()]),
                2 => "/cart".to_string(),
                3 => "/wishlist".to_string(),
                _ => "/account".to_string(),
            };
            b.goto(&path).await;
            assert_signed_in(&b, visit, &path).await;
            // htmx requests as the page's controls send them (GETs, and a POST that writes
            // the session's flash), left in flight while the next page loads.
            b.client
                .execute(
                    "const h = {'HX-Request': 'true', 'X-CSRF-Token':
                        document.querySelector('meta[name=csrf-token]').content};
                     for (const q of ['a', 'e', 'o']) fetch('/products?q=' + q, {headers: h});
                     const fav = document.querySelector('#wishlist-toggle');
                     if (fav) fetch(fav.action, {method: 'POST', headers: h, body: new FormData(fav)});
                     return true;",
                    vec![],
                )
                .await
                .unwrap();
        }
    })
    .await;
    b.client.clone().close().await.unwrap();
    b.finish().await;
}

/// Issue 17, item 3: countries come from the ISO list. A saved address in a country the shop
/// does not ship to is named at checkout with where it does ship; the order goes to a country
/// from the list and is taxed at that country's rate.
#[tokio::test]
#[serial]
async fn a_shopper_picks_a_country_the_shop_ships_to_from_the_list() {
    use emporium::{
        domain::account::Address,
        models::{_entities::orders, accounts::addresses, tax_rates},
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start(&chromedriver).await;
    b.journey("a-shopper-picks-a-country-the-shop-ships-to", async {
        emporium::app::App::seed(&b.ctx, std::path::Path::new("."))
            .await
            .unwrap();
        support::set_settings(&b.ctx, |s| {
            s.checkout.ship_to = vec!["DE".into(), "AT".into()]
        });
        tax_rates::create(
            &b.ctx,
            tax_rates::TaxRateDraft::parse("AT", 2000, "USt").unwrap(),
        )
        .await
        .unwrap();
        let ann = support::user(&b.ctx, "ann@example.com", Role::Customer).await;
        let paris = Address::parse("3 Rue de Rivoli", "", "Paris", "75001", "FR", "").unwrap();
        addresses::set_default(&b.ctx.db, ann.id, paris)
            .await
            .unwrap();
        let (_, product) = simple_product(&b.ctx, 3).await;

        b.sign_in_and_check_out_one("ann@example.com", &product.slug)
            .await;
        // The saved address is chosen, and said at once not to be one the shop ships to.
        let said = b.text("#ship_to-errors").await;
        assert!(
            said.contains("We do not ship to France") && said.contains("Austria, Germany"),
            "{said}"
        );
        b.click("#ship_to-new").await;
        b.fill("line1", "1 Ring").await;
        b.fill("city", "Wien").await;
        b.fill("postal_code", "1010").await;
        for absent in ["FR", "ZZ", "UK"] {
            assert!(
                b.client
                    .find(Locator::Css(&format!(
                        "select[name='country'] option[value='{absent}']"
                    )))
                    .await
                    .is_err(),
                "{absent} is not offered for shipping"
            );
        }
        assert!(
            b.client
                .find(Locator::Css(
                    "select[name='billing_country'] option[value='FR']"
                ))
                .await
                .is_ok(),
            "billing may be anywhere"
        );
        b.choose("country", "AT").await;
        b.click_and_wait("#place-order").await;
        assert!(b.path().await.starts_with("/orders/"), "{}", b.path().await);
        let order = orders::Entity::find()
            .filter(orders::Column::UserId.eq(ann.id))
            .one(&b.ctx.db)
            .await
            .unwrap()
            .unwrap();
        assert!(
            order.shipping_address.contains("\"AT\""),
            "{}",
            order.shipping_address
        );
        assert!(order.tax_cents > 0, "taxed at Austria's rate");
    })
    .await;
    b.client.clone().close().await.unwrap();
    b.finish().await;
}

/// Issue 19, items 2 and 3: a customer with two saved addresses picks the one in Austria; the
/// delivery options follow the address at once (htmx) and the summary prices the method
/// chosen; the order goes there by the express method and says so.
#[tokio::test]
#[serial]
async fn a_customer_picks_a_saved_address_and_an_express_method() {
    use emporium::{
        domain::account::Address,
        models::{
            _entities::orders,
            accounts::addresses::{self, Defaults},
        },
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start(&chromedriver).await;
    b.journey(
        "a-customer-picks-a-saved-address-and-an-express-method",
        async {
            emporium::app::App::seed(&b.ctx, std::path::Path::new("."))
                .await
                .unwrap();
            let ann = support::user(&b.ctx, "ann@example.com", Role::Customer).await;
            let kiel = Address::parse("1 Harbour Road", "", "Kiel", "24103", "DE", "").unwrap();
            let wien = Address::parse("2 Ring", "", "Wien", "1010", "AT", "").unwrap();
            addresses::add(&b.ctx.db, ann.id, kiel, Defaults::default())
                .await
                .unwrap();
            let wien = addresses::add(&b.ctx.db, ann.id, wien, Defaults::default())
                .await
                .unwrap();
            let (_, product) = simple_product(&b.ctx, 3).await;

            b.sign_in_and_check_out_one("ann@example.com", &product.slug)
                .await;
            // Kiel is the default: Germany's two ways, the cheaper chosen.
            let ways = b.text("#shipping-choice").await;
            assert!(
                ways.contains("Standard") && ways.contains("DHL Express"),
                "{ways}"
            );
            b.click(&format!("#ship_to-{}", wien.pid)).await;
            let ways = b.wait_text("#shipping-choice", |t| t.contains("UPS")).await;
            assert!(ways.contains("DPD"), "the European Union's ways: {ways}");
            let express = b
                .client
                .find(Locator::XPath(
                    "//div[contains(@class,'shipping-choice')][contains(., 'UPS')]/input",
                ))
                .await
                .unwrap();
            express.click().await.unwrap();
            b.screenshot("checkout-express").await;
            b.click_and_wait("#place-order").await;
            assert!(b.path().await.starts_with("/orders/"), "{}", b.path().await);
            assert!(
                b.text(".shipping-method")
                    .await
                    .contains("Express (UPS, 1–2 days)"),
                "{}",
                b.text("main").await
            );
            let order = orders::Entity::find()
                .filter(orders::Column::UserId.eq(ann.id))
                .one(&b.ctx.db)
                .await
                .unwrap()
                .unwrap();
            assert!(
                order.shipping_address.contains("Wien"),
                "{}",
                order.shipping_address
            );
            assert_eq!(order.shipping_cents, 2490);
        },
    )
    .await;
    b.finish().await;
}

/// Issue 19, items 1 and 5: a guest buys without an account, then pays later from the link of
/// the confirmation mail in a browser that has never seen the shop (no cookie of the
/// checkout); the open order page follows the order as the shop ships it.
#[tokio::test]
#[serial]
async fn a_guest_buys_and_pays_from_the_mail_link() {
    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start(&chromedriver).await;
    b.journey("a-guest-buys-and-pays-from-the-mail-link", async {
        emporium::app::App::seed(&b.ctx, std::path::Path::new("."))
            .await
            .unwrap();
        let (_, product) = simple_product(&b.ctx, 3).await;
        b.goto(&format!("/p/{}", product.slug)).await;
        b.click("#add-button").await;
        b.wait_text("#mini-cart .badge", |t| t.trim() == "1").await;
        b.goto("/checkout").await;
        assert!(b.text("#guest-note").await.contains("Log in"));
        b.fill("email", "gus@example.com").await;
        b.fill("name", "Gus Guest").await;
        b.fill("line1", "1 Harbour Road").await;
        b.fill("postal_code", "24103").await;
        b.fill("city", "Kiel").await;
        b.choose("country", "DE").await;
        b.htmx_idle().await;
        b.click_and_wait("#place-order").await;
        let order_path = b.path().await;
        assert!(order_path.starts_with("/orders/"), "{order_path}");
        assert!(b
            .text("#flash")
            .await
            .contains("We sent its link to gus@example.com"));
        b.screenshot("guest-order").await;

        // Later, elsewhere: only the mail's link.
        b.client.delete_all_cookies().await.unwrap();
        let mail = support::mails_to(&b.ctx, "gus@example.com").await;
        let text = &mail[0].text_body;
        let link = &text[text.find("/orders/").expect("the order's link")..];
        let link = link.split_whitespace().next().unwrap();
        assert!(link.contains("/access?token="), "{link}");
        b.goto(link).await;
        assert_eq!(
            b.path().await,
            order_path,
            "the token leaves the address bar"
        );
        assert_eq!(b.text("#order-status").await, "Awaiting payment");
        b.click_and_wait("#pay-now").await;
        assert!(b.path().await.starts_with("/pay/test/"));
        b.click_and_wait("#test-pay").await;
        assert_eq!(b.path().await, order_path);
        assert_eq!(b.text("#order-status").await, "Paid");
        b.screenshot("guest-paid").await;

        // The shop ships it while the page is open: the page follows, without a reload. (Once
        // the page's stream is open, and the feed has had a look since: it reports what
        // happens after it starts listening.)
        b.client
            .execute("window.stayedOnPage = true", vec![])
            .await
            .unwrap();
        let open = "const e = document.querySelector('[sse-connect]'); \
                    const d = e && e['htmx-internal-data']; \
                    return !!(d && d.sseEventSource && d.sseEventSource.readyState === 1)";
        let mut connected = false;
        for _ in 0..100 {
            if b.client.execute(open, vec![]).await.unwrap() == serde_json::json!(true) {
                connected = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(connected, "the order page's stream opened");
        tokio::time::sleep(Duration::from_millis(600)).await;
        let admin = support::user(&b.ctx, "owner@example.com", Role::Admin).await;
        let pid = uuid::Uuid::parse_str(order_path.trim_start_matches("/orders/")).unwrap();
        emporium::models::orders::act(
            &b.ctx,
            pid,
            emporium::models::orders::Action::Ship {
                carrier: Some("DHL".into()),
                tracking_number: Some("JJD0042".into()),
            },
            &emporium::models::actor::Actor::user(&admin),
        )
        .await
        .unwrap();
        b.wait_text("#order-status", |t| t == "Shipped").await;
        assert!(b.text("main").await.contains("JJD0042"));
        let stayed = b
            .client
            .execute("return window.stayedOnPage === true", vec![])
            .await
            .unwrap();
        assert_eq!(stayed, serde_json::json!(true), "the page was not reloaded");
    })
    .await;
    b.finish().await;
}

/// Issue 19, item 4: an admin refunds one line of a paid order from its page (htmx swaps the
/// panel), and the customer finds the order partly refunded with the credit note, which opens
/// as a printable page.
#[tokio::test]
#[serial]
async fn an_admin_refunds_one_line_and_the_customer_sees_the_credit_note() {
    use emporium::models::{
        actor::Actor,
        orders::{self, Action},
    };

    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start(&chromedriver).await;
    b.journey("admin-refunds-one-line", async {
        emporium::app::App::seed(&b.ctx, std::path::Path::new("."))
            .await
            .unwrap();
        support::user(&b.ctx, "owner@example.com", Role::Admin).await;
        let ann = support::user(&b.ctx, "ann@example.com", Role::Customer).await;
        let (variant, _, order) = order_demo_product(&b.ctx, &ann, 3).await;
        orders::act(
            &b.ctx,
            order.id,
            Action::Pay,
            &Actor::system("test payment"),
        )
        .await
        .unwrap();

        b.log_in("owner@example.com", PASSWORD).await;
        b.goto(&format!("/admin/orders/{}", order.id)).await;
        b.click("#refund-part-open").await;
        b.fill_css(&format!("#qty-{}", variant.pid), "1").await;
        b.click("#refund-part-reason option[value='damaged']").await;
        b.fill_css("#refund-part-note", "dented").await;
        b.confirm("#action-refund-part").await;
        b.wait_text("#order-status", |t| t == "Partly refunded")
            .await;
        let listed = b
            .wait_text("#refund-list", |t| t.contains("Credit note CN-"))
            .await;
        assert!(listed.contains(&order.items[0].name), "{listed}");
        b.log_out().await;

        b.log_in("ann@example.com", PASSWORD).await;
        b.goto(&format!("/orders/{}", order.id)).await;
        assert_eq!(b.text("#order-status").await, "Partly refunded");
        assert!(b.text("main").await.contains("1 refunded"));
        b.click_and_wait("#credit-notes a").await;
        assert!(b
            .path()
            .await
            .starts_with(&format!("/orders/{}/credit-notes/", order.id)));
        assert!(b
            .text("#credit-note-title")
            .await
            .starts_with("Credit note CN-"));
        assert!(b.text("main").await.contains("Arrived damaged: dented"));
    })
    .await;
    b.client.clone().close().await.unwrap();
    b.finish().await;
}

/// Issue 17, item 4: the shop is reached at another address than its `BASE_URL` (started on
/// another port). "Pay" still opens the test provider's page on the shop the shopper is on,
/// a second click reuses the open payment without holding the order longer, and a link stored
/// under an old address is not followed.
#[tokio::test]
#[serial]
async fn paying_works_when_the_shop_is_reached_at_another_address() {
    use emporium::models::_entities::{orders, transactions};
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start(&chromedriver).await;
    b.journey("paying-works-at-another-address", async {
        emporium::app::App::seed(&b.ctx, std::path::Path::new("."))
            .await
            .unwrap();
        support::set_settings(&b.ctx, |s| s.base_url = "http://localhost:5150".into());
        let ann = support::user(&b.ctx, "ann@example.com", Role::Customer).await;
        let (_, _, order) = order_demo_product(&b.ctx, &ann, 3).await;
        let order_path = format!("/orders/{}", order.id);
        let here = url::Url::parse(&b.base).unwrap();
        let pending = || async {
            transactions::Entity::find()
                .filter(transactions::Column::Status.eq("pending"))
                .all(&b.ctx.db)
                .await
                .unwrap()
        };
        let held_until = || async {
            orders::Entity::find()
                .filter(orders::Column::Pid.eq(order.id))
                .one(&b.ctx.db)
                .await
                .unwrap()
                .unwrap()
                .expires_at
        };

        b.log_in("ann@example.com", PASSWORD).await;
        b.goto(&order_path).await;
        b.click_and_wait("#pay-now").await;
        let first = b.client.current_url().await.unwrap();
        assert_eq!(
            first.port(),
            here.port(),
            "the page of the shop we are on: {first}"
        );
        assert!(first.path().starts_with("/pay/test/"), "{first}");
        let hold = held_until().await;

        // A row from before, which stored the origin of the time.
        let tx = pending().await.pop().expect("one open payment");
        let mut stale: transactions::ActiveModel = tx.clone().into();
        stale.checkout_url = Set(Some(format!(
            "http://localhost:5150/pay/test/{}",
            tx.provider_ref
        )));
        stale.update(&b.ctx.db).await.unwrap();

        b.goto(&order_path).await;
        b.click_and_wait("#pay-now").await;
        assert_eq!(
            b.client.current_url().await.unwrap(),
            first,
            "the same session again"
        );
        assert_eq!(pending().await.len(), 1, "the open payment is reused");
        assert_eq!(
            held_until().await,
            hold,
            "a second click holds the order no longer"
        );

        b.click_and_wait("#test-pay").await;
        assert_eq!(b.path().await, order_path);
        assert_eq!(b.text("#order-status").await, "Paid");
    })
    .await;
    b.client.clone().close().await.unwrap();
    b.finish().await;
}

/// Issue 17, item 7, without JavaScript: cancelling an order takes a second press (the first
/// only asks), and the cancelled order puts its items back in the cart.
#[tokio::test]
#[serial]
async fn a_shopper_cancels_after_a_second_press_and_puts_the_items_back_without_javascript() {
    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start_with(&chromedriver, Js::Off).await;
    b.journey("a-shopper-cancels-and-puts-the-items-back", async {
        emporium::app::App::seed(&b.ctx, std::path::Path::new("."))
            .await
            .unwrap();
        let ann = support::user(&b.ctx, "ann@example.com", Role::Customer).await;
        let (_, product, order) = order_demo_product(&b.ctx, &ann, 3).await;
        b.log_in("ann@example.com", PASSWORD).await;
        b.goto(&format!("/orders/{}", order.id)).await;
        assert!(
            !b.client
                .find(Locator::Css("#cancel-order"))
                .await
                .unwrap()
                .is_displayed()
                .await
                .unwrap(),
            "the acting button is hidden until asked for"
        );
        b.click("details.confirm > summary").await;
        assert!(b.text("details.confirm").await.contains("cannot be undone"));
        b.click_and_wait("#cancel-order").await;
        assert_eq!(b.text("#order-status").await, "Cancelled");

        b.click_and_wait("#reorder").await;
        assert_eq!(b.path().await, "/cart");
        assert!(b
            .text("#flash")
            .await
            .contains("1 item is back in your cart."));
        assert!(b.text("main").await.contains(&product.name));
    })
    .await;
    b.client.clone().close().await.unwrap();
    b.finish().await;
}

/// Issue 17, item 11: the shop's and the admin's pages fit the screen at 1280 px and on a
/// 390 px phone: nothing makes the page itself scroll sideways (wide tables scroll inside
/// their own box), and a long payment id wraps. With `E2E_SCREENSHOTS` set, each page is kept
/// as a picture at both widths.
#[tokio::test]
#[serial]
async fn pages_fit_desktop_and_phone_screens() {
    use emporium::models::{
        _entities::transactions,
        actor::Actor,
        carts::{self, AddItem, CartKey},
        payments,
    };
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

    let Some(chromedriver) = support::require("CHROMEDRIVER") else {
        return;
    };
    let b = start(&chromedriver).await;
    b.journey("pages-fit-desktop-and-phone-screens", async {
        emporium::app::App::seed(&b.ctx, std::path::Path::new("."))
            .await
            .unwrap();
        support::user(&b.ctx, "owner@example.com", Role::Admin).await;
        let ann = support::user(&b.ctx, "ann@example.com", Role::Customer).await;
        let (_, product, order) = order_demo_product(&b.ctx, &ann, 5).await;
        payments::start(&b.ctx, order.id, &Actor::user(&ann))
            .await
            .unwrap();
        // A payment id as long as Stripe's.
        let tx = transactions::Entity::find()
            .filter(transactions::Column::Status.eq("pending"))
            .one(&b.ctx.db)
            .await
            .unwrap()
            .unwrap();
        let mut long: transactions::ActiveModel = tx.into();
        long.provider_ref = Set(format!("cs_test_{}", "a1B2c3D4e5".repeat(6)));
        long.update(&b.ctx.db).await.unwrap();
        let add = AddItem::parse(product.pid, None, 1, 99).unwrap();
        carts::add_item(&b.ctx, Some(&CartKey::User(&ann)), &add)
            .await
            .unwrap();

        let shopper = [
            ("home", "/".to_string()),
            ("catalogue", "/products".to_string()),
            ("product", format!("/p/{}", product.slug)),
            ("cart", "/cart".to_string()),
            ("checkout", "/checkout".to_string()),
            ("order", format!("/orders/{}", order.id)),
        ];
        let admin = [
            ("admin-dashboard", "/admin".to_string()),
            ("admin-orders", "/admin/orders".to_string()),
            ("admin-order", format!("/admin/orders/{}", order.id)),
            ("admin-products", "/admin/products".to_string()),
            ("admin-inventory", "/admin/inventory".to_string()),
            ("admin-users", "/admin/users".to_string()),
        ];
        for (who, pages) in [("ann@example.com", &shopper), ("owner@example.com", &admin)] {
            b.client.set_window_size(1280, 900).await.unwrap();
            b.log_in(who, PASSWORD).await;
            for (width, height) in [(1280, 900), (390, 844)] {
                b.client.set_window_size(width, height).await.unwrap();
                for (name, path) in pages {
                    b.goto(path).await;
                    // The page's width, the window's, and what sticks out (outside the boxes
                    // that scroll on their own), to say what to fix.
                    let fit = b
                        .client
                        .execute(
                            "const w = window.innerWidth; const out = [];
                             for (const el of document.querySelectorAll('body *')) {
                               const r = el.getBoundingClientRect();
                               const scrolls = el.closest('.table-wrap') && getComputedStyle(el).position !== 'absolute';
                               if (r.right > w + 1 && !scrolls) {
                                 out.push(el.tagName + '#' + el.id + '.' + el.className + ' → ' + Math.round(r.right));
                               }
                             }
                             return [document.documentElement.scrollWidth, w, out.slice(0, 6)];",
                            vec![],
                        )
                        .await
                        .unwrap();
                    let (wide, seen) = (fit[0].as_i64().unwrap(), fit[1].as_i64().unwrap());
                    assert!(seen <= i64::from(width), "the window is {width} px: {seen}");
                    assert!(wide <= seen, "{path} at {width} px is {wide} px wide: {}", fit[2]);
                    b.screenshot(&format!("{width}-{name}")).await;
                }
            }
            b.client.set_window_size(1280, 900).await.unwrap();
            b.log_out().await;
        }
    })
    .await;
    b.client.clone().close().await.unwrap();
    b.finish().await;
}
