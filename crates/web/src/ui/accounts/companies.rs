//! The Clients pages (`clients.manage`): client companies, their contacts, and each
//! contact's switches, which narrow what their role allows (changing switches also needs
//! `users.manage`, as in the API).

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use tenant_core::access::UserKind;
use tenant_core::access::permissions::{Permission, PermissionSet, need};
use tenant_core::access::{Permitted, Scope};
use tenant_core::accounts::companies::{self, Company};
use tenant_core::accounts::credentials::LinkKind;
use tenant_core::accounts::users::{self, NewUser, User, UserChange};
use tenant_core::accounts::{invitations, roles};
use tenant_core::fields;
use tenant_core::names::Email;

use crate::http::caller::mail_set_up;
use crate::http::error::{ApiError, status_of};
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::accounts::users::status_badge;
use crate::ui::forms::{Failed, Pairs, error_line, field, permission_grid, permissions};
use crate::ui::layout::{Field, Section, csrf_field, notice};

/// The Clients pages' routes.
pub(crate) fn routes() -> Pages {
    Pages::new()
        .route("/clients", "GET POST", get(list).post(add))
        .route("/clients/{id}", "GET POST", get(show).post(edit))
        .route("/clients/{id}/contacts", "POST", post(add_contact))
        .route("/clients/{id}/contacts/{user}", "POST", post(switches))
}

/// What the company's contacts are told the details are for.
const DETAILS_LABEL: &str = "Details (address, billing, notes)";
const DETAILS_HINT: &str =
    "The company's contacts see these details in their portal: keep internal notes elsewhere.";

fn message_of(error: tenant_core::Error) -> String {
    ApiError::Core(error).page_message()
}

/// `GET /clients`.
pub(crate) async fn list(viewer: Viewer) -> Result<Response, Response> {
    let permit = viewer.permit::<need::ClientsManage>()?;
    Ok(render_list(&viewer, &permit, None, "", "", StatusCode::OK).await)
}

fn details_field(value: &str) -> Markup {
    html! {
        label for="f-details" { (DETAILS_LABEL) }
        textarea id="f-details" name="details" rows="2" aria-describedby="f-details-hint" { (value) }
        p.hint id="f-details-hint" { (DETAILS_HINT) }
    }
}

async fn render_list(
    viewer: &Viewer,
    permit: &Permitted<'_, need::ClientsManage>,
    message: Option<(String, bool)>,
    name: &str,
    details: &str,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let name_error = message
        .as_ref()
        .filter(|(_, error)| *error)
        .map(|(text, _)| text.as_str());
    let listed = companies::list_companies(store, permit.principal(), None, 200)
        .await
        .map_err(message_of);
    let body = html! {
        h1 { "Clients" }
        @if let Some((text, error)) = &message { (notice(text, *error)) }
        section.card aria-labelledby="add" {
            h2 id="add" { "Add a client company" }
            form method="post" action="/clients" novalidate {
                (csrf_field(&viewer.token))
                (Field::new("name", "Company name").value(name).error(name_error).required())
                (details_field(details))
                div.actions { button type="submit" { "Add company" } }
            }
        }
        section.card aria-labelledby="list" {
            h2 id="list" { "Companies" }
            @match &listed {
                Ok(page) if page.items.is_empty() => p { "No client companies yet." },
                Ok(page) => table {
                    thead { tr { th scope="col" { "Company" } th.optional scope="col" { "Details" } } }
                    tbody {
                        @for company in &page.items {
                            tr {
                                td { a href={ "/clients/" (company.id) } { (company.name) } }
                                td.optional { (company.details) }
                            }
                        }
                    }
                },
                Err(text) => (notice(text, true)),
            }
        }
    };
    viewer.page_with_status(status, "Clients", Section::Clients, body)
}

/// `POST /clients`: adds a company.
pub(crate) async fn add(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::ClientsManage>(&headers, form)?;
    let (name, details) = (field(&pairs, "name"), field(&pairs, "details"));
    Ok(
        match companies::create_company(viewer.tenant.store(), &permit, name, details).await {
            Ok(company) => {
                Redirect::to(&format!("/clients/{}?done=added", company.id)).into_response()
            }
            Err(error) => {
                render_list(
                    &viewer,
                    &permit,
                    Some((message_of(error), true)),
                    name,
                    details,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
        },
    )
}

/// The switches a contact may be given: what a client role may hold.
fn client_offered(permission: Permission) -> bool {
    permission.allowed_for_clients()
}

fn contact_row(viewer: &Viewer, company: &Company, contact: &User, can_edit: bool) -> Markup {
    let switches = contact.switches.unwrap_or(PermissionSet::all());
    html! {
        details.card {
            summary { strong { (contact.name) } " <" (contact.email) "> · " (status_badge(contact.status)) }
            form method="post" action={ "/clients/" (company.id) "/contacts/" (contact.id) } {
                (csrf_field(&viewer.token))
                p.hint { "What this contact may do, within their role." }
                (permission_grid("switch", &format!("s-{}", contact.id), switches, client_offered, !can_edit))
                @if can_edit {
                    div.actions { button.secondary type="submit" { "Save switches of " (contact.name) } }
                }
            }
        }
    }
}

async fn render_company(
    viewer: &Viewer,
    permit: &Permitted<'_, need::ClientsManage>,
    company_id: &str,
    message: Option<(String, bool)>,
    failed: Option<&Failed>,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let principal = permit.principal();
    let company = match companies::get_company(store, principal, company_id).await {
        Ok(company) => company,
        Err(error) => {
            return viewer.page_with_status(
                status_of(&error),
                "Client",
                Section::Clients,
                notice(&message_of(error), true),
            );
        }
    };
    let can_edit_switches =
        tenant_core::access::permit::<need::UsersManage>(principal, Scope::Brand).is_ok();
    let client_roles: Vec<_> = roles::list_roles(store, principal)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.kind == UserKind::Client)
        .collect();
    let empty = Vec::new();
    let typed = Failed::typed(failed, "contact").unwrap_or(&empty);
    let chosen_role = field(typed, "role");
    let typed_switches = if typed.is_empty() {
        PermissionSet::all()
    } else {
        permissions(typed, "switch")
    };
    let company_typed = Failed::typed(failed, "company");
    let contacts = companies::list_contacts(store, principal, &company.id, None, 200)
        .await
        .map_err(message_of);
    let body = html! {
        p { a href="/clients" { "← Clients" } }
        h1 { (company.name) }
        @if let Some((text, error)) = &message { (notice(text, *error)) }
        section.card aria-labelledby="edit" {
            h2 id="edit" { "Company" }
            form method="post" action={ "/clients/" (company.id) } novalidate {
                (csrf_field(&viewer.token))
                (Field::new("name", "Company name")
                    .value(company_typed.map_or(company.name.as_str(), |t| field(t, "name")))
                    .error(Failed::error(failed, "company", "name").as_deref()).required())
                (details_field(company_typed.map_or(company.details.as_str(), |t| field(t, "details"))))
                (Field::new("currency", "Invoice currency")
                    .value(company_typed.map_or(company.currency.as_deref().unwrap_or_default(), |t| field(t, "currency")))
                    .error(Failed::error(failed, "company", "currency").as_deref())
                    .maxlength(3)
                    .hint("Three letters (ISO 4217), such as EUR or USD; empty for the brand's default."))
                (Field::new("country", "Country")
                    .value(company_typed.map_or(company.country.as_deref().unwrap_or_default(), |t| field(t, "country")))
                    .error(Failed::error(failed, "company", "country").as_deref())
                    .maxlength(2)
                    .hint("Two letters (ISO 3166-1), such as DE or FR: e-invoices name the buyer's country."))
                (Field::new("tax_id", "VAT or tax id")
                    .value(company_typed.map_or(company.tax_id.as_deref().unwrap_or_default(), |t| field(t, "tax_id")))
                    .error(Failed::error(failed, "company", "tax_id").as_deref())
                    .maxlength(50)
                    .hint("Printed on its invoices as the buyer's and given in e-invoices, such as ATU12345678."))
                div.actions { button type="submit" { "Save company" } }
            }
        }
        section.card aria-labelledby="contact" {
            h2 id="contact" { "Add a contact" }
            form method="post" action={ "/clients/" (company.id) "/contacts" } novalidate {
                (csrf_field(&viewer.token))
                div.row {
                    div { (Field::new("name", "Name").id("f-contact-name".to_owned()).value(field(typed, "name"))
                        .error(Failed::error(failed, "contact", "name").as_deref()).required()) }
                    div { (Field::new("email", "E-mail").id("f-contact-email".to_owned()).kind("email").value(field(typed, "email"))
                        .error(Failed::error(failed, "contact", "email").as_deref()).required()) }
                }
                label for="f-role" { "Client role" }
                select id="f-role" name="role" {
                    @for role in &client_roles {
                        option value=(role.id) selected[role.id == chosen_role] { (role.name) }
                    }
                }
                (error_line(Failed::error(failed, "contact", "role")))
                p.hint { "Switches: what this contact may do, within their role." }
                (error_line(Failed::error(failed, "contact", "switches").or_else(|| Failed::error(failed, "contact", "permissions"))))
                (permission_grid("switch", "new", typed_switches, client_offered, false))
                div.actions { button type="submit" { "Add and invite contact" } }
            }
        }
        section aria-labelledby="contacts" {
            h2 id="contacts" { "Contacts" }
            @match &contacts {
                Ok(page) if page.items.is_empty() => p { "No contacts yet." },
                Ok(page) => { @for contact in &page.items { (contact_row(viewer, &company, contact, can_edit_switches)) } },
                Err(text) => (notice(text, true)),
            }
        }
    };
    viewer.page_with_status(status, &company.name, Section::Clients, body)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ShowQuery {
    /// What was just done (after a redirect).
    #[serde(default)]
    done: Option<String>,
    /// To which contact.
    #[serde(default)]
    user: Option<String>,
}

/// `GET /clients/{id}`.
pub(crate) async fn show(
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::ClientsManage>()?;
    let contact = match &query.user {
        Some(user) => users::get_user(viewer.tenant.store(), permit.principal(), user)
            .await
            .ok(),
        None => None,
    };
    let message = match (query.done.as_deref(), &contact) {
        (Some("added"), _) => Some("Company added. Now add its contacts.".to_owned()),
        (Some("saved"), _) => Some("Company saved.".to_owned()),
        (Some("contact"), Some(user)) => Some(format!(
            "{} was added; an invitation is on its way to {}.",
            user.name, user.email
        )),
        (Some("switches"), Some(user)) => Some(format!("The switches of {} are saved.", user.name)),
        _ => None,
    };
    Ok(render_company(
        &viewer,
        &permit,
        &id,
        message.map(|text| (text, false)),
        None,
        StatusCode::OK,
    )
    .await)
}

/// `POST /clients/{id}`: renames or edits the company.
pub(crate) async fn edit(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::ClientsManage>(&headers, form)?;
    let result = companies::update_company(
        viewer.tenant.store(),
        &permit,
        &id,
        &companies::CompanyChange {
            name: Some(field(&pairs, "name")),
            details: Some(field(&pairs, "details")),
            currency: Some(field(&pairs, "currency")),
            country: Some(field(&pairs, "country")),
            tax_id: Some(field(&pairs, "tax_id")),
        },
    )
    .await;
    Ok(match result {
        Ok(company) => Redirect::to(&format!("/clients/{}?done=saved", company.id)).into_response(),
        Err(error) => {
            let status = status_of(&error);
            let (failed, text) = Failed::new("company", pairs, error);
            render_company(
                &viewer,
                &permit,
                &id,
                Some((text, true)),
                Some(&failed),
                status,
            )
            .await
        }
    })
}

/// `POST /clients/{id}/contacts`: invites a contact with a client role and switches.
pub(crate) async fn add_contact(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::ClientsManage>(&headers, form)?;
    let outcome = async {
        let email = Email::parse(field(&pairs, "email").trim())
            .map_err(|e| tenant_core::Error::field("email", e.to_string()))?;
        let name = fields::parse_name(field(&pairs, "name"))?;
        let mut new = NewUser::new(email, &name, field(&pairs, "role"));
        new.company_id = Some(id.clone());
        new.switches = Some(permissions(&pairs, "switch"));
        invitations::invite_contact(viewer.tenant.store(), &permit, &new).await
    }
    .await;
    Ok(match outcome {
        Ok((user, _)) if mail_set_up(&viewer.tenant, &viewer.connection).await => {
            Redirect::to(&format!("/clients/{id}?done=contact&user={}", user.id)).into_response()
        }
        Ok((user, invitation)) => {
            // The link is shown once, here, for the admin to pass on.
            let text = format!(
                "{} was added, but e-mail is not set up, so no invitation was mailed. Send them this link yourself (it works once, for 7 days): {}",
                user.name,
                invitation
                    .token
                    .link(&viewer.connection.base, LinkKind::Invitation)
            );
            render_company(
                &viewer,
                &permit,
                &id,
                Some((text, false)),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(error) => {
            let status = status_of(&error);
            let (failed, text) = Failed::new("contact", pairs, error);
            render_company(
                &viewer,
                &permit,
                &id,
                Some((text, true)),
                Some(&failed),
                status,
            )
            .await
        }
    })
}

/// `POST /clients/{id}/contacts/{user}`: saves a contact's switches (`users.manage`).
pub(crate) async fn switches(
    viewer: Viewer,
    headers: HeaderMap,
    Path((id, user)): Path<(String, String)>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let clients = viewer.permit::<need::ClientsManage>()?;
    let (users_permit, pairs) = viewer.submitted::<need::UsersManage>(&headers, form)?;
    let change = UserChange {
        name: None,
        role: None,
        switches: Some(Some(permissions(&pairs, "switch"))),
        access_expires_at: None,
    };
    let store = viewer.tenant.store();
    let refused = match users::get_user(store, users_permit.principal(), &user).await {
        Ok(found) if found.company_id.as_deref() == Some(id.as_str()) => {
            match users::update_user(store, &users_permit, &user, &change).await {
                Ok(saved) => {
                    return Ok(Redirect::to(&format!(
                        "/clients/{id}?done=switches&user={}",
                        saved.id
                    ))
                    .into_response());
                }
                Err(error) => (status_of(&error), message_of(error)),
            }
        }
        Ok(_) => (
            StatusCode::NOT_FOUND,
            "That contact is not one of this company's.".to_owned(),
        ),
        Err(error) => (status_of(&error), message_of(error)),
    };
    let (status, text) = refused;
    Ok(render_company(&viewer, &clients, &id, Some((text, true)), None, status).await)
}
