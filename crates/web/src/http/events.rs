//! Live updates as Server-Sent Events (the HTML standard's `text/event-stream`): one
//! [`tenant_core::events::Follower`] per open stream, each event with its `id:` so a
//! browser that reconnects resumes after it (`Last-Event-ID`), a comment as heartbeat.

use std::convert::Infallible;
use std::time::Duration;

use axum::http::{HeaderValue, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, StreamExt as _};
use tenant_core::events::{Follower, Next};

/// How long a browser waits before it opens a stream that ended again.
const RETRY: Duration = Duration::from_secs(2);

/// The stream's answer: events as the follower yields them, until it ends.
pub(crate) fn respond(follower: Follower) -> Response {
    let opening = stream::once(async {
        Ok::<Event, Infallible>(Event::default().retry(RETRY).comment("live updates"))
    });
    let events = stream::unfold(Some(follower), |state| async move {
        let mut follower = state?;
        let items: Vec<Result<Event, Infallible>> = match follower.next().await {
            Next::Events(events) => events
                .into_iter()
                .map(|(id, view)| Ok(Event::default().id(id.to_string()).data(view.to_string())))
                .collect(),
            Next::Heartbeat => vec![Ok(Event::default().comment("heartbeat"))],
            Next::End => return None,
        };
        Some((stream::iter(items), Some(follower)))
    })
    .flatten();
    let mut response = Sse::new(opening.chain(events)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Proxies in front of the server must pass each event on at once.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}
