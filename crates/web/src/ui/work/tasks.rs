//! A project's Kanban board on its page, and a task's own page. Cards move with buttons
//! (no JavaScript): one column left or right, one place up or down. What may be done is
//! decided by [`tenant_core::work::tasks`]; the page only leaves out buttons the viewer's role
//! could not use. Client contacts see the client-visible cards, read-only.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tenant_core::Error;
use tenant_core::access::Principal;
use tenant_core::access::UserKind;
use tenant_core::access::permissions::Permission;
use tenant_core::work::projects::{self, Project, ProjectStatus};
use tenant_core::work::tasks::{self, NewTask, Step, Task, TaskChange, TaskStatus, Visibility};

use crate::escape_html as e;
use crate::http::error::ApiError;
use crate::ui::Viewer;
use crate::ui::forms::{Failed, Pairs, field};
use crate::ui::layout::{Section, input, notice};

/// What the viewer may do with cards of `project`.
struct Can {
    create: bool,
    edit: bool,
    assign: bool,
    moves: bool,
    delete: bool,
}

impl Can {
    fn of(principal: &Principal, project: &Project) -> Self {
        let open = principal.kind() == UserKind::Staff && project.status == ProjectStatus::Active;
        let has = |p: Permission| open && principal.permissions().contains(p);
        Can {
            create: has(Permission::TasksCreate),
            edit: has(Permission::TasksEdit),
            assign: has(Permission::TasksAssign),
            moves: has(Permission::TasksMove),
            delete: has(Permission::TasksDelete),
        }
    }
}

fn visibility_badge(task: &Task) -> &'static str {
    match task.visibility {
        Visibility::Client => "<span class=\"status\">client-visible</span>",
        Visibility::Internal => "<span class=\"status\">internal</span>",
    }
}

fn small_button(base: &str, token: &str, action: &str, label: &str, aria: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{base}/{action}\">{token}<button type=\"submit\" class=\"secondary\" aria-label=\"{}\">{label}</button></form>",
        e(aria)
    )
}

/// The board section of a project's page.
pub(crate) async fn board_section(
    viewer: &Viewer,
    principal: &Principal,
    project: &Project,
    token: &str,
    failed: Option<&Failed>,
) -> String {
    let store = viewer.tenant.store();
    let list = match tasks::list_tasks(store, principal, &project.id).await {
        Ok(list) => list,
        Err(error) => return notice(&ApiError::Core(error).page_message(), true),
    };
    let can = Can::of(principal, project);
    let staff = principal.kind() == UserKind::Staff;
    let base = format!("/projects/{}/tasks", e(&project.id));
    let mut out = String::from(
        "<section class=\"card\" aria-labelledby=\"board\"><h2 id=\"board\">Board</h2><div class=\"board\">",
    );
    for (index, status) in TaskStatus::ALL.iter().enumerate() {
        let cards: Vec<&Task> = list.iter().filter(|t| t.status == *status).collect();
        out.push_str(&format!(
            "<section class=\"column\" aria-labelledby=\"col-{word}\"><h3 id=\"col-{word}\">{} <span class=\"hint\">({})</span></h3>",
            status.label(),
            cards.len(),
            word = status.as_str(),
        ));
        if cards.is_empty() {
            out.push_str("<p class=\"hint\">Nothing here.</p>");
        }
        for (place, task) in cards.iter().enumerate() {
            let card = format!("{base}/{}", e(&task.id));
            let mut details = Vec::new();
            if staff {
                details.push(visibility_badge(task).to_owned());
                if let Some(name) = &task.assignee_name {
                    details.push(format!("<span>{}</span>", e(name)));
                }
            }
            if let Some(due) = task.due_on {
                details.push(format!("<span>due {due}</span>"));
            }
            let mut buttons = String::new();
            if can.moves {
                let title = task.title.as_str();
                if index > 0 {
                    let to = TaskStatus::ALL[index - 1];
                    buttons.push_str(&small_button(
                        &card,
                        token,
                        "left",
                        "←",
                        &format!("Move {title} to {}", to.label()),
                    ));
                }
                if place > 0 {
                    buttons.push_str(&small_button(
                        &card,
                        token,
                        "up",
                        "↑",
                        &format!("Move {title} up"),
                    ));
                }
                if place + 1 < cards.len() {
                    buttons.push_str(&small_button(
                        &card,
                        token,
                        "down",
                        "↓",
                        &format!("Move {title} down"),
                    ));
                }
                if index + 1 < TaskStatus::ALL.len() {
                    let to = TaskStatus::ALL[index + 1];
                    buttons.push_str(&small_button(
                        &card,
                        token,
                        "right",
                        "→",
                        &format!("Move {title} to {}", to.label()),
                    ));
                }
            }
            out.push_str(&format!(
                "<article class=\"task\"><a href=\"{card}\">{}</a><p class=\"hint\">{}</p><div class=\"moves\">{buttons}</div></article>",
                e(&task.title),
                details.join(" · "),
            ));
        }
        out.push_str("</section>");
    }
    out.push_str("</div>");
    if can.create {
        let people = if can.assign {
            tasks::assignable(store, principal, &project.id)
                .await
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let typed = Failed::typed(failed, "task");
        let value = |name: &str| typed.map_or("", |t| field(t, name)).to_owned();
        let assignee = if can.assign {
            let options: String = people
                .iter()
                .map(|(id, name)| {
                    let selected = if value("assignee") == *id {
                        " selected"
                    } else {
                        ""
                    };
                    format!("<option value=\"{}\"{selected}>{}</option>", e(id), e(name))
                })
                .collect();
            format!(
                "<label for=\"f-assignee\">Assignee</label><select id=\"f-assignee\" name=\"assignee\"><option value=\"\">Nobody yet</option>{options}</select>"
            )
        } else {
            String::new()
        };
        let client_selected = if value("visibility") == "client" {
            " selected"
        } else {
            ""
        };
        let open = if typed.is_some() { " open" } else { "" };
        out.push_str(&format!(
            "<details{open}><summary><strong>New task</strong></summary><form method=\"post\" action=\"{base}\" novalidate>{token}{}<label for=\"f-task-description\">Description</label><textarea id=\"f-task-description\" name=\"description\" rows=\"2\">{}</textarea><label for=\"f-visibility\">Who sees it</label><select id=\"f-visibility\" name=\"visibility\"><option value=\"internal\">Staff only (internal)</option><option value=\"client\"{client_selected}>Also the client (client-visible)</option></select>{assignee}{}<div class=\"actions\"><button type=\"submit\">Add task</button></div></form></details>",
            input(
                "title",
                "Title",
                "text",
                &value("title"),
                Failed::error(failed, "task", "title").as_deref(),
                "required maxlength=\"300\""
            ),
            e(&value("description")),
            input(
                "due_on",
                "Due date",
                "date",
                &value("due_on"),
                Failed::error(failed, "task", "due_on").as_deref(),
                ""
            ),
        ));
    }
    out.push_str("</section>");
    out
}

/// A field the form sent, if it sent it (a form leaves out what the viewer may not change).
fn sent(pairs: &Pairs, name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

/// `POST /projects/{id}/tasks`: adds a task.
pub(crate) async fn create(
    viewer: &Viewer,
    principal: &Principal,
    project_id: &str,
    pairs: &Pairs,
) -> Result<String, Error> {
    let new = NewTask {
        title: field(pairs, "title").to_owned(),
        description: field(pairs, "description").to_owned(),
        status: None,
        visibility: sent(pairs, "visibility"),
        assignee: sent(pairs, "assignee"),
        due_on: sent(pairs, "due_on"),
    };
    tasks::create_task(viewer.tenant.store(), principal, project_id, &new)
        .await
        .map(|task| {
            format!(
                "/projects/{project_id}?done=task#col-{}",
                task.status.as_str()
            )
        })
}

/// `POST /projects/{id}/tasks/{task}/{left|right|up|down|edit|delete}`: `edit` is the task
/// page's one form (what it shows the viewer may change: fields, assignee, column).
pub(crate) async fn act(
    viewer: &Viewer,
    principal: &Principal,
    project_id: &str,
    task_id: &str,
    action: &str,
    pairs: &Pairs,
) -> Result<String, Error> {
    let store = viewer.tenant.store();
    if action == "delete" {
        tasks::delete_task(store, principal, project_id, task_id).await?;
        return Ok(format!("/projects/{project_id}?done=task-deleted"));
    }
    // The arrows are steps from wherever the card is when the change runs.
    let step = |step: Step| TaskChange {
        step: Some(step),
        ..TaskChange::default()
    };
    let change = match action {
        "left" => step(Step::Left),
        "right" => step(Step::Right),
        "up" => step(Step::Up),
        "down" => step(Step::Down),
        "edit" => TaskChange {
            title: sent(pairs, "title"),
            description: sent(pairs, "description"),
            visibility: sent(pairs, "visibility"),
            due_on: sent(pairs, "due_on").map(Some),
            assignee: sent(pairs, "assignee").map(Some),
            status: sent(pairs, "status"),
            ..TaskChange::default()
        },
        _ => return Err(Error::NotFound("there is no such page".to_owned())),
    };
    let after = tasks::update_task(store, principal, project_id, task_id, &change).await?;
    Ok(match action {
        "edit" => format!("/projects/{project_id}/tasks/{task_id}?done=saved"),
        _ => format!("/projects/{project_id}#col-{}", after.status.as_str()),
    })
}

/// `GET /projects/{id}/tasks/{task_id}`.
pub(crate) async fn show(
    viewer: Viewer,
    Path((project_id, task_id)): Path<(String, String)>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let principal = match viewer.require() {
        Ok(principal) => principal,
        Err(redirect) => return redirect,
    };
    let message = (query.get("done").map(String::as_str) == Some("saved"))
        .then(|| ("Saved.".to_owned(), false));
    render_task(
        &viewer,
        principal,
        &project_id,
        &task_id,
        message,
        None,
        StatusCode::OK,
    )
    .await
}

/// A task's page; `failed` keeps what was typed in its edit form.
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
            return viewer.page_with_status(
                crate::ui::work::projects::status_of(&error),
                "Task",
                Section::Projects,
                notice(&ApiError::Core(error).page_message(), true),
            );
        }
    };
    let can = Can::of(principal, &project);
    let staff = principal.kind() == UserKind::Staff;
    let token = crate::ui::layout::csrf_field(&viewer.token);
    let base = format!("/projects/{}/tasks/{}", e(&project.id), e(&task.id));
    let mut body = format!(
        "<p><a href=\"/projects/{}\">← {}</a></p><h1>{}</h1>",
        e(&project.id),
        e(&project.name),
        e(&task.title)
    );
    if let Some((text, error)) = &message {
        body.push_str(&notice(text, *error));
    }
    let mut facts = vec![format!("<strong>Column:</strong> {}", task.status.label())];
    if staff {
        facts.push(format!(
            "<strong>Who sees it:</strong> {}",
            match task.visibility {
                Visibility::Client => "staff and the client",
                Visibility::Internal => "staff only",
            }
        ));
        facts.push(format!(
            "<strong>Assignee:</strong> {}",
            e(task.assignee_name.as_deref().unwrap_or("nobody yet"))
        ));
    }
    if let Some(due) = task.due_on {
        facts.push(format!("<strong>Due:</strong> {due}"));
    }
    let description = if task.description.is_empty() {
        "<p class=\"hint\">No description.</p>".to_owned()
    } else {
        task.description
            .split("\n\n")
            .map(|p| format!("<p>{}</p>", e(p).replace('\n', "<br>")))
            .collect()
    };
    body.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"about\"><h2 id=\"about\">About</h2>{description}<p>{}</p></section>",
        facts.join("<br>")
    ));
    if can.edit || can.assign || can.moves {
        // One form for everything the viewer may change; what they may not is left out
        // of it, and so out of the change.
        let typed = Failed::typed(failed, "edit");
        let value =
            |name: &str, current: &str| typed.map_or(current, |t| field(t, name)).to_owned();
        let mut fields = String::new();
        if can.edit {
            let due = task.due_on.map(|d| d.to_string()).unwrap_or_default();
            let client_selected = if value("visibility", task.visibility.as_str()) == "client" {
                " selected"
            } else {
                ""
            };
            fields.push_str(&format!(
                "{}<label for=\"f-task-description\">Description</label><textarea id=\"f-task-description\" name=\"description\" rows=\"4\">{}</textarea><label for=\"f-visibility\">Who sees it</label><select id=\"f-visibility\" name=\"visibility\"><option value=\"internal\">Staff only (internal)</option><option value=\"client\"{client_selected}>Also the client (client-visible)</option></select>{}",
                input("title", "Title", "text", &value("title", &task.title), Failed::error(failed, "edit", "title").as_deref(), "required maxlength=\"300\""),
                e(&value("description", &task.description)),
                input("due_on", "Due date", "date", &value("due_on", &due), Failed::error(failed, "edit", "due_on").as_deref(), ""),
            ));
        }
        if can.assign {
            let people = tasks::assignable(viewer.tenant.store(), principal, &project.id)
                .await
                .unwrap_or_default();
            let chosen = value("assignee", task.assignee_id.as_deref().unwrap_or(""));
            let options: String = people
                .iter()
                .map(|(id, name)| {
                    let selected = if chosen == *id { " selected" } else { "" };
                    format!("<option value=\"{}\"{selected}>{}</option>", e(id), e(name))
                })
                .collect();
            fields.push_str(&format!(
                "<label for=\"f-assignee\">Assignee</label><select id=\"f-assignee\" name=\"assignee\"><option value=\"\">Nobody</option>{options}</select>{}",
                crate::ui::forms::error_line(Failed::error(failed, "edit", "assignee"))
            ));
        }
        if can.moves {
            let chosen = value("status", task.status.as_str());
            let options: String = TaskStatus::ALL
                .iter()
                .map(|s| {
                    let selected = if chosen == s.as_str() {
                        " selected"
                    } else {
                        ""
                    };
                    format!(
                        "<option value=\"{}\"{selected}>{}</option>",
                        s.as_str(),
                        s.label()
                    )
                })
                .collect();
            fields.push_str(&format!(
                "<label for=\"f-status\">Column</label><select id=\"f-status\" name=\"status\">{options}</select>"
            ));
        }
        body.push_str(&format!(
            "<section class=\"card\" aria-labelledby=\"edit\"><h2 id=\"edit\">Edit</h2><form method=\"post\" action=\"{base}/edit\" novalidate>{token}{fields}<div class=\"actions\"><button type=\"submit\">Save task</button></div></form></section>"
        ));
    }
    if can.delete {
        body.push_str(&format!(
            "<section class=\"card\" aria-labelledby=\"remove\"><h2 id=\"remove\">Remove</h2><form method=\"post\" action=\"{base}/delete\">{token}<div class=\"actions\"><button type=\"submit\" class=\"secondary\">Remove task</button></div></form></section>"
        ));
    }
    viewer.page_with_status(status, &task.title, Section::Projects, body)
}

/// Answers a board action: to where it leads, or the page with what went wrong.
pub(crate) async fn answer(
    viewer: &Viewer,
    principal: &Principal,
    project_id: &str,
    task_id: Option<&str>,
    action: &str,
    pairs: Pairs,
    outcome: Result<String, Error>,
) -> Response {
    let error = match outcome {
        Ok(target) => return Redirect::to(&target).into_response(),
        Err(Error::Forbidden(_)) => return viewer.forbidden(),
        Err(error) => error,
    };
    let status = crate::ui::work::projects::status_of(&error);
    let Some(task_id) = task_id else {
        let (failed, message) = Failed::new("task", pairs, error);
        return crate::ui::work::projects::render_project(
            viewer,
            principal,
            project_id,
            Some((message, true)),
            Some(&failed),
            status,
        )
        .await;
    };
    // A task's edit form keeps what was typed; other refusals are told in a sentence.
    let (failed, message) = if action == "edit" {
        let (failed, message) = Failed::new("edit", pairs, error);
        (Some(failed), message)
    } else {
        (None, ApiError::Core(error).page_message())
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
