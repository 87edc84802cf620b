//! Certificates chosen by SNI: an in-memory map from host name to a ready `CertifiedKey`,
//! replaced whole when certificates change, filled from the platform store. Until ACME is
//! configured each domain gets a self-signed certificate, made once and stored so every
//! replica and every restart serves the same one. Clients that send no SNI get a
//! self-signed fallback certificate and are routed by host as usual.
//!
//! TLS 1.2 and 1.3 only, through rustls with `ring` as the one crypto provider.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tenant_core::certificates::{CertificateSource, FALLBACK_NAME, StoredCertificate};
use tenant_core::{Platform, TenantDirectory};
use time::{Duration, OffsetDateTime};

/// How long a self-signed certificate is made for, and how early it is replaced.
const SELF_SIGNED_LIFETIME: Duration = Duration::days(365);
const SELF_SIGNED_RENEW_BEFORE: Duration = Duration::days(30);

/// A certificate ready to serve, and whether a CA issued it (HSTS is sent only then).
#[derive(Debug, Clone)]
pub struct Served {
    /// The chain and signing key.
    pub key: Arc<CertifiedKey>,
    /// Issued by a CA (ACME or imported) rather than self-signed.
    pub ca_issued: bool,
    /// When it expires.
    pub not_after: OffsetDateTime,
}

/// The certificates the HTTPS listener serves, by SNI name.
#[derive(Debug)]
pub struct Certificates {
    by_name: RwLock<Arc<HashMap<String, Served>>>,
    fallback: Served,
}

impl Certificates {
    /// The certificate for `name`, if one is loaded.
    pub fn get(&self, name: &str) -> Option<Served> {
        self.by_name.read().ok()?.get(name).cloned()
    }

    /// Every loaded certificate's domain and expiry, for metrics.
    pub fn expiries(&self) -> Vec<(String, OffsetDateTime)> {
        self.by_name
            .read()
            .map(|map| {
                map.iter()
                    .map(|(name, s)| (name.clone(), s.not_after))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let served = hello
            .server_name()
            .and_then(|name| self.get(&name.to_ascii_lowercase()));
        Some(served.map_or_else(|| Arc::clone(&self.fallback.key), |s| s.key))
    }
}

/// Installs `ring` as the process's one crypto provider (two providers make rustls panic).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// Makes a self-signed certificate for `name`.
pub fn self_signed(name: &str) -> Result<StoredCertificate, String> {
    let key = rcgen::KeyPair::generate().map_err(|e| format!("cannot make a key: {e}"))?;
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()])
        .map_err(|e| format!("cannot make a certificate for {name}: {e}"))?;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + SELF_SIGNED_LIFETIME;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let cert = params
        .self_signed(&key)
        .map_err(|e| format!("cannot sign a certificate for {name}: {e}"))?;
    Ok(StoredCertificate {
        domain: name.to_owned(),
        source: CertificateSource::SelfSigned,
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        not_after: params.not_after,
    })
}

/// Turns stored PEM into a certificate rustls can serve.
pub fn to_served(stored: &StoredCertificate) -> Result<Served, String> {
    let chain: Vec<CertificateDer<'static>> =
        rustls_pemfile::certs(&mut stored.cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("certificate for {} is not PEM: {e}", stored.domain))?;
    if chain.is_empty() {
        return Err(format!(
            "certificate for {} holds no certificate",
            stored.domain
        ));
    }
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut stored.key_pem.as_bytes())
        .map_err(|e| format!("key for {} is not PEM: {e}", stored.domain))?
        .ok_or_else(|| format!("no private key stored for {}", stored.domain))?;
    let signing_key = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("key for {} cannot sign: {e}", stored.domain))?;
    Ok(Served {
        key: Arc::new(CertifiedKey::new(chain, signing_key)),
        ca_issued: stored.source != CertificateSource::SelfSigned,
        not_after: stored.not_after,
    })
}

/// The stored certificate for `name`, made (self-signed) and stored when there is none or
/// a self-signed one is about to expire.
async fn ensure(platform: &Platform, name: &str) -> Result<Served, String> {
    let stored = platform
        .certificate(name)
        .await
        .map_err(|e| format!("cannot read the certificate for {name}: {e}"))?;
    let renew = |c: &StoredCertificate| {
        c.source == CertificateSource::SelfSigned
            && c.not_after - OffsetDateTime::now_utc() < SELF_SIGNED_RENEW_BEFORE
    };
    let stored = match stored {
        Some(stored) if !renew(&stored) => stored,
        _ => {
            let made = self_signed(name)?;
            platform
                .save_certificate(&made)
                .await
                .map_err(|e| format!("cannot store the certificate for {name}: {e}"))?;
            tracing::info!(domain = name, "made a self-signed certificate");
            made
        }
    };
    to_served(&stored)
}

/// Loads (or makes) the fallback certificate and one for every tenant in `directory`.
pub async fn load(
    platform: &Platform,
    directory: &TenantDirectory,
) -> Result<Certificates, String> {
    let fallback = ensure(platform, FALLBACK_NAME).await?;
    let certificates = Certificates {
        by_name: RwLock::new(Arc::new(HashMap::new())),
        fallback,
    };
    refresh(&certificates, platform, directory).await;
    Ok(certificates)
}

/// Makes sure every tenant in `directory` has a certificate loaded; problems with one
/// domain are logged and do not affect the others.
pub async fn refresh(
    certificates: &Certificates,
    platform: &Platform,
    directory: &TenantDirectory,
) {
    let mut map = HashMap::new();
    for domain in directory.domains() {
        match ensure(platform, domain.as_str()).await {
            Ok(served) => {
                map.insert(domain.as_str().to_owned(), served);
            }
            Err(error) => tracing::error!(%domain, %error, "no certificate for this domain"),
        }
    }
    if let Ok(mut slot) = certificates.by_name.write() {
        *slot = Arc::new(map);
    }
}

/// The server's TLS configuration: TLS 1.2/1.3, ALPN h2 and http/1.1, certificates by SNI.
pub fn server_config(certificates: Arc<Certificates>) -> Result<Arc<rustls::ServerConfig>, String> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("cannot configure TLS: {e}"))?
        .with_no_client_auth()
        .with_cert_resolver(certificates);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    // Session tickets let a returning client resume without a full handshake. Their keys
    // are per process and rotate every six hours; another replica simply does a full one.
    config.ticketer = rustls::crypto::ring::Ticketer::new()
        .map_err(|e| format!("cannot make TLS session ticket keys: {e}"))?;
    Ok(Arc::new(config))
}
