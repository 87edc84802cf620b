//! The web app: server-rendered pages in the brand's look, working without JavaScript.
//! A page is signed in by the same session cookie as the API; every form that changes
//! something carries a token derived from the session (and the request must come from the
//! site itself), and every action asks the same access policy as the API. Errors are
//! sentences shown where they happened, with what was typed kept.

// A refused page is a whole response, made once per request: boxing it gains nothing.
#![allow(clippy::result_large_err)]

mod admin_pages;
mod auth;
mod board;
mod brand_page;
mod clients;
mod forms;
mod home;
pub(crate) mod layout;
mod people;
mod profile;
mod projects_page;
mod roles_page;
mod settings_pages;

use axum::Router;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sha2::{Digest, Sha256};
use tenant_core::TenantContext;
use tenant_core::access::permissions::Requirement;
use tenant_core::access::{Permitted, Principal, Scope, permit};
use tenant_core::accounts::sessions::{self, Presented};
use tenant_core::brand::branding::{self, Asset, Look};

use crate::api::WebState;
use crate::api::caller::{
    ClientConnection, check_origin, connection_of, session_cookie, tenant_of,
};
use layout::{Page, Section};

/// The pages' routes.
pub(crate) fn router() -> Router<WebState> {
    Router::new()
        .route("/", get(home::home))
        .route("/sign-in", get(auth::sign_in_page).post(auth::sign_in))
        .route("/sign-out", post(auth::sign_out))
        .route(
            "/forgot-password",
            get(auth::forgot_page).post(auth::forgot),
        )
        .route("/reset/{token}", get(auth::reset_page).post(auth::reset))
        .route("/invite/{token}", get(auth::invite_page).post(auth::accept))
        .route("/users", get(people::list).post(people::add))
        .route("/users/{id}", get(people::show))
        .route("/users/{id}/{action}", post(people::act))
        .route("/clients", get(clients::list).post(clients::add))
        .route("/clients/{id}", get(clients::show).post(clients::edit))
        .route("/clients/{id}/contacts", post(clients::add_contact))
        .route("/clients/{id}/contacts/{user}", post(clients::switches))
        .route(
            "/projects",
            get(projects_page::list).post(projects_page::create),
        )
        .route("/projects/{id}", get(projects_page::show))
        .route("/projects/{id}/tasks/{task_id}", get(board::show))
        .route("/projects/{id}/{*rest}", post(projects_page::act))
        .route("/roles", get(roles_page::list).post(roles_page::create))
        .route("/roles/{id}", post(roles_page::update))
        .route("/roles/{id}/delete", post(roles_page::remove))
        .route(
            "/teams",
            get(admin_pages::teams_page).post(admin_pages::teams_action),
        )
        .route("/teams/{*rest}", post(admin_pages::teams_action))
        .route("/audit", get(admin_pages::audit_page))
        .route("/access-review", get(admin_pages::review_page))
        .route("/profile", get(profile::page))
        .route("/profile/{action}", post(profile::post_action))
        .route("/profile/{kind}/{id}", post(profile::post_item))
        .route("/settings", get(settings_pages::index))
        .route(
            "/settings/email",
            get(settings_pages::email).post(settings_pages::save_email),
        )
        .route(
            "/settings/payments",
            get(settings_pages::payments).post(settings_pages::save_payments),
        )
        .route(
            "/settings/security",
            get(settings_pages::security).post(settings_pages::save_security),
        )
        .route(
            "/settings/branding",
            get(brand_page::page).post(brand_page::save),
        )
        .route("/branding/{asset}", get(image))
}

/// The form token of a session: a digest of the session's secret, so only a page of this
/// session can know it.
pub(crate) fn form_token(session: &str) -> String {
    let digest = Sha256::digest(format!("form-token\n{session}").as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time comparison of two tokens.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Who is looking at a page: the brand, the connection, and the signed-in user if the
/// session cookie is valid (`ended` when a cookie was sent but its session is gone).
#[derive(Debug)]
pub(crate) struct Viewer {
    pub tenant: TenantContext,
    pub connection: ClientConnection,
    pub principal: Option<Principal>,
    /// The form token of the session, when signed in.
    pub token: String,
    /// A session cookie came with the request but no longer signs anyone in.
    pub ended: bool,
    pub look: Look,
    /// The request's path (a staff member who must set up two-factor sign-in may only
    /// reach their profile).
    pub path: String,
    /// The request's method (with `path`, what a staff member who must set up two-factor
    /// sign-in may do).
    pub method: axum::http::Method,
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let tenant = tenant_of(parts).map_err(IntoResponse::into_response)?;
        let connection = connection_of(parts);
        let look = branding::look(&tenant).await.map_err(store_failure)?;
        let cookie = session_cookie(&parts.headers).map(str::to_owned);
        let (principal, ended) = match &cookie {
            Some(cookie) => {
                let address = connection.address.to_string();
                match sessions::authenticate(tenant.store(), Presented::Session(cookie), &address)
                    .await
                {
                    Ok(principal) => (Some(principal), false),
                    // Only a session that is really gone signs the viewer out: a store
                    // that cannot be read now says nothing about the session.
                    Err(tenant_core::Error::Unauthenticated(_)) => (None, true),
                    Err(error) => return Err(store_failure(error)),
                }
            }
            None => (None, false),
        };
        let token = cookie.as_deref().map(form_token).unwrap_or_default();
        Ok(Viewer {
            tenant,
            connection,
            principal,
            token,
            ended,
            look,
            path: parts.uri.path().to_owned(),
            method: parts.method.clone(),
        })
    }
}

impl Viewer {
    /// A page in the brand's look.
    pub(crate) fn page(&self, title: &str, section: Section, body: String) -> Response {
        self.page_with_status(StatusCode::OK, title, section, body)
    }

    pub(crate) fn page_with_status(
        &self,
        status: StatusCode,
        title: &str,
        section: Section,
        body: String,
    ) -> Response {
        // Licence notices are for the brand's admins only, never for staff, clients or
        // visitors.
        let body = match (&self.principal, &self.connection.licence_notice) {
            (Some(principal), Some(text)) if principal.role_id() == "admin" => {
                format!("{}{body}", layout::notice(text, false))
            }
            _ => body,
        };
        let html = layout::render(&Page {
            look: &self.look,
            title,
            section,
            viewer: self.principal.as_ref().map(|p| (p, self.token.as_str())),
            body,
        });
        html_response(status, html)
    }

    /// The signed-in user, or a redirect to the sign-in page (saying why when a session
    /// ended).
    pub(crate) fn require(&self) -> Result<&Principal, Response> {
        match &self.principal {
            Some(principal)
                if principal.must_set_up_totp()
                    && !crate::api::caller::allowed_before_totp_setup(&self.method, &self.path) =>
            {
                Err(Redirect::to("/profile").into_response())
            }
            Some(principal) => Ok(principal),
            None if self.ended => {
                // Forget the dead session, so the message is shown once.
                let mut response = Redirect::to("/sign-in?ended=1").into_response();
                if let Some(clear) = crate::api::session::session_cookie("", 0) {
                    response.headers_mut().insert(header::SET_COOKIE, clear);
                }
                Err(response)
            }
            None => Err(Redirect::to("/sign-in").into_response()),
        }
    }

    /// The signed-in user's permit for `R`: a redirect to sign-in when signed out, the
    /// "not allowed" page when their role lacks it.
    pub(crate) fn permit<R: Requirement>(&self) -> Result<Permitted<'_, R>, Response> {
        let principal = self.require()?;
        permit::<R>(principal, Scope::Brand).map_err(|_| self.forbidden())
    }

    /// A submitted form of a signed-in user whose role allows `R`: the permit and the
    /// fields, once the form token and origin are checked.
    pub(crate) fn submitted<R: Requirement>(
        &self,
        headers: &HeaderMap,
        form: Result<axum::Form<forms::Pairs>, axum::extract::rejection::FormRejection>,
    ) -> Result<(Permitted<'_, R>, forms::Pairs), Response> {
        let permit = self.permit::<R>()?;
        let pairs = form.map(|axum::Form(pairs)| pairs).unwrap_or_default();
        self.check_form(headers, forms::field(&pairs, "csrf"))?;
        Ok((permit, pairs))
    }

    /// Checks a form submission of a signed-in user: same-site request and the session's
    /// form token.
    pub(crate) fn check_form(&self, headers: &HeaderMap, token: &str) -> Result<(), Response> {
        let fine = check_origin(headers, &self.connection, true).is_ok()
            && !self.token.is_empty()
            && same_token(token, &self.token);
        if fine {
            Ok(())
        } else {
            Err(self.page_with_status(
                StatusCode::FORBIDDEN,
                "Form expired",
                Section::Other,
                layout::notice(
                    "This form has expired or did not come from this site. Go back, reload the page and try again.",
                    true,
                ),
            ))
        }
    }

    /// The page for something the viewer's role does not allow.
    pub(crate) fn forbidden(&self) -> Response {
        self.page_with_status(
            StatusCode::FORBIDDEN,
            "Not allowed",
            Section::Other,
            layout::notice(
                "Your role does not allow this. Ask an administrator if you need it.",
                true,
            ),
        )
    }
}

/// The answer to a page request whose brand store failed before the page could be made:
/// a brand-neutral 503 page with `Retry-After` while the store is unavailable (the
/// cause goes to the gateway, which logs it once per burst), a 500 page otherwise.
fn store_failure(error: tenant_core::Error) -> Response {
    let (status, text) = match &error {
        tenant_core::Error::Unavailable(_)
        | tenant_core::Error::DatabaseUnreachable { .. }
        | tenant_core::Error::StoreMissing(_)
        | tenant_core::Error::StoreUnusable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            crate::api::error::UNAVAILABLE,
        ),
        _ => {
            tracing::error!(%error, "cannot make the page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side. Please try again.",
            )
        }
    };
    let title = status.canonical_reason().unwrap_or("Error");
    let mut response = html_response(
        status,
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body><h1>{title}</h1><p>{text}</p></body></html>\n"
        ),
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(crate::api::error::RETRY_AFTER_SECONDS),
        );
        response
            .extensions_mut()
            .insert(crate::api::error::StoreUnavailable(error.to_string()));
    }
    response
}

/// An HTML answer that may not be framed or sniffed, and loads nothing from elsewhere.
pub(crate) fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /branding/{asset}`: the logo or favicon, for anyone (the sign-in page shows them).
/// An SVG cannot run anything: it is served sandboxed.
async fn image(
    axum::extract::Extension(context): axum::extract::Extension<TenantContext>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(asset) = Asset::parse(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (image, bytes) = match branding::image(context.store(), asset).await {
        Ok(Some(found)) => found,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(error) => return store_failure(error),
    };
    let etag = format!("\"{}\"", image.digest);
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut response = bytes.into_response();
    let out = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&image.content_type) {
        out.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, value);
    }
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
