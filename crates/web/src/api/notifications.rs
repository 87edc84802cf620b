//! `/api/v1/notifications` (the caller's notifications, marking them read) and
//! `/api/v1/me/notifications/settings` (how each kind reaches them): see
//! [`tenant_core::talk::notifications`].

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::Query;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::routing;
use serde::Deserialize;
use serde_json::{Value, json};
use tenant_core::Error;
use tenant_core::talk::notifications::{self, Kind, Notification, Setting, Which};

use crate::api::views::{self, rfc3339};
use crate::api::{Access, Route, route};
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ApiResult};

/// A notification as the API shows it.
pub(crate) fn notification_view(notification: &Notification) -> Value {
    json!({
        "id": notification.id,
        "kind": notification.kind.as_str(),
        "project": notification.project_id,
        "subject": notification.subject_id,
        "actor_name": notification.actor_name,
        "sentence": notification.sentence,
        "link": notification.link,
        "read": notification.read_at.is_some(),
        "read_at": notification.read_at.map(rfc3339),
        "created_at": rfc3339(notification.created_at),
    })
}

/// Every kind's setting as the API shows it.
pub(crate) fn settings_view(settings: &[(Kind, Setting)]) -> Value {
    let kinds: serde_json::Map<String, Value> = settings
        .iter()
        .map(|(kind, setting)| {
            (
                kind.as_str().to_owned(),
                json!({"in_app": setting.in_app, "email": setting.email.as_str(), "label": kind.label()}),
            )
        })
        .collect();
    json!({ "kinds": kinds })
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    #[serde(default)]
    unread: Option<bool>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

/// `GET /api/v1/notifications`: newest first; `?unread=true` for the unread ones.
pub(crate) async fn list(
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(query) = query.map_err(|e| ApiError::BadBody(e.body_text()))?;
    let window = views::window("notifications", query.limit, query.cursor.as_deref())?;
    let store = caller.tenant.store();
    let page = notifications::list(
        store,
        &caller.principal,
        query.unread.unwrap_or(false),
        window.after.as_deref(),
        window.limit,
    )
    .await?;
    let (unread, _) = notifications::badge(store, &caller.principal).await?;
    let mut body = views::page_of("notifications", page, notification_view);
    body["unread"] = json!(unread);
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadBody {
    #[serde(default)]
    ids: Option<Vec<String>>,
    #[serde(default)]
    all: Option<bool>,
}

/// `POST /api/v1/notifications/read`: `ids`, or `all: true`.
pub(crate) async fn read(
    caller: Caller,
    body: Result<Json<ReadBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body?;
    let which = match (body.ids, body.all) {
        (Some(ids), None | Some(false)) => Which::Ids(ids),
        (None, Some(true)) => Which::All,
        _ => {
            return Err(Error::field("ids", "send either ids (a list) or all: true").into());
        }
    };
    let unread = notifications::mark_read(caller.tenant.store(), &caller.principal, &which).await?;
    Ok(Json(json!({ "unread": unread })))
}

/// `GET /api/v1/me/notifications/settings`.
pub(crate) async fn get_settings(caller: Caller) -> ApiResult<Json<Value>> {
    let settings = notifications::settings(caller.tenant.store(), &caller.principal).await?;
    Ok(Json(settings_view(&settings)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KindBody {
    #[serde(default)]
    in_app: Option<bool>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsBody {
    kinds: BTreeMap<String, KindBody>,
}

/// `PUT /api/v1/me/notifications/settings`: the kinds named change, the others stay.
pub(crate) async fn put_settings(
    caller: Caller,
    body: Result<Json<SettingsBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body?;
    let changes: Vec<(String, Option<bool>, Option<String>)> = body
        .kinds
        .into_iter()
        .map(|(kind, setting)| (kind, setting.in_app, setting.email))
        .collect();
    let settings =
        notifications::change_settings(caller.tenant.store(), &caller.principal, &changes).await?;
    Ok(Json(settings_view(&settings)))
}

/// This module's routes of `/api/v1`.
pub(crate) fn routes() -> Vec<Route> {
    use Access::*;
    use axum::http::Method as M;
    const NONE: &[(&str, &str, bool)] = &[];
    vec![
        route(
            M::GET,
            "/api/v1/notifications",
            "Your notifications, newest first (?unread=true for the unread ones), with the unread count",
            SignedIn,
            NONE,
            routing::get(list),
        ),
        route(
            M::POST,
            "/api/v1/notifications/read",
            "Mark notifications read: ids (a list of yours) or all: true; answers the unread count",
            SignedIn,
            &[("ids", "array", false), ("all", "boolean", false)],
            routing::post(read),
        ),
        route(
            M::GET,
            "/api/v1/me/notifications/settings",
            "How each kind of notification reaches you: in_app (true or false) and email (now, daily or never)",
            SignedIn,
            NONE,
            routing::get(get_settings),
        ),
        route(
            M::PUT,
            "/api/v1/me/notifications/settings",
            "Change how kinds of notification reach you: {\"kinds\": {\"assigned\": {\"in_app\": true, \"email\": \"now\"}}}; kinds left out stay",
            SignedIn,
            &[("kinds", "object", true)],
            routing::put(put_settings),
        ),
    ]
}
