//! The job queue against real services: Redis (enqueue here, run by the worker process) and
//! SMTP delivery to a real sink.
use std::{process::Stdio, sync::Arc, time::Duration};

use emporium::{
    jobs::{Job, JobEnv, Jobs},
    mail::{self, Mail},
    settings::{JobBackendKind, MailTransportKind, Settings, SmtpTls},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serial_test::parallel;

use emporium::models::_entities::mail_outbox;

async fn queue_mail(ctx: &loco_rs::app::AppContext, settings: &Settings, to: &str) -> uuid::Uuid {
    mail::queue(
        &ctx.db,
        settings,
        to,
        &Mail::Welcome {
            first_name: "Queue".into(),
        },
    )
    .await
    .unwrap()
}

async fn status_of(ctx: &loco_rs::app::AppContext, id: uuid::Uuid) -> mail_outbox::Model {
    mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Pid.eq(id))
        .one(&ctx.db)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
#[parallel]
async fn redis_queue_jobs_are_run_by_the_separate_worker_process() {
    let Some(redis_url) = crate::support::require("REDIS_URL") else {
        return;
    };
    let app = crate::support::boot().await;
    let ctx = app.ctx.clone();
    let queue = format!("test-{}", uuid::Uuid::new_v4());
    let mut settings = (*Settings::get(&ctx)).clone();
    settings.jobs.backend = JobBackendKind::Redis;
    settings.jobs.redis_url = redis_url.clone();
    settings.jobs.queue = queue.clone();
    let settings = Arc::new(settings);
    let jobs = Jobs::start(JobEnv::for_context(&ctx, settings.clone()).unwrap())
        .await
        .unwrap();
    assert_eq!(jobs.backend_name(), "redis");
    jobs.ping().await.unwrap();

    let mail_id = queue_mail(&ctx, &settings, "queued@example.com").await;
    jobs.enqueue(Job::DeliverMail { mail_id }).await.unwrap();
    assert_eq!(
        status_of(&ctx, mail_id).await.status,
        "pending",
        "nothing runs in this process"
    );

    let db_url = ctx.config.database.uri.clone();
    let mut worker = tokio::process::Command::new(env!("CARGO_BIN_EXE_emporium-cli"))
        .args(["task", "work_jobs"])
        .env("LOCO_ENV", "test")
        .env("DATABASE_URL", &db_url)
        .env("JOBS_BACKEND", "redis")
        .env("REDIS_URL", &redis_url)
        .env("JOBS_QUEUE", &queue)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("worker process starts");
    let mut delivered = false;
    for _ in 0..200 {
        if status_of(&ctx, mail_id).await.status == "kept" {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = worker.kill().await;
    assert!(delivered, "the worker process ran the job");
    app.cleanup().await;
}

#[tokio::test]
#[parallel]
async fn smtp_transport_delivers_to_a_real_smtp_server() {
    let Some(port) = crate::support::require("SMTP_PORT") else {
        return;
    };
    let maildir = crate::support::require("SMTP_MAILDIR");
    let app = crate::support::boot().await;
    let ctx = app.ctx.clone();
    let mut settings = (*Settings::get(&ctx)).clone();
    settings.mail.transport = MailTransportKind::Smtp;
    settings.mail.smtp.host = "127.0.0.1".into();
    settings.mail.smtp.port = port.parse().unwrap();
    settings.mail.smtp.tls = SmtpTls::None;
    let settings = Arc::new(settings);
    let env = JobEnv::for_context(&ctx, settings.clone()).unwrap();
    let to = format!("smtp-{}@example.com", uuid::Uuid::new_v4().simple());
    let mail_id = queue_mail(&ctx, &settings, &to).await;
    Job::DeliverMail { mail_id }.run(&env).await.unwrap();
    let row = status_of(&ctx, mail_id).await;
    assert_eq!(row.status, "sent");
    // Running the job again (a retry after a crash) sends nothing twice.
    Job::DeliverMail { mail_id }.run(&env).await.unwrap();
    if let Some(dir) = maildir {
        let mut found = 0;
        for _ in 0..50 {
            found = std::fs::read_dir(format!("{dir}/new"))
                .map(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .filter(|e| {
                            std::fs::read_to_string(e.path()).is_ok_and(|m| m.contains(&to))
                        })
                        .count()
                })
                .unwrap_or(0);
            if found > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(found, 1, "exactly one message reached the sink");
    }
    app.cleanup().await;
}

#[tokio::test]
#[parallel]
async fn a_failing_job_is_retried_then_lands_in_the_dead_set() {
    let app = crate::support::boot().await;
    let ctx = app.ctx.clone();
    let mut settings = (*Settings::get(&ctx)).clone();
    settings.jobs.backend = JobBackendKind::InProcess;
    settings.jobs.max_attempts = 2;
    settings.jobs.retry_base_secs = 0;
    settings.mail.transport = MailTransportKind::Smtp;
    settings.mail.smtp.host = "127.0.0.1".into();
    settings.mail.smtp.port = 9; // discard port: nothing listens, every attempt fails
    let settings = Arc::new(settings);
    let jobs = Jobs::start(JobEnv::for_context(&ctx, settings.clone()).unwrap())
        .await
        .unwrap();
    let mail_id = queue_mail(&ctx, &settings, "dead@example.com").await;
    jobs.enqueue(Job::DeliverMail { mail_id }).await.unwrap();
    let mut dead = Vec::new();
    for _ in 0..100 {
        dead = jobs.dead(10).await.unwrap();
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].kind, "deliver_mail");
    assert_eq!(dead[0].attempts, 2);
    let row = status_of(&ctx, mail_id).await;
    assert_eq!(row.status, "failed");
    assert_eq!(row.attempts, 2);
    assert!(row.last_error.is_some());
    app.cleanup().await;
}

#[tokio::test]
#[parallel]
async fn redis_jobs_that_keep_failing_land_in_sidekiqs_dead_set_and_can_be_retried_or_discarded() {
    let Some(redis_url) = crate::support::require("REDIS_URL") else {
        return;
    };
    let app = crate::support::boot().await;
    let ctx = app.ctx.clone();
    let mut settings = (*Settings::get(&ctx)).clone();
    settings.jobs.backend = JobBackendKind::Redis;
    settings.jobs.redis_url = redis_url;
    settings.jobs.queue = format!("test-{}", uuid::Uuid::new_v4());
    settings.jobs.max_attempts = 1;
    settings.mail.transport = MailTransportKind::Smtp;
    settings.mail.smtp.host = "127.0.0.1".into();
    settings.mail.smtp.port = 9; // nothing listens: delivery fails
    let settings = Arc::new(settings);
    let env = JobEnv::for_context(&ctx, settings.clone()).unwrap();
    let jobs = Jobs::start(env.clone()).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(emporium::jobs::redis_queue::work(env, async move {
        let _ = stopped.await;
    }));

    let mail_id = queue_mail(&ctx, &settings, "deadset@example.com").await;
    jobs.enqueue(Job::DeliverMail { mail_id }).await.unwrap();
    let find_ours = || async {
        jobs.dead(1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|d| d.error.contains("deliver_mail"))
            .collect::<Vec<_>>()
    };
    let mut ours = Vec::new();
    for _ in 0..100 {
        ours = find_ours().await;
        if ours.iter().any(|d| d.kind == "deliver_mail") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Other tests share the dead set; ours is the one whose payload names our mail.
    let dead = ours
        .into_iter()
        .next()
        .expect("the job reached the dead set");
    assert_eq!(dead.kind, "deliver_mail");
    assert!(!dead.failed_at.is_empty());

    // Retry puts it back on the queue; it fails again and returns with a new id.
    jobs.retry_dead(&dead.id).await.unwrap();
    assert!(matches!(
        jobs.retry_dead(&dead.id).await,
        Err(emporium::errors::AppError::NotFound)
    ));
    let mut attempts = 1;
    for _ in 0..100 {
        attempts = status_of(&ctx, mail_id).await.attempts;
        if attempts == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(attempts, 2, "the retried job ran again");
    let _ = stop.send(());
    let _ = worker.await;
    for d in find_ours().await {
        let _ = jobs.discard_dead(&d.id).await;
    }
    app.cleanup().await;
}

/// The embedded default: a web process sees orders and notifications written by any process
/// on its database (here: the stock check, as the scheduler's task process would run it).
#[tokio::test]
#[parallel]
async fn the_database_live_feed_reports_rows_written_after_it_started_listening() {
    use emporium::{
        live::{Live, LiveEvent},
        models::notifications,
        settings::{LiveBackendKind, LiveSettings},
    };
    crate::support::with_app(|server, ctx| async move {
        let pm = crate::support::catalogue::manager(&server, &ctx).await;
        // Low before the feed starts: already known, not news.
        crate::support::catalogue::post(
            &server,
            &pm,
            "/api/v1/products",
            serde_json::json!({"sku": "OLD-1", "name": "Old News", "price_cents": 100, "stock": 1}),
        )
        .await;
        notifications::check_stock(&ctx).await.unwrap();
        let settings = LiveSettings {
            backend: LiveBackendKind::Database,
            poll_millis: 50,
            ..LiveSettings::default()
        };
        let live = Live::new(&settings, ctx.db.clone()).unwrap();
        let mut rx = live.subscribe();
        tokio::time::sleep(Duration::from_millis(300)).await;
        crate::support::catalogue::post(
            &server,
            &pm,
            "/api/v1/products",
            serde_json::json!({"sku": "NEW-1", "name": "Fresh Shortage", "price_cents": 100, "stock": 2}),
        )
        .await;
        notifications::check_stock(&ctx).await.unwrap();
        let event = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("an event within 5 s")
            .unwrap();
        match event {
            LiveEvent::Notification { kind, message, .. } => {
                assert_eq!(kind, "low_stock");
                assert!(message.contains("Fresh Shortage"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(rx.try_recv().is_err(), "the old shortage is not repeated");
    })
    .await;
}

/// Production: an event published by one process (a worker, the scheduler, another web
/// node) reaches the listeners of every web process through Redis pub/sub.
#[tokio::test]
#[parallel]
async fn live_events_reach_every_web_process_through_redis() {
    use emporium::{
        live::{Live, LiveEvent},
        settings::{LiveBackendKind, LiveSettings},
    };
    let Some(redis_url) = crate::support::require("REDIS_URL") else {
        return;
    };
    let app = crate::support::boot().await;
    let settings = LiveSettings {
        backend: LiveBackendKind::Redis,
        redis_url,
        channel: format!("emporium-test-live-{}", uuid::Uuid::new_v4()),
        poll_millis: 50,
        ..LiveSettings::default()
    };
    let web_a = Live::new(&settings, app.ctx.db.clone()).unwrap();
    let web_b = Live::new(&settings, app.ctx.db.clone()).unwrap();
    let worker = Live::new(&settings, app.ctx.db.clone()).unwrap();
    let mut a = web_a.subscribe();
    let mut b = web_b.subscribe();
    let event = LiveEvent::Notification {
        id: uuid::Uuid::new_v4(),
        kind: "low_stock".into(),
        message: "Mug is low".into(),
        at: "2026-12-02T10:00:00Z".into(),
    };
    // The subscriptions are made in the background; publish until both have heard it.
    let (mut got_a, mut got_b) = (None, None);
    for _ in 0..50 {
        worker.publish(&event).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        got_a = got_a.or_else(|| a.try_recv().ok());
        got_b = got_b.or_else(|| b.try_recv().ok());
        if got_a.is_some() && got_b.is_some() {
            break;
        }
    }
    assert_eq!(got_a.as_ref(), Some(&event));
    assert_eq!(got_b.as_ref(), Some(&event));
    app.cleanup().await;
}

/// Workers racing on one mail (a queue retry, the sweep, a redelivered job) deliver it once:
/// exactly one of them claims it.
#[tokio::test]
#[parallel]
async fn one_mail_run_by_several_workers_at_once_is_delivered_once() {
    let app = crate::support::boot().await;
    let ctx = app.ctx.clone();
    let settings = Settings::get(&ctx);
    let env = JobEnv::for_context(&ctx, settings.clone()).unwrap();
    let mail_id = queue_mail(&ctx, &settings, "race@example.com").await;
    let job = Job::DeliverMail { mail_id };
    let runs = futures::future::join_all((0..6).map(|_| job.run(&env))).await;
    assert!(runs.iter().all(Result::is_ok));
    let row = status_of(&ctx, mail_id).await;
    assert_eq!(row.status, "kept");
    assert_eq!(row.attempts, 1, "one claim, one delivery");
    assert!(
        row.locked_until.is_none(),
        "the lease ends with the attempt"
    );
    app.cleanup().await;
}
