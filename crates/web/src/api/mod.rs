//! The `/api/v1` JSON API. Every route is one row of [`routes`]: the router, the OpenAPI
//! document and the access-matrix test are all made from that one table, so a route
//! cannot exist without being described and tested.

pub(crate) mod access;
pub(crate) mod accounts;
pub(crate) mod brand;
pub(crate) mod events;
pub(crate) mod finance;
pub(crate) mod notifications;
pub(crate) mod openapi;
pub(crate) mod search;
pub(crate) mod talk;
pub mod views;
pub(crate) mod work;

use crate::http::{caller, error, throttle};

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::http::Method;
use axum::routing::{MethodRouter, get};

use tenant_core::TenantContext;
use tenant_core::access::permissions::Permission;
use tenant_core::finance::online::{Provider, ProviderAnswer, ProviderCall};
use tenant_core::platform::secrets::SecretKey;

pub use caller::{ClientConnection, SESSION_COOKIE};
pub use error::ApiError;
use throttle::SignInLimiter;

/// A future the [`Postmaster`] hands back.
pub type MailFuture<'a> = Pin<Box<dyn Future<Output = Result<TestMail, String>> + Send + 'a>>;

/// What a test mail went through.
#[derive(Debug, Clone)]
pub struct TestMail {
    /// `brand` (the brand's own SMTP settings) or `platform` (`[smtp]`).
    pub via: &'static str,
    /// The SMTP server, `host:port`.
    pub server: String,
}

/// The server's mail service as the API sees it: the key brand secrets are sealed with, and
/// sending a test mail now (not through the outbox) so an admin sees the SMTP server's
/// answer.
pub trait Postmaster: Send + Sync + std::fmt::Debug {
    /// The server's encryption key.
    fn key(&self) -> &SecretKey;
    /// Sends a test mail to `to` through the brand's mail settings; the error is the
    /// sentence to show (the SMTP server's reason included).
    fn send_test<'a>(
        &'a self,
        tenant: &'a TenantContext,
        base: &'a str,
        to: &'a str,
    ) -> MailFuture<'a>;
    /// Whether the server itself sends mail (`[smtp]`), for brands without their own mail
    /// settings.
    fn sends_by_default(&self) -> bool {
        false
    }
}

/// A postmaster that cannot send (in-process router tests and benchmarks), with a key
/// made for this process only.
#[derive(Debug)]
struct NoPostmaster(SecretKey);

impl Postmaster for NoPostmaster {
    fn key(&self) -> &SecretKey {
        &self.0
    }
    fn send_test<'a>(&'a self, _: &'a TenantContext, _: &'a str, _: &'a str) -> MailFuture<'a> {
        Box::pin(async { Err("this server cannot send mail".to_owned()) })
    }
}

/// A future a [`PaymentLink`] hands back.
pub type ProviderFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ProviderAnswer, String>> + Send + 'a>>;

/// The server's way to the payment providers' APIs: sends one request to the provider's
/// API base (set by the operator) and hands back its answer. The error is the sentence to
/// show (the provider could not be reached); the request's headers hold secrets and are
/// never logged.
pub trait PaymentLink: Send + Sync + std::fmt::Debug {
    /// Sends `call` to `provider`.
    fn call<'a>(&'a self, provider: Provider, call: ProviderCall) -> ProviderFuture<'a>;
}

/// A link that reaches no provider (in-process router tests and benchmarks).
#[derive(Debug)]
struct NoPaymentLink;

impl PaymentLink for NoPaymentLink {
    fn call<'a>(&'a self, provider: Provider, _: ProviderCall) -> ProviderFuture<'a> {
        Box::pin(async move { Err(format!("this server cannot reach {}", provider.label())) })
    }
}

/// State shared by every request of every tenant.
#[derive(Debug, Clone)]
pub struct WebState {
    limiter: Arc<SignInLimiter>,
    pub(crate) postmaster: Arc<dyn Postmaster>,
    pub(crate) payments: Arc<dyn PaymentLink>,
}

impl WebState {
    /// State with these sign-in limits and this mail service.
    pub fn with_postmaster(
        limits: throttle::SignInLimits,
        postmaster: Arc<dyn Postmaster>,
    ) -> Self {
        WebState {
            limiter: Arc::new(SignInLimiter::new(limits)),
            postmaster,
            payments: Arc::new(NoPaymentLink),
        }
    }

    /// The same state, reaching the payment providers through `link`.
    #[must_use]
    pub fn with_payment_link(mut self, link: Arc<dyn PaymentLink>) -> Self {
        self.payments = link;
        self
    }

    /// State with these sign-in limits that cannot send test mail and seals secrets with a
    /// key of this process only: for tests and benchmarks, never for serving.
    pub fn new(limits: throttle::SignInLimits) -> Self {
        let key = SecretKey::generate_text()
            .and_then(|text| SecretKey::from_text(&text))
            .or_else(|_| SecretKey::from_bytes(&[7; tenant_core::platform::secrets::KEY_LEN]));
        match key {
            Ok(key) => WebState::with_postmaster(limits, Arc::new(NoPostmaster(key))),
            Err(error) => unreachable!("a 32-byte key is always usable: {error}"),
        }
    }
}

/// Who may call a route, as documented (the handler asks the access policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (sign-in, invitation acceptance, the API description).
    Public,
    /// Any signed-in user, acting on their own account.
    SignedIn,
    /// Any signed-in staff member.
    Staff,
    /// Users holding the permission.
    Permission(Permission),
    /// A client company's own contacts, and staff holding the permission.
    CompanyOr(Permission),
    /// Yourself, or staff holding the permission.
    SelfOr(Permission),
    /// Whoever reaches the project (its members, directly or through a team; staff with
    /// `projects.view_all`; the client company's contacts), holding the permission if one
    /// is named. Out of reach is 404.
    Project(Option<Permission>),
    /// Whoever reaches the project, holding the permission of each field changed.
    TaskFields,
    /// Whoever reaches the project and sees the conversation, holding its permission
    /// (`discussions.participate` for tasks and discussions, `messages.clients` for the
    /// client messages).
    Conversation,
}

impl Access {
    fn describe(self) -> String {
        match self {
            Access::Public => "public".to_owned(),
            Access::SignedIn => "signed in".to_owned(),
            Access::Staff => "staff".to_owned(),
            Access::Permission(p) => p.as_str().to_owned(),
            Access::CompanyOr(p) => format!("the company's own contacts, or {p}"),
            Access::SelfOr(p) => format!("the user themself, or {p}"),
            Access::Project(None) => "whoever reaches the project".to_owned(),
            Access::Project(Some(p)) => format!("whoever reaches the project, holding {p}"),
            Access::Conversation => "whoever reaches the project and sees the conversation, holding discussions.participate (tasks, discussions) or messages.clients (client messages)".to_owned(),
            Access::TaskFields => "whoever reaches the project and task, holding tasks.edit (title, description, visibility, due_on), tasks.assign (assignee) or tasks.move (status, position) for the fields given".to_owned(),
        }
    }
}

/// One route of the API.
#[derive(Debug)]
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path, with `{name}` parameters.
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
    /// The JSON body it takes, as `(field, JSON type, required)`.
    pub body: &'static [(&'static str, &'static str, bool)],
    handler: MethodRouter<WebState>,
}

fn route(
    method: Method,
    path: &'static str,
    summary: &'static str,
    access: Access,
    body: &'static [(&'static str, &'static str, bool)],
    handler: MethodRouter<WebState>,
) -> Route {
    Route {
        method,
        path,
        summary,
        access,
        body,
        handler,
    }
}

/// Every route of `/api/v1`: this module's own and each capability's, one line each.
pub fn routes() -> Vec<Route> {
    use Access::*;
    use Method as M;
    const NONE: &[(&str, &str, bool)] = &[];
    let own = vec![
        route(
            M::GET,
            "/api/v1/openapi.json",
            "This API's description (OpenAPI 3.1)",
            Public,
            NONE,
            get(openapi::serve),
        ),
        route(
            M::GET,
            "/api/v1/brand",
            "The brand's name and domain",
            Public,
            NONE,
            get(crate::brand_json),
        ),
    ];
    [
        own,
        accounts::sessions::routes(),
        accounts::users::routes(),
        accounts::companies::routes(),
        accounts::roles::routes(),
        accounts::teams::routes(),
        brand::branding::routes(),
        brand::settings::routes(),
        work::projects::routes(),
        work::tasks::routes(),
        work::files::routes(),
        work::my_work::routes(),
        talk::conversations::routes(),
        talk::chat::routes(),
        finance::invoices::routes(),
        finance::payments::routes(),
        finance::reports::routes(),
        finance::recurring::routes(),
        search::routes(),
        events::routes(),
        notifications::routes(),
        access::audit::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The API's router.
pub fn router(state: WebState) -> Router {
    let mut by_path: BTreeMap<&'static str, MethodRouter<WebState>> = BTreeMap::new();
    for route in routes() {
        let merged = match by_path.remove(route.path) {
            Some(existing) => existing.merge(route.handler),
            None => route.handler,
        };
        by_path.insert(route.path, merged);
    }
    by_path
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| {
            router.route(path, handler)
        })
        .with_state(state)
}

pub use openapi::openapi_document;
