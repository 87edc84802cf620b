//! `/api/v1/settings/…`: a brand's settings, for holders of `settings.manage`.

use crate::api::{Access, Route, route};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::routing;
use serde::Deserialize;
use serde_json::{Value, json};
use tenant_core::access::permissions::need;
use tenant_core::access::{Scope, permit};
use tenant_core::brand::settings::{
    self, EmailChange, EmailSettings, GatewayChange, PasswordChange, Security, SmtpTls,
};
use tenant_core::names::Email;

use crate::api::WebState;
use crate::api::views::double_option;
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ApiResult};

fn security_view(security: Security) -> Value {
    json!({"require_totp_for_staff": security.require_totp_for_staff})
}

/// `GET /api/v1/settings/security`.
#[tracing::instrument(skip_all)]
pub(crate) async fn security(caller: Caller) -> ApiResult<Json<Value>> {
    let permit = permit::<need::SettingsManage>(&caller.principal, Scope::Brand)?;
    let security = settings::security(caller.tenant.store(), &permit).await?;
    Ok(Json(security_view(security)))
}

/// `PUT /api/v1/settings/security`: fields left out keep their value.
#[tracing::instrument(skip_all)]
pub(crate) async fn set_security(
    caller: Caller,
    body: Result<Json<Value>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::SettingsManage>(&caller.principal, Scope::Brand)?;
    let Json(body) = body?;
    let current = settings::security(caller.tenant.store(), &permit).await?;
    let mut merged = serde_json::to_value(current).unwrap_or_else(|_| json!({}));
    let Some(fields) = body.as_object() else {
        return Err(tenant_core::Error::field("body", "expected a JSON object").into());
    };
    for (key, value) in fields {
        merged[key] = value.clone();
    }
    let wanted: Security = serde_json::from_value(merged)
        .map_err(|e| tenant_core::Error::field("body", e.to_string()))?;
    let security = settings::set_security(caller.tenant.store(), &permit, wanted).await?;
    Ok(Json(security_view(security)))
}

/// The e-mail settings answer: the brand's own, or where its mail goes otherwise.
fn email_view(caller: &Caller, custom: Option<&EmailSettings>) -> Value {
    let mut view = match custom {
        Some(settings) => settings.public_view(),
        None => json!({
            "host": null, "port": null, "tls": null, "username": null,
            "password_set": false, "from_name": null, "from_address": null,
        }),
    };
    view["custom"] = json!(custom.is_some());
    view["platform_default"] = json!(caller.connection.mail);
    view
}

/// `GET /api/v1/settings/email`.
#[tracing::instrument(skip_all)]
pub(crate) async fn email(caller: Caller) -> ApiResult<Json<Value>> {
    let permit = permit::<need::SettingsManage>(&caller.principal, Scope::Brand)?;
    let custom = settings::email(caller.tenant.store(), &permit).await?;
    Ok(Json(email_view(&caller, custom.as_ref())))
}

/// The body of `PUT /api/v1/settings/email`. `password`: a string sets it, `null` removes
/// it, leaving it out keeps the stored one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmailBody {
    host: String,
    #[serde(default)]
    port: Option<u16>,
    tls: SmtpTls,
    #[serde(default)]
    username: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    password: Option<Option<String>>,
    #[serde(default)]
    from_name: Option<String>,
    from_address: String,
}

/// `PUT /api/v1/settings/email`.
#[tracing::instrument(skip_all)]
pub(crate) async fn set_email(
    State(state): State<WebState>,
    caller: Caller,
    body: Result<Json<EmailBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::SettingsManage>(&caller.principal, Scope::Brand)?;
    let Json(body) = body?;
    let change = EmailChange {
        host: body.host,
        port: body.port,
        tls: body.tls,
        username: body.username,
        password: match body.password {
            None => PasswordChange::Keep,
            Some(None) => PasswordChange::Clear,
            Some(Some(password)) => PasswordChange::Set(password),
        },
        from_name: body.from_name,
        from_address: body.from_address,
    };
    let saved = settings::set_email(
        caller.tenant.store(),
        &permit,
        state.postmaster.key(),
        change,
    )
    .await?;
    Ok(Json(email_view(&caller, Some(&saved))))
}

/// `DELETE /api/v1/settings/email`.
#[tracing::instrument(skip_all)]
pub(crate) async fn clear_email(caller: Caller) -> ApiResult<Json<Value>> {
    let permit = permit::<need::SettingsManage>(&caller.principal, Scope::Brand)?;
    settings::clear_email(caller.tenant.store(), &permit).await?;
    Ok(Json(email_view(&caller, None)))
}

/// The body of `POST /api/v1/settings/email/test`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TestBody {
    #[serde(default)]
    to: Option<String>,
}

/// `POST /api/v1/settings/email/test`: sends a test mail now and reports the SMTP server's
/// answer: 200 when it took the mail, 502 `mail_failed` with its reason otherwise.
#[tracing::instrument(skip_all)]
pub(crate) async fn test_email(
    State(state): State<WebState>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    permit::<need::SettingsManage>(&caller.principal, Scope::Brand)?;
    // The body is optional: none (or an empty one) sends to the caller.
    let body: TestBody = if body.iter().all(u8::is_ascii_whitespace) {
        TestBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadBody(format!("the body is not valid: {e}")))?
    };
    let to = match body.to {
        Some(to) => Email::parse(&to)
            .map_err(|e| tenant_core::Error::field("to", e.to_string()))?
            .as_str()
            .to_owned(),
        None => caller.principal.email().to_owned(),
    };
    let sent = state
        .postmaster
        .send_test(&caller.tenant, &caller.connection.base, &to)
        .await
        .map_err(ApiError::MailFailed)?;
    Ok(Json(json!({
        "sent": true,
        "to": to,
        "via": sent.via,
        "server": sent.server,
        "message": format!("A test mail to {to} was accepted by {}.", sent.server),
    })))
}

/// `GET /api/v1/settings/payments`: every gateway, secret keys masked.
#[tracing::instrument(skip_all)]
pub(crate) async fn payments(
    State(state): State<WebState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::PaymentsSettings>(&caller.principal, Scope::Brand)?;
    let current = settings::payments(caller.tenant.store(), &permit).await?;
    Ok(Json(current.view(state.postmaster.key())))
}

/// One gateway in `PUT /api/v1/settings/payments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GatewayBody {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    public_key: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    secret_key: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    webhook_secret: Option<Option<String>>,
}

/// The body of `PUT /api/v1/settings/payments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PaymentsBody {
    gateways: std::collections::BTreeMap<String, GatewayBody>,
}

/// `PUT /api/v1/settings/payments`: per gateway, fields left out keep their value and
/// `null` clears them; secret keys are sealed at rest and never shown again in full.
#[tracing::instrument(skip_all)]
pub(crate) async fn set_payments(
    State(state): State<WebState>,
    caller: Caller,
    body: Result<Json<PaymentsBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::PaymentsSettings>(&caller.principal, Scope::Brand)?;
    let Json(body) = body?;
    let changes = body
        .gateways
        .into_iter()
        .map(|(name, g)| {
            (
                name,
                GatewayChange {
                    enabled: g.enabled,
                    public_key: g.public_key,
                    secret_key: g.secret_key,
                    webhook_secret: g.webhook_secret,
                },
            )
        })
        .collect();
    let saved = settings::set_payments(
        caller.tenant.store(),
        &permit,
        state.postmaster.key(),
        changes,
    )
    .await?;
    Ok(Json(saved.view(state.postmaster.key())))
}

/// This module's routes of `/api/v1`.
pub(crate) fn routes() -> Vec<Route> {
    use Access::*;
    use axum::http::Method as M;
    use tenant_core::access::permissions::Permission as P;
    const NONE: &[(&str, &str, bool)] = &[];
    vec![
        route(
            M::GET,
            "/api/v1/settings/security",
            "The security settings (require two-factor sign-in for staff)",
            Permission(P::SettingsManage),
            NONE,
            routing::get(security),
        ),
        route(
            M::PUT,
            "/api/v1/settings/security",
            "Change the security settings",
            Permission(P::SettingsManage),
            &[("require_totp_for_staff", "boolean", false)],
            routing::put(set_security),
        ),
        route(
            M::GET,
            "/api/v1/settings/payments",
            "The payment gateways with their public keys and masked secret keys",
            Permission(P::PaymentsSettings),
            NONE,
            routing::get(payments),
        ),
        route(
            M::PUT,
            "/api/v1/settings/payments",
            "Change payment gateways: {\"gateways\": {\"stripe\": {\"enabled\", \"public_key\", \"secret_key\"}}} (left out keeps, null clears)",
            Permission(P::PaymentsSettings),
            &[("gateways", "object", true)],
            routing::put(set_payments),
        ),
        route(
            M::GET,
            "/api/v1/settings/email",
            "The brand's own SMTP server and sender (the password is never shown)",
            Permission(P::SettingsManage),
            NONE,
            routing::get(email),
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
            routing::put(set_email),
        ),
        route(
            M::DELETE,
            "/api/v1/settings/email",
            "Remove the brand's own SMTP server: its mail goes through the platform's again",
            Permission(P::SettingsManage),
            NONE,
            routing::delete(clear_email),
        ),
        route(
            M::POST,
            "/api/v1/settings/email/test",
            "Send a test mail now (to the caller, or to `to`) and say whether the SMTP server took it",
            Permission(P::SettingsManage),
            &[("to", "string", false)],
            routing::post(test_email),
        ),
    ]
}
