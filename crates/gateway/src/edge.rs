//! Every request's way to exactly one brand, or a refusal: the host is taken from `Host`
//! (HTTP/1.1) or `:authority` (HTTP/2) — never from `X-Forwarded-Host` — and normalised;
//! a TLS name that differs from it, or a host no brand is on, gets 421; a suspended domain
//! gets the brand-neutral 403 page; an expired licence turns changes into 402; then the
//! brand's router answers with the tenant's context in the request's extensions.
//! Security headers go on every answer.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::uri::Authority;
use axum::http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use tenant_core::{Hostname, Platform, Serving, Standing, TenantDirectory};
use tower::ServiceExt as _;
use web::api::Postmaster;

use crate::faults::StoreFaults;
use crate::metrics::Metrics;
use crate::pages;
use crate::tls::Certificates;

/// Bytes an upload's form may hold besides its file (the other fields, part headers).
const UPLOAD_FORM_BYTES: u64 = 64 * 1024;

/// The longest an upload may take whatever its pace (a day), beside the limit on time
/// without bytes.
const UPLOAD_DEADLINE: Duration = Duration::from_secs(24 * 60 * 60);

/// A request body that fails when no byte of it arrives for `idle`: an upload may take
/// as long as it needs while it moves, and a client that stops sending does not hold the
/// upload (and its staging object) open.
struct IdleBody {
    inner: Incoming,
    idle: Duration,
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl IdleBody {
    fn new(inner: Incoming, idle: Duration) -> Self {
        IdleBody {
            inner,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
        }
    }
}

impl hyper::body::Body for IdleBody {
    type Data = hyper::body::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        use std::future::Future as _;
        use std::task::Poll;
        let this = &mut *self;
        match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let next = tokio::time::Instant::now() + this.idle;
                this.timer.as_mut().reset(next);
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(
                    "no part of the upload arrived within the request timeout".into(),
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// The path prefix reserved for ACME HTTP-01 challenge answers.
pub const ACME_CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";

/// What the edge knows about the connection a request came on.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// Over TLS (the `https` listener).
    pub tls: bool,
    /// The TLS server name the client sent, read once for the connection.
    pub sni: ServerName,
    /// The client's address.
    pub peer: SocketAddr,
}

/// The TLS server name (SNI) of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerName {
    /// None was sent (or the connection is plain HTTP).
    Absent,
    /// A host name, normalised.
    Host(Hostname),
    /// Something that is not a host name.
    Invalid,
}

impl ServerName {
    /// The server name a client sent, if any.
    pub fn of(sent: Option<&str>) -> Self {
        match sent {
            None => ServerName::Absent,
            Some(name) => Hostname::parse(name).map_or(ServerName::Invalid, ServerName::Host),
        }
    }
}

/// Limits applied per request.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// Largest body.
    pub max_body_bytes: u64,
    /// Largest uploaded file (the body of an upload may be this and its form around it).
    pub max_upload_bytes: u64,
    /// Longest time a request may take.
    pub request_timeout: Duration,
    /// Sign-in attempts per minute.
    pub sign_in: web::SignInLimits,
}

/// The shared state of the edge.
#[derive(Debug)]
pub struct Edge {
    /// The registry and stores.
    pub platform: Arc<Platform>,
    directory: RwLock<Arc<TenantDirectory>>,
    standing: RwLock<Standing>,
    /// What admins are told about the licence, derived from `standing` when it changes
    /// (not on every request).
    notice: RwLock<Option<Arc<str>>>,
    /// Certificates by SNI.
    pub certificates: Arc<Certificates>,
    /// Per-request limits.
    pub limits: RequestLimits,
    /// Counters.
    pub metrics: Metrics,
    /// The HTTPS port used in redirects.
    pub public_https_port: u16,
    /// Whether the platform's `[smtp]` is configured.
    pub mail: bool,
    /// Brands whose store is failing now (logged once per burst).
    pub faults: StoreFaults,
    web: axum::Router,
}

/// What the brands' requests reach outside the server: mail, and the payment providers.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// The mail service (test mails, the encryption key).
    pub postmaster: Arc<dyn Postmaster>,
    /// The payment providers' APIs.
    pub payments: Arc<dyn web::PaymentLink>,
}

impl Edge {
    /// The edge over an opened platform.
    pub fn new(
        platform: Arc<Platform>,
        directory: TenantDirectory,
        standing: Standing,
        certificates: Arc<Certificates>,
        limits: RequestLimits,
        public_https_port: u16,
        outbound: Outbound,
    ) -> Self {
        let Outbound {
            postmaster,
            payments,
        } = outbound;
        Edge {
            platform,
            directory: RwLock::new(Arc::new(directory)),
            notice: RwLock::new(licence_notice(&standing)),
            standing: RwLock::new(standing),
            certificates,
            limits,
            metrics: Metrics::default(),
            public_https_port,
            mail: postmaster.sends_by_default(),
            faults: StoreFaults::default(),
            web: web::router(
                web::WebState::with_postmaster(limits.sign_in, postmaster)
                    .with_payment_link(payments),
            ),
        }
    }

    /// The directory requests are routed by.
    pub fn directory(&self) -> Arc<TenantDirectory> {
        self.directory
            .read()
            .map(|d| Arc::clone(&d))
            .unwrap_or_default()
    }

    /// The licence standing now.
    pub fn standing(&self) -> Standing {
        self.standing
            .read()
            .map(|s| s.clone())
            .unwrap_or(Standing::Development)
    }

    /// Replaces the directory and standing (after a change of domains or licence).
    pub fn update(&self, directory: TenantDirectory, standing: Standing) {
        if let Ok(mut slot) = self.directory.write() {
            *slot = Arc::new(directory);
        }
        if let Ok(mut slot) = self.notice.write() {
            *slot = licence_notice(&standing);
        }
        if let Ok(mut slot) = self.standing.write() {
            *slot = standing;
        }
    }

    /// Answers one request.
    pub async fn handle(
        self: Arc<Self>,
        request: Request<Incoming>,
        connection: Arc<ConnectionInfo>,
    ) -> Response<Body> {
        let api = request.uri().path().starts_with("/api/");
        let (mut response, tenant, ca_issued) = self.route(request, &connection, api).await;
        add_security_headers(&mut response, connection.tls && ca_issued);
        self.metrics.request(
            tenant.as_ref().map_or("-", Hostname::as_str),
            response.status().as_u16(),
        );
        response
    }

    async fn route(
        &self,
        request: Request<Incoming>,
        connection: &ConnectionInfo,
        api: bool,
    ) -> (Response<Body>, Option<Hostname>, bool) {
        if !host_fields_valid(&request) {
            return (pages::bad_host(api), None, false);
        }
        let authority = request_authority(&request);
        let Some(host) = authority
            .as_ref()
            .and_then(|a| Hostname::parse(a.host()).ok())
        else {
            return (pages::misdirected(api), None, false);
        };
        let same = match &connection.sni {
            ServerName::Absent => true,
            ServerName::Host(sni) => *sni == host,
            ServerName::Invalid => false,
        };
        if connection.tls && !same {
            return (pages::misdirected(api), None, false);
        }
        let directory = self.directory();
        let Some(entry) = directory.lookup(&host) else {
            return (pages::misdirected(api), None, false);
        };
        match entry.serving {
            Serving::Active => {}
            Serving::SuspendedByOperator | Serving::SuspendedByLicence(_) => {
                return (pages::not_licensed(api), Some(host), false);
            }
            Serving::Removed | Serving::Pending => {
                return (pages::misdirected(api), None, false);
            }
        }
        if let Some(token) = request.uri().path().strip_prefix(ACME_CHALLENGE_PREFIX) {
            return (self.answer_challenge(&host, token).await, Some(host), false);
        }
        if !connection.tls {
            let localhost = host.as_str() == "localhost" || host.as_str().ends_with(".localhost");
            if !(localhost && self.standing() == Standing::Development) {
                return (self.redirect_to_https(&host, &request), Some(host), false);
            }
        }
        if entry.read_only && changes_data(&request) {
            return (pages::read_only(api), Some(host), false);
        }
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        // An upload's body is bounded by the upload limit (the file part itself is counted
        // exactly while it streams) and by time without bytes, not by one deadline.
        let upload = web::is_upload(request.method(), request.uri().path());
        let max_body = if upload {
            self.limits
                .max_upload_bytes
                .saturating_add(UPLOAD_FORM_BYTES)
        } else {
            self.limits.max_body_bytes
        };
        if declared.is_some_and(|length| length > max_body) {
            return (pages::too_large(api), Some(host), false);
        }
        let context = match self.platform.context(entry).await {
            Ok(context) => context,
            Err(error @ tenant_core::Error::StoreBehind(_)) => {
                tracing::error!(domain = %host, %error, "brand store not served");
                let response = pages::unavailable(
                    api,
                    "This site is being updated. Please try again in a few minutes.",
                );
                return (response, Some(host), false);
            }
            Err(error) => {
                self.faults.failed(host.as_str(), &error.to_string());
                self.platform.recover_store(&entry.tenant);
                return (
                    pages::unavailable(api, web::STORE_UNAVAILABLE),
                    Some(host),
                    false,
                );
            }
        };
        let ca_issued = self.certificates.ca_issued(host.as_str());
        let max = usize::try_from(max_body).unwrap_or(usize::MAX);
        let port = authority.and_then(|a| a.port_u16());
        let safe = matches!(*request.method(), Method::GET | Method::HEAD);
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(context);
        parts.extensions.insert(web::ClientConnection {
            address: connection.peer.ip(),
            base: self.public_base(&host, connection.tls, port),
            mail: self.mail,
            licence_notice: self.notice.read().ok().and_then(|n| n.clone()),
        });
        let deadline = self.limits.request_timeout;
        let request = if upload {
            let body = IdleBody::new(body, deadline);
            Request::from_parts(parts, Body::new(http_body_util::Limited::new(body, max)))
        } else {
            Request::from_parts(parts, Body::new(http_body_util::Limited::new(body, max)))
        };
        // A change runs in a task of its own: a client that goes away mid-request drops
        // only this waiting future, while a change that has started runs on to its commit
        // (bounded by the request deadline), as a user who closed the tab expects. A read
        // changes nothing worth finishing for a client that left, so it runs here.
        let web = self.web.clone();
        // An upload runs as long as its bytes keep coming (see `IdleBody`).
        let deadline = if upload { UPLOAD_DEADLINE } else { deadline };
        let answer = async move { tokio::time::timeout(deadline, web.oneshot(request)).await };
        let work = if safe {
            Ok(answer.await)
        } else {
            tokio::spawn(answer).await
        };
        let response = match work {
            Ok(Ok(Ok(response))) => response,
            Ok(Ok(Err(never))) => match never {},
            Ok(Err(_)) => pages::unavailable(api, "The request took too long. Please try again."),
            Err(error) => {
                tracing::error!(domain = %host, %error, "request handler failed");
                pages::refusal(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Something went wrong on our side. Please try again.",
                    api,
                )
            }
        };
        match response.extensions().get::<web::StoreUnavailable>() {
            Some(web::StoreUnavailable(cause)) => {
                self.faults.failed(host.as_str(), cause);
                self.platform.recover_store(&entry.tenant);
            }
            None => self.faults.served(host.as_str()),
        }
        (response, Some(host), ca_issued)
    }

    /// An HTTP-01 answer (RFC 8555 §8.3) from the platform store, so any replica can give
    /// it; 404 for a token it does not hold.
    async fn answer_challenge(&self, host: &Hostname, token: &str) -> Response<Body> {
        match self.platform.challenge_answer(host, token).await {
            Ok(Some(key_authorization)) => {
                let mut response = Response::new(Body::from(key_authorization));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
                response
            }
            Ok(None) => pages::refusal(
                StatusCode::NOT_FOUND,
                "not_found",
                "No such challenge.",
                false,
            ),
            Err(error) => {
                tracing::error!(domain = %host, %error, "cannot read ACME challenge answers");
                pages::unavailable(false, "Please try again in a moment.")
            }
        }
    }

    /// The site's base URL for links: HTTPS on the public port, or plain HTTP on the port
    /// the request came to for `localhost` names served without TLS in development.
    fn public_base(&self, host: &Hostname, tls: bool, port: Option<u16>) -> String {
        let (scheme, port) = match (tls, self.public_https_port) {
            (false, _) => ("http://", port.filter(|&port| port != 80)),
            (true, 443) => ("https://", None),
            (true, port) => ("https://", Some(port)),
        };
        // Put together by hand: this runs for every request.
        let mut base = String::with_capacity(scheme.len() + host.as_str().len() + 6);
        base.push_str(scheme);
        base.push_str(host.as_str());
        if let Some(port) = port {
            let _ = std::fmt::Write::write_fmt(&mut base, format_args!(":{port}"));
        }
        base
    }

    fn redirect_to_https(&self, host: &Hostname, request: &Request<Incoming>) -> Response<Body> {
        let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
        let location = match self.public_https_port {
            443 => format!("https://{host}{path}"),
            port => format!("https://{host}:{port}{path}"),
        };
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        response
    }
}

/// RFC 9112 §3.2: a request with more than one `Host` field, or one whose value is not a
/// valid `host[:port]` (user information, spaces, other characters), is answered 400
/// before routing; so is an HTTP/1.1 request without a host at all. (HTTP/2 carries
/// `:authority`; a `Host` beside it must say the same.)
fn host_fields_valid<B>(request: &Request<B>) -> bool {
    let mut fields = request.headers().get_all(header::HOST).iter();
    let field = fields.next();
    if fields.next().is_some() {
        return false;
    }
    let Some(field) = field else {
        return request.version() != axum::http::Version::HTTP_11
            || request.uri().authority().is_some();
    };
    let valid =
        field.as_bytes().iter().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']')
        }) && !field.is_empty();
    let Some(parsed) = valid
        .then(|| field.to_str().ok()?.parse::<Authority>().ok())
        .flatten()
    else {
        return false;
    };
    match request.uri().authority() {
        Some(authority) => authority.as_str().eq_ignore_ascii_case(parsed.as_str()),
        None => true,
    }
}

/// The URI authority (HTTP/2 `:authority`, or an absolute-form target), else `Host`.
fn request_authority<B>(request: &Request<B>) -> Option<Authority> {
    match request.uri().authority() {
        Some(authority) => Some(authority.clone()),
        None => request
            .headers()
            .get(header::HOST)?
            .to_str()
            .ok()?
            .parse()
            .ok(),
    }
}

/// Whether a request would change data. Signing in and out stay allowed when read-only.
fn changes_data<B>(request: &Request<B>) -> bool {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let session = matches!(
        request.uri().path(),
        "/api/v1/session" | "/sign-in" | "/sign-out"
    );
    !safe && !session
}

fn add_security_headers(response: &mut Response<Body>, hsts: bool) {
    web::http::headers::baseline(response.headers_mut(), hsts);
}

/// What a brand's admins are told about the server's licence (never naming the vendor).
fn licence_notice(standing: &Standing) -> Option<Arc<str>> {
    let text = match standing {
        Standing::Development => Some(
            "No licence is installed: this server runs in development mode, for trying it out on localhost and .test names only.".to_owned(),
        ),
        Standing::Licensed { state, .. } => match state {
            licensing::LicenceState::Valid => None,
            licensing::LicenceState::Grace { days_left } => Some(format!(
                "The server's licence has expired: in {days_left} days this workspace becomes read-only. Ask the server's operator to install a renewed licence."
            )),
            licensing::LicenceState::Expired => Some(
                "The server's licence has expired: this workspace is read-only until the server's operator installs a renewed licence.".to_owned(),
            ),
        },
    };
    text.map(Arc::from)
}
