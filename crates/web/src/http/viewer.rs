//! Who is looking at a page: the brand, the connection and the signed-in user, for the
//! server-rendered pages. The API's counterpart is [`super::caller::Caller`].

// A refused page is a whole response, made once per request: boxing it gains nothing.
#![allow(clippy::result_large_err)]

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use tenant_core::TenantContext;
use tenant_core::access::permissions::Requirement;
use tenant_core::access::{Permitted, Principal, Scope, permit};
use tenant_core::accounts::sessions::{self, Presented};
use tenant_core::brand::branding::{self, Look};

use super::caller::{ClientConnection, check_origin, connection_of, session_cookie, tenant_of};
use super::csrf::{form_token, same_token};
use super::headers::html_response;
use crate::ui::forms;
use crate::ui::layout::{self, Page, Section};

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
    /// For a signed-in viewer: their unread notifications and the brand's newest event
    /// (where the page's live updates start).
    pub live: Option<(i64, i64)>,
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
        let live = match &principal {
            Some(principal) => {
                match tenant_core::talk::notifications::badge(tenant.store(), principal).await {
                    Ok(live) => Some(live),
                    Err(error) => {
                        // The page works without its bell and live updates.
                        tracing::error!(%error, "cannot count the viewer's notifications");
                        None
                    }
                }
            }
            None => None,
        };
        Ok(Viewer {
            live,
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
    pub(crate) fn page(&self, title: &str, section: Section, body: Markup) -> Response {
        self.page_with_status(StatusCode::OK, title, section, body)
    }

    pub(crate) fn page_with_status(
        &self,
        status: StatusCode,
        title: &str,
        section: Section,
        body: Markup,
    ) -> Response {
        html_response(status, self.render(title, section, body))
    }

    /// The HTML of a page in the brand's look.
    pub(crate) fn render(&self, title: &str, section: Section, body: Markup) -> String {
        // Licence notices are for the brand's admins only, never for staff, clients or
        // visitors.
        let licence = match (&self.principal, &self.connection.licence_notice) {
            (Some(principal), Some(text)) if principal.role_id() == "admin" => Some(text),
            _ => None,
        };
        let body = html! {
            @if let Some(text) = licence { (layout::notice(text, false)) }
            (body)
        };
        let html = layout::render(&Page {
            look: &self.look,
            title,
            section,
            viewer: self.principal.as_ref().map(|p| (p, self.token.as_str())),
            live: self.live.filter(|_| self.principal.is_some()),
            body,
        });
        html.into_string()
    }

    /// A confirmation step that works without JavaScript: `question`, what follows, the
    /// button that does it (posting to `action`) and a way back.
    pub(crate) fn confirm(
        &self,
        section: Section,
        question: &str,
        explanation: &str,
        action: &str,
        button: &str,
        back: &str,
    ) -> Response {
        let body = html! {
            section.card.confirm aria-labelledby="confirm" {
                h1 id="confirm" { (question) }
                p { (explanation) }
                form method="post" action=(action) {
                    (layout::csrf_field(&self.token))
                    div.actions {
                        button type="submit" { (button) }
                        a href=(back) { "Cancel" }
                    }
                }
            }
        };
        self.page(question, section, body)
    }

    /// The signed-in user, or a redirect to the sign-in page (saying why when a session
    /// ended).
    pub(crate) fn require(&self) -> Result<&Principal, Response> {
        match &self.principal {
            Some(principal)
                if principal.must_set_up_totp()
                    && !crate::http::caller::allowed_before_totp_setup(
                        &self.method,
                        &self.path,
                    ) =>
            {
                Err(Redirect::to("/profile").into_response())
            }
            Some(principal) => Ok(principal),
            None if self.ended => {
                // Forget the dead session, so the message is shown once.
                let mut response = Redirect::to("/sign-in?ended=1").into_response();
                if let Some(clear) = crate::api::accounts::sessions::session_cookie("", 0) {
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

    /// A submitted form of the signed-in user: who they are and the fields, once the form
    /// token and origin are checked.
    pub(crate) fn signed_in_form(
        &self,
        headers: &HeaderMap,
        form: Result<axum::Form<forms::Pairs>, axum::extract::rejection::FormRejection>,
    ) -> Result<(&Principal, forms::Pairs), Response> {
        let principal = self.require()?;
        let pairs = form.map(|axum::Form(pairs)| pairs).unwrap_or_default();
        self.check_form(headers, forms::field(&pairs, "csrf"))?;
        Ok((principal, pairs))
    }

    /// The page saying why `error` refused what was asked, with its status.
    pub(crate) fn refusal(
        &self,
        title: &str,
        section: Section,
        error: tenant_core::Error,
    ) -> Response {
        let status = crate::http::error::status_of(&error);
        let text = crate::http::error::ApiError::Core(error).page_message();
        self.page_with_status(status, title, section, layout::notice(&text, true))
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
pub(crate) fn store_failure(error: tenant_core::Error) -> Response {
    let (status, text) = match &error {
        tenant_core::Error::Unavailable(_)
        | tenant_core::Error::DatabaseUnreachable { .. }
        | tenant_core::Error::StoreMissing(_)
        | tenant_core::Error::StoreUnusable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            crate::http::error::UNAVAILABLE,
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
    let mut response = html_response(status, layout::neutral_page(title, text));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(crate::http::error::RETRY_AFTER_SECONDS),
        );
        response
            .extensions_mut()
            .insert(crate::http::error::StoreUnavailable(error.to_string()));
    }
    response
}
