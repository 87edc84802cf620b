//! `/api/v1/roles` and `/api/v1/teams`: who may do what, and groups of staff.

use axum::Json;
use axum::extract::Path;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use tenant_core::access::UserKind;
use tenant_core::access::permissions::need;
use tenant_core::access::{Scope, permit};
use tenant_core::accounts::roles::{self, NewRole, RoleChange};
use tenant_core::accounts::teams;

use super::caller::Caller;
use super::error::ApiResult;
use super::views::{self, WholeList};

/// `GET /api/v1/roles`.
pub(crate) async fn list_roles(caller: Caller, window: WholeList) -> ApiResult<Json<Value>> {
    let list = roles::list_roles(caller.tenant.store(), &caller.principal).await?;
    Ok(Json(views::page_whole(
        "roles",
        &list,
        &window,
        |role| &role.id,
        views::role,
    )?))
}

/// `GET /api/v1/roles/{id}`.
pub(crate) async fn get_role(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let role = roles::get_role(caller.tenant.store(), &caller.principal, &id).await?;
    Ok(Json(views::role(&role)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateRole {
    name: String,
    kind: String,
    permissions: Vec<String>,
}

/// `POST /api/v1/roles`.
#[tracing::instrument(skip_all)]
pub(crate) async fn create_role(
    caller: Caller,
    body: Result<Json<CreateRole>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let permit = permit::<need::RolesManage>(&caller.principal, Scope::Brand)?;
    let Json(body) = body?;
    let new = NewRole {
        name: body.name,
        kind: UserKind::parse(&body.kind)
            .map_err(|e| tenant_core::Error::field("kind", e.to_string()))?,
        permissions: views::parse_permissions("permissions", &body.permissions)?,
    };
    let role = roles::create_role(caller.tenant.store(), &permit, &new).await?;
    Ok((StatusCode::CREATED, Json(views::role(&role))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EditRole {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    permissions: Option<Vec<String>>,
}

/// `PATCH /api/v1/roles/{id}`.
#[tracing::instrument(skip_all)]
pub(crate) async fn edit_role(
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<EditRole>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::RolesManage>(&caller.principal, Scope::Brand)?;
    let Json(body) = body?;
    let change = RoleChange {
        name: body.name,
        permissions: body
            .permissions
            .as_deref()
            .map(|w| views::parse_permissions("permissions", w))
            .transpose()?,
    };
    let role = roles::update_role(caller.tenant.store(), &permit, &id, &change).await?;
    Ok(Json(views::role(&role)))
}

/// `DELETE /api/v1/roles/{id}`.
#[tracing::instrument(skip_all)]
pub(crate) async fn delete_role(caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let permit = permit::<need::RolesManage>(&caller.principal, Scope::Brand)?;
    roles::delete_role(caller.tenant.store(), &permit, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

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
