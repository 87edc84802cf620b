//! `/api/v1/projects`: projects, shared with staff and teams, linked to a client company,
//! archived and unarchived. Who reaches which project is decided in
//! [`tenant_core::work::projects`]; out of reach is 404.

use crate::api::{Access, Route, route};
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing;
use serde::Deserialize;
use serde_json::{Value, json};
use tenant_core::access::UserKind;
use tenant_core::access::permissions::need;
use tenant_core::access::{Principal, Scope, permit};
use tenant_core::work::projects::{
    self, NewProject, Project, ProjectChange, ProjectFilter, ProjectStatus,
};
use tenant_core::work::sharing::{self, Sharing};

use crate::api::views::{self, rfc3339};
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ApiResult};

/// A project as `viewer` may see it: client contacts are not shown who on the agency's side
/// it is shared with (`members` and `teams` are `null` for them).
pub(crate) fn project_view(viewer: &Principal, project: &Project) -> Value {
    let staff = viewer.kind() == UserKind::Staff;
    json!({
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "company": project.company_id,
        "company_name": project.company_name,
        "status": project.status.as_str(),
        "archived_at": project.archived_at.map(rfc3339),
        "created_at": rfc3339(project.created_at),
        "members": staff.then_some(&project.members),
        "teams": staff.then_some(&project.teams),
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    status: Option<String>,
    company: Option<String>,
    q: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Reads `?status=`: `active` (the default), `archived` or `all`.
pub(crate) fn status_filter(text: Option<&str>) -> Result<Option<ProjectStatus>, ApiError> {
    match text.unwrap_or("active") {
        "all" => Ok(None),
        other => ProjectStatus::parse(other).map(Some).map_err(|_| {
            ApiError::Core(tenant_core::Error::field(
                "status",
                format!("'{other}' is not a status to list: use active, archived or all"),
            ))
        }),
    }
}

/// `GET /api/v1/projects?status=&company=&q=`: the projects the caller reaches.
pub(crate) async fn list(
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(query) = query.map_err(|e| ApiError::BadBody(e.body_text()))?;
    let window = views::window("projects", query.limit, query.cursor.as_deref())?;
    let filter = ProjectFilter {
        status: status_filter(query.status.as_deref())?,
        company_id: query.company.filter(|c| !c.is_empty()),
        q: query.q,
    };
    let page = projects::list_projects(
        caller.tenant.store(),
        &caller.principal,
        &filter,
        window.after.as_deref(),
        window.limit,
    )
    .await?;
    Ok(Json(views::page_of("projects", page, |p| {
        project_view(&caller.principal, p)
    })))
}

/// `GET /api/v1/projects/{id}`.
pub(crate) async fn get(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let project = projects::get_project(caller.tenant.store(), &caller.principal, &id).await?;
    Ok(Json(project_view(&caller.principal, &project)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateBody {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    company: Option<String>,
}

/// `POST /api/v1/projects`: the caller becomes its first member.
#[tracing::instrument(skip_all)]
pub(crate) async fn create(
    caller: Caller,
    body: Result<Json<CreateBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let permit = permit::<need::ProjectsCreate>(&caller.principal, Scope::Brand)?;
    let Json(body) = body?;
    let new = NewProject {
        name: body.name,
        description: body.description.unwrap_or_default(),
        company_id: body.company,
    };
    let project = projects::create_project(caller.tenant.store(), &permit, &new).await?;
    Ok((
        StatusCode::CREATED,
        Json(project_view(&caller.principal, &project)),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EditBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, deserialize_with = "views::double_option")]
    company: Option<Option<String>>,
}

/// `PATCH /api/v1/projects/{id}` (`company: null` makes it internal).
#[tracing::instrument(skip_all)]
pub(crate) async fn edit(
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<EditBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body?;
    let change = ProjectChange {
        name: body.name,
        description: body.description,
        company_id: body.company,
    };
    let project =
        projects::update_project(caller.tenant.store(), &caller.principal, &id, &change).await?;
    Ok(Json(project_view(&caller.principal, &project)))
}

/// `POST /api/v1/projects/{id}/archive`.
#[tracing::instrument(skip_all)]
pub(crate) async fn archive(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let project =
        projects::set_archived(caller.tenant.store(), &caller.principal, &id, true).await?;
    Ok(Json(project_view(&caller.principal, &project)))
}

/// `POST /api/v1/projects/{id}/unarchive`.
#[tracing::instrument(skip_all)]
pub(crate) async fn unarchive(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let project =
        projects::set_archived(caller.tenant.store(), &caller.principal, &id, false).await?;
    Ok(Json(project_view(&caller.principal, &project)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberBody {
    user: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TeamBody {
    team: String,
}

/// `POST /api/v1/projects/{id}/members` (`user`: a staff member).
#[tracing::instrument(skip_all)]
pub(crate) async fn add_member(
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<MemberBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body?;
    shared(&caller, &id, Sharing::User(&body.user), true).await
}

/// `DELETE /api/v1/projects/{id}/members/{user_id}`.
#[tracing::instrument(skip_all)]
pub(crate) async fn remove_member(
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    shared(&caller, &id, Sharing::User(&user_id), false).await
}

/// `POST /api/v1/projects/{id}/teams` (`team`).
#[tracing::instrument(skip_all)]
pub(crate) async fn add_team(
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<TeamBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body?;
    shared(&caller, &id, Sharing::Team(&body.team), true).await
}

/// `DELETE /api/v1/projects/{id}/teams/{team_id}`.
#[tracing::instrument(skip_all)]
pub(crate) async fn remove_team(
    caller: Caller,
    Path((id, team_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    shared(&caller, &id, Sharing::Team(&team_id), false).await
}

async fn shared(caller: &Caller, id: &str, with: Sharing<'_>, add: bool) -> ApiResult<Json<Value>> {
    let store = caller.tenant.store();
    let project = if add {
        sharing::share(store, &caller.principal, id, with).await?
    } else {
        sharing::unshare(store, &caller.principal, id, with).await?
    };
    Ok(Json(project_view(&caller.principal, &project)))
}

/// This module's routes of `/api/v1`.
pub(crate) fn routes() -> Vec<Route> {
    use Access::*;
    use axum::http::Method as M;
    use tenant_core::access::permissions::Permission as P;
    const NONE: &[(&str, &str, bool)] = &[];
    const PROJECT: &[(&str, &str, bool)] = &[
        ("name", "string", true),
        ("description", "string", false),
        ("company", "string", false),
    ];
    const PROJECT_EDIT: &[(&str, &str, bool)] = &[
        ("name", "string", false),
        ("description", "string", false),
        ("company", "string|null", false),
    ];
    vec![
        route(
            M::GET,
            "/api/v1/projects",
            "The projects you reach (?status=active|archived|all, default active; ?company=; ?q= part of the name)",
            SignedIn,
            NONE,
            routing::get(list),
        ),
        route(
            M::POST,
            "/api/v1/projects",
            "Create a project, for a client company or internal; you become its first member",
            Permission(P::ProjectsCreate),
            PROJECT,
            routing::post(create),
        ),
        route(
            M::GET,
            "/api/v1/projects/{id}",
            "One project (members and teams are null for client contacts)",
            Project(None),
            NONE,
            routing::get(get),
        ),
        route(
            M::PATCH,
            "/api/v1/projects/{id}",
            "Edit a project's name, description or client company (company null: internal)",
            Project(Some(P::ProjectsEdit)),
            PROJECT_EDIT,
            routing::patch(edit),
        ),
        route(
            M::POST,
            "/api/v1/projects/{id}/archive",
            "Archive a project: everything is kept and can be read, nothing changed",
            Project(Some(P::ProjectsArchive)),
            NONE,
            routing::post(archive),
        ),
        route(
            M::POST,
            "/api/v1/projects/{id}/unarchive",
            "Make an archived project active again",
            Project(Some(P::ProjectsArchive)),
            NONE,
            routing::post(unarchive),
        ),
        route(
            M::POST,
            "/api/v1/projects/{id}/members",
            "Add a staff member to a project",
            Project(Some(P::ProjectsEdit)),
            &[("user", "string", true)],
            routing::post(add_member),
        ),
        route(
            M::DELETE,
            "/api/v1/projects/{id}/members/{user_id}",
            "Take a staff member off a project",
            Project(Some(P::ProjectsEdit)),
            NONE,
            routing::delete(remove_member),
        ),
        route(
            M::POST,
            "/api/v1/projects/{id}/teams",
            "Share a project with a team: all its members reach it",
            Project(Some(P::ProjectsEdit)),
            &[("team", "string", true)],
            routing::post(add_team),
        ),
        route(
            M::DELETE,
            "/api/v1/projects/{id}/teams/{team_id}",
            "Stop sharing a project with a team",
            Project(Some(P::ProjectsEdit)),
            NONE,
            routing::delete(remove_team),
        ),
    ]
}
