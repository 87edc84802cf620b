//! Signing in (with a second factor when the account has one) and out.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use tenant_core::accounts::sessions;

use crate::api::WebState;
use crate::api::accounts::sessions::{session_cookie, sign_in_limited};
use crate::http::caller::{Visitor, check_origin};
use crate::http::error::ApiError;
use crate::http::headers::{html_bytes_response, kept};
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::layout::{Field, Section, notice};

/// The sign-in and sign-out routes.
pub(crate) fn routes() -> Pages {
    Pages::new()
        .route("/sign-in", "GET POST", get(sign_in_page).post(sign_in))
        .route("/sign-out", "POST", post(sign_out))
}

/// Who is at a page that needs no account (signing in, a link from a mail).
pub(crate) fn visitor(viewer: &Viewer) -> Visitor {
    Visitor {
        tenant: viewer.tenant.clone(),
        connection: viewer.connection.clone(),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct SignInQuery {
    #[serde(default)]
    ended: Option<String>,
    #[serde(default)]
    signed_out: Option<String>,
    #[serde(default)]
    password_set: Option<String>,
    /// The address to fill in (after a password was set with a link).
    #[serde(default)]
    email: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    totp: String,
}

fn sign_in_form(
    viewer: &Viewer,
    email: &str,
    message: Option<(&str, bool)>,
    ask_totp: bool,
) -> Markup {
    let email_field = Field::new("email", "E-mail")
        .kind("email")
        .value(email)
        .autocomplete("username")
        .required();
    let email_field = if email.is_empty() {
        email_field.autofocus()
    } else {
        email_field
    };
    let password = Field::new("password", "Password")
        .kind("password")
        .autocomplete("current-password")
        .required();
    let password = if email.is_empty() || ask_totp {
        password
    } else {
        password.autofocus()
    };
    html! {
        div.narrow { div.card {
            @if let Some(digest) = &viewer.look.logo {
                img.logo src={ "/branding/logo?v=" (digest) } alt=(viewer.look.name);
            }
            h1 { "Sign in to " (viewer.look.name) }
            @if let Some(text) = &viewer.look.sign_in_message { p { (text) } }
            @if let Some((text, error)) = message { (notice(text, error)) }
            form method="post" action="/sign-in" novalidate {
                (email_field)
                (password)
                @if ask_totp {
                    (Field::new("totp", "Code from your authenticator app (or a recovery code)")
                        .autocomplete("one-time-code").inputmode("numeric").autofocus())
                }
                div.actions {
                    button type="submit" { "Sign in" }
                    a href="/forgot-password" { "Forgot your password?" }
                }
            }
        } }
    }
}

/// `GET /sign-in`.
pub(crate) async fn sign_in_page(viewer: Viewer, Query(query): Query<SignInQuery>) -> Response {
    if viewer.principal.is_some() {
        return Redirect::to("/").into_response();
    }
    let plain = !viewer.ended
        && query.ended.is_none()
        && query.signed_out.is_none()
        && query.password_set.is_none()
        && query.email.is_none();
    if !plain {
        return sign_in_view(&viewer, Some(&query), None);
    }
    // The plain page is the same for every visitor of the brand: it is remembered until
    // the brand's data next changes.
    let page = viewer
        .tenant
        .store()
        .remembered("GET /sign-in".to_owned(), async || {
            let form = sign_in_form(&viewer, "", None, false);
            Ok(viewer.render("Sign in", Section::Other, form).into_bytes())
        })
        .await;
    match page {
        Ok(html) => html_bytes_response(StatusCode::OK, kept(html)),
        Err(_) => sign_in_view(&viewer, Some(&query), None),
    }
}

/// The sign-in page, saying why the visitor is here.
pub(crate) fn sign_in_view(
    viewer: &Viewer,
    query: Option<&SignInQuery>,
    email: Option<&str>,
) -> Response {
    let query = query.cloned().unwrap_or_default();
    let message = if query.ended.is_some() || viewer.ended {
        Some((
            "You have been signed out: your session ended or your access was changed. Sign in again; if your account was deactivated, ask your administrator.",
            true,
        ))
    } else if query.signed_out.is_some() {
        Some(("You are signed out.", false))
    } else if query.password_set.is_some() {
        Some(("Your password is set. Sign in with it.", false))
    } else {
        None
    };
    let email = email.or(query.email.as_deref()).unwrap_or("");
    viewer.page(
        "Sign in",
        Section::Other,
        sign_in_form(viewer, email, message, false),
    )
}

/// `POST /sign-in`.
pub(crate) async fn sign_in(
    State(state): State<WebState>,
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    if check_origin(&headers, &viewer.connection, false).is_err() {
        return viewer.page_with_status(
            StatusCode::FORBIDDEN,
            "Sign in",
            Section::Other,
            sign_in_form(
                &viewer,
                &form.email,
                Some((
                    "This form did not come from this site. Reload the page and try again.",
                    true,
                )),
                false,
            ),
        );
    }
    let totp = Some(form.totp.trim()).filter(|t| !t.is_empty());
    let outcome = sign_in_limited(
        &state,
        &visitor(&viewer),
        &headers,
        form.email.trim(),
        &form.password,
        totp,
    )
    .await;
    match outcome {
        Ok(signed_in) => {
            let mut response = Redirect::to("/").into_response();
            signed_in.set_cookies(&mut response);
            response
        }
        Err(ApiError::Core(tenant_core::Error::SecondFactorRequired)) => viewer.page(
            "Sign in",
            Section::Other,
            sign_in_form(
                &viewer,
                &form.email,
                Some((
                    "Your account uses two-factor sign-in: enter your password again with the code from your authenticator app.",
                    false,
                )),
                true,
            ),
        ),
        Err(error) => {
            let status = if matches!(error, ApiError::RateLimited(_)) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            viewer.page_with_status(
                status,
                "Sign in",
                Section::Other,
                sign_in_form(
                    &viewer,
                    &form.email,
                    Some((&error.page_message(), true)),
                    totp.is_some(),
                ),
            )
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct TokenForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /sign-out`.
pub(crate) async fn sign_out(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, Response> {
    let Some(principal) = &viewer.principal else {
        return Ok(Redirect::to("/sign-in").into_response());
    };
    let token = form.map(|Form(f)| f.csrf).unwrap_or_default();
    viewer.check_form(&headers, &token)?;
    if let Err(error) = sessions::sign_out(viewer.tenant.store(), principal).await {
        tracing::error!(%error, "sign-out failed");
    }
    let mut response = Redirect::to("/sign-in?signed_out=1").into_response();
    if let Some(cookie) = session_cookie("", 0) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}
