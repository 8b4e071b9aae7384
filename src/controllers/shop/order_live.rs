//! `/orders/{id}/live`: the moves of one order (paid, shipped, refunded, expired, cancelled)
//! as server-sent events, for the shopper who has its page open (signed in, or a guest through
//! the order's link). The page asks itself for its new state on each event (htmx's SSE
//! extension), so what is shown is rendered by the page with the viewer's rights; without
//! JavaScript it is a normal page.
use std::{convert::Infallible, time::Duration};

use axum::{
    extract::{Path, Query},
    response::{sse::Event, Response},
};
use loco_rs::prelude::Routes;
use tokio::sync::broadcast::error::RecvError;
use tower_sessions::SessionStore;
use uuid::Uuid;

use crate::{
    controllers::admin::live::{sse_response, StreamSlot},
    errors::{AppError, PageError},
    live::{Live, LiveEvent},
    models::{orders, sessions::DbSessionStore},
    web::html::Page,
};

/// What the page that opens the stream shows: its order's status, as of when it was made
/// (milliseconds since 1970).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct Shown {
    shown: String,
    since: Option<i64>,
}

impl Shown {
    /// Whether a move is one the page already shows: the status it shows, from before the
    /// page was made. (The database feed reads with an overlap, so a page can be told of the
    /// very step it was made after; refetching for it would be for nothing.)
    fn already(&self, status: &str, at: &str) -> bool {
        let (Some(since), Ok(at)) = (self.since, chrono::DateTime::parse_from_rfc3339(at)) else {
            return false;
        };
        status == self.shown && at.timestamp_millis() <= since
    }
}

async fn stream(
    page: Page,
    Path(id): Path<Uuid>,
    Query(shown): Query<Shown>,
) -> Result<Response, PageError> {
    let actor = page.order_actor(id).await?;
    let order = orders::find_for(&page.ctx.db, id, &actor).await?;
    if !actor.owns(&order) {
        return Err(PageError(AppError::NotFound));
    }
    // The grant or the login lives in the session: the stream ends with it (logout).
    let Some(session) = page.session.id() else {
        return Err(PageError(AppError::NotFound));
    };
    let every = Duration::from_secs(
        crate::settings::Settings::get(&page.ctx)
            .live
            .recheck_secs
            .max(1),
    );
    let slot = StreamSlot::take(order.pid).ok_or(AppError::RateLimited {
        retry_after: every.as_secs(),
    })?;
    let live = Live::get(&page.ctx);
    let mut recheck = tokio::time::interval(every);
    recheck.reset();
    let state = (live.subscribe(), recheck, slot, page.ctx.db.clone());
    let stop = live.shutdown();
    let pid = order.pid;
    let shown = std::sync::Arc::new(shown);
    let events = futures_util::stream::unfold(state, move |mut s| {
        let mut stop = stop.clone();
        let shown = shown.clone();
        async move {
            loop {
                if *stop.borrow() {
                    return None;
                }
                tokio::select! {
                    got = s.0.recv() => match got {
                        Ok(LiveEvent::OrderStatus { id, status, at })
                            if id == pid && !shown.already(&status, &at) =>
                        {
                            let event = Event::default().event("status").data(status);
                            return Some((Ok::<_, Infallible>(event), s));
                        }
                        Ok(_) | Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return None,
                    },
                    _ = s.1.tick() => {
                        let store = DbSessionStore::new(s.3.clone());
                        if !matches!(store.load(&session).await, Ok(Some(_))) {
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

#[must_use]
pub fn routes() -> Routes {
    Routes::new().add("/orders/{id}/live", axum::routing::get(stream))
}
