//! The first page after sign-in: the staff workspace, or the client portal for client
//! users (their company's projects, their contacts, and what they may do).

use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use tenant_core::access::Principal;
use tenant_core::access::UserKind;
use tenant_core::access::permissions::Permission;
use tenant_core::accounts::companies;
use tenant_core::accounts::roles;
use tenant_core::work::projects::{self, ProjectFilter, ProjectStatus};

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

/// The viewer's active projects (the first 20), as a card.
async fn projects_card(viewer: &Viewer, principal: &Principal, title: &str) -> Markup {
    let filter = ProjectFilter {
        status: Some(ProjectStatus::Active),
        ..ProjectFilter::default()
    };
    let page = projects::list_projects(viewer.tenant.store(), principal, &filter, None, 20).await;
    if let Err(error) = &page {
        tracing::error!(%error, "cannot list the viewer's projects");
    }
    html! {
        section.card aria-labelledby="projects" {
            h2 id="projects" { (title) }
            @match &page {
                Ok(page) if page.items.is_empty() => p { "No active projects." },
                Ok(page) => {
                    ul {
                        @for project in &page.items {
                            li { a href={ "/projects/" (project.id) } { (project.name) } }
                        }
                    }
                    @if page.next_cursor.is_some() {
                        p { a href="/projects" { "All projects" } }
                    }
                },
                Err(_) => p.hint { "Your projects cannot be listed right now." },
            }
        }
    }
}

async fn portal(viewer: &Viewer, principal: &Principal) -> Markup {
    let store = viewer.tenant.store();
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
        (projects_card(viewer, principal, "Your projects").await)
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
    html! {
        h1 { "Welcome, " (principal.name()) }
        section.card aria-labelledby="you" {
            h2 id="you" { "Your workspace" }
            p { "You are signed in to " (viewer.look.name) " as " strong { (role) } "." }
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
        }
        (projects_card(viewer, principal, "Your projects").await)
        section.card aria-labelledby="can" {
            h2 id="can" { "What your role allows" }
            (may_do(principal))
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
