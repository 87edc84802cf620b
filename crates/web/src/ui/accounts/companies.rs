//! The Clients pages (`clients.manage`): client companies, their contacts, and each
//! contact's switches, which narrow what their role allows (changing switches also needs
//! `users.manage`, as in the API).

use std::collections::HashMap;
use tenant_core::accounts::invitations;
use tenant_core::fields;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use tenant_core::access::UserKind;
use tenant_core::access::permissions::{Permission, PermissionSet, need};
use tenant_core::access::{Permitted, Scope};
use tenant_core::accounts::companies::{self, Company};
use tenant_core::accounts::roles;
use tenant_core::accounts::users::{self, NewUser, User, UserChange};
use tenant_core::names::Email;

use crate::escape_html as e;
use crate::http::caller::mail_set_up;
use crate::http::error::ApiError;
use crate::ui::Viewer;
use crate::ui::forms::{Failed, Pairs, error_line, field, permission_grid, permissions};
use crate::ui::layout::{Section, csrf_field, input, input_id, notice};

fn message_of(error: tenant_core::Error) -> String {
    ApiError::Core(error).page_message()
}

/// `GET /clients`.
pub(crate) async fn list(viewer: Viewer) -> Response {
    let permit = match viewer.permit::<need::ClientsManage>() {
        Ok(permit) => permit,
        Err(refused) => return refused,
    };
    render_list(&viewer, &permit, None, "", "", StatusCode::OK).await
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
    let mut body = String::from("<h1>Clients</h1>");
    if let Some((text, error)) = &message {
        body.push_str(&notice(text, *error));
    }
    let name_error = message
        .as_ref()
        .filter(|(_, error)| *error)
        .map(|(text, _)| text.as_str());
    body.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"add\"><h2 id=\"add\">Add a client company</h2><form method=\"post\" action=\"/clients\" novalidate>{}{}<label for=\"f-details\">Details (address, billing, notes)</label><textarea id=\"f-details\" name=\"details\" rows=\"2\">{}</textarea><div class=\"actions\"><button type=\"submit\">Add company</button></div></form></section>",
        csrf_field(&viewer.token),
        input("name", "Company name", "text", name, name_error, "required"),
        e(details),
    ));
    body.push_str(
        "<section class=\"card\" aria-labelledby=\"list\"><h2 id=\"list\">Companies</h2>",
    );
    match companies::list_companies(store, permit.principal(), None, 200).await {
        Ok(page) if page.items.is_empty() => body.push_str("<p>No client companies yet.</p>"),
        Ok(page) => {
            body.push_str("<table><thead><tr><th scope=\"col\">Company</th><th scope=\"col\" class=\"optional\">Details</th></tr></thead><tbody>");
            for company in &page.items {
                body.push_str(&format!(
                    "<tr><td><a href=\"/clients/{}\">{}</a></td><td class=\"optional\">{}</td></tr>",
                    e(&company.id),
                    e(&company.name),
                    e(&company.details)
                ));
            }
            body.push_str("</tbody></table>");
        }
        Err(error) => body.push_str(&notice(&message_of(error), true)),
    }
    body.push_str("</section>");
    viewer.page_with_status(status, "Clients", Section::Clients, body)
}

/// `POST /clients`: adds a company.
pub(crate) async fn add(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let (permit, pairs) = match viewer.submitted::<need::ClientsManage>(&headers, form) {
        Ok(submitted) => submitted,
        Err(refused) => return refused,
    };
    let (name, details) = (field(&pairs, "name"), field(&pairs, "details"));
    match companies::create_company(viewer.tenant.store(), &permit, name, details).await {
        Ok(company) => Redirect::to(&format!("/clients/{}?added=1", company.id)).into_response(),
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
    }
}

/// The switches a contact may be given: what a client role may hold.
fn client_offered(permission: Permission) -> bool {
    permission.allowed_for_clients()
}

fn contact_row(viewer: &Viewer, company: &Company, contact: &User, can_edit: bool) -> String {
    let switches = contact.switches.unwrap_or(PermissionSet::all());
    let grid = permission_grid(
        "switch",
        &format!("s-{}", contact.id),
        switches,
        client_offered,
        !can_edit,
    );
    let save = if can_edit {
        format!(
            "<div class=\"actions\"><button type=\"submit\" class=\"secondary\">Save switches of {}</button></div>",
            e(&contact.name)
        )
    } else {
        String::new()
    };
    format!(
        "<details class=\"card\"><summary><strong>{}</strong> &lt;{}&gt; · {}</summary><form method=\"post\" action=\"/clients/{}/contacts/{}\">{}<p class=\"hint\">What this contact may do, within their role.</p>{grid}{save}</form></details>",
        e(&contact.name),
        e(&contact.email),
        contact.status.as_str(),
        e(&company.id),
        e(&contact.id),
        csrf_field(&viewer.token),
    )
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
                StatusCode::NOT_FOUND,
                "Client",
                Section::Clients,
                notice(&message_of(error), true),
            );
        }
    };
    let can_edit_switches =
        tenant_core::access::permit::<need::UsersManage>(principal, Scope::Brand).is_ok();
    let mut body = format!(
        "<p><a href=\"/clients\">← Clients</a></p><h1>{}</h1>",
        e(&company.name)
    );
    if let Some((text, error)) = &message {
        body.push_str(&notice(text, *error));
    }
    body.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"edit\"><h2 id=\"edit\">Company</h2><form method=\"post\" action=\"/clients/{}\">{}{}<label for=\"f-details\">Details</label><textarea id=\"f-details\" name=\"details\" rows=\"2\">{}</textarea><div class=\"actions\"><button type=\"submit\">Save company</button></div></form></section>",
        e(&company.id),
        csrf_field(&viewer.token),
        input(
            "name",
            "Company name",
            "text",
            Failed::typed(failed, "company").map_or(company.name.as_str(), |t| field(t, "name")),
            Failed::error(failed, "company", "name").as_deref(),
            "required"
        ),
        e(&company.details),
    ));
    // Adding a contact: name, address, client role and switches.
    let client_roles: Vec<_> = roles::list_roles(store, principal)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.kind == UserKind::Client)
        .collect();
    let empty = Vec::new();
    let typed = Failed::typed(failed, "contact").unwrap_or(&empty);
    let chosen_role = field(typed, "role");
    let options: String = client_roles
        .iter()
        .map(|r| {
            let selected = if r.id == chosen_role { " selected" } else { "" };
            format!(
                "<option value=\"{}\"{selected}>{}</option>",
                e(&r.id),
                e(&r.name)
            )
        })
        .collect();
    let typed_switches = if typed.is_empty() {
        PermissionSet::all()
    } else {
        permissions(typed, "switch")
    };
    body.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"contact\"><h2 id=\"contact\">Add a contact</h2><form method=\"post\" action=\"/clients/{}/contacts\" novalidate>{}<div class=\"row\"><div>{}</div><div>{}</div></div><label for=\"f-role\">Role</label><select id=\"f-role\" name=\"role\">{options}</select>{}<p class=\"hint\">Switches: what this contact may do, within their role.</p>{}{}<div class=\"actions\"><button type=\"submit\">Add and invite contact</button></div></form></section>",
        e(&company.id),
        csrf_field(&viewer.token),
        input_id("f-contact-name", "name", "Name", "text", field(typed, "name"), Failed::error(failed, "contact", "name").as_deref(), "required"),
        input_id("f-contact-email", "email", "E-mail", "email", field(typed, "email"), Failed::error(failed, "contact", "email").as_deref(), "required"),
        error_line(Failed::error(failed, "contact", "role")),
        error_line(Failed::error(failed, "contact", "switches").or_else(|| Failed::error(failed, "contact", "permissions"))),
        permission_grid("switch", "new", typed_switches, client_offered, false),
    ));
    body.push_str("<section aria-labelledby=\"contacts\"><h2 id=\"contacts\">Contacts</h2>");
    match companies::list_contacts(store, principal, &company.id, None, 200).await {
        Ok(page) if page.items.is_empty() => body.push_str("<p>No contacts yet.</p>"),
        Ok(page) => {
            for contact in &page.items {
                body.push_str(&contact_row(viewer, &company, contact, can_edit_switches));
            }
        }
        Err(error) => body.push_str(&notice(&message_of(error), true)),
    }
    body.push_str("</section>");
    viewer.page_with_status(status, &company.name, Section::Clients, body)
}

/// `GET /clients/{id}`.
pub(crate) async fn show(
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let permit = match viewer.permit::<need::ClientsManage>() {
        Ok(permit) => permit,
        Err(refused) => return refused,
    };
    let message = query
        .contains_key("added")
        .then(|| ("Company added. Now add its contacts.".to_owned(), false));
    render_company(&viewer, &permit, &id, message, None, StatusCode::OK).await
}

/// `POST /clients/{id}`: renames or edits the company.
pub(crate) async fn edit(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let (permit, pairs) = match viewer.submitted::<need::ClientsManage>(&headers, form) {
        Ok(submitted) => submitted,
        Err(refused) => return refused,
    };
    let result = companies::update_company(
        viewer.tenant.store(),
        &permit,
        &id,
        Some(field(&pairs, "name")),
        Some(field(&pairs, "details")),
    )
    .await;
    match result {
        Ok(_) => {
            let message = Some(("Company saved.".to_owned(), false));
            render_company(&viewer, &permit, &id, message, None, StatusCode::OK).await
        }
        Err(error) => {
            let (failed, text) = Failed::new("company", pairs, error);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
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
    }
}

/// `POST /clients/{id}/contacts`: invites a contact with a client role and switches.
pub(crate) async fn add_contact(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let (permit, pairs) = match viewer.submitted::<need::ClientsManage>(&headers, form) {
        Ok(submitted) => submitted,
        Err(refused) => return refused,
    };
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
    match outcome {
        Ok((user, invitation)) => {
            let text = if mail_set_up(&viewer.tenant, &viewer.connection).await {
                format!(
                    "{} was added; an invitation is on its way to {}.",
                    user.name, user.email
                )
            } else {
                format!(
                    "{} was added, but e-mail is not set up, so no invitation was mailed. Send them this link yourself (it works once, for 7 days): {}/invite/{}",
                    user.name,
                    viewer.connection.base,
                    invitation.token.reveal()
                )
            };
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
            let (failed, text) = Failed::new("contact", pairs, error);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
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
    }
}

/// `POST /clients/{id}/contacts/{user}`: saves a contact's switches (`users.manage`).
pub(crate) async fn switches(
    viewer: Viewer,
    headers: HeaderMap,
    Path((id, user)): Path<(String, String)>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let clients = match viewer.permit::<need::ClientsManage>() {
        Ok(permit) => permit,
        Err(refused) => return refused,
    };
    let (users_permit, pairs) = match viewer.submitted::<need::UsersManage>(&headers, form) {
        Ok(submitted) => submitted,
        Err(refused) => return refused,
    };
    let change = UserChange {
        name: None,
        role: None,
        switches: Some(Some(permissions(&pairs, "switch"))),
        access_expires_at: None,
    };
    let message = match users::get_user(viewer.tenant.store(), users_permit.principal(), &user)
        .await
    {
        Ok(found) if found.company_id.as_deref() == Some(id.as_str()) => {
            match users::update_user(viewer.tenant.store(), &users_permit, &user, &change).await {
                Ok(saved) => (format!("The switches of {} are saved.", saved.name), false),
                Err(error) => (message_of(error), true),
            }
        }
        Ok(_) => (
            "That contact is not one of this company's.".to_owned(),
            true,
        ),
        Err(error) => (message_of(error), true),
    };
    render_company(&viewer, &clients, &id, Some(message), None, StatusCode::OK).await
}
