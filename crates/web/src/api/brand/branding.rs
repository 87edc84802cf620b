//! `/api/v1/branding`: the brand's white-label look, and its logo and favicon.

use crate::api::{Access, Route, route};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, Path};
use axum::routing;
use serde_json::{Value, json};
use tenant_core::TenantContext;
use tenant_core::access::permissions::need;
use tenant_core::access::{Scope, permit};
use tenant_core::brand::branding::{self, Asset, Branding};

use crate::http::caller::Caller;
use crate::http::error::{ApiError, ApiResult};

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

/// This module's routes of `/api/v1`.
pub(crate) fn routes() -> Vec<Route> {
    use Access::*;
    use axum::http::Method as M;
    use tenant_core::access::permissions::Permission as P;
    const NONE: &[(&str, &str, bool)] = &[];
    vec![
        route(
            M::GET,
            "/api/v1/branding",
            "The brand's look: name, colours, sign-in message, sender name, custom CSS, logo and favicon addresses",
            Public,
            NONE,
            routing::get(look),
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
                ("date_format", "string|null", false),
            ],
            routing::put(set_look),
        ),
        route(
            M::PUT,
            "/api/v1/branding/{asset}",
            "Upload the logo or favicon: the image file itself as the body (PNG, JPEG, GIF, WebP, ICO or SVG)",
            Permission(P::SettingsManage),
            NONE,
            routing::put(set_image),
        ),
        route(
            M::DELETE,
            "/api/v1/branding/{asset}",
            "Remove the logo or favicon",
            Permission(P::SettingsManage),
            NONE,
            routing::delete(remove_image),
        ),
    ]
}
