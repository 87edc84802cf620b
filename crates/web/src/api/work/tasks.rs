//! `/api/v1/projects/{id}/tasks`: the project's Kanban board. Each handler reads its JSON
//! body and calls the one service entry of its action in [`tenant_core::work::tasks`],
//! which enters the project grant before it reads the input.

use crate::api::{Access, Route, route};
use axum::Json;
use axum::extract::Path;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing;
use serde::Deserialize;
use serde_json::{Value, json};
use tenant_core::access::Principal;
use tenant_core::access::UserKind;
use tenant_core::work::tasks::{self, NewTask, Task, TaskChange};

use crate::api::views::{self, rfc3339};
use crate::http::caller::Caller;
use crate::http::error::ApiResult;

/// A task as `viewer` may see it: client contacts are not shown who on the agency's side
/// it is assigned to.
pub(crate) fn task_view(viewer: &Principal, task: &Task) -> Value {
    let staff = viewer.kind() == UserKind::Staff;
    json!({
        "id": task.id,
        "project": task.project_id,
        "title": task.title,
        "description": task.description,
        "status": task.status.as_str(),
        "position": task.position,
        "visibility": task.visibility.as_str(),
        "assignee": task.assignee_id.as_ref().filter(|_| staff),
        "assignee_name": task.assignee_name.as_ref().filter(|_| staff),
        "due_on": task.due_on.map(|d| d.to_string()),
        "created_at": rfc3339(task.created_at),
    })
}

/// `GET /api/v1/projects/{id}/tasks`: the board, column by column, top to bottom.
pub(crate) async fn list(
    caller: Caller,
    Path(id): Path<String>,
    window: views::WholeList,
) -> ApiResult<axum::response::Response> {
    let store = caller.tenant.store();
    let viewer = &caller.principal;
    // Whether the caller reaches the project is checked on every request; the page itself
    // depends only on the project and on whether the caller is a client contact, so it is
    // remembered until the brand's data next changes.
    tasks::check_board_access(store, viewer, &id).await?;
    let key = format!(
        "GET /api/v1/projects/{id}/tasks as {:?} window {:?}",
        viewer.kind(),
        window.0
    );
    let body = store
        .remembered(key, async || {
            let list = tasks::list_tasks(store, viewer, &id).await?;
            let page = views::page_whole(
                "tasks",
                &list,
                &window,
                |task| &task.id,
                |t| task_view(viewer, t),
            );
            page.map(|page| views::json_bytes(&page))
        })
        .await?;
    Ok(views::json_answer(body))
}

/// `GET /api/v1/projects/{id}/tasks/{task_id}`.
pub(crate) async fn get(
    caller: Caller,
    Path((id, task_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let task = tasks::get_task(caller.tenant.store(), &caller.principal, &id, &task_id).await?;
    Ok(Json(task_view(&caller.principal, &task)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateBody {
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default)]
    due_on: Option<String>,
}

/// `POST /api/v1/projects/{id}/tasks`: at the bottom of its column (default `todo`),
/// internal unless `visibility` is `client`.
#[tracing::instrument(skip_all)]
pub(crate) async fn create(
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<CreateBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Json(body) = body?;
    let new = NewTask {
        title: body.title,
        description: body.description.unwrap_or_default(),
        status: body.status,
        visibility: body.visibility,
        assignee: body.assignee,
        due_on: body.due_on,
    };
    let task = tasks::create_task(caller.tenant.store(), &caller.principal, &id, &new).await?;
    Ok((
        StatusCode::CREATED,
        Json(task_view(&caller.principal, &task)),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EditBody {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default, deserialize_with = "views::double_option")]
    due_on: Option<Option<String>>,
    #[serde(default, deserialize_with = "views::double_option")]
    assignee: Option<Option<String>>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    position: Option<i64>,
}

/// `PATCH /api/v1/projects/{id}/tasks/{task_id}`: each field needs its permission.
#[tracing::instrument(skip_all)]
pub(crate) async fn edit(
    caller: Caller,
    Path((id, task_id)): Path<(String, String)>,
    body: Result<Json<EditBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body?;
    let change = TaskChange {
        title: body.title,
        description: body.description,
        visibility: body.visibility,
        due_on: body.due_on,
        assignee: body.assignee,
        status: body.status,
        position: body.position,
        step: None,
    };
    let task = tasks::update_task(
        caller.tenant.store(),
        &caller.principal,
        &id,
        &task_id,
        &change,
    )
    .await?;
    Ok(Json(task_view(&caller.principal, &task)))
}

/// `DELETE /api/v1/projects/{id}/tasks/{task_id}`.
#[tracing::instrument(skip_all)]
pub(crate) async fn delete(
    caller: Caller,
    Path((id, task_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    tasks::delete_task(caller.tenant.store(), &caller.principal, &id, &task_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// This module's routes of `/api/v1`.
pub(crate) fn routes() -> Vec<Route> {
    use Access::*;
    use axum::http::Method as M;
    use tenant_core::access::permissions::Permission as P;
    const NONE: &[(&str, &str, bool)] = &[];
    vec![
        route(
            M::GET,
            "/api/v1/projects/{id}/tasks",
            "The project's board: its tasks column by column (todo, in_progress, review, done), top to bottom; client contacts get the client-visible ones",
            Project(None),
            NONE,
            routing::get(list),
        ),
        route(
            M::POST,
            "/api/v1/projects/{id}/tasks",
            "Add a task at the bottom of its column (default todo; internal unless visibility is client; an assignee needs tasks.assign)",
            Project(Some(P::TasksCreate)),
            &[
                ("title", "string", true),
                ("description", "string", false),
                ("status", "string", false),
                ("visibility", "string", false),
                ("assignee", "string", false),
                ("due_on", "string", false),
            ],
            routing::post(create),
        ),
        route(
            M::GET,
            "/api/v1/projects/{id}/tasks/{task_id}",
            "One task",
            Project(None),
            NONE,
            routing::get(get),
        ),
        route(
            M::PATCH,
            "/api/v1/projects/{id}/tasks/{task_id}",
            "Change a task: title, description, visibility, due_on (YYYY-MM-DD or null), assignee (or null), status and position (0 is the top)",
            TaskFields,
            &[
                ("title", "string", false),
                ("description", "string", false),
                ("visibility", "string", false),
                ("due_on", "string|null", false),
                ("assignee", "string|null", false),
                ("status", "string", false),
                ("position", "integer", false),
            ],
            routing::patch(edit),
        ),
        route(
            M::DELETE,
            "/api/v1/projects/{id}/tasks/{task_id}",
            "Remove a task",
            Project(Some(P::TasksDelete)),
            NONE,
            routing::delete(delete),
        ),
    ]
}
