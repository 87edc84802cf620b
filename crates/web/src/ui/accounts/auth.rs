//! Signing in (with a second factor when the account has one) and out, the forgotten
//! password, and the set-password pages that invitation and reset links open.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tenant_core::accounts::invitations;
use tenant_core::accounts::password_reset;
use tenant_core::accounts::sessions;

use crate::api::WebState;
use crate::api::accounts::sessions::{
    RESET_REQUESTED, request_reset_limited, session_cookie, sign_in_limited,
};
use crate::escape_html as e;
use crate::http::caller::{Visitor, check_origin};
use crate::http::error::ApiError;
use crate::ui::Viewer;
use crate::ui::layout::{Section, input, notice};

/// What a failed call tells the person at the page.
pub(crate) fn sentence(error: &ApiError) -> String {
    error.page_message()
}

fn visitor(viewer: &Viewer) -> Visitor {
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
) -> String {
    let mut body = String::from("<div class=\"narrow\"><div class=\"card\">");
    if let Some(digest) = &viewer.look.logo {
        body.push_str(&format!(
            "<img class=\"logo\" src=\"/branding/logo?v={}\" alt=\"{}\">",
            e(digest),
            e(&viewer.look.name)
        ));
    }
    body.push_str(&format!("<h1>Sign in to {}</h1>", e(&viewer.look.name)));
    if let Some(text) = &viewer.look.sign_in_message {
        body.push_str(&format!("<p>{}</p>", e(text)));
    }
    if let Some((text, error)) = message {
        body.push_str(&notice(text, error));
    }
    body.push_str("<form method=\"post\" action=\"/sign-in\" novalidate>");
    body.push_str(&input(
        "email",
        "E-mail",
        "email",
        email,
        None,
        "autocomplete=\"username\" required",
    ));
    body.push_str(&input(
        "password",
        "Password",
        "password",
        "",
        None,
        "autocomplete=\"current-password\" required",
    ));
    if ask_totp {
        body.push_str(&input(
            "totp",
            "Code from your authenticator app (or a recovery code)",
            "text",
            "",
            None,
            "autocomplete=\"one-time-code\" inputmode=\"numeric\" autofocus",
        ));
    }
    body.push_str("<div class=\"actions\"><button type=\"submit\">Sign in</button><a href=\"/forgot-password\">Forgot your password?</a></div></form></div></div>");
    body
}

/// `GET /sign-in`.
pub(crate) async fn sign_in_page(viewer: Viewer, Query(query): Query<SignInQuery>) -> Response {
    if viewer.principal.is_some() {
        return Redirect::to("/").into_response();
    }
    sign_in_view(&viewer, Some(&query))
}

/// The sign-in page, saying why the visitor is here.
pub(crate) fn sign_in_view(viewer: &Viewer, query: Option<&SignInQuery>) -> Response {
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
    viewer.page(
        "Sign in",
        Section::Other,
        sign_in_form(viewer, "", message, false),
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
    match sign_in_limited(&state, &visitor(&viewer), &headers, form.email.trim(), &form.password, totp).await {
        Ok(signed_in) => {
            let mut response = Redirect::to("/").into_response();
            signed_in.set_cookies(&mut response);
            response
        }
        Err(ApiError::Core(tenant_core::Error::SecondFactorRequired)) => viewer.page(
            "Sign in",
            Section::Other,
            sign_in_form(&viewer, &form.email, Some(("Your account uses two-factor sign-in: enter your password again with the code from your authenticator app.", false)), true),
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
                sign_in_form(&viewer, &form.email, Some((&sentence(&error), true)), totp.is_some()),
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
) -> Response {
    let Some(principal) = &viewer.principal else {
        return Redirect::to("/sign-in").into_response();
    };
    let token = form.map(|Form(f)| f.csrf).unwrap_or_default();
    if let Err(refused) = viewer.check_form(&headers, &token) {
        return refused;
    }
    if let Err(error) = sessions::sign_out(viewer.tenant.store(), principal).await {
        tracing::error!(%error, "sign-out failed");
    }
    let mut response = Redirect::to("/sign-in?signed_out=1").into_response();
    if let Some(cookie) = session_cookie("", 0) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct EmailForm {
    #[serde(default)]
    email: String,
}

fn forgot_form(email: &str, error: Option<&str>, done: bool) -> String {
    let mut body =
        String::from("<div class=\"narrow\"><div class=\"card\"><h1>Forgot your password?</h1>");
    if done {
        body.push_str(&notice(RESET_REQUESTED, false));
    } else {
        body.push_str("<p>Enter the e-mail address you sign in with, and we will send you a link to set a new password.</p>");
    }
    body.push_str("<form method=\"post\" action=\"/forgot-password\" novalidate>");
    body.push_str(&input(
        "email",
        "E-mail",
        "email",
        email,
        error,
        "autocomplete=\"username\" required",
    ));
    body.push_str("<div class=\"actions\"><button type=\"submit\">Send the link</button><a href=\"/sign-in\">Back to sign-in</a></div></form></div></div>");
    body
}

/// `GET /forgot-password`.
pub(crate) async fn forgot_page(viewer: Viewer) -> Response {
    viewer.page(
        "Forgot your password?",
        Section::Other,
        forgot_form("", None, false),
    )
}

/// `POST /forgot-password`.
pub(crate) async fn forgot(
    State(state): State<WebState>,
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<EmailForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let outcome = match check_origin(&headers, &viewer.connection, false) {
        Ok(()) => request_reset_limited(&state, &visitor(&viewer), form.email.trim()).await,
        Err(refused) => Err(refused),
    };
    match outcome {
        Ok(()) => viewer.page(
            "Forgot your password?",
            Section::Other,
            forgot_form(&form.email, None, true),
        ),
        Err(error) => viewer.page_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Forgot your password?",
            Section::Other,
            forgot_form(&form.email, Some(&sentence(&error)), false),
        ),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// The set-password form of an invitation or reset link.
fn password_form(
    viewer: &Viewer,
    action: &str,
    heading: &str,
    lead: &str,
    error: Option<&str>,
) -> String {
    format!(
        "<div class=\"narrow\"><div class=\"card\"><h1>{}</h1><p>{}</p><form method=\"post\" action=\"{}\" novalidate>{}{}<p class=\"hint\">At least 10 characters; a few unrelated words make a good password.</p><div class=\"actions\"><button type=\"submit\">Set password</button></div></form></div></div>",
        e(heading),
        e(lead),
        e(action),
        input("password", "New password", "password", "", error, "autocomplete=\"new-password\" required minlength=\"10\""),
        input("confirm", "New password again", "password", "", None, "autocomplete=\"new-password\" required"),
    )
    .replace("{brand}", &e(&viewer.look.name))
}

async fn set_password(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<PasswordForm>, FormRejection>,
    token: String,
    invitation: bool,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let (action, heading, lead) = if invitation {
        (
            format!("/invite/{token}"),
            "Welcome",
            format!("Choose a password to join {}.", viewer.look.name),
        )
    } else {
        (
            format!("/reset/{token}"),
            "Set a new password",
            "Choose a new password. You will be signed out everywhere else.".to_owned(),
        )
    };
    let refuse = |viewer: &Viewer, message: String| {
        viewer.page_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            heading,
            Section::Other,
            password_form(viewer, &action, heading, &lead, Some(&message)),
        )
    };
    if check_origin(&headers, &viewer.connection, true).is_err() {
        return refuse(
            &viewer,
            "This form did not come from this site. Reload the page and try again.".to_owned(),
        );
    }
    if form.password != form.confirm {
        return refuse(&viewer, "The two passwords are not the same.".to_owned());
    }
    let store = viewer.tenant.store();
    let outcome = if invitation {
        invitations::accept_invitation(store, &token, &form.password).await
    } else {
        password_reset::reset_password(store, &token, &form.password).await
    };
    match outcome {
        Ok(_) => Redirect::to("/sign-in?password_set=1").into_response(),
        Err(error) => refuse(&viewer, sentence(&ApiError::Core(error))),
    }
}

/// `GET /invite/{token}`.
pub(crate) async fn invite_page(viewer: Viewer, Path(token): Path<String>) -> Response {
    let lead = format!("Choose a password to join {}.", viewer.look.name);
    let body = password_form(&viewer, &format!("/invite/{token}"), "Welcome", &lead, None);
    viewer.page("Welcome", Section::Other, body)
}

/// `POST /invite/{token}`.
pub(crate) async fn accept(
    viewer: Viewer,
    headers: HeaderMap,
    Path(token): Path<String>,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Response {
    set_password(viewer, headers, form, token, true).await
}

/// `GET /reset/{token}`.
pub(crate) async fn reset_page(viewer: Viewer, Path(token): Path<String>) -> Response {
    let body = password_form(
        &viewer,
        &format!("/reset/{token}"),
        "Set a new password",
        "Choose a new password. You will be signed out everywhere else.",
        None,
    );
    viewer.page("Set a new password", Section::Other, body)
}

/// `POST /reset/{token}`.
pub(crate) async fn reset(
    viewer: Viewer,
    headers: HeaderMap,
    Path(token): Path<String>,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Response {
    set_password(viewer, headers, form, token, false).await
}
