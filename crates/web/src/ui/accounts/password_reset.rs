//! The forgotten password: asking for a reset link, and the set-password page the link
//! opens. The set-password form is shared with invitations.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;
use tenant_core::accounts::password_reset;
use tenant_core::accounts::users::User;
use tenant_core::names::percent_encode;

use crate::api::WebState;
use crate::api::accounts::sessions::{RESET_REQUESTED, request_reset_limited};
use crate::http::caller::{check_origin, mail_set_up};
use crate::http::error::ApiError;
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::accounts::sessions::visitor;
use crate::ui::layout::{Field, Section, notice};

/// The forgotten-password and reset-link routes.
pub(crate) fn routes() -> Pages {
    Pages::new()
        .route(
            "/forgot-password",
            "GET POST",
            get(forgot_page).post(forgot),
        )
        .route("/reset/{token}", "GET POST", get(reset_page).post(reset))
}

/// Told when the brand has no way to send mail: the visitor learns whom to ask, and
/// nothing about whether their address has an account.
const NO_MAIL: &str = "This workspace cannot send e-mail at the moment, so no link can reach you. Ask your administrator: they can send you a reset link, or give you one, from your user page.";

#[derive(Debug, Default, Deserialize)]
pub(crate) struct EmailForm {
    #[serde(default)]
    email: String,
}

fn forgot_form(email: &str, error: Option<&str>, done: bool, can_send: bool) -> Markup {
    html! {
        div.narrow { div.card {
            h1 { "Forgot your password?" }
            @if !can_send {
                (notice(NO_MAIL, true))
            }
            @if done {
                (notice(RESET_REQUESTED, false))
            } @else {
                p { "Enter the e-mail address you sign in with, and we will send you a link to set a new password." }
            }
            form method="post" action="/forgot-password" novalidate {
                (Field::new("email", "E-mail").kind("email").value(email).error(error)
                    .autocomplete("username").required())
                div.actions {
                    button type="submit" { "Send the link" }
                    a href="/sign-in" { "Back to sign-in" }
                }
            }
        } }
    }
}

/// `GET /forgot-password`.
pub(crate) async fn forgot_page(viewer: Viewer) -> Response {
    let can_send = mail_set_up(&viewer.tenant, &viewer.connection).await;
    viewer.page(
        "Forgot your password?",
        Section::Other,
        forgot_form("", None, false, can_send),
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
    let can_send = mail_set_up(&viewer.tenant, &viewer.connection).await;
    let outcome = match check_origin(&headers, &viewer.connection, false) {
        Ok(()) => request_reset_limited(&state, &visitor(&viewer), form.email.trim()).await,
        Err(refused) => Err(refused),
    };
    match outcome {
        Ok(()) => viewer.page(
            "Forgot your password?",
            Section::Other,
            forgot_form(&form.email, None, true, can_send),
        ),
        Err(error) => viewer.page_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Forgot your password?",
            Section::Other,
            forgot_form(&form.email, Some(&error.page_message()), false, can_send),
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

/// What a set-password page is for: an invitation or a reset link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    Invitation,
    Reset,
}

impl Link {
    fn address(self, token: &str) -> String {
        match self {
            Link::Invitation => format!("/invite/{token}"),
            Link::Reset => format!("/reset/{token}"),
        }
    }

    fn heading(self) -> &'static str {
        match self {
            Link::Invitation => "Welcome",
            Link::Reset => "Set a new password",
        }
    }

    fn lead(self, brand: &str) -> String {
        match self {
            Link::Invitation => format!("Choose a password to join {brand}."),
            Link::Reset => {
                "Choose a new password. You will be signed out everywhere else.".to_owned()
            }
        }
    }
}

/// The set-password form of an invitation or reset link.
fn password_form(viewer: &Viewer, link: Link, token: &str, error: Option<&str>) -> Markup {
    html! {
        div.narrow { div.card {
            h1 { (link.heading()) }
            p { (link.lead(&viewer.look.name)) }
            form method="post" action=(link.address(token)) novalidate {
                (Field::new("password", "New password").kind("password").error(error)
                    .autocomplete("new-password").required().minlength(10))
                (Field::new("confirm", "New password again").kind("password")
                    .autocomplete("new-password").required())
                p.hint { "At least 10 characters; a few unrelated words make a good password." }
                div.actions { button type="submit" { "Set password" } }
            }
        } }
    }
}

/// The page of a set-password link.
pub(crate) fn password_page(viewer: &Viewer, link: Link, token: &str) -> Response {
    viewer.page(
        link.heading(),
        Section::Other,
        password_form(viewer, link, token, None),
    )
}

/// Sets the password with an invitation or reset link, then goes to the sign-in page with
/// the address filled in.
pub(crate) async fn set_password(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<PasswordForm>, FormRejection>,
    token: String,
    link: Link,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let refuse = |viewer: &Viewer, message: String| {
        viewer.page_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            link.heading(),
            Section::Other,
            password_form(viewer, link, &token, Some(&message)),
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
    let outcome: tenant_core::Result<User> = match link {
        Link::Invitation => {
            tenant_core::accounts::invitations::accept_invitation(store, &token, &form.password)
                .await
        }
        Link::Reset => password_reset::reset_password(store, &token, &form.password).await,
    };
    match outcome {
        Ok(user) => Redirect::to(&format!(
            "/sign-in?password_set=1&email={}",
            percent_encode(&user.email)
        ))
        .into_response(),
        Err(error) => refuse(&viewer, ApiError::Core(error).page_message()),
    }
}

/// `GET /reset/{token}`.
pub(crate) async fn reset_page(viewer: Viewer, Path(token): Path<String>) -> Response {
    password_page(&viewer, Link::Reset, &token)
}

/// `POST /reset/{token}`.
pub(crate) async fn reset(
    viewer: Viewer,
    headers: HeaderMap,
    Path(token): Path<String>,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Response {
    set_password(viewer, headers, form, token, Link::Reset).await
}
