//! CSV for spreadsheets (RFC 4180): fields quoted when needed, and formula injection defused
//! (a cell a spreadsheet would read as a formula is prefixed with `'`).
#[must_use]
pub fn field(value: &str) -> String {
    let v = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// One CSV line (CRLF-terminated).
#[must_use]
pub fn row<S: AsRef<str>>(fields: &[S]) -> String {
    let mut line = fields
        .iter()
        .map(|f| field(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// A CSV download named `<stem>-<UTC time>.csv`.
#[must_use]
pub fn attachment(stem: &str, body: String) -> axum::response::Response {
    use axum::{http::header, response::IntoResponse};
    let name = format!("{stem}-{}.csv", chrono::Utc::now().format("%Y%m%d-%H%M"));
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A CSV download sent as `chunks` come: the first byte leaves before the last row is read,
/// and a client that goes away stops the reading (the stream is dropped). An error after the
/// first chunk cuts the transfer short, so the client sees an incomplete download rather than
/// a file that looks whole.
pub fn streamed<S>(stem: &str, chunks: S) -> axum::response::Response
where
    S: futures_util::Stream<Item = crate::errors::AppResult<String>> + Send + 'static,
{
    use futures_util::StreamExt;
    let body = axum::body::Body::from_stream(chunks.map(|chunk| {
        chunk.map(axum::body::Bytes::from).map_err(|e| {
            tracing::error!(error = %e, "export stopped");
            std::io::Error::other(e.to_string())
        })
    }));
    let mut res = attachment(stem, String::new());
    *res.body_mut() = body;
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-5"), "'-5");
        assert_eq!(row(&["1", "two, three"]), "1,\"two, three\"\r\n");
    }
}
