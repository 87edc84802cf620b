//! The security headers of every answer, set in one place: [`baseline`] for everything a
//! brand serves (the edge adds it to every answer, pages included), and the stricter
//! policy of pages in [`html_response`]. A header a page sets itself is never overwritten.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// What a page may load: its own scripts and images, inline styles (the brand's colours
/// and custom CSS), nothing from elsewhere; it may not be framed.
const PAGE_POLICY: &str = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What any other answer may do when a browser renders it.
const DEFAULT_POLICY: &str =
    "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/// The headers every answer carries: no sniffing, addresses not sent to other sites, a
/// content policy (unless the answer has its own), and HSTS when `hsts` (a certificate
/// browsers trust).
pub fn baseline(headers: &mut HeaderMap, hsts: bool) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("same-origin"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(DEFAULT_POLICY));
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
}

/// An HTML page: may not be framed or sniffed, loads nothing from elsewhere, is not cached.
pub(crate) fn html_response(status: StatusCode, html: String) -> Response {
    html_bytes_response(status, axum::body::Bytes::from(html))
}

/// [`html_response`] of bytes already made (a page kept by
/// [`tenant_core::TenantStore::remembered`]).
pub(crate) fn html_bytes_response(status: StatusCode, html: axum::body::Bytes) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    // Room for these and the baseline the edge adds, so the map is not grown twice.
    headers.reserve(8);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The rest of the baseline is added by the edge, to every answer.
    response
}

/// Kept bytes ([`tenant_core::TenantStore::remembered`]) as a response body, lent without
/// copying them.
pub(crate) fn kept(bytes: std::sync::Arc<Vec<u8>>) -> axum::body::Bytes {
    axum::body::Bytes::from_owner(Kept(bytes))
}

struct Kept(std::sync::Arc<Vec<u8>>);

impl AsRef<[u8]> for Kept {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
