//! A brand's HTTP surface: axum handlers, pages, static assets and the `/api/v1` JSON API.
//! It turns HTTP into `tenant-core` calls and back, for the one tenant whose context the
//! gateway put into the request's extensions, and knows nothing of TLS or of other tenants.
//! A request without a context (which the gateway never sends) gets a 500, not another
//! tenant's data.

// The OpenAPI document is one large `json!` literal.
#![recursion_limit = "256"]

pub mod api;
pub mod http;
pub mod ui;

use axum::extract::Extension;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use tenant_core::TenantContext;

pub use ui::layout::neutral_page;

pub use api::finance::pdf::invoice_attachment;
pub use api::{ClientConnection, PaymentLink, ProviderFuture, WebState};
pub use http::error::{StoreUnavailable, UNAVAILABLE as STORE_UNAVAILABLE};
pub use http::throttle::SignInLimits;

/// Whether a request is a file upload, whose body the edge bounds by
/// `limits.max_upload_bytes` and by time without bytes rather than by `max_body_bytes`
/// and one deadline: `POST /api/v1/projects/{id}/files` and the Files page's form.
pub fn is_upload(method: &axum::http::Method, path: &str) -> bool {
    if method != axum::http::Method::POST {
        return false;
    }
    let inner = path
        .strip_prefix("/api/v1/projects/")
        .or_else(|| path.strip_prefix("/projects/"));
    inner
        .and_then(|rest| rest.strip_suffix("/files"))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// The brand's router; the gateway mounts it behind routing, with the tenant's
/// [`TenantContext`] and a [`ClientConnection`] in each request's extensions.
pub fn router(state: WebState) -> Router {
    Router::new()
        .merge(ui::router().with_state(state.clone()))
        .merge(api::router(state))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

pub(crate) async fn brand_json(Extension(context): Extension<TenantContext>) -> Response {
    Json(serde_json::json!({
        "brand": context.tenant.brand,
        "domain": context.tenant.domain.as_str(),
        "read_only": context.read_only,
    }))
    .into_response()
}

async fn not_found(viewer: Result<ui::Viewer, Response>, uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": {"code": "not_found", "message": "There is nothing at this address."}})),
        )
            .into_response();
    }
    match viewer {
        Ok(viewer) => viewer.page_with_status(
            StatusCode::NOT_FOUND,
            "Not found",
            ui::layout::Section::Other,
            maud::html! {
                div.narrow { div.card {
                    h1 { "Not found" }
                    p { "There is nothing at this address." }
                    p { a href="/" { "Go to the start page" } }
                } }
            },
        ),
        Err(response) => response,
    }
}

/// A known address asked with a method it does not take. A page address that only takes
/// a form (an action such as `/users/{id}/reactivate`, opened again from the history or a
/// bookmark) leads to the page it belongs to; the API answers in its error shape.
async fn method_not_allowed(
    viewer: Result<ui::Viewer, Response>,
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            Json(serde_json::json!({"error": {"code": "method_not_allowed", "message": format!("{method} is not a method of this address.")}})),
        )
            .into_response();
    }
    if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
        let parent = match path.trim_end_matches('/').rsplit_once('/') {
            Some(("", _)) | None => "/",
            Some((parent, _)) => parent,
        };
        return axum::response::Redirect::to(parent).into_response();
    }
    match viewer {
        Ok(viewer) => viewer.page_with_status(
            StatusCode::METHOD_NOT_ALLOWED,
            "Not possible here",
            ui::layout::Section::Other,
            maud::html! {
                div.narrow { div.card {
                    h1 { "Not possible here" }
                    p { "This address does not take that kind of request." }
                    p { a href="/" { "Go to the start page" } }
                } }
            },
        ),
        Err(response) => response,
    }
}
