//! The HTTPS client that reaches the payment providers' APIs (`[payments] stripe_api`,
//! `paypal_api`): rustls with aws-lc-rs, the system's roots plus `[payments] ca_bundle`.
//! Plain HTTP is taken only for a loopback address (a stand-in provider in tests). Each
//! call has a deadline and a bounded answer; the request's headers carry the brand's keys
//! and are never logged.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tenant_core::finance::online::{Provider, ProviderAnswer, ProviderCall};

use crate::config::Payments;
use crate::outcome::Failure;
use crate::tls;

/// How long a provider has to answer.
const DEADLINE: Duration = Duration::from_secs(20);
/// The most of an answer read.
const MOST_ANSWER_BYTES: usize = 1024 * 1024;

/// The client, with each provider's API base.
#[derive(Clone)]
pub struct PaymentClient {
    client: HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    stripe: String,
    paypal: String,
}

impl std::fmt::Debug for PaymentClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentClient")
            .field("stripe", &self.stripe)
            .field("paypal", &self.paypal)
            .finish_non_exhaustive()
    }
}

/// `base` without its trailing `/`, if it is HTTPS, or HTTP to a loopback address.
fn api_base(key: &str, base: &str) -> Result<String, Failure> {
    let base = base.trim().trim_end_matches('/');
    let uri: hyper::Uri = base
        .parse()
        .map_err(|e| Failure::BadInput(format!("[payments] {key}: '{base}' is not a URL: {e}")))?;
    let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match uri.scheme_str() {
        Some("https") if !host.is_empty() => Ok(base.to_owned()),
        Some("http") if loopback => Ok(base.to_owned()),
        Some("http") => Err(Failure::BadInput(format!(
            "[payments] {key}: '{base}' is plain HTTP: the brand's keys go only over HTTPS (HTTP only to a loopback address)"
        ))),
        _ => Err(Failure::BadInput(format!(
            "[payments] {key}: '{base}' is not an https:// URL"
        ))),
    }
}

impl PaymentClient {
    /// The client `[payments]` describes.
    pub fn from_config(settings: &Payments) -> Result<PaymentClient, Failure> {
        let stripe = api_base("stripe_api", &settings.stripe_api)?;
        let paypal = api_base("paypal_api", &settings.paypal_api)?;
        let roots = match tls::client_roots(settings.ca_bundle.as_deref(), "[payments] ca_bundle") {
            Ok(roots) => roots,
            // Without system roots the server still starts; a call over HTTPS then fails
            // and says why.
            Err(error) if settings.ca_bundle.is_none() => {
                tracing::warn!(%error, "payment providers cannot be reached over HTTPS");
                rustls::RootCertStore::empty()
            }
            Err(error) => return Err(Failure::BadInput(error)),
        };
        let config = rustls::ClientConfig::builder_with_provider(tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| Failure::Refused(format!("cannot configure TLS for payments: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(Duration::from_secs(10)));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        Ok(PaymentClient {
            client: HyperClient::builder(TokioExecutor::new()).build(connector),
            stripe,
            paypal,
        })
    }

    async fn send(&self, provider: Provider, call: ProviderCall) -> Result<ProviderAnswer, String> {
        let base = match provider {
            Provider::Stripe => &self.stripe,
            Provider::Paypal => &self.paypal,
        };
        let mut request = hyper::Request::builder()
            .method(call.method)
            .uri(format!("{base}{}", call.path))
            .header("accept", "application/json")
            .header(
                "user-agent",
                concat!("TaskSession/", env!("CARGO_PKG_VERSION")),
            );
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(call.body)))
            .map_err(|e| format!("the request to {} could not be made: {e}", provider.label()))?;
        let unreachable =
            |e: &dyn std::fmt::Display| format!("{} could not be reached ({e})", provider.label());
        let response = tokio::time::timeout(DEADLINE, self.client.request(request))
            .await
            .map_err(|_| unreachable(&"no answer in time"))?
            .map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        let body = tokio::time::timeout(
            DEADLINE,
            Limited::new(response.into_body(), MOST_ANSWER_BYTES).collect(),
        )
        .await
        .map_err(|_| unreachable(&"no answer in time"))?
        .map_err(|e| unreachable(&e))?
        .to_bytes()
        .to_vec();
        tracing::debug!(provider = provider.as_str(), path = %call.path, status, "payment provider answered");
        Ok(ProviderAnswer { status, body })
    }
}

impl web::PaymentLink for PaymentClient {
    fn call<'a>(&'a self, provider: Provider, call: ProviderCall) -> web::ProviderFuture<'a> {
        Box::pin(self.send(provider, call))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_go_over_https_or_to_loopback_only() {
        assert_eq!(
            api_base("k", "https://api.stripe.com/").ok().as_deref(),
            Some("https://api.stripe.com")
        );
        assert!(api_base("k", "http://127.0.0.1:9999").is_ok());
        assert!(api_base("k", "http://[::1]:9999").is_ok());
        assert!(api_base("k", "http://localhost:9999").is_ok());
        assert!(api_base("k", "http://api.stripe.com").is_err());
        assert!(api_base("k", "http://10.0.0.1").is_err());
        assert!(api_base("k", "ftp://x").is_err());
        assert!(api_base("k", "not a url").is_err());
    }
}
