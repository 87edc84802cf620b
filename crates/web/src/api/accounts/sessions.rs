//! Signing in and out, the caller's own account (`/me`, sessions, tokens) and accepting an
//! invitation.

use crate::api::{Access, Route, route};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing;
use serde::Deserialize;
use serde_json::{Value, json};
use tenant_core::accounts::credentials;
use tenant_core::accounts::invitations;
use tenant_core::accounts::password_reset;
use tenant_core::accounts::sessions::{self, ClientInfo, SESSION_ABSOLUTE};
use tenant_core::accounts::totp;
use tenant_core::names::Email;

use crate::api::WebState;
use crate::api::views;
use crate::http::caller::{Caller, SESSION_COOKIE, Visitor, check_origin};
use crate::http::error::{ApiError, ApiResult};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignIn {
    email: String,
    password: String,
    #[serde(default)]
    totp: Option<String>,
}

/// Signs in with the limits of PRODUCT.md: attempts count per address and per account, and
/// a wrong password counts as a failure (asking for the second factor does not). Shared
/// by the API and the sign-in page.
pub(crate) async fn sign_in_limited(
    state: &WebState,
    visitor: &Visitor,
    headers: &HeaderMap,
    email: &str,
    password: &str,
    totp: Option<&str>,
) -> ApiResult<SignedInHere> {
    let address = visitor.connection.address.to_string();
    let account = Email::parse(email)
        .map(|e| e.key().to_owned())
        .unwrap_or_else(|_| email.to_lowercase());
    let tenant_id = visitor.tenant.tenant.id.to_string();
    let account = format!("{tenant_id} {account}");
    let trusted = trusted_device(state, headers, &account);
    state
        .limiter
        .attempt(&format!("{tenant_id} {address}"), &account, trusted)
        .map_err(ApiError::RateLimited)?;
    let client = ClientInfo {
        address,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    };
    match sessions::sign_in(visitor.tenant.store(), email, password, totp, &client).await {
        Ok(signed_in) => Ok(SignedInHere {
            device: device_cookie(state, &account),
            signed_in,
        }),
        Err(error) => {
            if !trusted && !matches!(error, tenant_core::Error::SecondFactorRequired) {
                state.limiter.failed(&account);
            }
            Err(error.into())
        }
    }
}

/// A sign-in that worked, with the device cookie that lets this browser in later even while
/// strangers are locked out of the account.
pub(crate) struct SignedInHere {
    pub(crate) signed_in: sessions::SignedIn,
    pub(crate) device: Option<HeaderValue>,
}

impl SignedInHere {
    /// Sets the session and device cookies on `response`.
    pub(crate) fn set_cookies(&self, response: &mut Response) {
        if let Some(cookie) = session_cookie(
            self.signed_in.secret.reveal(),
            SESSION_ABSOLUTE.whole_seconds(),
        ) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        if let Some(device) = &self.device {
            response
                .headers_mut()
                .append(header::SET_COOKIE, device.clone());
        }
    }
}

/// The device cookie's name: host-only like the session's.
const DEVICE_COOKIE: &str = "__Host-ts_device";
/// What the device cookie is sealed for.
const DEVICE_PURPOSE: &str = "sign-in device";
/// How long a device stays known: a year.
const DEVICE_MAX_AGE: i64 = 365 * 24 * 3600;

/// `Set-Cookie` for a device that `account` (tenant id and e-mail key) just signed in from:
/// the account sealed with the platform key, so it cannot be made or altered elsewhere.
fn device_cookie(state: &WebState, account: &str) -> Option<HeaderValue> {
    let sealed = state.postmaster.key().seal(DEVICE_PURPOSE, account).ok()?;
    HeaderValue::from_str(&format!(
        "{DEVICE_COOKIE}={sealed}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={DEVICE_MAX_AGE}"
    ))
    .ok()
}

/// Whether the request carries a device cookie that `account` signed in from before.
fn trusted_device(state: &WebState, headers: &HeaderMap, account: &str) -> bool {
    crate::http::caller::cookies(headers, DEVICE_COOKIE).any(|value| {
        state
            .postmaster
            .key()
            .open(DEVICE_PURPOSE, value)
            .is_ok_and(|opened| opened == account)
    })
}

/// The `Set-Cookie` value that starts a session (or, with `""` and 0, ends it).
pub(crate) fn session_cookie(value: &str, max_age: i64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={max_age}"
    ))
    .ok()
}

/// `POST /api/v1/session`: e-mail and password → a session cookie.
#[tracing::instrument(skip_all)]
pub(crate) async fn sign_in(
    State(state): State<WebState>,
    visitor: Visitor,
    headers: HeaderMap,
    body: Result<Json<SignIn>, JsonRejection>,
) -> ApiResult<Response> {
    check_origin(&headers, &visitor.connection, false)?;
    let Json(body) = body?;
    let signed_in = sign_in_limited(
        &state,
        &visitor,
        &headers,
        &body.email,
        &body.password,
        body.totp.as_deref(),
    )
    .await?;
    let mut response = Json(json!({
        "user": Me::of(&signed_in.signed_in.principal),
        "expires_at": views::rfc3339(signed_in.signed_in.expires_at),
    }))
    .into_response();
    signed_in.set_cookies(&mut response);
    Ok(response)
}

/// `DELETE /api/v1/session`: ends this session and clears the cookie.
#[tracing::instrument(skip_all)]
pub(crate) async fn sign_out(caller: Caller) -> ApiResult<Response> {
    sessions::sign_out(caller.tenant.store(), &caller.principal).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(cookie) = session_cookie("", 0) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// Who a principal is and what they may do, as `GET /api/v1/me` and sign-in answer it
/// (written straight out, with the fields in the order the rest of the API has them).
#[derive(serde::Serialize)]
struct Me<'a> {
    company: Option<&'a str>,
    email: &'a str,
    id: &'a str,
    kind: &'static str,
    name: &'a str,
    permissions: PermissionNames<'a>,
    role: &'a str,
}

/// A principal's effective permissions as a list of names.
struct PermissionNames<'a>(&'a tenant_core::access::Principal);

impl serde::Serialize for PermissionNames<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.permissions().iter().map(|p| p.as_str()))
    }
}

impl<'a> Me<'a> {
    fn of(principal: &'a tenant_core::access::Principal) -> Self {
        Me {
            company: principal.company_id(),
            email: principal.email(),
            id: principal.user_id(),
            kind: principal.kind().as_str(),
            name: principal.name(),
            permissions: PermissionNames(principal),
            role: principal.role_id(),
        }
    }
}

/// `GET /api/v1/me`: who the caller is and what they may do.
pub(crate) async fn me(caller: Caller) -> Response {
    Json(Me::of(&caller.principal)).into_response()
}

/// `GET /api/v1/me/sessions`.
pub(crate) async fn list_sessions(
    caller: Caller,
    window: views::WholeList,
) -> ApiResult<Json<Value>> {
    let list = sessions::list_sessions(caller.tenant.store(), &caller.principal).await?;
    Ok(Json(views::page_whole(
        "sessions",
        &list,
        &window,
        |session| &session.id,
        views::session,
    )?))
}

/// `DELETE /api/v1/me/sessions/{id}`.
pub(crate) async fn revoke_session(
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    sessions::revoke_session(caller.tenant.store(), &caller.principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/tokens`.
pub(crate) async fn list_tokens(
    caller: Caller,
    window: views::WholeList,
) -> ApiResult<Json<Value>> {
    let list = sessions::list_tokens(caller.tenant.store(), &caller.principal).await?;
    Ok(Json(views::page_whole(
        "tokens",
        &list,
        &window,
        |token| &token.id,
        views::token,
    )?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewToken {
    name: String,
    #[serde(default)]
    expires_at: Option<String>,
}

/// `POST /api/v1/tokens`: the secret is in this answer and never again.
pub(crate) async fn create_token(
    caller: Caller,
    body: Result<Json<NewToken>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Json(body) = body?;
    let expires_at = body
        .expires_at
        .as_deref()
        .map(|t| views::parse_time("expires_at", t))
        .transpose()?;
    let (token, secret) = sessions::create_token(
        caller.tenant.store(),
        &caller.principal,
        &body.name,
        expires_at,
    )
    .await?;
    let mut view = views::token(&token);
    view["token"] = json!(secret.reveal());
    Ok((StatusCode::CREATED, Json(view)))
}

/// `DELETE /api/v1/tokens/{id}`.
pub(crate) async fn revoke_token(caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    sessions::revoke_token(caller.tenant.store(), &caller.principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Accept {
    password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResetRequest {
    email: String,
}

/// `POST /api/v1/password-reset`: mails a reset link if the address has an account; the
/// answer is the same either way. Each request counts against the sign-in limits of the
/// address and of the account, so nobody can flood a mailbox.
#[tracing::instrument(skip_all)]
pub(crate) async fn request_password_reset(
    State(state): State<WebState>,
    visitor: Visitor,
    headers: HeaderMap,
    body: Result<Json<ResetRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    check_origin(&headers, &visitor.connection, false)?;
    let Json(body) = body?;
    request_reset_limited(&state, &visitor, &body.email).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"message": RESET_REQUESTED})),
    ))
}

/// The answer to a reset request, whether or not the address has an account.
pub(crate) const RESET_REQUESTED: &str = "If an account uses that address, a link to set a new password is on its way. It works once, for an hour.";

/// Queues a reset mail (after answering) if `email` has an account; counts against the
/// address's sign-in limit and the account's reset limit (not its sign-in limit). Shared by the API and the forgotten-password page.
pub(crate) async fn request_reset_limited(
    state: &WebState,
    visitor: &Visitor,
    email: &str,
) -> ApiResult<()> {
    let email = Email::parse(email)
        .map_err(|e| ApiError::from(tenant_core::Error::field("email", e.to_string())))?;
    let tenant_id = visitor.tenant.tenant.id.to_string();
    // Reset requests have a window of their own per account (so no one mails a person a
    // flood of links), apart from sign-in: asking for links never locks anyone out.
    let account = format!("{tenant_id} reset {}", email.key());
    state
        .limiter
        .attempt(
            &format!("{tenant_id} {}", visitor.connection.address),
            &account,
            false,
        )
        .map_err(ApiError::RateLimited)?;
    state.limiter.failed(&account);
    // The answer must not tell, by how long it takes, whether the address has an account:
    // the link is made and queued after answering.
    let tenant = visitor.tenant.clone();
    tokio::spawn(async move {
        if let Err(error) = password_reset::request_password_reset(tenant.store(), &email).await {
            tracing::error!(%error, "cannot make a password reset link");
        }
    });
    Ok(())
}

/// `POST /api/v1/password-reset/{token}`: sets a new password once; every session and
/// personal access token of the user ends.
#[tracing::instrument(skip_all)]
pub(crate) async fn reset_password(
    visitor: Visitor,
    Path(token): Path<String>,
    body: Result<Json<Accept>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body?;
    let user =
        password_reset::reset_password(visitor.tenant.store(), &token, &body.password).await?;
    Ok(Json(json!({
        "user": views::user(&user),
        "message": "Your new password is set, and you are signed out everywhere: sign in with it."
    })))
}

/// `POST /api/v1/invitations/{token}/accept`: sets the password; the user then signs in.
#[tracing::instrument(skip_all)]
pub(crate) async fn accept_invitation(
    visitor: Visitor,
    Path(token): Path<String>,
    body: Result<Json<Accept>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body?;
    let user =
        invitations::accept_invitation(visitor.tenant.store(), &token, &body.password).await?;
    Ok(Json(views::user(&user)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordOnly {
    password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TotpCode {
    code: String,
}

/// `GET /api/v1/me/totp`.
#[tracing::instrument(skip_all)]
pub(crate) async fn totp_status(caller: Caller) -> ApiResult<Json<Value>> {
    let status = totp::status(caller.tenant.store(), &caller.principal).await?;
    Ok(Json(json!({
        "enabled": status.enabled,
        "recovery_codes_left": status.recovery_codes_left,
    })))
}

/// `POST /api/v1/me/totp`: a new secret (the password is needed); nothing changes at
/// sign-in until a code from it is confirmed.
#[tracing::instrument(skip_all)]
pub(crate) async fn totp_begin(
    State(state): State<WebState>,
    caller: Caller,
    body: Result<Json<PasswordOnly>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Json(body) = body?;
    let enrollment = limit_password_checks(
        &state,
        &caller,
        totp::begin(
            caller.tenant.store(),
            &caller.principal,
            &body.password,
            &caller.tenant.tenant.brand,
        ),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"secret": enrollment.secret, "otpauth_url": enrollment.otpauth_url})),
    ))
}

/// `PUT /api/v1/me/totp`: turns two-factor sign-in on; the recovery codes are shown once.
#[tracing::instrument(skip_all)]
pub(crate) async fn totp_confirm(
    caller: Caller,
    body: Result<Json<TotpCode>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body?;
    let codes = totp::confirm(caller.tenant.store(), &caller.principal, &body.code).await?;
    Ok(Json(json!({"enabled": true, "recovery_codes": codes})))
}

/// `DELETE /api/v1/me/totp`: turns two-factor sign-in off (the password is needed).
#[tracing::instrument(skip_all)]
pub(crate) async fn totp_disable(
    State(state): State<WebState>,
    caller: Caller,
    body: Result<Json<PasswordOnly>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let Json(body) = body?;
    limit_password_checks(
        &state,
        &caller,
        totp::disable(caller.tenant.store(), &caller.principal, &body.password),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs `work`, which checks the caller's password, under the sign-in limits: the attempt
/// counts against the address, and a wrong password against the account, so a stolen
/// session cannot be used to guess the password.
pub(crate) async fn limit_password_checks<T>(
    state: &WebState,
    caller: &Caller,
    work: impl std::future::Future<Output = tenant_core::Result<T>>,
) -> ApiResult<T> {
    limited_password_check(
        state,
        &caller.tenant,
        &caller.connection,
        &caller.principal,
        work,
    )
    .await
}

/// [`limit_password_checks`] for any signed-in user (the pages use it too).
pub(crate) async fn limited_password_check<T>(
    state: &WebState,
    tenant: &tenant_core::TenantContext,
    connection: &crate::http::caller::ClientConnection,
    principal: &tenant_core::access::Principal,
    work: impl std::future::Future<Output = tenant_core::Result<T>>,
) -> ApiResult<T> {
    let tenant_id = tenant.tenant.id.to_string();
    let email = principal.email();
    let key = Email::parse(email).map_or_else(|_| email.to_lowercase(), |e| e.key().to_owned());
    let account = format!("{tenant_id} {key}");
    state
        .limiter
        .attempt(
            &format!("{tenant_id} {}", connection.address),
            &account,
            false,
        )
        .map_err(ApiError::RateLimited)?;
    let outcome = work.await;
    if matches!(
        &outcome,
        Err(tenant_core::Error::Field {
            field: "password" | "current_password",
            ..
        })
    ) {
        state.limiter.failed(&account);
    }
    Ok(outcome?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    current_password: String,
    password: String,
}

/// `PUT /api/v1/me/password`: a new password, with the current one; every other session and
/// every personal access token ends. Wrong current passwords count against the sign-in
/// limits.
#[tracing::instrument(skip_all)]
pub(crate) async fn change_password(
    State(state): State<WebState>,
    caller: Caller,
    body: Result<Json<PasswordChange>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body?;
    limit_password_checks(
        &state,
        &caller,
        credentials::change_own_password(
            caller.tenant.store(),
            &caller.principal,
            &body.current_password,
            &body.password,
        ),
    )
    .await?;
    Ok(Json(json!({
        "message": "Your password is changed. Your other sessions and personal access tokens have ended."
    })))
}

/// This module's routes of `/api/v1`.
pub(crate) fn routes() -> Vec<Route> {
    use Access::*;
    use axum::http::Method as M;
    const NONE: &[(&str, &str, bool)] = &[];
    vec![
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
            routing::post(sign_in),
        ),
        route(
            M::DELETE,
            "/api/v1/session",
            "Sign out: end this session",
            SignedIn,
            NONE,
            routing::delete(sign_out),
        ),
        route(
            M::GET,
            "/api/v1/me",
            "The signed-in user and their effective permissions",
            SignedIn,
            NONE,
            routing::get(me),
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
            routing::put(change_password),
        ),
        route(
            M::GET,
            "/api/v1/me/totp",
            "Whether your two-factor sign-in is on, and recovery codes left",
            SignedIn,
            NONE,
            routing::get(totp_status),
        ),
        route(
            M::POST,
            "/api/v1/me/totp",
            "Start turning two-factor sign-in on: a secret for your authenticator app",
            SignedIn,
            &[("password", "string", true)],
            routing::post(totp_begin),
        ),
        route(
            M::PUT,
            "/api/v1/me/totp",
            "Turn two-factor sign-in on with a code from the app; answers ten recovery codes, once",
            SignedIn,
            &[("code", "string", true)],
            routing::put(totp_confirm),
        ),
        route(
            M::DELETE,
            "/api/v1/me/totp",
            "Turn two-factor sign-in off",
            SignedIn,
            &[("password", "string", true)],
            routing::delete(totp_disable),
        ),
        route(
            M::GET,
            "/api/v1/me/sessions",
            "Your live sessions",
            SignedIn,
            NONE,
            routing::get(list_sessions),
        ),
        route(
            M::DELETE,
            "/api/v1/me/sessions/{id}",
            "End one of your sessions",
            SignedIn,
            NONE,
            routing::delete(revoke_session),
        ),
        route(
            M::GET,
            "/api/v1/tokens",
            "Your personal access tokens",
            SignedIn,
            NONE,
            routing::get(list_tokens),
        ),
        route(
            M::POST,
            "/api/v1/tokens",
            "Make a personal access token (its secret is shown once)",
            SignedIn,
            &[("name", "string", true), ("expires_at", "string", false)],
            routing::post(create_token),
        ),
        route(
            M::DELETE,
            "/api/v1/tokens/{id}",
            "Revoke one of your tokens",
            SignedIn,
            NONE,
            routing::delete(revoke_token),
        ),
        route(
            M::POST,
            "/api/v1/invitations/{token}/accept",
            "Accept an invitation by setting a password",
            Public,
            &[("password", "string", true)],
            routing::post(accept_invitation),
        ),
        route(
            M::POST,
            "/api/v1/password-reset",
            "Ask for a password reset link by e-mail (the same answer for unknown addresses)",
            Public,
            &[("email", "string", true)],
            routing::post(request_password_reset),
        ),
        route(
            M::POST,
            "/api/v1/password-reset/{token}",
            "Set a new password with a reset link (once; ends every session)",
            Public,
            &[("password", "string", true)],
            routing::post(reset_password),
        ),
    ]
}
