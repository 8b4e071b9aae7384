//! The production deployment (issue 7): two web processes, one worker and the scheduler, all
//! `emporium-cli` started with `-e production` against PostgreSQL, Redis, the S3 server and
//! the SMTP sink. A session made on one web process works on the other, a product changed on
//! one is never served stale by the other, every job runs once, live dashboard events reach
//! both, and the scheduler runs its jobs.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use http_body_util::{BodyExt, Full};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{json, Value};
use serial_test::serial;

use crate::support::{
    self,
    browser::Browser,
    processes::{
        cli, create_user, eventually, free_port, own_redis, production_env, production_services,
        wait_healthy, OwnDatabase, Services,
    },
};

/// The four processes of `Procfile`, stopped when dropped.
struct Deployment {
    web: Vec<String>,
    processes: Vec<tokio::process::Child>,
    db: DatabaseConnection,
    own: Option<OwnDatabase>,
}

impl Deployment {
    async fn start(env: &HashMap<&'static str, String>) -> Self {
        let spawn = |args: &[&str], extra: &[(&str, String)]| {
            let mut cmd = cli("production", args, env);
            cmd.envs(extra.iter().map(|(k, v)| (*k, v.as_str())));
            cmd.spawn().expect("emporium-cli starts")
        };
        let probe = Browser::new();
        let mut processes = Vec::new();
        let mut web = Vec::new();
        // One at a time: the first migrates the database.
        for _ in 0..2 {
            let port = free_port().await;
            let base = format!("http://127.0.0.1:{port}");
            processes.push(spawn(
                &["start"],
                &[("PORT", port.to_string()), ("BIND", "127.0.0.1".into())],
            ));
            wait_healthy(&probe, &base).await;
            web.push(base);
        }
        processes.push(spawn(&["task", "work_jobs"], &[]));
        processes.push(spawn(&["scheduler"], &[]));
        let db = Database::connect(env["DATABASE_URL"].as_str())
            .await
            .unwrap();
        Self {
            web,
            processes,
            db,
            own: None,
        }
    }

    async fn one(&self, sql: &str) -> Option<sea_orm::QueryResult> {
        self.db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                sql.to_string(),
            ))
            .await
            .unwrap()
    }

    async fn stop(mut self) {
        for p in &mut self.processes {
            let _ = p.kill().await;
        }
        let _ = self.db.clone().close().await;
        if let Some(own) = self.own.take() {
            own.drop_it().await;
        }
    }
}

/// Follows a server-sent event stream in the background and keeps what it says.
fn listen(browser: &Browser, url: &str) -> Arc<Mutex<String>> {
    let seen = Arc::new(Mutex::new(String::new()));
    let (http, cookie, url, out) = (
        browser.http.clone(),
        browser.cookie_header(),
        url.to_string(),
        seen.clone(),
    );
    tokio::spawn(async move {
        let mut req = hyper::Request::get(&url);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let res = http
            .request(req.body(Full::default()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{url}");
        let mut body = res.into_body();
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(data) = frame.data_ref() {
                out.lock().unwrap().push_str(&String::from_utf8_lossy(data));
            }
        }
    });
    seen
}

/// One unit of `product` put in the cart and checked out on the web process `base`: the order.
async fn buy_one(api: &Browser, base: &str, token: &str, product: &str) -> Value {
    let add = api
        .api(
            "POST",
            &format!("{base}/api/v1/cart/items"),
            Some(token),
            json!({"product_id": product, "quantity": 1}),
        )
        .await;
    assert!(add.status < 300, "{}", add.body);
    let order = api
        .api(
            "POST",
            &format!("{base}/api/v1/checkout"),
            Some(token),
            json!({"shipping_address": {"line1": "1 Harbour Road", "city": "Kiel",
                   "postal_code": "24103", "country": "DE"}}),
        )
        .await;
    assert_eq!(order.status, 201, "{}", order.body);
    order.json()
}

fn maildir_count(dir: &str, needle: &str) -> usize {
    std::fs::read_dir(format!("{dir}/new"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| std::fs::read_to_string(e.path()).is_ok_and(|m| m.contains(needle)))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test]
#[serial]
async fn two_web_processes_a_worker_and_the_scheduler_share_one_shop() {
    // Production runs on PostgreSQL: the SQLite run of the suite skips this test.
    let Some(Services {
        redis,
        s3,
        smtp_port,
        maildir,
    }) = production_services()
    else {
        return;
    };
    // A database of its own, and a Redis database no other test uses (flushed first).
    let id = uuid::Uuid::new_v4().simple().to_string();
    let db = OwnDatabase::new().await;
    let redis_url = own_redis(&redis, 14).await;
    let mut env = production_env(&db.url, &redis_url, &s3, &smtp_port, &id);
    // Orders expire at once: the scheduler's expiry job shows itself within a minute.
    env.insert("ORDER_TTL_MINUTES", "0".into());
    let mut d = Deployment::start(&env).await;
    d.own = Some(db);
    let (a, b) = (d.web[0].clone(), d.web[1].clone());
    create_user(&env, "production", "admin@example.com", "admin").await;
    create_user(&env, "production", "pm@example.com", "product_manager").await;
    create_user(&env, "production", "ann@example.com", "customer").await;
    let api = Browser::new();
    // A session made on one web process works on the other.
    let admin_on_a = Browser::new();
    admin_on_a.log_in(&a, "admin@example.com").await;
    let admin_on_b = admin_on_a.sharing();
    let page = admin_on_b.get(&format!("{b}/admin")).await;
    assert_eq!(page.status, 200, "the session made on A is read by B");
    assert!(page.body.contains("admin@example.com"));

    // Live events published by either process reach dashboards on both.
    let live_a = listen(&admin_on_a, &format!("{a}/admin/live"));
    let live_b = listen(&admin_on_b, &format!("{b}/admin/live"));
    tokio::time::sleep(Duration::from_millis(800)).await;

    // A product changed on A is never served stale by B, whose reads are cached.
    let pm = api.token(&a, "pm@example.com").await;
    let created = api
        .api(
            "POST",
            &format!("{a}/api/v1/products"),
            Some(&pm),
            json!({"sku": "LAMP-1", "name": "Lamp", "price_cents": 4900, "stock": 5}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let pid = created.json()["id"].as_str().unwrap().to_string();
    for _ in 0..3 {
        let p = api.get(&format!("{b}/api/v1/products/{pid}")).await;
        assert_eq!(p.json()["price_cents"], 4900);
    }
    let patched = api
        .api(
            "PATCH",
            &format!("{a}/api/v1/products/{pid}"),
            Some(&pm),
            json!({"price_cents": 5900}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let p = api.get(&format!("{b}/api/v1/products/{pid}")).await;
    assert_eq!(p.json()["price_cents"], 5900, "B serves the change at once");

    // Jobs run once, by the worker: the mails of a registration on B, an image's renditions.
    let reg = api
        .api(
            "POST",
            &format!("{b}/api/v1/auth/register"),
            None,
            json!({"email": "zoe@example.com", "password": support::PASSWORD,
                   "first_name": "Zoe", "last_name": "Shopper"}),
        )
        .await;
    assert_eq!(reg.status, 201, "{}", reg.body);
    let sent = eventually(30, "the registration mails", || async {
        let row = d
            .one("SELECT COUNT(*) AS n, SUM(attempts) AS a FROM mail_outbox WHERE to_address = 'zoe@example.com' AND status = 'sent'")
            .await?;
        let n: i64 = row.try_get("", "n").ok()?;
        (n == 2).then(|| row.try_get::<i64>("", "a").unwrap_or(0))
    })
    .await;
    assert_eq!(sent, 2, "two mails, one attempt each");
    let arrived = eventually(10, "the mails in the sink", || async {
        let n = maildir_count(&maildir, "zoe@example.com");
        (n >= 2).then_some(n)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(arrived, 2);
    assert_eq!(
        maildir_count(&maildir, "zoe@example.com"),
        2,
        "nothing sent twice"
    );

    let boundary = "emporium-deploy";
    let png = support::png(640, 400);
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"lamp.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&png);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = hyper::Request::post(format!("{b}/api/v1/products/{pid}/images"))
        .header("authorization", format!("Bearer {pm}"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let res = api.http.request(req).await.unwrap();
    assert_eq!(res.status(), 201);
    let renditions = eventually(30, "the renditions", || async {
        let p = api.get(&format!("{a}/api/v1/products/{pid}")).await.json();
        let image = p["images"][0].clone();
        (image["status"] == "ready").then_some(image)
    })
    .await;
    let first = renditions["renditions"]
        .as_object()
        .and_then(|r| r.values().next())
        .and_then(Value::as_str)
        .expect("a rendition")
        .to_string();
    let (status, ctype, _) = support::http_get(&first).await;
    assert_eq!(
        (status, ctype.as_str()),
        (200, "image/webp"),
        "served from S3"
    );
    let jobs = d
        .one("SELECT COUNT(*) AS n FROM product_images WHERE status = 'ready'")
        .await
        .unwrap();
    assert_eq!(jobs.try_get::<i64>("", "n").unwrap(), 1);

    // An order placed on A shows on both dashboards.
    let ann = api.token(&a, "ann@example.com").await;
    let order = buy_one(&api, &a, &ann, &pid).await;
    let number = format!("Order #{}", order["number"]);
    for (name, seen) in [("A", &live_a), ("B", &live_b)] {
        eventually(10, &format!("the order on dashboard {name}"), || async {
            seen.lock().unwrap().contains(&number).then_some(())
        })
        .await;
    }

    // The scheduler expires the unpaid order (its time is up at once), exactly once.
    let order_id = order["id"].as_str().unwrap().to_string();
    eventually(80, "the scheduled expiry", || async {
        let o = api
            .api(
                "GET",
                &format!("{b}/api/v1/orders/{order_id}"),
                Some(&ann),
                json!({}),
            )
            .await
            .json();
        (o["status"] == "expired").then_some(())
    })
    .await;
    let expiries = d
        .one(&format!(
            "SELECT COUNT(*) AS n FROM order_events e JOIN orders o ON o.id = e.order_id WHERE o.pid = '{order_id}' AND e.to_status = 'expired'"
        ))
        .await
        .unwrap();
    assert_eq!(expiries.try_get::<i64>("", "n").unwrap(), 1);
    let stock = api.get(&format!("{b}/api/v1/products/{pid}")).await.json();
    assert_eq!(stock["available"], 5, "the reservation was released");

    // A shopper's open order page on B follows the order as an admin ships it on A (the
    // event goes through Redis). Paid at once, so the scheduler's expiry cannot take it.
    let followed = buy_one(&api, &a, &ann, &pid).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let admin = api.token(&a, "admin@example.com").await;
    let step = |what: &'static str| {
        let (api, a, admin, followed) = (&api, &a, &admin, &followed);
        async move {
            let res = api
                .api(
                    "POST",
                    &format!("{a}/api/v1/orders/{followed}/{what}"),
                    Some(admin),
                    json!({}),
                )
                .await;
            assert_eq!(res.status, 200, "{what}: {}", res.body);
        }
    };
    step("mark-paid").await;
    let ann_on_b = Browser::new();
    ann_on_b.log_in(&b, "ann@example.com").await;
    let follows = listen(&ann_on_b, &format!("{b}/orders/{followed}/live"));
    tokio::time::sleep(Duration::from_millis(800)).await;
    step("ship").await;
    eventually(10, "the shipment on Ann's open order page", || async {
        follows
            .lock()
            .unwrap()
            .contains("data: shipped")
            .then_some(())
    })
    .await;

    // Both processes read sessions through the shared cache: a logout on B ends the
    // session on A at once.
    let copied = admin_on_a.copy();
    assert_eq!(copied.get(&format!("{a}/admin")).await.status, 200);
    let page = admin_on_b.get(&format!("{b}/admin")).await;
    let csrf = support::csrf_from(&page.body);
    let out = admin_on_b
        .form(&format!("{b}/logout"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(out.status, 303, "{}", out.body);
    let after = copied.get(&format!("{a}/admin")).await;
    assert_eq!(after.status, 303, "the session ended on A too");
    d.stop().await;
}
