//! `tasksession cert status|renew|import`: each domain's certificate, asking the ACME CA for
//! a new one now, and installing one bought elsewhere. The same status rows feed
//! `/operator/v1/certificates`.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use tenant_core::platform::certificates::{CertificateSource, StoredCertificate};
use tenant_core::{Hostname, Platform, Serving, Standing};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::acme::{AcmeSettings, Issuer};
use crate::config::Config;
use crate::domains::{parse_domain, print_listing, with_platform};
use crate::outcome::{Failure, Outcome};
use crate::platform::{Opened, failure};
use crate::tls;

/// One domain's certificate as `cert status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CertificateStatus {
    /// The domain.
    pub domain: String,
    /// Whether the domain is served (`active`, `suspended`, …).
    pub state: &'static str,
    /// `acme`, `imported`, `self-signed`, or `null` before the first start.
    pub source: Option<&'static str>,
    /// The issuer's name.
    pub issuer: Option<String>,
    /// Valid from (RFC 3339).
    pub not_before: Option<String>,
    /// Valid until (RFC 3339).
    pub not_after: Option<String>,
    /// Whether the ACME issuer renews it.
    pub auto_renew: bool,
    /// When the next order is due (RFC 3339), if one will be made.
    pub next_renewal: Option<String>,
    /// The same in words, for the table.
    pub next_renewal_note: String,
    /// Failed attempts since the last success.
    pub failures: i32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// A replica is ordering it right now.
    pub ordering: bool,
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// The status of every domain (or only `only`), reading the platform store.
pub async fn statuses(
    platform: &Platform,
    standing: &Standing,
    acme_configured: bool,
    only: Option<&Hostname>,
) -> Result<Vec<CertificateStatus>, tenant_core::Error> {
    let certificates = platform.certificates().await?;
    let states = platform.issuance_states().await?;
    let now = OffsetDateTime::now_utc();
    let mut rows = Vec::new();
    for (tenant, serving) in platform.serving(standing).await? {
        if serving == Serving::Pending || only.is_some_and(|d| *d != tenant.domain) {
            continue;
        }
        let domain = tenant.domain.as_str();
        let certificate = certificates.iter().find(|c| c.domain == domain);
        let state = states.iter().find(|s| s.domain == domain);
        let failures = state.map_or(0, |s| s.failures);
        let retry_at = state
            .filter(|s| s.failures > 0)
            .and_then(|s| s.next_attempt_at);
        let ordering = state.is_some_and(|s| s.lease_holder.is_some());
        let source = certificate.map(|c| c.source);
        let auto_renew = acme_configured && source != Some(CertificateSource::Imported);
        let (next_renewal, next_renewal_note) = match (source, auto_renew) {
            (Some(CertificateSource::Imported), _) => (
                None,
                "never: imported (import a new one, or 'cert renew' to switch to ACME)".to_owned(),
            ),
            (_, false) => (None, "never: ACME is not configured".to_owned()),
            (_, true) => {
                let due = match (retry_at, certificate) {
                    (Some(retry), _) => retry,
                    (None, Some(c)) if c.source == CertificateSource::Acme => {
                        c.renew_at.unwrap_or(c.not_after)
                    }
                    _ => now,
                };
                let note = if retry_at.is_some() {
                    format!("retry at {}", rfc3339(due))
                } else if due <= now {
                    "due now".to_owned()
                } else {
                    rfc3339(due)
                };
                (Some(rfc3339(due.max(now))), note)
            }
        };
        rows.push(CertificateStatus {
            domain: domain.to_owned(),
            state: serving.label(),
            source: source.map(CertificateSource::as_str),
            issuer: certificate.and_then(|c| c.issuer.clone()),
            not_before: certificate.and_then(|c| c.not_before).map(rfc3339),
            not_after: certificate.map(|c| rfc3339(c.not_after)),
            auto_renew,
            next_renewal,
            next_renewal_note,
            failures,
            last_error: state.and_then(|s| s.last_error.clone()),
            ordering,
        });
    }
    Ok(rows)
}

/// `cert status [DOMAIN] [--json]`.
pub fn status(config: &Config, domain: Option<&str>, json: bool) -> Outcome {
    let only = domain.map(parse_domain).transpose()?;
    let acme = config.acme.directory_url.is_some();
    let rows = with_platform(config, async |platform, standing| {
        statuses(platform, standing, acme, only.as_ref())
            .await
            .map_err(failure)
    })?;
    if let Some(domain) = &only
        && rows.is_empty()
    {
        return Err(Failure::Refused(format!(
            "no domain {domain}; see 'tasksession domain list'"
        )));
    }
    print_listing(
        &rows,
        json,
        &[
            "DOMAIN",
            "SOURCE",
            "ISSUER",
            "NOT AFTER",
            "NEXT RENEWAL",
            "LAST ERROR",
        ],
        |row| {
            [
                row.domain.clone(),
                row.source.unwrap_or("none yet").to_owned(),
                row.issuer.clone().unwrap_or_else(|| "-".to_owned()),
                row.not_after.clone().unwrap_or_else(|| "-".to_owned()),
                row.next_renewal_note.clone(),
                row.last_error.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        },
    )
}

/// `cert renew DOMAIN`: orders a new certificate now, through the answers every running
/// replica serves from the platform store, and waits for it.
pub fn renew(config: &Config, domain: &str) -> Outcome {
    let domain = parse_domain(domain)?;
    let settings = AcmeSettings::from_config(config)?.ok_or_else(|| {
        Failure::Refused(
            "ACME is not configured: set [acme] directory_url (TASKSESSION_ACME_DIRECTORY_URL) first"
                .to_owned(),
        )
    })?;
    tls::install_crypto_provider();
    crate::platform::runtime()?.block_on(async {
        let Opened { platform, .. } = crate::platform::open(config).await?;
        let platform = Arc::new(platform);
        let outcome = renew_on(Arc::clone(&platform), settings, &domain).await;
        platform.close().await;
        outcome
    })
}

async fn renew_on(platform: Arc<Platform>, settings: AcmeSettings, domain: &Hostname) -> Outcome {
    {
        if platform
            .tenant_by_domain(domain)
            .await
            .map_err(failure)?
            .is_none()
        {
            return Err(Failure::Refused(format!(
                "no domain {domain}; see 'tasksession domain list'"
            )));
        }
        let issuer = Issuer::new(platform, settings)?;
        if !issuer
            .take_lease(domain)
            .await
            .map_err(|e| Failure::Refused(e.message))?
        {
            return Err(Failure::Refused(format!(
                "a running server is ordering {domain}'s certificate right now; see 'tasksession cert status {domain}' in a minute"
            )));
        }
        eprintln!("asking {} for a certificate…", issuer.directory_url());
        let outcome = issuer
            .issue_and_record(domain, &|step| eprintln!("  {step}"))
            .await;
        issuer.release_lease(domain).await;
        match outcome {
            Ok(certificate) => {
                println!(
                    "{domain}: new certificate from {}, valid until {}; running servers pick it up within seconds",
                    certificate.issuer.as_deref().unwrap_or("the CA"),
                    rfc3339(certificate.not_after)
                );
                Ok(())
            }
            Err(error) => Err(Failure::Refused(format!(
                "{domain}: {}; the current certificate stays in use (is 'tasksession serve' running and reachable by the CA?)",
                error.message
            ))),
        }
    }
}

fn read_pem(path: &Path, what: &str) -> Result<String, Failure> {
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::BadInput(format!("cannot read the {what} {}: {e}", path.display()))
    })?;
    String::from_utf8(bytes)
        .map_err(|_| Failure::BadInput(format!("the {what} {} is not PEM text", path.display())))
}

/// Checks an operator's certificate and key for `domain`: PEM, the key matches the leaf,
/// the name is covered and the certificate is current.
pub fn check_import(
    domain: &Hostname,
    cert_pem: &str,
    key_pem: &str,
    now: OffsetDateTime,
) -> Result<StoredCertificate, String> {
    let leaf = tls::inspect(cert_pem).map_err(|e| format!("the certificate file: {e}"))?;
    let public_key = tls::public_key_of(key_pem).map_err(|e| format!("the key file: {e}"))?;
    if public_key != leaf.public_key {
        return Err("the key does not belong to the certificate".to_owned());
    }
    if !leaf.covers(domain.as_str()) {
        return Err(format!(
            "the certificate does not cover {domain} (it covers {})",
            leaf.names.join(", ")
        ));
    }
    if leaf.not_before > now {
        return Err(format!(
            "the certificate is not valid before {}",
            rfc3339(leaf.not_before)
        ));
    }
    if leaf.not_after <= now {
        return Err(format!(
            "the certificate expired on {}",
            rfc3339(leaf.not_after)
        ));
    }
    Ok(StoredCertificate {
        domain: domain.as_str().to_owned(),
        source: CertificateSource::Imported,
        cert_pem: cert_pem.to_owned(),
        key_pem: key_pem.to_owned(),
        not_after: leaf.not_after,
        not_before: Some(leaf.not_before),
        renew_at: None,
        issuer: Some(leaf.issuer),
    })
}

/// `cert import DOMAIN --cert PEM --key PEM`.
pub fn import(config: &Config, domain: &str, cert: &Path, key: &Path) -> Outcome {
    let domain = parse_domain(domain)?;
    let cert_pem = read_pem(cert, "certificate")?;
    let key_pem = read_pem(key, "key")?;
    tls::install_crypto_provider();
    let stored = check_import(&domain, &cert_pem, &key_pem, OffsetDateTime::now_utc())
        .map_err(|e| Failure::BadInput(format!("not imported: {e}")))?;
    with_platform(config, async |platform, _| {
        if platform
            .tenant_by_domain(&domain)
            .await
            .map_err(failure)?
            .is_none()
        {
            return Err(Failure::Refused(format!(
                "no domain {domain}; see 'tasksession domain list'"
            )));
        }
        // Under the domain's lease, so a renewal in flight cannot overwrite the import.
        let holder = format!("cert-import-{}", std::process::id());
        if !platform
            .take_order_lease(&domain, &holder, time::Duration::minutes(1))
            .await
            .map_err(failure)?
        {
            return Err(Failure::Refused(format!(
                "a running server is ordering {domain}'s certificate right now; import again in a minute"
            )));
        }
        let saved = platform.save_certificate(&stored).await.map_err(failure);
        let released = platform
            .release_order_lease(&domain, &holder)
            .await
            .map_err(failure);
        saved.and(released)?;
        println!(
            "{domain}: imported a certificate from {}, valid until {}; it is not renewed automatically, and running servers pick it up within seconds",
            stored.issuer.as_deref().unwrap_or("its issuer"),
            rfc3339(stored.not_after)
        );
        Ok(())
    })
}
