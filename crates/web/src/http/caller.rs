//! Who is calling: the [`Caller`] extractor authenticates a request by bearer token or
//! session cookie against the request's own tenant (a cookie or token of another brand
//! simply is not in this store) and applies the CSRF rule of PRODUCT.md to cookie-
//! authenticated changes.

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use tenant_core::access::Principal;
use tenant_core::accounts::sessions::{self, Presented};
use tenant_core::{Error, TenantContext};

use super::error::ApiError;

/// The session cookie's name (host-only: the `__Host-` prefix makes browsers refuse it
/// with a `Domain` attribute, so it never reaches another brand's domain).
pub const SESSION_COOKIE: &str = "__Host-ts_session";

/// What the gateway tells the app about the connection, as a request extension.
#[derive(Debug, Clone)]
pub struct ClientConnection {
    /// The client's address.
    pub address: IpAddr,
    /// The site's public base URL (`https://DOMAIN[:PORT]`, or `http://` for `localhost`
    /// names in development), for links.
    pub base: String,
    /// Whether outgoing mail is set up for this site (invitations and reset links are
    /// mailed; otherwise the admin is given the link).
    pub mail: bool,
    /// A sentence about the server's licence for the brand's admins (development mode,
    /// grace, expired), or `None` when there is nothing to say.
    pub licence_notice: Option<std::sync::Arc<str>>,
}

/// The tenant of the request; the gateway always sets it.
pub(crate) fn tenant_of(parts: &Parts) -> Result<TenantContext, ApiError> {
    parts
        .extensions
        .get::<TenantContext>()
        .cloned()
        .ok_or(ApiError::Internal(
            "a request reached the API without a tenant",
        ))
}

/// The connection facts, or loopback defaults for in-process router tests.
pub(crate) fn connection_of(parts: &Parts) -> ClientConnection {
    parts
        .extensions
        .get::<ClientConnection>()
        .cloned()
        .unwrap_or_else(|| ClientConnection {
            address: IpAddr::from([127, 0, 0, 1]),
            base: "https://localhost".to_owned(),
            mail: false,
            licence_notice: None,
        })
}

/// The values of every cookie named `name` that the request carries.
pub(crate) fn cookies<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(found, _)| *found == name)
        .map(|(_, value)| value)
}

/// The value of the session cookie, if the request carries one.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    cookies(headers, SESSION_COOKIE).next()
}

/// The credential a request presents, as [`Caller`] reads it (a bearer token first), kept
/// by a live-update stream to check its user again while it runs.
pub(crate) fn credential_of(headers: &HeaderMap) -> Option<tenant_core::events::Credential> {
    use tenant_core::events::Credential;
    match (bearer(headers), session_cookie(headers)) {
        (Some(token), _) => Some(Credential::Token(token.to_owned())),
        (None, Some(cookie)) => Some(Credential::Session(cookie.to_owned())),
        (None, None) => None,
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The origin (RFC 6454: scheme, host, port) of a URL or serialised origin, with the
/// scheme's default port filled in and the host lower-cased.
fn origin_of(url: &str) -> Option<(String, String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let default = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()?),
        None => (authority, default),
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    Some((scheme, host, port))
}

/// Whether `origin` is the site's own origin (`base`: the scheme, host and port the site
/// is reached on). Another port on the same host is another site.
fn same_origin(origin: &str, base: &str) -> bool {
    origin_of(origin).is_some_and(|origin| Some(origin) == origin_of(base))
}

/// PRODUCT.md's CSRF rule for a browser change: a same-origin `Origin`, or without one a
/// same-origin `Referer`. `strict` refuses a request that has neither (cookie-
/// authenticated changes); otherwise only a present, foreign origin is refused (sign-in).
pub(crate) fn check_origin(
    headers: &HeaderMap,
    connection: &ClientConnection,
    strict: bool,
) -> Result<(), ApiError> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok());
    let ok = match (origin, referer) {
        (Some(origin), _) => same_origin(origin, &connection.base),
        (None, Some(referer)) => same_origin(referer, &connection.base),
        (None, None) => !strict,
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::CrossOrigin)
    }
}

/// What a staff member who must set up two-factor sign-in may still do, through the API
/// or the pages alike: see who they are, set it up, and sign out. (Behind this, the
/// services refuse the rest too: `Principal::require_totp_set_up` and `access::decide`.)
pub(crate) fn allowed_before_totp_setup(method: &Method, path: &str) -> bool {
    matches!(
        (method.as_str(), path),
        ("GET", "/api/v1/me")
            | (_, "/api/v1/me/totp")
            | ("DELETE", "/api/v1/session")
            | ("GET" | "HEAD", "/profile")
            | ("POST", "/sign-out")
    ) || (method == Method::POST && path.starts_with("/profile/totp/"))
}

/// The authenticated user of a request.
#[derive(Debug)]
pub struct Caller {
    /// Who, with their permissions as of now.
    pub principal: Principal,
    /// The request's tenant.
    pub tenant: TenantContext,
    /// The connection.
    pub connection: ClientConnection,
}

impl Caller {
    /// Whether this brand's mail goes out: the platform's `[smtp]` is set, or the brand
    /// has its own SMTP server.
    pub(crate) async fn mail_set_up(&self) -> bool {
        mail_set_up(&self.tenant, &self.connection).await
    }
}

/// Whether `tenant`'s mail goes out: the platform's `[smtp]` is set, or the brand has its
/// own SMTP server.
pub(crate) async fn mail_set_up(tenant: &TenantContext, connection: &ClientConnection) -> bool {
    if connection.mail {
        return true;
    }
    match tenant_core::brand::settings::has_own_email(tenant.store()).await {
        Ok(own) => own,
        Err(error) => {
            tracing::error!(%error, "cannot read the brand's e-mail settings");
            false
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let tenant = tenant_of(parts)?;
        let connection = connection_of(parts);
        let address = connection.address.to_string();
        let presented = match (bearer(&parts.headers), session_cookie(&parts.headers)) {
            (Some(token), _) => Presented::Token(token),
            (None, Some(cookie)) => {
                let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
                if !safe {
                    check_origin(&parts.headers, &connection, true)?;
                }
                Presented::Session(cookie)
            }
            (None, None) => {
                return Err(Error::Unauthenticated("Sign in to continue.".to_owned()).into());
            }
        };
        let principal = sessions::authenticate(tenant.store(), presented, &address).await?;
        if principal.must_set_up_totp()
            && !allowed_before_totp_setup(&parts.method, parts.uri.path())
        {
            return Err(ApiError::TotpSetupRequired);
        }
        Ok(Caller {
            principal,
            tenant,
            connection,
        })
    }
}

/// The request's tenant and connection, for routes that need no sign-in.
#[derive(Debug)]
pub struct Visitor {
    /// The request's tenant.
    pub tenant: TenantContext,
    /// The connection.
    pub connection: ClientConnection,
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Visitor {
            tenant: tenant_of(parts)?,
            connection: connection_of(parts),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sites_own_scheme_host_and_port_are_its_origin() {
        let base = "https://a.example.com";
        assert!(same_origin("https://a.example.com", base));
        assert!(same_origin("https://A.Example.com:443", base));
        assert!(same_origin("https://a.example.com/users?x=1", base));
        assert!(!same_origin("https://a.example.com:8443", base));
        assert!(!same_origin("http://a.example.com", base));
        assert!(!same_origin("https://b.example.com", base));
        assert!(!same_origin("https://a.example.com.evil.test", base));
        assert!(!same_origin("https://evil.test@a.example.com", base));
        assert!(!same_origin("null", base));
        assert!(same_origin(
            "https://a.example.com:8443",
            "https://a.example.com:8443"
        ));
        assert!(same_origin(
            "http://a.localhost:8080/x",
            "http://a.localhost:8080"
        ));
        assert!(!same_origin(
            "http://a.localhost",
            "http://a.localhost:8080"
        ));
    }
}
