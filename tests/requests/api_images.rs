//! Product images: upload checks, renditions, signed local URLs, S3 with presigned URLs.
use std::sync::Arc;

use emporium::{
    domain::role::Role,
    jobs::{JobEnv, Jobs},
    settings::Settings,
    storage::{self, s3::S3Store, ObjectStore},
};
use serde_json::{json, Value};
use serial_test::parallel;

use crate::support::*;

async fn product(
    server: &loco_rs::TestServer,
    auth: &(axum::http::HeaderName, axum::http::HeaderValue),
) -> String {
    let res = server
        .post("/api/v1/products")
        .add_header(auth.0.clone(), auth.1.clone())
        .json(&json!({"sku": "IMG-1", "name": "Pictured", "price_cents": 100}))
        .await;
    assert_eq!(res.status_code(), 201);
    res.json::<Value>()["id"].as_str().unwrap().to_string()
}

fn path_and_query(url: &str) -> &str {
    url.find("/media/").map_or(url, |i| &url[i..])
}

#[tokio::test]
#[parallel]
async fn upload_makes_webp_renditions_served_by_signed_urls() {
    with_app(|server, ctx| async move {
        let pm = bearer(&access_token(&server, &ctx, "pm@example.com", Role::ProductManager).await);
        let id = product(&server, &pm).await;
        let res = server
            .post(&format!("/api/v1/products/{id}/images"))
            .add_header(pm.0.clone(), pm.1.clone())
            .multipart(multipart_image(&png(900, 600), "photo.bin", "A gradient"))
            .await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        let img: Value = res.json();
        // Inline jobs in tests: the renditions exist by the time the upload answers.
        assert_eq!(img["status"], "ready");
        assert_eq!(img["alt"], "A gradient");
        assert_eq!(
            (img["width"].as_i64(), img["height"].as_i64()),
            (Some(900), Some(600))
        );
        let r = img["renditions"].as_object().unwrap();
        assert_eq!(r.keys().collect::<Vec<_>>(), ["1200", "200", "600"]);
        assert!(img["srcset"].as_str().unwrap().contains(" 200w"));

        for (name, width) in [("200", 200), ("600", 600), ("1200", 900)] {
            let url = r[name].as_str().unwrap();
            let res = server.get(path_and_query(url)).await;
            assert_eq!(res.status_code(), 200, "{url}");
            assert_eq!(res.header("content-type"), "image/webp");
            let decoded = image::load_from_memory(res.as_bytes()).unwrap();
            assert_eq!(decoded.width(), width, "rendition {name} is never enlarged");
        }
        let original = server
            .get(path_and_query(img["url"].as_str().unwrap()))
            .await;
        assert_eq!(original.status_code(), 200);
        assert_eq!(original.header("content-type"), "image/png");

        // The product body lists the image.
        let p: Value = server.get(&format!("/api/v1/products/{id}")).await.json();
        assert_eq!(p["images"][0]["id"], img["id"]);
        assert_eq!(p["images"][0]["status"], "ready");

        // Signatures cannot be forged, moved to another key, or extended.
        let url = path_and_query(r["200"].as_str().unwrap()).to_string();
        let tampered = format!("{}0", &url[..url.len() - 1]);
        let tampered = if tampered == url {
            format!("{}1", &url[..url.len() - 1])
        } else {
            tampered
        };
        assert_eq!(server.get(&tampered).await.status_code(), 403);
        let other_key = url.replace("/200.webp", "/600.webp");
        assert_eq!(server.get(&other_key).await.status_code(), 403);
        let (path, query) = url.split_once('?').unwrap();
        let expires: i64 = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("expires="))
            .unwrap()
            .parse()
            .unwrap();
        let extended = url.replace(
            &format!("expires={expires}"),
            &format!("expires={}", expires + 3600),
        );
        assert_eq!(server.get(&extended).await.status_code(), 403);
        assert_eq!(server.get(path).await.status_code(), 403, "unsigned");
        // A correctly signed but expired URL is refused too.
        let key = path.trim_start_matches("/media/");
        let store = storage::get(&ctx);
        let local = store.as_local().unwrap();
        let past = chrono::Utc::now().timestamp() - 1;
        let expired = format!("{path}?expires={past}&signature={}", local.sign(key, past));
        assert_eq!(server.get(&expired).await.status_code(), 403);

        // Deleting removes the row and the files.
        let res = server
            .delete(&format!(
                "/api/v1/products/{id}/images/{}",
                img["id"].as_str().unwrap()
            ))
            .add_header(pm.0.clone(), pm.1.clone())
            .await;
        assert_eq!(res.status_code(), 204);
        assert_eq!(server.get(&url).await.status_code(), 404);
        let p: Value = server.get(&format!("/api/v1/products/{id}")).await.json();
        assert_eq!(p["images"], json!([]));
    })
    .await;
}

#[tokio::test]
#[parallel]
async fn uploads_are_checked_by_content_size_and_pixels() {
    with_app(|server, ctx| async move {
        let pm = bearer(&access_token(&server, &ctx, "pm@example.com", Role::ProductManager).await);
        let id = product(&server, &pm).await;
        let upload = |bytes: Vec<u8>, name: &'static str| {
            server
                .post(&format!("/api/v1/products/{id}/images"))
                .add_header(pm.0.clone(), pm.1.clone())
                .multipart(multipart_image(&bytes, name, ""))
        };
        // The name says PNG, the bytes say otherwise.
        assert_error(
            &upload(b"<?php system($_GET['c']); ?>".to_vec(), "x.png").await,
            415,
            "unsupported_media_type",
        );
        assert_error(
            &upload(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(), "x.gif").await,
            415,
            "unsupported_media_type",
        );
        let res = upload(png(8001, 1), "wide.png").await;
        let body = assert_error(&res, 422, "validation_failed");
        assert!(body["error"]["details"]["image"][0]
            .as_str()
            .unwrap()
            .contains("8001"));
        let res = server
            .post(&format!("/api/v1/products/{id}/images"))
            .add_header(pm.0.clone(), pm.1.clone())
            .json(&json!({"image": "data"}))
            .await;
        assert_error(&res, 415, "unsupported_media_type");
        let res = server
            .post(&format!("/api/v1/products/{id}/images"))
            .add_header(pm.0.clone(), pm.1.clone())
            .multipart(axum_test::multipart::MultipartForm::new().add_text("alt", "no file"))
            .await;
        assert_error(&res, 422, "validation_failed");
        // A PNG whose header is fine but whose data is cut off is stored and marked failed:
        // the original stays visible, and nothing is retried forever.
        let mut truncated = png(300, 300);
        truncated.truncate(200);
        let res = upload(truncated, "cut.png").await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        let img: Value = res.json();
        assert_eq!(img["status"], "failed");
        assert_eq!(img["renditions"], json!({}));
        assert!(img["srcset"].as_str().unwrap().contains("/original.png"));

        // Byte limit: 413 before anything is stored.
        set_settings(&ctx, |s: &mut Settings| s.images.max_bytes = 1000);
        assert_error(
            &upload(png(200, 200), "big.png").await,
            413,
            "payload_too_large",
        );
        // Not a catalogue manager: refused before the body is read.
        let customer = bearer(&access_token(&server, &ctx, "c@example.com", Role::Customer).await);
        let res = server
            .post(&format!("/api/v1/products/{id}/images"))
            .add_header(customer.0, customer.1)
            .multipart(multipart_image(&png(10, 10), "a.png", ""))
            .await;
        assert_error(&res, 403, "forbidden");
        assert_error(
            &server
                .post(&format!("/api/v1/products/{}/images", uuid::Uuid::new_v4()))
                .add_header(pm.0.clone(), pm.1.clone())
                .multipart(multipart_image(&png(10, 10), "a.png", ""))
                .await,
            404,
            "not_found",
        );
        let p: Value = server.get(&format!("/api/v1/products/{id}")).await.json();
        assert_eq!(
            p["images"].as_array().unwrap().len(),
            1,
            "only the truncated PNG was stored"
        );
    })
    .await;
}

/// Against a real S3-compatible server that checks SigV4 (s3s-fs in scripts/test).
#[tokio::test]
#[parallel]
async fn s3_backend_stores_renditions_and_presigns_urls() {
    let Some(endpoint) = require("S3_ENDPOINT") else {
        return;
    };
    with_app(|server, ctx| async move {
        let mut settings = (*Settings::get(&ctx)).clone();
        settings.storage.backend = emporium::settings::StorageBackendKind::S3;
        settings.storage.s3.endpoint = endpoint.clone();
        settings.storage.s3.bucket = format!(
            "emporium-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        settings.storage.s3.access_key_id =
            std::env::var("S3_ACCESS_KEY").unwrap_or_else(|_| "testing".into());
        settings.storage.s3.secret_access_key =
            std::env::var("S3_SECRET_KEY").unwrap_or_else(|_| "testingsecret".into());
        settings.storage.s3.create_bucket = true;
        let store: Arc<dyn ObjectStore> =
            Arc::new(S3Store::connect(&settings.storage.s3).await.unwrap());
        store.check().await.unwrap();
        // Pages allow images from where the presigned URLs point.
        assert_eq!(
            store.media_origin().as_deref(),
            Some(endpoint.trim_end_matches('/'))
        );
        ctx.shared_store.insert(store.clone());
        let settings = Arc::new(settings);
        ctx.shared_store.insert(settings.clone());
        let jobs = Jobs::start(JobEnv::for_context(&ctx, settings).unwrap())
            .await
            .unwrap();
        ctx.shared_store.insert(jobs);

        let pm = bearer(&access_token(&server, &ctx, "pm@example.com", Role::ProductManager).await);
        let id = product(&server, &pm).await;
        let res = server
            .post(&format!("/api/v1/products/{id}/images"))
            .add_header(pm.0.clone(), pm.1.clone())
            .multipart(multipart_image(&png(700, 400), "p.png", "S3"))
            .await;
        assert_eq!(res.status_code(), 201, "{}", res.text());
        let img: Value = res.json();
        assert_eq!(img["status"], "ready");
        let url = img["renditions"]["600"].as_str().unwrap();
        assert!(url.starts_with(&endpoint), "{url}");
        assert!(url.contains("X-Amz-Signature="), "{url}");
        let (status, ctype, body) = http_get(url).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert_eq!(ctype, "image/webp");
        assert_eq!(image::load_from_memory(&body).unwrap().width(), 600);
        let (status, _, _) = http_get(img["url"].as_str().unwrap()).await;
        assert_eq!(status, 200);
        // The server checks the signature.
        let at = url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
        let flipped = if &url[at..=at] == "0" { "1" } else { "0" };
        let forged = format!("{}{flipped}{}", &url[..at], &url[at + 1..]);
        assert_eq!(http_get(&forged).await.0, 403);
        let unsigned = url.split('?').next().unwrap();
        assert_eq!(http_get(unsigned).await.0, 403);
        // The media route is for the local backend only.
        assert_eq!(
            server
                .get("/media/products/x/y/original.png?expires=1&signature=00")
                .await
                .status_code(),
            404
        );

        let res = server
            .delete(&format!("/api/v1/products/{id}"))
            .add_header(pm.0.clone(), pm.1.clone())
            .await;
        assert_eq!(res.status_code(), 204);
        let key = url
            .split('?')
            .next()
            .unwrap()
            .split(&format!("/{}/", store_bucket(url)))
            .nth(1)
            .unwrap()
            .to_string();
        assert!(matches!(
            store.get(&key).await,
            Err(storage::StorageError::NotFound(_))
        ));
    })
    .await;
}

fn store_bucket(url: &str) -> String {
    url.split('/').nth(3).unwrap().to_string()
}
