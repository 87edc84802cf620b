//! A brand's HTTP surface: axum handlers, pages, static assets and the `/api/v1` JSON API.
//! It turns HTTP into `tenant-core` calls and back, for the one tenant whose context the
//! gateway put into the request's extensions, and knows nothing of TLS or of other tenants.
//! A request without a context (which the gateway never sends) gets a 500, not another
//! tenant's data.

// The OpenAPI document is one large `json!` literal.
#![recursion_limit = "256"]

pub mod api;

use axum::extract::Extension;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
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

/// A complete page in the brand's name.
fn page(brand: &str, body: &str) -> String {
    let brand = escape_html(brand);
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{brand}</title></head>\n<body><header><h1>{brand}</h1></header><main>{body}</main></body></html>\n"
    )
}

pub use api::{ClientConnection, WebState, throttle::SignInLimits};

/// The brand's router; the gateway mounts it behind routing, with the tenant's
/// [`TenantContext`] and a [`ClientConnection`] in each request's extensions.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(home))
        .merge(api::router(state))
        .fallback(not_found)
}

async fn home(Extension(context): Extension<TenantContext>) -> Html<String> {
    Html(page(
        &context.tenant.brand,
        "<p>Sign-in to this workspace is coming soon.</p>",
    ))
}

pub(crate) async fn brand_json(Extension(context): Extension<TenantContext>) -> Response {
    Json(serde_json::json!({
        "brand": context.tenant.brand,
        "domain": context.tenant.domain.as_str(),
        "read_only": context.read_only,
    }))
    .into_response()
}

async fn not_found(context: Option<Extension<TenantContext>>, uri: axum::http::Uri) -> Response {
    let Some(Extension(context)) = context else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if uri.path().starts_with("/api/") {
        return (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": {"code": "not_found", "message": "There is nothing at this address."}})),
        )
            .into_response();
    }
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page(
            &context.tenant.brand,
            "<p>There is nothing at this address.</p>",
        ),
    )
        .into_response()
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
