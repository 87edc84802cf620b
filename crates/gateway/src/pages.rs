//! The pages and JSON errors the edge answers with before a request reaches a brand. They
//! are brand-neutral: they name no tenant and no vendor, since the visitor may be anyone.

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};

/// A refusal with PRODUCT.md's JSON error shape for API paths and a plain page otherwise.
pub fn refusal(status: StatusCode, code: &str, message: &str, api: bool) -> Response<Body> {
    let (content_type, body) = if api {
        (
            "application/json",
            serde_json::json!({"error": {"code": code, "message": message}}).to_string(),
        )
    } else {
        let title = status.canonical_reason().unwrap_or("Error");
        (
            "text/html; charset=utf-8",
            web::neutral_page(title, message),
        )
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// 421: the host is not served here (or does not match the TLS name).
pub fn misdirected(api: bool) -> Response<Body> {
    refusal(
        StatusCode::MISDIRECTED_REQUEST,
        "misdirected_request",
        "This server does not serve the site you asked for. Check the address.",
        api,
    )
}

/// 400: the request's `Host` fields are missing, repeated or malformed (RFC 9112 §3.2).
pub fn bad_host(api: bool) -> Response<Body> {
    refusal(
        StatusCode::BAD_REQUEST,
        "bad_request",
        "The request's Host header is missing, repeated or not a host name.",
        api,
    )
}

/// 403: the domain exists but is not licensed (suspended).
pub fn not_licensed(api: bool) -> Response<Body> {
    refusal(
        StatusCode::FORBIDDEN,
        "domain_not_licensed",
        "This site is not available at the moment. Its administrator has been told why.",
        api,
    )
}

/// 402: every brand is read-only (the licence has expired).
pub fn read_only(api: bool) -> Response<Body> {
    refusal(
        StatusCode::PAYMENT_REQUIRED,
        "read_only",
        "This site is read-only at the moment: you can sign in, view and download, but changes cannot be saved. Its administrator has been told why.",
        api,
    )
}

/// 413: the body is larger than allowed.
pub fn too_large(api: bool) -> Response<Body> {
    refusal(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        "The request is larger than this site accepts.",
        api,
    )
}

/// 503: the request took too long, or the brand's store cannot be used right now.
pub fn unavailable(api: bool, message: &str) -> Response<Body> {
    let mut response = refusal(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message, api);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}
