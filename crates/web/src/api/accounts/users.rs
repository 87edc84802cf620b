//! `/api/v1/users`: invite, list, edit, deactivate, reactivate, delete, invitations.

use crate::api::{Access, Route, route};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing;
use serde::Deserialize;
use serde_json::{Value, json};
use tenant_core::access::UserKind;
use tenant_core::access::permissions::need;
use tenant_core::access::{Scope, permit};
use tenant_core::accounts::credentials::LinkKind;
use tenant_core::accounts::invitations;
use tenant_core::accounts::invitations::Invitation;
use tenant_core::accounts::lifecycle;
use tenant_core::accounts::password_reset;
use tenant_core::accounts::totp;
use tenant_core::accounts::users::{self, NewUser, User, UserChange, UserFilter, UserStatus};
use tenant_core::names::Email;

use crate::api::views::{self, double_option};
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ApiResult};

/// The answer to an invitation: mailed (the link goes only to the invitee), or, when mail
/// is not set up, the link PRODUCT.md's `{base}/invite/{token}` for the admin to pass on.
pub(crate) async fn invitation_view(
    caller: &Caller,
    user: &User,
    invitation: &Invitation,
) -> Value {
    let mail = caller.mail_set_up().await;
    let mut view = views::user(user);
    view["invitation_expires_at"] = json!(views::rfc3339(invitation.expires_at));
    view["invitation_mailed"] = json!(mail);
    if mail {
        view["invitation_note"] = json!(format!("An invitation is on its way to {}.", user.email));
    } else {
        view["invitation_url"] = json!(
            invitation
                .token
                .link(&caller.connection.base, LinkKind::Invitation)
        );
        view["invitation_note"] = json!(
            "E-mail delivery is not set up for this workspace, so no invitation was mailed: send the link yourself. It will also be mailed once e-mail is set up."
        );
    }
    view
}

/// `POST /api/v1/users/{id}/password-reset`: mails the user a password reset link.
#[tracing::instrument(skip_all)]
pub(crate) async fn send_password_reset(
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let permit = permit::<need::UsersManage>(&caller.principal, Scope::Brand)?;
    let (user, token) =
        password_reset::send_password_reset(caller.tenant.store(), &permit, &id).await?;
    let mail = caller.mail_set_up().await;
    let body = if mail {
        json!({
            "mailed": true,
            "message": format!("A password reset link is on its way to {}.", user.email),
        })
    } else {
        // As with invitations: without mail the admin passes the link on themself.
        json!({
            "mailed": false,
            "message": format!(
                "E-mail delivery is not set up for this workspace: give {} this link yourself. It works once, for an hour.",
                user.email
            ),
            "reset_url": token.link(&caller.connection.base, LinkKind::Reset),
        })
    };
    Ok((StatusCode::ACCEPTED, Json(body)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Invite {
    email: String,
    name: String,
    role: String,
    #[serde(default)]
    company: Option<String>,
    #[serde(default)]
    switches: Option<Vec<String>>,
    #[serde(default)]
    access_expires_at: Option<String>,
}

impl Invite {
    /// A contact of `company`, as the Clients route takes them.
    pub(crate) fn contact(
        email: String,
        name: String,
        role: String,
        company: String,
        switches: Option<Vec<String>>,
        access_expires_at: Option<String>,
    ) -> Self {
        Invite {
            email,
            name,
            role,
            company: Some(company),
            switches,
            access_expires_at,
        }
    }

    pub(crate) fn into_new_user(self) -> Result<NewUser, ApiError> {
        let email = Email::parse(&self.email)
            .map_err(|e| tenant_core::Error::field("email", e.to_string()))?;
        let mut new = NewUser::new(email, &self.name, &self.role);
        new.company_id = self.company;
        new.switches = self
            .switches
            .as_deref()
            .map(|w| views::parse_permissions("switches", w))
            .transpose()?;
        new.access_expires_at = self
            .access_expires_at
            .as_deref()
            .map(|t| views::parse_time("access_expires_at", t))
            .transpose()?;
        Ok(new)
    }
}

/// `POST /api/v1/users`.
#[tracing::instrument(skip_all)]
pub(crate) async fn invite(
    caller: Caller,
    body: Result<Json<Invite>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let permit = permit::<need::UsersManage>(&caller.principal, Scope::Brand)?;
    let Json(body) = body?;
    let new = body.into_new_user()?;
    let (user, invitation) = invitations::invite(caller.tenant.store(), &permit, &new).await?;
    Ok((
        StatusCode::CREATED,
        Json(invitation_view(&caller, &user, &invitation).await),
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    q: Option<String>,
    kind: Option<String>,
    status: Option<String>,
    role: Option<String>,
    company: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// `GET /api/v1/users?q=&kind=&status=&role=&company=`.
pub(crate) async fn list(
    caller: Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::response::Response> {
    let permit = permit::<need::UsersManage>(&caller.principal, Scope::Brand)?;
    let Query(query) = query.map_err(|e| ApiError::BadBody(e.body_text()))?;
    let window = views::window("users", query.limit, query.cursor.as_deref())?;
    let filter = UserFilter {
        q: query.q,
        kind: query
            .kind
            .as_deref()
            .map(|k| {
                UserKind::parse(k).map_err(|e| tenant_core::Error::field("kind", e.to_string()))
            })
            .transpose()?,
        status: query
            .status
            .as_deref()
            .map(|s| {
                UserStatus::parse(s).map_err(|e| tenant_core::Error::field("status", e.to_string()))
            })
            .transpose()?,
        company_id: query.company,
        role: query.role,
    };
    // The page is the same for everyone who may list users, so it is remembered until the
    // brand's data next changes.
    let key = format!(
        "GET /api/v1/users {filter:?} after {:?} limit {}",
        window.after, window.limit
    );
    let store = caller.tenant.store();
    let body = store
        .remembered(key, async || {
            let page = users::list_users(
                store,
                &permit,
                &filter,
                window.after.as_deref(),
                window.limit,
            )
            .await?;
            Ok(views::json_bytes(&views::page_of(
                "users",
                page,
                views::user,
            )))
        })
        .await?;
    Ok(views::json_answer(body))
}

/// `GET /api/v1/access-review`: every user with role, effective permissions, projects,
/// two-factor state, last sign-in and flags.
#[tracing::instrument(skip_all)]
pub(crate) async fn access_review(
    caller: Caller,
    query: Result<Query<views::Paging>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::UsersManage>(&caller.principal, Scope::Brand)?;
    let window = crate::api::views::paging(query)?.window("access-review")?;
    let page = tenant_core::access::access_review::access_review(
        caller.tenant.store(),
        &permit,
        window.after.as_deref(),
        window.limit,
    )
    .await?;
    Ok(Json(views::page_of("access-review", page, |reviewed| {
        let mut view = views::user(&reviewed.user);
        view["role_name"] = json!(reviewed.role_name);
        view["permissions"] = json!(views::words(reviewed.permissions));
        view["two_factor"] = json!(reviewed.two_factor);
        view["projects"] = json!(
            reviewed
                .projects
                .iter()
                .map(|p| json!({"id": p.id, "name": p.name, "status": p.status.as_str()}))
                .collect::<Vec<_>>()
        );
        view["all_projects"] = json!(reviewed.all_projects);
        view["flags"] = json!(
            reviewed
                .flags
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
        );
        view
    })))
}

/// `DELETE /api/v1/users/{id}/totp`: turns off a user's two-factor sign-in for them.
#[tracing::instrument(skip_all)]
pub(crate) async fn reset_two_factor(
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::UsersManage>(&caller.principal, Scope::Brand)?;
    let user = totp::reset_two_factor(caller.tenant.store(), &permit, &id).await?;
    Ok(Json(views::user(&user)))
}

/// `GET /api/v1/users/{id}`.
pub(crate) async fn get(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let user = users::get_user(caller.tenant.store(), &caller.principal, &id).await?;
    Ok(Json(views::user(&user)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Edit {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    switches: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "double_option")]
    access_expires_at: Option<Option<String>>,
}

/// `PATCH /api/v1/users/{id}`.
#[tracing::instrument(skip_all)]
pub(crate) async fn edit(
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<Edit>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::UsersManage>(&caller.principal, Scope::Brand)?;
    let Json(body) = body?;
    let change = UserChange {
        name: body.name,
        role: body.role,
        switches: body
            .switches
            .map(|s| {
                s.as_deref()
                    .map(|w| views::parse_permissions("switches", w))
                    .transpose()
            })
            .transpose()?,
        access_expires_at: body
            .access_expires_at
            .map(|t| {
                t.as_deref()
                    .map(|t| views::parse_time("access_expires_at", t))
                    .transpose()
            })
            .transpose()?,
    };
    let user = users::update_user(caller.tenant.store(), &permit, &id, &change).await?;
    Ok(Json(views::user(&user)))
}

/// `DELETE /api/v1/users/{id}` (only without history).
#[tracing::instrument(skip_all)]
pub(crate) async fn delete(caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let permit = permit::<need::UsersManage>(&caller.principal, Scope::Brand)?;
    lifecycle::delete_user(caller.tenant.store(), &permit, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/users/{id}/deactivate`.
#[tracing::instrument(skip_all)]
pub(crate) async fn deactivate(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let permit = permit::<need::UsersManage>(&caller.principal, Scope::Brand)?;
    let user = lifecycle::deactivate_user(caller.tenant.store(), &permit, &id).await?;
    Ok(Json(views::user(&user)))
}

/// `POST /api/v1/users/{id}/reactivate`.
#[tracing::instrument(skip_all)]
pub(crate) async fn reactivate(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let permit = permit::<need::UsersManage>(&caller.principal, Scope::Brand)?;
    let user = lifecycle::reactivate_user(caller.tenant.store(), &permit, &id).await?;
    Ok(Json(views::user(&user)))
}

/// `POST /api/v1/users/{id}/invitation`: a new link; earlier ones stop working.
#[tracing::instrument(skip_all)]
pub(crate) async fn resend_invitation(
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::UsersManage>(&caller.principal, Scope::Brand)?;
    let (user, invitation) =
        invitations::resend_invitation(caller.tenant.store(), &permit, &id).await?;
    Ok(Json(invitation_view(&caller, &user, &invitation).await))
}

/// `DELETE /api/v1/users/{id}/invitation`: the open link stops working.
#[tracing::instrument(skip_all)]
pub(crate) async fn revoke_invitation(
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let permit = permit::<need::UsersManage>(&caller.principal, Scope::Brand)?;
    invitations::revoke_invitation(caller.tenant.store(), &permit, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// This module's routes of `/api/v1`.
pub(crate) fn routes() -> Vec<Route> {
    use Access::*;
    use axum::http::Method as M;
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
    const USER_EDIT: &[(&str, &str, bool)] = &[
        ("name", "string", false),
        ("role", "string", false),
        ("switches", "array", false),
        ("access_expires_at", "string", false),
    ];
    vec![
        route(
            M::GET,
            "/api/v1/users",
            "List users (?q=&kind=&status=&role=&company=)",
            Permission(P::UsersManage),
            NONE,
            routing::get(list),
        ),
        route(
            M::POST,
            "/api/v1/users",
            "Invite a user",
            Permission(P::UsersManage),
            INVITE,
            routing::post(invite),
        ),
        route(
            M::GET,
            "/api/v1/users/{id}",
            "One user",
            SelfOr(P::UsersManage),
            NONE,
            routing::get(get),
        ),
        route(
            M::PATCH,
            "/api/v1/users/{id}",
            "Edit a user: name, role, switches, access expiry",
            Permission(P::UsersManage),
            USER_EDIT,
            routing::patch(edit),
        ),
        route(
            M::DELETE,
            "/api/v1/users/{id}",
            "Delete a user who has no history",
            Permission(P::UsersManage),
            NONE,
            routing::delete(delete),
        ),
        route(
            M::POST,
            "/api/v1/users/{id}/deactivate",
            "Deactivate a user (sessions and tokens end at once)",
            Permission(P::UsersManage),
            NONE,
            routing::post(deactivate),
        ),
        route(
            M::POST,
            "/api/v1/users/{id}/reactivate",
            "Reactivate a user",
            Permission(P::UsersManage),
            NONE,
            routing::post(reactivate),
        ),
        route(
            M::POST,
            "/api/v1/users/{id}/invitation",
            "Send a new invitation link",
            Permission(P::UsersManage),
            NONE,
            routing::post(resend_invitation),
        ),
        route(
            M::DELETE,
            "/api/v1/users/{id}/invitation",
            "Revoke the open invitation link",
            Permission(P::UsersManage),
            NONE,
            routing::delete(revoke_invitation),
        ),
        route(
            M::POST,
            "/api/v1/users/{id}/password-reset",
            "Mail an active user a password reset link",
            Permission(P::UsersManage),
            NONE,
            routing::post(send_password_reset),
        ),
        route(
            M::DELETE,
            "/api/v1/users/{id}/totp",
            "Turn off a user's two-factor sign-in for them (lost phone and recovery codes)",
            Permission(P::UsersManage),
            NONE,
            routing::delete(reset_two_factor),
        ),
        route(
            M::GET,
            "/api/v1/access-review",
            "Every user with role, effective permissions, two-factor state, last sign-in and flags",
            Permission(P::UsersManage),
            NONE,
            routing::get(access_review),
        ),
    ]
}
