//! `/admin/outbox`: every mail the shop has sent or kept (admins only).
use axum::{
    extract::{OriginalUri, Path, Query},
    response::Response,
};
use loco_rs::prelude::Routes;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    domain::role::Role,
    domain::secrets::redact_link_tokens,
    errors::{AppError, PageError},
    models::mail_outbox,
    settings::{MailTransportKind, Settings},
    web::{html::Page, pagination::PageQuery},
};

const ADMIN: &[Role] = &[Role::Admin];

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Filter {
    q: String,
}

async fn index(
    page: Page,
    OriginalUri(uri): OriginalUri,
    Query(filter): Query<Filter>,
    Query(paging): Query<PageQuery>,
) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    let paging = paging.parse()?;
    let (rows, count) =
        mail_outbox::search(&page.ctx.db, &filter.q, paging.page, paging.page_size).await?;
    let mails: Vec<Value> = rows
        .iter()
        .map(|m| json!({
            "id": m.pid, "to": m.to_address, "subject": m.subject, "kind": m.kind, "status": m.status,
            "attempts": m.attempts, "created_at": crate::views::rfc3339(&m.created_at),
            "sent_at": m.sent_at.as_ref().map(crate::views::rfc3339).unwrap_or_default(),
        }))
        .collect();
    let pagination = paging.page_nav(count, &uri)?;
    page.render(
        "admin/outbox/index.html",
        "Mail outbox",
        json!({ "mails": mails, "q": filter.q, "pagination": pagination }),
    )
    .await
}

/// The links in a mail's text part, so staff (and browser tests) can follow them.
fn links(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(|w| w.trim_end_matches(['.', ',', ')', '>']).to_string())
        .collect()
}

async fn show(page: Page, Path(id): Path<String>) -> Result<Response, PageError> {
    page.require_role(ADMIN)?;
    let pid = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let mut m = mail_outbox::find(&page.ctx.db, pid).await?;
    // With SMTP the outbox is a log, not the mailbox: links with secrets (reset, verification)
    // are not shown, sent or not, or one admin could take over another's account by asking
    // for a reset. (With the outbox transport, development, this page is the mailbox.)
    if Settings::get(&page.ctx).mail.transport == MailTransportKind::Smtp {
        m.text_body = redact_link_tokens(&m.text_body);
        m.html_body = redact_link_tokens(&m.html_body);
    }
    let mail = json!({
        "id": m.pid, "to": m.to_address, "subject": m.subject, "kind": m.kind, "status": m.status,
        "created_at": crate::views::rfc3339(&m.created_at),
        "sent_at": m.sent_at.as_ref().map(crate::views::rfc3339).unwrap_or_default(),
        "last_error": m.last_error.clone().unwrap_or_default(), "text": m.text_body, "html": m.html_body,
    });
    page.render(
        "admin/outbox/show.html",
        &m.subject,
        json!({ "mail": mail, "links": links(&m.text_body) }),
    )
    .await
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new()
        .add("/admin/outbox", axum::routing::get(index))
        .add("/admin/outbox/{id}", axum::routing::get(show))
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_links_in_text_without_trailing_punctuation() {
        assert_eq!(
            super::links("Visit http://x/verify?token=abc. Or https://y/z, thanks"),
            vec![
                "http://x/verify?token=abc".to_string(),
                "https://y/z".to_string()
            ]
        );
    }
}
