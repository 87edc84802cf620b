//! The `/api/v1` JSON API. Every route is one row of [`routes`]: the router, the OpenAPI
//! document and the access-matrix test are all made from that one table, so a route
//! cannot exist without being described and tested.

pub(crate) mod branding;
pub(crate) mod caller;
pub(crate) mod clients;
pub(crate) mod error;
pub(crate) mod projects;
pub(crate) mod roles;
pub(crate) mod session;
pub(crate) mod settings;
pub(crate) mod tasks;
pub mod throttle;
pub(crate) mod users;
pub mod views;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use serde_json::{Value, json};
use tenant_core::TenantContext;
use tenant_core::access::permissions::Permission;
use tenant_core::platform::secrets::SecretKey;

pub use caller::{ClientConnection, SESSION_COOKIE};
pub use error::ApiError;
use throttle::SignInLimiter;

/// A future the [`Postmaster`] hands back.
pub type MailFuture<'a> = Pin<Box<dyn Future<Output = Result<TestMail, String>> + Send + 'a>>;

/// What a test mail went through.
#[derive(Debug, Clone)]
pub struct TestMail {
    /// `brand` (the brand's own SMTP settings) or `platform` (`[smtp]`).
    pub via: &'static str,
    /// The SMTP server, `host:port`.
    pub server: String,
}

/// The server's mail service as the API sees it: the key brand secrets are sealed with, and
/// sending a test mail now (not through the outbox) so an admin sees the SMTP server's
/// answer.
pub trait Postmaster: Send + Sync + std::fmt::Debug {
    /// The server's encryption key.
    fn key(&self) -> &SecretKey;
    /// Sends a test mail to `to` through the brand's mail settings; the error is the
    /// sentence to show (the SMTP server's reason included).
    fn send_test<'a>(
        &'a self,
        tenant: &'a TenantContext,
        base: &'a str,
        to: &'a str,
    ) -> MailFuture<'a>;
}

/// A postmaster that cannot send (in-process router tests and benchmarks), with a key
/// made for this process only.
#[derive(Debug)]
struct NoPostmaster(SecretKey);

impl Postmaster for NoPostmaster {
    fn key(&self) -> &SecretKey {
        &self.0
    }
    fn send_test<'a>(&'a self, _: &'a TenantContext, _: &'a str, _: &'a str) -> MailFuture<'a> {
        Box::pin(async { Err("this server cannot send mail".to_owned()) })
    }
}

/// State shared by every request of every tenant.
#[derive(Debug, Clone)]
pub struct WebState {
    limiter: Arc<SignInLimiter>,
    pub(crate) postmaster: Arc<dyn Postmaster>,
}

impl WebState {
    /// State with these sign-in limits and this mail service.
    pub fn with_postmaster(
        limits: throttle::SignInLimits,
        postmaster: Arc<dyn Postmaster>,
    ) -> Self {
        WebState {
            limiter: Arc::new(SignInLimiter::new(limits)),
            postmaster,
        }
    }

    /// State with these sign-in limits that cannot send test mail and seals secrets with a
    /// key of this process only: for tests and benchmarks, never for serving.
    pub fn new(limits: throttle::SignInLimits) -> Self {
        let key = SecretKey::generate_text()
            .and_then(|text| SecretKey::from_text(&text))
            .or_else(|_| SecretKey::from_bytes(&[7; tenant_core::platform::secrets::KEY_LEN]));
        match key {
            Ok(key) => WebState::with_postmaster(limits, Arc::new(NoPostmaster(key))),
            Err(error) => unreachable!("a 32-byte key is always usable: {error}"),
        }
    }
}

/// Who may call a route, as documented (the handler asks the access policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (sign-in, invitation acceptance, the API description).
    Public,
    /// Any signed-in user, acting on their own account.
    SignedIn,
    /// Any signed-in staff member.
    Staff,
    /// Users holding the permission.
    Permission(Permission),
    /// A client company's own contacts, and staff holding the permission.
    CompanyOr(Permission),
    /// Yourself, or staff holding the permission.
    SelfOr(Permission),
    /// Whoever reaches the project (its members, directly or through a team; staff with
    /// `projects.view_all`; the client company's contacts), holding the permission if one
    /// is named. Out of reach is 404.
    Project(Option<Permission>),
    /// Whoever reaches the project, holding the permission of each field changed.
    TaskFields,
}

impl Access {
    fn describe(self) -> String {
        match self {
            Access::Public => "public".to_owned(),
            Access::SignedIn => "signed in".to_owned(),
            Access::Staff => "staff".to_owned(),
            Access::Permission(p) => p.as_str().to_owned(),
            Access::CompanyOr(p) => format!("the company's own contacts, or {p}"),
            Access::SelfOr(p) => format!("the user themself, or {p}"),
            Access::Project(None) => "whoever reaches the project".to_owned(),
            Access::Project(Some(p)) => format!("whoever reaches the project, holding {p}"),
            Access::TaskFields => "whoever reaches the project and task, holding tasks.edit (title, description, visibility, due_on), tasks.assign (assignee) or tasks.move (status, position) for the fields given".to_owned(),
        }
    }
}

/// One route of the API.
#[derive(Debug)]
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path, with `{name}` parameters.
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
    /// The JSON body it takes, as `(field, JSON type, required)`.
    pub body: &'static [(&'static str, &'static str, bool)],
    handler: MethodRouter<WebState>,
}

fn route(
    method: Method,
    path: &'static str,
    summary: &'static str,
    access: Access,
    body: &'static [(&'static str, &'static str, bool)],
    handler: MethodRouter<WebState>,
) -> Route {
    Route {
        method,
        path,
        summary,
        access,
        body,
        handler,
    }
}

/// Every route of `/api/v1`.
pub fn routes() -> Vec<Route> {
    use Access::*;
    use Method as M;
    use tenant_core::access::permissions::Permission as P;
    const NONE: &[(&str, &str, bool)] = &[];
    const INVITE: &[(&str, &str, bool)] = &[
        ("email", "string", true),
        ("name", "string", true),
        ("role", "string", true),
        ("company", "string", false),
        ("switches", "array", false),
        ("access_expires_at", "string", false),
    ];
    const CONTACT: &[(&str, &str, bool)] = &[
        ("email", "string", true),
        ("name", "string", true),
        ("role", "string", false),
        ("switches", "array", false),
        ("access_expires_at", "string", false),
    ];
    const USER_EDIT: &[(&str, &str, bool)] = &[
        ("name", "string", false),
        ("role", "string", false),
        ("switches", "array", false),
        ("access_expires_at", "string", false),
    ];
    const ROLE: &[(&str, &str, bool)] = &[
        ("name", "string", true),
        ("kind", "string", true),
        ("permissions", "array", true),
    ];
    const ROLE_EDIT: &[(&str, &str, bool)] =
        &[("name", "string", false), ("permissions", "array", false)];
    const NAME: &[(&str, &str, bool)] = &[("name", "string", true)];
    const COMPANY: &[(&str, &str, bool)] =
        &[("name", "string", true), ("details", "string", false)];
    const COMPANY_EDIT: &[(&str, &str, bool)] =
        &[("name", "string", false), ("details", "string", false)];
    const PROJECT: &[(&str, &str, bool)] = &[
        ("name", "string", true),
        ("description", "string", false),
        ("company", "string", false),
    ];
    const PROJECT_EDIT: &[(&str, &str, bool)] = &[
        ("name", "string", false),
        ("description", "string", false),
        ("company", "string|null", false),
    ];
    vec![
        route(
            M::GET,
            "/api/v1/openapi.json",
            "This API's description (OpenAPI 3.1)",
            Public,
            NONE,
            get(openapi),
        ),
        route(
            M::GET,
            "/api/v1/brand",
            "The brand's name and domain",
            Public,
            NONE,
            get(crate::brand_json),
        ),
        route(
            M::POST,
            "/api/v1/session",
            "Sign in with e-mail and password; sets the session cookie",
            Public,
            &[
                ("email", "string", true),
                ("password", "string", true),
                ("totp", "string", false),
            ],
            post(session::sign_in),
        ),
        route(
            M::DELETE,
            "/api/v1/session",
            "Sign out: end this session",
            SignedIn,
            NONE,
            delete(session::sign_out),
        ),
        route(
            M::GET,
            "/api/v1/me",
            "The signed-in user and their effective permissions",
            SignedIn,
            NONE,
            get(session::me),
        ),
        route(
            M::PUT,
            "/api/v1/me/password",
            "Change your own password (current_password and password); other sessions and personal tokens end",
            SignedIn,
            &[
                ("current_password", "string", true),
                ("password", "string", true),
            ],
            put(session::change_password),
        ),
        route(
            M::GET,
            "/api/v1/me/totp",
            "Whether your two-factor sign-in is on, and recovery codes left",
            SignedIn,
            NONE,
            get(session::totp_status),
        ),
        route(
            M::POST,
            "/api/v1/me/totp",
            "Start turning two-factor sign-in on: a secret for your authenticator app",
            SignedIn,
            &[("password", "string", true)],
            post(session::totp_begin),
        ),
        route(
            M::PUT,
            "/api/v1/me/totp",
            "Turn two-factor sign-in on with a code from the app; answers ten recovery codes, once",
            SignedIn,
            &[("code", "string", true)],
            put(session::totp_confirm),
        ),
        route(
            M::DELETE,
            "/api/v1/me/totp",
            "Turn two-factor sign-in off",
            SignedIn,
            &[("password", "string", true)],
            delete(session::totp_disable),
        ),
        route(
            M::GET,
            "/api/v1/me/sessions",
            "Your live sessions",
            SignedIn,
            NONE,
            get(session::list_sessions),
        ),
        route(
            M::DELETE,
            "/api/v1/me/sessions/{id}",
            "End one of your sessions",
            SignedIn,
            NONE,
            delete(session::revoke_session),
        ),
        route(
            M::GET,
            "/api/v1/tokens",
            "Your personal access tokens",
            SignedIn,
            NONE,
            get(session::list_tokens),
        ),
        route(
            M::POST,
            "/api/v1/tokens",
            "Make a personal access token (its secret is shown once)",
            SignedIn,
            &[("name", "string", true), ("expires_at", "string", false)],
            post(session::create_token),
        ),
        route(
            M::DELETE,
            "/api/v1/tokens/{id}",
            "Revoke one of your tokens",
            SignedIn,
            NONE,
            delete(session::revoke_token),
        ),
        route(
            M::POST,
            "/api/v1/invitations/{token}/accept",
            "Accept an invitation by setting a password",
            Public,
            &[("password", "string", true)],
            post(session::accept_invitation),
        ),
        route(
            M::POST,
            "/api/v1/password-reset",
            "Ask for a password reset link by e-mail (the same answer for unknown addresses)",
            Public,
            &[("email", "string", true)],
            post(session::request_password_reset),
        ),
        route(
            M::POST,
            "/api/v1/password-reset/{token}",
            "Set a new password with a reset link (once; ends every session)",
            Public,
            &[("password", "string", true)],
            post(session::reset_password),
        ),
        route(
            M::GET,
            "/api/v1/users",
            "List users (?q=&kind=&status=&role=&company=)",
            Permission(P::UsersManage),
            NONE,
            get(users::list),
        ),
        route(
            M::POST,
            "/api/v1/users",
            "Invite a user",
            Permission(P::UsersManage),
            INVITE,
            post(users::invite),
        ),
        route(
            M::GET,
            "/api/v1/users/{id}",
            "One user",
            SelfOr(P::UsersManage),
            NONE,
            get(users::get),
        ),
        route(
            M::PATCH,
            "/api/v1/users/{id}",
            "Edit a user: name, role, switches, access expiry",
            Permission(P::UsersManage),
            USER_EDIT,
            patch(users::edit),
        ),
        route(
            M::DELETE,
            "/api/v1/users/{id}",
            "Delete a user who has no history",
            Permission(P::UsersManage),
            NONE,
            delete(users::delete),
        ),
        route(
            M::POST,
            "/api/v1/users/{id}/deactivate",
            "Deactivate a user (sessions and tokens end at once)",
            Permission(P::UsersManage),
            NONE,
            post(users::deactivate),
        ),
        route(
            M::POST,
            "/api/v1/users/{id}/reactivate",
            "Reactivate a user",
            Permission(P::UsersManage),
            NONE,
            post(users::reactivate),
        ),
        route(
            M::POST,
            "/api/v1/users/{id}/invitation",
            "Send a new invitation link",
            Permission(P::UsersManage),
            NONE,
            post(users::resend_invitation),
        ),
        route(
            M::DELETE,
            "/api/v1/users/{id}/invitation",
            "Revoke the open invitation link",
            Permission(P::UsersManage),
            NONE,
            delete(users::revoke_invitation),
        ),
        route(
            M::POST,
            "/api/v1/users/{id}/password-reset",
            "Mail an active user a password reset link",
            Permission(P::UsersManage),
            NONE,
            post(users::send_password_reset),
        ),
        route(
            M::DELETE,
            "/api/v1/users/{id}/totp",
            "Turn off a user's two-factor sign-in for them (lost phone and recovery codes)",
            Permission(P::UsersManage),
            NONE,
            delete(users::reset_two_factor),
        ),
        route(
            M::GET,
            "/api/v1/roles",
            "Every role",
            Staff,
            NONE,
            get(roles::list_roles),
        ),
        route(
            M::POST,
            "/api/v1/roles",
            "Create a custom role",
            Permission(P::RolesManage),
            ROLE,
            post(roles::create_role),
        ),
        route(
            M::GET,
            "/api/v1/roles/{id}",
            "One role",
            Staff,
            NONE,
            get(roles::get_role),
        ),
        route(
            M::PATCH,
            "/api/v1/roles/{id}",
            "Edit a role (not admin)",
            Permission(P::RolesManage),
            ROLE_EDIT,
            patch(roles::edit_role),
        ),
        route(
            M::DELETE,
            "/api/v1/roles/{id}",
            "Remove a custom role nobody holds",
            Permission(P::RolesManage),
            NONE,
            delete(roles::delete_role),
        ),
        route(
            M::GET,
            "/api/v1/teams",
            "Every team",
            Staff,
            NONE,
            get(roles::list_teams),
        ),
        route(
            M::POST,
            "/api/v1/teams",
            "Create a team",
            Permission(P::TeamsManage),
            NAME,
            post(roles::create_team),
        ),
        route(
            M::GET,
            "/api/v1/teams/{id}",
            "One team",
            Staff,
            NONE,
            get(roles::get_team),
        ),
        route(
            M::PATCH,
            "/api/v1/teams/{id}",
            "Rename a team",
            Permission(P::TeamsManage),
            NAME,
            patch(roles::rename_team),
        ),
        route(
            M::DELETE,
            "/api/v1/teams/{id}",
            "Remove a team",
            Permission(P::TeamsManage),
            NONE,
            delete(roles::delete_team),
        ),
        route(
            M::GET,
            "/api/v1/teams/{id}/members",
            "A team's members",
            Staff,
            NONE,
            get(roles::list_members),
        ),
        route(
            M::POST,
            "/api/v1/teams/{id}/members",
            "Add a staff member to a team",
            Permission(P::TeamsManage),
            &[("user", "string", true)],
            post(roles::add_member),
        ),
        route(
            M::DELETE,
            "/api/v1/teams/{id}/members/{user_id}",
            "Take a member out of a team",
            Permission(P::TeamsManage),
            NONE,
            delete(roles::remove_member),
        ),
        route(
            M::GET,
            "/api/v1/clients",
            "Client companies (a contact sees only their own)",
            CompanyOr(P::ClientsManage),
            NONE,
            get(clients::list),
        ),
        route(
            M::POST,
            "/api/v1/clients",
            "Add a client company",
            Permission(P::ClientsManage),
            COMPANY,
            post(clients::create),
        ),
        route(
            M::GET,
            "/api/v1/clients/{id}",
            "One client company",
            CompanyOr(P::ClientsManage),
            NONE,
            get(clients::get),
        ),
        route(
            M::PATCH,
            "/api/v1/clients/{id}",
            "Edit a client company",
            Permission(P::ClientsManage),
            COMPANY_EDIT,
            patch(clients::edit),
        ),
        route(
            M::DELETE,
            "/api/v1/clients/{id}",
            "Remove a client company without contacts",
            Permission(P::ClientsManage),
            NONE,
            delete(clients::delete),
        ),
        route(
            M::GET,
            "/api/v1/clients/{id}/contacts",
            "A company's contacts",
            CompanyOr(P::ClientsManage),
            NONE,
            get(clients::contacts),
        ),
        route(
            M::POST,
            "/api/v1/clients/{id}/contacts",
            "Invite a contact of a company",
            Permission(P::ClientsManage),
            CONTACT,
            post(clients::invite_contact),
        ),
        route(
            M::GET,
            "/api/v1/projects",
            "The projects you reach (?status=active|archived|all, default active; ?company=; ?q= part of the name)",
            SignedIn,
            NONE,
            get(projects::list),
        ),
        route(
            M::POST,
            "/api/v1/projects",
            "Create a project, for a client company or internal; you become its first member",
            Permission(P::ProjectsCreate),
            PROJECT,
            post(projects::create),
        ),
        route(
            M::GET,
            "/api/v1/projects/{id}",
            "One project (members and teams are null for client contacts)",
            Project(None),
            NONE,
            get(projects::get),
        ),
        route(
            M::PATCH,
            "/api/v1/projects/{id}",
            "Edit a project's name, description or client company (company null: internal)",
            Project(Some(P::ProjectsEdit)),
            PROJECT_EDIT,
            patch(projects::edit),
        ),
        route(
            M::POST,
            "/api/v1/projects/{id}/archive",
            "Archive a project: everything is kept and can be read, nothing changed",
            Project(Some(P::ProjectsArchive)),
            NONE,
            post(projects::archive),
        ),
        route(
            M::POST,
            "/api/v1/projects/{id}/unarchive",
            "Make an archived project active again",
            Project(Some(P::ProjectsArchive)),
            NONE,
            post(projects::unarchive),
        ),
        route(
            M::POST,
            "/api/v1/projects/{id}/members",
            "Add a staff member to a project",
            Project(Some(P::ProjectsEdit)),
            &[("user", "string", true)],
            post(projects::add_member),
        ),
        route(
            M::DELETE,
            "/api/v1/projects/{id}/members/{user_id}",
            "Take a staff member off a project",
            Project(Some(P::ProjectsEdit)),
            NONE,
            delete(projects::remove_member),
        ),
        route(
            M::POST,
            "/api/v1/projects/{id}/teams",
            "Share a project with a team: all its members reach it",
            Project(Some(P::ProjectsEdit)),
            &[("team", "string", true)],
            post(projects::add_team),
        ),
        route(
            M::DELETE,
            "/api/v1/projects/{id}/teams/{team_id}",
            "Stop sharing a project with a team",
            Project(Some(P::ProjectsEdit)),
            NONE,
            delete(projects::remove_team),
        ),
        route(
            M::GET,
            "/api/v1/projects/{id}/tasks",
            "The project's board: its tasks column by column (todo, in_progress, review, done), top to bottom; client contacts get the client-visible ones",
            Project(None),
            NONE,
            get(tasks::list),
        ),
        route(
            M::POST,
            "/api/v1/projects/{id}/tasks",
            "Add a task at the bottom of its column (default todo; internal unless visibility is client; an assignee needs tasks.assign)",
            Project(Some(P::TasksCreate)),
            &[
                ("title", "string", true),
                ("description", "string", false),
                ("status", "string", false),
                ("visibility", "string", false),
                ("assignee", "string", false),
                ("due_on", "string", false),
            ],
            post(tasks::create),
        ),
        route(
            M::GET,
            "/api/v1/projects/{id}/tasks/{task_id}",
            "One task",
            Project(None),
            NONE,
            get(tasks::get),
        ),
        route(
            M::PATCH,
            "/api/v1/projects/{id}/tasks/{task_id}",
            "Change a task: title, description, visibility, due_on (YYYY-MM-DD or null), assignee (or null), status and position (0 is the top)",
            TaskFields,
            &[
                ("title", "string", false),
                ("description", "string", false),
                ("visibility", "string", false),
                ("due_on", "string|null", false),
                ("assignee", "string|null", false),
                ("status", "string", false),
                ("position", "integer", false),
            ],
            patch(tasks::edit),
        ),
        route(
            M::DELETE,
            "/api/v1/projects/{id}/tasks/{task_id}",
            "Remove a task",
            Project(Some(P::TasksDelete)),
            NONE,
            delete(tasks::delete),
        ),
        route(
            M::GET,
            "/api/v1/access-review",
            "Every user with role, effective permissions, two-factor state, last sign-in and flags",
            Permission(P::UsersManage),
            NONE,
            get(users::access_review),
        ),
        route(
            M::GET,
            "/api/v1/settings/security",
            "The security settings (require two-factor sign-in for staff)",
            Permission(P::SettingsManage),
            NONE,
            get(settings::security),
        ),
        route(
            M::PUT,
            "/api/v1/settings/security",
            "Change the security settings",
            Permission(P::SettingsManage),
            &[("require_totp_for_staff", "boolean", false)],
            put(settings::set_security),
        ),
        route(
            M::GET,
            "/api/v1/branding",
            "The brand's look: name, colours, sign-in message, sender name, custom CSS, logo and favicon addresses",
            Public,
            NONE,
            get(branding::look),
        ),
        route(
            M::PUT,
            "/api/v1/branding",
            "Change the brand's look (fields left out keep their value; null goes back to the default)",
            Permission(P::SettingsManage),
            &[
                ("name", "string|null", false),
                ("primary_colour", "string|null", false),
                ("accent_colour", "string|null", false),
                ("sign_in_message", "string|null", false),
                ("email_sender_name", "string|null", false),
                ("custom_css", "string|null", false),
            ],
            put(branding::set_look),
        ),
        route(
            M::PUT,
            "/api/v1/branding/{asset}",
            "Upload the logo or favicon: the image file itself as the body (PNG, JPEG, GIF, WebP, ICO or SVG)",
            Permission(P::SettingsManage),
            NONE,
            put(branding::set_image),
        ),
        route(
            M::DELETE,
            "/api/v1/branding/{asset}",
            "Remove the logo or favicon",
            Permission(P::SettingsManage),
            NONE,
            delete(branding::remove_image),
        ),
        route(
            M::GET,
            "/api/v1/settings/payments",
            "The payment gateways with their public keys and masked secret keys",
            Permission(P::PaymentsSettings),
            NONE,
            get(settings::payments),
        ),
        route(
            M::PUT,
            "/api/v1/settings/payments",
            "Change payment gateways: {\"gateways\": {\"stripe\": {\"enabled\", \"public_key\", \"secret_key\"}}} (left out keeps, null clears)",
            Permission(P::PaymentsSettings),
            &[("gateways", "object", true)],
            put(settings::set_payments),
        ),
        route(
            M::GET,
            "/api/v1/settings/email",
            "The brand's own SMTP server and sender (the password is never shown)",
            Permission(P::SettingsManage),
            NONE,
            get(settings::email),
        ),
        route(
            M::PUT,
            "/api/v1/settings/email",
            "Send this brand's mail through its own SMTP server (password: a string sets it, null removes it, left out keeps it)",
            Permission(P::SettingsManage),
            &[
                ("host", "string", true),
                ("port", "integer", false),
                ("tls", "string", true),
                ("username", "string|null", false),
                ("password", "string|null", false),
                ("from_name", "string|null", false),
                ("from_address", "string", true),
            ],
            put(settings::set_email),
        ),
        route(
            M::DELETE,
            "/api/v1/settings/email",
            "Remove the brand's own SMTP server: its mail goes through the platform's again",
            Permission(P::SettingsManage),
            NONE,
            delete(settings::clear_email),
        ),
        route(
            M::POST,
            "/api/v1/settings/email/test",
            "Send a test mail now (to the caller, or to `to`) and say whether the SMTP server took it",
            Permission(P::SettingsManage),
            &[("to", "string", false)],
            post(settings::test_email),
        ),
        route(
            M::GET,
            "/api/v1/audit",
            "The audit log (?actor=&action=&since=&until=), newest first",
            Permission(P::AuditView),
            NONE,
            get(clients::audit_log),
        ),
    ]
}

/// The API's router.
pub fn router(state: WebState) -> Router {
    let mut by_path: BTreeMap<&'static str, MethodRouter<WebState>> = BTreeMap::new();
    for route in routes() {
        let merged = match by_path.remove(route.path) {
            Some(existing) => existing.merge(route.handler),
            None => route.handler,
        };
        by_path.insert(route.path, merged);
    }
    by_path
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| {
            router.route(path, handler)
        })
        .with_state(state)
}

/// The OpenAPI 3.1 document of [`routes`].
pub fn openapi_document() -> Value {
    let mut paths = serde_json::Map::new();
    for route in routes() {
        let parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut operation = json!({
            "summary": route.summary,
            "operationId": format!("{} {}", route.method, route.path),
            "x-access": route.access.describe(),
            "parameters": parameters,
            "responses": {
                "default": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        });
        if let Some((status, schema)) = success_of(&route.method, route.path) {
            operation["responses"][status.to_string()] = match schema {
                None => json!({"description": "Done; no content"}),
                Some(name) => json!({
                    "description": "Success",
                    "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}},
                }),
            };
        }
        if route.access != Access::Public {
            operation["security"] = json!([{"session": []}, {"token": []}]);
        }
        if !route.body.is_empty() {
            let properties: serde_json::Map<String, Value> = route
                .body
                .iter()
                .map(|(name, kind, _)| {
                    let schema = if *kind == "array" {
                        json!({"type": "array", "items": {"type": "string"}})
                    } else {
                        json!({"type": kind})
                    };
                    ((*name).to_owned(), schema)
                })
                .collect();
            let required: Vec<&str> = route.body.iter().filter(|f| f.2).map(|f| f.0).collect();
            operation["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": false,
                    "properties": properties, "required": required,
                }}},
            });
        }
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.method.as_str().to_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Workspace API", "version": "1"},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
                "token": {"type": "http", "scheme": "bearer"},
            },
            "schemas": {
                "User": object(&[
                    ("id", "string"), ("email", "string"), ("name", "string"), ("kind", "string"),
                    ("role", "string"), ("company", "string|null"), ("status", "string"),
                    ("switches", "array|null"), ("access_expires_at", "string|null"),
                    ("last_sign_in_at", "string|null"), ("created_at", "string"),
                ]),
                "Invited": object(&[
                    ("id", "string"), ("email", "string"), ("name", "string"), ("kind", "string"),
                    ("role", "string"), ("company", "string|null"), ("status", "string"),
                    ("invitation_url", "string"), ("invitation_expires_at", "string"),
                    ("invitation_mailed", "boolean"), ("invitation_note", "string"),
                ]),
                "Me": object(&[
                    ("id", "string"), ("email", "string"), ("name", "string"), ("kind", "string"),
                    ("role", "string"), ("company", "string|null"), ("permissions", "array"),
                ]),
                "SignedIn": json!({"type": "object", "properties": {
                    "user": {"$ref": "#/components/schemas/Me"}, "expires_at": {"type": "string"}}}),
                "Role": object(&[
                    ("id", "string"), ("name", "string"), ("kind", "string"), ("permissions", "array"),
                    ("builtin", "boolean"), ("editable", "boolean"),
                ]),
                "Team": object(&[("id", "string"), ("name", "string"), ("members", "array"), ("created_at", "string")]),
                "Member": object(&[("id", "string")]),
                "Company": object(&[("id", "string"), ("name", "string"), ("details", "string"), ("created_at", "string")]),
                "Session": object(&[
                    ("id", "string"), ("client_address", "string"), ("user_agent", "string"),
                    ("created_at", "string"), ("last_seen_at", "string"), ("expires_at", "string"),
                    ("current", "boolean"),
                ]),
                "Token": object(&[
                    ("id", "string"), ("name", "string"), ("expires_at", "string|null"),
                    ("last_used_at", "string|null"), ("created_at", "string"),
                ]),
                "NewToken": object(&[
                    ("id", "string"), ("name", "string"), ("expires_at", "string|null"),
                    ("created_at", "string"), ("token", "string"),
                ]),
                "AuditEntry": object(&[
                    ("id", "string"), ("actor", "string|null"), ("actor_name", "string"),
                    ("action", "string"), ("target_type", "string"), ("target_id", "string"),
                    ("before", "object|null"), ("after", "object|null"),
                    ("client_address", "string"), ("at", "string"),
                ]),
                "Brand": object(&[("brand", "string"), ("domain", "string"), ("read_only", "boolean")]),
                "Notice": object(&[("message", "string"), ("mailed", "boolean")]),
                "Message": object(&[("message", "string")]),
                "TotpStatus": object(&[("enabled", "boolean"), ("recovery_codes_left", "integer")]),
                "SecuritySettings": object(&[("require_totp_for_staff", "boolean")]),
                "Branding": object(&[
                    ("name", "string"), ("primary_colour", "string"), ("accent_colour", "string"),
                    ("sign_in_message", "string|null"), ("email_sender_name", "string"),
                    ("custom_css", "string|null"), ("logo_url", "string|null"),
                    ("favicon_url", "string|null"),
                ]),
                "EmailSettings": object(&[
                    ("custom", "boolean"), ("platform_default", "boolean"),
                    ("host", "string|null"), ("port", "integer|null"), ("tls", "string|null"),
                    ("username", "string|null"), ("password_set", "boolean"),
                    ("from_name", "string|null"), ("from_address", "string|null"),
                ]),
                "PaymentSettings": object(&[("gateways", "array")]),
                "TestMail": object(&[("sent", "boolean"), ("to", "string"), ("via", "string"), ("server", "string"), ("message", "string")]),
                "TotpEnrollment": object(&[("secret", "string"), ("otpauth_url", "string")]),
                "TotpEnabled": object(&[("enabled", "boolean"), ("recovery_codes", "array")]),
                "PasswordSet": json!({"type": "object", "properties": {
                    "user": {"$ref": "#/components/schemas/User"}, "message": {"type": "string"}}}),
                "OpenApi": json!({"type": "object"}),
                "UserList": list_of("User"),
                "Reviewed": object(&[
                    ("id", "string"), ("email", "string"), ("name", "string"), ("kind", "string"),
                    ("role", "string"), ("role_name", "string"), ("company", "string|null"),
                    ("status", "string"), ("permissions", "array"), ("two_factor", "boolean"),
                    ("flags", "array"), ("projects", "array"), ("all_projects", "boolean"),
                    ("access_expires_at", "string|null"),
                    ("last_sign_in_at", "string|null"), ("created_at", "string"),
                ]),
                "AccessReview": list_of("Reviewed"),
                "Project": object(&[
                    ("id", "string"), ("name", "string"), ("description", "string"),
                    ("company", "string|null"), ("company_name", "string|null"),
                    ("status", "string"), ("archived_at", "string|null"), ("created_at", "string"),
                    ("members", "array|null"), ("teams", "array|null"),
                ]),
                "ProjectList": list_of("Project"),
                "Task": object(&[
                    ("id", "string"), ("project", "string"), ("title", "string"),
                    ("description", "string"), ("status", "string"), ("position", "integer"),
                    ("visibility", "string"), ("assignee", "string|null"),
                    ("assignee_name", "string|null"), ("due_on", "string|null"),
                    ("created_at", "string"),
                ]),
                "TaskList": list_of("Task"),
                "RoleList": list_of("Role"),
                "TeamList": list_of("Team"),
                "MemberList": list_of("Member"),
                "CompanyList": list_of("Company"),
                "SessionList": list_of("Session"),
                "TokenList": list_of("Token"),
                "AuditList": list_of("AuditEntry"),
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "object", "properties": {
                        "code": {"type": "string", "enum": ["unauthenticated", "read_only", "forbidden", "not_found", "conflict", "validation_failed", "rate_limited", "too_large", "internal"]},
                        "message": {"type": "string"},
                        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    }, "required": ["code", "message"]}},
                },
            },
        },
    })
}

/// A JSON object schema with every field present; `a|b` types allow either.
fn object(fields: &[(&str, &str)]) -> Value {
    let properties: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(name, kind)| {
            let types: Vec<&str> = kind.split('|').collect();
            let schema = if types.len() == 1 {
                json!({"type": kind})
            } else {
                json!({"type": types})
            };
            ((*name).to_owned(), schema)
        })
        .collect();
    let required: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    json!({"type": "object", "properties": properties, "required": required})
}

/// PRODUCT.md's list shape around `item`.
fn list_of(item: &str) -> Value {
    json!({"type": "object", "properties": {
        "items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}},
        "next_cursor": {"type": ["string", "null"]},
    }, "required": ["items", "next_cursor"]})
}

/// Each route's success status and the schema of its answer (`None` for no content).
fn success_of(method: &Method, path: &str) -> Option<(u16, Option<&'static str>)> {
    let created = *method == Method::POST;
    Some(match (method.as_str(), path) {
        (_, "/api/v1/openapi.json") => (200, Some("OpenApi")),
        (_, "/api/v1/brand") => (200, Some("Brand")),
        ("POST", "/api/v1/session") => (200, Some("SignedIn")),
        ("GET", "/api/v1/me") => (200, Some("Me")),
        ("GET", "/api/v1/me/totp") => (200, Some("TotpStatus")),
        ("PUT", "/api/v1/me/password") => (200, Some("Message")),
        ("GET" | "PUT", "/api/v1/settings/security") => (200, Some("SecuritySettings")),
        ("GET" | "PUT" | "DELETE", "/api/v1/settings/email") => (200, Some("EmailSettings")),
        ("GET" | "PUT", "/api/v1/branding") | ("PUT" | "DELETE", "/api/v1/branding/{asset}") => {
            (200, Some("Branding"))
        }
        ("POST", "/api/v1/settings/email/test") => (200, Some("TestMail")),
        ("GET" | "PUT", "/api/v1/settings/payments") => (200, Some("PaymentSettings")),
        ("GET", "/api/v1/access-review") => (200, Some("AccessReview")),
        ("POST", "/api/v1/me/totp") => (201, Some("TotpEnrollment")),
        ("PUT", "/api/v1/me/totp") => (200, Some("TotpEnabled")),
        ("DELETE", "/api/v1/me/totp") => (204, None),
        ("GET", "/api/v1/me/sessions") => (200, Some("SessionList")),
        ("GET", "/api/v1/tokens") => (200, Some("TokenList")),
        ("POST", "/api/v1/tokens") => (201, Some("NewToken")),
        ("POST", "/api/v1/invitations/{token}/accept") => (200, Some("User")),
        ("POST", "/api/v1/password-reset" | "/api/v1/users/{id}/password-reset") => {
            (202, Some("Notice"))
        }
        ("POST", "/api/v1/password-reset/{token}") => (200, Some("PasswordSet")),
        ("GET", "/api/v1/users") => (200, Some("UserList")),
        ("POST", "/api/v1/users" | "/api/v1/clients/{id}/contacts") => (201, Some("Invited")),
        ("POST", "/api/v1/users/{id}/invitation") => (200, Some("Invited")),
        ("DELETE", "/api/v1/users/{id}/totp") => (200, Some("User")),
        ("GET" | "PATCH", "/api/v1/users/{id}")
        | ("POST", "/api/v1/users/{id}/deactivate" | "/api/v1/users/{id}/reactivate") => {
            (200, Some("User"))
        }
        ("GET", "/api/v1/roles") => (200, Some("RoleList")),
        ("POST" | "GET" | "PATCH", "/api/v1/roles" | "/api/v1/roles/{id}") => {
            (if created { 201 } else { 200 }, Some("Role"))
        }
        ("GET", "/api/v1/teams") => (200, Some("TeamList")),
        ("GET", "/api/v1/teams/{id}/members") => (200, Some("MemberList")),
        (
            "POST" | "DELETE",
            "/api/v1/teams/{id}/members" | "/api/v1/teams/{id}/members/{user_id}",
        ) => (200, Some("Team")),
        ("POST" | "GET" | "PATCH", "/api/v1/teams" | "/api/v1/teams/{id}") => {
            (if created { 201 } else { 200 }, Some("Team"))
        }
        ("GET", "/api/v1/clients") => (200, Some("CompanyList")),
        ("GET", "/api/v1/clients/{id}/contacts") => (200, Some("UserList")),
        ("POST" | "GET" | "PATCH", "/api/v1/clients" | "/api/v1/clients/{id}") => {
            (if created { 201 } else { 200 }, Some("Company"))
        }
        ("GET", "/api/v1/audit") => (200, Some("AuditList")),
        ("GET", "/api/v1/projects") => (200, Some("ProjectList")),
        ("GET", "/api/v1/projects/{id}/tasks") => (200, Some("TaskList")),
        ("POST", "/api/v1/projects/{id}/tasks") => (201, Some("Task")),
        ("GET" | "PATCH", "/api/v1/projects/{id}/tasks/{task_id}") => (200, Some("Task")),
        ("POST", "/api/v1/projects") => (201, Some("Project")),
        ("GET" | "PATCH", "/api/v1/projects/{id}")
        | (
            "POST",
            "/api/v1/projects/{id}/archive"
            | "/api/v1/projects/{id}/unarchive"
            | "/api/v1/projects/{id}/members"
            | "/api/v1/projects/{id}/teams",
        )
        | (
            "DELETE",
            "/api/v1/projects/{id}/members/{user_id}" | "/api/v1/projects/{id}/teams/{team_id}",
        ) => (200, Some("Project")),
        ("DELETE", _) => (204, None),
        _ => return None,
    })
}

async fn openapi() -> Json<Value> {
    Json(openapi_document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_openapi_document_with_its_access_and_body() {
        let document = openapi_document();
        let mut operations = 0;
        for route in routes() {
            let operation = &document["paths"][route.path][route.method.as_str().to_lowercase()];
            assert!(
                operation.is_object(),
                "{} {} is missing from openapi.json",
                route.method,
                route.path
            );
            assert_eq!(operation["summary"], route.summary);
            assert!(
                success_of(&route.method, route.path).is_some(),
                "{} {} has no success answer described",
                route.method,
                route.path
            );
            let described = operation["responses"]
                .as_object()
                .map(|r| r.keys().any(|k| k.starts_with('2')))
                .unwrap_or(false);
            assert!(described, "{} {}", route.method, route.path);
            assert_eq!(operation["x-access"], route.access.describe());
            for (field, _, _) in route.body {
                assert!(
                    operation["requestBody"]["content"]["application/json"]["schema"]["properties"]
                        [field]
                        .is_object(),
                    "{} {} body field {field}",
                    route.method,
                    route.path
                );
            }
            operations += 1;
        }
        let documented: usize = document["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .values()
                    .filter_map(Value::as_object)
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        assert_eq!(
            documented, operations,
            "nothing documented that is not routed"
        );
    }
}
