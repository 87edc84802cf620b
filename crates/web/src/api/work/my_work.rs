//! `GET /api/v1/me/work`: what the caller's home page shows ([`tenant_core::work::my_work`]).

use axum::Json;
use axum::routing;
use serde_json::{Value, json};
use tenant_core::work::my_work::{self, Due, MyWork};

use crate::api::views::rfc3339;
use crate::api::{Access, Route, route};
use crate::http::caller::Caller;
use crate::http::error::ApiResult;

/// The home page's data as the API shows it.
pub(crate) fn work_view(work: &MyWork) -> Value {
    let mut groups = serde_json::Map::new();
    for due in Due::ALL {
        let tasks: Vec<Value> = work
            .tasks
            .iter()
            .filter(|t| t.due == due)
            .map(|t| {
                json!({
                    "id": t.id,
                    "title": t.title,
                    "status": t.status.as_str(),
                    "due_on": t.due_on.map(|d| d.to_string()),
                    "project": t.project_id,
                    "project_name": t.project_name,
                })
            })
            .collect();
        groups.insert(due.as_str().to_owned(), Value::Array(tasks));
    }
    json!({
        "tasks": groups,
        "projects": work.projects.iter().map(|p| json!({
            "id": p.id,
            "name": p.name,
            "status": p.status.as_str(),
            "company_name": p.company_name,
            "done": p.done,
            "total": p.total,
        })).collect::<Vec<_>>(),
        "unread": work.unread,
        "conversations": work.conversations.iter().map(|c| json!({
            "link": c.link,
            "sentence": c.sentence,
            "unread": c.unread,
            "at": rfc3339(c.at),
        })).collect::<Vec<_>>(),
        "health": work.health.as_ref().map(|h| json!({
            "pending_invitations": h.pending_invitations,
            "access_ending": h.access_ending.iter().map(|(id, name, at)| json!({
                "id": id, "name": name, "access_expires_at": rfc3339(*at),
            })).collect::<Vec<_>>(),
        })),
    })
}

/// `GET /api/v1/me/work`.
pub(crate) async fn get(caller: Caller) -> ApiResult<Json<Value>> {
    let today = time::OffsetDateTime::now_utc().date();
    let work = my_work::my_work(caller.tenant.store(), &caller.principal, today).await?;
    Ok(Json(work_view(&work)))
}

/// This module's routes of `/api/v1`.
pub(crate) fn routes() -> Vec<Route> {
    const NONE: &[(&str, &str, bool)] = &[];
    vec![route(
        axum::http::Method::GET,
        "/api/v1/me/work",
        "Your home page: staff get their open tasks (overdue, today, this_week, later) and projects with progress; client contacts their company's projects and the client-visible tasks waiting in Review; admins also the brand's health; with the unread notification count and the conversations with unread mentions, comments or client messages",
        Access::SignedIn,
        NONE,
        routing::get(get),
    )]
}
