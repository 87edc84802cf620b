//! The board of a project's page: its four columns with their cards, the arrows that move
//! a card (`tasks.move`) and the New task form (`tasks.create`). The project page shows it;
//! the task actions it posts to are in [`super::tasks`]. `board.js` adds dragging, keyboard
//! moves and live updates to it.

use maud::{Markup, html};
use tenant_core::access::permissions::Permission;
use tenant_core::access::{Principal, UserKind};
use tenant_core::work::projects::{Project, ProjectStatus};
use tenant_core::work::tasks::{self, Task, TaskStatus, Visibility};

use crate::http::error::ApiError;
use crate::ui::Viewer;
use crate::ui::forms::{Failed, error_line, field};
use crate::ui::layout::{Field, csrf_field, notice};

/// The board's routes: its script (the board's forms are the tasks' pages).
pub(crate) fn routes() -> crate::ui::Pages {
    crate::ui::Pages::new().route("/assets/board.js", "GET", axum::routing::get(script))
}

/// Dragging, keyboard moves and live updates of the board.
const SCRIPT: &str = include_str!("board.js");

/// `GET /assets/board.js`.
async fn script() -> axum::response::Response {
    crate::ui::layout::script_answer(SCRIPT)
}

/// What the viewer may do with cards of `project`.
pub(crate) struct Can {
    pub(crate) create: bool,
    pub(crate) edit: bool,
    pub(crate) assign: bool,
    pub(crate) moves: bool,
    pub(crate) delete: bool,
}

impl Can {
    pub(crate) fn of(principal: &Principal, project: &Project) -> Self {
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

fn visibility_badge(task: &Task) -> Markup {
    html! {
        @match task.visibility {
            Visibility::Client => span.status { "client-visible" },
            Visibility::Internal => span.status { "internal" },
        }
    }
}

fn small_button(viewer: &Viewer, card: &str, action: &str, label: &str, aria: &str) -> Markup {
    html! {
        form method="post" action={ (card) "/" (action) } {
            (csrf_field(&viewer.token))
            button.secondary type="submit" aria-label=(aria) { (label) }
        }
    }
}

/// The board section of a project's page.
pub(crate) async fn board_section(
    viewer: &Viewer,
    principal: &Principal,
    project: &Project,
    failed: Option<&Failed>,
) -> Markup {
    let store = viewer.tenant.store();
    let list = match tasks::list_tasks(store, principal, &project.id).await {
        Ok(list) => list,
        Err(error) => return notice(&ApiError::Core(error).page_message(), true),
    };
    let can = Can::of(principal, project);
    let staff = principal.kind() == UserKind::Staff;
    let base = format!("/projects/{}/tasks", project.id);
    let people = if can.create && can.assign {
        tasks::assignable(store, principal, &project.id)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let typed = Failed::typed(failed, "task");
    let value = |name: &str| typed.map_or("", |t| field(t, name)).to_owned();
    let dates = viewer.look.date_format;
    let (title, description, due, chosen, visibility) = (
        value("title"),
        value("description"),
        value("due_on"),
        value("assignee"),
        value("visibility"),
    );
    html! {
        section.card aria-labelledby="board" {
            h2 id="board" { "Board" }
            @if can.moves {
                p.hint id="board-help" { "Drag a card to move it, or focus it and press Space, then the arrow keys, then Space to drop it (Escape puts it back)." }
            }
            p.notice.error id="board-problem" role="alert" hidden {}
            div.visually-hidden id="board-status" aria-live="polite" {}
            div.board data-project=(project.id) data-moves=(can.moves) {
                @for (index, status) in TaskStatus::ALL.iter().enumerate() {
                    @let cards: Vec<&Task> = list.iter().filter(|t| t.status == *status).collect();
                    section.column aria-labelledby={ "col-" (status.as_str()) } data-status=(status.as_str()) {
                        h3 id={ "col-" (status.as_str()) } { (status.label()) " " span.hint { "(" (cards.len()) ")" } }
                        p.hint.empty hidden[!cards.is_empty()] { "Nothing here." }
                        @for (place, task) in cards.iter().enumerate() {
                            @let card = format!("{base}/{}", task.id);
                            article.task data-task=(task.id) data-title=(task.title)
                                tabindex=[can.moves.then_some("0")]
                                aria-describedby=[can.moves.then_some("board-help")] {
                                a href=(card) { (task.title) }
                                p.hint {
                                    @if staff {
                                        (visibility_badge(task))
                                        @if let Some(name) = &task.assignee_name { " · " span { (name) } }
                                    }
                                    @if let Some(due) = task.due_on {
                                        @if staff { " · " }
                                        span { "due " (dates.date(due)) }
                                    }
                                }
                                @if can.moves {
                                    div.moves {
                                        @if index > 0 {
                                            (small_button(viewer, &card, "left", "←", &format!("Move {} to {}", task.title, TaskStatus::ALL[index - 1].label())))
                                        }
                                        @if place > 0 {
                                            (small_button(viewer, &card, "up", "↑", &format!("Move {} up", task.title)))
                                        }
                                        @if place + 1 < cards.len() {
                                            (small_button(viewer, &card, "down", "↓", &format!("Move {} down", task.title)))
                                        }
                                        @if index + 1 < TaskStatus::ALL.len() {
                                            (small_button(viewer, &card, "right", "→", &format!("Move {} to {}", task.title, TaskStatus::ALL[index + 1].label())))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            script src="/assets/board.js" defer {}
            @if can.create {
                details open[typed.is_some()] {
                    summary { strong { "New task" } }
                    form method="post" action=(base) novalidate {
                        (csrf_field(&viewer.token))
                        (Field::new("title", "Title").value(&title)
                            .error(Failed::error(failed, "task", "title").as_deref()).required().maxlength(300))
                        label for="f-task-description" { "Description" }
                        textarea id="f-task-description" name="description" rows="2" { (description) }
                        (error_line(Failed::error(failed, "task", "description")))
                        label for="f-visibility" { "Who sees it" }
                        select id="f-visibility" name="visibility" {
                            option value="internal" { "Staff only (internal)" }
                            option value="client" selected[visibility == "client"] { "Also the client (client-visible)" }
                        }
                        @if can.assign {
                            label for="f-assignee" { "Assignee" }
                            select id="f-assignee" name="assignee" {
                                option value="" { "Nobody yet" }
                                @for (id, name) in &people { option value=(id) selected[chosen == *id] { (name) } }
                            }
                            (error_line(Failed::error(failed, "task", "assignee")))
                        }
                        (Field::new("due_on", "Due date").kind("date").value(&due)
                            .error(Failed::error(failed, "task", "due_on").as_deref()))
                        div.actions { button type="submit" { "Add task" } }
                    }
                }
            }
        }
    }
}
