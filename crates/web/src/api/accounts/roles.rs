//! `/api/v1/roles`: who may do what.

use crate::api::{Access, Route, route};
use axum::Json;
use axum::extract::Path;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing;
use serde::Deserialize;
use serde_json::Value;
use tenant_core::access::UserKind;
use tenant_core::access::permissions::need;
use tenant_core::access::{Scope, permit};
use tenant_core::accounts::roles::{self, NewRole, RoleChange};

use crate::api::views::{self, WholeList};
use crate::http::caller::Caller;
use crate::http::error::ApiResult;

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

/// This module's routes of `/api/v1`.
pub(crate) fn routes() -> Vec<Route> {
    use Access::*;
    use axum::http::Method as M;
    use tenant_core::access::permissions::Permission as P;
    const NONE: &[(&str, &str, bool)] = &[];
    const ROLE: &[(&str, &str, bool)] = &[
        ("name", "string", true),
        ("kind", "string", true),
        ("permissions", "array", true),
    ];
    const ROLE_EDIT: &[(&str, &str, bool)] =
        &[("name", "string", false), ("permissions", "array", false)];
    vec![
        route(
            M::GET,
            "/api/v1/roles",
            "Every role",
            Staff,
            NONE,
            routing::get(list_roles),
        ),
        route(
            M::POST,
            "/api/v1/roles",
            "Create a custom role",
            Permission(P::RolesManage),
            ROLE,
            routing::post(create_role),
        ),
        route(
            M::GET,
            "/api/v1/roles/{id}",
            "One role",
            Staff,
            NONE,
            routing::get(get_role),
        ),
        route(
            M::PATCH,
            "/api/v1/roles/{id}",
            "Edit a role (not admin)",
            Permission(P::RolesManage),
            ROLE_EDIT,
            routing::patch(edit_role),
        ),
        route(
            M::DELETE,
            "/api/v1/roles/{id}",
            "Remove a custom role nobody holds",
            Permission(P::RolesManage),
            NONE,
            routing::delete(delete_role),
        ),
    ]
}
