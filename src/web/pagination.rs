//! API.md pagination: `?page=1&page_size=20`, and the `{results, count, page, page_size, next,
//! previous}` envelope with absolute URLs that keep the other query parameters.
//!
//! Long lists (orders) also carry a position in those links: `after=<id>` on `next` and
//! `before=<id>` on `previous`, the id of the last or first row of the page the client holds.
//! Following them reads the next rows from an index (keyset) however deep the page; a page
//! asked for by number alone is still served, counted from whichever end is nearer.
use axum::{
    extract::{FromRequestParts, OriginalUri},
    http::{request::Parts, Uri},
    Json,
};
use loco_rs::app::AppContext;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::domain::paging::Cursor;
use crate::{
    domain::validation::FieldErrors,
    errors::{ApiError, AppError},
    settings::Settings,
};

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;

/// Raw query values; parsed by [`PageQuery::parse`] so bad values answer 422, not 400.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// 1-based page number.
    pub page: Option<String>,
    /// Items per page, 1–100 (default 20).
    pub page_size: Option<String>,
    /// Set by the lists that page by position (`next` links); see [`KeysetQuery`].
    #[param(ignore)]
    pub after: Option<String>,
    /// Set by the lists that page by position (`previous` links); see [`KeysetQuery`].
    #[param(ignore)]
    pub before: Option<String>,
}

/// The position parameters of the lists that page by keyset, for their OpenAPI operation.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct KeysetQuery {
    /// Start right after this row (the last `id` of the page before). Set in `next` links:
    /// follow them rather than building them.
    #[param(format = "uuid")]
    pub after: Option<String>,
    /// End right before this row (the first `id` of the page after). Set in `previous` links.
    #[param(format = "uuid")]
    pub before: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u64,
    pub page_size: u64,
    /// Only lists that page by keyset read it; the others page by number alone.
    pub cursor: Option<Cursor>,
}

impl Default for PageRequest {
    /// The first page at the default size: what a page shows for unreadable paging input.
    fn default() -> Self {
        Self {
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
            cursor: None,
        }
    }
}

impl PageQuery {
    /// # Errors
    /// Field messages for a page below 1 or a page size outside 1–100.
    pub fn parse(&self) -> Result<PageRequest, FieldErrors> {
        let mut errors = FieldErrors::new();
        let page = match self.page.as_deref().map(str::parse::<u64>) {
            None => 1,
            Some(Ok(p)) if (1..=1_000_000).contains(&p) => p,
            Some(_) => {
                errors.add("page", "Must be a whole number of at least 1.");
                1
            }
        };
        let page_size = match self.page_size.as_deref().map(str::parse::<u64>) {
            None => DEFAULT_PAGE_SIZE,
            Some(Ok(s)) if (1..=MAX_PAGE_SIZE).contains(&s) => s,
            Some(_) => {
                errors.add(
                    "page_size",
                    format!("Must be a whole number from 1 to {MAX_PAGE_SIZE}."),
                );
                DEFAULT_PAGE_SIZE
            }
        };
        let id = |field: &str, v: &Option<String>, errors: &mut FieldErrors| {
            v.as_deref().filter(|v| !v.is_empty()).and_then(|v| {
                let parsed = Uuid::parse_str(v).ok();
                if parsed.is_none() {
                    errors.add(field, "Not a position this list gave; follow its links.");
                }
                parsed
            })
        };
        let after = id("after", &self.after, &mut errors);
        let before = id("before", &self.before, &mut errors);
        let cursor = match (after, before) {
            (Some(_), Some(_)) => {
                errors.add("before", "Give either after or before, not both.");
                None
            }
            (Some(a), None) => Some(Cursor::After(a)),
            (None, Some(b)) => Some(Cursor::Before(b)),
            (None, None) => None,
        };
        errors.into_result()?;
        Ok(PageRequest {
            page,
            page_size,
            cursor,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Paginated<T> {
    pub results: Vec<T>,
    pub count: u64,
    pub page: u64,
    pub page_size: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
}

impl PageRequest {
    #[must_use]
    pub fn pages(&self, count: u64) -> u64 {
        count.div_ceil(self.page_size).max(1)
    }

    /// Wraps one page of results; `base_url` is the shop origin, `uri` the request's.
    #[must_use]
    pub fn wrap<T>(&self, results: Vec<T>, count: u64, base_url: &str, uri: &Uri) -> Paginated<T> {
        // A list that pages by number ignores a position someone put in its URL.
        let numbered = Self {
            cursor: None,
            ..*self
        };
        numbered.wrap_keyed(results, count, None, base_url, uri)
    }

    /// As [`Self::wrap`], with the ids of the page's first and last rows carried in the links
    /// (`before`/`after`) so the next step reads by keyset. The link back to page 1 carries
    /// none: page 1 is the start of the list as it is now.
    #[must_use]
    pub fn wrap_keyed<T>(
        &self,
        results: Vec<T>,
        count: u64,
        ends: Option<(Uuid, Uuid)>,
        base_url: &str,
        uri: &Uri,
    ) -> Paginated<T> {
        let link = |page: u64, cursor: Option<Cursor>| {
            page_url(base_url, uri, page, self.page_size, cursor)
        };
        // Read after a row and came back short: that is the end, whatever the count said.
        let short = matches!(self.cursor, Some(Cursor::After(_)))
            && (results.len() as u64) < self.page_size;
        let more = self.page < self.pages(count) && !short;
        let previous_page = (self.page - 1).min(self.pages(count));
        Paginated {
            next: more.then(|| link(self.page + 1, ends.map(|(_, last)| Cursor::After(last)))),
            previous: (self.page > 1).then(|| {
                link(
                    previous_page,
                    ends.filter(|_| previous_page > 1)
                        .map(|(first, _)| Cursor::Before(first)),
                )
            }),
            results,
            count,
            page: self.page,
            page_size: self.page_size,
        }
    }
}

impl PageRequest {
    /// The `pagination` object of the HTML list pages (`components/_pagination.html`), with
    /// relative links built by the same rule as the API's `next`/`previous`.
    ///
    /// # Errors
    /// `NotFound` for a page past the last ("page 99 of 3" does not exist); page 1 of an empty
    /// list is the list's empty state.
    pub fn page_nav(&self, count: u64, uri: &Uri) -> Result<serde_json::Value, AppError> {
        let numbered = Self {
            cursor: None,
            ..*self
        };
        numbered.page_nav_keyed(count, 0, None, uri)
    }

    /// As [`Self::page_nav`] for a list that pages by keyset: `shown` rows on this page,
    /// `ends` the ids of the first and last.
    ///
    /// # Errors
    /// As [`Self::page_nav`].
    pub fn page_nav_keyed(
        &self,
        count: u64,
        shown: usize,
        ends: Option<(Uuid, Uuid)>,
        uri: &Uri,
    ) -> Result<serde_json::Value, AppError> {
        let pages = self.pages(count);
        if self.page > pages {
            return Err(AppError::NotFound);
        }
        let links = self.wrap_keyed(vec![(); shown], count, ends, "", uri);
        Ok(serde_json::json!({
            "page": self.page, "pages": pages, "count": count,
            "prev_url": links.previous, "next_url": links.next,
        }))
    }
}

/// One page of an API list: the paging input (bad values answer 422 before the handler runs)
/// and what the envelope's links are built from. Every API list handler takes it and answers
/// with [`Listing::answer`], so every list has the one envelope of API.md.
pub struct Listing {
    page: PageRequest,
    uri: Uri,
    base_url: String,
}

impl std::ops::Deref for Listing {
    type Target = PageRequest;

    fn deref(&self) -> &PageRequest {
        &self.page
    }
}

impl Listing {
    /// The envelope around one page of results.
    #[must_use]
    pub fn wrap<T>(&self, results: Vec<T>, count: u64) -> Paginated<T> {
        self.page.wrap(results, count, &self.base_url, &self.uri)
    }

    /// The envelope of a list that pages by keyset: `ends` gives the ids of the page's first
    /// and last rows, which the links carry.
    pub fn answer_keyed<T>(
        &self,
        results: Vec<T>,
        count: u64,
        ends: impl Fn(&[T]) -> Option<(Uuid, Uuid)>,
    ) -> Json<Paginated<T>> {
        let ends = ends(&results);
        Json(
            self.page
                .wrap_keyed(results, count, ends, &self.base_url, &self.uri),
        )
    }

    /// The envelope as the handler's answer.
    pub fn answer<T>(&self, results: Vec<T>, count: u64) -> Json<Paginated<T>> {
        Json(self.wrap(results, count))
    }

    /// Answers a list that is short by nature (a shop's API keys, its tax rates) from all its
    /// rows: the page is cut here, so the caller still pages as with every other list.
    pub fn answer_all<T>(&self, mut all: Vec<T>) -> Json<Paginated<T>> {
        let count = all.len() as u64;
        let skip =
            usize::try_from((self.page.page - 1) * self.page.page_size).unwrap_or(usize::MAX);
        let take = usize::try_from(self.page.page_size).unwrap_or(usize::MAX);
        let results = if skip >= all.len() {
            Vec::new()
        } else {
            all.drain(skip..).take(take).collect()
        };
        self.answer(results, count)
    }
}

impl FromRequestParts<AppContext> for Listing {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &AppContext,
    ) -> Result<Self, Self::Rejection> {
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.clone(), |u| u.0.clone());
        // The last value wins for a repeated key, as with every other query parameter here.
        let mut query = PageQuery::default();
        for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
            match &*k {
                "page" => query.page = Some(v.into_owned()),
                "page_size" => query.page_size = Some(v.into_owned()),
                "after" => query.after = Some(v.into_owned()),
                "before" => query.before = Some(v.into_owned()),
                _ => {}
            }
        }
        Ok(Self {
            page: query.parse().map_err(AppError::from)?,
            uri,
            base_url: Settings::get(ctx).base_url.clone(),
        })
    }
}

/// The request's own URL with `page`/`page_size` (and the position) replaced; relative when
/// `base_url` is empty.
#[must_use]
pub fn page_url(
    base_url: &str,
    uri: &Uri,
    page: u64,
    page_size: u64,
    cursor: Option<Cursor>,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        if !matches!(&*k, "page" | "page_size" | "after" | "before") {
            query.append_pair(&k, &v);
        }
    }
    query.append_pair("page", &page.to_string());
    query.append_pair("page_size", &page_size.to_string());
    match cursor {
        Some(Cursor::After(id)) => {
            query.append_pair("after", &id.to_string());
        }
        Some(Cursor::Before(id)) => {
            query.append_pair("before", &id.to_string());
        }
        None => {}
    }
    format!("{base_url}{}?{}", uri.path(), query.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(
            PageQuery::default().parse().unwrap(),
            PageRequest {
                page: 1,
                page_size: 20,
                cursor: None,
            }
        );
        let q = |p: &str, s: &str| {
            PageQuery {
                page: Some(p.into()),
                page_size: Some(s.into()),
                ..Default::default()
            }
            .parse()
        };
        assert!(q("0", "20").unwrap_err().0.contains_key("page"));
        assert!(q("1", "101").unwrap_err().0.contains_key("page_size"));
        assert!(q("x", "0").unwrap_err().0.len() == 2);
        assert_eq!(
            q("3", "100").unwrap(),
            PageRequest {
                page: 3,
                page_size: 100,
                cursor: None,
            }
        );
    }

    #[test]
    fn links_keep_filters_and_stop_at_the_ends() {
        let uri: Uri = "/api/v1/x?q=a%20b&page=2&page_size=10".parse().unwrap();
        let req = PageRequest {
            page: 2,
            page_size: 10,
            cursor: None,
        };
        let p = req.wrap(vec![1], 25, "http://shop", &uri);
        assert_eq!(
            p.next.as_deref(),
            Some("http://shop/api/v1/x?q=a+b&page=3&page_size=10")
        );
        assert_eq!(
            p.previous.as_deref(),
            Some("http://shop/api/v1/x?q=a+b&page=1&page_size=10")
        );
        let last = PageRequest {
            page: 3,
            page_size: 10,
            cursor: None,
        }
        .wrap(vec![1], 25, "", &uri);
        assert!(last.next.is_none());
        let first = PageRequest {
            page: 1,
            page_size: 10,
            cursor: None,
        }
        .wrap(Vec::<u8>::new(), 0, "", &uri);
        assert!(first.next.is_none() && first.previous.is_none());
    }

    #[test]
    fn keyed_links_carry_the_page_ends_but_not_back_to_page_one() {
        let uri: Uri = "/x?status=paid&page=2&page_size=2&after=a".parse().unwrap();
        let (first, last) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let page = |page, cursor| PageRequest {
            page,
            page_size: 2,
            cursor,
        };
        let p = page(2, Some(Cursor::After(first))).wrap_keyed(
            vec![1, 2],
            10,
            Some((first, last)),
            "",
            &uri,
        );
        assert_eq!(
            p.next.as_deref(),
            Some(format!("/x?status=paid&page=3&page_size=2&after={last}").as_str())
        );
        assert_eq!(
            p.previous.as_deref(),
            Some("/x?status=paid&page=1&page_size=2")
        );
        let p = page(3, None).wrap_keyed(vec![1, 2], 10, Some((first, last)), "", &uri);
        assert_eq!(
            p.previous.as_deref(),
            Some(format!("/x?status=paid&page=2&page_size=2&before={first}").as_str())
        );
        // Read after a row and short: the end, though the count promised more.
        let p = page(2, Some(Cursor::After(first))).wrap_keyed(
            vec![1],
            10,
            Some((first, first)),
            "",
            &uri,
        );
        assert!(p.next.is_none());
        // A numbered list drops a position put in its URL.
        let p = page(2, Some(Cursor::After(first))).wrap(vec![1, 2], 10, "", &uri);
        assert_eq!(p.next.as_deref(), Some("/x?status=paid&page=3&page_size=2"));
    }

    #[test]
    fn positions_are_ids_and_one_at_a_time() {
        let q = |after: Option<&str>, before: Option<&str>| {
            PageQuery {
                after: after.map(Into::into),
                before: before.map(Into::into),
                ..Default::default()
            }
            .parse()
        };
        let id = Uuid::from_u128(7).to_string();
        assert_eq!(
            q(Some(&id), None).unwrap().cursor,
            Some(Cursor::After(Uuid::from_u128(7)))
        );
        assert_eq!(
            q(None, Some(&id)).unwrap().cursor,
            Some(Cursor::Before(Uuid::from_u128(7)))
        );
        assert!(q(Some("1 OR 1=1"), None)
            .unwrap_err()
            .0
            .contains_key("after"));
        assert!(q(Some(&id), Some(&id))
            .unwrap_err()
            .0
            .contains_key("before"));
        assert_eq!(q(Some(""), None).unwrap().cursor, None);
    }
}
