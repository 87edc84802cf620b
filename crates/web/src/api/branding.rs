//! `/api/v1/branding`: the brand's white-label look, and its logo and favicon.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, Path};
use serde_json::{Value, json};
use tenant_core::TenantContext;
use tenant_core::access::permissions::need;
use tenant_core::access::{Scope, permit};
use tenant_core::brand::branding::{self, Asset, Branding};

use super::caller::Caller;
use super::error::{ApiError, ApiResult};

/// `GET /api/v1/branding`: the look in effect (public: every page shows it).
#[tracing::instrument(skip_all)]
pub(crate) async fn look(Extension(context): Extension<TenantContext>) -> ApiResult<Json<Value>> {
    Ok(Json(branding::look(&context).await?.view()))
}

/// `PUT /api/v1/branding`: fields left out keep their value, `null` or `""` goes back to
/// the default.
#[tracing::instrument(skip_all)]
pub(crate) async fn set_look(
    caller: Caller,
    body: Result<Json<Value>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::SettingsManage>(&caller.principal, Scope::Brand)?;
    let Json(body) = body?;
    let Some(fields) = body.as_object() else {
        return Err(tenant_core::Error::field("body", "expected a JSON object").into());
    };
    let current = branding::branding(caller.tenant.store()).await?;
    let mut merged = serde_json::to_value(current).unwrap_or_else(|_| json!({}));
    for (key, value) in fields {
        merged[key] = value.clone();
    }
    let wanted: Branding = serde_json::from_value(merged)
        .map_err(|e| tenant_core::Error::field("body", e.to_string()))?;
    let look = branding::set_branding(&caller.tenant, &permit, wanted).await?;
    Ok(Json(look.view()))
}

fn asset(name: &str) -> ApiResult<Asset> {
    Asset::parse(name).ok_or(ApiError::Core(tenant_core::Error::NotFound(
        "There is no such image: use logo or favicon.".to_owned(),
    )))
}

/// `PUT /api/v1/branding/{asset}`: the image's bytes as the body (any image type is
/// recognised by its bytes).
#[tracing::instrument(skip_all)]
pub(crate) async fn set_image(
    caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::SettingsManage>(&caller.principal, Scope::Brand)?;
    let asset = asset(&name)?;
    branding::set_image(caller.tenant.store(), &permit, asset, &body).await?;
    Ok(Json(branding::look(&caller.tenant).await?.view()))
}

/// `DELETE /api/v1/branding/{asset}`.
#[tracing::instrument(skip_all)]
pub(crate) async fn remove_image(
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::SettingsManage>(&caller.principal, Scope::Brand)?;
    let asset = asset(&name)?;
    branding::remove_image(caller.tenant.store(), &permit, asset).await?;
    Ok(Json(branding::look(&caller.tenant).await?.view()))
}
