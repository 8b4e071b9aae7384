//! Reading image uploads (multipart/form-data), for the API and the admin pages alike.
use axum::{extract::Multipart, http::StatusCode};

use crate::{domain::validation::FieldErrors, errors::AppError};

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
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AppError::PayloadTooLarge)
            }
            Err(e) => return Err(AppError::BadRequest(e.body_text())),
        };
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::BadRequest(e.body_text())
            }
        })?;
        match name.as_str() {
            "image" => image = Some(bytes.to_vec()),
            "alt" => alt = String::from_utf8_lossy(&bytes).into_owned(),
            _ => {}
        }
    }
    let image = image.ok_or_else(|| FieldErrors::single("image", "Attach an image file."))?;
    Ok((image, alt))
}
