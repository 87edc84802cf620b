//! The Users page (`users.manage`): find people, add one with a role, and on a person's
//! own page edit them, deactivate (after a confirmation) or reactivate them, send their
//! invitation again, or send them a password reset link.

use std::collections::HashMap;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use tenant_core::access::permissions::need;
use tenant_core::access::{Permitted, UserKind};
use tenant_core::accounts::credentials::LinkKind;
use tenant_core::accounts::lifecycle;
use tenant_core::accounts::roles::{self, Role};
use tenant_core::accounts::users::{self, NewUser, User, UserChange, UserFilter, UserStatus};
use tenant_core::accounts::{companies, invitations, password_reset};
use tenant_core::fields;
use tenant_core::names::{Email, percent_encode};

use crate::http::caller::mail_set_up;
use crate::http::error::ApiError;
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::forms::DoneQuery;
use crate::ui::forms::kind_word;
use crate::ui::layout::{Field, Section, csrf_field, notice};

const PAGE: u32 = 25;

/// The Users pages' routes.
pub(crate) fn routes() -> Pages {
    Pages::new()
        .route("/users", "GET POST", get(list).post(add))
        .route("/users/{id}", "GET POST", get(show).post(edit))
        .route(
            "/users/{id}/deactivate",
            "GET POST",
            get(confirm_deactivate).post(deactivate),
        )
        .route("/users/{id}/reactivate", "POST", post(reactivate))
        .route("/users/{id}/invitation", "POST", post(resend))
        .route("/users/{id}/password-reset", "POST", post(send_reset))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
    /// What was just done (after a redirect): `deactivated`, `reactivated`.
    #[serde(default)]
    done: Option<String>,
    /// To whom.
    #[serde(default)]
    user: Option<String>,
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

/// A user's status as a badge: each status its own word and colour.
pub(crate) fn status_badge(status: UserStatus) -> Markup {
    let (class, word) = match status {
        UserStatus::Invited => ("status", "invited"),
        UserStatus::Active => ("status on", "active"),
        UserStatus::Deactivated => ("status off", "deactivated"),
    };
    html! { span class=(class) { (word) } }
}

/// A role picker: staff roles and client roles in their own groups, so nobody gives a
/// client role to a colleague by mistake. `only` keeps one kind (a user's role can only
/// change within its kind).
pub(crate) fn role_options(roles: &[Role], chosen: &str, only: Option<UserKind>) -> Markup {
    let group = |kind: UserKind, label: &'static str| {
        let members: Vec<&Role> = roles.iter().filter(|r| r.kind == kind).collect();
        html! {
            @if !members.is_empty() && only.is_none_or(|k| k == kind) {
                optgroup label=(label) {
                    @for role in members {
                        option value=(role.id) selected[role.id == chosen] { (role.name) }
                    }
                }
            }
        }
    };
    html! {
        (group(UserKind::Staff, "Staff roles (the agency's team)"))
        (group(UserKind::Client, "Client roles (contacts of a client company)"))
    }
}

fn row(viewer: &Viewer, user: &User, roles: &[Role], me: &str) -> Markup {
    let role = roles
        .iter()
        .find(|r| r.id == user.role_id)
        .map_or(user.role_id.as_str(), |r| r.name.as_str());
    let base = format!("/users/{}", user.id);
    html! {
        tr {
            td {
                a href=(base) { (user.name) }
                br;
                span.hint { (user.email) }
            }
            td.optional { (kind_word(user.kind)) }
            td { (role) }
            td { (status_badge(user.status)) }
            td {
                @if user.id != me {
                    @match user.status {
                        UserStatus::Deactivated => {
                            form method="post" action={ (base) "/reactivate" } {
                                (csrf_field(&viewer.token))
                                button.secondary type="submit" aria-label={ "Reactivate " (user.name) } { "Reactivate" }
                            }
                        },
                        UserStatus::Invited => {
                            form method="post" action={ (base) "/invitation" } {
                                (csrf_field(&viewer.token))
                                button.secondary type="submit" aria-label={ "Resend invitation to " (user.name) } { "Resend invitation" }
                            }
                            " " (deactivate_button(&base, &user.name))
                        },
                        UserStatus::Active => (deactivate_button(&base, &user.name)),
                    }
                }
            }
        }
    }
}

/// The button that asks to deactivate (a plain link to the confirmation, as a button).
fn deactivate_button(base: &str, name: &str) -> Markup {
    html! {
        form method="get" action={ (base) "/deactivate" } {
            button.secondary type="submit" aria-label={ "Deactivate " (name) } { "Deactivate" }
        }
    }
}

fn add_form(
    viewer: &Viewer,
    outcome: &Outcome,
    roles: &[Role],
    companies: &[(String, String)],
) -> Markup {
    let f = &outcome.form;
    let error = |field: &str| outcome.errors.get(field).map(String::as_str);
    let chosen = if f.role.is_empty() { "staff" } else { &f.role };
    html! {
        section.card aria-labelledby="add" {
            h2 id="add" { "Add a person" }
            p.hint { "They get an e-mail with a link to set their password." }
            form method="post" action="/users" novalidate {
                (csrf_field(&viewer.token))
                div.row {
                    div { (Field::new("name", "Name").value(&f.name).error(error("name")).autocomplete("off").required()) }
                    div { (Field::new("email", "E-mail").kind("email").value(&f.email).error(error("email")).autocomplete("off").required()) }
                }
                div.row {
                    div {
                        label for="f-role" { "Role" }
                        select id="f-role" name="role" aria-invalid=[error("role").map(|_| "true")] aria-describedby=[error("role").map(|_| "f-role-error")] {
                            (role_options(roles, chosen, None))
                        }
                        @if let Some(message) = error("role") { p.field-error id="f-role-error" { (message) } }
                    }
                    div {
                        label for="f-company" { "Client company (for client roles)" }
                        select id="f-company" name="company" aria-invalid=[error("company").map(|_| "true")] aria-describedby=[error("company").map(|_| "f-company-error")] {
                            option value="" { "— none (staff) —" }
                            @for (id, name) in companies {
                                option value=(id) selected[*id == f.company] { (name) }
                            }
                        }
                        @if let Some(message) = error("company") { p.field-error id="f-company-error" { (message) } }
                    }
                }
                div.actions { button type="submit" { "Add and invite" } }
            }
        }
    }
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
    let companies: Vec<(String, String)> = companies::list_companies(store, principal, None, 200)
        .await
        .map(|p| p.items.into_iter().map(|c| (c.id, c.name)).collect())
        .unwrap_or_default();
    let q = query.q.clone().unwrap_or_default();
    let done = done_message(viewer, permit, query).await;
    let (page, failure) = match page {
        Ok(page) => (Some(page), None),
        Err(error) => (None, Some(ApiError::Core(error).page_message())),
    };
    let body = html! {
        h1 { "Users" }
        @if let Some(text) = &done { (notice(text, false)) }
        @if let Some((text, error)) = &outcome.message { (notice(text, *error)) }
        (add_form(viewer, outcome, &roles, &companies))
        section.card aria-labelledby="people" {
            h2 id="people" { "People" }
            form method="get" action="/users" role="search" {
                label for="f-q" { "Find by name or e-mail" }
                div.actions style="margin-top:0" {
                    input id="f-q" name="q" type="search" value=(q);
                    button.secondary type="submit" { "Search" }
                }
            }
            @if let Some(text) = &failure { (notice(text, true)) }
            @if let Some(page) = &page {
                    @if page.items.is_empty() {
                        p { "No one matches." }
                    } @else {
                        table {
                            thead { tr {
                                th scope="col" { "Name" }
                                th.optional scope="col" { "Kind" }
                                th scope="col" { "Role" }
                                th scope="col" { "Status" }
                                th scope="col" { "Actions" }
                            } }
                            tbody {
                                @for user in &page.items { (row(viewer, user, &roles, principal.user_id())) }
                            }
                        }
                    }
                    @if let Some(next) = &page.next_cursor {
                        p { a href={ "/users?q=" (percent_encode(&q)) "&cursor=" (percent_encode(next)) } { "Next page" } }
                    }
            }
        }
    };
    viewer.page_with_status(status, "Users", Section::Users, body)
}

/// The sentence for what a redirect says was just done to a user.
async fn done_message(
    viewer: &Viewer,
    permit: &Permitted<'_, need::UsersManage>,
    query: &ListQuery,
) -> Option<String> {
    let (done, id) = (query.done.as_deref()?, query.user.as_deref()?);
    let user = users::get_user(viewer.tenant.store(), permit.principal(), id)
        .await
        .ok()?;
    Some(match done {
        "deactivated" => format!(
            "{} is deactivated: they are signed out everywhere, and everything they did stays.",
            user.name
        ),
        "reactivated" => format!("{} can sign in again.", user.name),
        "saved" => format!("{} is saved.", user.name),
        "reset-sent" => format!("A password reset link is on its way to {}.", user.email),
        _ => return None,
    })
}

/// `GET /users`.
pub(crate) async fn list(
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::UsersManage>()?;
    Ok(render(
        &viewer,
        &permit,
        &query,
        &Outcome::default(),
        StatusCode::OK,
    )
    .await)
}

fn invited_message(user: &User, token_link: &str, mailed: bool) -> String {
    if mailed {
        format!(
            "{} was added; an invitation is on its way to {}.",
            user.name, user.email
        )
    } else {
        format!(
            "{} was added, but e-mail is not set up for this workspace, so no invitation was mailed. Send them this link yourself (it works once, for 7 days): {token_link}",
            user.name,
        )
    }
}

/// `POST /users`: adds a person and invites them.
pub(crate) async fn add(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<AddForm>, FormRejection>,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::UsersManage>()?;
    let form = form.map(|Form(f)| f).unwrap_or_default();
    viewer.check_form(&headers, &form.csrf)?;
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
                    let link = invitation
                        .token
                        .link(&viewer.connection.base, LinkKind::Invitation);
                    outcome.message = Some((invited_message(&user, &link, mailed), false));
                    return Ok(render(
                        &viewer,
                        &permit,
                        &ListQuery::default(),
                        &outcome,
                        StatusCode::OK,
                    )
                    .await);
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
    Ok(render(
        &viewer,
        &permit,
        &ListQuery::default(),
        &outcome,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct TokenForm {
    #[serde(default)]
    csrf: String,
}

/// The form's fields once the viewer may manage users and the form is theirs.
fn checked<'v, T: Default + HasCsrf>(
    viewer: &'v Viewer,
    headers: &HeaderMap,
    form: Result<Form<T>, FormRejection>,
) -> Result<(Permitted<'v, need::UsersManage>, T), Response> {
    let permit = viewer.permit::<need::UsersManage>()?;
    let form = form.map(|Form(f)| f).unwrap_or_default();
    viewer.check_form(headers, form.csrf())?;
    Ok((permit, form))
}

/// A form with a form token.
trait HasCsrf {
    fn csrf(&self) -> &str;
}

impl HasCsrf for TokenForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl HasCsrf for EditForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `GET /users/{id}/deactivate`: what deactivating means, and a button to do it.
pub(crate) async fn confirm_deactivate(
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::UsersManage>()?;
    let user = match users::get_user(viewer.tenant.store(), permit.principal(), &id).await {
        Ok(user) => user,
        Err(error) => return Err(not_found(&viewer, error)),
    };
    Ok(viewer.confirm(
        Section::Users,
        &format!("Deactivate {}?", user.name),
        &format!(
            "{} ({}) is signed out everywhere at once and can no longer sign in. Everything they did stays, and you can reactivate them later.",
            user.name, user.email
        ),
        &format!("/users/{}/deactivate", user.id),
        &format!("Yes, deactivate {}", user.name),
        &format!("/users/{}", user.id),
    ))
}

/// `POST /users/{id}/deactivate`.
pub(crate) async fn deactivate(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, _) = checked(&viewer, &headers, form)?;
    match lifecycle::deactivate_user(viewer.tenant.store(), &permit, &id).await {
        Ok(user) => Ok(done_in_list(&user, "deactivated")),
        Err(error) => Ok(refused_on_user(&viewer, &permit, &id, error).await),
    }
}

/// `POST /users/{id}/reactivate`.
pub(crate) async fn reactivate(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, _) = checked(&viewer, &headers, form)?;
    match lifecycle::reactivate_user(viewer.tenant.store(), &permit, &id).await {
        Ok(user) => Ok(done_in_list(&user, "reactivated")),
        Err(error) => Ok(refused_on_user(&viewer, &permit, &id, error).await),
    }
}

/// `POST /users/{id}/invitation`: a new invitation link (the old one stops working).
pub(crate) async fn resend(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, _) = checked(&viewer, &headers, form)?;
    let message = match invitations::resend_invitation(viewer.tenant.store(), &permit, &id).await {
        Ok((user, invitation)) => {
            let mailed = mail_set_up(&viewer.tenant, &viewer.connection).await;
            let link = invitation
                .token
                .link(&viewer.connection.base, LinkKind::Invitation);
            (
                invited_message(&user, &link, mailed)
                    .replace(" was added", "'s invitation was renewed"),
                false,
            )
        }
        Err(error) => (ApiError::Core(error).page_message(), true),
    };
    Ok(render_user(&viewer, &permit, &id, Some(message), None, StatusCode::OK).await)
}

/// `POST /users/{id}/password-reset`: mails the user a reset link, or, when this
/// workspace cannot send mail, shows the link for the admin to pass on.
pub(crate) async fn send_reset(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, _) = checked(&viewer, &headers, form)?;
    match password_reset::send_password_reset(viewer.tenant.store(), &permit, &id).await {
        Ok((user, token)) => {
            if mail_set_up(&viewer.tenant, &viewer.connection).await {
                return Ok(done(&user, "reset-sent"));
            }
            let link = token.link(&viewer.connection.base, LinkKind::Reset);
            let message = format!(
                "E-mail is not set up for this workspace, so no mail was sent. Give {} this link yourself (it works once, for an hour): {link}",
                user.name
            );
            Ok(render_user(
                &viewer,
                &permit,
                &id,
                Some((message, false)),
                None,
                StatusCode::OK,
            )
            .await)
        }
        Err(error) => Ok(refused_on_user(&viewer, &permit, &id, error).await),
    }
}

/// After a change to a user: their page, saying what was done (Post/Redirect/Get).
fn done(user: &User, what: &str) -> Response {
    Redirect::to(&format!("/users/{}?done={what}", user.id)).into_response()
}

/// After a change to a user's status: the list, where their row shows it.
fn done_in_list(user: &User, what: &str) -> Response {
    Redirect::to(&format!("/users?done={what}&user={}", user.id)).into_response()
}

/// A refused change, said on the user's page.
async fn refused_on_user(
    viewer: &Viewer,
    permit: &Permitted<'_, need::UsersManage>,
    id: &str,
    error: tenant_core::Error,
) -> Response {
    let status = crate::http::error::status_of(&error);
    render_user(
        viewer,
        permit,
        id,
        Some((ApiError::Core(error).page_message(), true)),
        None,
        status,
    )
    .await
}

fn not_found(viewer: &Viewer, error: tenant_core::Error) -> Response {
    viewer.page_with_status(
        crate::http::error::status_of(&error),
        "User",
        Section::Users,
        notice(&ApiError::Core(error).page_message(), true),
    )
}

/// One user's page: who they are, the edit form (name, role of the same kind, when access
/// ends) and what can be done to their account.
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
        Err(error) => return not_found(viewer, error),
    };
    let roles = roles::list_roles(store, principal)
        .await
        .unwrap_or_default();
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
    let dates = viewer.look.date_format;
    let base = format!("/users/{}", user.id);
    let myself = user.id == principal.user_id();
    let body = html! {
        p { a href="/users" { "← Users" } }
        h1 { (user.name) }
        p { (user.email) " · " (kind_word(user.kind)) " · " (status_badge(user.status)) }
        @if let Some((text, is_error)) = &message { (notice(text, *is_error)) }
        form.card method="post" action=(base) novalidate {
            (csrf_field(&viewer.token))
            (Field::new("name", "Name").value(&user.name).error(field_error("name")).required())
            label for="f-role" { "Role" }
            select id="f-role" name="role" aria-invalid=[field_error("role").map(|_| "true")] aria-describedby=[field_error("role").map(|_| "f-role-error")] {
                (role_options(&roles, &user.role_id, Some(user.kind)))
            }
            @if let Some(message) = field_error("role") { p.field-error id="f-role-error" { (message) } }
            (Field::new("access_expires_at", "Access ends on").kind("date").value(&ends)
                .error(field_error("access_expires_at"))
                .hint("On that day (UTC) their access ends by itself; leave empty for no end."))
            div.actions { button type="submit" { "Save" } }
        }
        section.card aria-labelledby="account" {
            h2 id="account" { "Account" }
            dl.facts {
                dt { "Added" } dd { (dates.moment(user.created_at)) }
                dt { "Last signed in" }
                dd { @match user.last_sign_in_at { Some(at) => (dates.moment(at)), None => "never" } }
            }
            @if !myself {
                div.actions {
                    @match user.status {
                        UserStatus::Active => {
                            form method="post" action={ (base) "/password-reset" } {
                                (csrf_field(&viewer.token))
                                button.secondary type="submit" { "Send a password reset link" }
                            }
                            (deactivate_button(&base, &user.name))
                        },
                        UserStatus::Invited => {
                            form method="post" action={ (base) "/invitation" } {
                                (csrf_field(&viewer.token))
                                button.secondary type="submit" { "Resend invitation" }
                            }
                            (deactivate_button(&base, &user.name))
                        },
                        UserStatus::Deactivated => {
                            form method="post" action={ (base) "/reactivate" } {
                                (csrf_field(&viewer.token))
                                button.secondary type="submit" { "Reactivate" }
                            }
                        },
                    }
                }
            }
        }
    };
    viewer.page_with_status(status, &user.name, Section::Users, body)
}

/// `GET /users/{id}`.
pub(crate) async fn show(
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::UsersManage>()?;
    let list_query = ListQuery {
        done: query.done,
        user: Some(id.clone()),
        ..ListQuery::default()
    };
    let message = done_message(&viewer, &permit, &list_query)
        .await
        .map(|text| (text, false));
    Ok(render_user(&viewer, &permit, &id, message, None, StatusCode::OK).await)
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

/// `POST /users/{id}`: name, role and access end.
pub(crate) async fn edit(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<EditForm>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, form) = checked(&viewer, &headers, form)?;
    let ends = form.access_expires_at.trim();
    let ends = if ends.is_empty() {
        Ok(None)
    } else {
        tenant_core::fields::parse_date("access_expires_at", ends)
            .map(|d| Some(d.midnight().assume_utc()))
    };
    let outcome = match ends {
        Ok(ends) => {
            let change = UserChange {
                name: Some(form.name.clone()),
                role: Some(form.role.clone()),
                switches: None,
                access_expires_at: Some(ends),
            };
            users::update_user(viewer.tenant.store(), &permit, &id, &change).await
        }
        Err(error) => Err(error),
    };
    Ok(match outcome {
        Ok(user) => done(&user, "saved"),
        Err(tenant_core::Error::Field { field, message }) => {
            let text = ApiError::Core(tenant_core::Error::field(field, message)).page_message();
            render_user(
                &viewer,
                &permit,
                &id,
                Some((
                    "Nothing was saved: check the marked field.".to_owned(),
                    true,
                )),
                Some((field, text)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => refused_on_user(&viewer, &permit, &id, error).await,
    })
}
