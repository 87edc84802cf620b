//! Certificates chosen by SNI: an in-memory map from host name to a ready `CertifiedKey`,
//! replaced whole when certificates change, filled from the platform store (every few
//! seconds, so a certificate another replica stored is served without a restart). Until a
//! CA issues one, each domain gets a self-signed certificate, made once and stored so every
//! replica and every restart serves the same one. Clients that send no SNI get a
//! self-signed fallback certificate and are routed by host as usual. A client that offers
//! only ALPN `acme-tls/1` gets the TLS-ALPN-01 challenge certificate for its SNI (RFC 8737).
//!
//! TLS 1.2 and 1.3 only, through rustls with aws-lc-rs as the one crypto provider; the
//! post-quantum hybrid key exchange X25519MLKEM768 is offered first, then X25519, P-256
//! and P-384.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};
use std::path::Path;
use tenant_core::platform::certificates::{CertificateSource, FALLBACK_NAME, StoredCertificate};
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
    /// Issued by a CA (ACME, or imported and not self-signed) rather than self-signed.
    pub ca_issued: bool,
    /// When it expires.
    pub not_after: OffsetDateTime,
    /// SHA-256 of the stored chain and key, to tell when the store holds a new one.
    fingerprint: [u8; 32],
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

    /// Whether the certificate served for `name` is from a CA (not self-signed).
    pub fn ca_issued(&self, name: &str) -> bool {
        self.by_name
            .read()
            .is_ok_and(|map| map.get(name).is_some_and(|served| served.ca_issued))
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

/// Installs aws-lc-rs as the process's one crypto provider (two providers make rustls
/// panic), with the cipher suites of [`crypto_provider`].
pub fn install_crypto_provider() {
    let _ = crypto_provider().install_default();
}

/// aws-lc-rs with its key exchanges (X25519MLKEM768 first) and its AEAD cipher suites, in
/// this order: AES-128-GCM with SHA-256, then AES-256-GCM with SHA-384, then
/// ChaCha20-Poly1305, for TLS 1.3 and likewise for TLS 1.2. AES-128-GCM first, as browsers
/// offer it and Go's TLS (Caddy) chooses it: its handshake hashes with SHA-256, which
/// processors compute in hardware, where SHA-384 (AES-256's) runs in plain code on many
/// of them (aws-lc uses its vector SHA-512 on Intel processors only): a fifth of a full
/// handshake's CPU on this project's benchmark machine.
pub fn crypto_provider() -> CryptoProvider {
    use rustls::crypto::aws_lc_rs::cipher_suite as suite;
    CryptoProvider {
        cipher_suites: vec![
            suite::TLS13_AES_128_GCM_SHA256,
            suite::TLS13_AES_256_GCM_SHA384,
            suite::TLS13_CHACHA20_POLY1305_SHA256,
            suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ],
        ..rustls::crypto::aws_lc_rs::default_provider()
    }
}

/// The process's crypto provider (aws-lc-rs).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(crypto_provider()))
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
        not_before: Some(params.not_before),
        renew_at: None,
        issuer: None,
    })
}

fn fingerprint(stored: &StoredCertificate) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(stored.cert_pem.as_bytes());
    hash.update([0]);
    hash.update(stored.key_pem.as_bytes());
    hash.finalize().into()
}

/// What `cert status`, `cert import` and the ACME issuer need to know of a chain's leaf.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// The leaf certificate, DER.
    pub der: Vec<u8>,
    /// Valid from.
    pub not_before: OffsetDateTime,
    /// Valid until.
    pub not_after: OffsetDateTime,
    /// The issuer's common name (or whole name when it has none).
    pub issuer: String,
    /// The DNS names it covers.
    pub names: Vec<String>,
    /// Its SubjectPublicKeyInfo, DER.
    pub public_key: Vec<u8>,
}

impl Leaf {
    /// Whether the certificate covers `name` (exactly, or by a wildcard for one label).
    pub fn covers(&self, name: &str) -> bool {
        self.names.iter().any(|pattern| {
            let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
            match pattern.strip_prefix("*.") {
                Some(parent) => name
                    .split_once('.')
                    .is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
                None => pattern == name,
            }
        })
    }
}

/// Whether a DER certificate names someone other than itself as its issuer.
fn issued_by_another(der: &[u8]) -> bool {
    x509_parser::parse_x509_certificate(der)
        .is_ok_and(|(_, leaf)| leaf.issuer().as_raw() != leaf.subject().as_raw())
}

/// Reads the first certificate of a PEM chain.
pub fn inspect(chain_pem: &str) -> Result<Leaf, String> {
    let first = rustls_pemfile::certs(&mut chain_pem.as_bytes())
        .next()
        .ok_or("no certificate in it")?
        .map_err(|e| format!("not PEM: {e}"))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(first.as_ref())
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let issuer = parsed
        .issuer()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map_or_else(|| parsed.issuer().to_string(), str::to_owned);
    let mut names = Vec::new();
    if let Ok(Some(alternative)) = parsed.subject_alternative_name() {
        for name in &alternative.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(dns) = name {
                names.push((*dns).to_owned());
            }
        }
    }
    if names.is_empty()
        && let Some(cn) = parsed
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
    {
        names.push(cn.to_owned());
    }
    Ok(Leaf {
        der: first.as_ref().to_vec(),
        not_before: parsed.validity().not_before.to_datetime(),
        not_after: parsed.validity().not_after.to_datetime(),
        issuer,
        names,
        public_key: parsed.public_key().raw.to_vec(),
    })
}

/// The public key (SubjectPublicKeyInfo, DER) of a PEM private key, through the crypto
/// provider, so a key can be matched to a certificate.
pub fn public_key_of(key_pem: &str) -> Result<Vec<u8>, String> {
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_pem.as_bytes())
        .map_err(|e| format!("not PEM: {e}"))?
        .ok_or("no private key in it")?;
    let signing_key = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("unusable private key: {e}"))?;
    signing_key
        .public_key()
        .map(|spki| spki.as_ref().to_vec())
        .ok_or_else(|| "cannot derive the public key of this private key".to_owned())
}

/// The TLS configuration answering a TLS-ALPN-01 challenge for `domain` (RFC 8737 §3): a
/// self-signed certificate for that name only, carrying the SHA-256 of the key
/// authorization in a critical `acmeIdentifier` extension, offered for `acme-tls/1` only.
pub fn tls_alpn_config(
    domain: &str,
    key_authorization: &str,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let key = rcgen::KeyPair::generate().map_err(|e| format!("cannot make a key: {e}"))?;
    let mut params = rcgen::CertificateParams::new(vec![domain.to_owned()])
        .map_err(|e| format!("cannot make a challenge certificate for {domain}: {e}"))?;
    let digest: [u8; 32] = Sha256::digest(key_authorization.as_bytes()).into();
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(&digest)];
    let cert = params
        .self_signed(&key)
        .map_err(|e| format!("cannot sign a challenge certificate for {domain}: {e}"))?;
    let key_der = PrivateKeyDer::try_from(key.serialize_der())
        .map_err(|e| format!("cannot use the challenge key: {e}"))?;
    let signing_key = provider()
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| format!("cannot use the challenge key: {e}"))?;
    // Not `with_single_cert`: webpki would refuse the critical acmeIdentifier extension.
    let certified = CertifiedKey::new(vec![cert.der().clone()], signing_key);
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("cannot configure TLS: {e}"))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
    config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
    Ok(Arc::new(config))
}

/// The ALPN protocol of TLS-ALPN-01 (RFC 8737 §6.2).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

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
    // An imported certificate may be self-signed too: browsers would refuse it for good
    // under HSTS, so only one a CA signed turns HSTS on.
    let ca_issued = stored.source != CertificateSource::SelfSigned
        && chain.first().is_some_and(|leaf| issued_by_another(leaf));
    Ok(Served {
        key: Arc::new(CertifiedKey::new(chain, signing_key)),
        ca_issued,
        not_after: stored.not_after,
        fingerprint: fingerprint(stored),
    })
}

/// The stored certificate for `name`, made (self-signed) and stored when there is none or
/// a self-signed one is about to expire; `loaded` is reused when the store holds the same.
async fn ensure(
    platform: &Platform,
    name: &str,
    loaded: Option<&Served>,
) -> Result<Served, String> {
    let stored = platform
        .certificate(name)
        .await
        .map_err(|e| format!("cannot read the certificate for {name}: {e}"))?;
    ensure_stored(platform, name, stored, loaded).await
}

/// As [`ensure`], with the stored certificate of `name` already read.
async fn ensure_stored(
    platform: &Platform,
    name: &str,
    stored: Option<StoredCertificate>,
    loaded: Option<&Served>,
) -> Result<Served, String> {
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
            // A CA-issued certificate stored meanwhile is kept (and served) instead.
            match platform.certificate(name).await {
                Ok(Some(stored)) if stored.source != CertificateSource::SelfSigned => stored,
                _ => {
                    tracing::info!(domain = name, "made a self-signed certificate");
                    made
                }
            }
        }
    };
    match loaded {
        Some(served) if served.fingerprint == fingerprint(&stored) => Ok(served.clone()),
        _ => to_served(&stored),
    }
}

/// Loads (or makes) the fallback certificate and one for every tenant in `directory`.
pub async fn load(
    platform: &Platform,
    directory: &TenantDirectory,
) -> Result<Certificates, String> {
    let fallback = ensure(platform, FALLBACK_NAME, None).await?;
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
    let loaded = certificates
        .by_name
        .read()
        .map(|map| Arc::clone(&map))
        .unwrap_or_default();
    // Every stored certificate in one read: one query per domain, every few seconds, cost
    // ten seconds and a core with 10,000 brands.
    let mut stored: HashMap<String, StoredCertificate> = match platform.certificates().await {
        Ok(all) => all.into_iter().map(|c| (c.domain.clone(), c)).collect(),
        Err(error) => {
            tracing::error!(%error, "cannot read the stored certificates; serving those loaded");
            return;
        }
    };
    let mut map = HashMap::new();
    for domain in directory.domains() {
        let name = domain.as_str();
        match ensure_stored(platform, name, stored.remove(name), loaded.get(name)).await {
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
    // The cipher suite is chosen in the server's order (see `crypto_provider`): every
    // suite offered is AEAD with forward secrecy, and the first is the cheapest to set up.
    config.ignore_client_order = true;
    // Session tickets let a returning client resume without a full handshake. Their keys
    // are per process and rotate every six hours; another replica simply does a full one.
    config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new()
        .map_err(|e| format!("cannot make TLS session ticket keys: {e}"))?;
    Ok(Arc::new(config))
}

/// The roots a client of this server trusts: the system's, plus the certificates in
/// `ca_bundle` (a private or test CA); `key` names the setting in errors.
pub fn client_roots(ca_bundle: Option<&Path>, key: &str) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(certificate);
    }
    if let Some(path) = ca_bundle {
        let text = std::fs::read(path)
            .map_err(|e| format!("{key}: cannot read {}: {e}", path.display()))?;
        let certificates: Vec<CertificateDer<'static>> =
            rustls_pemfile::certs(&mut text.as_slice())
                .collect::<Result<_, _>>()
                .map_err(|e| format!("{key}: {} is not PEM: {e}", path.display()))?;
        if certificates.is_empty() {
            return Err(format!("{key}: {} holds no certificate", path.display()));
        }
        for certificate in certificates {
            roots.add(certificate).map_err(|e| {
                format!(
                    "{key}: a certificate in {} is unusable: {e}",
                    path.display()
                )
            })?;
        }
    }
    if roots.is_empty() {
        return Err(format!(
            "no trusted CA certificates: install the system's CA certificates or set {key}"
        ));
    }
    Ok(roots)
}
