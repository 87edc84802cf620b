//! Every `/api/v1` route × every kind of caller, on both backends: the status each must get.
//! The table below has one row per route; the test fails when a route of
//! `web::api::routes()` has no row (or a row no route), so a new route cannot skip it.
//!
//! Callers, in column order: admin, staff (built-in `staff` role), a custom staff role
//! ("Manager": the staff defaults plus users.manage and teams.manage), a contact of
//! company A, a contact of company B, a deactivated user, no credentials, and a session of
//! another brand.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

#[path = "../../tenant-core/tests/support/mod.rs"]
mod support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use support::{PASSWORD, both, context as brand};
use tenant_core::access::UserKind;
use tenant_core::access::permissions::{Permission, PermissionSet, need};
use tenant_core::access::{self, Credential, Principal, Scope};
use tenant_core::accounts::companies;
use tenant_core::accounts::invitations;
use tenant_core::accounts::roles::{self, NewRole};
use tenant_core::accounts::sessions::{self, ClientInfo, Presented};
use tenant_core::accounts::teams;
use tenant_core::accounts::users::{self, NewUser};
use tenant_core::work::projects::{self, NewProject, Sharing};
use tenant_core::work::tasks::{self, NewTask};
use tenant_core::{Email, Platform, TenantContext, TenantStore};
use tower::ServiceExt as _;
use web::{ClientConnection, SignInLimits, WebState};

const ACTORS: [&str; 8] = [
    "admin",
    "staff",
    "custom",
    "client_a",
    "client_b",
    "deactivated",
    "none",
    "other_brand",
];

/// (method, path, statuses in [`ACTORS`] order)
const MATRIX: &[(&str, &str, [u16; 8])] = &[
    (
        "GET",
        "/api/v1/openapi.json",
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/v1/brand",
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "POST",
        "/api/v1/session",
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "DELETE",
        "/api/v1/session",
        [204, 204, 204, 204, 204, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/me",
        [200, 200, 200, 200, 200, 401, 401, 401],
    ),
    // A wrong current password: everyone signed in gets as far as the check (422), and
    // nobody's tokens end mid-matrix.
    (
        "PUT",
        "/api/v1/me/password",
        [422, 422, 422, 422, 422, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/me/totp",
        [200, 200, 200, 200, 200, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/me/totp",
        [201, 201, 201, 201, 201, 401, 401, 401],
    ),
    (
        "PUT",
        "/api/v1/me/totp",
        [422, 422, 422, 422, 422, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/me/totp",
        [204, 204, 204, 204, 204, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/me/sessions",
        [200, 200, 200, 200, 200, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/me/sessions/{id}",
        [204, 204, 204, 204, 204, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/tokens",
        [200, 200, 200, 200, 200, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/tokens",
        [201, 201, 201, 201, 201, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/tokens/{id}",
        [204, 204, 204, 204, 204, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/invitations/{token}/accept",
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "POST",
        "/api/v1/password-reset",
        [202, 202, 202, 202, 202, 202, 202, 202],
    ),
    (
        "POST",
        "/api/v1/password-reset/{token}",
        [404, 404, 404, 404, 404, 404, 404, 404],
    ),
    (
        "GET",
        "/api/v1/users",
        [200, 403, 200, 403, 403, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/users",
        [201, 403, 201, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/users/{id}",
        [200, 403, 200, 404, 404, 401, 401, 401],
    ),
    (
        "PATCH",
        "/api/v1/users/{id}",
        [200, 403, 200, 403, 403, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/users/{id}",
        [204, 403, 204, 403, 403, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/users/{id}/deactivate",
        [200, 403, 200, 403, 403, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/users/{id}/reactivate",
        [200, 403, 200, 403, 403, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/users/{id}/invitation",
        [200, 403, 200, 403, 403, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/users/{id}/invitation",
        [204, 403, 204, 403, 403, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/users/{id}/password-reset",
        [409, 403, 409, 403, 403, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/users/{id}/totp",
        [409, 403, 409, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/roles",
        [200, 200, 200, 403, 403, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/roles",
        [201, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/roles/{id}",
        [200, 200, 200, 403, 403, 401, 401, 401],
    ),
    (
        "PATCH",
        "/api/v1/roles/{id}",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/roles/{id}",
        [204, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/teams",
        [200, 200, 200, 403, 403, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/teams",
        [201, 403, 201, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/teams/{id}",
        [200, 200, 200, 403, 403, 401, 401, 401],
    ),
    (
        "PATCH",
        "/api/v1/teams/{id}",
        [200, 403, 200, 403, 403, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/teams/{id}",
        [204, 403, 204, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/teams/{id}/members",
        [200, 200, 200, 403, 403, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/teams/{id}/members",
        [200, 403, 200, 403, 403, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/teams/{id}/members/{user_id}",
        [200, 403, 200, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/clients",
        [200, 403, 403, 200, 200, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/clients",
        [201, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/clients/{id}",
        [200, 403, 403, 200, 404, 401, 401, 401],
    ),
    (
        "PATCH",
        "/api/v1/clients/{id}",
        [200, 403, 403, 404, 404, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/clients/{id}",
        [204, 403, 403, 404, 404, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/clients/{id}/contacts",
        [200, 403, 403, 200, 404, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/clients/{id}/contacts",
        [201, 403, 403, 403, 404, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/access-review",
        [200, 403, 200, 403, 403, 401, 401, 401],
    ),
    // Each request gets a project of company A that the `staff` caller is a member of;
    // the custom role is not on it and cannot see every project, so it is out of reach.
    (
        "GET",
        "/api/v1/projects",
        [200, 200, 200, 200, 200, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/projects",
        [201, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/projects/{id}",
        [200, 200, 404, 200, 404, 401, 401, 401],
    ),
    (
        "PATCH",
        "/api/v1/projects/{id}",
        [200, 403, 404, 403, 404, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/projects/{id}/archive",
        [200, 403, 404, 403, 404, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/projects/{id}/unarchive",
        [200, 403, 404, 403, 404, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/projects/{id}/members",
        [200, 403, 404, 403, 404, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/projects/{id}/members/{user_id}",
        [200, 403, 404, 403, 404, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/projects/{id}/teams",
        [200, 403, 404, 403, 404, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/projects/{id}/teams/{team_id}",
        [200, 403, 404, 403, 404, 401, 401, 401],
    ),
    // The project's task is client-visible; the built-in staff role may create, edit,
    // assign and move tasks but not delete them.
    (
        "GET",
        "/api/v1/projects/{id}/tasks",
        [200, 200, 404, 200, 404, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/projects/{id}/tasks",
        [201, 201, 404, 403, 404, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/projects/{id}/tasks/{task_id}",
        [200, 200, 404, 200, 404, 401, 401, 401],
    ),
    (
        "PATCH",
        "/api/v1/projects/{id}/tasks/{task_id}",
        [200, 200, 404, 403, 404, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/projects/{id}/tasks/{task_id}",
        [204, 403, 404, 403, 404, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/settings/security",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "PUT",
        "/api/v1/settings/security",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/branding",
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "PUT",
        "/api/v1/branding",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    // The matrix sends JSON, which is no image: an admin gets through to the check (422).
    (
        "PUT",
        "/api/v1/branding/{asset}",
        [422, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/branding/{asset}",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/settings/payments",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "PUT",
        "/api/v1/settings/payments",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/settings/email",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "PUT",
        "/api/v1/settings/email",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/settings/email",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    // In-process there is no mail service: an admin gets through to the SMTP step (502).
    (
        "POST",
        "/api/v1/settings/email/test",
        [502, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/audit",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
];

struct Brand {
    context: TenantContext,
    admin: Principal,
    company_a: String,
    /// The `staff` caller's user id.
    staff: String,
}

/// A user who signed in; `secret` is their session cookie.
struct Account {
    email: String,
    secret: Option<String>,
    active: bool,
}

fn client_info() -> ClientInfo {
    ClientInfo {
        address: "192.0.2.9".to_owned(),
        user_agent: "matrix".to_owned(),
    }
}

async fn sign_in(store: &TenantStore, email: &str) -> String {
    let signed_in = sessions::sign_in(store, email, PASSWORD, None, &client_info())
        .await
        .unwrap();
    signed_in.secret.reveal().to_owned()
}

async fn add_account(
    store: &TenantStore,
    email: &str,
    role: &str,
    company: Option<&str>,
) -> Account {
    let mut new = NewUser::new(Email::parse(email).unwrap(), "Member", role);
    new.company_id = company.map(str::to_owned);
    let (_, invitation) = invitations::invite_user(store, &new).await.unwrap();
    invitations::accept_invitation(store, invitation.token.reveal(), PASSWORD)
        .await
        .unwrap();
    Account {
        email: email.to_owned(),
        secret: Some(sign_in(store, email).await),
        active: true,
    }
}

async fn principal(store: &TenantStore, secret: &str) -> Principal {
    sessions::authenticate(store, Presented::Session(secret), "192.0.2.9")
        .await
        .unwrap()
}

/// Fresh things for one request to act on, so no request depends on what another did.
struct Targets {
    user: String,
    invitation_token: String,
    role: String,
    team: String,
    company: String,
    project: String,
    task: String,
    session: String,
    token: String,
}

async fn targets(brand: &Brand, n: usize, account: &Account) -> Targets {
    let store = brand.context.store();
    let (user, invitation) = invitations::invite_user(
        store,
        &NewUser::new(
            Email::parse(&format!("target{n}@a.localhost")).unwrap(),
            "Target",
            "staff",
        ),
    )
    .await
    .unwrap();
    let roles_permit = access::permit::<need::RolesManage>(&brand.admin, Scope::Brand).unwrap();
    let role = roles::create_role(
        store,
        &roles_permit,
        &NewRole {
            name: format!("Role {n}"),
            kind: UserKind::Staff,
            permissions: PermissionSet::of(&[Permission::TasksEdit]),
        },
    )
    .await
    .unwrap();
    let teams_permit = access::permit::<need::TeamsManage>(&brand.admin, Scope::Brand).unwrap();
    let team = teams::create_team(store, &teams_permit, &format!("Team {n}"))
        .await
        .unwrap();
    teams::add_member(store, &teams_permit, &team.id, &user.id)
        .await
        .unwrap();
    let clients_permit = access::permit::<need::ClientsManage>(&brand.admin, Scope::Brand).unwrap();
    let company = companies::create_company(store, &clients_permit, &format!("Company {n}"), "")
        .await
        .unwrap();
    // A project of company A, shared with the staff caller, the target user and team.
    let projects_permit =
        access::permit::<need::ProjectsCreate>(&brand.admin, Scope::Brand).unwrap();
    let project = projects::create_project(
        store,
        &projects_permit,
        &NewProject {
            name: format!("Project {n}"),
            description: String::new(),
            company_id: Some(brand.company_a.clone()),
        },
    )
    .await
    .unwrap();
    for with in [
        Sharing::User(&brand.staff),
        Sharing::User(&user.id),
        Sharing::Team(&team.id),
    ] {
        projects::share(store, &brand.admin, &project.id, with)
            .await
            .unwrap();
    }
    let task = tasks::create_task(
        store,
        &brand.admin,
        &project.id,
        &NewTask {
            title: format!("Task {n}"),
            description: String::new(),
            status: None,
            visibility: Some("client".to_owned()),
            assignee: None,
            due_on: None,
        },
    )
    .await
    .unwrap();
    // A spare session and token of the caller, for the routes that end one.
    let (session, token) = if account.active && account.secret.is_some() {
        let secret = sign_in(store, &account.email).await;
        let me = principal(store, &secret).await;
        let Credential::Session { session_id } = me.credential().clone() else {
            panic!("signed in with a session");
        };
        let (token, _) = sessions::create_token(store, &me, "spare", None)
            .await
            .unwrap();
        (session_id, token.id)
    } else {
        ("no-session".to_owned(), "no-token".to_owned())
    };
    Targets {
        user: user.id,
        invitation_token: invitation.token.reveal().to_owned(),
        role: role.id,
        team: team.id,
        company: company.id,
        project: project.id,
        task: task.id,
        session,
        token,
    }
}

fn concrete(path: &str, method: &str, brand: &Brand, t: &Targets) -> String {
    let own_company = path.starts_with("/api/v1/clients/{id}")
        && (path.ends_with("/contacts") || method == "GET");
    let id = if path.starts_with("/api/v1/users/") {
        &t.user
    } else if path.starts_with("/api/v1/roles/") {
        &t.role
    } else if path.starts_with("/api/v1/teams/") {
        &t.team
    } else if path.starts_with("/api/v1/projects/") {
        &t.project
    } else if own_company {
        &brand.company_a
    } else if path.starts_with("/api/v1/clients/") {
        &t.company
    } else if path.starts_with("/api/v1/me/sessions/") {
        &t.session
    } else {
        &t.token
    };
    path.replace("{id}", id)
        .replace("{user_id}", &t.user)
        .replace("{team_id}", &t.team)
        .replace("{task_id}", &t.task)
        .replace("{token}", &t.invitation_token)
        .replace("{asset}", "logo")
}

fn body_for(method: &str, path: &str, n: usize, t: &Targets) -> Option<Value> {
    Some(match (method, path) {
        ("POST", "/api/v1/session") => {
            json!({"email": "admin@a.localhost", "password": PASSWORD})
        }
        ("POST", "/api/v1/tokens") => json!({"name": "laptop"}),
        ("POST", "/api/v1/invitations/{token}/accept") => json!({"password": PASSWORD}),
        ("POST", "/api/v1/password-reset") => json!({"email": "admin@a.localhost"}),
        ("POST" | "DELETE", "/api/v1/me/totp") => json!({"password": PASSWORD}),
        ("PUT", "/api/v1/me/totp") => json!({"code": "abcdef"}),
        ("PUT", "/api/v1/settings/security") => json!({"require_totp_for_staff": false}),
        ("PUT", "/api/v1/settings/payments") => {
            json!({"gateways": {"stripe": {"enabled": true, "public_key": "pk_test_1", "secret_key": "sk_test_4242424242"}}})
        }
        ("PUT", "/api/v1/me/password") => {
            json!({"current_password": "not the password", "password": "a new long password"})
        }
        ("PUT", "/api/v1/branding") => {
            json!({"primary_colour": "#0b3d2e", "sign_in_message": "Welcome"})
        }
        ("PUT", "/api/v1/settings/email") => json!({
            "host": "smtp.a.localhost", "tls": "starttls", "username": "mailer",
            "password": PASSWORD, "from_address": "team@a.localhost"
        }),
        ("POST", "/api/v1/password-reset/{token}") => json!({"password": PASSWORD}),
        ("POST", "/api/v1/users") => {
            json!({"email": format!("new{n}@a.localhost"), "name": "New", "role": "staff"})
        }
        ("PATCH", "/api/v1/users/{id}") => json!({"name": "Renamed"}),
        ("POST", "/api/v1/roles") => json!({
            "name": format!("New role {n}"), "kind": "staff", "permissions": ["tasks.edit"]
        }),
        ("PATCH", "/api/v1/roles/{id}") => json!({"permissions": ["tasks.move"]}),
        ("POST", "/api/v1/teams") => json!({"name": format!("New team {n}")}),
        ("PATCH", "/api/v1/teams/{id}") => json!({"name": format!("Renamed team {n}")}),
        ("POST", "/api/v1/teams/{id}/members") => json!({"user": t.user}),
        ("POST", "/api/v1/clients") => json!({"name": format!("New company {n}")}),
        ("POST", "/api/v1/projects") => json!({"name": format!("New project {n}")}),
        ("PATCH", "/api/v1/projects/{id}") => json!({"description": "Phase two"}),
        ("POST", "/api/v1/projects/{id}/members") => json!({"user": t.user}),
        ("POST", "/api/v1/projects/{id}/teams") => json!({"team": t.team}),
        ("POST", "/api/v1/projects/{id}/tasks") => {
            json!({"title": format!("New task {n}"), "visibility": "client", "due_on": "2027-01-31"})
        }
        ("PATCH", "/api/v1/projects/{id}/tasks/{task_id}") => {
            json!({"status": "done", "position": 0})
        }
        ("PATCH", "/api/v1/clients/{id}") => json!({"details": "Main street 1"}),
        ("POST", "/api/v1/clients/{id}/contacts") => {
            json!({"email": format!("contact{n}@a.localhost"), "name": "Contact"})
        }
        _ => return None,
    })
}

async fn call(
    router: &axum::Router,
    context: &TenantContext,
    method: &str,
    path: &str,
    secret: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(path)
        .header(header::ORIGIN, "https://a.localhost");
    if let Some(secret) = secret {
        request = request.header(
            header::COOKIE,
            format!("{}={secret}", web::api::SESSION_COOKIE),
        );
    }
    let body = match body {
        Some(value) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(value.to_string())
        }
        None => Body::empty(),
    };
    let mut request = request.body(body).unwrap();
    request.extensions_mut().insert(context.clone());
    request.extensions_mut().insert(ClientConnection {
        address: [192, 0, 2, 9].into(),
        base: "https://a.localhost".to_owned(),
        mail: false,
        licence_notice: None,
    });
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value)
}

fn router() -> axum::Router {
    web::router(WebState::new(SignInLimits {
        per_address: 0,
        per_account: 0,
    }))
}

#[test]
fn every_route_has_exactly_one_row_in_the_matrix() {
    let routes: Vec<(String, String)> = web::api::routes()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    for (method, path) in &routes {
        let rows = MATRIX
            .iter()
            .filter(|(m, p, _)| m == method && p == path)
            .count();
        assert_eq!(rows, 1, "{method} {path} needs exactly one row in MATRIX");
    }
    for (method, path, _) in MATRIX {
        assert!(
            routes.iter().any(|(m, p)| m == method && p == path),
            "MATRIX row {method} {path} is not a route"
        );
    }
}

#[tokio::test]
async fn every_route_answers_every_kind_of_caller_as_the_matrix_says() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let context = brand(&platform, "a.localhost").await;
        let other = brand(&platform, "b.localhost").await;
        let s = context.store();
        let admin = add_account(s, "admin@a.localhost", "admin", None).await;
        let admin_principal = principal(s, admin.secret.as_deref().unwrap()).await;
        let clients_permit =
            access::permit::<need::ClientsManage>(&admin_principal, Scope::Brand).unwrap();
        let company_a = companies::create_company(s, &clients_permit, "Company A", "")
            .await
            .unwrap();
        let company_b = companies::create_company(s, &clients_permit, "Company B", "")
            .await
            .unwrap();
        let roles_permit =
            access::permit::<need::RolesManage>(&admin_principal, Scope::Brand).unwrap();
        let manager = roles::create_role(
            s,
            &roles_permit,
            &NewRole {
                name: "Manager".to_owned(),
                kind: UserKind::Staff,
                // The staff defaults plus managing users and teams.
                permissions: PermissionSet::of(
                    &tenant_core::access::permissions::default_staff()
                        .iter()
                        .chain([Permission::UsersManage, Permission::TeamsManage])
                        .collect::<Vec<_>>(),
                ),
            },
        )
        .await
        .unwrap();
        let staff = add_account(s, "staff@a.localhost", "staff", None).await;
        let custom = add_account(s, "custom@a.localhost", &manager.id, None).await;
        let client_a = add_account(s, "ca@a.localhost", "client", Some(&company_a.id)).await;
        let client_b = add_account(s, "cb@a.localhost", "client", Some(&company_b.id)).await;
        let mut deactivated = add_account(s, "gone@a.localhost", "staff", None).await;
        let gone = principal(s, deactivated.secret.as_deref().unwrap()).await;
        let users_permit =
            access::permit::<need::UsersManage>(&admin_principal, Scope::Brand).unwrap();
        users::deactivate_user(s, &users_permit, gone.user_id())
            .await
            .unwrap();
        deactivated.active = false;
        let mut foreign = add_account(other.store(), "admin@a.localhost", "admin", None).await;
        foreign.active = false; // its sessions live in the other brand's store
        let nobody = Account {
            email: "nobody@a.localhost".to_owned(),
            secret: None,
            active: false,
        };
        let accounts = [
            &admin,
            &staff,
            &custom,
            &client_a,
            &client_b,
            &deactivated,
            &nobody,
            &foreign,
        ];
        let brand = Brand {
            context: context.clone(),
            admin: admin_principal,
            company_a: company_a.id.clone(),
            staff: principal(s, staff.secret.as_deref().unwrap())
                .await
                .user_id()
                .to_owned(),
        };
        let router = router();
        let mut n = 0;
        let mut failures = Vec::new();
        for (method, path, expected) in MATRIX {
            for (column, account) in accounts.iter().enumerate() {
                n += 1;
                let t = targets(&brand, n, account).await;
                let uri = concrete(path, method, &brand, &t);
                let mut secret = account.secret.clone();
                if (*method, *path) == ("DELETE", "/api/v1/session") && account.active {
                    // Sign out a session of its own, keeping the caller's for later rows.
                    secret = Some(sign_in(s, &account.email).await);
                }
                let body = body_for(method, path, n, &t);
                let (status, answer) =
                    call(&router, &context, method, &uri, secret.as_deref(), body).await;
                if status.as_u16() != expected[column] {
                    failures.push(format!(
                        "{method} {path} as {}: expected {}, got {status} {answer}",
                        ACTORS[column], expected[column]
                    ));
                }
                if status.is_client_error() {
                    let code = answer["error"]["code"].as_str().unwrap_or_default();
                    assert!(
                        !code.is_empty(),
                        "{method} {path}: error without a code: {answer}"
                    );
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{}\n{} failures",
            failures.join("\n"),
            failures.len()
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn a_session_cannot_be_used_to_guess_the_password_behind_two_factor_changes() {
    let store = support::sqlite();
    let platform = Platform::open(&store.backend).await.unwrap();
    let context = brand(&platform, "a.localhost").await;
    let admin = add_account(context.store(), "admin@a.localhost", "admin", None).await;
    let secret = admin.secret.as_deref();
    let limited = web::router(WebState::new(SignInLimits {
        per_address: 100,
        per_account: 2,
    }));
    let wrong = json!({"password": "not the password at all"});
    for _ in 0..2 {
        let (status, _) = call(
            &limited,
            &context,
            "POST",
            "/api/v1/me/totp",
            secret,
            Some(wrong.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (status, body) = call(
        &limited,
        &context,
        "DELETE",
        "/api/v1/me/totp",
        secret,
        Some(wrong),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    platform.close().await;
    store.cleanup().await;
}
