//! The Roles pages (`roles.manage`): every role with its permissions as a grid of modules ×
//! actions; custom roles are made here, `staff`, `client` and custom roles edited, and
//! `admin` shown read-only. A client role offers only what client roles may hold.

use axum::Form;
use axum::extract::Path;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use tenant_core::access::Permitted;
use tenant_core::access::UserKind;
use tenant_core::access::permissions::{Permission, need};
use tenant_core::accounts::roles::{self, NewRole, Role, RoleChange};

use crate::escape_html as e;
use crate::http::error::ApiError;
use crate::ui::Viewer;
use crate::ui::forms::{Failed, Pairs, error_line, field, kind_word, permission_grid, permissions};
use crate::ui::layout::{Section, csrf_field, input, input_id, notice};

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
    let mut body = String::from("<h1>Roles</h1>");
    if let Some((text, error)) = &message {
        body.push_str(&notice(text, *error));
    }
    let empty = Vec::new();
    let typed = Failed::typed(failed, "new").unwrap_or(&empty);
    let kind = if field(typed, "kind") == "client" {
        UserKind::Client
    } else {
        UserKind::Staff
    };
    body.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"new\"><h2 id=\"new\">New custom role</h2><form method=\"post\" action=\"/roles\" novalidate>{}<div class=\"row\"><div>{}</div><div><label for=\"f-kind\">For</label><select id=\"f-kind\" name=\"kind\"><option value=\"staff\"{}>staff</option><option value=\"client\"{}>client users</option></select></div></div><p class=\"hint\">A client role may hold only file, discussion, message and invoice viewing and paying permissions.</p>{}{}<div class=\"actions\"><button type=\"submit\">Create role</button></div></form></section>",
        csrf_field(&viewer.token),
        input("name", "Name", "text", field(typed, "name"), Failed::error(failed, "new", "name").as_deref(), "required"),
        if kind == UserKind::Staff { " selected" } else { "" },
        if kind == UserKind::Client { " selected" } else { "" },
        error_line(Failed::error(failed, "new", "permissions")),
        permission_grid("permission", "new", permissions(typed, "permission"), offered(UserKind::Staff), false),
    ));
    match roles::list_roles(store, permit.principal()).await {
        Ok(list) => {
            for role in &list {
                body.push_str(&role_card(viewer, role, failed));
            }
        }
        Err(error) => body.push_str(&notice(&ApiError::Core(error).page_message(), true)),
    }
    viewer.page_with_status(status, "Roles", Section::Roles, body)
}

fn role_card(viewer: &Viewer, role: &Role, failed: Option<&Failed>) -> String {
    let typed = Failed::typed(failed, &role.id);
    let grid = permission_grid(
        "permission",
        &format!("r-{}", role.id),
        typed.map_or(role.permissions, |t| permissions(t, "permission")),
        offered(role.kind),
        !role.editable,
    );
    let heading = format!(
        "<h2 id=\"role-{}\">{} <span class=\"status\">{}{}</span></h2>",
        e(&role.id),
        e(&role.name),
        kind_word(role.kind),
        if role.builtin { ", built-in" } else { "" },
    );
    if !role.editable {
        return format!(
            "<section class=\"card\" aria-labelledby=\"role-{}\">{heading}<p class=\"hint\">Admins always hold every permission; this role cannot be changed.</p>{grid}</section>",
            e(&role.id)
        );
    }
    let name_field = if role.builtin {
        String::new()
    } else {
        input_id(
            &format!("f-name-{}", role.id),
            "name",
            "Name",
            "text",
            typed.map_or(role.name.as_str(), |t| field(t, "name")),
            Failed::error(failed, &role.id, "name").as_deref(),
            "required",
        )
    };
    let remove = if role.builtin {
        String::new()
    } else {
        format!(
            "<form method=\"post\" action=\"/roles/{}/delete\">{}<button type=\"submit\" class=\"secondary\">Remove {}</button></form>",
            e(&role.id),
            csrf_field(&viewer.token),
            e(&role.name)
        )
    };
    format!(
        "<section class=\"card\" aria-labelledby=\"role-{}\">{heading}<form method=\"post\" action=\"/roles/{}\">{}{name_field}{}{grid}<div class=\"actions\"><button type=\"submit\">Save {}</button></div></form><div class=\"actions\">{remove}</div></section>",
        e(&role.id),
        e(&role.id),
        csrf_field(&viewer.token),
        error_line(Failed::error(failed, &role.id, "permissions")),
        e(&role.name),
    )
}

/// `GET /roles`.
pub(crate) async fn list(viewer: Viewer) -> Response {
    let permit = match viewer.permit::<need::RolesManage>() {
        Ok(permit) => permit,
        Err(refused) => return refused,
    };
    render(&viewer, &permit, None, None, StatusCode::OK).await
}

/// `POST /roles`: a new custom role.
pub(crate) async fn create(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let (permit, pairs) = match viewer.submitted::<need::RolesManage>(&headers, form) {
        Ok(submitted) => submitted,
        Err(refused) => return refused,
    };
    let new = NewRole {
        name: field(&pairs, "name").to_owned(),
        kind: if field(&pairs, "kind") == "client" {
            UserKind::Client
        } else {
            UserKind::Staff
        },
        permissions: permissions(&pairs, "permission"),
    };
    match roles::create_role(viewer.tenant.store(), &permit, &new).await {
        Ok(role) => {
            let text = format!("The role {} is created.", role.name);
            render(&viewer, &permit, Some((text, false)), None, StatusCode::OK).await
        }
        Err(error) => {
            let (failed, text) = Failed::new("new", pairs, error);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render(&viewer, &permit, Some((text, true)), Some(&failed), status).await
        }
    }
}

/// `POST /roles/{id}`: saves a role's name and permissions.
pub(crate) async fn update(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let (permit, pairs) = match viewer.submitted::<need::RolesManage>(&headers, form) {
        Ok(submitted) => submitted,
        Err(refused) => return refused,
    };
    let name = field(&pairs, "name");
    let change = RoleChange {
        name: (!name.is_empty()).then(|| name.to_owned()),
        permissions: Some(permissions(&pairs, "permission")),
    };
    match roles::update_role(viewer.tenant.store(), &permit, &id, &change).await {
        Ok(role) => {
            let text = format!(
                "The role {} is saved; it applies at its holders' next click.",
                role.name
            );
            render(&viewer, &permit, Some((text, false)), None, StatusCode::OK).await
        }
        Err(error) => {
            let (failed, text) = Failed::new(&id, pairs, error);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render(&viewer, &permit, Some((text, true)), Some(&failed), status).await
        }
    }
}

/// `POST /roles/{id}/delete`.
pub(crate) async fn remove(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let (permit, _) = match viewer.submitted::<need::RolesManage>(&headers, form) {
        Ok(submitted) => submitted,
        Err(refused) => return refused,
    };
    match roles::delete_role(viewer.tenant.store(), &permit, &id).await {
        Ok(()) => Redirect::to("/roles").into_response(),
        Err(error) => {
            let text = ApiError::Core(error).page_message();
            render(
                &viewer,
                &permit,
                Some((text, true)),
                None,
                StatusCode::CONFLICT,
            )
            .await
        }
    }
}
