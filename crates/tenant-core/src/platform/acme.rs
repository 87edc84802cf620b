//! ACME state in the platform store (RFC 8555), shared by every replica: the platform's
//! account at each CA, challenge answers (HTTP-01 by token, TLS-ALPN-01 by domain), each
//! domain's challenge type, its issuance state (failures, back-off, last error), and a
//! lease per domain so that only one replica orders a domain's certificate at a time. The ACME client that fills these lives in the gateway.

use std::fmt;

use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};
use crate::names::Hostname;
use crate::platform::certificates::{StoredCertificate, save_certificate_in};
use crate::platform::registry::Platform;
use crate::store::{now, on_tx, truncate_to_micros};

/// How the CA checks control of a domain (RFC 8555 §8.3, RFC 8737).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeType {
    /// A token served over plain HTTP at `/.well-known/acme-challenge/{token}`.
    Http01,
    /// A special certificate served for ALPN `acme-tls/1` on the HTTPS port.
    TlsAlpn01,
}

impl ChallengeType {
    /// Reads `http-01` or `tls-alpn-01`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "http-01" => Ok(ChallengeType::Http01),
            "tls-alpn-01" => Ok(ChallengeType::TlsAlpn01),
            other => Err(Error::Invalid(format!(
                "unknown ACME challenge type '{other}': use http-01 or tls-alpn-01"
            ))),
        }
    }

    /// The word RFC 8555 uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeType::Http01 => "http-01",
            ChallengeType::TlsAlpn01 => "tls-alpn-01",
        }
    }
}

impl fmt::Display for ChallengeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Tokens are base64url (RFC 8555 §8.1); anything else is never looked up.
fn valid_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 256
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Platform {
    /// Stores the answer to a challenge of `kind` for `domain` until `expires_at`.
    pub async fn put_challenge(
        &self,
        domain: &Hostname,
        kind: ChallengeType,
        token: &str,
        key_authorization: &str,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        if !valid_token(token) {
            return Err(Error::Invalid(format!("'{token}' is not an ACME token")));
        }
        let at = now();
        let mut tx = self.db.write().await?;
        on_tx!(tx, |conn| {
            sqlx::query(
                "insert into acme_challenges (token, domain, key_authorization, expires_at, created_at, updated_at, kind)
                 values ($1, $2, $3, $4, $5, $5, $6)
                 on conflict (token) do update set domain = $2, key_authorization = $3, expires_at = $4, updated_at = $5, kind = $6",
            )
            .bind(token)
            .bind(domain.as_str())
            .bind(key_authorization)
            .bind(truncate_to_micros(expires_at))
            .bind(at)
            .bind(kind.as_str())
            .execute(conn)
            .await?;
        });
        tx.commit().await
    }

    /// The HTTP-01 answer to serve for `token` on `domain`, if one is stored and current.
    pub async fn challenge_answer(&self, domain: &Hostname, token: &str) -> Result<Option<String>> {
        if !valid_token(token) {
            return Ok(None);
        }
        let mut tx = self.db.read().await?;
        Ok(on_tx!(tx, |conn| {
            sqlx::query_scalar(
                "select key_authorization from acme_challenges
                 where token = $1 and domain = $2 and expires_at > $3 and kind = 'http-01'",
            )
            .bind(token)
            .bind(domain.as_str())
            .bind(now())
            .fetch_optional(conn)
            .await?
        }))
    }

    /// The key authorization of the current TLS-ALPN-01 challenge for `domain`, if any (the
    /// newest, should there be several).
    pub async fn tls_alpn_answer(&self, domain: &Hostname) -> Result<Option<String>> {
        let mut tx = self.db.read().await?;
        Ok(on_tx!(tx, |conn| {
            sqlx::query_scalar(
                "select key_authorization from acme_challenges
                 where domain = $1 and kind = 'tls-alpn-01' and expires_at > $2
                 order by created_at desc limit 1",
            )
            .bind(domain.as_str())
            .bind(now())
            .fetch_optional(conn)
            .await?
        }))
    }

    /// Forgets a challenge answer (after validation) and every expired one.
    pub async fn remove_challenge(&self, token: &str) -> Result<()> {
        let mut tx = self.db.write().await?;
        on_tx!(tx, |conn| {
            sqlx::query("delete from acme_challenges where token = $1 or expires_at <= $2")
                .bind(token)
                .bind(now())
                .execute(conn)
                .await?;
        });
        tx.commit().await
    }

    /// Sets (or with `None` clears) the challenge type for one domain.
    pub async fn set_challenge_type(
        &self,
        domain: &Hostname,
        challenge: Option<ChallengeType>,
    ) -> Result<()> {
        let at = now();
        let mut tx = self.db.write().await?;
        on_tx!(tx, |conn| {
            sqlx::query(
                "insert into acme_orders (domain, challenge, created_at, updated_at) values ($1, $2, $3, $3)
                 on conflict (domain) do update set challenge = $2, updated_at = $3",
            )
            .bind(domain.as_str())
            .bind(challenge.map(ChallengeType::as_str))
            .bind(at)
            .execute(conn)
            .await?;
        });
        tx.commit().await
    }

    /// The challenge type set for `domain`, if any (otherwise `[acme] challenge` applies).
    pub async fn challenge_type(&self, domain: &Hostname) -> Result<Option<ChallengeType>> {
        let mut tx = self.db.read().await?;
        let stored: Option<Option<String>> = on_tx!(tx, |conn| {
            sqlx::query_scalar("select challenge from acme_orders where domain = $1")
                .bind(domain.as_str())
                .fetch_optional(conn)
                .await?
        });
        stored
            .flatten()
            .as_deref()
            .map(ChallengeType::parse)
            .transpose()
    }

    /// Takes the lease on ordering `domain`'s certificate for `holder` (a replica's id) for
    /// `length`, unless another holder has a lease that has not run out. Renewing one's
    /// own lease always works. One statement, so two replicas cannot both win.
    pub async fn take_order_lease(
        &self,
        domain: &Hostname,
        holder: &str,
        length: Duration,
    ) -> Result<bool> {
        let at = now();
        let mut tx = self.db.write().await?;
        let taken: Option<String> = on_tx!(tx, |conn| {
            sqlx::query_scalar(
                "insert into acme_orders (domain, lease_holder, lease_expires_at, created_at, updated_at)
                 values ($1, $2, $3, $4, $4)
                 on conflict (domain) do update set lease_holder = $2, lease_expires_at = $3, updated_at = $4
                 where acme_orders.lease_holder is null
                    or acme_orders.lease_holder = $2
                    or acme_orders.lease_expires_at <= $4
                 returning domain",
            )
            .bind(domain.as_str())
            .bind(holder)
            .bind(at + length)
            .bind(at)
            .fetch_optional(conn)
            .await?
        });
        tx.commit().await?;
        Ok(taken.is_some())
    }

    /// Gives the lease back (only `holder`'s own).
    pub async fn release_order_lease(&self, domain: &Hostname, holder: &str) -> Result<()> {
        let mut tx = self.db.write().await?;
        on_tx!(tx, |conn| {
            sqlx::query(
                "update acme_orders set lease_holder = null, lease_expires_at = null, updated_at = $3
                 where domain = $1 and lease_holder = $2",
            )
            .bind(domain.as_str())
            .bind(holder)
            .bind(now())
            .execute(conn)
            .await?;
        });
        tx.commit().await
    }
}

/// One domain's issuance state, as `cert status` and `/metrics` show it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IssuanceState {
    /// The domain.
    pub domain: String,
    /// Failed attempts since the last success.
    pub failures: i32,
    /// Not before this time is another attempt made (back-off, or the CA's `Retry-After`).
    pub next_attempt_at: Option<OffsetDateTime>,
    /// When the last attempt ended.
    pub last_attempt_at: Option<OffsetDateTime>,
    /// Why the last attempt failed; `None` after a success.
    pub last_error: Option<String>,
    /// Certificates issued for this domain so far.
    pub issued: i32,
    /// The replica ordering now, if any.
    pub lease_holder: Option<String>,
}

const ISSUANCE_COLUMNS: &str =
    "domain, failures, next_attempt_at, last_attempt_at, last_error, issued, lease_holder";

impl Platform {
    /// The stored account credentials (JSON) at the CA with `directory_url`, if any.
    pub async fn acme_account(&self, directory_url: &str) -> Result<Option<String>> {
        let mut tx = self.db.read().await?;
        Ok(on_tx!(tx, |conn| {
            sqlx::query_scalar("select credentials from acme_accounts where directory_url = $1")
                .bind(directory_url)
                .fetch_optional(conn)
                .await?
        }))
    }

    /// Stores account credentials for `directory_url` unless another replica stored some
    /// first; returns the ones every replica now uses.
    pub async fn save_acme_account(
        &self,
        directory_url: &str,
        credentials: &str,
    ) -> Result<String> {
        let at = now();
        let mut tx = self.db.write().await?;
        let kept: String = on_tx!(tx, |conn| {
            sqlx::query(
                "insert into acme_accounts (directory_url, credentials, created_at, updated_at)
                 values ($1, $2, $3, $3) on conflict (directory_url) do nothing",
            )
            .bind(directory_url)
            .bind(credentials)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            sqlx::query_scalar("select credentials from acme_accounts where directory_url = $1")
                .bind(directory_url)
                .fetch_one(&mut *conn)
                .await?
        });
        tx.commit().await?;
        Ok(kept)
    }

    /// Forgets the account the CA no longer knows, unless another replica has already
    /// replaced it.
    pub async fn forget_acme_account(&self, directory_url: &str, credentials: &str) -> Result<()> {
        let mut tx = self.db.write().await?;
        on_tx!(tx, |conn| {
            sqlx::query("delete from acme_accounts where directory_url = $1 and credentials = $2")
                .bind(directory_url)
                .bind(credentials)
                .execute(conn)
                .await?;
        });
        tx.commit().await
    }

    /// The issuance state of `domain`, if it ever had any.
    pub async fn issuance_state(&self, domain: &Hostname) -> Result<Option<IssuanceState>> {
        let mut tx = self.db.read().await?;
        Ok(on_tx!(tx, |conn| {
            sqlx::query_as(&format!(
                "select {ISSUANCE_COLUMNS} from acme_orders where domain = $1"
            ))
            .bind(domain.as_str())
            .fetch_optional(conn)
            .await?
        }))
    }

    /// The issuance state of every domain that has any.
    pub async fn issuance_states(&self) -> Result<Vec<IssuanceState>> {
        let mut tx = self.db.read().await?;
        Ok(on_tx!(tx, |conn| {
            sqlx::query_as(&format!(
                "select {ISSUANCE_COLUMNS} from acme_orders order by domain"
            ))
            .fetch_all(conn)
            .await?
        }))
    }

    /// Records a failed attempt for `domain`: `error` (shown by `cert status`; never holds a
    /// key) and no new attempt before `next_attempt_at`.
    pub async fn record_issuance_failure(
        &self,
        domain: &Hostname,
        error: &str,
        next_attempt_at: OffsetDateTime,
    ) -> Result<()> {
        let at = now();
        let mut tx = self.db.write().await?;
        on_tx!(tx, |conn| {
            sqlx::query(
                "insert into acme_orders (domain, failures, next_attempt_at, last_attempt_at, last_error, created_at, updated_at)
                 values ($1, 1, $2, $3, $4, $3, $3)
                 on conflict (domain) do update set failures = acme_orders.failures + 1, next_attempt_at = $2,
                     last_attempt_at = $3, last_error = $4, updated_at = $3",
            )
            .bind(domain.as_str())
            .bind(truncate_to_micros(next_attempt_at))
            .bind(at)
            .bind(error)
            .execute(conn)
            .await?;
        });
        tx.commit().await
    }

    /// Stores a newly issued certificate and clears the domain's failures and renewal
    /// request, in one transaction.
    pub async fn record_issuance(&self, certificate: &StoredCertificate) -> Result<()> {
        let at = now();
        let mut tx = self.db.write().await?;
        save_certificate_in(&mut tx, certificate).await?;
        on_tx!(tx, |conn| {
            sqlx::query(
                "insert into acme_orders (domain, issued, last_attempt_at, created_at, updated_at) values ($1, 1, $2, $2, $2)
                 on conflict (domain) do update set failures = 0, next_attempt_at = null, last_attempt_at = $2,
                     last_error = null, issued = acme_orders.issued + 1, updated_at = $2",
            )
            .bind(&certificate.domain)
            .bind(at)
            .execute(conn)
            .await?;
        });
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_types_parse_from_their_rfc_names_only() {
        for kind in [ChallengeType::Http01, ChallengeType::TlsAlpn01] {
            assert_eq!(ChallengeType::parse(kind.as_str()).ok(), Some(kind));
        }
        assert!(ChallengeType::parse("dns-01").is_err());
    }

    #[test]
    fn only_base64url_tokens_are_accepted() {
        assert!(valid_token("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"));
        assert!(!valid_token(""));
        assert!(!valid_token("../etc/passwd"));
        assert!(!valid_token("a b"));
    }
}
