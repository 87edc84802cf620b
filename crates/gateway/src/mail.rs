//! The mail worker: every few seconds each replica claims the due mail of every active
//! brand from its outbox, renders it in the brand's name (plain text and HTML), and sends
//! it with lettre through the brand's own SMTP settings, or else the platform's `[smtp]`. A failure is kept with its reason and tried again after
//! a minute, doubling up to an hour, until the mail's link expires; SMTP being down never
//! loses a mail. A claim lasts two minutes, so two replicas do not send the same mail.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use maud::{DOCTYPE, html};
use secrecy::ExposeSecret as _;
use serde_json::Value;
use tenant_core::accounts::credentials::{self, LinkKind};
use tenant_core::brand::branding::{self, Look};
use tenant_core::brand::outbox::{self, MailKind, OutboxMail};
use tenant_core::brand::settings::{self, EmailSettings, SmtpTls};
use tenant_core::platform::secrets::SecretKey;
use tenant_core::{Hostname, Serving, TenantContext};
use time::{Duration, OffsetDateTime};
use tokio::sync::watch;
use web::api::{MailFuture, Postmaster, TestMail};

use crate::config::Config;
use crate::edge::Edge;
use crate::outcome::Failure;
use crate::platform::public_base;
use tenant_core::talk::replies::{self, ReplyAddress};

/// How often each replica looks at the outboxes.
const ROUND: StdDuration = StdDuration::from_secs(2);
/// How long a claimed mail is this replica's to send.
const CLAIM: Duration = Duration::minutes(2);
/// Mails claimed per brand per round: few enough that the last is sent (each SMTP
/// conversation taking at most [`SMTP_TIMEOUT`]) before the claim runs out and another
/// replica could take it.
const BATCH: i64 = 3;
/// Back-off after the first failure, and its ceiling.
const FIRST_RETRY: Duration = Duration::minutes(1);
const LAST_RETRY: Duration = Duration::hours(1);
/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: StdDuration = StdDuration::from_secs(30);
const _: () = assert!(
    (BATCH as u64) * SMTP_TIMEOUT.as_secs() < CLAIM.whole_seconds() as u64,
    "a batch must be sent within its claim"
);
/// Attempts after which a mail without an expiring link (a notice) is given up: two days
/// of hourly retries.
const NOTICE_ATTEMPTS: i32 = 50;

/// How a brand's mail leaves: an SMTP transport and the sender.
#[derive(Clone)]
struct Route {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// The sender's address.
    from: lettre::Address,
    /// The sender's name; the brand's name when `None`.
    from_name: Option<String>,
    /// `brand` or `platform`.
    via: &'static str,
    /// `host:port`, for messages.
    server: String,
}

/// Sends every brand's mail: through the brand's own SMTP settings when it has them, else
/// through the platform's `[smtp]`; a brand with neither keeps its mail queued.
pub struct Mailer {
    platform: Option<Route>,
    key: Arc<SecretKey>,
    config: Config,
    holder: String,
    /// Transports of brands with their own settings, by domain, made again when the
    /// settings change.
    brands: Mutex<HashMap<String, (EmailSettings, SocketAddr, Route)>>,
    /// `[smtp] allow_private_hosts`: brands' own servers may be on private addresses.
    allow_private_hosts: bool,
    /// `[reply] address`: notification mails about conversations can be answered there.
    reply: Option<ReplyAddress>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("platform", &self.platform.as_ref().map(|r| &r.server))
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

/// An SMTP transport to `host:port` (connecting to `address` when given: the address the
/// host was checked at, so a second DNS answer cannot send it elsewhere; TLS still checks
/// the certificate against `host`).
fn transport(
    host: &str,
    address: Option<IpAddr>,
    port: u16,
    tls: SmtpTls,
    credentials: Option<(String, String)>,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let bad = |e: lettre::transport::smtp::Error| format!("host '{host}' cannot be used: {e}");
    let parameters = || TlsParameters::new(host.to_owned()).map_err(bad);
    let server = address.map_or_else(|| host.to_owned(), |ip| ip.to_string());
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server)
        .port(port)
        .timeout(Some(SMTP_TIMEOUT));
    builder = match tls {
        SmtpTls::Tls => builder.tls(Tls::Wrapper(parameters()?)),
        SmtpTls::None => builder.tls(Tls::None),
        SmtpTls::Starttls => builder.tls(Tls::Required(parameters()?)),
    };
    if let Some((username, password)) = credentials {
        builder = builder.credentials(Credentials::new(username, password));
    }
    Ok(builder.build())
}

/// The route of `[smtp]`, or `None` when no host is configured.
fn platform_route(config: &Config) -> Result<Option<Route>, Failure> {
    let smtp = &config.smtp;
    let Some(host) = smtp.host.as_deref() else {
        return Ok(None);
    };
    let tls = match smtp.tls.as_str() {
        "tls" => SmtpTls::Tls,
        "none" => SmtpTls::None,
        _ => SmtpTls::Starttls,
    };
    let credentials = smtp.username.as_ref().map(|username| {
        let password = smtp
            .password
            .as_ref()
            .map(|p| p.expose_secret().to_owned())
            .unwrap_or_default();
        (username.clone(), password)
    });
    let transport = transport(host, None, smtp.port, tls, credentials)
        .map_err(|e| Failure::BadInput(format!("[smtp] {e}")))?;
    let from = config.smtp.from.as_deref().ok_or_else(|| {
        Failure::BadInput(
            "[smtp] from is missing: set the sender address mail goes out from (TASKSESSION_SMTP_FROM)"
                .to_owned(),
        )
    })?;
    let from: lettre::Address = from.parse().map_err(|e| {
        Failure::BadInput(format!(
            "[smtp] from: '{from}' is not an e-mail address: {e}"
        ))
    })?;
    Ok(Some(Route {
        transport,
        from,
        from_name: None,
        via: "platform",
        server: format!("{host}:{}", smtp.port),
    }))
}

/// The route of a brand's own settings.
fn brand_route(
    settings: &EmailSettings,
    address: SocketAddr,
    key: &SecretKey,
) -> Result<Route, String> {
    let password = settings.password(key).map_err(|e| e.to_string())?;
    let credentials = settings
        .username
        .clone()
        .map(|username| (username, password.unwrap_or_default()));
    let transport = transport(
        &settings.host,
        Some(address.ip()),
        settings.port,
        settings.tls,
        credentials,
    )?;
    let from = settings
        .from_address
        .parse()
        .map_err(|e| format!("the sender address is not usable: {e}"))?;
    Ok(Route {
        transport,
        from,
        from_name: settings.from_name.clone(),
        via: "brand",
        server: format!("{}:{}", settings.host, settings.port),
    })
}

impl Mailer {
    /// The mailer; `config`'s listener ports are the bound ones, for links. A bad `[smtp]`
    /// is an error; no `[smtp]` at all leaves only brands with their own settings mailing.
    pub fn from_config(
        config: &Config,
        key: Arc<SecretKey>,
        reply: Option<ReplyAddress>,
    ) -> Result<Mailer, Failure> {
        let platform = platform_route(config)?;
        let mut id = [0_u8; 6];
        let _ = getrandom::fill(&mut id);
        Ok(Mailer {
            platform,
            key,
            config: config.clone(),
            holder: format!(
                "mail-{}-{}",
                std::process::id(),
                id.iter().map(|b| format!("{b:02x}")).collect::<String>()
            ),
            brands: Mutex::new(HashMap::new()),
            allow_private_hosts: config.smtp.allow_private_hosts,
            reply,
        })
    }

    /// Whether the platform's `[smtp]` is set.
    pub fn platform_default(&self) -> bool {
        self.platform.is_some()
    }

    /// How `domain`'s mail leaves now: `Ok(None)` when mail is not set up for it, `Err`
    /// with the reason when its own settings cannot be used.
    async fn route(
        &self,
        store: &tenant_core::TenantStore,
        domain: &Hostname,
    ) -> Result<Option<Route>, String> {
        let custom = settings::email_for_sending(store)
            .await
            .map_err(|e| format!("cannot read the e-mail settings: {e}"))?;
        let Some(custom) = custom else {
            return Ok(self.platform.clone());
        };
        let address = server_address(&custom.host, custom.port, self.allow_private_hosts).await?;
        if let Ok(brands) = self.brands.lock()
            && let Some((known, known_address, route)) = brands.get(domain.as_str())
            && *known == custom
            && *known_address == address
        {
            return Ok(Some(route.clone()));
        }
        let route = brand_route(&custom, address, &self.key)?;
        if let Ok(mut brands) = self.brands.lock() {
            brands.insert(domain.as_str().to_owned(), (custom, address, route.clone()));
        }
        Ok(Some(route))
    }

    /// Sends due mail until `stop` turns true.
    pub async fn run(self: Arc<Self>, edge: Arc<Edge>, mut stop: watch::Receiver<bool>) {
        let mut ticker = tokio::time::interval(ROUND);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => return,
            }
            tokio::select! {
                () = self.round(&edge) => {}
                _ = stop.changed() => return,
            }
        }
    }

    async fn round(&self, edge: &Edge) {
        let directory = edge.directory();
        let standing = edge.standing();
        for domain in directory.domains() {
            let Some(entry) = directory.lookup(domain) else {
                continue;
            };
            if entry.serving != Serving::Active {
                continue;
            }
            let context = match edge.platform.context(entry).await {
                Ok(context) => context,
                Err(error) => {
                    tracing::error!(%domain, %error, "cannot open the brand store for mail");
                    continue;
                }
            };
            let store = context.store();
            let route = match self.route(store, domain).await {
                Ok(Some(route)) => Ok(route),
                // Not set up: the mail waits in the outbox.
                Ok(None) => continue,
                Err(reason) => Err(reason),
            };
            let due = match outbox::claim_due(store, &self.holder, BATCH, CLAIM).await {
                Ok(due) => due,
                Err(error) => {
                    tracing::error!(%domain, %error, "cannot read the mail outbox");
                    continue;
                }
            };
            let base = public_base(&self.config, domain, &standing);
            let look = match branding::look(&context).await {
                Ok(look) => look,
                Err(error) => {
                    tracing::error!(%domain, %error, "cannot read the brand's look for mail");
                    continue;
                }
            };
            for item in due {
                self.deliver(&context, route.as_ref(), &look, &base, item)
                    .await;
            }
        }
    }

    /// Sends one mail through `route` (or records why it cannot) and records the outcome.
    async fn deliver(
        &self,
        context: &TenantContext,
        route: Result<&Route, &String>,
        look: &Look,
        base: &str,
        item: OutboxMail,
    ) {
        let store = context.store();
        let domain = &context.tenant.domain;
        let expires_at = item
            .params
            .get("expires_at")
            .and_then(Value::as_i64)
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
        if expires_at.is_some_and(|t| t <= OffsetDateTime::now_utc()) {
            if let Err(error) =
                outbox::abandon(store, &item.id, "its link expired before it could be sent").await
            {
                tracing::error!(%domain, %error, "cannot update the mail outbox");
            }
            tracing::warn!(%domain, mail = %item.id, "a mail's link expired before it could be sent");
            return;
        }
        let mut item = item;
        if matches!(item.kind, MailKind::Notification | MailKind::Digest) {
            // The unsubscribe link is sealed with the server's key when the mail is made.
            match tenant_core::talk::notifications::unsubscribe_url(store, base, &item.params) {
                Ok(url) => item.params["unsubscribe_url"] = Value::String(url),
                Err(error) => tracing::error!(%domain, %error, "cannot make an unsubscribe link"),
            }
            // Answerable by mail: the reply address names the brand and the notification,
            // signed with the server's key.
            if let Some(reply) = &self.reply
                && let Some(notification) = replies::answerable(&item.params)
            {
                match replies::token(&self.key, &context.tenant.id, notification) {
                    Ok(token) => item.params["reply_to"] = Value::String(reply.with_token(&token)),
                    Err(error) => tracing::error!(%domain, %error, "cannot make a reply address"),
                }
            }
        }
        let mut attachment = None;
        if item.kind == MailKind::Invoice {
            match invoice_mail(store, look, &mut item).await {
                Ok(pdf) => attachment = Some(pdf),
                Err(why) => {
                    if let Err(error) = outbox::abandon(store, &item.id, &why).await {
                        tracing::error!(%domain, %error, "cannot update the mail outbox");
                    }
                    tracing::info!(%domain, mail = %item.id, reason = %why, "an invoice mail is not sent");
                    return;
                }
            }
        }
        let outcome = match route {
            Ok(route) => match render(look, base, &item).and_then(|mut rendered| {
                rendered.attachment = attachment;
                message(route, look, domain, &item.id, &item.recipient, rendered)
            }) {
                Ok(message) => route.transport.send(message).await.map(|_| ()).map_err(|e| {
                    tracing::warn!(%domain, server = %route.server, error = %error_chain(&e), "the mail server did not take a mail");
                    failure_sentence(&route.server, &e)
                }),
                Err(error) => Err(error),
            },
            Err(reason) => Err(reason.clone()),
        };
        let recorded = match &outcome {
            Ok(()) => {
                tracing::info!(%domain, mail = %item.id, kind = item.kind.as_str(), "mail sent");
                outbox::mark_sent(store, &item.id).await
            }
            Err(error) if expires_at.is_none() && item.attempts + 1 >= NOTICE_ATTEMPTS => {
                tracing::error!(%domain, mail = %item.id, %error, "mail given up after {NOTICE_ATTEMPTS} attempts");
                outbox::abandon(store, &item.id, error).await
            }
            Err(error) => {
                let next = next_attempt(item.attempts + 1, OffsetDateTime::now_utc());
                tracing::warn!(%domain, mail = %item.id, %error, next_attempt = %next, "mail not sent; it will be tried again");
                outbox::mark_failed(store, &item.id, error, next).await
            }
        };
        if let Err(error) = recorded {
            tracing::error!(%domain, %error, "cannot update the mail outbox");
        }
        if item.kind == MailKind::Invoice {
            // The invoice's history says who got it, or that the server gave up.
            let given_up = outcome.is_err() && item.attempts + 1 >= NOTICE_ATTEMPTS;
            if outcome.is_ok() || given_up {
                let invoice_id = item
                    .params
                    .get("invoice")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let reminder = item.params.get("reminder").and_then(Value::as_u64);
                if let Err(error) = tenant_core::finance::mailing::note_mail_outcome(
                    store,
                    invoice_id,
                    &item.recipient,
                    reminder,
                    outcome.as_ref().err().map(String::as_str),
                )
                .await
                {
                    tracing::error!(%domain, %error, "cannot write an invoice's history");
                }
            }
        }
    }

    /// Sends a test mail to `to` through `tenant`'s route now.
    async fn test(&self, tenant: &TenantContext, base: &str, to: &str) -> Result<TestMail, String> {
        let domain = &tenant.tenant.domain;
        let look = branding::look(tenant)
            .await
            .map_err(|e| format!("cannot read the brand's look: {e}"))?;
        let brand = &look.name;
        let route = self.route(tenant.store(), domain).await?.ok_or_else(|| {
            "e-mail is not set up for this workspace: enter your SMTP server in the e-mail settings first".to_owned()
        })?;
        let mut id = [0_u8; 12];
        let _ = getrandom::fill(&mut id);
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let rendered = letter(
            &look,
            base,
            to,
            format!("Test mail from {brand}"),
            vec![
                Part::Text(format!(
                    "This is a test mail from {brand}'s workspace at {base}: e-mail is set up and working."
                )),
                Part::Text(format!("It went out through {}.", route.server)),
            ],
        );
        let message = message(&route, &look, domain, &id, to, rendered)?;
        route
            .transport
            .send(message)
            .await
            .map_err(|e| {
                // The server's own words stay in the operator's log: a brand admin could
                // otherwise read what any service on the server's network says.
                tracing::warn!(%domain, server = %route.server, error = %error_chain(&e), "test mail refused");
                failure_sentence(&route.server, &e)
            })?;
        tracing::info!(%domain, via = route.via, "test mail sent");
        Ok(TestMail {
            via: route.via,
            server: route.server,
        })
    }
}

impl Postmaster for Mailer {
    fn key(&self) -> &SecretKey {
        &self.key
    }

    fn send_test<'a>(
        &'a self,
        tenant: &'a TenantContext,
        base: &'a str,
        to: &'a str,
    ) -> MailFuture<'a> {
        Box::pin(self.test(tenant, base, to))
    }

    fn sends_by_default(&self) -> bool {
        self.platform_default()
    }
}

/// The message of `rendered` to `to`, from the route's sender in the brand's name.
fn message(
    route: &Route,
    look: &Look,
    domain: &Hostname,
    id: &str,
    to: &str,
    rendered: Rendered,
) -> Result<Message, String> {
    let to: Mailbox = to
        .parse()
        .map_err(|e| format!("the recipient address is not usable: {e}"))?;
    let name = route
        .from_name
        .clone()
        .unwrap_or_else(|| look.sender_name.clone());
    let mut builder = Message::builder();
    if let Some(url) = &rendered.unsubscribe {
        // RFC 2369 and RFC 8058: mail programs offer a one-click unsubscribe that POSTs
        // `List-Unsubscribe=One-Click` to this address, with no sign-in.
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    if let Some(reply_to) = &rendered.reply_to {
        let reply_to: Mailbox = reply_to
            .parse()
            .map_err(|e| format!("the reply address is not usable: {e}"))?;
        builder = builder.reply_to(reply_to);
    }
    let body = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(rendered.text),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(rendered.html),
        );
    let body = match rendered.attachment {
        Some((file_name, bytes)) => MultiPart::mixed().multipart(body).singlepart(
            Attachment::new(file_name).body(
                bytes,
                ContentType::parse("application/pdf")
                    .map_err(|e| format!("cannot name the attachment's type: {e}"))?,
            ),
        ),
        None => body,
    };
    builder
        .from(Mailbox::new(Some(name), route.from.clone()))
        .to(to)
        .subject(rendered.subject)
        .message_id(Some(format!("<{id}@{domain}>")))
        .multipart(body)
        .map_err(|e| format!("cannot build the message: {e}"))
}

/// When to try a mail again after its `failures`-th failed attempt.
fn next_attempt(failures: i32, now: OffsetDateTime) -> OffsetDateTime {
    let doublings = u32::try_from(failures.saturating_sub(1))
        .unwrap_or(0)
        .min(10);
    let wait = FIRST_RETRY
        .checked_mul(1_i32 << doublings)
        .unwrap_or(LAST_RETRY)
        .min(LAST_RETRY);
    now + wait
}

/// What a brand admin is told when `server` did not take a mail: the kind of failure and
/// the SMTP reply code, never the server's text.
fn failure_sentence(server: &str, error: &lettre::transport::smtp::Error) -> String {
    let what = if error.is_timeout() {
        "did not answer in time".to_owned()
    } else if error.is_tls() {
        "could not be reached over TLS: check the security setting and the port".to_owned()
    } else if let Some(code) = error.status() {
        format!(
            "refused it with SMTP reply code {code}: check the login, the sender address and the security setting"
        )
    } else if error.is_response() || error.is_client() {
        "did not answer as a mail server: check the host and the port".to_owned()
    } else {
        "could not be reached: check the host and the port".to_owned()
    };
    format!("{server} {what}; the server's log has its full answer")
}

/// Where a brand's own mail server `host:port` is: every address the name resolves to must
/// be public (not loopback, private, link-local, shared or unspecified) unless
/// `[smtp] allow_private_hosts` is on, so a brand admin cannot make this server talk to
/// services on its own network.
async fn server_address(host: &str, port: u16, allow_private: bool) -> Result<SocketAddr, String> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| format!("the mail server's name {host} does not resolve"))?
        .collect();
    let Some(first) = addresses.first().copied() else {
        return Err(format!("the mail server's name {host} does not resolve"));
    };
    if !allow_private && addresses.iter().any(|address| !is_public(address.ip())) {
        return Err(format!(
            "the mail server {host} is on a loopback, private or link-local address, which brands' mail servers may not use; ask the server's operator (setting smtp.allow_private_hosts)"
        ));
    }
    Ok(first)
}

/// Whether `ip` is an address on the public internet.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

fn error_chain(error: &lettre::transport::smtp::Error) -> String {
    let mut message = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = inner.source();
    }
    message
}

/// A rendered mail.
#[derive(Debug)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// The one-click unsubscribe address, for notification mails.
    pub unsubscribe: Option<String>,
    /// The address a reply goes to (`Reply-To`), for notification mails that can be
    /// answered by mail.
    pub reply_to: Option<String>,
    /// A file sent with it (an invoice's PDF): its name and bytes.
    pub attachment: Option<(String, Vec<u8>)>,
}

/// Reads the invoice an invoice mail is about as it is now, puts what the mail says of it
/// into the mail's parameters, and makes its PDF; the error says why the mail is not to be
/// sent at all (the invoice is gone, or a reminder's invoice was paid meanwhile).
async fn invoice_mail(
    store: &tenant_core::TenantStore,
    look: &Look,
    item: &mut OutboxMail,
) -> Result<(String, Vec<u8>), String> {
    use tenant_core::finance::mailing;
    let invoice_id = text_param(item, "invoice")?;
    let invoice = mailing::invoice_for_mail(store, &invoice_id)
        .await
        .map_err(|e| format!("cannot read the invoice: {e}"))?
        .ok_or("the invoice no longer exists")?;
    let reminder = item.params.get("step").and_then(Value::as_str) == Some("reminder");
    if reminder && !mailing::still_owed(&invoice) {
        return Err("the invoice was paid or cancelled before its reminder went out".to_owned());
    }
    let money = |minor: i64| {
        format!(
            "{} {}",
            invoice.currency.format(minor),
            invoice.currency.code()
        )
    };
    item.params["number"] = Value::String(invoice.number.clone().unwrap_or_default());
    item.params["total"] = Value::String(money(invoice.total));
    item.params["balance"] = Value::String(money(invoice.balance()));
    item.params["due"] = Value::String(look.date_format.date(invoice.due_on));
    web::invoice_attachment(&invoice, look)
        .await
        .map_err(str::to_owned)
}

/// A text parameter of an outbox mail.
fn text_param(item: &OutboxMail, key: &str) -> Result<String, String> {
    item.params
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("the outbox mail has no {key}"))
}

/// A paragraph of a mail: text, or a link with its label.
enum Part {
    Text(String),
    Link { label: &'static str, url: String },
}

/// A mail to `name` signed by the brand, in its look (logo, primary colour): plain text
/// and HTML made from the same parts, so the two never say different things (everything
/// in the HTML is escaped).
fn letter(look: &Look, base: &str, name: &str, subject: String, parts: Vec<Part>) -> Rendered {
    let brand = &look.name;
    let mut text = format!("Hello {name},\n\n");
    for part in &parts {
        match part {
            Part::Text(paragraph) => text.push_str(&format!("{paragraph}\n\n")),
            Part::Link { label, url } => text.push_str(&format!("{label}: {url}\n\n")),
        }
    }
    text.push_str(&format!("— {brand}\n"));
    let border = format!("border-top: 6px solid {}; padding-top: 12px", look.primary);
    let button = format!(
        "display:inline-block;background:{};color:#ffffff;padding:10px 18px;border-radius:6px;text-decoration:none;font-weight:600",
        look.primary
    );
    let html = html! {
        (DOCTYPE)
        html {
            body style="font-family: sans-serif; line-height: 1.5; color: #1d1d1f" {
                div style=(border) {
                    @if let Some(digest) = &look.logo {
                        p { img src={ (base) "/branding/logo?v=" (digest) } alt=(brand) style="max-height:48px;max-width:200px"; }
                    }
                    p { "Hello " (name) "," }
                    @for part in &parts {
                        @match part {
                            Part::Text(paragraph) => p { (paragraph) },
                            Part::Link { label, url } => p { a href=(url) style=(button) { (label) } },
                        }
                    }
                    p { "— " (brand) }
                }
            }
        }
    };
    Rendered {
        subject,
        text,
        html: html.into_string(),
        unsubscribe: None,
        reply_to: None,
        attachment: None,
    }
}

/// Every mail, in the brand's name only.
pub fn render(look: &Look, base: &str, item: &OutboxMail) -> Result<Rendered, String> {
    let brand = &look.name;
    let name = text_param(item, "name")?;
    let (subject, parts) = match item.kind {
        MailKind::Invitation => (
            format!("You are invited to {brand}"),
            vec![
                Part::Text(format!("{brand} has invited you to its workspace.")),
                Part::Link {
                    label: "Set your password",
                    url: credentials::link(base, LinkKind::Invitation, &text_param(item, "token")?),
                },
                Part::Text("The link works once, for 7 days.".to_owned()),
            ],
        ),
        MailKind::PasswordReset => (
            format!("Set a new password for {brand}"),
            vec![
                Part::Text(format!(
                    "Someone (hopefully you) asked to set a new password for your {brand} account."
                )),
                Part::Link {
                    label: "Set a new password",
                    url: credentials::link(base, LinkKind::Reset, &text_param(item, "token")?),
                },
                Part::Text("The link works once, for an hour. If you did not ask for it, ignore this mail: your password stays as it is.".to_owned()),
            ],
        ),
        MailKind::TwoFactorChanged => {
            let on = item.params.get("enabled").and_then(Value::as_bool) == Some(true);
            let (state, what) = if on {
                ("on", "Two-factor sign-in was turned on for your account: signing in now also needs a code from your authenticator app (or one of your recovery codes).")
            } else {
                ("off", "Two-factor sign-in was turned off for your account: signing in now needs only your password.")
            };
            (
                format!("Two-factor sign-in is {state} for your {brand} account"),
                vec![
                    Part::Text(what.to_owned()),
                    Part::Text(format!("If this was not you, set a new password at once (\"Forgot your password?\" at {base}) and tell your administrator.")),
                ],
            )
        }
        MailKind::AccessExpiring => {
            let user_name = text_param(item, "user_name")?;
            let user_email = text_param(item, "user_email")?;
            let ends = item
                .params
                .get("ends_at")
                .and_then(Value::as_i64)
                .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
                .ok_or("the outbox mail has no end date")?;
            let when = format!(
                "{} {} {} at {:02}:{:02} UTC",
                ends.day(),
                ends.month(),
                ends.year(),
                ends.hour(),
                ends.minute()
            );
            (
                format!("{user_name}'s access to {brand} ends on {when}"),
                vec![
                    Part::Text(format!("{user_name} ({user_email}) will lose access to {brand} on {when}, as set on their account.")),
                    Part::Text(format!("If they still need it, change or remove the end date in the access review or on their account at {base}.")),
                ],
            )
        }
        MailKind::Notification => {
            let sentence = text_param(item, "sentence")?;
            let link = text_param(item, "link")?;
            let unsubscribe = text_param(item, "unsubscribe_url").ok();
            let reply_to = text_param(item, "reply_to").ok();
            let mut parts = Vec::new();
            if reply_to.is_some() {
                parts.push(Part::Text(replies::MARKER.to_owned()));
            }
            parts.push(Part::Text(sentence.clone()));
            parts.push(Part::Link {
                label: "Open it",
                url: format!("{base}{link}"),
            });
            if reply_to.is_some() {
                parts.push(Part::Text(format!(
                    "Reply to this mail to answer: what you write above the line becomes your comment in {brand}."
                )));
            }
            if let Some(url) = &unsubscribe {
                parts.push(Part::Text(format!(
                    "You get this mail because of your notification settings in {brand}. To stop mails like it: {url}"
                )));
            }
            let mut rendered = letter(look, base, &name, sentence, parts);
            rendered.unsubscribe = unsubscribe;
            rendered.reply_to = reply_to;
            return Ok(rendered);
        }
        MailKind::Digest => {
            let items = item
                .params
                .get("items")
                .and_then(Value::as_array)
                .ok_or("the outbox mail has no items")?;
            let mut parts = vec![Part::Text(format!(
                "What happened in {brand} since the last digest:"
            ))];
            for entry in items {
                let sentence = entry.get("sentence").and_then(Value::as_str).unwrap_or("");
                let link = entry.get("link").and_then(Value::as_str).unwrap_or("");
                parts.push(Part::Text(format!("• {sentence} {base}{link}")));
            }
            let unsubscribe = text_param(item, "unsubscribe_url").ok();
            if let Some(url) = &unsubscribe {
                parts.push(Part::Text(format!(
                    "Change what you are told and how in your notification settings ({base}/notifications), or stop these mails: {url}"
                )));
            }
            let count = items.len();
            let subject = if count == 1 {
                format!("1 update from {brand}")
            } else {
                format!("{count} updates from {brand}")
            };
            let mut rendered = letter(look, base, &name, subject, parts);
            rendered.unsubscribe = unsubscribe;
            return Ok(rendered);
        }
        MailKind::Invoice => {
            let number = text_param(item, "number")?;
            let total = text_param(item, "total")?;
            let balance = text_param(item, "balance")?;
            let due = text_param(item, "due")?;
            let invoice = text_param(item, "invoice")?;
            let credit_note = item.params.get("kind").and_then(Value::as_str) == Some("credit_note");
            let reminder = item.params.get("step").and_then(Value::as_str) == Some("reminder");
            let before_due = item.params.get("days").and_then(Value::as_i64).is_some_and(|d| d < 0);
            let link = Part::Link {
                label: if credit_note { "View the credit note" } else { "View and pay the invoice" },
                url: format!("{base}/invoices/{invoice}"),
            };
            let attached = Part::Text("The PDF is attached to this mail.".to_owned());
            if credit_note {
                (
                    format!("Credit note {number} from {brand}"),
                    vec![
                        Part::Text(format!("{brand} has sent you credit note {number} for {total}: it cancels an earlier invoice.")),
                        attached,
                        link,
                    ],
                )
            } else if reminder {
                let (subject, lead) = if before_due {
                    (
                        format!("Reminder: invoice {number} from {brand} is due on {due}"),
                        format!("A friendly reminder: invoice {number} from {brand} is due on {due}, and {balance} of its {total} is still to pay."),
                    )
                } else {
                    (
                        format!("Reminder: invoice {number} from {brand} was due on {due}"),
                        format!("Invoice {number} from {brand} was due on {due}, and {balance} of its {total} is still to pay. If you have paid it meanwhile, thank you, and please ignore this mail."),
                    )
                };
                (subject, vec![Part::Text(lead), attached, link])
            } else {
                (
                    format!("Invoice {number} from {brand}"),
                    vec![
                        Part::Text(format!("{brand} has sent you invoice {number} for {total}, due on {due}.")),
                        attached,
                        link,
                    ],
                )
            }
        }
        MailKind::Deactivated => {
            let lead = if item.params.get("reason").and_then(Value::as_str) == Some("access_expired") {
                format!("Your access to {brand} has ended on the date set for it.")
            } else {
                format!("An administrator of {brand} has deactivated your account.")
            };
            (
                format!("Your access to {brand} has ended"),
                vec![
                    Part::Text(lead),
                    Part::Text("Everything you worked on stays in the workspace. If you think this is a mistake, ask your contact there to reactivate you.".to_owned()),
                ],
            )
        }
    };
    Ok(letter(look, base, &name, subject, parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_count_as_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    fn look(name: &str) -> Look {
        Look {
            name: name.to_owned(),
            primary: "#0b3d2e".to_owned(),
            accent: "#8a3b12".to_owned(),
            sign_in_message: None,
            sender_name: name.to_owned(),
            custom_css: None,
            logo: Some("abc123".to_owned()),
            favicon: None,
            date_format: Default::default(),
        }
    }

    fn item(kind: MailKind, name: &str) -> OutboxMail {
        OutboxMail {
            id: "m1".to_owned(),
            kind,
            recipient: "ada@example.com".to_owned(),
            params: serde_json::json!({"name": name, "token": "tok", "expires_at": 0}),
            attempts: 0,
        }
    }

    #[test]
    fn an_invitation_names_the_brand_and_links_to_its_own_site() {
        let mail = render(
            &look("Acme <Studio>"),
            "https://projects.acme.test",
            &item(MailKind::Invitation, "Ada & Co"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mail.subject, "You are invited to Acme <Studio>");
        assert!(mail.text.contains("https://projects.acme.test/invite/tok"));
        assert!(mail.html.contains("Acme &lt;Studio&gt;") && !mail.html.contains("<Studio>"));
        assert!(mail.html.contains("Ada &amp; Co"));
        assert!(!mail.text.to_lowercase().contains("task session"));
        // The brand's colour and logo, from its own site.
        assert!(mail.html.contains("#0b3d2e"));
        assert!(
            mail.html
                .contains("src=\"https://projects.acme.test/branding/logo?v=abc123\"")
        );
        let reset = render(
            &look("Acme"),
            "https://a.test",
            &item(MailKind::PasswordReset, "Ada"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(reset.text.contains("https://a.test/reset/tok"));
    }

    #[test]
    fn notification_mails_and_digests_link_to_the_item_and_to_unsubscribing() {
        let unsubscribe = "https://a.test/unsubscribe/v1.key.sealed";
        let one = OutboxMail {
            kind: MailKind::Notification,
            params: serde_json::json!({
                "name": "Ada", "sentence": "Bo assigned you \u{201c}Logo <b>\u{201d} in Site.",
                "link": "/projects/p1/tasks/t1", "user": "u1", "kind": "assigned",
                "unsubscribe_url": unsubscribe,
            }),
            ..item(MailKind::Notification, "Ada")
        };
        let mail = render(&look("Acme"), "https://a.test", &one).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            mail.subject,
            "Bo assigned you \u{201c}Logo <b>\u{201d} in Site."
        );
        assert!(mail.text.contains("https://a.test/projects/p1/tasks/t1"));
        assert!(mail.text.contains(unsubscribe) && mail.html.contains(unsubscribe));
        assert!(mail.html.contains("Logo &lt;b&gt;") && !mail.html.contains("<b>"));
        assert_eq!(mail.unsubscribe.as_deref(), Some(unsubscribe));

        let digest = OutboxMail {
            kind: MailKind::Digest,
            params: serde_json::json!({
                "name": "Ada", "user": "u1", "unsubscribe_url": unsubscribe,
                "items": [
                    {"sentence": "Bo moved \u{201c}Logo\u{201d} to Review in Site.", "link": "/projects/p1/tasks/t1"},
                    {"sentence": "Bo changed \u{201c}Copy\u{201d} in Site.", "link": "/projects/p1/tasks/t2"},
                ],
            }),
            ..item(MailKind::Digest, "Ada")
        };
        let mail =
            render(&look("Acme"), "https://a.test", &digest).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mail.subject, "2 updates from Acme");
        for (sentence, link) in [
            ("to Review in Site.", "https://a.test/projects/p1/tasks/t1"),
            ("Bo changed", "https://a.test/projects/p1/tasks/t2"),
        ] {
            assert!(
                mail.text.contains(sentence) && mail.text.contains(link),
                "{}",
                mail.text
            );
        }
        assert!(mail.text.contains(unsubscribe));
        assert!(!mail.text.to_lowercase().contains("task session"));
        assert_eq!(mail.unsubscribe.as_deref(), Some(unsubscribe));
    }

    #[test]
    fn retries_wait_a_minute_doubling_to_an_hour() {
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(next_attempt(1, now) - now, Duration::minutes(1));
        assert_eq!(next_attempt(3, now) - now, Duration::minutes(4));
        assert_eq!(next_attempt(50, now) - now, Duration::hours(1));
    }
}
