//! Rolling restarts (issue 18): two production web processes serve shoppers who add to carts
//! and check out; each process in turn is taken out of the rotation, sent SIGTERM and replaced
//! by a new one, as a deployment does. The processes stopping finish what they were serving
//! and exit by themselves; no shopper sees a failed request.
use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use serde_json::json;
use serial_test::serial;

use crate::support::{
    browser::Browser,
    processes::{
        create_user, own_redis, production_env, production_services, start_web, OwnDatabase,
    },
};

/// The web processes a load balancer sends to, and how many requests each has in flight.
#[derive(Default)]
struct Rotation {
    live: Mutex<Vec<String>>,
    turn: AtomicUsize,
}

impl Rotation {
    fn pick(&self) -> Option<String> {
        let live = self.live.lock().unwrap();
        (!live.is_empty())
            .then(|| live[self.turn.fetch_add(1, Ordering::Relaxed) % live.len()].clone())
    }
}

struct Web {
    base: String,
    process: tokio::process::Child,
}

async fn web(env: &std::collections::HashMap<&'static str, String>) -> Web {
    let (base, process) = start_web("production", env).await;
    Web { base, process }
}

#[tokio::test]
#[serial]
async fn replacing_web_processes_one_by_one_fails_no_request() {
    let Some(services) = production_services() else {
        return;
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let db = OwnDatabase::new().await;
    let redis_url = own_redis(&services.redis, 12).await;
    let env = production_env(&db.url, &redis_url, &services.s3, &services.smtp_port, &id);
    let mut webs = vec![web(&env).await, web(&env).await];
    let rotation = Arc::new(Rotation::default());
    *rotation.live.lock().unwrap() = webs.iter().map(|w| w.base.clone()).collect();

    create_user(&env, "production", "pm@example.com", "product_manager").await;
    let http = Browser::new();
    let pm = http.token(&webs[0].base, "pm@example.com").await;
    let product = http
        .create_product(
            &webs[0].base,
            &pm,
            json!({"sku": "ROLL-1", "name": "Rolling pin", "price_cents": 1200, "stock": 100000}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let (served, orders) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut load = Vec::new();
    for i in 0..6 {
        let email = format!("roller{i}@example.com");
        create_user(&env, "production", &email, "customer").await;
        let token = http.token(&webs[0].base, &email).await;
        let (rotation, stop, failures, served, orders, product) = (
            rotation.clone(),
            stop.clone(),
            failures.clone(),
            served.clone(),
            orders.clone(),
            product.clone(),
        );
        load.push(tokio::spawn(async move {
            let shopper = Browser::new();
            let auth = [("authorization", format!("Bearer {token}"))];
            let send = |path: String, body: serde_json::Value| {
                let (shopper, rotation, auth, failures) = (
                    shopper.clone(),
                    rotation.clone(),
                    auth.clone(),
                    failures.clone(),
                );
                async move {
                    // Like a load balancer: a process that refuses the connection is passed
                    // over; anything else is the shopper's answer.
                    loop {
                        let Some(base) = rotation.pick() else {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        };
                        let url = format!("{base}{path}");
                        match shopper
                            .try_send(
                                "POST",
                                &url,
                                &auth,
                                Some(("application/json", body.to_string())),
                            )
                            .await
                        {
                            Ok(a) if a.status >= 500 => {
                                failures
                                    .lock()
                                    .unwrap()
                                    .push(format!("{url}: {} {}", a.status, a.body));
                                return None;
                            }
                            Ok(a) => return Some(a),
                            Err(e) if e.connect => continue,
                            Err(e) => {
                                failures.lock().unwrap().push(format!("{url}: {e}"));
                                return None;
                            }
                        }
                    }
                }
            };
            while !stop.load(Ordering::Relaxed) {
                let add = send(
                    "/api/v1/cart/items".into(),
                    json!({"product_id": product, "quantity": 1}),
                )
                .await;
                if add.is_some_and(|a| a.status == 201) {
                    served.fetch_add(1, Ordering::Relaxed);
                }
                let placed = send(
                    "/api/v1/checkout".into(),
                    json!({"shipping_address": {"line1": "1 Harbour Road", "city": "Kiel",
                           "postal_code": "24103", "country": "DE"}}),
                )
                .await;
                if let Some(p) = placed {
                    served.fetch_add(1, Ordering::Relaxed);
                    if p.status == 201 {
                        orders.fetch_add(1, Ordering::Relaxed);
                        let id = p.json()["id"].as_str().unwrap().to_string();
                        // Cancelled at once, so the pending-order cap never stops the load.
                        let cancel = format!("/api/v1/orders/{id}/cancel");
                        if send(cancel, json!({})).await.is_some() {
                            served.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        }));
    }

    tokio::time::sleep(Duration::from_secs(2)).await;
    for i in 0..2 {
        let old = webs.remove(0);
        // Drained from the rotation, then told to stop: what it is serving it finishes.
        rotation.live.lock().unwrap().retain(|b| b != &old.base);
        let pid = old.process.id().unwrap().to_string();
        let mut process = old.process;
        let term = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(term.success());
        let exited = tokio::time::timeout(Duration::from_secs(30), process.wait())
            .await
            .unwrap_or_else(|_| panic!("web process {i} did not stop within its grace period"))
            .unwrap();
        assert!(exited.success(), "a graceful stop exits cleanly: {exited}");
        let new = web(&env).await;
        rotation.live.lock().unwrap().push(new.base.clone());
        webs.push(new);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }
    let failures = failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "failed requests: {failures:#?}");
    assert!(
        orders.load(Ordering::Relaxed) > 10,
        "the load placed orders"
    );
    eprintln!(
        "rolling restart: 2 processes replaced; {} requests answered, {} orders, none failed",
        served.load(Ordering::Relaxed),
        orders.load(Ordering::Relaxed)
    );
    for mut w in webs {
        let _ = w.process.kill().await;
    }
    db.drop_it().await;
}
