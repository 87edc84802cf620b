//! A brand's HTTP surface: axum handlers, pages, static assets and the `/api/v1` JSON API.
//! It turns HTTP into `tenant-core` calls and back, for the one tenant whose context the
//! gateway put into the request's extensions, and knows nothing of TLS or of other tenants.
//! A request without a context (which the gateway never sends) gets a 500, not another
//! tenant's data.

// The OpenAPI document is one large `json!` literal.
#![recursion_limit = "256"]

pub mod api;
pub mod http;
pub(crate) mod ui;

use axum::extract::Extension;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use tenant_core::TenantContext;

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub use api::{ClientConnection, WebState};
pub use http::error::{StoreUnavailable, UNAVAILABLE as STORE_UNAVAILABLE};
pub use http::throttle::SignInLimits;

/// The brand's router; the gateway mounts it behind routing, with the tenant's
/// [`TenantContext`] and a [`ClientConnection`] in each request's extensions.
pub fn router(state: WebState) -> Router {
    Router::new()
        .merge(ui::router().with_state(state.clone()))
        .merge(api::router(state))
        .fallback(not_found)
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
            "<div class=\"narrow\"><div class=\"card\"><h1>Not found</h1><p>There is nothing at this address.</p><p><a href=\"/\">Go to the start page</a></p></div></div>".to_owned(),
        ),
        Err(response) => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}
