//! `/api/v1/clients`: client companies and their contacts, and `/api/v1/audit`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use tenant_core::access::permissions::need;
use tenant_core::access::{Scope, permit};
use tenant_core::accounts::companies;
use tenant_core::accounts::invitations;
use tenant_core::audit::{self, Filter};

use super::caller::Caller;
use super::error::{ApiError, ApiResult};
use super::users::{Invite, invitation_view};
use super::views::{self, Paging};

pub(crate) fn paging(query: Result<Query<Paging>, QueryRejection>) -> ApiResult<Paging> {
    query
        .map(|Query(p)| p)
        .map_err(|e| ApiError::BadBody(e.body_text()))
}

/// `GET /api/v1/clients`: every company for staff with `clients.manage`, their own for a
/// client contact.
pub(crate) async fn list(
    caller: Caller,
    query: Result<Query<Paging>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let window = paging(query)?.window("clients")?;
    let page = companies::list_companies(
        caller.tenant.store(),
        &caller.principal,
        window.after.as_deref(),
        window.limit,
    )
    .await?;
    Ok(Json(views::page_of("clients", page, views::company)))
}

/// `GET /api/v1/clients/{id}`.
pub(crate) async fn get(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let company = companies::get_company(caller.tenant.store(), &caller.principal, &id).await?;
    Ok(Json(views::company(&company)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompanyBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    details: Option<String>,
}

/// `POST /api/v1/clients`.
#[tracing::instrument(skip_all)]
pub(crate) async fn create(
    caller: Caller,
    body: Result<Json<CompanyBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let permit = permit::<need::ClientsManage>(&caller.principal, Scope::Brand)?;
    let Json(body) = body?;
    let company = companies::create_company(
        caller.tenant.store(),
        &permit,
        body.name.as_deref().unwrap_or_default(),
        body.details.as_deref().unwrap_or_default(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(views::company(&company))))
}

/// `PATCH /api/v1/clients/{id}`.
#[tracing::instrument(skip_all)]
pub(crate) async fn edit(
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<CompanyBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::ClientsManage>(&caller.principal, Scope::Company(&id))?;
    let Json(body) = body?;
    let company = companies::update_company(
        caller.tenant.store(),
        &permit,
        &id,
        body.name.as_deref(),
        body.details.as_deref(),
    )
    .await?;
    Ok(Json(views::company(&company)))
}

/// `DELETE /api/v1/clients/{id}` (only without contacts).
#[tracing::instrument(skip_all)]
pub(crate) async fn delete(caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let permit = permit::<need::ClientsManage>(&caller.principal, Scope::Company(&id))?;
    companies::delete_company(caller.tenant.store(), &permit, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/clients/{id}/contacts`.
pub(crate) async fn contacts(
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<Paging>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let window = paging(query)?.window("contacts")?;
    let page = companies::list_contacts(
        caller.tenant.store(),
        &caller.principal,
        &id,
        window.after.as_deref(),
        window.limit,
    )
    .await?;
    Ok(Json(views::page_of("contacts", page, views::user)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Contact {
    email: String,
    name: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    switches: Option<Vec<String>>,
    #[serde(default)]
    access_expires_at: Option<String>,
}

/// `POST /api/v1/clients/{id}/contacts`: invites a contact into a client role (default
/// `client`).
#[tracing::instrument(skip_all)]
pub(crate) async fn invite_contact(
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<Contact>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let permit = permit::<need::ClientsManage>(&caller.principal, Scope::Company(&id))?;
    let Json(body) = body?;
    let new = Invite::contact(
        body.email,
        body.name,
        body.role.unwrap_or_else(|| "client".to_owned()),
        id,
        body.switches,
        body.access_expires_at,
    )
    .into_new_user()?;
    let (user, invitation) =
        invitations::invite_contact(caller.tenant.store(), &permit, &new).await?;
    Ok((
        StatusCode::CREATED,
        Json(invitation_view(&caller, &user, &invitation).await),
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// `GET /api/v1/audit?actor=&action=&since=&until=`, newest first.
pub(crate) async fn audit_log(
    caller: Caller,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::AuditView>(&caller.principal, Scope::Brand)?;
    let Query(query) = query.map_err(|e| ApiError::BadBody(e.body_text()))?;
    let window = views::window("audit", query.limit, query.cursor.as_deref())?;
    let filter = Filter {
        actor_id: query.actor,
        action: query.action,
        since: query
            .since
            .as_deref()
            .map(|t| views::parse_time("since", t))
            .transpose()?,
        until: query
            .until
            .as_deref()
            .map(|t| views::parse_time("until", t))
            .transpose()?,
    };
    let page = audit::list_audit(
        caller.tenant.store(),
        &permit,
        &filter,
        window.after.as_deref(),
        window.limit,
    )
    .await?;
    Ok(Json(views::page_of("audit", page, views::audit_entry)))
}
