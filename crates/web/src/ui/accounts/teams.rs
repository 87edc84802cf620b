//! The Teams page (`teams.manage`): groups of staff that projects are shared with. Taking
//! someone off a team and removing a team ask for a confirmation first.

use std::collections::HashMap;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use tenant_core::access::Permitted;
use tenant_core::access::permissions::need;
use tenant_core::accounts::teams::{self, Team};
use tenant_core::accounts::users::{self, User};

use crate::http::error::{ApiError, status_of};
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::forms::{Failed, Pairs, field, staff_options};
use crate::ui::layout::{Field, Section, csrf_field, notice};

/// The Teams page's routes.
pub(crate) fn routes() -> Pages {
    Pages::new()
        .route("/teams", "GET POST", get(teams_page).post(create))
        .route("/teams/{id}/add", "POST", post(add_member))
        .route("/teams/{id}/rename", "POST", post(rename))
        .route(
            "/teams/{id}/delete",
            "GET POST",
            get(confirm_delete).post(delete),
        )
        .route(
            "/teams/{id}/remove/{user}",
            "GET POST",
            get(confirm_remove_member).post(remove_member),
        )
}

fn team_card(
    viewer: &Viewer,
    team: &Team,
    staff: &[User],
    name_of: &HashMap<&str, &User>,
    failed: Option<&Failed>,
) -> Markup {
    let token = csrf_field(&viewer.token);
    let heading = format!("t-{}", team.id);
    let base = format!("/teams/{}", team.id);
    html! {
        section.card aria-labelledby=(heading) {
            h2 id=(heading) { (team.name) }
            ul {
                @for id in &team.members {
                    @let label = name_of.get(id.as_str()).map_or(id.as_str(), |u| u.name.as_str());
                    li {
                        (label) " "
                        form method="get" action={ (base) "/remove/" (id) } {
                            button.secondary type="submit" aria-label={ "Remove " (label) " from " (team.name) } { "Remove" }
                        }
                    }
                }
            }
            form method="post" action={ (base) "/add" } {
                (token)
                label for={ "f-add-" (team.id) } { "Add a member" }
                div.actions style="margin-top:0" {
                    select id={ "f-add-" (team.id) } name="user" {
                        (staff_options(staff.iter().filter(|u| !team.members.contains(&u.id))))
                    }
                    button.secondary type="submit" { "Add" }
                }
            }
            form method="post" action={ (base) "/rename" } novalidate {
                (token)
                (Field::new("name", "Name").id(format!("f-name-{}", team.id))
                    .value(Failed::typed(failed, &team.id).map_or(team.name.as_str(), |t| field(t, "name")))
                    .error(Failed::error(failed, &team.id, "name").as_deref()).required())
                div.actions { button.secondary type="submit" { "Rename" } }
            }
            form method="get" action={ (base) "/delete" } {
                div.actions { button.secondary type="submit" { "Remove team " (team.name) } }
            }
        }
    }
}

async fn render_teams(
    viewer: &Viewer,
    permit: &Permitted<'_, need::TeamsManage>,
    message: Option<(String, bool)>,
    failed: Option<&Failed>,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let staff: Vec<User> = users::staff_directory(store, permit)
        .await
        .unwrap_or_default();
    let name_of: HashMap<&str, &User> = staff.iter().map(|u| (u.id.as_str(), u)).collect();
    let listed = teams::list_teams(store, permit.principal())
        .await
        .map_err(|error| ApiError::Core(error).page_message());
    let body = html! {
        h1 { "Teams" }
        @if let Some((text, error)) = &message { (notice(text, *error)) }
        section.card aria-labelledby="new" {
            h2 id="new" { "New team" }
            form method="post" action="/teams" novalidate {
                (csrf_field(&viewer.token))
                (Field::new("name", "Team name")
                    .value(Failed::typed(failed, "new").map_or("", |t| field(t, "name")))
                    .error(Failed::error(failed, "new", "name").as_deref()).required())
                div.actions { button type="submit" { "Create team" } }
            }
        }
        @match &listed {
            Ok(list) => { @for team in list { (team_card(viewer, team, &staff, &name_of, failed)) } },
            Err(text) => (notice(text, true)),
        }
    };
    viewer.page_with_status(status, "Teams", Section::Teams, body)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    team: Option<String>,
}

/// `GET /teams`.
pub(crate) async fn teams_page(
    viewer: Viewer,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::TeamsManage>()?;
    let team = match &query.team {
        Some(id) => teams::get_team(viewer.tenant.store(), permit.principal(), id)
            .await
            .ok(),
        None => None,
    };
    let message = match (query.done.as_deref(), &team) {
        (Some("created"), Some(team)) => Some(format!("The team {} is created.", team.name)),
        (Some("added"), Some(team)) => Some(format!("Added to {}.", team.name)),
        (Some("renamed"), Some(team)) => Some(format!("Renamed to {}.", team.name)),
        (Some("removed-member"), Some(team)) => Some(format!("Removed from {}.", team.name)),
        (Some("deleted"), _) => {
            Some("The team is removed; its members keep everything else.".to_owned())
        }
        _ => None,
    };
    Ok(render_teams(
        &viewer,
        &permit,
        message.map(|m| (m, false)),
        None,
        StatusCode::OK,
    )
    .await)
}

/// After a change: the page, saying what was done (Post/Redirect/Get).
fn done(what: &str, team: Option<&Team>) -> Response {
    match team {
        Some(team) => Redirect::to(&format!(
            "/teams?done={what}&team={id}#t-{id}",
            id = team.id
        )),
        None => Redirect::to(&format!("/teams?done={what}")),
    }
    .into_response()
}

/// A refused change, said on the page with what was typed kept for the form `target`.
async fn refused(
    viewer: &Viewer,
    permit: &Permitted<'_, need::TeamsManage>,
    target: &str,
    pairs: Pairs,
    error: tenant_core::Error,
) -> Response {
    let status = status_of(&error);
    let (failed, text) = Failed::new(target, pairs, error);
    render_teams(viewer, permit, Some((text, true)), Some(&failed), status).await
}

/// `POST /teams`: a new team.
pub(crate) async fn create(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::TeamsManage>(&headers, form)?;
    Ok(
        match teams::create_team(viewer.tenant.store(), &permit, field(&pairs, "name")).await {
            Ok(team) => done("created", Some(&team)),
            Err(error) => refused(&viewer, &permit, "new", pairs, error).await,
        },
    )
}

/// `POST /teams/{id}/add`: a member joins.
pub(crate) async fn add_member(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::TeamsManage>(&headers, form)?;
    let user = field(&pairs, "user").to_owned();
    Ok(
        match teams::add_member(viewer.tenant.store(), &permit, &id, &user).await {
            Ok(team) => done("added", Some(&team)),
            Err(error) => refused(&viewer, &permit, &id, pairs, error).await,
        },
    )
}

/// `POST /teams/{id}/rename`.
pub(crate) async fn rename(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::TeamsManage>(&headers, form)?;
    let name = field(&pairs, "name").to_owned();
    Ok(
        match teams::rename_team(viewer.tenant.store(), &permit, &id, &name).await {
            Ok(team) => done("renamed", Some(&team)),
            Err(error) => refused(&viewer, &permit, &id, pairs, error).await,
        },
    )
}

async fn team_of(
    viewer: &Viewer,
    permit: &Permitted<'_, need::TeamsManage>,
    id: &str,
) -> Result<Team, Response> {
    teams::get_team(viewer.tenant.store(), permit.principal(), id)
        .await
        .map_err(|error| viewer.refusal("Team", Section::Teams, error))
}

/// `GET /teams/{id}/delete`: asks first.
pub(crate) async fn confirm_delete(
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::TeamsManage>()?;
    let team = team_of(&viewer, &permit, &id).await?;
    Ok(viewer.confirm(
        Section::Teams,
        &format!("Remove the team {}?", team.name),
        "Projects shared with the team are no longer shared with its members through it; the members themselves and everything they did stay.",
        &format!("/teams/{}/delete", team.id),
        &format!("Yes, remove {}", team.name),
        "/teams",
    ))
}

/// `POST /teams/{id}/delete`.
pub(crate) async fn delete(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::TeamsManage>(&headers, form)?;
    Ok(
        match teams::delete_team(viewer.tenant.store(), &permit, &id).await {
            Ok(()) => done("deleted", None),
            Err(error) => refused(&viewer, &permit, &id, pairs, error).await,
        },
    )
}

/// `GET /teams/{id}/remove/{user}`: asks first.
pub(crate) async fn confirm_remove_member(
    viewer: Viewer,
    Path((id, user)): Path<(String, String)>,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::TeamsManage>()?;
    let team = team_of(&viewer, &permit, &id).await?;
    let staff = users::staff_directory(viewer.tenant.store(), &permit)
        .await
        .unwrap_or_default();
    let name = staff
        .iter()
        .find(|u| u.id == user)
        .map_or("this member", |u| u.name.as_str());
    Ok(viewer.confirm(
        Section::Teams,
        &format!("Take {name} off {}?", team.name),
        "They no longer reach the projects shared with the team, unless they are on them in another way.",
        &format!("/teams/{}/remove/{user}", team.id),
        &format!("Yes, take {name} off {}", team.name),
        &format!("/teams#t-{}", team.id),
    ))
}

/// `POST /teams/{id}/remove/{user}`.
pub(crate) async fn remove_member(
    viewer: Viewer,
    headers: HeaderMap,
    Path((id, user)): Path<(String, String)>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::TeamsManage>(&headers, form)?;
    Ok(
        match teams::remove_member(viewer.tenant.store(), &permit, &id, &user).await {
            Ok(team) => done("removed-member", Some(&team)),
            Err(error) => refused(&viewer, &permit, &id, pairs, error).await,
        },
    )
}
