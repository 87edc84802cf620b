//! The Roles pages (`roles.manage`): every role with its permissions as a grid of modules ×
//! actions; custom roles are made here, `staff`, `client` and custom roles edited, and
//! `admin` shown read-only. A client role offers only what client roles may hold.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use tenant_core::access::Permitted;
use tenant_core::access::UserKind;
use tenant_core::access::permissions::{Permission, need};
use tenant_core::accounts::roles::{self, NewRole, Role, RoleChange};

use crate::http::error::{ApiError, status_of};
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::forms::{Failed, Pairs, error_line, field, kind_word, permission_grid, permissions};
use crate::ui::layout::{Field, Section, csrf_field, notice};

/// The Roles pages' routes.
pub(crate) fn routes() -> Pages {
    Pages::new()
        .route("/roles", "GET POST", get(list).post(create))
        .route("/roles/{id}", "POST", post(update))
        .route(
            "/roles/{id}/delete",
            "GET POST",
            get(confirm_remove).post(remove),
        )
}

fn offered(kind: UserKind) -> impl Fn(Permission) -> bool {
    move |permission| kind == UserKind::Staff || permission.allowed_for_clients()
}

async fn render(
    viewer: &Viewer,
    permit: &Permitted<'_, need::RolesManage>,
    message: Option<(String, bool)>,
    failed: Option<&Failed>,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let empty = Vec::new();
    let typed = Failed::typed(failed, "new").unwrap_or(&empty);
    let kind = if field(typed, "kind") == "client" {
        UserKind::Client
    } else {
        UserKind::Staff
    };
    let listed = roles::list_roles(store, permit.principal())
        .await
        .map_err(|error| ApiError::Core(error).page_message());
    let body = html! {
        h1 { "Roles" }
        @if let Some((text, error)) = &message { (notice(text, *error)) }
        section.card aria-labelledby="new" {
            h2 id="new" { "New custom role" }
            form method="post" action="/roles" novalidate {
                (csrf_field(&viewer.token))
                div.row {
                    div { (Field::new("name", "Name").value(field(typed, "name"))
                        .error(Failed::error(failed, "new", "name").as_deref()).required()) }
                    div {
                        label for="f-kind" { "For" }
                        select id="f-kind" name="kind" {
                            option value="staff" selected[kind == UserKind::Staff] { "staff (the agency's team)" }
                            option value="client" selected[kind == UserKind::Client] { "client users (contacts of a client company)" }
                        }
                    }
                }
                p.hint { "A client role may hold only file, discussion, message and invoice viewing and paying permissions." }
                (error_line(Failed::error(failed, "new", "permissions")))
                (permission_grid("permission", "new", permissions(typed, "permission"), offered(UserKind::Staff), false))
                div.actions { button type="submit" { "Create role" } }
            }
        }
        @match &listed {
            Ok(list) => { @for role in list { (role_card(viewer, role, failed)) } },
            Err(text) => (notice(text, true)),
        }
    };
    viewer.page_with_status(status, "Roles", Section::Roles, body)
}

fn role_card(viewer: &Viewer, role: &Role, failed: Option<&Failed>) -> Markup {
    let typed = Failed::typed(failed, &role.id);
    let grid = permission_grid(
        "permission",
        &format!("r-{}", role.id),
        typed.map_or(role.permissions, |t| permissions(t, "permission")),
        offered(role.kind),
        !role.editable,
    );
    let heading_id = format!("role-{}", role.id);
    html! {
        section.card aria-labelledby=(heading_id) {
            h2 id=(heading_id) {
                (role.name) " "
                span.status { (kind_word(role.kind)) @if role.builtin { ", built-in" } }
            }
            @if !role.editable {
                p.hint { "Admins always hold every permission; this role cannot be changed." }
                (grid)
            } @else {
                form method="post" action={ "/roles/" (role.id) } {
                    (csrf_field(&viewer.token))
                    @if !role.builtin {
                        (Field::new("name", "Name").id(format!("f-name-{}", role.id))
                            .value(typed.map_or(role.name.as_str(), |t| field(t, "name")))
                            .error(Failed::error(failed, &role.id, "name").as_deref()).required())
                    }
                    (error_line(Failed::error(failed, &role.id, "permissions")))
                    (grid)
                    div.actions { button type="submit" { "Save " (role.name) } }
                }
                @if !role.builtin {
                    div.actions {
                        form method="get" action={ "/roles/" (role.id) "/delete" } {
                            button.secondary type="submit" { "Remove " (role.name) }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    role: Option<String>,
}

/// `GET /roles`.
pub(crate) async fn list(
    viewer: Viewer,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::RolesManage>()?;
    let role = match &query.role {
        Some(id) => roles::get_role(viewer.tenant.store(), permit.principal(), id)
            .await
            .ok(),
        None => None,
    };
    let message = match (query.done.as_deref(), &role) {
        (Some("created"), Some(role)) => Some(format!("The role {} is created.", role.name)),
        (Some("saved"), Some(role)) => Some(format!(
            "The role {} is saved; it applies at its holders' next click.",
            role.name
        )),
        (Some("removed"), _) => Some("The role is removed.".to_owned()),
        _ => None,
    };
    Ok(render(
        &viewer,
        &permit,
        message.map(|text| (text, false)),
        None,
        StatusCode::OK,
    )
    .await)
}

/// `POST /roles`: a new custom role.
pub(crate) async fn create(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::RolesManage>(&headers, form)?;
    let new = NewRole {
        name: field(&pairs, "name").to_owned(),
        kind: if field(&pairs, "kind") == "client" {
            UserKind::Client
        } else {
            UserKind::Staff
        },
        permissions: permissions(&pairs, "permission"),
    };
    Ok(
        match roles::create_role(viewer.tenant.store(), &permit, &new).await {
            Ok(role) => Redirect::to(&format!(
                "/roles?done=created&role={}#role-{}",
                role.id, role.id
            ))
            .into_response(),
            Err(error) => {
                let status = status_of(&error);
                let (failed, text) = Failed::new("new", pairs, error);
                render(&viewer, &permit, Some((text, true)), Some(&failed), status).await
            }
        },
    )
}

/// `POST /roles/{id}`: saves a role's name and permissions.
pub(crate) async fn update(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::RolesManage>(&headers, form)?;
    let name = field(&pairs, "name");
    let change = RoleChange {
        name: (!name.is_empty()).then(|| name.to_owned()),
        permissions: Some(permissions(&pairs, "permission")),
    };
    Ok(
        match roles::update_role(viewer.tenant.store(), &permit, &id, &change).await {
            Ok(role) => Redirect::to(&format!(
                "/roles?done=saved&role={}#role-{}",
                role.id, role.id
            ))
            .into_response(),
            Err(error) => {
                let status = status_of(&error);
                let (failed, text) = Failed::new(&id, pairs, error);
                render(&viewer, &permit, Some((text, true)), Some(&failed), status).await
            }
        },
    )
}

/// `GET /roles/{id}/delete`: what removing the role means, and a button to do it.
pub(crate) async fn confirm_remove(
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::RolesManage>()?;
    let role = match roles::get_role(viewer.tenant.store(), permit.principal(), &id).await {
        Ok(role) => role,
        Err(error) => {
            return Err(viewer.refusal("Role", Section::Roles, error));
        }
    };
    Ok(viewer.confirm(
        Section::Roles,
        &format!("Remove the role {}?", role.name),
        "A role that someone still holds cannot be removed: give them another role first.",
        &format!("/roles/{}/delete", role.id),
        &format!("Yes, remove {}", role.name),
        &format!("/roles#role-{}", role.id),
    ))
}

/// `POST /roles/{id}/delete`.
pub(crate) async fn remove(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, _) = viewer.submitted::<need::RolesManage>(&headers, form)?;
    Ok(
        match roles::delete_role(viewer.tenant.store(), &permit, &id).await {
            Ok(()) => Redirect::to("/roles?done=removed").into_response(),
            Err(error) => {
                let status = status_of(&error);
                let text = ApiError::Core(error).page_message();
                render(&viewer, &permit, Some((text, true)), None, status).await
            }
        },
    )
}
