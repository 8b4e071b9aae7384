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

/// A file upload with the form's other (short) fields.
#[derive(Debug)]
pub struct UploadedFile {
    pub filename: String,
    pub bytes: Vec<u8>,
    /// Text fields by name (checkboxes, options), at most 1 KiB each.
    pub fields: std::collections::BTreeMap<String, String>,
}

/// Reads the file field `name` of an upload, with the form's other fields.
///
/// # Errors
/// 400 for a malformed multipart body, 413 beyond the size limit, 422 without the file.
pub async fn read_file_form(mut form: Multipart, name: &str) -> Result<UploadedFile, AppError> {
    let mut file = None;
    let mut fields = std::collections::BTreeMap::new();
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(too_large_or_bad(&e)),
        };
        let field_name = field.name().unwrap_or_default().to_string();
        let filename = field.file_name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(|e| too_large_or_bad(&e))?;
        if field_name == name {
            if !bytes.is_empty() {
                file = Some((filename, bytes.to_vec()));
            }
        } else if bytes.len() <= 1024 {
            fields.insert(field_name, String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    let (filename, bytes) =
        file.ok_or_else(|| FieldErrors::single(name, "Choose a file to upload."))?;
    Ok(UploadedFile {
        filename,
        bytes,
        fields,
    })
}

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
            // A form sent without choosing a file still has the part, empty.
            "image" if !bytes.is_empty() => image = Some(bytes.to_vec()),
            "alt" => alt = String::from_utf8_lossy(&bytes).into_owned(),
            _ => {}
        }
    }
    let image =
        image.ok_or_else(|| FieldErrors::single("image", "Choose an image file to upload."))?;
    Ok((image, alt))
}
