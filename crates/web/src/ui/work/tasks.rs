//! A project's Kanban board on its page, and a task's own page. Cards move with buttons
//! (no JavaScript): one column left or right, one place up or down. What may be done is
//! decided by [`tenant_core::work::tasks`]; the page only leaves out buttons the viewer's
//! role could not use. Client contacts see the client-visible cards, read-only.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::html;
use tenant_core::Error;
use tenant_core::access::permissions::Permission;
use tenant_core::access::{Principal, UserKind};
use tenant_core::talk::threads::ThreadRef;
use tenant_core::work::projects;
use tenant_core::work::tasks::{self, NewTask, Step, TaskChange, TaskStatus, Visibility};

use crate::http::error::{ApiError, status_of};
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::forms::DoneQuery;
use crate::ui::forms::{Failed, Pairs, error_line, field, sent};
use crate::ui::layout::paragraphs;
use crate::ui::layout::{Field, Section, csrf_field, notice};
use crate::ui::talk::conversations::thread_section;
use crate::ui::work::board::Can;
use crate::ui::work::projects::{Tab, render_project};

/// The board's routes.
pub(crate) fn routes() -> Pages {
    let step = |step: Step| {
        post(
            move |viewer: Viewer, headers: HeaderMap, path: Path<(String, String)>, form| async move {
                move_step(viewer, headers, path, form, step).await
            },
        )
    };
    Pages::new()
        .route("/projects/{id}/tasks", "POST", post(create))
        .route("/projects/{id}/tasks/{task}", "GET", get(show))
        .route("/projects/{id}/tasks/{task}/edit", "POST", post(edit))
        .route("/projects/{id}/tasks/{task}/left", "POST", step(Step::Left))
        .route(
            "/projects/{id}/tasks/{task}/right",
            "POST",
            step(Step::Right),
        )
        .route("/projects/{id}/tasks/{task}/up", "POST", step(Step::Up))
        .route("/projects/{id}/tasks/{task}/down", "POST", step(Step::Down))
        .route(
            "/projects/{id}/tasks/{task}/delete",
            "GET POST",
            get(confirm_delete).post(delete),
        )
}

/// `POST /projects/{id}/tasks`: adds a task, or shows the project's page with the form's
/// input kept and its error in place.
pub(crate) async fn create(
    viewer: Viewer,
    headers: HeaderMap,
    Path(project_id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let new = NewTask {
        title: field(&pairs, "title").to_owned(),
        description: field(&pairs, "description").to_owned(),
        status: None,
        visibility: sent(&pairs, "visibility"),
        assignee: sent(&pairs, "assignee"),
        due_on: sent(&pairs, "due_on"),
    };
    Ok(
        match tasks::create_task(viewer.tenant.store(), principal, &project_id, &new).await {
            Ok(task) => Redirect::to(&format!(
                "/projects/{project_id}?done=task#col-{}",
                task.status.as_str()
            ))
            .into_response(),
            Err(Error::Forbidden(_)) => viewer.forbidden(),
            Err(error) => {
                let status = status_of(&error);
                let (failed, message) = Failed::new("task", pairs, error);
                render_project(
                    &viewer,
                    principal,
                    &project_id,
                    Some((message, true)),
                    Some(&failed),
                    status,
                    Tab::Board,
                    None,
                )
                .await
            }
        },
    )
}

/// An arrow of the board: one step from wherever the card is when the change runs.
async fn move_step(
    viewer: Viewer,
    headers: HeaderMap,
    Path((project_id, task_id)): Path<(String, String)>,
    form: Result<Form<Pairs>, FormRejection>,
    step: Step,
) -> Result<Response, Response> {
    let (principal, _) = viewer.signed_in_form(&headers, form)?;
    let change = TaskChange {
        step: Some(step),
        ..TaskChange::default()
    };
    Ok(
        match tasks::update_task(
            viewer.tenant.store(),
            principal,
            &project_id,
            &task_id,
            &change,
        )
        .await
        {
            Ok(task) => Redirect::to(&format!(
                "/projects/{project_id}#col-{}",
                task.status.as_str()
            ))
            .into_response(),
            Err(error) => refused(&viewer, principal, &project_id, &task_id, None, error).await,
        },
    )
}

/// `POST /projects/{id}/tasks/{task}/edit`: the task page's one form; what it shows the
/// viewer may change (the fields, the assignee, the column), and only that is sent.
pub(crate) async fn edit(
    viewer: Viewer,
    headers: HeaderMap,
    Path((project_id, task_id)): Path<(String, String)>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let change = TaskChange {
        title: sent(&pairs, "title"),
        description: sent(&pairs, "description"),
        visibility: sent(&pairs, "visibility"),
        due_on: sent(&pairs, "due_on").map(Some),
        assignee: sent(&pairs, "assignee").map(Some),
        status: sent(&pairs, "status"),
        ..TaskChange::default()
    };
    Ok(
        match tasks::update_task(
            viewer.tenant.store(),
            principal,
            &project_id,
            &task_id,
            &change,
        )
        .await
        {
            Ok(_) => Redirect::to(&format!(
                "/projects/{project_id}/tasks/{task_id}?done=saved"
            ))
            .into_response(),
            Err(error) => {
                refused(
                    &viewer,
                    principal,
                    &project_id,
                    &task_id,
                    Some(pairs),
                    error,
                )
                .await
            }
        },
    )
}

/// `GET /projects/{id}/tasks/{task}/delete`: asks first.
pub(crate) async fn confirm_delete(
    viewer: Viewer,
    Path((project_id, task_id)): Path<(String, String)>,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    let task = tasks::get_task(viewer.tenant.store(), principal, &project_id, &task_id)
        .await
        .map_err(|error| viewer.refusal("Task", Section::Projects, error))?;
    // Found first (not found before forbidden), then the role.
    if !principal.permissions().contains(Permission::TasksDelete)
        || principal.kind() != UserKind::Staff
    {
        return Err(viewer.forbidden());
    }
    Ok(viewer.confirm(
        Section::Projects,
        &format!("Remove the task {}?", task.title),
        "The task and its place on the board are gone for everyone; the audit log keeps a record of it.",
        &format!("/projects/{project_id}/tasks/{task_id}/delete"),
        "Yes, remove the task",
        &format!("/projects/{project_id}/tasks/{task_id}"),
    ))
}

/// `POST /projects/{id}/tasks/{task}/delete`.
pub(crate) async fn delete(
    viewer: Viewer,
    headers: HeaderMap,
    Path((project_id, task_id)): Path<(String, String)>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, _) = viewer.signed_in_form(&headers, form)?;
    Ok(
        match tasks::delete_task(viewer.tenant.store(), principal, &project_id, &task_id).await {
            Ok(()) => {
                Redirect::to(&format!("/projects/{project_id}?done=task-deleted")).into_response()
            }
            Err(error) => refused(&viewer, principal, &project_id, &task_id, None, error).await,
        },
    )
}

/// A refused change of a task, told on its page (the edit form's input kept when `typed`
/// is given).
async fn refused(
    viewer: &Viewer,
    principal: &Principal,
    project_id: &str,
    task_id: &str,
    typed: Option<Pairs>,
    error: Error,
) -> Response {
    if matches!(error, Error::Forbidden(_)) {
        return viewer.forbidden();
    }
    let status = status_of(&error);
    let (failed, message) = match typed {
        Some(pairs) => {
            let (failed, message) = Failed::new("edit", pairs, error);
            (Some(failed), message)
        }
        None => (None, ApiError::Core(error).page_message()),
    };
    render_task(
        viewer,
        principal,
        project_id,
        task_id,
        Some((message, true)),
        failed.as_ref(),
        status,
    )
    .await
}

/// `GET /projects/{id}/tasks/{task}`.
pub(crate) async fn show(
    viewer: Viewer,
    Path((project_id, task_id)): Path<(String, String)>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    let message = match query.done.as_deref() {
        Some("saved") => Some(("Saved.".to_owned(), false)),
        Some("file") => Some(("The file is attached to the task.".to_owned(), false)),
        _ => None,
    };
    Ok(render_task(
        &viewer,
        principal,
        &project_id,
        &task_id,
        message,
        None,
        StatusCode::OK,
    )
    .await)
}

/// A task's page; `failed` keeps what was typed in its form.
pub(crate) async fn render_task(
    viewer: &Viewer,
    principal: &Principal,
    project_id: &str,
    task_id: &str,
    message: Option<(String, bool)>,
    failed: Option<&Failed>,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let found = match projects::get_project(store, principal, project_id).await {
        Ok(project) => tasks::get_task(store, principal, project_id, task_id)
            .await
            .map(|task| (project, task)),
        Err(error) => Err(error),
    };
    let (project, task) = match found {
        Ok(found) => found,
        Err(error) => {
            return viewer.refusal("Task", Section::Projects, error);
        }
    };
    let can = Can::of(principal, &project);
    let staff = principal.kind() == UserKind::Staff;
    let base = format!("/projects/{}/tasks/{}", project.id, task.id);
    let typed = Failed::typed(failed, "edit");
    let value = |name: &str, current: &str| typed.map_or(current, |t| field(t, name)).to_owned();
    let people = if can.assign {
        tasks::assignable(store, principal, &project.id)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let dates = viewer.look.date_format;
    let task_files =
        crate::ui::work::files::task_files_card(viewer, principal, &project, &task.id).await;
    let due = task.due_on.map(|d| d.to_string()).unwrap_or_default();
    let (title, description, due, visibility, chosen, column) = (
        value("title", &task.title),
        value("description", &task.description),
        value("due_on", &due),
        value("visibility", task.visibility.as_str()),
        value("assignee", task.assignee_id.as_deref().unwrap_or("")),
        value("status", task.status.as_str()),
    );
    let body = html! {
        p { a href={ "/projects/" (project.id) } { "← " (project.name) } }
        h1 { (task.title) }
        @if let Some((text, error)) = &message { (notice(text, *error)) }
        section.card aria-labelledby="about" {
            h2 id="about" { "About" }
            @if task.description.is_empty() { p.hint { "No description." } }
            @else { (paragraphs(&task.description)) }
            dl.facts {
                dt { "Column" } dd { (task.status.label()) }
                @if staff {
                    dt { "Who sees it" }
                    dd { @match task.visibility { Visibility::Client => "staff and the client", Visibility::Internal => "staff only" } }
                    dt { "Assignee" } dd { (task.assignee_name.as_deref().unwrap_or("nobody yet")) }
                }
                @if let Some(due) = task.due_on { dt { "Due" } dd { (dates.date(due)) } }
            }
        }
        @if can.edit || can.assign || can.moves {
            section.card aria-labelledby="edit" {
                h2 id="edit" { "Edit" }
                form method="post" action={ (base) "/edit" } novalidate {
                    (csrf_field(&viewer.token))
                    @if can.edit {
                        (Field::new("title", "Title").value(&title)
                            .error(Failed::error(failed, "edit", "title").as_deref()).required().maxlength(300))
                        label for="f-task-description" { "Description" }
                        textarea id="f-task-description" name="description" rows="4" { (description) }
                        (error_line(Failed::error(failed, "edit", "description")))
                        label for="f-visibility" { "Who sees it" }
                        select id="f-visibility" name="visibility" {
                            option value="internal" { "Staff only (internal)" }
                            option value="client" selected[visibility == "client"] { "Also the client (client-visible)" }
                        }
                        (Field::new("due_on", "Due date").kind("date").value(&due)
                            .error(Failed::error(failed, "edit", "due_on").as_deref()))
                    }
                    @if can.assign {
                        label for="f-assignee" { "Assignee" }
                        select id="f-assignee" name="assignee" {
                            option value="" { "Nobody" }
                            @for (id, name) in &people { option value=(id) selected[chosen == *id] { (name) } }
                        }
                        (error_line(Failed::error(failed, "edit", "assignee")))
                    }
                    @if can.moves {
                        label for="f-status" { "Column" }
                        select id="f-status" name="status" {
                            @for s in TaskStatus::ALL { option value=(s.as_str()) selected[column == s.as_str()] { (s.label()) } }
                        }
                    }
                    div.actions { button type="submit" { "Save task" } }
                }
            }
        }
        (task_files)
        (thread_section(viewer, principal, &project, ThreadRef::Task(&task.id), failed).await)
        @if can.delete {
            section.card aria-labelledby="remove" {
                h2 id="remove" { "Remove" }
                form method="get" action={ (base) "/delete" } {
                    div.actions { button.secondary type="submit" { "Remove task" } }
                }
            }
        }
    };
    viewer.page_with_status(status, &task.title, Section::Projects, body)
}
