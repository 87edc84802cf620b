//! TLS certificates in the platform store, so every replica serves the same ones and a
//! restart never re-issues: self-signed ones until ACME is configured, CA-issued ones
//! after, and the fallback served to clients that send no SNI.

use std::fmt;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::platform::registry::Platform;
use crate::store::{Tx, now, on_tx, truncate_to_micros};

/// The name the fallback certificate (for clients without SNI) is stored under.
pub const FALLBACK_NAME: &str = "fallback.tasksession.invalid";

/// Where a certificate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateSource {
    /// Made by the platform itself; browsers warn about it.
    SelfSigned,
    /// Issued by an ACME CA.
    Acme,
    /// Given by the operator (`cert import`).
    Imported,
}

impl CertificateSource {
    /// The word stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateSource::SelfSigned => "self-signed",
            CertificateSource::Acme => "acme",
            CertificateSource::Imported => "imported",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        match text {
            "self-signed" => Ok(CertificateSource::SelfSigned),
            "acme" => Ok(CertificateSource::Acme),
            "imported" => Ok(CertificateSource::Imported),
            other => Err(Error::Invalid(format!(
                "unknown certificate source '{other}'"
            ))),
        }
    }
}

/// A certificate chain and its private key, as PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCertificate {
    /// The domain it is for (or [`FALLBACK_NAME`]).
    pub domain: String,
    /// Where it came from.
    pub source: CertificateSource,
    /// The chain, leaf first.
    pub cert_pem: String,
    /// The private key (never logged).
    pub key_pem: String,
    /// When it expires.
    pub not_after: OffsetDateTime,
    /// When it became valid (unknown for certificates stored before this was kept).
    pub not_before: Option<OffsetDateTime>,
    /// When the ACME manager renews it; `None` for certificates it does not renew.
    pub renew_at: Option<OffsetDateTime>,
    /// The issuer's name, for `cert status`.
    pub issuer: Option<String>,
}

impl fmt::Debug for StoredCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCertificate")
            .field("domain", &self.domain)
            .field("source", &self.source)
            .field("not_after", &self.not_after)
            .field("renew_at", &self.renew_at)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
struct CertificateRow {
    domain: String,
    source: String,
    cert_pem: String,
    key_pem: String,
    not_after: OffsetDateTime,
    not_before: Option<OffsetDateTime>,
    renew_at: Option<OffsetDateTime>,
    issuer: Option<String>,
}

impl TryFrom<CertificateRow> for StoredCertificate {
    type Error = Error;

    fn try_from(row: CertificateRow) -> Result<Self> {
        Ok(StoredCertificate {
            domain: row.domain,
            source: CertificateSource::parse(&row.source)?,
            cert_pem: row.cert_pem,
            key_pem: row.key_pem,
            not_after: row.not_after,
            not_before: row.not_before,
            renew_at: row.renew_at,
            issuer: row.issuer,
        })
    }
}

const COLUMNS: &str = "domain, source, cert_pem, key_pem, not_after, not_before, renew_at, issuer";

impl Platform {
    /// The stored certificate for `name`, if any.
    pub async fn certificate(&self, name: &str) -> Result<Option<StoredCertificate>> {
        let mut tx = self.db.read().await?;
        let row: Option<CertificateRow> = on_tx!(tx, |conn| {
            sqlx::query_as(&format!(
                "select {COLUMNS} from certificates where domain = $1"
            ))
            .bind(name)
            .fetch_optional(conn)
            .await?
        });
        row.map(StoredCertificate::try_from).transpose()
    }

    /// Every stored certificate.
    pub async fn certificates(&self) -> Result<Vec<StoredCertificate>> {
        let mut tx = self.db.read().await?;
        let rows: Vec<CertificateRow> = on_tx!(tx, |conn| {
            sqlx::query_as(&format!(
                "select {COLUMNS} from certificates order by domain"
            ))
            .fetch_all(conn)
            .await?
        });
        rows.into_iter().map(StoredCertificate::try_from).collect()
    }

    /// Stores (or replaces) the certificate for its domain.
    pub async fn save_certificate(&self, certificate: &StoredCertificate) -> Result<()> {
        let mut tx = self.db.write().await?;
        save_certificate_in(&mut tx, certificate).await?;
        tx.commit().await
    }
}

/// Stores (or replaces) `certificate` within `tx`. A self-signed certificate never replaces
/// one a CA issued: the ACME issuer may store one at the moment a replica makes a
/// self-signed placeholder.
pub(crate) async fn save_certificate_in(
    tx: &mut Tx,
    certificate: &StoredCertificate,
) -> Result<()> {
    let at = now();
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into certificates (domain, source, cert_pem, key_pem, not_after, not_before, renew_at, issuer, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
             on conflict (domain) do update set source = $2, cert_pem = $3, key_pem = $4, not_after = $5,
                 not_before = $6, renew_at = $7, issuer = $8, updated_at = $9
             where $2 <> 'self-signed' or certificates.source = 'self-signed'",
        )
        .bind(&certificate.domain)
        .bind(certificate.source.as_str())
        .bind(&certificate.cert_pem)
        .bind(&certificate.key_pem)
        .bind(truncate_to_micros(certificate.not_after))
        .bind(certificate.not_before.map(truncate_to_micros))
        .bind(certificate.renew_at.map(truncate_to_micros))
        .bind(&certificate.issuer)
        .bind(at)
        .execute(conn)
        .await?;
    });
    Ok(())
}
