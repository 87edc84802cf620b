//! `/api/v1/teams`: groups of staff that projects are shared with.

use crate::api::{Access, Route, route};
use axum::Json;
use axum::extract::Path;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing;
use serde::Deserialize;
use serde_json::Value;
use tenant_core::access::permissions::need;
use tenant_core::access::{Scope, permit};
use tenant_core::accounts::teams;

use crate::api::views::{self, WholeList};
use crate::http::caller::Caller;
use crate::http::error::ApiResult;

/// `GET /api/v1/teams`.
pub(crate) async fn list_teams(caller: Caller, window: WholeList) -> ApiResult<Json<Value>> {
    let list = teams::list_teams(caller.tenant.store(), &caller.principal).await?;
    Ok(Json(views::page_whole(
        "teams",
        &list,
        &window,
        |team| &team.id,
        views::team,
    )?))
}

/// `GET /api/v1/teams/{id}`.
pub(crate) async fn get_team(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let team = teams::get_team(caller.tenant.store(), &caller.principal, &id).await?;
    Ok(Json(views::team(&team)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TeamName {
    name: String,
}

/// `POST /api/v1/teams`.
#[tracing::instrument(skip_all)]
pub(crate) async fn create_team(
    caller: Caller,
    body: Result<Json<TeamName>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let permit = permit::<need::TeamsManage>(&caller.principal, Scope::Brand)?;
    let Json(body) = body?;
    let team = teams::create_team(caller.tenant.store(), &permit, &body.name).await?;
    Ok((StatusCode::CREATED, Json(views::team(&team))))
}

/// `PATCH /api/v1/teams/{id}`.
#[tracing::instrument(skip_all)]
pub(crate) async fn rename_team(
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<TeamName>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::TeamsManage>(&caller.principal, Scope::Brand)?;
    let Json(body) = body?;
    let team = teams::rename_team(caller.tenant.store(), &permit, &id, &body.name).await?;
    Ok(Json(views::team(&team)))
}

/// `DELETE /api/v1/teams/{id}`.
#[tracing::instrument(skip_all)]
pub(crate) async fn delete_team(caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let permit = permit::<need::TeamsManage>(&caller.principal, Scope::Brand)?;
    teams::delete_team(caller.tenant.store(), &permit, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/teams/{id}/members`.
pub(crate) async fn list_members(
    caller: Caller,
    Path(id): Path<String>,
    window: WholeList,
) -> ApiResult<Json<Value>> {
    let team = teams::get_team(caller.tenant.store(), &caller.principal, &id).await?;
    Ok(Json(views::page_whole(
        "members",
        &team.members,
        &window,
        String::as_str,
        |m| serde_json::json!({"id": m}),
    )?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Member {
    user: String,
}

/// `POST /api/v1/teams/{id}/members`.
#[tracing::instrument(skip_all)]
pub(crate) async fn add_member(
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<Member>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::TeamsManage>(&caller.principal, Scope::Brand)?;
    let Json(body) = body?;
    let team = teams::add_member(caller.tenant.store(), &permit, &id, &body.user).await?;
    Ok(Json(views::team(&team)))
}

/// `DELETE /api/v1/teams/{id}/members/{user_id}`.
#[tracing::instrument(skip_all)]
pub(crate) async fn remove_member(
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::TeamsManage>(&caller.principal, Scope::Brand)?;
    let team = teams::remove_member(caller.tenant.store(), &permit, &id, &user_id).await?;
    Ok(Json(views::team(&team)))
}

/// This module's routes of `/api/v1`.
pub(crate) fn routes() -> Vec<Route> {
    use Access::*;
    use axum::http::Method as M;
    use tenant_core::access::permissions::Permission as P;
    const NONE: &[(&str, &str, bool)] = &[];
    const NAME: &[(&str, &str, bool)] = &[("name", "string", true)];
    vec![
        route(
            M::GET,
            "/api/v1/teams",
            "Every team",
            Staff,
            NONE,
            routing::get(list_teams),
        ),
        route(
            M::POST,
            "/api/v1/teams",
            "Create a team",
            Permission(P::TeamsManage),
            NAME,
            routing::post(create_team),
        ),
        route(
            M::GET,
            "/api/v1/teams/{id}",
            "One team",
            Staff,
            NONE,
            routing::get(get_team),
        ),
        route(
            M::PATCH,
            "/api/v1/teams/{id}",
            "Rename a team",
            Permission(P::TeamsManage),
            NAME,
            routing::patch(rename_team),
        ),
        route(
            M::DELETE,
            "/api/v1/teams/{id}",
            "Remove a team",
            Permission(P::TeamsManage),
            NONE,
            routing::delete(delete_team),
        ),
        route(
            M::GET,
            "/api/v1/teams/{id}/members",
            "A team's members",
            Staff,
            NONE,
            routing::get(list_members),
        ),
        route(
            M::POST,
            "/api/v1/teams/{id}/members",
            "Add a staff member to a team",
            Permission(P::TeamsManage),
            &[("user", "string", true)],
            routing::post(add_member),
        ),
        route(
            M::DELETE,
            "/api/v1/teams/{id}/members/{user_id}",
            "Take a member out of a team",
            Permission(P::TeamsManage),
            NONE,
            routing::delete(remove_member),
        ),
    ]
}
