//! The Projects pages, for every signed-in user: the projects they reach (a client contact,
//! their company's), a new project (`projects.create`), and a project's page with its
//! details, its board, who it is shared with, editing (`projects.edit`) and archiving
//! (`projects.archive`). What may be done is decided by the same services as the API; the
//! page only leaves out buttons the viewer's role could not use.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use tenant_core::Error;
use tenant_core::access::UserKind;
use tenant_core::access::permissions::{Permission, need};
use tenant_core::access::{Principal, Scope, permit};
use tenant_core::accounts::companies::{self, Company};
use tenant_core::accounts::{teams, users};
use tenant_core::names::percent_encode;
use tenant_core::work::projects::{
    self, NewProject, Project, ProjectChange, ProjectFilter, ProjectStatus,
};
use tenant_core::work::sharing::{self, Sharing};

use crate::http::error::{ApiError, status_of};
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::forms::{Failed, Pairs, field, staff_options};
use crate::ui::layout::{Field, Section, csrf_field, notice, paragraphs};

/// The Projects pages' routes.
pub(crate) fn routes() -> Pages {
    Pages::new()
        .route("/projects", "GET POST", get(list).post(create))
        .route("/projects/{id}", "GET", get(show))
        .route("/projects/{id}/activity", "GET", get(show_activity))
        .route("/projects/{id}/people", "GET", get(show_people))
        .route("/projects/{id}/settings", "GET", get(show_settings))
        .route("/projects/{id}/edit", "POST", post(edit))
        .route("/projects/{id}/archive", "POST", post(archive))
        .route("/projects/{id}/unarchive", "POST", post(unarchive))
        .route("/projects/{id}/add-member", "POST", post(add_member))
        .route("/projects/{id}/add-team", "POST", post(add_team))
        .route(
            "/projects/{id}/remove-member/{user}",
            "GET POST",
            get(confirm_remove_member).post(remove_member),
        )
        .route(
            "/projects/{id}/remove-team/{team}",
            "GET POST",
            get(confirm_remove_team).post(remove_team),
        )
}

fn message_of(error: Error) -> String {
    ApiError::Core(error).page_message()
}

/// A project's status as a badge.
fn status_badge(status: ProjectStatus) -> Markup {
    let class = match status {
        ProjectStatus::Active => "status on",
        ProjectStatus::Archived => "status",
    };
    html! { span class=(class) { (status.as_str()) } }
}

/// The companies the viewer may pick from (none without a permission that picks one).
async fn company_choices(viewer: &Viewer, principal: &Principal) -> Result<Vec<Company>, Error> {
    let store = viewer.tenant.store();
    if let Ok(permit) = permit::<need::ProjectsCreate>(principal, Scope::Brand) {
        companies::company_directory(store, &permit).await
    } else if let Ok(permit) = permit::<need::ProjectsEdit>(principal, Scope::Brand) {
        companies::company_directory(store, &permit).await
    } else {
        Ok(Vec::new())
    }
}

/// The client company picker; `current` (id and name) is offered even when the directory
/// does not list it, so saving a form never drops the company unasked.
fn company_select(
    companies: &[Company],
    chosen: &str,
    current: Option<(&str, &str)>,
    error: Option<&str>,
) -> Markup {
    let extra = current.filter(|(id, _)| !companies.iter().any(|c| c.id == *id));
    let options: Vec<(&str, &str)> = extra
        .into_iter()
        .chain(companies.iter().map(|c| (c.id.as_str(), c.name.as_str())))
        .collect();
    html! {
        label for="f-company" { "Client company" }
        select id="f-company" name="company" aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "f-company-error")] {
            option value="" { "None: internal work" }
            @for (id, name) in &options { option value=(id) selected[*id == chosen] { (name) } }
        }
        @if let Some(text) = error { p.field-error id="f-company-error" { (text) } }
        p.hint { "The company's contacts see the project in their portal." }
    }
}

/// The form fields of a project (new, or `project` being edited) with what was typed and
/// the field errors of `failed` for `target`.
fn project_fields(
    companies: &[Company],
    project: Option<&Project>,
    failed: Option<&Failed>,
    target: &str,
) -> Markup {
    let typed = Failed::typed(failed, target);
    let value = |name: &str, current: &str| -> String {
        typed.map_or(current, |t| field(t, name)).to_owned()
    };
    let name = value("name", project.map_or("", |p| p.name.as_str()));
    let description = value(
        "description",
        project.map_or("", |p| p.description.as_str()),
    );
    let description_error = Failed::error(failed, target, "description");
    html! {
        (Field::new("name", "Project name").value(&name)
            .error(Failed::error(failed, target, "name").as_deref()).required().maxlength(200))
        label for="f-description" { "Description" }
        textarea id="f-description" name="description" rows="3"
            aria-invalid=[description_error.as_ref().map(|_| "true")]
            aria-describedby=[description_error.as_ref().map(|_| "f-description-error")] { (description) }
        @if let Some(text) = &description_error { p.field-error id="f-description-error" { (text) } }
        (company_select(
            companies,
            &value("company", project.and_then(|p| p.company_id.as_deref()).unwrap_or("")),
            project.and_then(|p| p.company_id.as_deref().zip(p.company_name.as_deref())),
            Failed::error(failed, target, "company").as_deref(),
        ))
    }
}

/// What the list shows: `?status=active|archived|all`, `?q=`, `?cursor=`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Listing {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

impl Listing {
    fn status(&self) -> &'static str {
        match self.status.as_deref() {
            Some("archived") => "archived",
            Some("all") => "all",
            _ => "active",
        }
    }
}

/// `GET /projects`.
pub(crate) async fn list(
    viewer: Viewer,
    Query(listing): Query<Listing>,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    Ok(render_list(&viewer, principal, &listing, None, None, StatusCode::OK).await)
}

async fn render_list(
    viewer: &Viewer,
    principal: &Principal,
    listing: &Listing,
    message: Option<(String, bool)>,
    failed: Option<&Failed>,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let staff = principal.kind() == UserKind::Staff;
    let creates = principal.permissions().contains(Permission::ProjectsCreate) && staff;
    let companies = if creates {
        Some(company_choices(viewer, principal).await.map_err(message_of))
    } else {
        None
    };
    let which = listing.status();
    let q = listing.q.clone().unwrap_or_default();
    let filter = ProjectFilter {
        status: match which {
            "archived" => Some(ProjectStatus::Archived),
            "all" => None,
            _ => Some(ProjectStatus::Active),
        },
        company_id: None,
        q: Some(q.clone()),
    };
    let cursor = listing.cursor.as_deref().filter(|c| !c.is_empty());
    let page = projects::list_projects(store, principal, &filter, cursor, 100)
        .await
        .map_err(message_of);
    let dates = viewer.look.date_format;
    let body = html! {
        h1 { "Projects" }
        @if let Some((text, error)) = &message { (notice(text, *error)) }
        @match &companies {
            Some(Ok(companies)) => details.card open[failed.is_some()] {
                summary { strong { "New project" } }
                form method="post" action="/projects" novalidate {
                    (csrf_field(&viewer.token))
                    (project_fields(companies, None, failed, "new"))
                    div.actions { button type="submit" { "Create project" } }
                }
            },
            Some(Err(text)) => (notice(text, true)),
            None => {},
        }
        section.card aria-labelledby="list" {
            h2 id="list" { "Your projects" }
            nav aria-label="Which projects" { p {
                @for (i, (word, label)) in [("active", "Active"), ("archived", "Archived"), ("all", "All")].iter().enumerate() {
                    @if i > 0 { " · " }
                    a href={ "/projects?status=" (word) } aria-current=[(which == *word).then_some("page")] { (label) }
                }
            } }
            form method="get" action="/projects" role="search" {
                input type="hidden" name="status" value=(which);
                label for="f-q" { "Find a project by name" }
                div.actions style="margin-top:0" {
                    input type="search" id="f-q" name="q" value=(q);
                    button.secondary type="submit" { "Find" }
                }
            }
            @match &page {
                Ok(page) if page.items.is_empty() => {
                    @if staff { p { "No projects here. A project you are added to, directly or through a team, shows up here." } }
                    @else { p { "No projects here yet." } }
                },
                Ok(page) => {
                    table {
                        thead { tr {
                            th scope="col" { "Project" }
                            th scope="col" { "Client" }
                            th scope="col" { "Status" }
                            th.optional scope="col" { "Started" }
                        } }
                        tbody {
                            @for project in &page.items {
                                tr {
                                    td { a href={ "/projects/" (project.id) } { (project.name) } }
                                    td { (project.company_name.as_deref().unwrap_or("internal")) }
                                    td { (status_badge(project.status)) }
                                    td.optional { (dates.date(project.created_at.date())) }
                                }
                            }
                        }
                    }
                    @if let Some(next) = &page.next_cursor {
                        p { a href={ "/projects?status=" (which) "&q=" (percent_encode(&q)) "&cursor=" (percent_encode(next)) } { "More projects" } }
                    }
                },
                Err(text) => (notice(text, true)),
            }
        }
    };
    viewer.page_with_status(status, "Projects", Section::Projects, body)
}

/// `POST /projects`: makes a project and opens it.
pub(crate) async fn create(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::ProjectsCreate>(&headers, form)?;
    let new = NewProject {
        name: field(&pairs, "name").to_owned(),
        description: field(&pairs, "description").to_owned(),
        company_id: Some(field(&pairs, "company").to_owned()).filter(|c| !c.is_empty()),
    };
    Ok(
        match projects::create_project(viewer.tenant.store(), &permit, &new).await {
            Ok(project) => {
                Redirect::to(&format!("/projects/{}?done=created", project.id)).into_response()
            }
            Err(error) => {
                let status = status_of(&error);
                let (failed, message) = Failed::new("new", pairs, error);
                render_list(
                    &viewer,
                    permit.principal(),
                    &Listing::default(),
                    Some((message, true)),
                    Some(&failed),
                    status,
                )
                .await
            }
        },
    )
}

/// The parts of a project's page, each at its own address (so each can be linked to and
/// works without scripts): the board, files, activity, people and settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tab {
    Board,
    Discussions,
    Messages,
    Files,
    Activity,
    People,
    Settings,
}

impl Tab {
    /// The tab's address after `/projects/{id}`.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Tab::Board => "",
            Tab::Discussions => "/discussions",
            Tab::Messages => "/messages",
            Tab::Files => "/files",
            Tab::Activity => "/activity",
            Tab::People => "/people",
            Tab::Settings => "/settings",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Tab::Board => "Board",
            Tab::Discussions => "Discussions",
            Tab::Messages => "Messages",
            Tab::Files => "Files",
            Tab::Activity => "Activity",
            Tab::People => "People",
            Tab::Settings => "Settings",
        }
    }
}

/// Whether `principal` may change `project`'s details or archive it (its Settings tab).
fn settles(principal: &Principal, project: &Project) -> (bool, bool) {
    let permissions = principal.permissions();
    let staff = principal.kind() == UserKind::Staff;
    let archived = project.status == ProjectStatus::Archived;
    (
        staff && permissions.contains(Permission::ProjectsEdit) && !archived,
        staff && permissions.contains(Permission::ProjectsArchive),
    )
}

/// The head of every tab of a project's page: the way back, the name and status, the
/// client, the description, a message, and the tabs the viewer has.
pub(crate) fn project_head(
    viewer: &Viewer,
    principal: &Principal,
    project: &Project,
    tab: Tab,
    message: Option<&(String, bool)>,
) -> Markup {
    let staff = principal.kind() == UserKind::Staff;
    let (can_edit, can_archive) = settles(principal, project);
    use crate::ui::talk::conversations::{has_messages, takes_part};
    use tenant_core::talk::threads::ThreadKind;
    let tabs: Vec<Tab> = [Tab::Board]
        .into_iter()
        .chain(takes_part(principal, ThreadKind::Discussion).then_some(Tab::Discussions))
        .chain(
            (takes_part(principal, ThreadKind::Messages) && has_messages(project))
                .then_some(Tab::Messages),
        )
        .chain([Tab::Files, Tab::Activity])
        .chain(staff.then_some(Tab::People))
        .chain((can_edit || can_archive).then_some(Tab::Settings))
        .collect();
    let dates = viewer.look.date_format;
    html! {
        p { a href="/projects" { "← Projects" } }
        h1 { (project.name) " " (status_badge(project.status)) }
        p.hint {
            strong { "Client:" } " " (project.company_name.as_deref().unwrap_or("none (internal work)"))
            " · started " (dates.date(project.created_at.date()))
            @if let Some(at) = project.archived_at { " · archived " (dates.date(at.date())) }
        }
        @if !project.description.is_empty() { div.about { (paragraphs(&project.description)) } }
        @if let Some((text, error)) = message { (notice(text, *error)) }
        @if project.status == ProjectStatus::Archived {
            (notice("This project is archived: everything in it is kept and can be read, but nothing can be changed until it is unarchived.", false))
        }
        nav.tabs aria-label="Project" {
            @for each in &tabs {
                a href={ "/projects/" (project.id) (each.path()) } aria-current=[(*each == tab).then_some("page")] { (each.label()) }
            }
        }
    }
}

/// The query of a project's tab: what was just done, and where the Activity tab's page
/// starts.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TabQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

/// `GET /projects/{id}`: the Board tab.
pub(crate) async fn show(
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<TabQuery>,
) -> Result<Response, Response> {
    show_tab(viewer, id, query, Tab::Board).await
}

/// `GET /projects/{id}/activity`: the Activity tab.
pub(crate) async fn show_activity(
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<TabQuery>,
) -> Result<Response, Response> {
    show_tab(viewer, id, query, Tab::Activity).await
}

/// `GET /projects/{id}/people`: the People tab (staff).
pub(crate) async fn show_people(
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<TabQuery>,
) -> Result<Response, Response> {
    show_tab(viewer, id, query, Tab::People).await
}

/// `GET /projects/{id}/settings`: the Settings tab (editing and archiving).
pub(crate) async fn show_settings(
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<TabQuery>,
) -> Result<Response, Response> {
    show_tab(viewer, id, query, Tab::Settings).await
}

async fn show_tab(
    viewer: Viewer,
    id: String,
    query: TabQuery,
    tab: Tab,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    let message = query.done.as_deref().and_then(|done| {
        let text = match done {
            "created" => "The project is created. You are its first member.",
            "saved" => "Saved.",
            "archived" => "The project is archived. Everything in it is kept.",
            "unarchived" => "The project is active again.",
            "shared" => "Added to the project.",
            "unshared" => "Taken off the project.",
            "task" => "The task is on the board.",
            "task-deleted" => "The task is removed.",
            _ => return None,
        };
        Some((text.to_owned(), false))
    });
    Ok(render_project(
        &viewer,
        principal,
        &id,
        message,
        None,
        StatusCode::OK,
        tab,
        query.cursor.as_deref(),
    )
    .await)
}

/// A tab of a project's page; `failed` keeps what was typed in its forms, `cursor` is
/// where the Activity tab's page starts.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn render_project(
    viewer: &Viewer,
    principal: &Principal,
    id: &str,
    message: Option<(String, bool)>,
    failed: Option<&Failed>,
    status: StatusCode,
    tab: Tab,
    cursor: Option<&str>,
) -> Response {
    let store = viewer.tenant.store();
    let project = match projects::get_project(store, principal, id).await {
        Ok(project) => project,
        Err(error) => {
            let status = status_of(&error);
            let text = message_of(error);
            return viewer.page_with_status(
                status,
                "Project",
                Section::Projects,
                html! { p { a href="/projects" { "← Projects" } } (notice(&text, true)) },
            );
        }
    };
    let staff = principal.kind() == UserKind::Staff;
    let (can_edit, can_archive) = settles(principal, &project);
    let base = format!("/projects/{}", project.id);
    let content = match tab {
        // The tabs with pages of their own are not drawn here.
        Tab::Board | Tab::Files | Tab::Discussions | Tab::Messages => {
            crate::ui::work::board::board_section(viewer, principal, &project, failed).await
        }
        Tab::Activity => activity_section(viewer, principal, &project, cursor).await,
        Tab::People if staff => people_section(viewer, principal, &project, &base, can_edit).await,
        Tab::Settings if can_edit || can_archive => {
            settings_section(viewer, principal, &project, failed, can_edit, can_archive).await
        }
        Tab::People | Tab::Settings => return viewer.forbidden(),
    };
    let body = html! {
        (project_head(viewer, principal, &project, tab, message.as_ref()))
        (content)
    };
    let title = match tab {
        Tab::Board | Tab::Files => project.name.clone(),
        other => format!("{} · {}", other.label(), project.name),
    };
    viewer.page_with_status(status, &title, Section::Projects, body)
}

/// The Settings tab: the edit form and archiving, as the viewer may use them.
async fn settings_section(
    viewer: &Viewer,
    principal: &Principal,
    project: &Project,
    failed: Option<&Failed>,
    can_edit: bool,
    can_archive: bool,
) -> Markup {
    let base = format!("/projects/{}", project.id);
    let archived = project.status == ProjectStatus::Archived;
    // Without the company list the form could not keep the company: no form then.
    let companies = if can_edit {
        Some(company_choices(viewer, principal).await.map_err(message_of))
    } else {
        None
    };
    html! {
        @match &companies {
            Some(Ok(companies)) => section.card aria-labelledby="edit" {
                h2 id="edit" { "Edit" }
                form method="post" action={ (base) "/edit" } novalidate {
                    (csrf_field(&viewer.token))
                    (project_fields(companies, Some(project), failed, "edit"))
                    div.actions { button type="submit" { "Save project" } }
                }
            },
            Some(Err(text)) => (notice(text, true)),
            None => {},
        }
        @if can_archive {
            @let (action, label, hint) = if archived {
                ("unarchive", "Unarchive project", "Makes the project active again.")
            } else {
                ("archive", "Archive project", "Keeps everything and makes the project read-only. It can be unarchived at any time.")
            };
            section.card aria-labelledby="state" {
                h2 id="state" { (label) }
                p.hint { (hint) }
                form method="post" action={ (base) "/" (action) } {
                    (csrf_field(&viewer.token))
                    div.actions { button.secondary type="submit" { (label) } }
                }
            }
        }
    }
}

/// How many events the Activity tab shows at a time.
const ACTIVITY_PAGE: u32 = 50;

/// The Activity tab: who did what and when, newest first, as far as the viewer may see.
async fn activity_section(
    viewer: &Viewer,
    principal: &Principal,
    project: &Project,
    cursor: Option<&str>,
) -> Markup {
    let page = tenant_core::work::activity::project_activity(
        viewer.tenant.store(),
        principal,
        &project.id,
        cursor.filter(|c| !c.is_empty()),
        ACTIVITY_PAGE,
    )
    .await
    .map_err(message_of);
    let dates = viewer.look.date_format;
    html! {
        section.card aria-labelledby="activity" {
            h2 id="activity" { "Activity" }
            @match &page {
                Ok(page) if page.items.is_empty() => p.hint { "Nothing has happened here yet." },
                Ok(page) => {
                    ol.activity {
                        @for event in &page.items {
                            li {
                                strong { (event.actor_name) } " " (activity_line(project, event))
                                " " span.hint {
                                    time datetime=(crate::api::views::rfc3339(event.created_at)) {
                                        (dates.date(event.created_at.date())) " "
                                        (format!("{:02}:{:02}", event.created_at.hour(), event.created_at.minute())) " UTC"
                                    }
                                }
                            }
                        }
                    }
                    @if let Some(next) = &page.next_cursor {
                        p { a href={ "/projects/" (project.id) "/activity?cursor=" (next) } { "Earlier activity →" } }
                    }
                },
                Err(text) => (notice(text, true)),
            }
        }
    }
}

/// What an event says happened, with a link to what it is about while it is there.
fn activity_line(project: &Project, event: &tenant_core::events::Event) -> Markup {
    let subject = event.subject_id.as_deref().unwrap_or_default();
    let text = |field: &str| event.text(field).unwrap_or("?").to_owned();
    let task_link =
        || html! { a href={ "/projects/" (project.id) "/tasks/" (subject) } { (text("title")) } };
    let file_link =
        || html! { a href={ "/projects/" (project.id) "/files/" (subject) } { (text("name")) } };
    let column = || {
        event
            .text("status")
            .and_then(|s| tenant_core::work::tasks::TaskStatus::parse(s).ok())
            .map_or("another column", |s| s.label())
    };
    html! {
        @match event.kind.as_str() {
            "task.created" => { "added " (task_link()) }
            "task.moved" => { "moved " (task_link()) " to " (column()) }
            "task.changed" => { "changed " (task_link()) }
            "task.removed" if event.flag("hidden") => { "stopped sharing " (text("title")) }
            "task.removed" => { "removed the task " (text("title")) }
            "file.added" => { "uploaded " (file_link()) }
            "file.changed" => { "updated " (file_link()) }
            "file.removed" if event.flag("hidden") => { "stopped sharing " (text("name")) }
            "file.removed" => { "moved " (text("name")) " to the trash" }
            "file.restored" => { "restored " (file_link()) }
            "project.created" => { "created the project" }
            "project.changed" => { "changed the project's details" }
            "project.archived" => { "archived the project" }
            "project.unarchived" => { "made the project active again" }
            "project.member_added" => { "added " (text("name")) " to the project" }
            "project.member_removed" => { "took " (text("name")) " off the project" }
            "project.team_added" => { "added the team " (text("name")) }
            "project.team_removed" => { "took the team " (text("name")) " off" }
            other => { (other) }
        }
    }
}

/// Who the project is shared with, and (for editors) adding and removing people and teams.
async fn people_section(
    viewer: &Viewer,
    principal: &Principal,
    project: &Project,
    base: &str,
    can_edit: bool,
) -> Markup {
    let store = viewer.tenant.store();
    let (members, teams_on) = match sharing::shared_with(store, principal, &project.id).await {
        Ok(found) => found,
        Err(error) => return notice(&message_of(error), true),
    };
    let (staff, all_teams) = match permit::<need::ProjectsEdit>(principal, Scope::Brand) {
        Ok(permit) if can_edit => (
            users::staff_directory(store, &permit)
                .await
                .unwrap_or_default(),
            teams::list_teams(store, principal)
                .await
                .unwrap_or_default(),
        ),
        _ => (Vec::new(), Vec::new()),
    };
    let addable: Vec<_> = staff
        .iter()
        .filter(|u| !members.iter().any(|m| m.id == u.id))
        .collect();
    let addable_teams: Vec<_> = all_teams
        .iter()
        .filter(|t| !teams_on.iter().any(|on| on.id == t.id))
        .collect();
    let remove = |kind: &str, id: &str, name: &str| {
        html! {
            @if can_edit {
                " "
                form method="get" action={ (base) "/remove-" (kind) "/" (id) } {
                    button.secondary type="submit" aria-label={ "Take " (name) " off the project" } { "Remove" }
                }
            }
        }
    };
    html! {
        section.card aria-labelledby="people" {
            h2 id="people" { "People" }
            h3 { "Members" }
            @if members.is_empty() { p.hint { "Nobody is added directly." } }
            @else {
                ul {
                    @for member in &members {
                        li {
                            (member.name) " "
                            span.hint { (member.email.as_deref().unwrap_or_default()) }
                            @if let Some(word) = member.status.filter(|w| *w != "active") { " " span.status { (word) } }
                            (remove("member", &member.id, &member.name))
                        }
                    }
                }
            }
            h3 { "Teams" }
            @if teams_on.is_empty() { p.hint { "No team is on this project." } }
            @else {
                ul {
                    @for team in &teams_on {
                        li { (team.name) " " span.hint { "(every member)" } (remove("team", &team.id, &team.name)) }
                    }
                }
            }
            @if !addable.is_empty() {
                form method="post" action={ (base) "/add-member" } {
                    (csrf_field(&viewer.token))
                    label for="f-member" { "Add a staff member" }
                    div.actions style="margin-top:0" {
                        select id="f-member" name="user" { (staff_options(addable.iter().copied())) }
                        button.secondary type="submit" { "Add member" }
                    }
                }
            }
            @if !addable_teams.is_empty() {
                form method="post" action={ (base) "/add-team" } {
                    (csrf_field(&viewer.token))
                    label for="f-team" { "Add a team" }
                    div.actions style="margin-top:0" {
                        select id="f-team" name="team" {
                            @for team in &addable_teams { option value=(team.id) { (team.name) } }
                        }
                        button.secondary type="submit" { "Add team" }
                    }
                }
            }
        }
    }
}

/// Answers a change of project `id`: back to its page saying `done`, or (taking oneself
/// off may leave it out of reach) to the list; a refusal is told on the project's page,
/// with the edit form's input kept when `form` names it.
async fn answer(
    viewer: &Viewer,
    principal: &Principal,
    id: &str,
    outcome: Result<&str, Error>,
    form: Option<Pairs>,
    tab: Tab,
) -> Response {
    match outcome {
        Ok(done) => {
            let reachable = projects::get_project(viewer.tenant.store(), principal, id)
                .await
                .is_ok();
            let target = if reachable {
                format!("/projects/{id}{}?done={done}", tab.path())
            } else {
                "/projects".to_owned()
            };
            Redirect::to(&target).into_response()
        }
        Err(Error::Forbidden(_)) => viewer.forbidden(),
        Err(error) => {
            let status = status_of(&error);
            let (failed, message) = match form {
                Some(pairs) => {
                    let (failed, message) = Failed::new("edit", pairs, error);
                    (Some(failed), message)
                }
                None => (None, message_of(error)),
            };
            render_project(
                viewer,
                principal,
                id,
                Some((message, true)),
                failed.as_ref(),
                status,
                tab,
                None,
            )
            .await
        }
    }
}

/// `POST /projects/{id}/edit`.
pub(crate) async fn edit(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let change = ProjectChange {
        name: Some(field(&pairs, "name").to_owned()),
        description: Some(field(&pairs, "description").to_owned()),
        company_id: Some(Some(field(&pairs, "company").to_owned()).filter(|c| !c.is_empty())),
    };
    let outcome = projects::update_project(viewer.tenant.store(), principal, &id, &change)
        .await
        .map(|_| "saved");
    Ok(answer(&viewer, principal, &id, outcome, Some(pairs), Tab::Settings).await)
}

/// `POST /projects/{id}/archive`.
pub(crate) async fn archive(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, _) = viewer.signed_in_form(&headers, form)?;
    let outcome = projects::set_archived(viewer.tenant.store(), principal, &id, true)
        .await
        .map(|_| "archived");
    Ok(answer(&viewer, principal, &id, outcome, None, Tab::Settings).await)
}

/// `POST /projects/{id}/unarchive`.
pub(crate) async fn unarchive(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, _) = viewer.signed_in_form(&headers, form)?;
    let outcome = projects::set_archived(viewer.tenant.store(), principal, &id, false)
        .await
        .map(|_| "unarchived");
    Ok(answer(&viewer, principal, &id, outcome, None, Tab::Settings).await)
}

/// `POST /projects/{id}/add-member`.
pub(crate) async fn add_member(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let with = Sharing::User(field(&pairs, "user"));
    let outcome = sharing::share(viewer.tenant.store(), principal, &id, with)
        .await
        .map(|_| "shared");
    Ok(answer(&viewer, principal, &id, outcome, None, Tab::People).await)
}

/// `POST /projects/{id}/add-team`.
pub(crate) async fn add_team(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let with = Sharing::Team(field(&pairs, "team"));
    let outcome = sharing::share(viewer.tenant.store(), principal, &id, with)
        .await
        .map(|_| "shared");
    Ok(answer(&viewer, principal, &id, outcome, None, Tab::People).await)
}

/// The project for a confirmation page, or the page saying why there is none.
async fn project_for(
    viewer: &Viewer,
    principal: &Principal,
    id: &str,
) -> Result<Project, Response> {
    projects::get_project(viewer.tenant.store(), principal, id)
        .await
        .map_err(|error| {
            viewer.page_with_status(
                status_of(&error),
                "Project",
                Section::Projects,
                notice(&message_of(error), true),
            )
        })
}

/// `GET /projects/{id}/remove-member/{user}`: asks first.
pub(crate) async fn confirm_remove_member(
    viewer: Viewer,
    Path((id, user)): Path<(String, String)>,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    let project = project_for(&viewer, principal, &id).await?;
    let name = match sharing::shared_with(viewer.tenant.store(), principal, &id).await {
        Ok((members, _)) => members.into_iter().find(|m| m.id == user).map(|m| m.name),
        Err(_) => None,
    }
    .unwrap_or_else(|| "this member".to_owned());
    Ok(viewer.confirm(
        Section::Projects,
        &format!("Take {name} off {}?", project.name),
        "They no longer reach the project unless a team of theirs is on it; what they did in it stays.",
        &format!("/projects/{id}/remove-member/{user}"),
        &format!("Yes, take {name} off"),
        &format!("/projects/{id}/people"),
    ))
}

/// `POST /projects/{id}/remove-member/{user}`.
pub(crate) async fn remove_member(
    viewer: Viewer,
    headers: HeaderMap,
    Path((id, user)): Path<(String, String)>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, _) = viewer.signed_in_form(&headers, form)?;
    let outcome = sharing::unshare(viewer.tenant.store(), principal, &id, Sharing::User(&user))
        .await
        .map(|_| "unshared");
    Ok(answer(&viewer, principal, &id, outcome, None, Tab::People).await)
}

/// `GET /projects/{id}/remove-team/{team}`: asks first.
pub(crate) async fn confirm_remove_team(
    viewer: Viewer,
    Path((id, team)): Path<(String, String)>,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    let project = project_for(&viewer, principal, &id).await?;
    let name = match sharing::shared_with(viewer.tenant.store(), principal, &id).await {
        Ok((_, teams_on)) => teams_on.into_iter().find(|t| t.id == team).map(|t| t.name),
        Err(_) => None,
    }
    .unwrap_or_else(|| "this team".to_owned());
    Ok(viewer.confirm(
        Section::Projects,
        &format!("Take the team {name} off {}?", project.name),
        "Its members no longer reach the project through the team; members added directly stay.",
        &format!("/projects/{id}/remove-team/{team}"),
        &format!("Yes, take {name} off"),
        &format!("/projects/{id}/people"),
    ))
}

/// `POST /projects/{id}/remove-team/{team}`.
pub(crate) async fn remove_team(
    viewer: Viewer,
    headers: HeaderMap,
    Path((id, team)): Path<(String, String)>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, _) = viewer.signed_in_form(&headers, form)?;
    let outcome = sharing::unshare(viewer.tenant.store(), principal, &id, Sharing::Team(&team))
        .await
        .map(|_| "unshared");
    Ok(answer(&viewer, principal, &id, outcome, None, Tab::People).await)
}
