//! Everyone's own pages: profile, password, two-factor sign-in (with a QR code for the
//! authenticator app), sessions and personal access tokens. A staff member who must set up
//! two-factor sign-in is sent here.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use qrcodegen::{QrCode, QrCodeEcc};
use tenant_core::access::Principal;
use tenant_core::accounts::credentials;
use tenant_core::accounts::sessions;
use tenant_core::accounts::totp;

use crate::api::WebState;
use crate::api::accounts::sessions::limited_password_check;
use crate::escape_html as e;
use crate::http::error::ApiError;
use crate::ui::Viewer;
use crate::ui::forms::{Pairs, field};
use crate::ui::layout::{Section, csrf_field, input, notice};

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
fn qr_svg(text: &str) -> String {
    let Ok(code) = QrCode::encode_text(text, QrCodeEcc::Medium) else {
        return String::new();
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
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {full} {full}\" width=\"200\" height=\"200\" role=\"img\" aria-label=\"QR code for your authenticator app\"><rect width=\"{full}\" height=\"{full}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    )
}

fn when(t: time::OffsetDateTime) -> String {
    format!(
        "{} {} {} {:02}:{:02} UTC",
        t.day(),
        t.month(),
        t.year(),
        t.hour(),
        t.minute()
    )
}

async fn render(
    viewer: &Viewer,
    principal: &Principal,
    extra: Extra,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let token = csrf_field(&viewer.token);
    let err = |name: &str| {
        extra
            .field
            .as_ref()
            .filter(|(field, _)| *field == name)
            .map(|(_, message)| message.clone())
    };
    let mut body = format!(
        "<h1>{}</h1><p>{}</p>",
        e(principal.name()),
        e(principal.email())
    );
    if let Some((text, error)) = &extra.message {
        body.push_str(&notice(text, *error));
    }
    if principal.must_set_up_totp() {
        body.push_str(&notice(
            "This workspace requires two-factor sign-in: set it up below to continue.",
            true,
        ));
    }
    // Two-factor sign-in.
    let status_now = totp::status(store, principal).await.ok();
    body.push_str(
        "<section class=\"card\" aria-labelledby=\"tfa\"><h2 id=\"tfa\">Two-factor sign-in</h2>",
    );
    if !extra.recovery_codes.is_empty() {
        body.push_str(&format!(
            "<div class=\"notice\" role=\"status\"><p><strong>Two-factor sign-in is on.</strong> Keep these recovery codes somewhere safe; each works once, and they are shown only now:</p><ul>{}</ul></div>",
            extra.recovery_codes.iter().map(|c| format!("<li><code>{}</code></li>", e(c))).collect::<String>()
        ));
    }
    match (&extra.enrollment, status_now.as_ref().is_some_and(|s| s.enabled)) {
        (Some((secret, url)), _) => body.push_str(&format!(
            "<p>Scan this code with your authenticator app, or type the key <code>{}</code>, then enter the 6-digit code it shows.</p>{}<form method=\"post\" action=\"/profile/totp/confirm\">{token}{}<div class=\"actions\"><button type=\"submit\">Turn on</button></div></form>",
            e(secret),
            qr_svg(url),
            input("code", "Code from the app", "text", "", err("code").as_deref(), "autocomplete=\"one-time-code\" inputmode=\"numeric\" required"),
        )),
        (None, true) => body.push_str(&format!(
            "<p>On. Recovery codes left: {}.</p><form method=\"post\" action=\"/profile/totp/disable\">{token}{}<div class=\"actions\"><button type=\"submit\" class=\"secondary\">Turn off</button></div></form>",
            status_now.as_ref().map_or(0, |s| s.recovery_codes_left),
            input("password", "Your password", "password", "", err("password").as_deref(), "autocomplete=\"current-password\" required"),
        )),
        (None, false) => body.push_str(&format!(
            "<p>Off. With it on, signing in also needs a code from an authenticator app on your phone.</p><form method=\"post\" action=\"/profile/totp/begin\">{token}{}<div class=\"actions\"><button type=\"submit\">Set up</button></div></form>",
            input("password", "Your password", "password", "", err("password").as_deref(), "autocomplete=\"current-password\" required"),
        )),
    }
    body.push_str("</section>");
    // Password.
    body.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"pw\"><h2 id=\"pw\">Password</h2><form method=\"post\" action=\"/profile/password\">{token}{}{}{}<p class=\"hint\">At least 10 characters. Your other sessions and personal tokens end when it changes.</p><div class=\"actions\"><button type=\"submit\">Change password</button></div></form></section>",
        input("current_password", "Current password", "password", "", err("current_password").as_deref(), "autocomplete=\"current-password\" required"),
        input("new_password", "New password", "password", "", err("new_password").as_deref(), "autocomplete=\"new-password\" required minlength=\"10\""),
        input("confirm", "New password again", "password", "", None, "autocomplete=\"new-password\" required"),
    ));
    // Sessions.
    body.push_str("<section class=\"card\" aria-labelledby=\"sessions\"><h2 id=\"sessions\">Where you are signed in</h2><table><thead><tr><th scope=\"col\">Browser</th><th scope=\"col\" class=\"optional\">From</th><th scope=\"col\">Last used</th><th scope=\"col\"></th></tr></thead><tbody>");
    for session in sessions::list_sessions(store, principal)
        .await
        .unwrap_or_default()
    {
        let action = if session.current {
            "this browser".to_owned()
        } else {
            format!(
                "<form method=\"post\" action=\"/profile/sessions/{}\">{token}<button type=\"submit\" class=\"secondary\">Sign out</button></form>",
                e(&session.id)
            )
        };
        body.push_str(&format!(
            "<tr><td>{}</td><td class=\"optional\">{}</td><td>{}</td><td>{action}</td></tr>",
            e(&session.user_agent),
            e(&session.client_address),
            when(session.last_seen_at)
        ));
    }
    body.push_str("</tbody></table></section>");
    // Tokens.
    body.push_str("<section class=\"card\" aria-labelledby=\"tokens\"><h2 id=\"tokens\">Personal access tokens</h2><p class=\"hint\">For scripts and tools using the API as you (Authorization: Bearer …).</p>");
    if let Some(secret) = &extra.token {
        body.push_str(&format!("<div class=\"notice\" role=\"status\">Your new token (copy it now; it is not shown again): <code>{}</code></div>", e(secret)));
    }
    let tokens = sessions::list_tokens(store, principal)
        .await
        .unwrap_or_default();
    if !tokens.is_empty() {
        body.push_str("<table><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Last used</th><th scope=\"col\"></th></tr></thead><tbody>");
        for t in tokens {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/profile/tokens/{}\">{token}<button type=\"submit\" class=\"secondary\">Revoke</button></form></td></tr>",
                e(&t.name),
                t.last_used_at.map_or_else(|| "never".to_owned(), when),
                e(&t.id)
            ));
        }
        body.push_str("</tbody></table>");
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/profile/tokens\">{token}{}<div class=\"actions\"><button type=\"submit\">Create token</button></div></form></section>",
        input("name", "Token name", "text", "", err("name").as_deref(), "required placeholder=\"laptop script\""),
    ));
    viewer.page_with_status(status, "Profile", Section::Profile, body)
}

/// `GET /profile`.
pub(crate) async fn page(viewer: Viewer) -> Response {
    let principal = match viewer.require() {
        Ok(principal) => principal,
        Err(refused) => return refused,
    };
    render(&viewer, principal, Extra::default(), StatusCode::OK).await
}

/// `POST /profile/{action}` and `/profile/{kind}/{id}`: every change of one's own account.
async fn act(
    state: &WebState,
    viewer: &Viewer,
    headers: &HeaderMap,
    action: &str,
    id: Option<&str>,
    pairs: &Pairs,
) -> Response {
    let principal = match viewer.require() {
        Ok(principal) => principal,
        Err(refused) => return refused,
    };
    if let Err(refused) = viewer.check_form(headers, field(pairs, "csrf")) {
        return refused;
    }
    let store = viewer.tenant.store();
    let (tenant, connection) = (&viewer.tenant, &viewer.connection);
    let mut extra = Extra::default();
    let outcome: Result<String, ApiError> = match (action, id) {
        ("totp/begin", None) => match limited_password_check(
            state,
            tenant,
            connection,
            principal,
            totp::begin(
                store,
                principal,
                field(pairs, "password"),
                &viewer.look.name,
            ),
        )
        .await
        {
            Ok(enrollment) => {
                extra.enrollment =
                    Some((enrollment.secret.clone(), enrollment.otpauth_url.clone()));
                Ok("Now scan the code and enter what the app shows.".to_owned())
            }
            Err(error) => Err(error),
        },
        ("totp/confirm", None) => {
            match totp::confirm(store, principal, field(pairs, "code").trim()).await {
                Ok(codes) => {
                    extra.recovery_codes = codes;
                    Ok("Two-factor sign-in is on.".to_owned())
                }
                Err(error) => Err(error.into()),
            }
        }
        ("totp/disable", None) => limited_password_check(
            state,
            tenant,
            connection,
            principal,
            totp::disable(store, principal, field(pairs, "password")),
        )
        .await
        .map(|_| "Two-factor sign-in is off.".to_owned()),
        ("password", None) => {
            if field(pairs, "new_password") == field(pairs, "confirm") {
                limited_password_check(
                    state,
                    tenant,
                    connection,
                    principal,
                    credentials::change_own_password(
                        store,
                        principal,
                        field(pairs, "current_password"),
                        field(pairs, "new_password"),
                    ),
                )
                .await
                .map(|_| {
                    "Your password is changed. Your other sessions and personal tokens have ended."
                        .to_owned()
                })
                .map_err(|error| match error {
                    // The new password's rule: shown at the new password.
                    ApiError::Core(tenant_core::Error::Field {
                        field: "password",
                        message,
                    }) => tenant_core::Error::field("new_password", message).into(),
                    other => other,
                })
            } else {
                Err(tenant_core::Error::field(
                    "new_password",
                    "the two new passwords are not the same",
                )
                .into())
            }
        }
        ("sessions", Some(id)) => sessions::revoke_session(store, principal, id)
            .await
            .map(|()| "That session is signed out.".to_owned())
            .map_err(Into::into),
        ("tokens", None) => {
            match sessions::create_token(store, principal, field(pairs, "name"), None).await {
                Ok((_, secret)) => {
                    extra.token = Some(secret.reveal().to_owned());
                    Ok("Token created.".to_owned())
                }
                Err(error) => Err(error.into()),
            }
        }
        ("tokens", Some(id)) => sessions::revoke_token(store, principal, id)
            .await
            .map(|()| "The token is revoked.".to_owned())
            .map_err(Into::into),
        _ => Err(tenant_core::Error::NotFound("There is no such action.".to_owned()).into()),
    };
    let status = if outcome.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    extra.message = Some(match outcome {
        Ok(text) => (text, false),
        Err(ApiError::Core(tenant_core::Error::Field { field, message })) => {
            let text = ApiError::Core(tenant_core::Error::field(field, message)).page_message();
            extra.field = Some((field, text));
            (
                "Nothing was changed: check the marked field.".to_owned(),
                true,
            )
        }
        Err(error) => (error.page_message(), true),
    });
    render(viewer, principal, extra, status).await
}

/// `POST /profile/{action}`.
pub(crate) async fn post_action(
    State(state): State<WebState>,
    viewer: Viewer,
    headers: HeaderMap,
    axum::extract::Path(action): axum::extract::Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let pairs = form.map(|Form(p)| p).unwrap_or_default();
    act(&state, &viewer, &headers, &action, None, &pairs).await
}

/// `POST /profile/{kind}/{id}` (and `/profile/totp/{step}`).
pub(crate) async fn post_item(
    State(state): State<WebState>,
    viewer: Viewer,
    headers: HeaderMap,
    axum::extract::Path((kind, id)): axum::extract::Path<(String, String)>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let pairs = form.map(|Form(p)| p).unwrap_or_default();
    if kind == "totp" {
        return act(
            &state,
            &viewer,
            &headers,
            &format!("totp/{id}"),
            None,
            &pairs,
        )
        .await;
    }
    act(&state, &viewer, &headers, &kind, Some(&id), &pairs).await
}
