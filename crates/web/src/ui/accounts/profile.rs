//! Everyone's own pages: profile, password, two-factor sign-in (with a QR code for the
//! authenticator app), sessions and personal access tokens. A staff member who must set up
//! two-factor sign-in is sent here.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use qrcodegen::{QrCode, QrCodeEcc};
use tenant_core::access::Principal;
use tenant_core::accounts::{credentials, sessions, totp};

use crate::api::WebState;
use crate::api::accounts::sessions::limited_password_check;
use crate::http::error::ApiError;
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::forms::DoneQuery;
use crate::ui::forms::{Pairs, field};
use crate::ui::layout::{Field, Section, csrf_field, notice};

/// The profile's routes.
pub(crate) fn routes() -> Pages {
    Pages::new()
        .route("/profile", "GET", get(page))
        .route("/profile/totp/begin", "POST", post(totp_begin))
        .route("/profile/totp/confirm", "POST", post(totp_confirm))
        .route("/profile/totp/disable", "POST", post(totp_disable))
        .route("/profile/password", "POST", post(change_password))
        .route("/profile/sessions/{id}", "POST", post(end_session))
        .route("/profile/tokens", "POST", post(create_token))
        .route("/profile/tokens/{id}", "POST", post(revoke_token))
}

/// What to show once at the top of the page (a new token, recovery codes, a QR code).
#[derive(Debug, Default)]
struct Extra {
    message: Option<(String, bool)>,
    enrollment: Option<(String, String)>,
    recovery_codes: Vec<String>,
    token: Option<String>,
    /// The field whose error is shown in place.
    field: Option<(&'static str, String)>,
}

/// An `otpauth://` URL as an SVG QR code (drawn here, no image file or script involved).
fn qr_svg(text: &str) -> Markup {
    let Ok(code) = QrCode::encode_text(text, QrCodeEcc::Medium) else {
        return html! {};
    };
    let size = code.size();
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if code.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + 4, y + 4));
            }
        }
    }
    let full = size + 8;
    let view_box = format!("0 0 {full} {full}");
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox=(view_box) width="200" height="200"
            role="img" aria-label="QR code for your authenticator app" {
            rect width=(full) height=(full) fill="#fff" {}
            path d=(path) fill="#000" {}
        }
    }
}

async fn render(
    viewer: &Viewer,
    principal: &Principal,
    extra: Extra,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let err = |name: &str| {
        extra
            .field
            .as_ref()
            .filter(|(field, _)| *field == name)
            .map(|(_, message)| message.as_str())
    };
    let status_now = totp::status(store, principal).await.ok();
    let enabled = status_now.as_ref().is_some_and(|s| s.enabled);
    let sessions = sessions::list_sessions(store, principal)
        .await
        .unwrap_or_default();
    let tokens = sessions::list_tokens(store, principal)
        .await
        .unwrap_or_default();
    let dates = viewer.look.date_format;
    let token = csrf_field(&viewer.token);
    let password = |label| {
        Field::new("password", label)
            .kind("password")
            .error(err("password"))
            .autocomplete("current-password")
            .required()
    };
    let body = html! {
        h1 { (principal.name()) }
        p { (principal.email()) }
        @if let Some((text, error)) = &extra.message { (notice(text, *error)) }
        @if principal.must_set_up_totp() {
            (notice("This workspace requires two-factor sign-in: set it up below to continue.", true))
        }
        section.card aria-labelledby="tfa" {
            h2 id="tfa" { "Two-factor sign-in" }
            @if !extra.recovery_codes.is_empty() {
                div.notice role="status" {
                    p { strong { "Two-factor sign-in is on." } " Keep these recovery codes somewhere safe; each works once, and they are shown only now:" }
                    ul { @for code in &extra.recovery_codes { li { code { (code) } } } }
                }
            }
            @if let Some((secret, url)) = &extra.enrollment {
                p { "Scan this code with your authenticator app, or type the key " code { (secret) } ", then enter the 6-digit code it shows." }
                (qr_svg(url))
                form method="post" action="/profile/totp/confirm" {
                    (token)
                    (Field::new("code", "Code from the app").error(err("code"))
                        .autocomplete("one-time-code").inputmode("numeric").required())
                    div.actions { button type="submit" { "Turn on" } }
                }
            } @else if enabled {
                p { "On. Recovery codes left: " (status_now.as_ref().map_or(0, |s| s.recovery_codes_left)) "." }
                form method="post" action="/profile/totp/disable" {
                    (token)
                    (password("Your password"))
                    div.actions { button.secondary type="submit" { "Turn off" } }
                }
            } @else {
                p { "Off. With it on, signing in also needs a code from an authenticator app on your phone." }
                form method="post" action="/profile/totp/begin" {
                    (token)
                    (password("Your password"))
                    div.actions { button type="submit" { "Set up" } }
                }
            }
        }
        section.card aria-labelledby="pw" {
            h2 id="pw" { "Password" }
            form method="post" action="/profile/password" {
                (token)
                (Field::new("current_password", "Current password").kind("password")
                    .error(err("current_password")).autocomplete("current-password").required())
                (Field::new("new_password", "New password").kind("password")
                    .error(err("new_password")).autocomplete("new-password").required().minlength(10))
                (Field::new("confirm", "New password again").kind("password")
                    .autocomplete("new-password").required())
                p.hint { "At least 10 characters. Your other sessions and personal tokens end when it changes." }
                div.actions { button type="submit" { "Change password" } }
            }
        }
        section.card aria-labelledby="sessions" {
            h2 id="sessions" { "Where you are signed in" }
            table {
                thead { tr {
                    th scope="col" { "Browser" }
                    th.optional scope="col" { "From" }
                    th scope="col" { "Last used" }
                    th scope="col" { span.skip { "Action" } }
                } }
                tbody {
                    @for session in &sessions {
                        tr {
                            td { (session.user_agent) }
                            td.optional { (session.client_address) }
                            td { (dates.moment(session.last_seen_at)) }
                            td {
                                @if session.current { "this browser" } @else {
                                    form method="post" action={ "/profile/sessions/" (session.id) } {
                                        (token)
                                        button.secondary type="submit" { "Sign out" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card aria-labelledby="tokens" {
            h2 id="tokens" { "Personal access tokens" }
            p.hint { "For scripts and tools using the API as you (Authorization: Bearer …)." }
            @if let Some(secret) = &extra.token {
                div.notice role="status" { "Your new token (copy it now; it is not shown again): " code { (secret) } }
            }
            @if !tokens.is_empty() {
                table {
                    thead { tr {
                        th scope="col" { "Name" }
                        th scope="col" { "Last used" }
                        th scope="col" { span.skip { "Action" } }
                    } }
                    tbody {
                        @for t in &tokens {
                            tr {
                                td { (t.name) }
                                td { @match t.last_used_at { Some(at) => (dates.moment(at)), None => "never" } }
                                td {
                                    form method="post" action={ "/profile/tokens/" (t.id) } {
                                        (token)
                                        button.secondary type="submit" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form method="post" action="/profile/tokens" {
                (token)
                (Field::new("name", "Token name").error(err("name")).required().placeholder("laptop script"))
                div.actions { button type="submit" { "Create token" } }
            }
        }
    };
    viewer.page_with_status(status, "Profile", Section::Profile, body)
}

/// `GET /profile`.
pub(crate) async fn page(
    viewer: Viewer,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    let message = match query.done.as_deref() {
        Some("password") => {
            Some("Your password is changed. Your other sessions and personal tokens have ended.")
        }
        Some("totp-off") => Some("Two-factor sign-in is off."),
        Some("session") => Some("That session is signed out."),
        Some("token-revoked") => Some("The token is revoked."),
        _ => None,
    };
    let extra = Extra {
        message: message.map(|m| (m.to_owned(), false)),
        ..Extra::default()
    };
    Ok(render(&viewer, principal, extra, StatusCode::OK).await)
}

/// Answers a change: to the page saying `done` (Post/Redirect/Get), or the page again with
/// what went wrong (a field error in its place) and what must be shown once.
async fn finish(
    viewer: &Viewer,
    principal: &Principal,
    outcome: Result<Done, ApiError>,
    mut extra: Extra,
) -> Response {
    let error = match outcome {
        Ok(Done::Redirect(what)) => {
            return Redirect::to(&format!("/profile?done={what}")).into_response();
        }
        Ok(Done::Show(text)) => {
            extra.message = Some((text.to_owned(), false));
            return render(viewer, principal, extra, StatusCode::OK).await;
        }
        Err(error) => error,
    };
    let status = match &error {
        ApiError::Core(core) => crate::http::error::status_of(core),
        ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    extra.message = Some(match error {
        ApiError::Core(tenant_core::Error::Field { field, message }) => {
            let text = ApiError::Core(tenant_core::Error::field(field, message)).page_message();
            extra.field = Some((field, text));
            (
                "Nothing was changed: check the marked field.".to_owned(),
                true,
            )
        }
        error => (error.page_message(), true),
    });
    render(viewer, principal, extra, status).await
}

/// What a change leads to.
enum Done {
    /// The page, saying what was done.
    Redirect(&'static str),
    /// The page with something to show once (it cannot be in an address).
    Show(&'static str),
}

/// `POST /profile/totp/begin`: a new secret and its QR code (the password is needed).
pub(crate) async fn totp_begin(
    State(state): State<WebState>,
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let store = viewer.tenant.store();
    let mut extra = Extra::default();
    let outcome = limited_password_check(
        &state,
        &viewer.tenant,
        &viewer.connection,
        principal,
        totp::begin(
            store,
            principal,
            field(&pairs, "password"),
            &viewer.look.name,
        ),
    )
    .await
    .map(|enrollment| {
        extra.enrollment = Some((enrollment.secret.clone(), enrollment.otpauth_url.clone()));
        Done::Show("Now scan the code and enter what the app shows.")
    });
    Ok(finish(&viewer, principal, outcome, extra).await)
}

/// `POST /profile/totp/confirm`: turns two-factor sign-in on with the first code.
pub(crate) async fn totp_confirm(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let mut extra = Extra::default();
    let outcome = totp::confirm(
        viewer.tenant.store(),
        principal,
        field(&pairs, "code").trim(),
    )
    .await
    .map(|codes| {
        extra.recovery_codes = codes;
        Done::Show("Two-factor sign-in is on.")
    })
    .map_err(ApiError::from);
    Ok(finish(&viewer, principal, outcome, extra).await)
}

/// `POST /profile/totp/disable` (the password is needed).
pub(crate) async fn totp_disable(
    State(state): State<WebState>,
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let outcome = limited_password_check(
        &state,
        &viewer.tenant,
        &viewer.connection,
        principal,
        totp::disable(viewer.tenant.store(), principal, field(&pairs, "password")),
    )
    .await
    .map(|_| Done::Redirect("totp-off"));
    Ok(finish(&viewer, principal, outcome, Extra::default()).await)
}

/// `POST /profile/password`.
pub(crate) async fn change_password(
    State(state): State<WebState>,
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let outcome = if field(&pairs, "new_password") == field(&pairs, "confirm") {
        limited_password_check(
            &state,
            &viewer.tenant,
            &viewer.connection,
            principal,
            credentials::change_own_password(
                viewer.tenant.store(),
                principal,
                field(&pairs, "current_password"),
                field(&pairs, "new_password"),
            ),
        )
        .await
        .map(|_| Done::Redirect("password"))
        .map_err(|error| match error {
            // The new password's rule: shown at the new password.
            ApiError::Core(tenant_core::Error::Field {
                field: "password",
                message,
            }) => tenant_core::Error::field("new_password", message).into(),
            other => other,
        })
    } else {
        Err(
            tenant_core::Error::field("new_password", "the two new passwords are not the same")
                .into(),
        )
    };
    Ok(finish(&viewer, principal, outcome, Extra::default()).await)
}

/// `POST /profile/sessions/{id}`: signs another session out.
pub(crate) async fn end_session(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, _) = viewer.signed_in_form(&headers, form)?;
    let outcome = sessions::revoke_session(viewer.tenant.store(), principal, &id)
        .await
        .map(|()| Done::Redirect("session"))
        .map_err(ApiError::from);
    Ok(finish(&viewer, principal, outcome, Extra::default()).await)
}

/// `POST /profile/tokens`: a new personal access token, shown once.
pub(crate) async fn create_token(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let mut extra = Extra::default();
    let outcome = sessions::create_token(
        viewer.tenant.store(),
        principal,
        field(&pairs, "name"),
        None,
    )
    .await
    .map(|(_, secret)| {
        extra.token = Some(secret.reveal().to_owned());
        Done::Show("Token created.")
    })
    .map_err(ApiError::from);
    Ok(finish(&viewer, principal, outcome, extra).await)
}

/// `POST /profile/tokens/{id}`: revokes a token.
pub(crate) async fn revoke_token(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, _) = viewer.signed_in_form(&headers, form)?;
    let outcome = sessions::revoke_token(viewer.tenant.store(), principal, &id)
        .await
        .map(|()| Done::Redirect("token-revoked"))
        .map_err(ApiError::from);
    Ok(finish(&viewer, principal, outcome, Extra::default()).await)
}
