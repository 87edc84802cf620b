//! Teams (`teams.manage`), the audit log (`audit.view`) and the access review
//! (`users.manage`).

use std::collections::HashMap;

use axum::Form;
use axum::extract::Query;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tenant_core::access::Permitted;
use tenant_core::access::access_review;
use tenant_core::access::permissions::need;
use tenant_core::accounts::teams;
use tenant_core::accounts::users::{self, User};
use tenant_core::audit::{self, Filter};
use tenant_core::work::projects::ProjectStatus;

use crate::escape_html as e;
use crate::http::error::ApiError;
use crate::ui::Viewer;
use crate::ui::forms::{Failed, Pairs, field, staff_options};
use crate::ui::layout::{Section, csrf_field, input, input_id, notice};

fn when(t: time::OffsetDateTime) -> String {
    format!(
        "{} {} {} {:02}:{:02}",
        t.day(),
        t.month(),
        t.year(),
        t.hour(),
        t.minute()
    )
}

async fn render_teams(
    viewer: &Viewer,
    permit: &Permitted<'_, need::TeamsManage>,
    message: Option<(String, bool)>,
    failed: Option<&Failed>,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let token = csrf_field(&viewer.token);
    let staff: Vec<User> = users::staff_directory(store, permit)
        .await
        .unwrap_or_default();
    let name_of: HashMap<&str, &User> = staff.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut body = String::from("<h1>Teams</h1>");
    if let Some((text, error)) = &message {
        body.push_str(&notice(text, *error));
    }
    body.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"new\"><h2 id=\"new\">New team</h2><form method=\"post\" action=\"/teams\">{token}{}<div class=\"actions\"><button type=\"submit\">Create team</button></div></form></section>",
        input(
            "name",
            "Team name",
            "text",
            Failed::typed(failed, "new").map_or("", |t| field(t, "name")),
            Failed::error(failed, "new", "name").as_deref(),
            "required"
        ),
    ));
    match teams::list_teams(store, permit.principal()).await {
        Ok(list) => {
            for team in list {
                let members: String = team
                    .members
                    .iter()
                    .map(|id| {
                        let label = name_of.get(id.as_str()).map_or(id.as_str(), |u| u.name.as_str());
                        format!(
                            "<li>{} <form method=\"post\" action=\"/teams/{}/remove/{}\">{token}<button type=\"submit\" class=\"secondary\" aria-label=\"Remove {} from {}\">Remove</button></form></li>",
                            e(label),
                            e(&team.id),
                            e(id),
                            e(label),
                            e(&team.name)
                        )
                    })
                    .collect();
                let options = staff_options(staff.iter().filter(|u| !team.members.contains(&u.id)));
                body.push_str(&format!(
                    "<section class=\"card\" aria-labelledby=\"t-{id}\"><h2 id=\"t-{id}\">{name}</h2><ul>{members}</ul><form method=\"post\" action=\"/teams/{id}/add\">{token}<label for=\"f-add-{id}\">Add a member</label><div class=\"actions\" style=\"margin-top:0\"><select id=\"f-add-{id}\" name=\"user\">{options}</select><button type=\"submit\" class=\"secondary\">Add</button></div></form><form method=\"post\" action=\"/teams/{id}/rename\">{token}{}<div class=\"actions\"><button type=\"submit\" class=\"secondary\">Rename</button></div></form><form method=\"post\" action=\"/teams/{id}/delete\">{token}<div class=\"actions\"><button type=\"submit\" class=\"secondary\">Remove team {name}</button></div></form></section>",
                    input_id(&format!("f-name-{}", team.id), "name", "Name", "text", Failed::typed(failed, &team.id).map_or(team.name.as_str(), |t| field(t, "name")), Failed::error(failed, &team.id, "name").as_deref(), "required"),
                    id = e(&team.id),
                    name = e(&team.name),
                ));
            }
        }
        Err(error) => body.push_str(&notice(&ApiError::Core(error).page_message(), true)),
    }
    viewer.page_with_status(status, "Teams", Section::Teams, body)
}

/// `GET /teams`.
pub(crate) async fn teams_page(viewer: Viewer) -> Response {
    let permit = match viewer.permit::<need::TeamsManage>() {
        Ok(permit) => permit,
        Err(refused) => return refused,
    };
    render_teams(&viewer, &permit, None, None, StatusCode::OK).await
}

/// `POST /teams` (create) and `POST /teams/{id}/{add|rename|delete}` and
/// `/teams/{id}/remove/{user}`.
pub(crate) async fn teams_action(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let (permit, pairs) = match viewer.submitted::<need::TeamsManage>(&headers, form) {
        Ok(submitted) => submitted,
        Err(refused) => return refused,
    };
    let store = viewer.tenant.store();
    let rest = viewer.path.trim_start_matches("/teams").to_owned();
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let outcome = match parts.as_slice() {
        [] => teams::create_team(store, &permit, field(&pairs, "name"))
            .await
            .map(|t| format!("The team {} is created.", t.name)),
        [id, "add"] => teams::add_member(store, &permit, id, field(&pairs, "user"))
            .await
            .map(|t| format!("Added to {}.", t.name)),
        [id, "rename"] => teams::rename_team(store, &permit, id, field(&pairs, "name"))
            .await
            .map(|t| format!("Renamed to {}.", t.name)),
        [id, "delete"] => teams::delete_team(store, &permit, id)
            .await
            .map(|()| "The team is removed; its members keep everything else.".to_owned()),
        [id, "remove", user] => teams::remove_member(store, &permit, id, user)
            .await
            .map(|t| format!("Removed from {}.", t.name)),
        _ => Err(tenant_core::Error::NotFound(
            "There is no such action.".to_owned(),
        )),
    };
    match outcome {
        Ok(text) => render_teams(&viewer, &permit, Some((text, false)), None, StatusCode::OK).await,
        Err(error) => {
            let target = parts.first().copied().unwrap_or("new").to_owned();
            let (failed, text) = Failed::new(&target, pairs.clone(), error);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render_teams(&viewer, &permit, Some((text, true)), Some(&failed), status).await
        }
    }
}

/// `GET /audit?action=&cursor=`: the audit log, newest first.
pub(crate) async fn audit_page(
    viewer: Viewer,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let permit = match viewer.permit::<need::AuditView>() {
        Ok(permit) => permit,
        Err(refused) => return refused,
    };
    let action = query
        .get("action")
        .cloned()
        .filter(|a| !a.trim().is_empty());
    let filter = Filter {
        action: action.clone(),
        ..Filter::default()
    };
    let mut body = format!(
        "<h1>Audit log</h1><form method=\"get\" action=\"/audit\" class=\"card\">{}<div class=\"actions\"><button type=\"submit\" class=\"secondary\">Filter</button></div></form>",
        input(
            "action",
            "Only this action (e.g. user.deactivate)",
            "text",
            action.as_deref().unwrap_or_default(),
            None,
            ""
        ),
    );
    match audit::list_audit(
        viewer.tenant.store(),
        &permit,
        &filter,
        query.get("cursor").map(String::as_str),
        50,
    )
    .await
    {
        Ok(page) => {
            body.push_str("<section class=\"card\"><table><thead><tr><th scope=\"col\">When (UTC)</th><th scope=\"col\">Who</th><th scope=\"col\">What</th><th scope=\"col\" class=\"optional\">From</th></tr></thead><tbody>");
            for entry in &page.items {
                body.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td><code>{}</code> {} <span class=\"hint\">{}</span></td><td class=\"optional\">{}</td></tr>",
                    when(entry.at),
                    e(&entry.actor_name),
                    e(&entry.action),
                    e(&entry.target_type),
                    e(&entry.target_id),
                    e(&entry.client_address)
                ));
            }
            body.push_str("</tbody></table>");
            if let Some(next) = &page.next_cursor {
                body.push_str(&format!(
                    "<p><a href=\"/audit?cursor={}&amp;action={}\">Older entries</a></p>",
                    e(next),
                    e(action.as_deref().unwrap_or_default())
                ));
            }
            body.push_str("</section>");
        }
        Err(error) => body.push_str(&notice(&ApiError::Core(error).page_message(), true)),
    }
    viewer.page("Audit log", Section::Audit, body)
}

/// `GET /access-review`: every user with role, what they may do and what to look at.
pub(crate) async fn review_page(
    viewer: Viewer,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let permit = match viewer.permit::<need::UsersManage>() {
        Ok(permit) => permit,
        Err(refused) => return refused,
    };
    let mut body = String::from(
        "<h1>Access review</h1><p>Everyone with access, the projects they reach, and what deserves a look: admins, accounts unused for 90 days, client contacts whose projects are all archived, invitations that ran out, and access that ends within 14 days.</p>",
    );
    match access_review::access_review(
        viewer.tenant.store(),
        &permit,
        query.get("cursor").map(String::as_str),
        100,
    )
    .await
    {
        Ok(page) => {
            let sees_all = permit
                .principal()
                .permissions()
                .contains(tenant_core::access::permissions::Permission::ProjectsViewAll);
            body.push_str("<section class=\"card\"><table><thead><tr><th scope=\"col\">Person</th><th scope=\"col\">Role</th><th scope=\"col\" class=\"optional\">Projects</th><th scope=\"col\" class=\"optional\">Two-factor</th><th scope=\"col\" class=\"optional\">Last sign-in</th><th scope=\"col\">Look at</th></tr></thead><tbody>");
            for row in &page.items {
                let flags: Vec<&str> = row
                    .flags
                    .iter()
                    .map(|f| match f.as_str() {
                        "admin" => "admin",
                        "unused_90_days" => "unused for 90 days",
                        "projects_all_archived" => "all their projects are archived",
                        "invitation_expired" => "invitation expired",
                        "access_expiring_soon" => "access ends soon",
                        other => other,
                    })
                    .collect();
                let mut reached: Vec<String> = row
                    .projects
                    .iter()
                    .map(|p| {
                        let archived = if p.status == ProjectStatus::Archived {
                            " (archived)"
                        } else {
                            ""
                        };
                        // A link only for those who can open every project.
                        if sees_all {
                            format!(
                                "<a href=\"/projects/{}\">{}</a>{archived}",
                                e(&p.id),
                                e(&p.name)
                            )
                        } else {
                            format!("{}{archived}", e(&p.name))
                        }
                    })
                    .collect();
                if row.all_projects {
                    reached.insert(0, "every project (their role)".to_owned());
                }
                if reached.is_empty() {
                    reached.push("none".to_owned());
                }
                body.push_str(&format!(
                    "<tr><td>{}<br><span class=\"hint\">{} · {}</span></td><td>{}</td><td class=\"optional\">{}</td><td class=\"optional\">{}</td><td class=\"optional\">{}</td><td>{}</td></tr>",
                    e(&row.user.name),
                    e(&row.user.email),
                    row.user.status.as_str(),
                    e(&row.role_name),
                    reached.join(", "),
                    if row.two_factor { "on" } else { "off" },
                    row.user.last_sign_in_at.map_or_else(|| "never".to_owned(), when),
                    e(&flags.join(", ")),
                ));
            }
            body.push_str("</tbody></table>");
            if let Some(next) = &page.next_cursor {
                body.push_str(&format!(
                    "<p><a href=\"/access-review?cursor={}\">More</a></p>",
                    e(next)
                ));
            }
            body.push_str("</section>");
        }
        Err(error) => body.push_str(&notice(&ApiError::Core(error).page_message(), true)),
    }
    viewer.page("Access review", Section::Review, body)
}
