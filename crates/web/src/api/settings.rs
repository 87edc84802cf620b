//! `/api/v1/settings/…`: a brand's settings, for holders of `settings.manage`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use serde_json::{Value, json};
use tenant_core::access::{Scope, permit};
use tenant_core::permissions::need;
use tenant_core::settings::{self, Security};

use super::caller::Caller;
use super::error::ApiResult;

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
