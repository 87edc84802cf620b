//! `/api/v1/events` (the live-update stream) and `/api/v1/projects/{id}/activity` (a
//! project's history): both read the brand's events ([`tenant_core::events`]), filtered
//! for the caller.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing;
use serde::Deserialize;
use serde_json::Value;
use tenant_core::events::{self, Event};
use tenant_core::work::activity;

use crate::api::views::{self, Paging, paging};
use crate::api::{Access, Route, route};
use crate::http::caller::{Caller, credential_of};
use crate::http::error::{ApiError, ApiResult};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct StreamQuery {
    /// Resume after this event (for clients that cannot send `Last-Event-ID`).
    #[serde(default)]
    after: Option<String>,
}

/// `GET /api/v1/events`: what the caller may see, as Server-Sent Events, from now or after
/// `Last-Event-ID` (or `?after=`).
#[tracing::instrument(skip_all)]
pub(crate) async fn stream(
    caller: Caller,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let Query(query) = query.map_err(|e| ApiError::BadBody(e.body_text()))?;
    let credential = credential_of(&headers).ok_or(ApiError::Internal(
        "a signed-in request presented no credential",
    ))?;
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(query.after);
    let follower = events::follow(
        caller.tenant.store(),
        caller.principal,
        credential,
        after.as_deref(),
    )
    .await?;
    Ok(crate::http::events::respond(follower))
}

/// An event as the API shows it.
pub(crate) fn event_view(viewer: &tenant_core::access::Principal, event: &Event) -> Value {
    event.view(viewer)
}

/// `GET /api/v1/projects/{id}/activity`: newest first.
pub(crate) async fn activity_list(
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<Paging>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let query = paging(query)?;
    let window = views::event_window("activity", query.limit, query.cursor.as_deref())?;
    let page = activity::project_activity(
        caller.tenant.store(),
        &caller.principal,
        &id,
        window.after.as_deref(),
        window.limit,
    )
    .await?;
    Ok(Json(views::page_of("activity", page, |e| {
        event_view(&caller.principal, e)
    })))
}

/// This module's routes of `/api/v1`.
pub(crate) fn routes() -> Vec<Route> {
    use Access::*;
    use axum::http::Method as M;
    const NONE: &[(&str, &str, bool)] = &[];
    vec![
        route(
            M::GET,
            "/api/v1/events",
            "Live updates: Server-Sent Events of what the caller may see (tasks, files, project members; each with an id), from now or after Last-Event-ID (or ?after=); a heartbeat comment every 15 s",
            SignedIn,
            NONE,
            routing::get(stream),
        ),
        route(
            M::GET,
            "/api/v1/projects/{id}/activity",
            "What happened in the project, newest first, as far as the caller may see it (client contacts: client-visible items only)",
            Project(None),
            NONE,
            routing::get(activity_list),
        ),
    ]
}
