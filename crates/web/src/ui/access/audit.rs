//! The audit log page (`audit.view`): who did what, as sentences with names and links,
//! newest first; the action's word stays beside each, to filter by.

use axum::extract::Query;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;
use tenant_core::access::permissions::{Permission, need};
use tenant_core::audit::{self, Entry, Filter};
use tenant_core::names::percent_encode;

use crate::http::error::ApiError;
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::layout::{Field, Section, notice};

/// The audit log's route.
pub(crate) fn routes() -> Pages {
    Pages::new().route("/audit", "GET", get(audit_page))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

/// Where a name of the log leads, for a viewer who may open it.
fn link_of(viewer: &Viewer, kind: &str, id: &str, project: Option<&str>) -> Option<String> {
    let may = |p: Permission| {
        viewer
            .principal
            .as_ref()
            .is_some_and(|v| v.permissions().contains(p))
    };
    match kind {
        "user" if may(Permission::UsersManage) => Some(format!("/users/{id}")),
        "client" if may(Permission::ClientsManage) => Some(format!("/clients/{id}")),
        "role" if may(Permission::RolesManage) => Some(format!("/roles#role-{id}")),
        "team" if may(Permission::TeamsManage) => Some(format!("/teams#t-{id}")),
        "project" => Some(format!("/projects/{id}")),
        "task" => project.map(|p| format!("/projects/{p}/tasks/{id}")),
        "branding" if may(Permission::SettingsManage) => Some("/settings/branding".to_owned()),
        "settings" if may(Permission::SettingsManage) => Some("/settings".to_owned()),
        _ => None,
    }
}

/// A name, linked where the viewer may follow it.
fn named(
    viewer: &Viewer,
    kind: &str,
    id: &str,
    name: Option<&str>,
    project: Option<&str>,
) -> Markup {
    let fallback = match kind {
        "user" => "a user who was removed",
        "team" => "a team that was removed",
        "role" => "a role that was removed",
        "client" => "a client company that was removed",
        "project" => "a project",
        "task" => "a task that was removed",
        _ => "something",
    };
    let text = name.unwrap_or(fallback);
    html! {
        @match link_of(viewer, kind, id, project).filter(|_| name.is_some()) {
            Some(href) => a href=(href) { (text) },
            None => (text),
        }
    }
}

/// What an entry says, after the actor's name.
fn sentence(viewer: &Viewer, entry: &Entry) -> Markup {
    let target = named(
        viewer,
        &entry.target_type,
        &entry.target_id,
        entry.target_name.as_deref(),
        entry.target_project.as_deref(),
    );
    let subject = entry.subject.as_ref().map(|s| {
        let label = html! { @if s.kind == "team" { "the team " } (named(viewer, s.kind, &s.id, s.name.as_deref(), None)) };
        label
    });
    let subject = subject.unwrap_or_else(|| html! { "someone" });
    html! {
        @match entry.action.as_str() {
            "user.invite" => { "invited " (target) },
            "user.update" => { "changed the account of " (target) },
            "user.deactivate" => { "deactivated " (target) },
            "user.reactivate" => { "reactivated " (target) },
            "user.delete" => { "deleted the account of " (target) },
            "user.access_expired" => { "ended the access of " (target) ", whose end date had passed" },
            "user.invitation_resend" => { "sent " (target) " a new invitation" },
            "user.invitation_revoke" => { "revoked the invitation of " (target) },
            "user.invitation_accept" => { "accepted the invitation and joined" },
            "user.password_reset_requested" => { "sent a password reset link to " (target) " who asked for one" },
            "user.password_reset_sent" => { "sent " (target) " a password reset link" },
            "user.password_reset" => { "set a new password with a reset link" },
            "user.password_change" => { "changed their password" },
            "user.totp_enabled" => { "turned on two-factor sign-in" },
            "user.totp_disabled" => { "turned off two-factor sign-in" },
            "user.totp_reset" => { "turned off two-factor sign-in for " (target) },
            "role.create" => { "created the role " (target) },
            "role.update" => { "changed the role " (target) },
            "role.delete" => { "removed the role " (target) },
            "team.create" => { "created the team " (target) },
            "team.update" => { "renamed the team " (target) },
            "team.delete" => { "removed the team " (target) },
            "team.member_add" => { "added " (subject) " to the team " (target) },
            "team.member_remove" => { "took " (subject) " off the team " (target) },
            "client.create" => { "added the client company " (target) },
            "client.update" => { "changed the client company " (target) },
            "client.delete" => { "removed the client company " (target) },
            "project.create" => { "created the project " (target) },
            "project.update" => { "changed the project " (target) },
            "project.archive" => { "archived the project " (target) },
            "project.unarchive" => { "unarchived the project " (target) },
            "project.share" => { "shared " (target) " with " (subject) },
            "project.unshare" => { "stopped sharing " (target) " with " (subject) },
            "task.create" => { "added the task " (target) },
            "task.update" => { "changed the task " (target) },
            "task.move" => { "moved the task " (target) },
            "task.assign" => { "assigned the task " (target) @if entry.subject.is_some() { " to " (subject) } @else { " to nobody" } },
            "task.delete" => { "removed the task " (target) },
            "branding.update" => { "changed the " (target_word(viewer, entry, "branding")) },
            "branding.image_set" => { "uploaded a new image for the " (target_word(viewer, entry, "branding")) },
            "branding.image_remove" => { "removed an image of the " (target_word(viewer, entry, "branding")) },
            "settings.email_update" => { "changed the e-mail " (target_word(viewer, entry, "settings")) },
            "settings.email_remove" => { "removed the brand's own e-mail " (target_word(viewer, entry, "settings")) },
            "settings.payments_update" => { "changed the payment " (target_word(viewer, entry, "settings")) },
            "settings.security_update" => { "changed the security " (target_word(viewer, entry, "settings")) },
            other => { (other) " on " (entry.target_type) " " (target) },
        }
    }
}

/// The word for the brand's settings or branding, linked for those who may open them.
fn target_word(viewer: &Viewer, entry: &Entry, word: &'static str) -> Markup {
    html! {
        @match link_of(viewer, &entry.target_type, &entry.target_id, None) {
            Some(href) => a href=(href) { (word) },
            None => (word),
        }
    }
}

/// `GET /audit?action=&cursor=`: the audit log, newest first.
pub(crate) async fn audit_page(
    viewer: Viewer,
    Query(query): Query<AuditQuery>,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::AuditView>()?;
    let action = query.action.clone().filter(|a| !a.trim().is_empty());
    let filter = Filter {
        action: action.clone(),
        ..Filter::default()
    };
    let page = audit::list_audit(
        viewer.tenant.store(),
        &permit,
        &filter,
        query.cursor.as_deref(),
        50,
    )
    .await
    .map_err(|error| ApiError::Core(error).page_message());
    let dates = viewer.look.date_format;
    let body = html! {
        h1 { "Audit log" }
        form.card method="get" action="/audit" {
            (Field::new("action", "Only this action (e.g. user.deactivate)").value(action.as_deref().unwrap_or_default()))
            div.actions { button.secondary type="submit" { "Filter" } }
        }
        @match &page {
            Ok(page) => section.card {
                @if page.items.is_empty() { p { "Nothing has been recorded yet." } }
                @else {
                    table {
                        thead { tr {
                            th scope="col" { "When" }
                            th scope="col" { "What happened" }
                            th.optional scope="col" { "From" }
                        } }
                        tbody {
                            @for entry in &page.items {
                                tr {
                                    td { (dates.moment(entry.at)) }
                                    td {
                                        strong { (entry.actor_name) } " " (sentence(&viewer, entry)) "."
                                        br;
                                        span.hint { code { (entry.action) } }
                                    }
                                    td.optional { (entry.client_address) }
                                }
                            }
                        }
                    }
                }
                @if let Some(next) = &page.next_cursor {
                    p { a href={ "/audit?cursor=" (percent_encode(next)) "&action=" (percent_encode(action.as_deref().unwrap_or_default())) } { "Older entries" } }
                }
            },
            Err(text) => (notice(text, true)),
        }
    };
    Ok(viewer.page("Audit log", Section::Audit, body))
}
