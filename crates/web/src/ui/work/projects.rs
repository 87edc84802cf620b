//! The Projects pages, for every signed-in user: the projects they reach (a client contact,
//! their company's), a new project (`projects.create`), and a project's page with its
//! details, who it is shared with, editing (`projects.edit`) and archiving
//! (`projects.archive`). What may be done is decided by the same services as the API; the
//! page only leaves out buttons the viewer's role could not use.

use std::collections::HashMap;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use tenant_core::Error;
use tenant_core::access::UserKind;
use tenant_core::access::permissions::{Permission, need};
use tenant_core::access::{Principal, Scope, permit};
use tenant_core::accounts::companies::{self, Company};
use tenant_core::accounts::teams;
use tenant_core::accounts::users;
use tenant_core::names::percent_encode;
use tenant_core::work::projects::{
    self, NewProject, Project, ProjectChange, ProjectFilter, ProjectStatus, Sharing,
};

use crate::escape_html as e;
use crate::http::error::ApiError;
use crate::ui::Viewer;
use crate::ui::forms::{Failed, Pairs, field, staff_options};
use crate::ui::layout::{Section, csrf_field, input, notice};

fn message_of(error: Error) -> String {
    ApiError::Core(error).page_message()
}

/// The status of a page answering `error`.
pub(crate) fn status_of(error: &Error) -> StatusCode {
    match error {
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::Field { .. } | Error::Invalid(_) | Error::Name(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Error::NotLicensed(_) => StatusCode::PAYMENT_REQUIRED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn day(t: time::OffsetDateTime) -> String {
    format!("{} {} {}", t.day(), t.month(), t.year())
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
) -> String {
    let listed = companies.iter().map(|c| (c.id.as_str(), c.name.as_str()));
    let extra = current.filter(|(id, _)| !companies.iter().any(|c| c.id == *id));
    let options: String = extra
        .into_iter()
        .chain(listed)
        .map(|(id, name)| {
            let selected = if id == chosen { " selected" } else { "" };
            format!("<option value=\"{}\"{selected}>{}</option>", e(id), e(name))
        })
        .collect();
    let (invalid, message) = match error {
        Some(text) => (
            " aria-invalid=\"true\" aria-describedby=\"f-company-error\"",
            format!(
                "<p class=\"field-error\" id=\"f-company-error\">{}</p>",
                e(text)
            ),
        ),
        None => ("", String::new()),
    };
    format!(
        "<label for=\"f-company\">Client company</label><select id=\"f-company\" name=\"company\"{invalid}><option value=\"\">None: internal work</option>{options}</select>{message}<p class=\"hint\">The company's contacts see the project in their portal.</p>"
    )
}

fn description_area(value: &str, error: Option<&str>) -> String {
    let (invalid, message) = match error {
        Some(text) => (
            " aria-invalid=\"true\" aria-describedby=\"f-description-error\"",
            format!(
                "<p class=\"field-error\" id=\"f-description-error\">{}</p>",
                e(text)
            ),
        ),
        None => ("", String::new()),
    };
    format!(
        "<label for=\"f-description\">Description</label><textarea id=\"f-description\" name=\"description\" rows=\"3\"{invalid}>{}</textarea>{message}",
        e(value)
    )
}

/// The form fields of a project (new, or `project` being edited) with what was typed and
/// the field errors of `failed` for `target`.
fn project_fields(
    companies: &[Company],
    project: Option<&Project>,
    failed: Option<&Failed>,
    target: &str,
) -> String {
    let typed = Failed::typed(failed, target);
    let value = |name: &str, current: &str| -> String {
        typed.map_or(current, |t| field(t, name)).to_owned()
    };
    format!(
        "{}{}{}",
        input(
            "name",
            "Project name",
            "text",
            &value("name", project.map_or("", |p| p.name.as_str())),
            Failed::error(failed, target, "name").as_deref(),
            "required maxlength=\"200\""
        ),
        description_area(
            &value(
                "description",
                project.map_or("", |p| p.description.as_str())
            ),
            Failed::error(failed, target, "description").as_deref()
        ),
        company_select(
            companies,
            &value(
                "company",
                project.and_then(|p| p.company_id.as_deref()).unwrap_or("")
            ),
            project.and_then(|p| p.company_id.as_deref().zip(p.company_name.as_deref())),
            Failed::error(failed, target, "company").as_deref()
        ),
    )
}

/// What the list shows: `?status=active|archived|all`, `?q=`, `?cursor=`.
struct Listing {
    status: String,
    q: String,
    cursor: Option<String>,
}

impl Listing {
    fn of(query: &HashMap<String, String>) -> Self {
        let status = match query.get("status").map(String::as_str) {
            Some("archived") => "archived",
            Some("all") => "all",
            _ => "active",
        };
        Listing {
            status: status.to_owned(),
            q: query.get("q").cloned().unwrap_or_default(),
            cursor: query.get("cursor").cloned().filter(|c| !c.is_empty()),
        }
    }
}

/// `GET /projects`.
pub(crate) async fn list(viewer: Viewer, Query(query): Query<HashMap<String, String>>) -> Response {
    let principal = match viewer.require() {
        Ok(principal) => principal,
        Err(redirect) => return redirect,
    };
    let listing = Listing::of(&query);
    render_list(&viewer, principal, &listing, None, None, StatusCode::OK).await
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
    let mut body = String::from("<h1>Projects</h1>");
    if let Some((text, error)) = &message {
        body.push_str(&notice(text, *error));
    }
    if principal.permissions().contains(Permission::ProjectsCreate) && staff {
        match company_choices(viewer, principal).await {
            Ok(companies) => {
                let open = if failed.is_some() { " open" } else { "" };
                body.push_str(&format!(
                    "<details class=\"card\"{open}><summary><strong>New project</strong></summary><form method=\"post\" action=\"/projects\" novalidate>{}{}<div class=\"actions\"><button type=\"submit\">Create project</button></div></form></details>",
                    csrf_field(&viewer.token),
                    project_fields(&companies, None, failed, "new"),
                ));
            }
            Err(error) => body.push_str(&notice(&message_of(error), true)),
        }
    }
    let tabs: String = [
        ("active", "Active"),
        ("archived", "Archived"),
        ("all", "All"),
    ]
    .iter()
    .map(|(word, label)| {
        let current = if listing.status == *word {
            " aria-current=\"page\""
        } else {
            ""
        };
        format!("<a href=\"/projects?status={word}\"{current}>{label}</a>")
    })
    .collect::<Vec<_>>()
    .join(" · ");
    body.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"list\"><h2 id=\"list\">Your projects</h2><nav aria-label=\"Which projects\"><p>{tabs}</p></nav><form method=\"get\" action=\"/projects\" role=\"search\"><input type=\"hidden\" name=\"status\" value=\"{}\"><label for=\"f-q\">Find a project by name</label><div class=\"actions\" style=\"margin-top:0\"><input type=\"search\" id=\"f-q\" name=\"q\" value=\"{}\"><button type=\"submit\" class=\"secondary\">Find</button></div></form>",
        e(&listing.status),
        e(&listing.q),
    ));
    let filter = ProjectFilter {
        status: match listing.status.as_str() {
            "archived" => Some(ProjectStatus::Archived),
            "all" => None,
            _ => Some(ProjectStatus::Active),
        },
        company_id: None,
        q: Some(listing.q.clone()),
    };
    match projects::list_projects(store, principal, &filter, listing.cursor.as_deref(), 100).await
    {
        Ok(page) if page.items.is_empty() => body.push_str(if staff {
            "<p>No projects here. A project you are added to, directly or through a team, shows up here.</p>"
        } else {
            "<p>No projects here yet.</p>"
        }),
        Ok(page) => {
            body.push_str("<table><thead><tr><th scope=\"col\">Project</th><th scope=\"col\">Client</th><th scope=\"col\">Status</th><th scope=\"col\" class=\"optional\">Started</th></tr></thead><tbody>");
            for project in &page.items {
                body.push_str(&format!(
                    "<tr><td><a href=\"/projects/{}\">{}</a></td><td>{}</td><td><span class=\"status\">{}</span></td><td class=\"optional\">{}</td></tr>",
                    e(&project.id),
                    e(&project.name),
                    e(project.company_name.as_deref().unwrap_or("internal")),
                    project.status.as_str(),
                    day(project.created_at),
                ));
            }
            body.push_str("</tbody></table>");
            if let Some(next) = &page.next_cursor {
                body.push_str(&format!(
                    "<p><a href=\"/projects?status={}&amp;q={}&amp;cursor={}\">More projects</a></p>",
                    e(&percent_encode(&listing.status)),
                    e(&percent_encode(&listing.q)),
                    e(&percent_encode(next))
                ));
            }
        }
        Err(error) => body.push_str(&notice(&message_of(error), true)),
    }
    body.push_str("</section>");
    viewer.page_with_status(status, "Projects", Section::Projects, body)
}

/// `POST /projects`: makes a project and opens it.
pub(crate) async fn create(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let (permit, pairs) = match viewer.submitted::<need::ProjectsCreate>(&headers, form) {
        Ok(submitted) => submitted,
        Err(refused) => return refused,
    };
    let new = NewProject {
        name: field(&pairs, "name").to_owned(),
        description: field(&pairs, "description").to_owned(),
        company_id: Some(field(&pairs, "company").to_owned()).filter(|c| !c.is_empty()),
    };
    match projects::create_project(viewer.tenant.store(), &permit, &new).await {
        Ok(project) => {
            Redirect::to(&format!("/projects/{}?done=created", project.id)).into_response()
        }
        Err(error) => {
            let (failed, message) = Failed::new("new", pairs, error);
            let listing = Listing::of(&HashMap::new());
            render_list(
                &viewer,
                permit.principal(),
                &listing,
                Some((message, true)),
                Some(&failed),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// `GET /projects/{id}`.
pub(crate) async fn show(
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let principal = match viewer.require() {
        Ok(principal) => principal,
        Err(redirect) => return redirect,
    };
    let message = query.get("done").and_then(|done| {
        let text = match done.as_str() {
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
    render_project(&viewer, principal, &id, message, None, StatusCode::OK).await
}

pub(crate) async fn render_project(
    viewer: &Viewer,
    principal: &Principal,
    id: &str,
    message: Option<(String, bool)>,
    failed: Option<&Failed>,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let project = match projects::get_project(store, principal, id).await {
        Ok(project) => project,
        Err(error) => {
            return viewer.page_with_status(
                status_of(&error),
                "Project",
                Section::Projects,
                format!(
                    "<p><a href=\"/projects\">← Projects</a></p>{}",
                    notice(&message_of(error), true)
                ),
            );
        }
    };
    let token = csrf_field(&viewer.token);
    let permissions = principal.permissions();
    let staff = principal.kind() == UserKind::Staff;
    let archived = project.status == ProjectStatus::Archived;
    let can_edit = staff && permissions.contains(Permission::ProjectsEdit) && !archived;
    let can_archive = staff && permissions.contains(Permission::ProjectsArchive);
    let base = format!("/projects/{}", e(&project.id));

    let mut body = format!(
        "<p><a href=\"/projects\">← Projects</a></p><h1>{} <span class=\"status\">{}</span></h1>",
        e(&project.name),
        project.status.as_str()
    );
    if let Some((text, error)) = &message {
        body.push_str(&notice(text, *error));
    }
    if archived {
        body.push_str(&notice(
            "This project is archived: everything in it is kept and can be read, but nothing can be changed until it is unarchived.",
            false,
        ));
    }
    let description = if project.description.is_empty() {
        "<p class=\"hint\">No description.</p>".to_owned()
    } else {
        project
            .description
            .split("\n\n")
            .map(|p| format!("<p>{}</p>", e(p).replace('\n', "<br>")))
            .collect()
    };
    body.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"about\"><h2 id=\"about\">About</h2>{description}<p><strong>Client:</strong> {}</p><p class=\"hint\">Started {}{}</p></section>",
        e(project.company_name.as_deref().unwrap_or("none (internal work)")),
        day(project.created_at),
        project
            .archived_at
            .map_or_else(String::new, |at| format!(" · archived {}", day(at))),
    ));

    body.push_str(
        &crate::ui::work::tasks::board_section(viewer, principal, &project, &token, failed).await,
    );
    if staff {
        body.push_str(&people_section(viewer, principal, &project, &base, &token, can_edit).await);
    }
    if can_edit {
        // Without the company list the form could not keep the company: no form then.
        match company_choices(viewer, principal).await {
            Ok(companies) => body.push_str(&format!(
                "<section class=\"card\" aria-labelledby=\"edit\"><h2 id=\"edit\">Edit</h2><form method=\"post\" action=\"{base}/edit\" novalidate>{token}{}<div class=\"actions\"><button type=\"submit\">Save project</button></div></form></section>",
                project_fields(&companies, Some(&project), failed, "edit"),
            )),
            Err(error) => body.push_str(&notice(&message_of(error), true)),
        }
    }
    if can_archive {
        let (action, label, hint) = if archived {
            (
                "unarchive",
                "Unarchive project",
                "Makes the project active again.",
            )
        } else {
            (
                "archive",
                "Archive project",
                "Keeps everything and makes the project read-only. It can be unarchived at any time.",
            )
        };
        body.push_str(&format!(
            "<section class=\"card\" aria-labelledby=\"state\"><h2 id=\"state\">{label}</h2><p class=\"hint\">{hint}</p><form method=\"post\" action=\"{base}/{action}\">{token}<div class=\"actions\"><button type=\"submit\" class=\"secondary\">{label}</button></div></form></section>"
        ));
    }
    viewer.page_with_status(status, &project.name, Section::Projects, body)
}

/// Who the project is shared with, and (for editors) adding and removing people and teams.
async fn people_section(
    viewer: &Viewer,
    principal: &Principal,
    project: &Project,
    base: &str,
    token: &str,
    can_edit: bool,
) -> String {
    let store = viewer.tenant.store();
    let (members, teams_on) = match projects::shared_with(store, principal, &project.id).await {
        Ok(found) => found,
        Err(error) => return notice(&message_of(error), true),
    };
    let mut out = String::from(
        "<section class=\"card\" aria-labelledby=\"people\"><h2 id=\"people\">People</h2><h3>Members</h3>",
    );
    let remove = |kind: &str, id: &str, name: &str| {
        if can_edit {
            format!(
                " <form method=\"post\" action=\"{base}/remove-{kind}/{}\">{token}<button type=\"submit\" class=\"secondary\" aria-label=\"Take {} off the project\">Remove</button></form>",
                e(id),
                e(name)
            )
        } else {
            String::new()
        }
    };
    if members.is_empty() {
        out.push_str("<p class=\"hint\">Nobody is added directly.</p>");
    } else {
        out.push_str("<ul>");
        for member in &members {
            let status = match member.status {
                Some(word) if word != "active" => format!(" <span class=\"status\">{word}</span>"),
                _ => String::new(),
            };
            out.push_str(&format!(
                "<li>{} <span class=\"hint\">{}</span>{status}{}</li>",
                e(&member.name),
                e(member.email.as_deref().unwrap_or_default()),
                remove("member", &member.id, &member.name)
            ));
        }
        out.push_str("</ul>");
    }
    out.push_str("<h3>Teams</h3>");
    if teams_on.is_empty() {
        out.push_str("<p class=\"hint\">No team is on this project.</p>");
    } else {
        out.push_str("<ul>");
        for team in &teams_on {
            out.push_str(&format!(
                "<li>{} <span class=\"hint\">(every member)</span>{}</li>",
                e(&team.name),
                remove("team", &team.id, &team.name)
            ));
        }
        out.push_str("</ul>");
    }
    if can_edit && let Ok(permit) = permit::<need::ProjectsEdit>(principal, Scope::Brand) {
        let staff = users::staff_directory(store, &permit)
            .await
            .unwrap_or_default();
        let people = staff_options(
            staff
                .iter()
                .filter(|u| !members.iter().any(|m| m.id == u.id)),
        );
        let all_teams = teams::list_teams(store, principal)
            .await
            .unwrap_or_default();
        let team_options: String = all_teams
            .iter()
            .filter(|t| !teams_on.iter().any(|on| on.id == t.id))
            .map(|t| format!("<option value=\"{}\">{}</option>", e(&t.id), e(&t.name)))
            .collect();
        if !people.is_empty() {
            out.push_str(&format!(
                "<form method=\"post\" action=\"{base}/add-member\">{token}<label for=\"f-member\">Add a staff member</label><div class=\"actions\" style=\"margin-top:0\"><select id=\"f-member\" name=\"user\">{people}</select><button type=\"submit\" class=\"secondary\">Add member</button></div></form>"
            ));
        }
        if !team_options.is_empty() {
            out.push_str(&format!(
                "<form method=\"post\" action=\"{base}/add-team\">{token}<label for=\"f-team\">Add a team</label><div class=\"actions\" style=\"margin-top:0\"><select id=\"f-team\" name=\"team\">{team_options}</select><button type=\"submit\" class=\"secondary\">Add team</button></div></form>"
            ));
        }
    }
    out.push_str("</section>");
    out
}

/// `POST /projects/{id}/{edit|archive|unarchive|add-member|add-team}`,
/// `/projects/{id}/remove-member/{user}`, `/projects/{id}/remove-team/{team}`, and the
/// board's `/projects/{id}/tasks` and `/projects/{id}/tasks/{task}/{action}`.
pub(crate) async fn act(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let principal = match viewer.require() {
        Ok(principal) => principal,
        Err(redirect) => return redirect,
    };
    let pairs = form.map(|Form(pairs)| pairs).unwrap_or_default();
    if let Err(refused) = viewer.check_form(&headers, field(&pairs, "csrf")) {
        return refused;
    }
    let store = viewer.tenant.store();
    let rest = viewer.path.trim_start_matches("/projects/").to_owned();
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    // The board's actions.
    match parts.as_slice() {
        [id, "tasks"] => {
            let outcome = crate::ui::work::tasks::create(&viewer, principal, id, &pairs).await;
            return crate::ui::work::tasks::answer(
                &viewer, principal, id, None, "create", pairs, outcome,
            )
            .await;
        }
        [id, "tasks", task, action] => {
            let outcome =
                crate::ui::work::tasks::act(&viewer, principal, id, task, action, &pairs).await;
            return crate::ui::work::tasks::answer(
                &viewer,
                principal,
                id,
                Some(task),
                action,
                pairs,
                outcome,
            )
            .await;
        }
        _ => {}
    }
    let outcome = match parts.as_slice() {
        [id, "edit"] => {
            let change = ProjectChange {
                name: Some(field(&pairs, "name").to_owned()),
                description: Some(field(&pairs, "description").to_owned()),
                company_id: Some(
                    Some(field(&pairs, "company").to_owned()).filter(|c| !c.is_empty()),
                ),
            };
            projects::update_project(store, principal, id, &change)
                .await
                .map(|_| (*id, "saved"))
        }
        [id, "archive"] => projects::set_archived(store, principal, id, true)
            .await
            .map(|_| (*id, "archived")),
        [id, "unarchive"] => projects::set_archived(store, principal, id, false)
            .await
            .map(|_| (*id, "unarchived")),
        [id, "add-member"] => {
            projects::share(store, principal, id, Sharing::User(field(&pairs, "user")))
                .await
                .map(|_| (*id, "shared"))
        }
        [id, "add-team"] => {
            projects::share(store, principal, id, Sharing::Team(field(&pairs, "team")))
                .await
                .map(|_| (*id, "shared"))
        }
        [id, "remove-member", user] => projects::unshare(store, principal, id, Sharing::User(user))
            .await
            .map(|_| (*id, "unshared")),
        [id, "remove-team", team] => projects::unshare(store, principal, id, Sharing::Team(team))
            .await
            .map(|_| (*id, "unshared")),
        _ => Err(Error::NotFound("there is no such page".to_owned())),
    };
    match outcome {
        Ok((id, done)) => {
            // Taking oneself off may leave the project out of reach.
            let target = match projects::get_project(store, principal, id).await {
                Ok(_) => format!("/projects/{id}?done={done}"),
                Err(_) => "/projects".to_owned(),
            };
            Redirect::to(&target).into_response()
        }
        Err(Error::Forbidden(_)) => viewer.forbidden(),
        Err(error) => {
            let id = parts.first().copied().unwrap_or_default();
            let status = status_of(&error);
            // Only the edit form has fields to mark; other refusals are told in a sentence.
            let (failed, message) = if parts.get(1) == Some(&"edit") {
                let (failed, message) = Failed::new("edit", pairs, error);
                (Some(failed), message)
            } else {
                (None, message_of(error))
            };
            render_project(
                &viewer,
                principal,
                id,
                Some((message, true)),
                failed.as_ref(),
                status,
            )
            .await
        }
    }
}
