//! The first page after sign-in, "my work": for staff their open tasks by when they are
//! due, their projects with progress and their unread notifications (admins also the
//! brand's health); for client users the client portal (their company's projects with
//! progress, what waits for their look, their contacts, and what they may do).

use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use tenant_core::access::Principal;
use tenant_core::access::UserKind;
use tenant_core::access::permissions::Permission;
use tenant_core::accounts::companies;
use tenant_core::accounts::roles;
use tenant_core::talk::notifications;
use tenant_core::work::my_work::{self, Due, MyWork};

use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::layout::Section;

/// What a permission lets someone do, as a phrase.
pub(crate) fn phrase(permission: Permission) -> &'static str {
    match permission.as_str() {
        "projects.create" => "create projects",
        "projects.edit" => "edit projects",
        "projects.archive" => "archive projects",
        "projects.view_all" => "see every project",
        "tasks.create" => "create tasks",
        "tasks.edit" => "edit tasks",
        "tasks.assign" => "assign tasks",
        "tasks.move" => "move tasks on the board",
        "tasks.delete" => "delete tasks",
        "files.upload" => "upload files",
        "files.download" => "download files",
        "files.delete" => "delete files",
        "chat.team" => "chat with the team",
        "discussions.participate" => "take part in discussions",
        "messages.clients" => "exchange messages",
        "invoices.view" => "see invoices",
        "invoices.create" => "create invoices",
        "invoices.manage" => "manage invoices",
        "invoices.pay" => "pay invoices",
        "payments.settings" => "change payment settings",
        "users.manage" => "manage users",
        "clients.manage" => "manage clients",
        "roles.manage" => "manage roles",
        "teams.manage" => "manage teams",
        "settings.manage" => "change the workspace's settings",
        "audit.view" => "read the audit log",
        other => other,
    }
}

/// Whether what `permission` allows can be done in this version: the work modules still to
/// come (chat, discussions, client messages, invoices and payments) are not promised
/// on the home page until they exist.
fn available(permission: Permission) -> bool {
    matches!(
        permission.as_str().split('.').next(),
        Some(
            "projects"
                | "tasks"
                | "files"
                | "discussions"
                | "messages"
                | "chat"
                | "users"
                | "clients"
                | "roles"
                | "teams"
                | "settings"
                | "audit"
        )
    )
}

fn may_do(principal: &Principal) -> Markup {
    let always = match principal.kind() {
        UserKind::Client => "see your company's projects and their client-visible tasks",
        UserKind::Staff => "see the projects you are on and their boards",
    };
    let items: Vec<&str> = std::iter::once(always)
        .chain(
            principal
                .permissions()
                .iter()
                .filter(|p| available(*p))
                .map(phrase),
        )
        .collect();
    html! {
        ul { @for item in &items { li { (item) } } }
    }
}

async fn role_name(viewer: &Viewer, principal: &Principal) -> String {
    match roles::get_role(viewer.tenant.store(), principal, principal.role_id()).await {
        Ok(role) => role.name,
        Err(_) => principal.role_id().to_owned(),
    }
}

/// The home page's data, or why there is none.
async fn my_work(viewer: &Viewer, principal: &Principal) -> Option<MyWork> {
    let today = time::OffsetDateTime::now_utc().date();
    match my_work::my_work(viewer.tenant.store(), principal, today).await {
        Ok(work) => Some(work),
        Err(error) => {
            tracing::error!(%error, "cannot read the viewer's work");
            None
        }
    }
}

fn cannot_read() -> Markup {
    html! { p.hint { "This cannot be shown right now. Try again in a moment." } }
}

/// Projects with their progress (done of all the viewer sees).
fn projects_card(work: Option<&MyWork>, title: &str) -> Markup {
    html! {
        section.card aria-labelledby="projects" {
            h2 id="projects" { (title) }
            @match work {
                Some(work) if work.projects.is_empty() => p { "No active projects." },
                Some(work) => {
                    table {
                        thead { tr { th scope="col" { "Project" } th.optional scope="col" { "Client" } th scope="col" { "Progress" } } }
                        tbody {
                            @for project in &work.projects {
                                tr {
                                    td { a href={ "/projects/" (project.id) } { (project.name) } }
                                    td.optional { (project.company_name.as_deref().unwrap_or("internal")) }
                                    td {
                                        progress value=(project.done) max=(project.total.max(1)) aria-label={ (project.name) ": " (project.done) " of " (project.total) " tasks done" } {}
                                        span.hint { (project.done) " of " (project.total) " done" }
                                    }
                                }
                            }
                        }
                    }
                    p { a href="/projects" { "All projects" } }
                },
                None => (cannot_read()),
            }
        }
    }
}

/// Tasks grouped by when they are due.
fn tasks_card(viewer: &Viewer, work: Option<&MyWork>, title: &str, empty: &str) -> Markup {
    let dates = viewer.look.date_format;
    html! {
        section.card aria-labelledby="tasks" {
            h2 id="tasks" { (title) }
            @match work {
                Some(work) if work.tasks.is_empty() => p { (empty) },
                Some(work) => {
                    @for due in Due::ALL {
                        @let tasks: Vec<_> = work.tasks.iter().filter(|t| t.due == due).collect();
                        @if !tasks.is_empty() {
                            h3 { (due.label()) " " span.hint { "(" (tasks.len()) ")" } }
                            ul {
                                @for task in &tasks {
                                    li {
                                        a href={ "/projects/" (task.project_id) "/tasks/" (task.id) } { (task.title) }
                                        " " span.hint {
                                            (task.project_name) " · " (task.status.label())
                                            @if let Some(d) = task.due_on { " · due " (dates.date(d)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                },
                None => (cannot_read()),
            }
        }
    }
}

/// The unread count and the newest few unread notifications, each a link to its item,
/// and the chat channels with unread messages.
async fn notifications_line(
    viewer: &Viewer,
    principal: &Principal,
    work: Option<&MyWork>,
) -> Markup {
    let unread = match work {
        Some(work) if work.unread > 0 => {
            notifications::list(viewer.tenant.store(), principal, true, None, 5)
                .await
                .map(|page| page.items)
                .unwrap_or_default()
        }
        _ => Vec::new(),
    };
    // Chat channels with messages the viewer has not read (staff with team chat).
    let chats: Vec<tenant_core::talk::chat::Channel> = if principal.kind() == UserKind::Staff
        && principal.permissions().contains(Permission::ChatTeam)
    {
        tenant_core::talk::chat::list_channels(viewer.tenant.store(), principal)
            .await
            .map(|list| list.into_iter().filter(|c| c.unread > 0).collect())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let conversations = work.map(|w| w.conversations.as_slice()).unwrap_or_default();
    html! {
        @if !conversations.is_empty() {
            p { "Unread conversations:" }
            ul.unread-conversations {
                @for c in conversations {
                    li {
                        a href=(c.link) { (c.sentence) }
                        " " span.unread.count title="unread" { (c.unread) }
                    }
                }
            }
        }
        @if !chats.is_empty() {
            p { "Unread in chat:" }
            ul.unread-chat {
                @for c in &chats {
                    li {
                        a href={ "/chat/" (c.id) } {
                            @if c.kind == tenant_core::talk::chat::ChannelKind::Direct { (c.name) } @else { "#" (c.name) }
                        }
                        " " span.unread.count { (c.unread) }
                    }
                }
            }
        }
        @if let Some(work) = work {
            p {
                a href="/notifications" {
                    @match work.unread { 0 => "No unread notifications", 1 => "1 unread notification", n => { (n) " unread notifications" } }
                }
            }
            @if !unread.is_empty() {
                ul.unread-list {
                    @for item in &unread { li { a href=(item.link) { (item.sentence) } } }
                }
            }
        }
    }
}

async fn portal(viewer: &Viewer, principal: &Principal) -> Markup {
    let store = viewer.tenant.store();
    let work = my_work(viewer, principal).await;
    let company = match principal.company_id() {
        Some(company_id) => match companies::get_company(store, principal, company_id).await {
            Ok(company) => {
                let contacts = companies::list_contacts(store, principal, company_id, None, 200)
                    .await
                    .map(|page| page.items)
                    .unwrap_or_default();
                Some((company, contacts))
            }
            Err(error) => {
                tracing::error!(%error, "cannot read the viewer's company");
                None
            }
        },
        None => None,
    };
    html! {
        h1 { "Welcome, " (principal.name()) }
        (notifications_line(viewer, principal, work.as_ref()).await)
        (projects_card(work.as_ref(), "Your projects"))
        (tasks_card(viewer, work.as_ref(), "Waiting for your look", "Nothing is waiting for you right now."))
        @if let Some((company, contacts)) = &company {
            section.card aria-labelledby="company" {
                h2 id="company" { (company.name) }
                @if !company.details.is_empty() { p { (company.details) } }
                h3 { "Your contacts here" }
                ul {
                    @for contact in contacts {
                        li { (contact.name) " <" (contact.email) ">" }
                    }
                }
            }
        }
        section.card aria-labelledby="can" {
            h2 id="can" { "What you can do in " (viewer.look.name) }
            (may_do(principal))
        }
    }
}

async fn workspace(viewer: &Viewer, principal: &Principal) -> Markup {
    let permissions = principal.permissions();
    let role = role_name(viewer, principal).await;
    let work = my_work(viewer, principal).await;
    let dates = viewer.look.date_format;
    let health = work.as_ref().and_then(|w| w.health.as_ref());
    html! {
        h1 { "Welcome, " (principal.name()) }
        section.card aria-labelledby="you" {
            h2 id="you" { "Your workspace" }
            p { "You are signed in to " (viewer.look.name) " as " strong { (role) } "." }
            (notifications_line(viewer, principal, work.as_ref()).await)
            @if permissions.contains(Permission::UsersManage) || permissions.contains(Permission::SettingsManage) {
                div.actions {
                    @if permissions.contains(Permission::UsersManage) {
                        a.button href="/users" { "Users" }
                    }
                    @if permissions.contains(Permission::SettingsManage) {
                        a.button href="/settings/branding" { "Branding" }
                    }
                }
            }
            details {
                summary { "What your role allows" }
                (may_do(principal))
            }
        }
        (tasks_card(viewer, work.as_ref(), "My tasks", "Nothing assigned to you is open."))
        (projects_card(work.as_ref(), "My projects"))
        @if let Some(health) = health {
            section.card aria-labelledby="health" {
                h2 id="health" { "The brand's health" }
                ul {
                    li {
                        a href="/users?status=invited" {
                            @match health.pending_invitations { 0 => "No invitations waiting", 1 => "1 invitation not yet accepted", n => { (n) " invitations not yet accepted" } }
                        }
                    }
                    @if health.access_ending.is_empty() {
                        li { "Nobody's access ends in the next two weeks" }
                    }
                    @for (id, name, at) in &health.access_ending {
                        li { a href={ "/users/" (id) } { (name) } "'s access ends " (dates.date(at.date())) }
                    }
                    @if let Some(notice) = &viewer.connection.licence_notice {
                        li { "Licence: " (notice) }
                    }
                }
                p { a href="/access-review" { "Access review" } }
            }
        }
    }
}

/// `GET /`.
pub(crate) async fn home(viewer: Viewer) -> Result<Response, Response> {
    // Signed out, the start page is the sign-in page.
    let Some(principal) = &viewer.principal else {
        if viewer.ended {
            viewer.require()?;
        }
        return Ok(crate::ui::accounts::sessions::sign_in_view(
            &viewer, None, None,
        ));
    };
    viewer.require()?;
    let (title, body) = match principal.kind() {
        UserKind::Client => ("Portal", portal(&viewer, principal).await),
        UserKind::Staff => ("Workspace", workspace(&viewer, principal).await),
    };
    Ok(viewer.page(title, Section::Home, body))
}

/// The home page's route.
pub(crate) fn routes() -> Pages {
    Pages::new().route("/", "GET", get(home))
}
