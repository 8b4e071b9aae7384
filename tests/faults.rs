//! Dependencies failing (issue 18): a production web process and worker whose PostgreSQL,
//! Redis, S3 and SMTP each go away and come back (through `support::faults` proxies, so the
//! servers other tests share stay up). The shop answers fast while a dependency is down,
//! degrades instead of failing where it can, loses no work, and recovers without a restart.
use std::time::Duration;

use sea_orm::{ColumnTrait, Database, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use serial_test::serial;

use crate::support::{
    self,
    browser::{Answer, Browser},
    faults::Outage,
    processes::{
        cli, create_user, eventually, own_redis, production_env, production_services, start_web,
        OwnDatabase, Services,
    },
};
use emporium::models::_entities::mail_outbox;

/// `host:port` of a URL, and the same URL pointed at `port` on this machine.
fn via(url: &str, port: u16) -> (String, String) {
    let mut u = url::Url::parse(url).unwrap();
    let target = format!(
        "{}:{}",
        u.host_str().unwrap(),
        u.port_or_known_default().unwrap()
    );
    u.set_host(Some("127.0.0.1")).unwrap();
    u.set_port(Some(port)).unwrap();
    (target, u.to_string())
}

/// Sends and times a request; the shop must answer (not hang) within `secs`.
async fn within<T>(secs: u64, what: &str, req: impl std::future::Future<Output = T>) -> T {
    let started = std::time::Instant::now();
    let answer = req.await;
    assert!(
        started.elapsed() < Duration::from_secs(secs),
        "{what} took {:?}",
        started.elapsed()
    );
    answer
}

fn assert_unavailable(a: &Answer, what: &str) {
    assert_eq!(a.status, 503, "{what}: {}", a.body);
    let body: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{what}");
    let retry: u64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 0, "{what}: Retry-After");
}

async fn upload(http: &Browser, url: &str, token: &str) -> Answer {
    let boundary = "emporium-faults";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"lamp.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&support::png(320, 200));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    http.send_bytes(
        "POST",
        url,
        &[("authorization", format!("Bearer {token}"))],
        &format!("multipart/form-data; boundary={boundary}"),
        body,
    )
    .await
}

#[tokio::test]
#[serial]
async fn the_shop_rides_out_its_dependencies_failing_and_recovers_by_itself() {
    let Some(Services {
        redis,
        s3,
        smtp_port,
        maildir,
    }) = production_services()
    else {
        return;
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let db = OwnDatabase::new().await;
    let redis_url = own_redis(&redis, 13).await;
    let (pg_target, _) = via(&db.url, 1);
    let pg = Outage::in_front_of(&pg_target).await;
    let (_, db_via) = via(&db.url, pg.port);
    let (redis_target, _) = via(&redis_url, 1);
    let rd = Outage::in_front_of(&redis_target).await;
    let (_, redis_via) = via(&redis_url, rd.port);
    let (s3_target, _) = via(&s3, 1);
    let store = Outage::in_front_of(&s3_target).await;
    let (_, s3_via) = via(&s3, store.port);
    let smtp = Outage::in_front_of(&format!("127.0.0.1:{smtp_port}")).await;
    let env = production_env(
        &db_via,
        &redis_via,
        s3_via.trim_end_matches('/'),
        &smtp.port.to_string(),
        &id,
    );

    let (base, mut web) = start_web("production", &env).await;
    let http = Browser::new();
    let mut worker = cli("production", &["task", "work_jobs"], &env)
        .spawn()
        .unwrap();
    create_user(&env, "production", "pm@example.com", "product_manager").await;
    create_user(&env, "production", "ann@example.com", "customer").await;
    let pm = http.token(&base, "pm@example.com").await;
    let ann = http.token(&base, "ann@example.com").await;
    let product = http
        .create_product(
            &base,
            &pm,
            json!({"sku": "LAMP-1", "name": "Lamp", "price_cents": 4900, "stock": 50}),
        )
        .await;
    let (pid, slug) = (
        product["id"].as_str().unwrap().to_string(),
        product["slug"].as_str().unwrap().to_string(),
    );
    let images_url = format!("{base}/api/v1/products/{pid}/images");
    assert_eq!(upload(&http, &images_url, &pm).await.status, 201);
    let add = || {
        let (http, base, ann, pid) = (http.clone(), base.clone(), ann.clone(), pid.clone());
        async move {
            http.api(
                "POST",
                &format!("{base}/api/v1/cart/items"),
                Some(&ann),
                json!({"product_id": pid, "quantity": 1}),
            )
            .await
        }
    };
    let order = || {
        let (http, base, ann) = (http.clone(), base.clone(), ann.clone());
        let add = add();
        async move {
            assert_eq!(add.await.status, 201);
            let placed = http
                .api(
                    "POST",
                    &format!("{base}/api/v1/checkout"),
                    Some(&ann),
                    json!({"shipping_address": {"line1": "1 Harbour Road", "city": "Kiel",
                           "postal_code": "24103", "country": "DE"}}),
                )
                .await;
            assert_eq!(placed.status, 201, "{}", placed.body);
            placed.json()["number"].as_i64().unwrap()
        }
    };
    let conn = Database::connect(db.url.as_str()).await.unwrap();
    let confirmation = |number: i64| {
        let conn = conn.clone();
        async move {
            mail_outbox::Entity::find()
                .filter(mail_outbox::Column::Kind.eq("order_placed"))
                .filter(mail_outbox::Column::Subject.starts_with(format!("Your order {number} ")))
                .one(&conn)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let flush_outbox = || {
        let env = env.clone();
        async move {
            let ok = cli(
                "production",
                &["task", "deliver_mail", "min_age_secs:0"],
                &env,
            )
            .status()
            .await
            .unwrap();
            assert!(ok.success());
        }
    };

    // PostgreSQL goes down: requests that need it fail fast with 503 and Retry-After.
    pg.begin();
    let refused = within(6, "an add to cart without a database", add()).await;
    assert_unavailable(&refused, "add to cart");
    let listed = within(
        6,
        "the order list without a database",
        http.api(
            "GET",
            &format!("{base}/api/v1/orders"),
            Some(&ann),
            json!({}),
        ),
    )
    .await;
    assert_unavailable(&listed, "orders");
    let health = http.get(&format!("{base}/_health")).await;
    assert_eq!(health.status, 503, "not ready without its database");
    // Back: the same process serves again, its pool reconnected by itself.
    pg.end();
    eventually(
        20,
        "the shop serving again after the database came back",
        || async { (add().await.status == 201).then_some(()) },
    )
    .await;

    // Redis goes down (cache, queue, rate-limit counters, live feed): the catalogue and the
    // product page are served from the database, checkouts go on, and their mail waits in
    // the outbox, to be sent when Redis is back.
    rd.begin();
    let list = within(
        3,
        "the catalogue without Redis",
        http.get(&format!("{base}/api/v1/products")),
    )
    .await;
    assert_eq!(list.status, 200, "{}", list.body);
    let page = within(
        3,
        "a product page without Redis",
        http.get(&format!("{base}/p/{slug}")),
    )
    .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Lamp"));
    let health = http.get(&format!("{base}/_health")).await;
    assert_eq!(health.status, 200, "degraded, still ready: {}", health.body);
    assert_eq!(health.json()["degraded"], true);
    let during_redis = within(10, "a checkout without Redis", order()).await;
    let mail = confirmation(during_redis).await;
    assert_eq!(mail.status, "pending", "its job could not be queued");
    rd.end();
    flush_outbox().await;
    let mail = confirmation(during_redis).await;
    assert_eq!(mail.status, "sent", "sent once Redis was back: {mail:?}");
    // The web process uses Redis again by itself, a few seconds after it came back.
    eventually(20, "the web process using Redis again", || async {
        let h = http.get(&format!("{base}/_health")).await;
        (h.json()["degraded"] == false).then_some(())
    })
    .await;

    // SMTP goes down: mail waits in the outbox with the failed attempt on record, and goes
    // out when the server is back.
    smtp.begin();
    let during_smtp = order().await;
    let tried = eventually(30, "the worker trying the mail", || async {
        let m = confirmation(during_smtp).await;
        (m.attempts >= 1 && m.locked_until.is_none()).then_some(m)
    })
    .await;
    assert_eq!(tried.status, "pending", "kept for another try");
    assert!(
        tried.last_error.is_some(),
        "the failed attempt is on record"
    );
    smtp.end();
    // The job's retry sends it after its backoff; the operator need not wait for it.
    flush_outbox().await;
    eventually(30, "the mail sent once SMTP was back", || async {
        (confirmation(during_smtp).await.status == "sent").then_some(())
    })
    .await;
    let needle = format!("Your order {during_smtp} ");
    eventually(10, "the mail in the sink", || async {
        std::fs::read_dir(format!("{maildir}/new"))
            .ok()?
            .filter_map(Result::ok)
            .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|m| m.contains(&needle)))
            .then_some(())
    })
    .await;

    // S3 goes down: an upload is refused with 503 and a clear message, nothing half-saved;
    // product pages still render (their image addresses are signed here, not fetched).
    store.begin();
    let refused = within(20, "an upload without S3", upload(&http, &images_url, &pm)).await;
    assert_unavailable(&refused, "upload");
    assert!(refused.body.contains("file store"), "{}", refused.body);
    let page = http.get(&format!("{base}/p/{slug}")).await;
    assert_eq!(page.status, 200);
    let images = http
        .api(
            "GET",
            &format!("{base}/api/v1/products/{pid}"),
            Some(&pm),
            json!({}),
        )
        .await
        .json()["images"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(images, 1, "the refused upload left no image row");
    store.end();
    assert_eq!(upload(&http, &images_url, &pm).await.status, 201);

    assert!(
        web.try_wait().unwrap().is_none(),
        "the web process never restarted"
    );
    let _ = web.kill().await;
    let _ = worker.kill().await;
    conn.close().await.unwrap();
    db.drop_it().await;
}
