//! The settings pages: an index, E-mail (the brand's own SMTP server, with "send test
//! e-mail"), Payments (gateway keys, secrets shown masked) and Security (require
//! two-factor sign-in of staff).

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;
use tenant_core::access::permissions::{Permission, need};
use tenant_core::brand::settings::{
    self, EmailChange, EmailSettings, GATEWAYS, GatewayChange, PasswordChange, Security, SmtpTls,
};

use crate::api::WebState;
use crate::escape_html as e;
use crate::http::error::ApiError;
use crate::ui::Viewer;
use crate::ui::forms::{Pairs, field};
use crate::ui::layout::{Section, csrf_field, input, notice};

fn message_of(error: tenant_core::Error) -> String {
    ApiError::Core(error).page_message()
}

/// `GET /settings`.
pub(crate) async fn index(viewer: Viewer) -> Response {
    let principal = match viewer.require() {
        Ok(principal) => principal,
        Err(refused) => return refused,
    };
    let permissions = principal.permissions();
    let mut links = Vec::new();
    if permissions.contains(Permission::SettingsManage) {
        links.push((
            "/settings/branding",
            "Branding",
            "Name, colours, logo, sign-in message, custom CSS.",
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
        return viewer.forbidden();
    }
    let items: String = links
        .iter()
        .map(|(href, label, what)| format!("<li><a href=\"{href}\">{label}</a> — {what}</li>"))
        .collect();
    viewer.page(
        "Settings",
        Section::Settings,
        format!("<h1>Settings</h1><section class=\"card\"><ul>{items}</ul></section>"),
    )
}

fn email_form(
    viewer: &Viewer,
    current: Option<&EmailSettings>,
    typed: Option<&Pairs>,
    message: Option<(String, bool)>,
    field_error: Option<(&str, String)>,
) -> String {
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
    let option = |word: &str, label: &str| {
        let selected = if tls == word || (tls.is_empty() && word == "starttls") {
            " selected"
        } else {
            ""
        };
        format!("<option value=\"{word}\"{selected}>{label}</option>")
    };
    let mut body = String::from("<h1>E-mail</h1>");
    if let Some((text, is_error)) = message {
        body.push_str(&notice(&text, is_error));
    }
    let source = if current.is_some() {
        "This workspace sends its mail through the server below."
    } else if viewer.connection.mail {
        "This workspace sends its mail through the server's default. Enter your own SMTP server to send in your own name."
    } else {
        "E-mail is not set up: invitations and reset links are not mailed (admins are given the links). Enter your SMTP server."
    };
    body.push_str(&format!("<p>{source}</p>"));
    let password_hint = if current.is_some_and(|c| c.password_sealed.is_some()) {
        "A password is stored. Leave this empty to keep it."
    } else {
        "Only if your server wants a login."
    };
    body.push_str(&format!(
        "<form method=\"post\" action=\"/settings/email\" class=\"card\" novalidate>{}<div class=\"row\"><div>{}</div><div>{}</div></div><label for=\"f-tls\">Security</label><select id=\"f-tls\" name=\"tls\">{}{}{}</select><div class=\"row\"><div>{}</div><div>{}<p class=\"hint\">{password_hint}</p></div></div><div class=\"row\"><div>{}</div><div>{}</div></div><div class=\"actions\"><button type=\"submit\" name=\"do\" value=\"save\">Save</button><button type=\"submit\" name=\"do\" value=\"test\" class=\"secondary\">Send test e-mail to me</button>{}</div></form>",
        csrf_field(&viewer.token),
        input("host", "SMTP server", "text", &value("host", current.map(|c| c.host.clone())), error("host"), "placeholder=\"smtp.example.com\""),
        input("port", "Port (empty: the usual one)", "text", &value("port", current.map(|c| c.port.to_string())), error("port"), "inputmode=\"numeric\""),
        option("starttls", "STARTTLS (port 587)"),
        option("tls", "TLS (port 465)"),
        option("none", "None (a relay on this network)"),
        input("username", "User name", "text", &value("username", current.and_then(|c| c.username.clone())), error("username"), "autocomplete=\"off\""),
        input("password", "Password", "password", "", error("password"), "autocomplete=\"new-password\""),
        input("from_name", "Sender name (empty: from Branding)", "text", &value("from_name", current.and_then(|c| c.from_name.clone())), error("from_name"), ""),
        input("from_address", "Sender address", "email", &value("from_address", current.map(|c| c.from_address.clone())), error("from_address"), ""),
        if current.is_some() { "<button type=\"submit\" name=\"do\" value=\"remove\" class=\"secondary\">Use the server's default</button>" } else { "" },
    ));
    body
}

/// `GET /settings/email`.
pub(crate) async fn email(viewer: Viewer) -> Response {
    let permit = match viewer.permit::<need::SettingsManage>() {
        Ok(permit) => permit,
        Err(refused) => return refused,
    };
    let current = settings::email(viewer.tenant.store(), &permit)
        .await
        .ok()
        .flatten();
    let body = email_form(&viewer, current.as_ref(), None, None, None);
    viewer.page("E-mail", Section::Settings, body)
}

/// `POST /settings/email`: save, remove, or send a test mail.
pub(crate) async fn save_email(
    State(state): State<WebState>,
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let (permit, pairs) = match viewer.submitted::<need::SettingsManage>(&headers, form) {
        Ok(submitted) => submitted,
        Err(refused) => return refused,
    };
    let store = viewer.tenant.store();
    let done: Result<String, tenant_core::Error> = match field(&pairs, "do") {
        "remove" => settings::clear_email(store, &permit).await.map(|_| {
            "Your own SMTP server is removed: mail goes through the server's default.".to_owned()
        }),
        "test" => {
            let to = permit.principal().email().to_owned();
            return match state
                .postmaster
                .send_test(&viewer.tenant, &viewer.connection.base, &to)
                .await
            {
                Ok(sent) => {
                    let current = settings::email(store, &permit).await.ok().flatten();
                    let text = format!("A test mail to {to} was accepted by {}.", sent.server);
                    viewer.page(
                        "E-mail",
                        Section::Settings,
                        email_form(&viewer, current.as_ref(), None, Some((text, false)), None),
                    )
                }
                Err(reason) => {
                    let current = settings::email(store, &permit).await.ok().flatten();
                    let text = ApiError::MailFailed(reason).page_message();
                    viewer.page_with_status(
                        StatusCode::BAD_GATEWAY,
                        "E-mail",
                        Section::Settings,
                        email_form(
                            &viewer,
                            current.as_ref(),
                            None,
                            Some((format!("The test mail was not sent: {text}"), true)),
                            None,
                        ),
                    )
                }
            };
        }
        _ => {
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
            match port {
                Ok(port) => settings::set_email(
                    store,
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
                .map(|_| "Saved. Send a test e-mail to check it.".to_owned()),
                Err(error) => Err(error),
            }
        }
    };
    let current = settings::email(store, &permit).await.ok().flatten();
    match done {
        Ok(text) => viewer.page(
            "E-mail",
            Section::Settings,
            email_form(&viewer, current.as_ref(), None, Some((text, false)), None),
        ),
        Err(tenant_core::Error::Field {
            field: name,
            message,
        }) => {
            let text = message_of(tenant_core::Error::field(name, message));
            let body = email_form(
                &viewer,
                current.as_ref(),
                Some(&pairs),
                Some((
                    "Nothing was saved: check the marked field.".to_owned(),
                    true,
                )),
                Some((name, text)),
            );
            viewer.page_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "E-mail",
                Section::Settings,
                body,
            )
        }
        Err(error) => {
            let body = email_form(
                &viewer,
                current.as_ref(),
                Some(&pairs),
                Some((message_of(error), true)),
                None,
            );
            viewer.page_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "E-mail",
                Section::Settings,
                body,
            )
        }
    }
}

fn payments_form(viewer: &Viewer, view: &Value, message: Option<(String, bool)>) -> String {
    let mut body = String::from("<h1>Payments</h1>");
    if let Some((text, is_error)) = message {
        body.push_str(&notice(&text, is_error));
    }
    body.push_str(&format!("<p>Keys of the payment gateways invoices can be paid through. Secret keys are stored encrypted and shown masked.</p><form method=\"post\" action=\"/settings/payments\" novalidate>{}", csrf_field(&viewer.token)));
    for gateway in view["gateways"].as_array().into_iter().flatten() {
        let name = gateway["name"].as_str().unwrap_or_default();
        let enabled = if gateway["enabled"].as_bool() == Some(true) {
            " checked"
        } else {
            ""
        };
        let masked = gateway["secret_key_masked"]
            .as_str()
            .map_or_else(|| "none stored".to_owned(), |m| format!("stored: {m}"));
        body.push_str(&format!(
            "<section class=\"card\" aria-labelledby=\"g-{name}\"><h2 id=\"g-{name}\">{}</h2><label class=\"check\" for=\"f-{name}-enabled\"><input type=\"checkbox\" id=\"f-{name}-enabled\" name=\"{name}.enabled\" value=\"on\"{enabled}> Offer on invoices</label><div class=\"row\"><div><label for=\"f-{name}-public\">Public key</label><input id=\"f-{name}-public\" name=\"{name}.public_key\" type=\"text\" value=\"{}\" autocomplete=\"off\"></div><div><label for=\"f-{name}-secret\">Secret key</label><input id=\"f-{name}-secret\" name=\"{name}.secret_key\" type=\"password\" autocomplete=\"off\"><p class=\"hint\">{}; leave empty to keep it.</p></div></div></section>",
            e(&capitalise(name)),
            e(gateway["public_key"].as_str().unwrap_or_default()),
            e(&masked),
        ));
    }
    body.push_str("<div class=\"actions\"><button type=\"submit\">Save payment settings</button></div></form>");
    body
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `GET /settings/payments` (`payments.settings`).
pub(crate) async fn payments(State(state): State<WebState>, viewer: Viewer) -> Response {
    let permit = match viewer.permit::<need::PaymentsSettings>() {
        Ok(permit) => permit,
        Err(refused) => return refused,
    };
    let current = settings::payments(viewer.tenant.store(), &permit)
        .await
        .unwrap_or_default();
    let body = payments_form(&viewer, &current.view(state.postmaster.key()), None);
    viewer.page("Payments", Section::Settings, body)
}

/// `POST /settings/payments`.
pub(crate) async fn save_payments(
    State(state): State<WebState>,
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let (permit, pairs) = match viewer.submitted::<need::PaymentsSettings>(&headers, form) {
        Ok(submitted) => submitted,
        Err(refused) => return refused,
    };
    let changes = GATEWAYS
        .iter()
        .map(|name| {
            let public = field(&pairs, &format!("{name}.public_key")).to_owned();
            let secret = field(&pairs, &format!("{name}.secret_key")).to_owned();
            (
                (*name).to_owned(),
                GatewayChange {
                    enabled: Some(field(&pairs, &format!("{name}.enabled")) == "on"),
                    public_key: Some(Some(public).filter(|p| !p.is_empty())),
                    secret_key: (!secret.is_empty()).then_some(Some(secret)),
                },
            )
        })
        .collect();
    let key = state.postmaster.key();
    let (message, status) =
        match settings::set_payments(viewer.tenant.store(), &permit, key, changes).await {
            Ok(_) => (
                ("Payment settings saved.".to_owned(), false),
                StatusCode::OK,
            ),
            Err(error) => (
                (format!("Nothing was saved: {}", message_of(error)), true),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        };
    let current = settings::payments(viewer.tenant.store(), &permit)
        .await
        .unwrap_or_default();
    let body = payments_form(&viewer, &current.view(key), Some(message));
    viewer.page_with_status(status, "Payments", Section::Settings, body)
}

fn security_form(viewer: &Viewer, security: Security, message: Option<(String, bool)>) -> String {
    let checked = if security.require_totp_for_staff {
        " checked"
    } else {
        ""
    };
    let mut body = String::from("<h1>Security</h1>");
    if let Some((text, is_error)) = message {
        body.push_str(&notice(&text, is_error));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/settings/security\" class=\"card\">{}<label class=\"check\" for=\"f-require\"><input type=\"checkbox\" id=\"f-require\" name=\"require_totp_for_staff\" value=\"on\"{checked}> Require two-factor sign-in for every staff member (admins included)</label><p class=\"hint\">Staff without it can only set it up until they have. Turn on your own first, in your profile.</p><div class=\"actions\"><button type=\"submit\">Save</button></div></form>",
        csrf_field(&viewer.token)
    ));
    body
}

/// `GET /settings/security`.
pub(crate) async fn security(viewer: Viewer) -> Response {
    let permit = match viewer.permit::<need::SettingsManage>() {
        Ok(permit) => permit,
        Err(refused) => return refused,
    };
    let current = settings::security(viewer.tenant.store(), &permit)
        .await
        .unwrap_or_default();
    viewer.page(
        "Security",
        Section::Settings,
        security_form(&viewer, current, None),
    )
}

/// `POST /settings/security`.
pub(crate) async fn save_security(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let (permit, pairs) = match viewer.submitted::<need::SettingsManage>(&headers, form) {
        Ok(submitted) => submitted,
        Err(refused) => return refused,
    };
    let wanted = Security {
        require_totp_for_staff: field(&pairs, "require_totp_for_staff") == "on",
    };
    let store = viewer.tenant.store();
    let (message, status) = match settings::set_security(store, &permit, wanted).await {
        Ok(_) => (
            ("Security settings saved.".to_owned(), false),
            StatusCode::OK,
        ),
        Err(error) => ((message_of(error), true), StatusCode::CONFLICT),
    };
    let current = settings::security(store, &permit).await.unwrap_or_default();
    viewer.page_with_status(
        status,
        "Security",
        Section::Settings,
        security_form(&viewer, current, Some(message)),
    )
}
