//! When a domain's certificate is due: at a third of its lifetime left (or its ACME
//! renewal window), without a CA certificate at all, and not before the back-off after a
//! failure has passed (doubling from a minute to six hours, or the CA's Retry-After).

use std::time::{Duration as StdDuration, SystemTime};

use tenant_core::platform::acme::IssuanceState;
use tenant_core::platform::certificates::{CertificateSource, StoredCertificate};
use time::{Duration, OffsetDateTime};

/// The longest `Retry-After` taken from the CA; anything longer is read as this.
pub(crate) const LONGEST_RETRY_AFTER: StdDuration = StdDuration::from_secs(7 * 24 * 3600);

/// Back-off after the first failure, and its ceiling.
const FIRST_RETRY: Duration = Duration::minutes(1);

const LAST_RETRY: Duration = Duration::hours(6);

/// Why `domain` needs a certificate now, or `None` if it does not (or must wait).
pub fn due_reason(
    certificate: Option<&StoredCertificate>,
    state: Option<&IssuanceState>,
    now: OffsetDateTime,
) -> Option<&'static str> {
    if state
        .and_then(|s| s.next_attempt_at)
        .is_some_and(|next| next > now)
    {
        return None;
    }
    let Some(certificate) = certificate else {
        return Some("no certificate yet");
    };
    match certificate.source {
        CertificateSource::SelfSigned => Some("no certificate from the CA yet"),
        CertificateSource::Imported => None,
        CertificateSource::Acme => {
            let renew_at = certificate
                .renew_at
                .unwrap_or(certificate.not_after - Duration::days(30));
            (renew_at <= now).then_some("renewal time reached")
        }
    }
}

/// When to try again after the `failures`-th failure in a row: a minute, doubling up to six
/// hours, with ±10 % jitter so replicas and domains spread out; never before `retry_after`.
pub fn next_attempt(
    failures: i32,
    retry_after: Option<SystemTime>,
    now: OffsetDateTime,
    jitter: f64,
) -> OffsetDateTime {
    let doublings = u32::try_from(failures.saturating_sub(1))
        .unwrap_or(0)
        .min(16);
    let base = FIRST_RETRY
        .checked_mul(1_i32 << doublings.min(30))
        .unwrap_or(LAST_RETRY)
        .min(LAST_RETRY);
    let spread = base * (0.2 * jitter.clamp(0.0, 1.0) - 0.1);
    let backed_off = now + base + spread;
    let asked = retry_after.map(|at| {
        let wait = at
            .duration_since(SystemTime::now())
            .unwrap_or(StdDuration::ZERO)
            .min(LONGEST_RETRY_AFTER);
        now + wait
    });
    match asked {
        Some(asked) if asked > backed_off => asked,
        _ => backed_off,
    }
}

/// A third of the lifetime before expiry (RFC 8555 leaves this to the client; Let's
/// Encrypt recommends it).
pub fn renewal_time(not_before: OffsetDateTime, not_after: OffsetDateTime) -> OffsetDateTime {
    not_after - (not_after - not_before) / 3
}

/// A number in [0, 1) from the system's random source.
pub(crate) fn random_fraction() -> f64 {
    let mut bytes = [0_u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1_u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acme::parse_retry_after;

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    fn certificate(
        source: CertificateSource,
        renew_at: Option<OffsetDateTime>,
    ) -> StoredCertificate {
        StoredCertificate {
            domain: "a.test".to_owned(),
            source,
            cert_pem: String::new(),
            key_pem: String::new(),
            not_after: at(90 * 86_400),
            not_before: Some(at(0)),
            renew_at,
            issuer: None,
        }
    }

    fn state(next: Option<OffsetDateTime>) -> IssuanceState {
        IssuanceState {
            domain: "a.test".to_owned(),
            failures: 1,
            next_attempt_at: next,
            last_attempt_at: None,
            last_error: None,
            issued: 0,
            lease_holder: None,
        }
    }

    #[test]
    fn a_domain_is_due_without_a_ca_certificate_or_at_its_renewal_time() {
        let now = at(1_000);
        let self_signed = certificate(CertificateSource::SelfSigned, None);
        assert!(due_reason(Some(&self_signed), None, now).is_some());
        assert!(due_reason(None, None, now).is_some());
        let fresh = certificate(CertificateSource::Acme, Some(at(60 * 86_400)));
        assert_eq!(due_reason(Some(&fresh), None, now), None);
        assert!(due_reason(Some(&fresh), None, at(60 * 86_400)).is_some());
        let imported = certificate(CertificateSource::Imported, None);
        assert_eq!(due_reason(Some(&imported), None, at(89 * 86_400)), None);
    }

    #[test]
    fn back_off_holds_a_domain_until_its_next_attempt() {
        let self_signed = certificate(CertificateSource::SelfSigned, None);
        let waiting = state(Some(at(2_000)));
        assert_eq!(
            due_reason(Some(&self_signed), Some(&waiting), at(1_000)),
            None
        );
        assert!(due_reason(Some(&self_signed), Some(&waiting), at(2_000)).is_some());
    }

    #[test]
    fn back_off_doubles_from_a_minute_to_six_hours_and_honours_retry_after() {
        let now = at(0);
        let wait = |failures, jitter| next_attempt(failures, None, now, jitter) - now;
        assert_eq!(wait(1, 0.5), Duration::minutes(1));
        assert_eq!(wait(2, 0.5), Duration::minutes(2));
        assert_eq!(wait(4, 0.5), Duration::minutes(8));
        assert_eq!(wait(30, 0.5), Duration::hours(6));
        assert_eq!(wait(1, 0.0), Duration::seconds(54));
        assert_eq!(wait(1, 1.0), Duration::seconds(66));
        let asked = SystemTime::now() + StdDuration::from_secs(3600);
        let wait = next_attempt(1, Some(asked), now, 0.5) - now;
        assert!(
            (wait - Duration::hours(1)).abs() < Duration::seconds(5),
            "{wait}"
        );
        let sooner = SystemTime::now() + StdDuration::from_secs(5);
        assert_eq!(
            next_attempt(1, Some(sooner), now, 0.5) - now,
            Duration::minutes(1)
        );
    }

    #[test]
    fn renewal_starts_with_a_third_of_the_lifetime_left() {
        assert_eq!(renewal_time(at(0), at(90 * 86_400)), at(60 * 86_400));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates_within_a_week() {
        let ahead = |value: &str| {
            parse_retry_after(value).map(|at| {
                at.duration_since(SystemTime::now())
                    .unwrap_or(StdDuration::ZERO)
                    .as_secs()
            })
        };
        assert!(ahead("120").is_some_and(|s| (100..=120).contains(&s)));
        assert_eq!(
            ahead("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(0),
            "a past date: now"
        );
        let in_a_day = (OffsetDateTime::now_utc() + Duration::days(1))
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap_or_default();
        assert!(ahead(&in_a_day).is_some_and(|s| (86_000..=86_400).contains(&s)));
        let week = LONGEST_RETRY_AFTER.as_secs();
        assert!(ahead("18446744073709551615").is_some_and(|s| s <= week && s > week - 5));
        assert!(ahead("300000000000").is_some_and(|s| s <= week));
        assert_eq!(parse_retry_after("soon"), None);
        let far = SystemTime::now() + StdDuration::from_secs(10 * week);
        let next = next_attempt(1, Some(far), OffsetDateTime::now_utc(), 0.5);
        assert!(next <= OffsetDateTime::now_utc() + Duration::days(7) + Duration::seconds(5));
    }
}
