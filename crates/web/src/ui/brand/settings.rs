//! The settings pages: an index, E-mail (the brand's own SMTP server, with "send test
//! e-mail"), Payments (gateway keys, secrets shown masked) and Security (require
//! two-factor sign-in of staff).

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::Value;
use tenant_core::access::permissions::{Permission, need};
use tenant_core::brand::settings::{
    self, EmailChange, EmailSettings, GATEWAYS, GatewayChange, PasswordChange, Security, SmtpTls,
};

use crate::api::WebState;
use crate::http::error::{ApiError, status_of};
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::forms::DoneQuery;
use crate::ui::forms::{Pairs, field};
use crate::ui::layout::{Field, Section, csrf_field, notice};

/// The settings pages' routes.
pub(crate) fn routes() -> Pages {
    Pages::new()
        .route("/settings", "GET", get(index))
        .route("/settings/email", "GET POST", get(email).post(save_email))
        .route("/settings/email/test", "POST", post(test_email))
        .route("/settings/email/remove", "POST", post(remove_email))
        .route(
            "/settings/payments",
            "GET POST",
            get(payments).post(save_payments),
        )
        .route(
            "/settings/security",
            "GET POST",
            get(security).post(save_security),
        )
}

fn message_of(error: tenant_core::Error) -> String {
    ApiError::Core(error).page_message()
}

/// `GET /settings`.
pub(crate) async fn index(viewer: Viewer) -> Result<Response, Response> {
    let principal = viewer.require()?;
    let permissions = principal.permissions();
    let mut links = Vec::new();
    if permissions.contains(Permission::SettingsManage) {
        links.push((
            "/settings/branding",
            "Branding",
            "Name, colours, logo, date format, sign-in message, custom CSS.",
        ));
        links.push((
            "/settings/email",
            "E-mail",
            "The SMTP server and sender this workspace's mail goes out with.",
        ));
        links.push((
            "/settings/security",
            "Security",
            "Require two-factor sign-in for all staff.",
        ));
    }
    if permissions.contains(Permission::PaymentsSettings) {
        links.push((
            "/settings/payments",
            "Payments",
            "Payment gateways and their keys, for invoices.",
        ));
    }
    if links.is_empty() {
        return Err(viewer.forbidden());
    }
    let body = html! {
        h1 { "Settings" }
        section.card { ul {
            @for (href, label, what) in &links { li { a href=(href) { (label) } " — " (what) } }
        } }
    };
    Ok(viewer.page("Settings", Section::Settings, body))
}

fn email_form(
    viewer: &Viewer,
    current: Option<&EmailSettings>,
    typed: Option<&Pairs>,
    message: Option<(String, bool)>,
    field_error: Option<(&str, String)>,
) -> Markup {
    let value = |name: &str, stored: Option<String>| -> String {
        match typed {
            Some(pairs) => field(pairs, name).to_owned(),
            None => stored.unwrap_or_default(),
        }
    };
    let error = |name: &str| {
        field_error
            .as_ref()
            .filter(|(f, _)| *f == name)
            .map(|(_, m)| m.as_str())
    };
    let tls = value("tls", current.map(|c| c.tls.as_str().to_owned()));
    let tls = if tls.is_empty() {
        "starttls".to_owned()
    } else {
        tls
    };
    let source = if current.is_some() {
        "This workspace sends its mail through the server below."
    } else if viewer.connection.mail {
        "This workspace sends its mail through the server's default. Enter your own SMTP server to send in your own name."
    } else {
        "E-mail is not set up: invitations and reset links are not mailed (admins are given the links). Enter your SMTP server."
    };
    let password_hint = if current.is_some_and(|c| c.password_sealed.is_some()) {
        "A password is stored. Leave this empty to keep it."
    } else {
        "Only if your server wants a login."
    };
    let (host, port, username, from_name, from_address) = (
        value("host", current.map(|c| c.host.clone())),
        value("port", current.map(|c| c.port.to_string())),
        value("username", current.and_then(|c| c.username.clone())),
        value("from_name", current.and_then(|c| c.from_name.clone())),
        value("from_address", current.map(|c| c.from_address.clone())),
    );
    html! {
        h1 { "E-mail" }
        @if let Some((text, is_error)) = &message { (notice(text, *is_error)) }
        p { (source) }
        form.card method="post" action="/settings/email" novalidate {
            (csrf_field(&viewer.token))
            div.row {
                div { (Field::new("host", "SMTP server").value(&host).error(error("host")).placeholder("smtp.example.com")) }
                div { (Field::new("port", "Port (empty: the usual one)").value(&port).error(error("port")).inputmode("numeric")) }
            }
            label for="f-tls" { "Security" }
            select id="f-tls" name="tls" {
                @for (word, label) in [("starttls", "STARTTLS (port 587)"), ("tls", "TLS (port 465)"), ("none", "None (a relay on this network)")] {
                    option value=(word) selected[tls == word] { (label) }
                }
            }
            div.row {
                div { (Field::new("username", "User name").value(&username).error(error("username")).autocomplete("off")) }
                div { (Field::new("password", "Password").kind("password").error(error("password")).autocomplete("new-password").hint(password_hint)) }
            }
            div.row {
                div { (Field::new("from_name", "Sender name (empty: from Branding)").value(&from_name).error(error("from_name"))) }
                div { (Field::new("from_address", "Sender address").kind("email").value(&from_address).error(error("from_address"))) }
            }
            div.actions {
                button type="submit" { "Save" }
                button.secondary type="submit" formaction="/settings/email/test" { "Send test e-mail to me" }
                @if current.is_some() {
                    button.secondary type="submit" formaction="/settings/email/remove" { "Use the server's default" }
                }
            }
        }
    }
}

async fn email_page(
    viewer: &Viewer,
    permit: &tenant_core::access::Permitted<'_, need::SettingsManage>,
    typed: Option<&Pairs>,
    message: Option<(String, bool)>,
    field_error: Option<(&str, String)>,
    status: StatusCode,
) -> Response {
    let current = settings::email(viewer.tenant.store(), permit)
        .await
        .ok()
        .flatten();
    let body = email_form(viewer, current.as_ref(), typed, message, field_error);
    viewer.page_with_status(status, "E-mail", Section::Settings, body)
}

/// `GET /settings/email`.
pub(crate) async fn email(
    viewer: Viewer,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::SettingsManage>()?;
    let message = match query.done.as_deref() {
        Some("saved") => Some("Saved. Send a test e-mail to check it."),
        Some("removed") => {
            Some("Your own SMTP server is removed: mail goes through the server's default.")
        }
        _ => None,
    };
    Ok(email_page(
        &viewer,
        &permit,
        None,
        message.map(|m| (m.to_owned(), false)),
        None,
        StatusCode::OK,
    )
    .await)
}

/// `POST /settings/email/test`: sends a test mail now and says what the server answered.
pub(crate) async fn test_email(
    State(state): State<WebState>,
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, _) = viewer.submitted::<need::SettingsManage>(&headers, form)?;
    let to = permit.principal().email().to_owned();
    let sent = state
        .postmaster
        .send_test(&viewer.tenant, &viewer.connection.base, &to)
        .await;
    let (message, status) = match sent {
        Ok(sent) => (
            (
                format!("A test mail to {to} was accepted by {}.", sent.server),
                false,
            ),
            StatusCode::OK,
        ),
        Err(reason) => {
            let text = ApiError::MailFailed(reason).page_message();
            (
                (format!("The test mail was not sent: {text}"), true),
                StatusCode::BAD_GATEWAY,
            )
        }
    };
    Ok(email_page(&viewer, &permit, None, Some(message), None, status).await)
}

/// `POST /settings/email/remove`: back to the server's default mail.
pub(crate) async fn remove_email(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, _) = viewer.submitted::<need::SettingsManage>(&headers, form)?;
    Ok(
        match settings::clear_email(viewer.tenant.store(), &permit).await {
            Ok(_) => Redirect::to("/settings/email?done=removed").into_response(),
            Err(error) => {
                let status = status_of(&error);
                email_page(
                    &viewer,
                    &permit,
                    None,
                    Some((message_of(error), true)),
                    None,
                    status,
                )
                .await
            }
        },
    )
}

/// `POST /settings/email`: saves the brand's own SMTP server.
pub(crate) async fn save_email(
    State(state): State<WebState>,
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::SettingsManage>(&headers, form)?;
    let port = field(&pairs, "port").trim();
    let port = if port.is_empty() {
        Ok(None)
    } else {
        port.parse::<u16>()
            .map(Some)
            .map_err(|_| tenant_core::Error::field("port", "use a port from 1 to 65535"))
    };
    let tls = match field(&pairs, "tls") {
        "tls" => SmtpTls::Tls,
        "none" => SmtpTls::None,
        _ => SmtpTls::Starttls,
    };
    let password = field(&pairs, "password");
    let saved = match port {
        Ok(port) => {
            settings::set_email(
                viewer.tenant.store(),
                &permit,
                state.postmaster.key(),
                EmailChange {
                    host: field(&pairs, "host").to_owned(),
                    port,
                    tls,
                    username: Some(field(&pairs, "username").to_owned()),
                    password: if password.is_empty() {
                        PasswordChange::Keep
                    } else {
                        PasswordChange::Set(password.to_owned())
                    },
                    from_name: Some(field(&pairs, "from_name").to_owned()),
                    from_address: field(&pairs, "from_address").to_owned(),
                },
            )
            .await
        }
        Err(error) => Err(error),
    };
    Ok(match saved {
        Ok(_) => Redirect::to("/settings/email?done=saved").into_response(),
        Err(tenant_core::Error::Field {
            field: name,
            message,
        }) => {
            let text = message_of(tenant_core::Error::field(name, message));
            email_page(
                &viewer,
                &permit,
                Some(&pairs),
                Some((
                    "Nothing was saved: check the marked field.".to_owned(),
                    true,
                )),
                Some((name, text)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => {
            let status = status_of(&error);
            email_page(
                &viewer,
                &permit,
                Some(&pairs),
                Some((message_of(error), true)),
                None,
                status,
            )
            .await
        }
    })
}

/// A payment gateway's name as its makers spell it.
fn gateway_name(word: &str) -> &str {
    match word {
        "stripe" => "Stripe",
        "paypal" => "PayPal",
        "mollie" => "Mollie",
        "square" => "Square",
        other => other,
    }
}

fn payments_form(viewer: &Viewer, view: &Value, message: Option<(String, bool)>) -> Markup {
    html! {
        h1 { "Payments" }
        @if let Some((text, is_error)) = &message { (notice(text, *is_error)) }
        p { "Keys of the payment gateways invoices can be paid through. Secret keys are stored encrypted and shown masked." }
        form method="post" action="/settings/payments" novalidate {
            (csrf_field(&viewer.token))
            @for gateway in view["gateways"].as_array().into_iter().flatten() {
                @let name = gateway["name"].as_str().unwrap_or_default();
                @let masked = gateway["secret_key_masked"].as_str().map_or_else(|| "none stored".to_owned(), |m| format!("stored: {m}"));
                section.card aria-labelledby={ "g-" (name) } {
                    h2 id={ "g-" (name) } { (gateway_name(name)) }
                    label.check for={ "f-" (name) "-enabled" } {
                        input type="checkbox" id={ "f-" (name) "-enabled" } name={ (name) ".enabled" } value="on" checked[gateway["enabled"].as_bool() == Some(true)];
                        " Offer on invoices"
                    }
                    div.row {
                        div {
                            label for={ "f-" (name) "-public" } { "Public key" }
                            input id={ "f-" (name) "-public" } name={ (name) ".public_key" } type="text" value=(gateway["public_key"].as_str().unwrap_or_default()) autocomplete="off";
                        }
                        div {
                            label for={ "f-" (name) "-secret" } { "Secret key" }
                            input id={ "f-" (name) "-secret" } name={ (name) ".secret_key" } type="password" autocomplete="off";
                            p.hint { (masked) "; leave empty to keep it." }
                        }
                    }
                    @if gateway["online"].as_bool() == Some(true) {
                        @let webhooks: Vec<&str> = gateway["webhook_secrets_masked"].as_array().into_iter().flatten().filter_map(|m| m.as_str()).collect();
                        div.row {
                            div {
                                label for={ "f-" (name) "-webhook" } {
                                    @if name == "paypal" { "Webhook ID" } @else { "Webhook signing secret" }
                                }
                                input id={ "f-" (name) "-webhook" } name={ (name) ".webhook_secret" } type="password" autocomplete="off";
                                p.hint {
                                    @if webhooks.is_empty() { "none stored" } @else { "stored: " (webhooks.join(", ")) }
                                    "; a new one is added, and the previous ones keep working while the provider rolls them. The webhook's address is " (viewer.connection.base) "/api/v1/payments/webhooks/" (name) "."
                                }
                            }
                            div {
                                label.check for={ "f-" (name) "-forget" } {
                                    input type="checkbox" id={ "f-" (name) "-forget" } name={ (name) ".forget_webhook_secrets" } value="on";
                                    " Forget the stored webhook secrets"
                                }
                            }
                        }
                        @if gateway["enabled"].as_bool() == Some(true) && gateway["ready"].as_bool() != Some(true) {
                            (notice("Turned on, but clients are not offered it until it has its secret key and a webhook secret: without them no payment can be confirmed.", true))
                        }
                    } @else {
                        p.hint { "Clients cannot pay through " (gateway_name(name)) " yet: its keys are kept, and clients are offered Stripe and PayPal only." }
                    }
                }
            }
            div.actions { button type="submit" { "Save payment settings" } }
        }
    }
}

/// `GET /settings/payments` (`payments.settings`).
pub(crate) async fn payments(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::PaymentsSettings>()?;
    let current = settings::payments(viewer.tenant.store(), &permit)
        .await
        .unwrap_or_default();
    let message = (query.done.as_deref() == Some("saved"))
        .then(|| ("Payment settings saved.".to_owned(), false));
    let body = payments_form(&viewer, &current.view(state.postmaster.key()), message);
    Ok(viewer.page("Payments", Section::Settings, body))
}

/// `POST /settings/payments`.
pub(crate) async fn save_payments(
    State(state): State<WebState>,
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::PaymentsSettings>(&headers, form)?;
    let changes = GATEWAYS
        .iter()
        .map(|name| {
            let public = field(&pairs, &format!("{name}.public_key")).to_owned();
            let secret = field(&pairs, &format!("{name}.secret_key")).to_owned();
            let webhook = field(&pairs, &format!("{name}.webhook_secret")).to_owned();
            let forget = field(&pairs, &format!("{name}.forget_webhook_secrets")) == "on";
            (
                (*name).to_owned(),
                GatewayChange {
                    enabled: Some(field(&pairs, &format!("{name}.enabled")) == "on"),
                    public_key: Some(Some(public).filter(|p| !p.is_empty())),
                    secret_key: (!secret.is_empty()).then_some(Some(secret)),
                    webhook_secret: if !webhook.is_empty() {
                        Some(Some(webhook))
                    } else if forget {
                        Some(None)
                    } else {
                        None
                    },
                },
            )
        })
        .collect();
    let key = state.postmaster.key();
    let store = viewer.tenant.store();
    match settings::set_payments(store, &permit, key, changes).await {
        Ok(_) => Ok(Redirect::to("/settings/payments?done=saved").into_response()),
        Err(error) => {
            let status = status_of(&error);
            let message = (format!("Nothing was saved: {}", message_of(error)), true);
            let current = settings::payments(store, &permit).await.unwrap_or_default();
            let body = payments_form(&viewer, &current.view(key), Some(message));
            Ok(viewer.page_with_status(status, "Payments", Section::Settings, body))
        }
    }
}

fn security_form(viewer: &Viewer, security: Security, message: Option<(String, bool)>) -> Markup {
    html! {
        h1 { "Security" }
        @if let Some((text, is_error)) = &message { (notice(text, *is_error)) }
        form.card method="post" action="/settings/security" {
            (csrf_field(&viewer.token))
            label.check for="f-require" {
                input type="checkbox" id="f-require" name="require_totp_for_staff" value="on" checked[security.require_totp_for_staff];
                " Require two-factor sign-in for every staff member (admins included)"
            }
            p.hint { "Staff without it can only set it up until they have. Turn on your own first, in your profile." }
            div.actions { button type="submit" { "Save" } }
        }
    }
}

/// `GET /settings/security`.
pub(crate) async fn security(
    viewer: Viewer,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::SettingsManage>()?;
    let current = settings::security(viewer.tenant.store(), &permit)
        .await
        .unwrap_or_default();
    let message = (query.done.as_deref() == Some("saved"))
        .then(|| ("Security settings saved.".to_owned(), false));
    Ok(viewer.page(
        "Security",
        Section::Settings,
        security_form(&viewer, current, message),
    ))
}

/// `POST /settings/security`.
pub(crate) async fn save_security(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::SettingsManage>(&headers, form)?;
    let wanted = Security {
        require_totp_for_staff: field(&pairs, "require_totp_for_staff") == "on",
    };
    let store = viewer.tenant.store();
    match settings::set_security(store, &permit, wanted).await {
        Ok(_) => Ok(Redirect::to("/settings/security?done=saved").into_response()),
        Err(error) => {
            let status = status_of(&error);
            let current = settings::security(store, &permit).await.unwrap_or_default();
            Ok(viewer.page_with_status(
                status,
                "Security",
                Section::Settings,
                security_form(&viewer, current, Some((message_of(error), true))),
            ))
        }
    }
}
