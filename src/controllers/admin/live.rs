//! `/admin/live`: the dashboard's server-sent events (see `crate::live`). Each event is sent as
//! the same HTML fragment the dashboard renders for its first items, so htmx's SSE extension
//! only has to insert it (`sse-swap`); without JavaScript the dashboard is a normal page.
use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::response::{
    sse::{Event, KeepAlive, Sse},
    IntoResponse, Response,
};
use loco_rs::{
    controller::views::{engines::TeraView, ViewRenderer},
    prelude::Routes,
};
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};
use tokio::sync::broadcast::{self, error::RecvError};
use tower_sessions::{session::Id, SessionStore};
use uuid::Uuid;

use crate::{
    domain::role::Role,
    errors::{AppError, PageError},
    live::{Live, LiveEvent},
    models::{sessions::DbSessionStore, users},
    web::html::{engine, Page},
};

/// Who sees orders and notifications as they come (product managers see neither).
pub const LIVE_ROLES: &[Role] = &[Role::Staff, Role::Admin];

/// The template context of one event's fragment; `None` for what the dashboard does not show.
#[must_use]
pub fn item(e: &LiveEvent) -> Option<(&'static str, Value)> {
    Some(match e {
        LiveEvent::Order {
            id,
            number,
            email,
            total_cents,
            currency,
            at,
        } => (
            "order",
            json!({"id": id, "number": number, "email": email, "at": at,
                   "total": crate::views::money::format(*total_cents, currency)}),
        ),
        LiveEvent::Notification {
            id,
            kind,
            message,
            at,
        } => (
            "notification",
            json!({"id": id, "kind": kind, "message": message, "at": at}),
        ),
        LiveEvent::OrderStatus { .. } => return None,
    })
}

fn render(views: &TeraView, e: &LiveEvent) -> Option<Event> {
    let (name, ctx) = item(e)?;
    match views.render(&format!("admin/live/_{name}.html"), json!({ "e": ctx })) {
        Ok(html) => Some(Event::default().event(name).data(html.trim())),
        Err(err) => {
            tracing::error!(error = %err, "could not render a live event");
            None
        }
    }
}

/// Whether the signed-in listener still may listen: the session still exists (no logout
/// meanwhile) and its user is active with a role that sees the feed.
async fn still_allowed(db: &DatabaseConnection, session: Option<Id>, user: Uuid) -> bool {
    let Some(id) = session else { return false };
    let Ok(Some(record)) = DbSessionStore::new(db.clone()).load(&id).await else {
        return false;
    };
    users::find_by_pid(db, user).await.is_ok_and(|u| {
        crate::web::html::record_signed_in_as(&record.data, &u) && LIVE_ROLES.contains(&u.role())
    })
}

struct Listener {
    rx: broadcast::Receiver<LiveEvent>,
    recheck: tokio::time::Interval,
    _slot: StreamSlot,
}

/// Open streams per user (or per order, for shoppers' order pages) in this process, at most
/// this many: each holds a connection and a task, and a script with one stolen session must
/// not open thousands. (A person has a few tabs; the browser reconnects a refused one later.)
pub const MAX_STREAMS_PER_USER: usize = 6;

fn open_streams() -> &'static std::sync::Mutex<std::collections::HashMap<Uuid, usize>> {
    static OPEN: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<Uuid, usize>>> =
        std::sync::OnceLock::new();
    OPEN.get_or_init(Default::default)
}

/// One of a user's (or an order's) open streams; the count goes down when the stream ends,
/// however it ends.
pub struct StreamSlot(Uuid);

impl StreamSlot {
    /// A slot for one more stream of `owner`, if it has fewer than the most.
    #[must_use]
    pub fn take(owner: Uuid) -> Option<Self> {
        let mut open = open_streams()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = open.entry(owner).or_insert(0);
        if *n >= MAX_STREAMS_PER_USER {
            return None;
        }
        *n += 1;
        Some(Self(owner))
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = open_streams()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.0) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.0);
            }
        }
    }
}

async fn stream(page: Page) -> Result<Response, PageError> {
    let user = page.require_role(LIVE_ROLES)?.pid;
    let session = page.session.id();
    let db = page.ctx.db.clone();
    let live = Live::get(&page.ctx);
    let every = Duration::from_secs(
        crate::settings::Settings::get(&page.ctx)
            .live
            .recheck_secs
            .max(1),
    );
    let mut recheck = tokio::time::interval(every);
    recheck.reset();
    let slot = StreamSlot::take(user).ok_or(AppError::RateLimited {
        retry_after: every.as_secs(),
    })?;
    let listener = Listener {
        rx: live.subscribe(),
        recheck,
        _slot: slot,
    };
    let stop = live.shutdown();
    let views: Arc<TeraView> = engine(&page.ctx);
    let events = futures_util::stream::unfold(listener, move |mut l| {
        let views = views.clone();
        let mut stop = stop.clone();
        let db = db.clone();
        async move {
            loop {
                if *stop.borrow() {
                    return None;
                }
                tokio::select! {
                    got = l.rx.recv() => match got {
                        Ok(e) => {
                            if let Some(sse) = render(&views, &e) {
                                return Some((Ok::<_, Infallible>(sse), l));
                            }
                        }
                        // A slow listener skipped some events; the page shows them on reload.
                        Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return None,
                    },
                    _ = l.recheck.tick() => {
                        // Logged out, deactivated or demoted since connecting: end the
                        // stream; the browser reconnects and meets the usual checks.
                        if !still_allowed(&db, session, user).await {
                            return None;
                        }
                    }
                    _ = stop.changed() => return None,
                }
            }
        }
    });
    Ok(sse_response(events))
}

/// A stream of server-sent events as the answer, kept alive, and passed through proxies
/// (nginx) as the events come.
pub fn sse_response<S>(events: S) -> Response
where
    S: futures_util::Stream<Item = Result<Event, Infallible>> + Send + 'static,
{
    let mut res = Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response();
    res.headers_mut().insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    res
}

#[must_use]
pub fn routes() -> Routes {
    Routes::new().add("/admin/live", axum::routing::get(stream))
}

#[cfg(test)]
mod tests {
    use super::{StreamSlot, MAX_STREAMS_PER_USER};

    #[test]
    fn a_user_holds_a_bounded_number_of_streams_and_gets_them_back() {
        let user = uuid::Uuid::new_v4();
        let mut held: Vec<StreamSlot> = (0..MAX_STREAMS_PER_USER)
            .map(|_| StreamSlot::take(user).expect("under the cap"))
            .collect();
        assert!(StreamSlot::take(user).is_none(), "one more is refused");
        assert!(
            StreamSlot::take(uuid::Uuid::new_v4()).is_some(),
            "others are not affected"
        );
        held.pop();
        assert!(
            StreamSlot::take(user).is_some(),
            "a closed stream frees its slot"
        );
    }
}
