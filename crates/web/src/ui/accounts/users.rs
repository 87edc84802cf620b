//! The Users page (`users.manage`): find people, add one with a role, deactivate,
//! reactivate, and send an invitation again.

use std::collections::HashMap;
use tenant_core::accounts::invitations;
use tenant_core::fields;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tenant_core::access::Permitted;
use tenant_core::access::UserKind;
use tenant_core::access::permissions::need;
use tenant_core::accounts::companies;
use tenant_core::accounts::invitations::Invitation;
use tenant_core::accounts::roles::{self, Role};
use tenant_core::accounts::users::{self, NewUser, User, UserChange, UserFilter, UserStatus};
use tenant_core::names::Email;

use crate::escape_html as e;
use crate::http::caller::mail_set_up;
use crate::http::error::ApiError;
use crate::ui::Viewer;
use crate::ui::forms::kind_word;
use crate::ui::layout::{Section, csrf_field, input, notice};

const PAGE: u32 = 25;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    company: String,
}

/// What the add form shows after a try.
#[derive(Debug, Default)]
struct Outcome {
    form: AddForm,
    errors: HashMap<&'static str, String>,
    message: Option<(String, bool)>,
}

fn status_word(status: UserStatus) -> &'static str {
    match status {
        UserStatus::Invited => "invited",
        UserStatus::Active => "active",
        UserStatus::Deactivated => "deactivated",
    }
}

fn row(user: &User, roles: &[Role], me: &str, token: &str) -> String {
    let role = roles
        .iter()
        .find(|r| r.id == user.role_id)
        .map_or(user.role_id.as_str(), |r| r.name.as_str());
    let button = |action: &str, label: &str| {
        format!(
            "<form method=\"post\" action=\"/users/{}/{action}\">{}<button type=\"submit\" class=\"secondary\" aria-label=\"{label} {}\">{label}</button></form>",
            e(&user.id),
            csrf_field(token),
            e(&user.name),
        )
    };
    let mut actions = Vec::new();
    if user.id != me {
        match user.status {
            UserStatus::Active => actions.push(button("deactivate", "Deactivate")),
            UserStatus::Deactivated => actions.push(button("reactivate", "Reactivate")),
            UserStatus::Invited => {
                actions.push(button("invitation", "Resend invitation"));
                actions.push(button("deactivate", "Deactivate"));
            }
        }
    }
    format!(
        "<tr><td><a href=\"/users/{}\">{}</a><br><span class=\"hint\">{}</span></td><td class=\"optional\">{}</td><td>{}</td><td><span class=\"status\">{}</span></td><td>{}</td></tr>",
        e(&user.id),
        e(&user.name),
        e(&user.email),
        kind_word(user.kind),
        e(role),
        status_word(user.status),
        actions.join(" ")
    )
}

fn add_form(
    outcome: &Outcome,
    roles: &[Role],
    companies: &[(String, String)],
    token: &str,
) -> String {
    let f = &outcome.form;
    let error = |field: &str| outcome.errors.get(field).map(String::as_str);
    let mut options = String::new();
    for role in roles {
        let selected = if role.id == f.role || (f.role.is_empty() && role.id == "staff") {
            " selected"
        } else {
            ""
        };
        let kind = if role.kind == UserKind::Client {
            " (client)"
        } else {
            ""
        };
        options.push_str(&format!(
            "<option value=\"{}\"{selected}>{}{kind}</option>",
            e(&role.id),
            e(&role.name)
        ));
    }
    let mut company_options = String::from("<option value=\"\">— none (staff) —</option>");
    for (id, name) in companies {
        let selected = if *id == f.company { " selected" } else { "" };
        company_options.push_str(&format!(
            "<option value=\"{}\"{selected}>{}</option>",
            e(id),
            e(name)
        ));
    }
    let role_error = error("role").map_or_else(String::new, |m| {
        format!("<p class=\"field-error\" id=\"f-role-error\">{}</p>", e(m))
    });
    let company_error = error("company").map_or_else(String::new, |m| {
        format!(
            "<p class=\"field-error\" id=\"f-company-error\">{}</p>",
            e(m)
        )
    });
    format!(
        "<section class=\"card\" aria-labelledby=\"add\"><h2 id=\"add\">Add a person</h2><p class=\"hint\">They get an e-mail with a link to set their password.</p><form method=\"post\" action=\"/users\" novalidate>{}<div class=\"row\"><div>{}</div><div>{}</div></div><div class=\"row\"><div><label for=\"f-role\">Role</label><select id=\"f-role\" name=\"role\">{options}</select>{role_error}</div><div><label for=\"f-company\">Client company (for client roles)</label><select id=\"f-company\" name=\"company\">{company_options}</select>{company_error}</div></div><div class=\"actions\"><button type=\"submit\">Add and invite</button></div></form></section>",
        csrf_field(token),
        input(
            "name",
            "Name",
            "text",
            &f.name,
            error("name"),
            "autocomplete=\"off\" required"
        ),
        input(
            "email",
            "E-mail",
            "email",
            &f.email,
            error("email"),
            "autocomplete=\"off\" required"
        ),
    )
}

async fn render(
    viewer: &Viewer,
    permit: &Permitted<'_, need::UsersManage>,
    query: &ListQuery,
    outcome: &Outcome,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let principal = permit.principal();
    let filter = UserFilter {
        q: query.q.clone().filter(|q| !q.trim().is_empty()),
        ..UserFilter::default()
    };
    let page = users::list_users(store, permit, &filter, query.cursor.as_deref(), PAGE).await;
    let roles = roles::list_roles(store, principal)
        .await
        .unwrap_or_default();
    let companies = companies::list_companies(store, principal, None, 200)
        .await
        .map(|p| {
            p.items
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let mut body = String::from("<h1>Users</h1>");
    if let Some((text, error)) = &outcome.message {
        body.push_str(&notice(text, *error));
    }
    body.push_str(&add_form(outcome, &roles, &companies, &viewer.token));
    let q = query.q.clone().unwrap_or_default();
    body.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"people\"><h2 id=\"people\">People</h2><form method=\"get\" action=\"/users\" role=\"search\"><label for=\"f-q\">Find by name or e-mail</label><div class=\"actions\" style=\"margin-top:0\"><input id=\"f-q\" name=\"q\" type=\"search\" value=\"{}\"><button type=\"submit\" class=\"secondary\">Search</button></div></form>",
        e(&q)
    ));
    match page {
        Ok(page) => {
            if page.items.is_empty() {
                body.push_str("<p>No one matches.</p>");
            } else {
                body.push_str("<table><thead><tr><th scope=\"col\">Name</th><th scope=\"col\" class=\"optional\">Kind</th><th scope=\"col\">Role</th><th scope=\"col\">Status</th><th scope=\"col\">Actions</th></tr></thead><tbody>");
                for user in &page.items {
                    body.push_str(&row(user, &roles, principal.user_id(), &viewer.token));
                }
                body.push_str("</tbody></table>");
            }
            if let Some(next) = &page.next_cursor {
                body.push_str(&format!(
                    "<p><a href=\"/users?q={}&amp;cursor={}\">Next page</a></p>",
                    e(&urlencode(&q)),
                    e(&urlencode(next))
                ));
            }
        }
        Err(error) => body.push_str(&notice(&ApiError::Core(error).page_message(), true)),
    }
    body.push_str("</section>");
    viewer.page_with_status(status, "Users", Section::Users, body)
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /users`.
pub(crate) async fn list(viewer: Viewer, Query(query): Query<ListQuery>) -> Response {
    let permit = match viewer.permit::<need::UsersManage>() {
        Ok(permit) => permit,
        Err(refused) => return refused,
    };
    render(
        &viewer,
        &permit,
        &query,
        &Outcome::default(),
        StatusCode::OK,
    )
    .await
}

fn invited_message(viewer: &Viewer, user: &User, invitation: &Invitation, mailed: bool) -> String {
    if mailed {
        format!(
            "{} was added; an invitation is on its way to {}.",
            user.name, user.email
        )
    } else {
        format!(
            "{} was added, but e-mail is not set up for this workspace, so no invitation was mailed. Send them this link yourself (it works once, for 7 days): {}/invite/{}",
            user.name,
            viewer.connection.base,
            invitation.token.reveal()
        )
    }
}

/// `POST /users`: adds a person and invites them.
pub(crate) async fn add(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<AddForm>, FormRejection>,
) -> Response {
    let permit = match viewer.permit::<need::UsersManage>() {
        Ok(permit) => permit,
        Err(refused) => return refused,
    };
    let form = form.map(|Form(f)| f).unwrap_or_default();
    if let Err(refused) = viewer.check_form(&headers, &form.csrf) {
        return refused;
    }
    let mut outcome = Outcome::default();
    let email = Email::parse(form.email.trim());
    let name = fields::parse_name(&form.name);
    match (&email, &name) {
        (Ok(email), Ok(name)) => {
            let mut new = NewUser::new(email.clone(), name, form.role.trim());
            new.company_id = Some(form.company.trim().to_owned()).filter(|c| !c.is_empty());
            match invitations::invite(viewer.tenant.store(), &permit, &new).await {
                Ok((user, invitation)) => {
                    let mailed = mail_set_up(&viewer.tenant, &viewer.connection).await;
                    outcome.message =
                        Some((invited_message(&viewer, &user, &invitation, mailed), false));
                    return render(
                        &viewer,
                        &permit,
                        &ListQuery::default(),
                        &outcome,
                        StatusCode::OK,
                    )
                    .await;
                }
                Err(tenant_core::Error::Field { field, message }) => {
                    outcome.errors.insert(
                        field,
                        ApiError::Core(tenant_core::Error::field(field, message)).page_message(),
                    );
                }
                Err(error) => {
                    outcome.message = Some((ApiError::Core(error).page_message(), true));
                }
            }
        }
        _ => {
            if let Err(error) = &email {
                outcome.errors.insert(
                    "email",
                    ApiError::Core(tenant_core::Error::field("email", error.to_string()))
                        .page_message(),
                );
            }
            if let Err(error) = name {
                outcome
                    .errors
                    .insert("name", ApiError::Core(error).page_message());
            }
        }
    }
    if outcome.message.is_none() {
        outcome.message = Some(("Check the marked fields.".to_owned(), true));
    }
    outcome.form = form;
    render(
        &viewer,
        &permit,
        &ListQuery::default(),
        &outcome,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// `POST /users/{id}/{edit|deactivate|reactivate|invitation}`.
pub(crate) async fn act(
    viewer: Viewer,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    form: Result<Form<EditForm>, FormRejection>,
) -> Response {
    let permit = match viewer.permit::<need::UsersManage>() {
        Ok(permit) => permit,
        Err(refused) => return refused,
    };
    let form = form.map(|Form(f)| f).unwrap_or_default();
    if let Err(refused) = viewer.check_form(&headers, &form.csrf) {
        return refused;
    }
    if action == "edit" {
        return edit(&viewer, &permit, &id, form).await;
    }
    let store = viewer.tenant.store();
    let result = match action.as_str() {
        "deactivate" => users::deactivate_user(store, &permit, &id).await.map(|u| {
            format!(
                "{} is deactivated: they are signed out everywhere, and everything they did stays.",
                u.name
            )
        }),
        "reactivate" => users::reactivate_user(store, &permit, &id)
            .await
            .map(|u| format!("{} can sign in again.", u.name)),
        "invitation" => match invitations::resend_invitation(store, &permit, &id).await {
            Ok((user, invitation)) => {
                let mailed = mail_set_up(&viewer.tenant, &viewer.connection).await;
                Ok(invited_message(&viewer, &user, &invitation, mailed)
                    .replace(" was added", "'s invitation was renewed"))
            }
            Err(error) => Err(error),
        },
        _ => Err(tenant_core::Error::NotFound(
            "There is no such action.".to_owned(),
        )),
    };
    let outcome = Outcome {
        message: Some(match result {
            Ok(text) => (text, false),
            Err(error) => (ApiError::Core(error).page_message(), true),
        }),
        ..Outcome::default()
    };
    render(
        &viewer,
        &permit,
        &ListQuery::default(),
        &outcome,
        StatusCode::OK,
    )
    .await
}

/// The edit form of one user: name, role (of the same kind) and when access ends.
async fn render_user(
    viewer: &Viewer,
    permit: &Permitted<'_, need::UsersManage>,
    id: &str,
    message: Option<(String, bool)>,
    error: Option<(&'static str, String)>,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let principal = permit.principal();
    let user = match users::get_user(store, principal, id).await {
        Ok(user) => user,
        Err(error) => {
            return viewer.page_with_status(
                StatusCode::NOT_FOUND,
                "User",
                Section::Users,
                notice(&ApiError::Core(error).page_message(), true),
            );
        }
    };
    let roles = roles::list_roles(store, principal)
        .await
        .unwrap_or_default();
    let options: String = roles
        .iter()
        .filter(|r| r.kind == user.kind)
        .map(|r| {
            let selected = if r.id == user.role_id {
                " selected"
            } else {
                ""
            };
            format!(
                "<option value=\"{}\"{selected}>{}</option>",
                e(&r.id),
                e(&r.name)
            )
        })
        .collect();
    let ends = user
        .access_expires_at
        .map(|t| format!("{}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
        .unwrap_or_default();
    let field_error = |name: &str| {
        error
            .as_ref()
            .filter(|(f, _)| *f == name)
            .map(|(_, m)| m.as_str())
    };
    let role_error = field_error("role").map_or_else(String::new, |m| {
        format!("<p class=\"field-error\" id=\"f-role-error\">{}</p>", e(m))
    });
    let mut body = format!(
        "<p><a href=\"/users\">← Users</a></p><h1>{}</h1><p>{} · {} · {}</p>",
        e(&user.name),
        e(&user.email),
        kind_word(user.kind),
        status_word(user.status)
    );
    if let Some((text, is_error)) = &message {
        body.push_str(&notice(text, *is_error));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/users/{}/edit\" class=\"card\" novalidate>{}{}<label for=\"f-role\">Role</label><select id=\"f-role\" name=\"role\">{options}</select>{role_error}{}<p class=\"hint\">On that day (UTC) their access ends by itself; leave empty for no end.</p><div class=\"actions\"><button type=\"submit\">Save</button></div></form>",
        e(&user.id),
        csrf_field(&viewer.token),
        input("name", "Name", "text", &user.name, field_error("name"), "required"),
        input("access_expires_at", "Access ends on", "date", &ends, field_error("access_expires_at"), ""),
    ));
    viewer.page_with_status(status, &user.name, Section::Users, body)
}

/// `GET /users/{id}`.
pub(crate) async fn show(viewer: Viewer, Path(id): Path<String>) -> Response {
    let permit = match viewer.permit::<need::UsersManage>() {
        Ok(permit) => permit,
        Err(refused) => return refused,
    };
    render_user(&viewer, &permit, &id, None, None, StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct EditForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    access_expires_at: String,
}

/// `POST /users/{id}/edit`: name, role and access end.
async fn edit(
    viewer: &Viewer,
    permit: &Permitted<'_, need::UsersManage>,
    id: &str,
    form: EditForm,
) -> Response {
    let ends = form.access_expires_at.trim();
    let ends = if ends.is_empty() {
        Ok(None)
    } else {
        time::Date::parse(
            ends,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map(|d| Some(d.midnight().assume_utc()))
        .map_err(|_| tenant_core::Error::field("access_expires_at", "use a date like 2027-01-31"))
    };
    let outcome = match ends {
        Ok(ends) => {
            let change = UserChange {
                name: Some(form.name.clone()),
                role: Some(form.role.clone()),
                switches: None,
                access_expires_at: Some(ends),
            };
            users::update_user(viewer.tenant.store(), permit, id, &change).await
        }
        Err(error) => Err(error),
    };
    match outcome {
        Ok(user) => {
            render_user(
                viewer,
                permit,
                id,
                Some((format!("{} is saved.", user.name), false)),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(tenant_core::Error::Field { field, message }) => {
            let text = ApiError::Core(tenant_core::Error::field(field, message)).page_message();
            render_user(
                viewer,
                permit,
                id,
                Some((
                    "Nothing was saved: check the marked field.".to_owned(),
                    true,
                )),
                Some((field, text)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => {
            render_user(
                viewer,
                permit,
                id,
                Some((ApiError::Core(error).page_message(), true)),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
