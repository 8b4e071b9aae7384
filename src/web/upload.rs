//! Reading uploads (multipart/form-data): images for the API and the admin pages alike, and
//! files such as product CSVs.
use axum::{extract::Multipart, http::StatusCode};

use crate::{domain::validation::FieldErrors, errors::AppError};

fn too_large_or_bad(e: &axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        AppError::BadRequest(e.body_text())
    }
}

/// Reads the file field `name` of an upload: its file name and bytes.
///
/// # Errors
/// 400 for a malformed multipart body, 413 beyond the size limit, 422 without the file.
pub async fn read_file_form(
    mut form: Multipart,
    name: &str,
) -> Result<(String, Vec<u8>), AppError> {
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(too_large_or_bad(&e)),
        };
        if field.name() != Some(name) {
            continue;
        }
        let filename = field.file_name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(|e| too_large_or_bad(&e))?;
        if bytes.is_empty() {
            break;
        }
        return Ok((filename, bytes.to_vec()));
    }
    Err(FieldErrors::single(name, "Choose a file to upload.").into())
}

/// Reads the `image` (and optional `alt`) fields of an upload.
///
/// # Errors
/// 400 for a malformed multipart body, 413 beyond the size limit, 422 without an image.
pub async fn read_image_form(mut form: Multipart) -> Result<(Vec<u8>, String), AppError> {
    let mut image = None;
    let mut alt = String::new();
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(too_large_or_bad(&e)),
        };
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(|e| too_large_or_bad(&e))?;
        match name.as_str() {
            "image" => image = Some(bytes.to_vec()),
            "alt" => alt = String::from_utf8_lossy(&bytes).into_owned(),
            _ => {}
        }
    }
    let image = image.ok_or_else(|| FieldErrors::single("image", "Attach an image file."))?;
    Ok((image, alt))
}
