//! The first page after sign-in: the staff workspace, or the client portal for client
//! users (their company's projects, their contacts, and what they may do).

use axum::response::Response;
use tenant_core::access::Principal;
use tenant_core::access::UserKind;
use tenant_core::access::permissions::Permission;
use tenant_core::accounts::companies;
use tenant_core::accounts::roles;
use tenant_core::work::projects::{self, ProjectFilter, ProjectStatus};

use super::Viewer;
use super::layout::Section;
use crate::escape_html as e;

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

fn may_do(principal: &Principal) -> String {
    let items: Vec<String> = principal
        .permissions()
        .iter()
        .map(|p| format!("<li>{}</li>", e(phrase(p))))
        .collect();
    if items.is_empty() {
        "<p>Your role does not allow any actions yet. Ask your contact if you need more.</p>"
            .to_owned()
    } else {
        format!("<ul>{}</ul>", items.join(""))
    }
}

async fn role_name(viewer: &Viewer, principal: &Principal) -> String {
    match roles::get_role(viewer.tenant.store(), principal, principal.role_id()).await {
        Ok(role) => role.name,
        Err(_) => principal.role_id().to_owned(),
    }
}

/// The viewer's active projects (the first 20), as a card.
async fn projects_card(viewer: &Viewer, principal: &Principal, title: &str) -> String {
    let filter = ProjectFilter {
        status: Some(ProjectStatus::Active),
        ..ProjectFilter::default()
    };
    let list =
        match projects::list_projects(viewer.tenant.store(), principal, &filter, None, 20).await {
            Ok(page) if page.items.is_empty() => "<p>No active projects.</p>".to_owned(),
            Ok(page) => {
                let items: String = page
                    .items
                    .iter()
                    .map(|p| {
                        format!(
                            "<li><a href=\"/projects/{}\">{}</a></li>",
                            e(&p.id),
                            e(&p.name)
                        )
                    })
                    .collect();
                let more = if page.next_cursor.is_some() {
                    "<p><a href=\"/projects\">All projects</a></p>"
                } else {
                    ""
                };
                format!("<ul>{items}</ul>{more}")
            }
            Err(error) => {
                tracing::error!(%error, "cannot list the viewer's projects");
                String::new()
            }
        };
    format!(
        "<section class=\"card\" aria-labelledby=\"projects\"><h2 id=\"projects\">{}</h2>{list}</section>",
        e(title)
    )
}

async fn portal(viewer: &Viewer, principal: &Principal) -> String {
    let store = viewer.tenant.store();
    let mut body = format!("<h1>Welcome, {}</h1>", e(principal.name()));
    body.push_str(&projects_card(viewer, principal, "Your projects").await);
    if let Some(company_id) = principal.company_id() {
        match companies::get_company(store, principal, company_id).await {
            Ok(company) => {
                body.push_str(&format!(
                    "<section class=\"card\" aria-labelledby=\"company\"><h2 id=\"company\">{}</h2>",
                    e(&company.name)
                ));
                if !company.details.is_empty() {
                    body.push_str(&format!("<p>{}</p>", e(&company.details)));
                }
                if let Ok(contacts) =
                    companies::list_contacts(store, principal, company_id, None, 200).await
                {
                    body.push_str("<h3>Your contacts here</h3><ul>");
                    for contact in &contacts.items {
                        body.push_str(&format!(
                            "<li>{} &lt;{}&gt;</li>",
                            e(&contact.name),
                            e(&contact.email)
                        ));
                    }
                    body.push_str("</ul>");
                }
                body.push_str("</section>");
            }
            Err(error) => tracing::error!(%error, "cannot read the viewer's company"),
        }
    }
    body.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"can\"><h2 id=\"can\">What you can do in {}</h2>{}</section>",
        e(&viewer.look.name),
        may_do(principal)
    ));
    body
}

async fn workspace(viewer: &Viewer, principal: &Principal) -> String {
    let mut body = format!(
        "<h1>Welcome, {}</h1><section class=\"card\" aria-labelledby=\"you\"><h2 id=\"you\">Your workspace</h2><p>You are signed in to {} as <strong>{}</strong>.</p>",
        e(principal.name()),
        e(&viewer.look.name),
        e(&role_name(viewer, principal).await),
    );
    let permissions = principal.permissions();
    let mut links = Vec::new();
    if permissions.contains(Permission::UsersManage) {
        links.push("<a class=\"button\" href=\"/users\">Users</a>");
    }
    if permissions.contains(Permission::SettingsManage) {
        links.push("<a class=\"button\" href=\"/settings/branding\">Branding</a>");
    }
    if !links.is_empty() {
        body.push_str(&format!("<div class=\"actions\">{}</div>", links.join("")));
    }
    body.push_str("</section>");
    body.push_str(&projects_card(viewer, principal, "Your projects").await);
    body.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"can\"><h2 id=\"can\">What your role allows</h2>{}</section>",
        may_do(principal)
    ));
    body
}

/// `GET /`.
pub(crate) async fn home(viewer: Viewer) -> Response {
    // Signed out, the start page is the sign-in page.
    let Some(principal) = &viewer.principal else {
        if viewer.ended
            && let Err(redirect) = viewer.require()
        {
            return redirect;
        }
        return super::auth::sign_in_view(&viewer, None);
    };
    if let Err(redirect) = viewer.require() {
        return redirect;
    }
    let mut body = String::new();
    body.push_str(&match principal.kind() {
        UserKind::Client => portal(&viewer, principal).await,
        UserKind::Staff => workspace(&viewer, principal).await,
    });
    let title = match principal.kind() {
        UserKind::Client => "Portal",
        UserKind::Staff => "Workspace",
    };
    viewer.page(title, Section::Home, body)
}
