//! `/api/v1/clients`: client companies and their contacts.

use crate::api::{Access, Route, route};
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing;
use serde::Deserialize;
use serde_json::Value;
use tenant_core::access::permissions::need;
use tenant_core::access::{Scope, permit};
use tenant_core::accounts::companies;
use tenant_core::accounts::invitations;

use crate::api::accounts::users::{Invite, invitation_view};
use crate::api::views::{self, Paging, paging};
use crate::http::caller::Caller;
use crate::http::error::ApiResult;

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
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    tax_id: Option<String>,
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
        &companies::CompanyChange {
            name: body.name.as_deref(),
            details: body.details.as_deref(),
            currency: body.currency.as_deref(),
            country: body.country.as_deref(),
            tax_id: body.tax_id.as_deref(),
        },
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

/// This module's routes of `/api/v1`.
pub(crate) fn routes() -> Vec<Route> {
    use Access::*;
    use axum::http::Method as M;
    use tenant_core::access::permissions::Permission as P;
    const NONE: &[(&str, &str, bool)] = &[];
    const CONTACT: &[(&str, &str, bool)] = &[
        ("email", "string", true),
        ("name", "string", true),
        ("role", "string", false),
        ("switches", "array", false),
        ("access_expires_at", "string", false),
    ];
    const COMPANY: &[(&str, &str, bool)] =
        &[("name", "string", true), ("details", "string", false)];
    const COMPANY_EDIT: &[(&str, &str, bool)] = &[
        ("name", "string", false),
        ("details", "string", false),
        ("currency", "string", false),
    ];
    vec![
        route(
            M::GET,
            "/api/v1/clients",
            "Client companies (a contact sees only their own)",
            CompanyOr(P::ClientsManage),
            NONE,
            routing::get(list),
        ),
        route(
            M::POST,
            "/api/v1/clients",
            "Add a client company",
            Permission(P::ClientsManage),
            COMPANY,
            routing::post(create),
        ),
        route(
            M::GET,
            "/api/v1/clients/{id}",
            "One client company",
            CompanyOr(P::ClientsManage),
            NONE,
            routing::get(get),
        ),
        route(
            M::PATCH,
            "/api/v1/clients/{id}",
            "Edit a client company",
            Permission(P::ClientsManage),
            COMPANY_EDIT,
            routing::patch(edit),
        ),
        route(
            M::DELETE,
            "/api/v1/clients/{id}",
            "Remove a client company without contacts",
            Permission(P::ClientsManage),
            NONE,
            routing::delete(delete),
        ),
        route(
            M::GET,
            "/api/v1/clients/{id}/contacts",
            "A company's contacts",
            CompanyOr(P::ClientsManage),
            NONE,
            routing::get(contacts),
        ),
        route(
            M::POST,
            "/api/v1/clients/{id}/contacts",
            "Invite a contact of a company",
            Permission(P::ClientsManage),
            CONTACT,
            routing::post(invite_contact),
        ),
    ]
}
