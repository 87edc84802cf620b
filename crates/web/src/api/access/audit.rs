//! `/api/v1/audit`: the brand's audit log.

use crate::api::{Access, Route, route};
use axum::Json;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::routing;
use serde::Deserialize;
use serde_json::Value;
use tenant_core::access::permissions::need;
use tenant_core::access::{Scope, permit};
use tenant_core::audit::{self, Filter};

use crate::api::views;
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ApiResult};

#[derive(Debug, Deserialize)]
pub(crate) struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// `GET /api/v1/audit?actor=&action=&since=&until=`, newest first.
pub(crate) async fn audit_log(
    caller: Caller,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::AuditView>(&caller.principal, Scope::Brand)?;
    let Query(query) = query.map_err(|e| ApiError::BadBody(e.body_text()))?;
    let window = views::window("audit", query.limit, query.cursor.as_deref())?;
    let filter = Filter {
        actor_id: query.actor,
        action: query.action,
        since: query
            .since
            .as_deref()
            .map(|t| views::parse_time("since", t))
            .transpose()?,
        until: query
            .until
            .as_deref()
            .map(|t| views::parse_time("until", t))
            .transpose()?,
    };
    let page = audit::list_audit(
        caller.tenant.store(),
        &permit,
        &filter,
        window.after.as_deref(),
        window.limit,
    )
    .await?;
    Ok(Json(views::page_of("audit", page, views::audit_entry)))
}

/// This module's routes of `/api/v1`.
pub(crate) fn routes() -> Vec<Route> {
    use Access::*;
    use axum::http::Method as M;
    use tenant_core::access::permissions::Permission as P;
    const NONE: &[(&str, &str, bool)] = &[];
    vec![route(
        M::GET,
        "/api/v1/audit",
        "The audit log (?actor=&action=&since=&until=), newest first",
        Permission(P::AuditView),
        NONE,
        routing::get(audit_log),
    )]
}
