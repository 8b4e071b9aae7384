//! Wiring only: routes, layers, boot-time services, tasks, seed and truncate.
use std::{future::IntoFuture, path::Path, sync::Arc, time::Duration};

use async_trait::async_trait;
use axum::{middleware, Router as AxumRouter};
use loco_rs::{
    app::{AppContext, Hooks, Initializer},
    bgworker::Queue,
    boot::{create_app, BootResult, StartMode},
    config::Config,
    controller::{views::engines::TeraView, AppRoutes},
    environment::Environment,
    prelude::Routes,
    task::Tasks,
    Result,
};
use migration::Migrator;
use sea_orm::{ConnectionTrait, EntityTrait};
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};

use crate::{
    controllers,
    counters::Counters,
    jobs::{JobEnv, Jobs},
    models::{_entities::prelude::*, sessions::DbSessionStore},
    settings::Settings,
    storage, tasks, web,
};

pub struct App;

/// The demo admin and catalogue, each only when its tables are empty.
async fn seed_demo(ctx: &AppContext) -> Result<()> {
    // Debug, not Display: the cause of an internal error is what the developer needs here.
    let fail = |e: crate::errors::AppError| loco_rs::Error::string(&format!("{e:?}"));
    crate::models::demo::ensure_demo_admin(ctx)
        .await
        .map_err(fail)?;
    crate::models::demo::ensure_demo_checkout(ctx)
        .await
        .map_err(fail)?;
    let loaded = crate::models::demo::catalogue::ensure_demo_catalogue(ctx)
        .await
        .map_err(fail)?;
    if loaded > 0 {
        crate::models::demo::ensure_demo_shipping(ctx)
            .await
            .map_err(fail)?;
        println!(
            "  Demo catalogue loaded: {loaded} products; pictures are resized in the background.\n"
        );
        if Settings::get(ctx).demo_history {
            // Something to look at, not something to stop the start for.
            match crate::models::demo::history::ensure_demo_history(ctx).await {
                Ok(orders) => {
                    println!("  Demo history loaded: {orders} orders over the past month.\n");
                }
                Err(e) => eprintln!("  The demo order history could not be loaded: {e:?}\n"),
            }
        }
    }
    Ok(())
}

/// Stops a production start before it serves or sends anything when a secret is missing or
/// unsafe, naming every variable to fix at once.
fn refuse_unsafe_production(environment: &Environment, config: &Config) -> Result<()> {
    let settings = Settings::from_config(config)?;
    if *environment != Environment::Production && !settings.refuse_unsafe_config {
        return Ok(());
    }
    let jwt = config
        .auth
        .as_ref()
        .and_then(|a| a.jwt.as_ref())
        .map_or("", |j| j.secret.as_str());
    let problems = settings.production_problems(jwt);
    if problems.is_empty() {
        return Ok(());
    }
    let list = problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!("Refusing to start in production:\n{list}");
    Err(loco_rs::Error::string(&format!(
        "unsafe production configuration: {}",
        problems.join("; ")
    )))
}

fn with_api_stack(routes: Routes, ctx: &AppContext) -> Routes {
    let routes = routes.layer(middleware::from_fn_with_state(
        ctx.clone(),
        web::api_middleware::api_stack,
    ));
    // Outermost: a preflight is answered before rate limits and authentication, which a
    // browser's preflight never carries. The list was checked when the process started.
    let origins =
        web::cors::parse_origins(&Settings::get(ctx).cors_allowed_origins).unwrap_or_default();
    match web::cors::layer(origins) {
        Some(cors) => routes.layer(cors),
        None => routes,
    }
}

#[async_trait]
impl Hooks for App {
    fn app_name() -> &'static str {
        env!("CARGO_CRATE_NAME")
    }

    fn app_version() -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    async fn boot(
        mode: StartMode,
        environment: &Environment,
        config: Config,
    ) -> Result<BootResult> {
        create_app::<Self, Migrator>(mode, environment, config).await
    }

    async fn after_context(mut ctx: AppContext) -> Result<AppContext> {
        // Every process (web, worker, scheduler, tasks) passes here before using a secret.
        refuse_unsafe_production(&ctx.environment, &ctx.config)?;
        let mut settings = Settings::from_config(&ctx.config)?;
        if settings.secrets_key.is_empty() {
            // Development and tests only: production refuses to start without SECRETS_KEY.
            settings.secrets_key = crate::sealing::derive_key(&ctx.config.get_jwt_config()?.secret);
        }
        let settings = Arc::new(settings);
        ctx.shared_store
            .insert(Arc::new(crate::sealing::Sealer::new(&settings.secrets_key)));
        let proxies = web::client_ip::TrustedProxies::parse(&settings.trusted_proxies)
            .map_err(|e| loco_rs::Error::string(&e))?;
        web::cors::parse_origins(&settings.cors_allowed_origins)
            .map_err(|e| loco_rs::Error::string(&e))?;
        ctx.shared_store.insert(proxies);
        ctx.shared_store
            .insert(Arc::new(web::csrf::CsrfKey::new(&settings.secrets_key)));
        let jwt_secret = ctx.config.get_jwt_config()?.secret.clone();
        let store = storage::connect(&settings, &jwt_secret)
            .await
            .map_err(|e| loco_rs::Error::string(&e.to_string()))?;
        ctx.shared_store.insert(store);
        let env = JobEnv::for_context(&ctx, settings.clone())
            .map_err(|e| loco_rs::Error::string(&e.to_string()))?;
        let jobs = Jobs::start(env)
            .await
            .map_err(|e| loco_rs::Error::string(&e.to_string()))?;
        let counters = Counters::connect(&settings.rate_limits)
            .await
            .map_err(|e| loco_rs::Error::string(&e.to_string()))?;
        let views = TeraView::build_with_post_process(|tera| {
            crate::views::countries::register(tera);
            crate::views::dates::register(tera);
            Ok(())
        })?;
        let payments = crate::payments::Payments::from_settings(&settings)
            .map_err(|e| loco_rs::Error::string(&e.to_string()))?;
        ctx.shared_store.insert(payments);
        let live = crate::live::Live::new(&settings.live, ctx.db.clone())
            .map_err(|e| loco_rs::Error::string(&e.to_string()))?;
        ctx.shared_store.insert(live);
        ctx.shared_store.insert(settings);
        ctx.shared_store.insert(jobs);
        ctx.shared_store.insert(Arc::new(counters));
        ctx.shared_store.insert(Arc::new(views));
        Settings::pack(&mut ctx.config);
        Ok(ctx)
    }

    async fn before_run(ctx: &AppContext) -> Result<()> {
        let settings = Settings::get(ctx);
        let sealer = crate::sealing::Sealer::get(ctx);
        let fail = |e: crate::errors::AppError| loco_rs::Error::string(&e.to_string());
        crate::models::webhooks::seal_legacy_secrets(&ctx.db, &sealer)
            .await
            .map_err(fail)?;
        crate::models::two_factor::seal_legacy_secrets(&ctx.db, &sealer)
            .await
            .map_err(fail)?;
        if settings.seed_demo {
            seed_demo(ctx).await?;
        }
        if settings.jobs.backend == crate::settings::JobBackendKind::InProcess {
            // The in-process queue starts empty: imports uploaded before a restart wait again.
            crate::models::catalogue::import::resume_queued(ctx, chrono::Duration::zero())
                .await
                .map_err(|e| loco_rs::Error::string(&e.to_string()))?;
        }
        Ok(())
    }

    async fn before_routes(_ctx: &AppContext) -> Result<AxumRouter<AppContext>> {
        Ok(AxumRouter::new().fallback(web::html::not_found))
    }

    fn routes(ctx: &AppContext) -> AppRoutes {
        let mut app = AppRoutes::empty()
            .add_route(controllers::health::routes())
            .add_route(controllers::media::routes());
        for r in controllers::api::v1::routes(ctx) {
            app = app.add_route(with_api_stack(r, ctx));
        }
        app.add_routes(controllers::shop::routes())
            .add_routes(controllers::admin::routes(ctx))
    }

    async fn after_routes(router: AxumRouter, ctx: &AppContext) -> Result<AxumRouter> {
        let settings = Settings::get(ctx);
        let sessions = SessionManagerLayer::new(
            DbSessionStore::new(ctx.db.clone()).with_cache(ctx.cache.clone()),
        )
        .with_name(web::session_cookie::NAME)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(settings.sessions.secure_cookies)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::days(settings.sessions.ttl_days),
        ));
        // Outermost first: headers, the session cookie's guard, session, unknown-session note,
        // visitor token, error pages, the CSRF check (its refusals are pages too), then each
        // request's deadline around the routes.
        Ok(router
            .layer(middleware::from_fn_with_state(
                ctx.clone(),
                web::deadline::limit,
            ))
            .layer(middleware::from_fn_with_state(
                ctx.clone(),
                web::csrf::verify,
            ))
            .layer(middleware::from_fn_with_state(
                ctx.clone(),
                web::html::error_pages,
            ))
            .layer(middleware::from_fn_with_state(
                ctx.clone(),
                web::csrf::visitor,
            ))
            .layer(middleware::from_fn(web::session_cookie::note_unknown))
            .layer(sessions)
            .layer(middleware::from_fn(web::session_cookie::keep_current))
            .layer(middleware::from_fn_with_state(
                web::html::SecurityHeaders::new(
                    crate::storage::get(ctx).media_origin().as_deref(),
                    crate::payments::Payments::checkout_origin(&settings),
                    settings.sessions.secure_cookies,
                ),
                web::html::security_headers,
            )))
    }

    /// Loco's own serving, after a warning in development when `BASE_URL` names another
    /// address than the one listened on: links in mails and the API's absolute URLs would
    /// lead elsewhere.
    async fn serve(
        app: AxumRouter,
        ctx: &AppContext,
        params: &loco_rs::boot::ServeParams,
    ) -> Result<()> {
        if ctx.environment == Environment::Development {
            let base = &Settings::get(ctx).base_url;
            if let Some(warning) =
                crate::settings::base_url_mismatch(base, &params.binding, params.port)
            {
                tracing::warn!("{warning}");
                eprintln!("warning: {warning}");
            }
        }
        let listener =
            tokio::net::TcpListener::bind(format!("{}:{}", params.binding, params.port)).await?;
        let on_stop = ctx.clone();
        let grace = Duration::from_secs(Settings::get(ctx).shutdown_grace_secs);
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        // SIGTERM (or ctrl-c): stop accepting, let the requests in flight finish (live
        // streams end at once, see `live`), then exit, but never wait past the grace period
        // for a request that does not end: a rolling restart must be able to count on it.
        let server = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            loco_rs::boot::shutdown_signal().await;
            tracing::info!("shutting down: finishing the requests in flight");
            let _ = stopping.send(());
            Self::on_shutdown(&on_stop).await;
        });
        let deadline = async move {
            if stopped.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            res = server.into_future() => res?,
            () = deadline => {
                tracing::warn!(?grace, "requests still in flight after the grace period; stopping anyway");
            }
        }
        Ok(())
    }

    async fn initializers(_ctx: &AppContext) -> Result<Vec<Box<dyn Initializer>>> {
        Ok(vec![])
    }

    async fn connect_workers(_ctx: &AppContext, _queue: &Queue) -> Result<()> {
        // Our jobs do not use Loco's queue; see `crate::jobs`.
        Ok(())
    }

    fn register_tasks(t: &mut Tasks) {
        t.register(tasks::create_user::CreateUser);
        t.register(tasks::maintenance::DeliverMail);
        t.register(tasks::maintenance::DeliverWebhooks);
        t.register(tasks::maintenance::ResumeWork);
        t.register(tasks::maintenance::PurgeExpired);
        t.register(tasks::work_jobs::WorkJobs);
        t.register(tasks::seed_bench::SeedBench);
        t.register(tasks::seed_orders::SeedOrders);
        t.register(tasks::orders::RecountOrders);
        t.register(tasks::bench_images::BenchImages);
        t.register(tasks::orders::ExpireOrders);
        t.register(tasks::orders::CheckStock);
    }

    async fn truncate(ctx: &AppContext) -> Result<()> {
        // Children before parents: the order tables RESTRICT deletes of users and variants.
        WebhookDeliveries::delete_many().exec(&ctx.db).await?;
        WebhookEndpoints::delete_many().exec(&ctx.db).await?;
        ProductImports::delete_many().exec(&ctx.db).await?;
        RecoveryCodes::delete_many().exec(&ctx.db).await?;
        ApiKeys::delete_many().exec(&ctx.db).await?;
        Reviews::delete_many().exec(&ctx.db).await?;
        WishlistItems::delete_many().exec(&ctx.db).await?;
        PaymentEvents::delete_many().exec(&ctx.db).await?;
        Transactions::delete_many().exec(&ctx.db).await?;
        Invoices::delete_many().exec(&ctx.db).await?;
        Notifications::delete_many().exec(&ctx.db).await?;
        StockLedger::delete_many().exec(&ctx.db).await?;
        PromoRedemptions::delete_many().exec(&ctx.db).await?;
        OrderEvents::delete_many().exec(&ctx.db).await?;
        OrderLines::delete_many().exec(&ctx.db).await?;
        Orders::delete_many().exec(&ctx.db).await?;
        // The order summaries count what was just deleted.
        for summary in ["order_status_counts", "daily_sales"] {
            ctx.db
                .execute_unprepared(&format!("DELETE FROM {summary}"))
                .await?;
        }
        PurchaseOrderLines::delete_many().exec(&ctx.db).await?;
        PurchaseOrders::delete_many().exec(&ctx.db).await?;
        CartItems::delete_many().exec(&ctx.db).await?;
        Carts::delete_many().exec(&ctx.db).await?;
        PromoCodes::delete_many().exec(&ctx.db).await?;
        TaxRates::delete_many().exec(&ctx.db).await?;
        crate::models::_entities::counters::Entity::delete_many()
            .exec(&ctx.db)
            .await?;
        DeadJobs::delete_many().exec(&ctx.db).await?;
        MailOutbox::delete_many().exec(&ctx.db).await?;
        IdempotencyKeys::delete_many().exec(&ctx.db).await?;
        Sessions::delete_many().exec(&ctx.db).await?;
        Users::delete_many().exec(&ctx.db).await?;
        crate::models::catalogue::delete_all(&ctx.db)
            .await
            .map_err(|e| loco_rs::Error::string(&e.to_string()))?;
        Ok(())
    }

    async fn seed(ctx: &AppContext, _base: &Path) -> Result<()> {
        seed_demo(ctx).await
    }
}
