//! Certificates from an ACME CA (RFC 8555) for every active domain, shared by every replica.
//!
//! One account per CA directory, kept in the platform store. A domain is ordered when it has
//! no CA-issued certificate, when its renewal time has come (a third of the lifetime left,
//! or a time in the CA's ARI window, RFC 9773) or when the operator asks (`cert renew`).
//! Before ordering, a replica takes the domain's lease in the platform store and looks
//! again, so two replicas never order the same certificate. Challenge answers go into the
//! platform store, where every replica's `http` listener (HTTP-01) and `https` listener
//! (TLS-ALPN-01) finds them. A failure is recorded with its reason and retried with
//! back-off and jitter (about a minute, doubling to six hours, never sooner than the CA's
//! `Retry-After`); the last good certificate keeps being served meanwhile. An account the
//! CA no longer knows is registered again.

use std::cell::Cell;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration as StdDuration, SystemTime};

use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, BodyWrapper, BytesResponse,
    CertificateIdentifier, HttpClient, Identifier, NewAccount, NewOrder, OrderStatus, RetryPolicy,
};
use rustls::pki_types::CertificateDer;
use tenant_core::platform::acme::ChallengeType;
use tenant_core::platform::certificates::{CertificateSource, StoredCertificate};
use tenant_core::{Email, Hostname, Platform, Serving};
use time::{Duration, OffsetDateTime};
use tokio::sync::{Mutex, watch};

use crate::config::Config;
use crate::edge::Edge;
use crate::outcome::Failure;
use crate::renewal::{
    LONGEST_RETRY_AFTER, due_reason, next_attempt, random_fraction, renewal_time,
};
use crate::tls;

/// How often each replica looks for domains that need a certificate.
const ROUND: StdDuration = StdDuration::from_secs(5);
/// How long a replica may hold a domain's lease; longer than [`ISSUE_TIMEOUT`].
const LEASE: Duration = Duration::minutes(5);
/// The longest one order may take before it counts as failed.
const ISSUE_TIMEOUT: StdDuration = StdDuration::from_secs(180);
/// How long a challenge answer is kept.
const CHALLENGE_LIFETIME: Duration = Duration::hours(1);
/// How long the CA may take to validate, and then to issue.
const POLL_TIMEOUT: StdDuration = StdDuration::from_secs(60);
/// How long the CA's renewal information (ARI) may take before the default is used.
const ARI_TIMEOUT: StdDuration = StdDuration::from_secs(10);
/// How long after answering a challenge, and after finalizing, the CA is first asked
/// again; each look after that waits twice as long.
const FIRST_POLL: StdDuration = StdDuration::from_millis(50);
/// Orders placed side by side by one replica: every domain of the largest plan at once.
const PARALLEL_ORDERS: usize = 16;
/// RFC 8555 §6.7: the account the request was signed for is unknown to the CA.
const ACCOUNT_DOES_NOT_EXIST: &str = "urn:ietf:params:acme:error:accountDoesNotExist";

/// `[acme]`, checked.
#[derive(Debug, Clone)]
pub struct AcmeSettings {
    /// The CA's directory URL.
    pub directory_url: String,
    /// Given to the CA as `mailto:` contact.
    pub contact: Option<Email>,
    /// Extra trusted roots for the CA's own HTTPS (private or test CAs).
    pub ca_bundle: Option<std::path::PathBuf>,
    /// The challenge type for domains without their own.
    pub challenge: ChallengeType,
}

impl AcmeSettings {
    /// The settings, or `None` when no directory URL is configured (self-signed only).
    pub fn from_config(config: &Config) -> Result<Option<AcmeSettings>, Failure> {
        let Some(directory_url) = config.acme.directory_url.clone() else {
            return Ok(None);
        };
        let contact = config
            .acme
            .contact_email
            .as_deref()
            .map(|email| {
                Email::parse(email)
                    .map_err(|e| Failure::BadInput(format!("[acme] contact_email: {e}")))
            })
            .transpose()?;
        let challenge = ChallengeType::parse(&config.acme.challenge)
            .map_err(|e| Failure::BadInput(format!("[acme] challenge: {e}")))?;
        Ok(Some(AcmeSettings {
            directory_url,
            contact,
            ca_bundle: config.acme.ca_bundle.clone(),
            challenge,
        }))
    }
}

/// Why an attempt failed, and when the CA asked to be tried again, if it did.
#[derive(Debug)]
pub struct IssueError {
    /// One sentence for logs and `cert status` (never holds a key).
    pub message: String,
    /// The CA's `Retry-After`, if it sent one.
    pub retry_after: Option<SystemTime>,
}

impl IssueError {
    fn new(message: impl Into<String>) -> Self {
        IssueError {
            message: message.into(),
            retry_after: None,
        }
    }
}

impl From<tenant_core::Error> for IssueError {
    fn from(error: tenant_core::Error) -> Self {
        IssueError::new(format!("platform store: {error}"))
    }
}

/// `doing: error: cause: cause…`, since the HTTP client's own message ("client error
/// (Connect)") hides the reason.
fn acme_error(doing: &str, error: &instant_acme::Error) -> IssueError {
    let mut message = format!("{doing}: {error}");
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = inner.source();
    }
    IssueError::new(message)
}

fn is_unknown_account(error: &instant_acme::Error) -> bool {
    matches!(error, instant_acme::Error::Api(problem)
        if problem.r#type.as_deref() == Some(ACCOUNT_DOES_NOT_EXIST))
}

tokio::task_local! {
    /// The last `Retry-After` the CA sent on an error answer during this task's attempt.
    static RETRY_AFTER: Cell<Option<SystemTime>>;
}

/// Reads `Retry-After` (RFC 9110 §10.2.3): seconds, or an HTTP date; at most
/// [`LONGEST_RETRY_AFTER`] ahead, whatever the CA says.
pub(crate) fn parse_retry_after(value: &str) -> Option<SystemTime> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => StdDuration::from_secs(seconds),
        Err(_) => {
            let date = OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822)
                .ok()?;
            (date - OffsetDateTime::now_utc())
                .try_into()
                .unwrap_or(StdDuration::ZERO)
        }
    };
    SystemTime::now().checked_add(wait.min(LONGEST_RETRY_AFTER))
}

/// The HTTPS client that talks to the CA: rustls with aws-lc-rs, the system's roots plus
/// `[acme] ca_bundle`. It notes the CA's `Retry-After` on error answers.
#[derive(Clone)]
struct CaClient(HyperClient<HttpsConnector<HttpConnector>, BodyWrapper<Bytes>>);

impl CaClient {
    fn new(ca_bundle: Option<&Path>) -> Result<CaClient, String> {
        let roots = tls::client_roots(ca_bundle, "[acme] ca_bundle")?;
        let config = rustls::ClientConfig::builder_with_provider(tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot configure TLS for the ACME CA: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        // Without TCP_NODELAY each small request written as several TLS records waits on
        // the CA's delayed ACK (about 40 ms a request on Linux).
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_only()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        Ok(CaClient(
            HyperClient::builder(TokioExecutor::new()).build(connector),
        ))
    }
}

impl HttpClient for CaClient {
    fn request(
        &self,
        request: hyper::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let answer = self.0.request(request);
        Box::pin(async move {
            let response = answer
                .await
                .map_err(|e| instant_acme::Error::Other(Box::new(e)))?;
            if !response.status().is_success()
                && let Some(at) = response
                    .headers()
                    .get(hyper::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after)
            {
                let _ = RETRY_AFTER.try_with(|slot| slot.set(Some(at)));
            }
            Ok(BytesResponse::from(response))
        })
    }
}

struct Registered {
    account: Account,
    credentials: String,
}

/// Orders, renews and stores certificates for this replica.
pub struct Issuer {
    platform: Arc<Platform>,
    settings: AcmeSettings,
    client: CaClient,
    holder: String,
    account: Mutex<Option<Registered>>,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("directory_url", &self.settings.directory_url)
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

fn acme_challenge(kind: ChallengeType) -> instant_acme::ChallengeType {
    match kind {
        ChallengeType::Http01 => instant_acme::ChallengeType::Http01,
        ChallengeType::TlsAlpn01 => instant_acme::ChallengeType::TlsAlpn01,
    }
}

impl Issuer {
    /// An issuer for `settings`; fails when `[acme] ca_bundle` is unusable.
    pub fn new(platform: Arc<Platform>, settings: AcmeSettings) -> Result<Issuer, Failure> {
        let client = CaClient::new(settings.ca_bundle.as_deref()).map_err(Failure::BadInput)?;
        let mut id = [0_u8; 6];
        let _ = getrandom::fill(&mut id);
        let holder = format!(
            "pid{}-{}",
            std::process::id(),
            id.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        Ok(Issuer {
            platform,
            settings,
            client,
            holder,
            account: Mutex::new(None),
        })
    }

    /// The CA directory this issuer uses.
    pub fn directory_url(&self) -> &str {
        &self.settings.directory_url
    }

    /// The platform's account at the CA: from memory, from the store, or newly registered
    /// (and stored; should another replica register at the same moment, both use the one
    /// stored first).
    async fn account(&self) -> Result<(Account, String), IssueError> {
        let mut slot = self.account.lock().await;
        if let Some(registered) = slot.as_ref() {
            return Ok((registered.account.clone(), registered.credentials.clone()));
        }
        let url = &self.settings.directory_url;
        let mut created = None;
        let credentials = match self.platform.acme_account(url).await? {
            Some(stored) => stored,
            None => {
                let contact = self
                    .settings
                    .contact
                    .as_ref()
                    .map(|email| format!("mailto:{}", email.as_str()));
                let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
                let (account, credentials) =
                    Account::builder_with_http(Box::new(self.client.clone()))
                        .create(
                            &NewAccount {
                                contact: &contacts,
                                terms_of_service_agreed: true,
                                only_return_existing: false,
                            },
                            url.clone(),
                            None,
                        )
                        .await
                        .map_err(|e| acme_error("cannot register an account at the CA", &e))?;
                let json = serde_json::to_string(&credentials)
                    .map_err(|e| IssueError::new(format!("cannot keep the account: {e}")))?;
                tracing::info!(directory = %url, "registered an ACME account");
                let kept = self.platform.save_acme_account(url, &json).await?;
                // Another replica may have stored its account first: then that one is used.
                if kept == json {
                    created = Some(account);
                }
                kept
            }
        };
        let account = match created {
            Some(account) => account,
            None => {
                let parsed: AccountCredentials =
                    serde_json::from_str(&credentials).map_err(|e| {
                        IssueError::new(format!("the stored ACME account is unreadable: {e}"))
                    })?;
                Account::builder_with_http(Box::new(self.client.clone()))
                    .from_credentials(parsed)
                    .await
                    .map_err(|e| acme_error("cannot reach the CA", &e))?
            }
        };
        *slot = Some(Registered {
            account: account.clone(),
            credentials: credentials.clone(),
        });
        Ok((account, credentials))
    }

    /// Forgets the account in memory and, if `credentials` are still the stored ones, in the
    /// store, so the next attempt registers a new one.
    async fn forget_account(&self, credentials: &str) -> Result<(), IssueError> {
        *self.account.lock().await = None;
        self.platform
            .forget_acme_account(&self.settings.directory_url, credentials)
            .await?;
        Ok(())
    }

    /// Orders a certificate for `domain` (the caller holds the lease); registers a new
    /// account once if the CA no longer knows the stored one.
    pub async fn issue(
        &self,
        domain: &Hostname,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<StoredCertificate, IssueError> {
        let attempt = async {
            for _ in 0..2 {
                let (account, credentials) = self.account().await?;
                match self.order(&account, domain, progress).await {
                    Err(Ordering::Acme(doing, error)) if is_unknown_account(&error) => {
                        tracing::warn!(
                            directory = %self.settings.directory_url,
                            "the CA no longer knows the platform's account; registering again"
                        );
                        progress("the CA no longer knows the account; registering again");
                        self.forget_account(&credentials).await?;
                        let _ = doing;
                    }
                    Err(Ordering::Acme(doing, error)) => return Err(acme_error(doing, &error)),
                    Err(Ordering::Other(error)) => return Err(error),
                    Ok(certificate) => return Ok(certificate),
                }
            }
            Err(IssueError::new(
                "the CA refused the newly registered account too",
            ))
        };
        let timed = async {
            match tokio::time::timeout(ISSUE_TIMEOUT, attempt).await {
                Ok(result) => result,
                Err(_) => Err(IssueError::new(format!(
                    "the CA did not finish within {} seconds",
                    ISSUE_TIMEOUT.as_secs()
                ))),
            }
        };
        RETRY_AFTER
            .scope(Cell::new(None), async {
                let mut result = timed.await;
                if let Err(error) = &mut result {
                    error.retry_after = RETRY_AFTER.try_with(Cell::get).ok().flatten();
                }
                result
            })
            .await
    }

    /// One order from new-order to the stored chain (RFC 8555 §7.4).
    async fn order(
        &self,
        account: &Account,
        domain: &Hostname,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<StoredCertificate, Ordering> {
        let kind = self
            .platform
            .challenge_type(domain)
            .await
            .map_err(|e| Ordering::Other(e.into()))?
            .unwrap_or(self.settings.challenge);
        progress(&format!("ordering a certificate for {domain}"));
        let identifiers = [Identifier::Dns(domain.as_str().to_owned())];
        let mut order = account
            .new_order(&NewOrder::new(&identifiers))
            .await
            .map_err(|e| Ordering::Acme("cannot place the order", e))?;
        let mut tokens = Vec::new();
        let answered = self
            .answer_challenges(&mut order, domain, kind, &mut tokens, progress)
            .await;
        let ready = match answered {
            Ok(()) => {
                progress("waiting for the CA to validate");
                // A CA validates within milliseconds to seconds: look soon, then less
                // and less often (a Retry-After from the CA is honoured).
                let polling = RetryPolicy::new()
                    .initial_delay(FIRST_POLL)
                    .backoff(2.0)
                    .timeout(POLL_TIMEOUT);
                order
                    .poll_ready(&polling)
                    .await
                    .map_err(|e| Ordering::Acme("the order did not become ready", e))
            }
            Err(error) => Err(error),
        };
        for token in &tokens {
            if let Err(error) = self.platform.remove_challenge(token).await {
                tracing::warn!(%domain, %error, "cannot remove an ACME challenge answer");
            }
        }
        match ready? {
            OrderStatus::Ready => {}
            OrderStatus::Invalid => {
                return Err(Ordering::Other(IssueError::new(
                    invalid_reason(&mut order, kind).await,
                )));
            }
            other => {
                return Err(Ordering::Other(IssueError::new(format!(
                    "the order ended {other:?} instead of ready"
                ))));
            }
        }
        progress("the CA validated the domain; requesting the certificate");
        let key = rcgen::KeyPair::generate()
            .map_err(|e| Ordering::Other(IssueError::new(format!("cannot make a key: {e}"))))?;
        let mut params = rcgen::CertificateParams::new(vec![domain.as_str().to_owned()])
            .map_err(|e| Ordering::Other(IssueError::new(format!("cannot make a CSR: {e}"))))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        let csr = params
            .serialize_request(&key)
            .map_err(|e| Ordering::Other(IssueError::new(format!("cannot sign the CSR: {e}"))))?;
        order
            .finalize_csr(csr.der())
            .await
            .map_err(|e| Ordering::Acme("the CA refused the CSR", e))?;
        // The certificate may be ready at once (the finalize answer says `valid`, or the
        // first look does); only while the CA is still processing is it polled.
        let ready = order
            .certificate()
            .await
            .map_err(|e| Ordering::Acme("cannot download the certificate", e))?;
        let chain = match ready {
            Some(chain) => chain,
            None => order
                .poll_certificate(
                    &RetryPolicy::new()
                        .initial_delay(FIRST_POLL)
                        .backoff(2.0)
                        .timeout(POLL_TIMEOUT),
                )
                .await
                .map_err(|e| Ordering::Acme("cannot download the certificate", e))?,
        };
        let leaf = tls::inspect(&chain).map_err(|e| {
            Ordering::Other(IssueError::new(format!(
                "the CA sent an unusable certificate: {e}"
            )))
        })?;
        let renew_at = self
            .renewal_at(account, &leaf.der, leaf.not_before, leaf.not_after)
            .await;
        Ok(StoredCertificate {
            domain: domain.as_str().to_owned(),
            source: CertificateSource::Acme,
            cert_pem: chain,
            key_pem: key.serialize_pem(),
            not_after: leaf.not_after,
            not_before: Some(leaf.not_before),
            renew_at: Some(renew_at),
            issuer: Some(leaf.issuer),
        })
    }

    /// Puts each pending authorization's answer in the platform store and tells the CA.
    async fn answer_challenges(
        &self,
        order: &mut instant_acme::Order,
        domain: &Hostname,
        kind: ChallengeType,
        tokens: &mut Vec<String>,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<(), Ordering> {
        let mut authorizations = order.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization =
                authorization.map_err(|e| Ordering::Acme("cannot read the authorization", e))?;
            match authorization.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                other => {
                    return Err(Ordering::Other(IssueError::new(format!(
                        "the CA's authorization for {domain} is {other:?}"
                    ))));
                }
            }
            let mut challenge = authorization
                .challenge(acme_challenge(kind))
                .ok_or_else(|| {
                    Ordering::Other(IssueError::new(format!(
                        "the CA offers no {kind} challenge for {domain}; choose another with 'domain add --acme-challenge' or [acme] challenge"
                    )))
                })?;
            let key_authorization = challenge.key_authorization();
            let expires = OffsetDateTime::now_utc() + CHALLENGE_LIFETIME;
            self.platform
                .put_challenge(
                    domain,
                    kind,
                    &challenge.token,
                    key_authorization.as_str(),
                    expires,
                )
                .await
                .map_err(|e| Ordering::Other(e.into()))?;
            tokens.push(challenge.token.clone());
            progress(&format!("answering the {kind} challenge"));
            challenge
                .set_ready()
                .await
                .map_err(|e| Ordering::Acme("the CA refused the challenge", e))?;
        }
        Ok(())
    }

    /// When to renew a certificate valid from `not_before` to `not_after`: a random moment
    /// in the CA's suggested window (ARI, RFC 9773) when the CA offers one and answers within
    /// [`ARI_TIMEOUT`], otherwise with a third of the lifetime left. Never sooner than an
    /// hour (or a tenth of the lifetime) from now, so a window in the past cannot make a
    /// replica order again and again, and never later than the default.
    async fn renewal_at(
        &self,
        account: &Account,
        leaf: &[u8],
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> OffsetDateTime {
        let default = renewal_time(not_before, not_after);
        let der = CertificateDer::from(leaf.to_vec());
        let Ok(id) = CertificateIdentifier::try_from(&der) else {
            return default;
        };
        let suggested = match tokio::time::timeout(ARI_TIMEOUT, account.renewal_info(&id)).await {
            Ok(Ok((info, _))) => {
                let window = info.suggested_window;
                window.start + (window.end - window.start) * random_fraction()
            }
            Ok(Err(instant_acme::Error::Unsupported(_))) => return default,
            Ok(Err(error)) => {
                tracing::debug!(%error, "no renewal information from the CA");
                return default;
            }
            Err(_) => return default,
        };
        let earliest =
            OffsetDateTime::now_utc() + Duration::hours(1).max((not_after - not_before) / 10);
        suggested.max(earliest).min(default)
    }

    /// Looks at `domain` and orders its certificate if it is due and no other replica is
    /// ordering it. Returns whether a certificate was stored.
    pub async fn maintain(&self, domain: &Hostname) -> Result<bool, IssueError> {
        if !self.is_due(domain, false).await? {
            return Ok(false);
        }
        if !self
            .platform
            .take_order_lease(domain, &self.holder, LEASE)
            .await?
        {
            return Ok(false);
        }
        // Another replica may have finished between the look and the lease.
        let outcome = match self.is_due(domain, true).await {
            Ok(true) => self
                .issue_and_record(domain, &|step| tracing::debug!(%domain, "{step}"))
                .await
                .map(|_| true),
            other => other,
        };
        if let Err(error) = self
            .platform
            .release_order_lease(domain, &self.holder)
            .await
        {
            tracing::warn!(%domain, %error, "cannot release the ACME order lease");
        }
        outcome
    }

    async fn is_due(&self, domain: &Hostname, log: bool) -> Result<bool, IssueError> {
        let certificate = self.platform.certificate(domain.as_str()).await?;
        let state = self.platform.issuance_state(domain).await?;
        let reason = due_reason(
            certificate.as_ref(),
            state.as_ref(),
            OffsetDateTime::now_utc(),
        );
        if let Some(reason) = reason
            && log
        {
            tracing::info!(%domain, reason, "ordering a certificate");
        }
        Ok(reason.is_some())
    }

    /// Orders `domain`'s certificate now (the caller holds the lease) and records the
    /// outcome: the certificate, or the failure with its back-off.
    pub async fn issue_and_record(
        &self,
        domain: &Hostname,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<StoredCertificate, IssueError> {
        match self.issue(domain, progress).await {
            Ok(certificate) => {
                self.platform.record_issuance(&certificate).await?;
                tracing::info!(
                    %domain,
                    not_after = %certificate.not_after,
                    renew_at = ?certificate.renew_at,
                    "certificate issued"
                );
                Ok(certificate)
            }
            Err(error) => {
                let failures = self
                    .platform
                    .issuance_state(domain)
                    .await
                    .ok()
                    .flatten()
                    .map_or(0, |s| s.failures)
                    + 1;
                let next = next_attempt(
                    failures,
                    error.retry_after,
                    OffsetDateTime::now_utc(),
                    random_fraction(),
                );
                tracing::warn!(
                    %domain,
                    error = %error.message,
                    failures,
                    next_attempt = %next,
                    "certificate order failed; the current certificate stays in use"
                );
                self.platform
                    .record_issuance_failure(domain, &error.message, next)
                    .await?;
                Err(error)
            }
        }
    }

    /// Takes `domain`'s lease for a renewal the operator asked for; `false` if another
    /// replica is ordering it now.
    pub async fn take_lease(&self, domain: &Hostname) -> Result<bool, IssueError> {
        Ok(self
            .platform
            .take_order_lease(domain, &self.holder, LEASE)
            .await?)
    }

    /// Gives `domain`'s lease back.
    pub async fn release_lease(&self, domain: &Hostname) {
        if let Err(error) = self
            .platform
            .release_order_lease(domain, &self.holder)
            .await
        {
            tracing::warn!(%domain, %error, "cannot release the ACME order lease");
        }
    }

    /// Keeps every active domain's certificate current until `stop` turns true, then
    /// gives back the leases it holds.
    pub async fn run(self: Arc<Self>, edge: Arc<Edge>, mut stop: watch::Receiver<bool>) {
        tracing::info!(directory = %self.settings.directory_url, "ACME certificates enabled");
        let mut ticker = tokio::time::interval(ROUND);
        // A long round is followed by one pause, not by the rounds it missed.
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => break,
            }
            let round = self.round(&edge);
            tokio::select! {
                () = round => {}
                _ = stop.changed() => break,
            }
        }
        for domain in edge.directory().domains() {
            self.release_lease(domain).await;
        }
    }

    /// One look at every active domain; up to [`PARALLEL_ORDERS`] orders run side by side.
    async fn round(self: &Arc<Self>, edge: &Arc<Edge>) {
        let directory = edge.directory();
        let places = Arc::new(tokio::sync::Semaphore::new(PARALLEL_ORDERS));
        let mut orders = tokio::task::JoinSet::new();
        for domain in directory.domains() {
            let active = directory
                .lookup(domain)
                .is_some_and(|entry| entry.serving == Serving::Active);
            if !active {
                continue;
            }
            let issuer = Arc::clone(self);
            let domain = domain.clone();
            let places = Arc::clone(&places);
            orders.spawn(async move {
                let Ok(_place) = places.acquire_owned().await else {
                    return false;
                };
                match issuer.maintain(&domain).await {
                    Ok(issued) => issued,
                    Err(error) => {
                        tracing::debug!(%domain, error = %error.message, "no new certificate");
                        false
                    }
                }
            });
        }
        // Each new certificate is served as soon as it is stored, not when the round ends.
        while let Some(result) = orders.join_next().await {
            if result.unwrap_or(false) {
                tls::refresh(&edge.certificates, &edge.platform, &directory).await;
            }
        }
    }
}

/// Why an order failed: an ACME error (checked for an unknown account) or anything else.
enum Ordering {
    Acme(&'static str, instant_acme::Error),
    Other(IssueError),
}

/// The CA's reason an order turned invalid, from its authorizations' challenge errors.
async fn invalid_reason(order: &mut instant_acme::Order, kind: ChallengeType) -> String {
    let mut reasons = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(Ok(mut authorization)) = authorizations.next().await {
        if authorization.refresh().await.is_err() {
            continue;
        }
        for challenge in &authorization.challenges {
            if let Some(problem) = &challenge.error {
                reasons.push(
                    problem
                        .detail
                        .clone()
                        .unwrap_or_else(|| problem.to_string()),
                );
            }
        }
    }
    if reasons.is_empty() {
        format!("the CA could not validate the {kind} challenge")
    } else {
        format!(
            "the CA could not validate the {kind} challenge: {}",
            reasons.join("; ")
        )
    }
}
