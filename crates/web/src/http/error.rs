//! The API's error answer, `{"error": {"code", "message"[, "fields"]}}` (PRODUCT.md), made
//! in one `match` over `tenant_core::Error` without a catch-all arm. Internal causes go to
//! the log inside the request's span, never into the answer.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tenant_core::Error;

/// Everything a handler can answer instead of success.
#[derive(Debug)]
pub enum ApiError {
    /// A failure of the domain layer.
    Core(Error),
    /// Too many attempts; try again after this many seconds.
    RateLimited(u64),
    /// A body that is not the JSON the route takes.
    BadBody(String),
    /// The body is larger than the limit.
    TooLarge,
    /// A cookie-authenticated change without a same-origin `Origin` or `Referer`.
    CrossOrigin,
    /// The brand requires two-factor sign-in of staff and the caller has not set it up.
    TotpSetupRequired,
    /// The SMTP server did not take a test mail; the sentence says why.
    MailFailed(String),
    /// A payment provider could not be reached or refused; the sentence says why.
    ProviderFailed(String),
    /// A provider's webhook that is not genuine or not readable; the sentence says why.
    WebhookRefused(String),
    /// Something that cannot happen when the gateway set the request up (logged).
    Internal(&'static str),
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError::Core(error)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::BytesRejection(ref bytes)
                if bytes.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                ApiError::TooLarge
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::BadBody(
                "send the body as JSON with Content-Type: application/json".to_owned(),
            ),
            other => ApiError::BadBody(format!("the body is not valid: {}", other.body_text())),
        }
    }
}

/// How long a caller with too many live-update streams open is told to wait.
const STREAM_RETRY_SECONDS: u64 = 5;

fn answer(status: StatusCode, code: &str, message: &str, fields: Option<Value>) -> Response {
    let mut error = json!({"code": code, "message": message});
    if let Some(fields) = fields {
        error["fields"] = fields;
    }
    (status, Json(json!({ "error": error }))).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let core = match self {
            ApiError::Core(error) => error,
            ApiError::RateLimited(seconds) => {
                let mut response = answer(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "Too many attempts. Wait a moment and try again.",
                    None,
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
                return response;
            }
            ApiError::BadBody(message) => {
                return answer(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    &message,
                    Some(json!({})),
                );
            }
            ApiError::TooLarge => {
                return answer(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "The request body is too large.",
                    None,
                );
            }
            ApiError::Internal(what) => {
                tracing::error!(error = what, "request failed");
                return answer(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Something went wrong on our side. Please try again.",
                    None,
                );
            }
            ApiError::MailFailed(reason) => {
                return answer(
                    StatusCode::BAD_GATEWAY,
                    "mail_failed",
                    &format!("The test mail was not sent: {reason}"),
                    None,
                );
            }
            ApiError::ProviderFailed(reason) => {
                return answer(
                    StatusCode::BAD_GATEWAY,
                    "provider_failed",
                    &format!(
                        "The payment could not be started: {}. Nothing was charged; try again in a moment.",
                        reason.trim_end_matches('.')
                    ),
                    None,
                );
            }
            ApiError::WebhookRefused(reason) => {
                return answer(StatusCode::BAD_REQUEST, "webhook_refused", &reason, None);
            }
            ApiError::TotpSetupRequired => {
                return answer(
                    StatusCode::FORBIDDEN,
                    "totp_setup_required",
                    "This workspace requires two-factor sign-in: set it up first (POST /api/v1/me/totp).",
                    None,
                );
            }
            ApiError::CrossOrigin => {
                return answer(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "This change must come from a page of this site.",
                    None,
                );
            }
        };
        let message = core.to_string();
        match core {
            Error::Field { field, message } => answer(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                &sentence(&message),
                Some(json!({ field: sentence(&message) })),
            ),
            Error::Invalid(_) | Error::Name(_) => answer(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                &sentence(&message),
                Some(json!({})),
            ),
            Error::Unauthenticated(_) => {
                answer(StatusCode::UNAUTHORIZED, "unauthenticated", &message, None)
            }
            Error::SecondFactorRequired => {
                answer(StatusCode::UNAUTHORIZED, "totp_required", &message, None)
            }
            Error::Forbidden(_) => answer(
                StatusCode::FORBIDDEN,
                "forbidden",
                &sentence(&message),
                None,
            ),
            Error::NotFound(_) => answer(
                StatusCode::NOT_FOUND,
                "not_found",
                &sentence(&message),
                None,
            ),
            Error::Conflict(_) => {
                answer(StatusCode::CONFLICT, "conflict", &sentence(&message), None)
            }
            Error::NotLicensed(_) => answer(
                StatusCode::PAYMENT_REQUIRED,
                "read_only",
                "This workspace is read-only at the moment.",
                None,
            ),
            Error::Unavailable(_)
            | Error::DatabaseUnreachable { .. }
            | Error::StoreMissing(_)
            | Error::StoreUnusable(_) => unavailable(&message),
            Error::TooLarge(_) => answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                &sentence(&message),
                None,
            ),
            Error::QuotaExceeded(_) => answer(
                StatusCode::INSUFFICIENT_STORAGE,
                "quota_exceeded",
                &sentence(&message),
                None,
            ),
            Error::UnsupportedMediaType(_) => answer(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                &sentence(&message),
                None,
            ),
            Error::TooManyStreams(_) => {
                let mut response = answer(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    &sentence(&message),
                    None,
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(STREAM_RETRY_SECONDS));
                response
            }
            Error::Objects(_) => {
                // The file store, not the brand's store: nothing to reopen, so no
                // `StoreUnavailable` for the gateway.
                tracing::error!(error = %message, "file store failed");
                try_again_shortly()
            }
            Error::DatabaseUrl(_)
            | Error::StoreTooNew { .. }
            | Error::StoreBehind(_)
            | Error::Io { .. }
            | Error::Database(_)
            | Error::PasswordHash(_)
            | Error::Random(_) => {
                tracing::error!(error = %message, "request failed");
                answer(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Something went wrong on our side. Please try again.",
                    None,
                )
            }
        }
    }
}

/// The status a page answers `error` with: the same as the API's, listed without a
/// catch-all so a new kind of error must be placed.
pub(crate) fn status_of(error: &Error) -> StatusCode {
    match error {
        Error::Field { .. } | Error::Invalid(_) | Error::Name(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Error::Unauthenticated(_) | Error::SecondFactorRequired => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::NotLicensed(_) => StatusCode::PAYMENT_REQUIRED,
        Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Error::QuotaExceeded(_) => StatusCode::INSUFFICIENT_STORAGE,
        Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Error::Objects(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::TooManyStreams(_) => StatusCode::TOO_MANY_REQUESTS,
        Error::Unavailable(_)
        | Error::DatabaseUnreachable { .. }
        | Error::StoreMissing(_)
        | Error::StoreUnusable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::DatabaseUrl(_)
        | Error::StoreTooNew { .. }
        | Error::StoreBehind(_)
        | Error::Io { .. }
        | Error::Database(_)
        | Error::PasswordHash(_)
        | Error::Random(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    /// The sentence a page shows for this error (internal causes are logged, not shown).
    pub(crate) fn page_message(&self) -> String {
        const OUR_SIDE: &str = "Something went wrong on our side. Please try again.";
        match self {
            ApiError::Core(
                error @ (Error::DatabaseUrl(_)
                | Error::StoreTooNew { .. }
                | Error::StoreBehind(_)
                | Error::Io { .. }
                | Error::Database(_)
                | Error::PasswordHash(_)
                | Error::Random(_)),
            ) => {
                tracing::error!(%error, "page action failed");
                OUR_SIDE.to_owned()
            }
            ApiError::Core(
                error @ (Error::Unavailable(_)
                | Error::DatabaseUnreachable { .. }
                | Error::StoreMissing(_)
                | Error::StoreUnusable(_)),
            ) => {
                tracing::warn!(%error, "page action failed: store unavailable");
                UNAVAILABLE.to_owned()
            }
            ApiError::Core(error @ Error::Objects(_)) => {
                tracing::error!(%error, "page action failed: file store");
                UNAVAILABLE.to_owned()
            }
            ApiError::Core(Error::Field { message, .. }) => sentence(message),
            ApiError::Core(Error::NotLicensed(_)) => {
                "This workspace is read-only at the moment.".to_owned()
            }
            ApiError::Core(error) => sentence(&error.to_string()),
            ApiError::RateLimited(seconds) if *seconds <= 60 => {
                "Too many attempts. Wait a minute and try again.".to_owned()
            }
            ApiError::RateLimited(seconds) => format!(
                "Too many attempts. Wait {} minutes and try again.",
                seconds.div_ceil(60)
            ),
            ApiError::CrossOrigin => {
                "This form did not come from this site. Reload the page and try again.".to_owned()
            }
            ApiError::BadBody(message) | ApiError::MailFailed(message) => sentence(message),
            ApiError::TooLarge => "That is too large to send.".to_owned(),
            ApiError::ProviderFailed(reason) => format!(
                "The payment could not be started: {}. Nothing was charged; try again in a moment.",
                reason.trim_end_matches('.')
            ),
            ApiError::WebhookRefused(reason) => sentence(reason),
            ApiError::TotpSetupRequired => {
                "This workspace requires two-factor sign-in: set it up first.".to_owned()
            }
            ApiError::Internal(what) => {
                tracing::error!(error = what, "page action failed");
                OUR_SIDE.to_owned()
            }
        }
    }
}

/// What a caller is told while the brand's store cannot be used: nothing about the cause
/// (that is for the operator's log), only that trying again shortly should work.
pub const UNAVAILABLE: &str = "This site cannot be reached for a moment. Please try again shortly.";

/// Seconds a caller is asked to wait before trying again while a store is unavailable.
pub(crate) const RETRY_AFTER_SECONDS: u32 = 5;

/// The cause of a 503 answer, carried as a response extension to the gateway, which logs it
/// once per burst and brand (a failing store would otherwise log once per request).
#[derive(Debug, Clone)]
pub struct StoreUnavailable(pub String);

/// 503 with `Retry-After` in the PRODUCT.md error shape, its cause as [`StoreUnavailable`].
pub(crate) fn unavailable(cause: &str) -> Response {
    let mut response = try_again_shortly();
    response
        .extensions_mut()
        .insert(StoreUnavailable(cause.to_owned()));
    response
}

/// 503 with `Retry-After` in the PRODUCT.md error shape, saying nothing of the cause.
fn try_again_shortly() -> Response {
    let mut response = answer(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        UNAVAILABLE,
        None,
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    response
}

/// A message as a sentence: capital first letter, full stop at the end.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// The result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
