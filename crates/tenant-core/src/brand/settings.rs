//! A brand's settings, kept per area as one JSON document in the brand's store. Security:
//! whether every staff member must use two-factor sign-in (a staff member without it is
//! then limited to setting it up). E-mail: the brand's own SMTP server and sender, used
//! instead of the platform's `[smtp]`; its password is sealed with the server's encryption
//! key and never handed out.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::access::permissions::need;
use crate::access::{Actor, Permitted};
use crate::accounts::totp;
use crate::audit::{self, Target};
use crate::error::{Error, Result};
use crate::names::Email;
use crate::platform::secrets::SecretKey;
use crate::store::TenantStore;
use crate::store::{Column, Table};
use crate::store::{Tx, now, on_tx};

/// The security settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Security {
    /// Every staff member (admins included) must use two-factor sign-in.
    pub require_totp_for_staff: bool,
}

const SECURITY: &str = "security";

/// The stored settings of `area` within `tx`, if ever set.
pub(crate) async fn area_in<T: DeserializeOwned>(tx: &mut Tx, area: &str) -> Result<Option<T>> {
    let stored: Option<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar("select value from brand_settings where area = $1")
            .bind(area)
            .fetch_optional(conn)
            .await?
    });
    stored
        .map(|text| {
            serde_json::from_str(&text).map_err(|e| {
                Error::Invalid(format!("the stored {area} settings are unreadable: {e}"))
            })
        })
        .transpose()
}

/// Stores the settings of `area` (`None` removes them).
pub(crate) async fn put_area<T: Serialize>(
    tx: &mut Tx,
    area: &str,
    value: Option<&T>,
) -> Result<()> {
    let at = now();
    let Some(value) = value else {
        on_tx!(tx, |conn| {
            sqlx::query("delete from brand_settings where area = $1")
                .bind(area)
                .execute(conn)
                .await?;
        });
        return Ok(());
    };
    let value = serde_json::to_string(value)
        .map_err(|e| Error::Invalid(format!("cannot store the {area} settings: {e}")))?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into brand_settings (area, value, updated_at) values ($1, $2, $3)
             on conflict (area) do update set value = $2, updated_at = $3",
        )
        .bind(area)
        .bind(&value)
        .bind(at)
        .execute(conn)
        .await?;
    });
    Ok(())
}

/// The security settings within `tx` (the defaults when never set).
pub(crate) async fn security_in(tx: &mut Tx) -> Result<Security> {
    Ok(area_in(tx, SECURITY).await?.unwrap_or_default())
}

/// The security settings.
pub async fn security(
    store: &TenantStore,
    _permit: &Permitted<'_, need::SettingsManage>,
) -> Result<Security> {
    let mut tx = store.read().await?;
    security_in(&mut tx).await
}

/// Changes the security settings. Requiring two-factor sign-in needs it on for the admin
/// who requires it, so nobody locks themselves into setting it up by surprise.
pub async fn set_security(
    store: &TenantStore,
    permit: &Permitted<'_, need::SettingsManage>,
    security: Security,
) -> Result<Security> {
    let mut tx = store.write().await?;
    let before = security_in(&mut tx).await?;
    if security.require_totp_for_staff
        && !before.require_totp_for_staff
        && !totp::is_enabled(&mut tx, permit.principal().user_id()).await?
    {
        return Err(Error::Conflict(
            "turn on your own two-factor sign-in first (POST /api/v1/me/totp), then require it for everyone".to_owned(),
        ));
    }
    put_area(&mut tx, SECURITY, Some(&security)).await?;
    audit::note(
        &Actor::from(permit.principal()),
        "settings.security_update",
        Target::new("settings", SECURITY),
    )
    .before(json!(before))
    .after(json!(security))
    .write(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(security)
}

/// How the connection to an SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required).
    Starttls,
    /// TLS from the first byte.
    Tls,
    /// No encryption: only for a relay on the same machine or network.
    None,
}

impl SmtpTls {
    /// The word the API and the configuration use.
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::Starttls => "starttls",
            SmtpTls::Tls => "tls",
            SmtpTls::None => "none",
        }
    }

    /// The usual port for this kind of connection.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        }
    }
}

/// A brand's own SMTP server and sender, as stored (the password sealed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// SMTP server host name or address.
    pub host: String,
    /// SMTP server port.
    pub port: u16,
    /// How the connection is secured.
    pub tls: SmtpTls,
    /// Login name, if the server wants one.
    pub username: Option<String>,
    /// The login password, sealed with the server's encryption key.
    pub password_sealed: Option<String>,
    /// The sender's display name (the brand's name when unset).
    pub from_name: Option<String>,
    /// The sender's address.
    pub from_address: String,
}

impl EmailSettings {
    /// The login password, opened with `key`.
    pub fn password(&self, key: &SecretKey) -> Result<Option<String>> {
        self.password_sealed
            .as_deref()
            .map(|sealed| key.open(SMTP_PASSWORD, sealed))
            .transpose()
    }

    /// What the audit log and the API may show: everything but the password.
    pub fn public_view(&self) -> serde_json::Value {
        json!({
            "host": self.host,
            "port": self.port,
            "tls": self.tls.as_str(),
            "username": self.username,
            "password_set": self.password_sealed.is_some(),
            "from_name": self.from_name,
            "from_address": self.from_address,
        })
    }
}

/// A change of the password in [`EmailChange`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordChange {
    /// Keep the stored password.
    Keep,
    /// Remove it.
    Clear,
    /// Store this one.
    Set(String),
}

/// New e-mail settings as typed by an admin.
#[derive(Debug, Clone)]
pub struct EmailChange {
    /// SMTP server host name or address.
    pub host: String,
    /// Port; the usual one for `tls` when `None`.
    pub port: Option<u16>,
    /// How the connection is secured.
    pub tls: SmtpTls,
    /// Login name.
    pub username: Option<String>,
    /// The password.
    pub password: PasswordChange,
    /// Sender display name.
    pub from_name: Option<String>,
    /// Sender address.
    pub from_address: String,
}

const EMAIL: &str = "email";
/// The purpose the SMTP password is sealed for.
const SMTP_PASSWORD: &str = "smtp_password";

/// Checks an SMTP host: a DNS name or an IP address, nothing that could smuggle anything
/// into a connection string.
fn check_host(host: &str) -> Result<String> {
    let host = host.trim();
    let fine = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !fine {
        return Err(Error::field(
            "host",
            "enter the SMTP server's host name or IP address, like smtp.example.com",
        ));
    }
    Ok(host.to_ascii_lowercase())
}

/// Optional text: trimmed, empty is none, at most `max` characters, no line breaks.
fn optional_text(field: &'static str, value: Option<String>, max: usize) -> Result<Option<String>> {
    let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(Error::field(
            field,
            format!("use at most {max} characters on one line"),
        ));
    }
    Ok(Some(value))
}

/// The brand's own e-mail settings, if it has any (for the mail worker and the test mail;
/// no permission involved).
pub async fn email_for_sending(store: &TenantStore) -> Result<Option<EmailSettings>> {
    let mut tx = store.read().await?;
    area_in(&mut tx, EMAIL).await
}

/// Whether the brand has its own SMTP server (read for pages that say whether mail goes
/// out; cached until the store changes: [`crate::cache`]).
pub async fn has_own_email(store: &TenantStore) -> Result<bool> {
    let cached = &store.cached;
    if let Some(own) = cached.get(&cached.caches.custom_email, &cached.id()) {
        return Ok(own);
    }
    let stamp = cached.stamp();
    let own = email_for_sending(store).await?.is_some();
    cached.keep(&cached.caches.custom_email, cached.id(), stamp, own);
    Ok(own)
}

/// The brand's own e-mail settings, for an admin.
pub async fn email(
    store: &TenantStore,
    _permit: &Permitted<'_, need::SettingsManage>,
) -> Result<Option<EmailSettings>> {
    email_for_sending(store).await
}

/// Sets the brand's own e-mail settings; the password is sealed with `key`.
pub async fn set_email(
    store: &TenantStore,
    permit: &Permitted<'_, need::SettingsManage>,
    key: &SecretKey,
    change: EmailChange,
) -> Result<EmailSettings> {
    let host = check_host(&change.host)?;
    let port = change.port.unwrap_or_else(|| change.tls.default_port());
    if port == 0 {
        return Err(Error::field("port", "use a port from 1 to 65535"));
    }
    let from_address = Email::parse(&change.from_address)
        .map_err(|e| Error::field("from_address", e.to_string()))?
        .as_str()
        .to_owned();
    let from_name = optional_text("from_name", change.from_name, 100)?;
    let username = optional_text("username", change.username, 254)?;
    let mut tx = store.write().await?;
    let before: Option<EmailSettings> = area_in(&mut tx, EMAIL).await?;
    let password_sealed = match change.password {
        PasswordChange::Keep => before.as_ref().and_then(|b| b.password_sealed.clone()),
        PasswordChange::Clear => None,
        PasswordChange::Set(password) if password.is_empty() => None,
        PasswordChange::Set(password) => Some(key.seal(SMTP_PASSWORD, &password)?),
    };
    if password_sealed.is_some() && username.is_none() {
        return Err(Error::field(
            "username",
            "a password needs a user name to sign in with",
        ));
    }
    let settings = EmailSettings {
        host,
        port,
        tls: change.tls,
        username,
        password_sealed,
        from_name,
        from_address,
    };
    put_area(&mut tx, EMAIL, Some(&settings)).await?;
    let mut after = settings.public_view();
    after["password_changed"] = json!(
        before.as_ref().and_then(|b| b.password_sealed.as_ref())
            != settings.password_sealed.as_ref()
    );
    audit::note(
        &Actor::from(permit.principal()),
        "settings.email_update",
        Target::new("settings", EMAIL),
    )
    .before_maybe(before.as_ref().map(EmailSettings::public_view))
    .after(after)
    .write(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(settings)
}

/// Removes the brand's own e-mail settings: its mail goes through the platform's `[smtp]`
/// again. Whether there were any.
pub async fn clear_email(
    store: &TenantStore,
    permit: &Permitted<'_, need::SettingsManage>,
) -> Result<bool> {
    let mut tx = store.write().await?;
    let Some(before) = area_in::<EmailSettings>(&mut tx, EMAIL).await? else {
        return Ok(false);
    };
    put_area::<EmailSettings>(&mut tx, EMAIL, None).await?;
    audit::note(
        &Actor::from(permit.principal()),
        "settings.email_remove",
        Target::new("settings", EMAIL),
    )
    .before(before.public_view())
    .write(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The payment gateways a brand can hold keys for (invoices use them).
pub const GATEWAYS: &[&str] = &["stripe", "paypal", "mollie", "square"];
const PAYMENTS: &str = "payments";
/// The purpose payment secrets are sealed for.
const PAYMENT_SECRET: &str = "payment_secret";

/// One gateway's settings as stored (the secret key sealed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewaySettings {
    /// Whether invoices may offer it.
    pub enabled: bool,
    /// The public (publishable) key or client id.
    pub public_key: Option<String>,
    /// The secret key, sealed with the server's encryption key.
    pub secret_sealed: Option<String>,
    /// The webhook signing secrets (Stripe's `whsec_…`; PayPal's webhook id), newest
    /// first, sealed: the newest few are all accepted so that a secret can be rolled.
    pub webhook_secrets_sealed: Vec<String>,
}

/// How many webhook secrets are kept (a new one pushes out the oldest).
pub const WEBHOOK_SECRETS_KEPT: usize = 3;

/// The payment settings: gateways by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Payments {
    /// By gateway name.
    pub gateways: std::collections::BTreeMap<String, GatewaySettings>,
}

/// A change to one gateway: `None` keeps a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct GatewayChange {
    /// Turn it on or off.
    pub enabled: Option<bool>,
    /// The public key.
    pub public_key: Option<Option<String>>,
    /// The secret key (sealed before it is stored).
    pub secret_key: Option<Option<String>>,
    /// A webhook signing secret: `Some(Some(_))` adds it as the newest (the previous ones
    /// keep working while the provider rolls them), `Some(None)` forgets all of them.
    pub webhook_secret: Option<Option<String>>,
}

/// The gateways clients can pay through online (checkout and signed webhooks); the others'
/// keys are kept for when they are.
pub const ONLINE: &[&str] = &["stripe", "paypal"];

impl GatewaySettings {
    /// Whether clients can pay through it: turned on, with its secret key and a webhook
    /// secret (without one no payment could ever be confirmed).
    pub fn ready(&self) -> bool {
        self.enabled && self.secret_sealed.is_some() && !self.webhook_secrets_sealed.is_empty()
    }
}

/// The payment settings as stored, read inside a transaction (checkouts and webhooks).
pub(crate) async fn payments_in(tx: &mut Tx) -> Result<Payments> {
    Ok(area_in(tx, PAYMENTS).await?.unwrap_or_default())
}

/// Opens a secret sealed by the payment settings.
pub(crate) fn open_payment_secret(key: &SecretKey, sealed: &str) -> Result<String> {
    key.open(PAYMENT_SECRET, sealed).map_err(|_| {
        Error::Conflict(
            "the payment keys were sealed with another encryption key: enter them again in the payment settings"
                .to_owned(),
        )
    })
}

/// The secret shown masked: its last four characters only.
pub fn masked(secret: &str) -> String {
    let tail: String = secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if secret.chars().count() <= 8 {
        "••••".to_owned()
    } else {
        format!("••••{tail}")
    }
}

impl Payments {
    /// What the API and pages show: every known gateway, secrets masked.
    pub fn view(&self, key: &SecretKey) -> serde_json::Value {
        let gateways: Vec<serde_json::Value> = GATEWAYS
            .iter()
            .map(|name| {
                let stored = self.gateways.get(*name).cloned().unwrap_or_default();
                let masked_secret = stored.secret_sealed.as_deref().map(|sealed| {
                    key.open(PAYMENT_SECRET, sealed).map_or_else(
                        |_| "(sealed with another key: enter it again)".to_owned(),
                        |s| masked(&s),
                    )
                });
                let webhook_masked: Vec<String> = stored
                    .webhook_secrets_sealed
                    .iter()
                    .map(|sealed| {
                        key.open(PAYMENT_SECRET, sealed).map_or_else(
                            |_| "(sealed with another key: enter it again)".to_owned(),
                            |s| masked(&s),
                        )
                    })
                    .collect();
                json!({
                    "name": name,
                    "enabled": stored.enabled,
                    "public_key": stored.public_key,
                    "secret_key_set": stored.secret_sealed.is_some(),
                    "secret_key_masked": masked_secret,
                    "webhook_secrets_masked": webhook_masked,
                    "online": ONLINE.contains(name),
                    "ready": ONLINE.contains(name) && stored.ready(),
                })
            })
            .collect();
        json!({ "gateways": gateways })
    }

    /// What the audit log records: no secret, not even masked.
    fn audit_view(&self) -> serde_json::Value {
        let gateways: serde_json::Map<String, serde_json::Value> = self
            .gateways
            .iter()
            .map(|(name, g)| {
                (
                    name.clone(),
                    json!({"enabled": g.enabled, "public_key": g.public_key, "secret_key_set": g.secret_sealed.is_some(), "webhook_secrets": g.webhook_secrets_sealed.len()}),
                )
            })
            .collect();
        json!({ "gateways": gateways })
    }
}

/// A key as typed: trimmed, one line of at most 500 printable characters without spaces.
fn key_text(field: &'static str, value: Option<String>) -> Result<Option<String>> {
    let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.len() > 500 || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::field(
            field,
            "paste the key exactly as the gateway shows it: one line, no spaces",
        ));
    }
    Ok(Some(value))
}

/// The payment settings (`payments.settings`).
pub async fn payments(
    store: &TenantStore,
    _permit: &Permitted<'_, need::PaymentsSettings>,
) -> Result<Payments> {
    let mut tx = store.read().await?;
    Ok(area_in(&mut tx, PAYMENTS).await?.unwrap_or_default())
}

/// Changes gateways; every change is checked before any is kept. Audited without secrets.
pub async fn set_payments(
    store: &TenantStore,
    permit: &Permitted<'_, need::PaymentsSettings>,
    key: &SecretKey,
    changes: Vec<(String, GatewayChange)>,
) -> Result<Payments> {
    let mut tx = store.write().await?;
    let before: Payments = area_in(&mut tx, PAYMENTS).await?.unwrap_or_default();
    let mut after = before.clone();
    for (name, change) in changes {
        if !GATEWAYS.contains(&name.as_str()) {
            return Err(Error::field(
                "gateways",
                format!(
                    "unknown gateway '{name}'; use one of {}",
                    GATEWAYS.join(", ")
                ),
            ));
        }
        let gateway = after.gateways.entry(name).or_default();
        if let Some(enabled) = change.enabled {
            gateway.enabled = enabled;
        }
        if let Some(public) = change.public_key {
            gateway.public_key = key_text("public_key", public)?;
        }
        if let Some(secret) = change.secret_key {
            gateway.secret_sealed = key_text("secret_key", secret)?
                .map(|s| key.seal(PAYMENT_SECRET, &s))
                .transpose()?;
        }
        if let Some(secret) = change.webhook_secret {
            match key_text("webhook_secret", secret)? {
                Some(secret) => {
                    let sealed = key.seal(PAYMENT_SECRET, &secret)?;
                    let known = gateway.webhook_secrets_sealed.iter().position(|old| {
                        key.open(PAYMENT_SECRET, old).ok().as_deref() == Some(secret.as_str())
                    });
                    if let Some(at) = known {
                        gateway.webhook_secrets_sealed.remove(at);
                    }
                    gateway.webhook_secrets_sealed.insert(0, sealed);
                    gateway
                        .webhook_secrets_sealed
                        .truncate(WEBHOOK_SECRETS_KEPT);
                }
                None => gateway.webhook_secrets_sealed.clear(),
            }
        }
        if gateway.enabled && gateway.secret_sealed.is_none() {
            return Err(Error::field(
                "secret_key",
                "a gateway needs its secret key before it can be turned on",
            ));
        }
    }
    after
        .gateways
        .retain(|_, g| *g != GatewaySettings::default());
    put_area(&mut tx, PAYMENTS, Some(&after)).await?;
    audit::note(
        &Actor::from(permit.principal()),
        "settings.payments_update",
        Target::new("settings", PAYMENTS),
    )
    .before(before.audit_view())
    .after(after.audit_view())
    .write(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// This module's tables in backups (parents first), each with its columns (the first is
/// the key rows are ordered by).
pub(crate) const BACKUP: &[Table] = &[(
    "brand_settings",
    &[
        ("area", Column::Text),
        ("value", Column::Text),
        ("updated_at", Column::Time),
    ],
)];
