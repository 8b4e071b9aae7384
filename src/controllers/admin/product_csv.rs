//! `/admin/products/export.csv` and `/admin/products/import`: the catalogue as CSV, and CSV
//! files applied as a whole or not at all (rules on the page and in `domain::product_csv`).
//! Catalogue managers only.
use axum::{
    extract::{multipart::MultipartRejection, Multipart, Path},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use loco_rs::prelude::Routes;
use serde_json::{json, Value};
use uuid::Uuid;

use super::products::CATALOGUE;
use crate::{
    domain::product_csv::COLUMNS,
    errors::{AppError, PageError},
    models::catalogue::{export, import},
    settings::Settings,
    web::{
        html::{error_sentence, Page},
        upload::read_file_form,
    },
};

async fn export_csv(page: Page) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    Ok(crate::views::csv::streamed(
        "products",
        export::products_csv(page.ctx.db.clone()),
    ))
}

async fn render_form(
    page: &Page,
    status: StatusCode,
    errors: Value,
) -> Result<Response, PageError> {
    let imports = import::recent(&page.ctx.db, 10).await?;
    let limits = &Settings::get(&page.ctx).imports;
    page.render_status(
        status,
        "admin/products/import.html",
        "Import products",
        json!({
            "imports": imports, "columns": COLUMNS, "errors": errors,
            "max_mb": limits.max_bytes / (1024 * 1024), "max_rows": limits.max_rows,
        }),
    )
    .await
}

async fn form(page: Page) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    render_form(&page, StatusCode::OK, json!([])).await
}

async fn upload(
    page: Page,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let user = page.require_role(CATALOGUE)?.clone();
    let result = match form {
        Ok(form) => match read_file_form(form, "file").await {
            Ok(upload) => {
                // An unchecked checkbox sends nothing.
                let update_stock =
                    upload.fields.get("update_stock").map(String::as_str) == Some("true");
                import::start(
                    &page.ctx,
                    &user,
                    &upload.filename,
                    &upload.bytes,
                    update_stock,
                )
                .await
            }
            Err(e) => Err(e),
        },
        Err(_) => Err(AppError::UnsupportedMediaType(
            "Choose a CSV file to upload.".into(),
        )),
    };
    match result {
        Ok(view) => {
            Ok(Redirect::to(&format!("/admin/products/import/{}", view.id)).into_response())
        }
        Err(AppError::PayloadTooLarge) => {
            let mb = Settings::get(&page.ctx).imports.max_bytes / (1024 * 1024);
            let msg = format!("The file is larger than {mb} MB; split it into several files.");
            render_form(&page, StatusCode::PAYLOAD_TOO_LARGE, json!([msg])).await
        }
        Err(e @ (AppError::UnsupportedMediaType(_) | AppError::BadRequest(_))) => {
            render_form(
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
                json!([e.to_string()]),
            )
            .await
        }
        Err(e) => {
            let msg = error_sentence(e)?;
            render_form(&page, StatusCode::UNPROCESSABLE_ENTITY, json!([msg])).await
        }
    }
}

/// The import's page; with `HX-Request`, only its status panel (polled while it runs).
async fn show(page: Page, headers: HeaderMap, Path(id): Path<Uuid>) -> Result<Response, PageError> {
    page.require_role(CATALOGUE)?;
    let view = import::find(&page.ctx, id).await?;
    let template = if Page::is_htmx(&headers) {
        "admin/products/_import_status.html"
    } else {
        "admin/products/import_show.html"
    };
    let finished = view.finished();
    page.render(
        template,
        "Product import",
        json!({"import": view, "finished": finished}),
    )
    .await
}

#[must_use]
pub fn routes(settings: &Settings) -> Routes {
    use axum::routing::get;
    Routes::new()
        .add("/admin/products/export.csv", get(export_csv))
        .add(
            "/admin/products/import",
            get(form)
                .post(upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    settings.upload_body_limit(),
                )),
        )
        .add("/admin/products/import/{id}", get(show))
}
