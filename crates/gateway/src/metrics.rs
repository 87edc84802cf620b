//! Prometheus metrics of the edge, kept in atomics and one small map, rendered as text on
//! the operator listener.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use tenant_core::platform::acme::IssuanceState;
use time::OffsetDateTime;

/// The counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<HashMap<String, BTreeMap<u16, u64>>>,
    tls_handshakes: AtomicU64,
    tls_handshake_failures: AtomicU64,
    open_connections: AtomicI64,
}

impl Metrics {
    /// Counts one answered request for `tenant` (`-` when none) with `status`.
    pub fn request(&self, tenant: &str, status: u16) {
        if let Ok(mut map) = self.requests.lock() {
            // Look up by reference first: allocate a key only for a tenant seen first.
            let statuses = match map.get_mut(tenant) {
                Some(statuses) => statuses,
                None => map.entry(tenant.to_owned()).or_default(),
            };
            *statuses.entry(status).or_default() += 1;
        }
    }

    /// Counts a completed TLS handshake.
    pub fn handshake(&self, ok: bool) {
        let counter = if ok {
            &self.tls_handshakes
        } else {
            &self.tls_handshake_failures
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection opened (+1) or closed (-1).
    pub fn connection(&self, delta: i64) {
        self.open_connections.fetch_add(delta, Ordering::Relaxed);
    }

    /// The exposition text, with the licence state and certificate expiries given.
    pub fn render(
        &self,
        licence_state: &str,
        certificates: &[(String, OffsetDateTime)],
        issuance: &[IssuanceState],
    ) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP tasksession_requests_total Requests answered, by tenant domain and status."
        );
        let _ = writeln!(out, "# TYPE tasksession_requests_total counter");
        if let Ok(map) = self.requests.lock() {
            let mut tenants: Vec<_> = map.iter().collect();
            tenants.sort_by(|a, b| a.0.cmp(b.0));
            let rows = tenants
                .into_iter()
                .flat_map(|(tenant, statuses)| statuses.iter().map(move |(s, c)| (tenant, *s, *c)));
            for (tenant, status, count) in rows {
                let _ = writeln!(
                    out,
                    "tasksession_requests_total{{tenant=\"{}\",status=\"{status}\"}} {count}",
                    label(tenant)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP tasksession_tls_handshakes_total Completed TLS handshakes."
        );
        let _ = writeln!(out, "# TYPE tasksession_tls_handshakes_total counter");
        let _ = writeln!(
            out,
            "tasksession_tls_handshakes_total {}",
            self.tls_handshakes.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP tasksession_tls_handshake_failures_total Failed or timed-out TLS handshakes."
        );
        let _ = writeln!(
            out,
            "# TYPE tasksession_tls_handshake_failures_total counter"
        );
        let _ = writeln!(
            out,
            "tasksession_tls_handshake_failures_total {}",
            self.tls_handshake_failures.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP tasksession_open_connections Client connections open now."
        );
        let _ = writeln!(out, "# TYPE tasksession_open_connections gauge");
        let _ = writeln!(
            out,
            "tasksession_open_connections {}",
            self.open_connections.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP tasksession_licence_state The licence state (1 for the current one)."
        );
        let _ = writeln!(out, "# TYPE tasksession_licence_state gauge");
        let _ = writeln!(
            out,
            "tasksession_licence_state{{state=\"{}\"}} 1",
            label(licence_state)
        );
        per_domain_gauge(
            &mut out,
            "tasksession_certificate_expiry_seconds",
            "Unix time each domain's certificate expires.",
            certificates
                .iter()
                .map(|(domain, not_after)| (domain.as_str(), not_after.unix_timestamp())),
        );
        per_domain_gauge(
            &mut out,
            "tasksession_certificate_order_failures",
            "Failed ACME orders in a row for each domain (0 after a success).",
            issuance
                .iter()
                .map(|s| (s.domain.as_str(), i64::from(s.failures))),
        );
        per_domain_gauge(
            &mut out,
            "tasksession_certificates_issued",
            "Certificates an ACME CA issued for each domain.",
            issuance
                .iter()
                .map(|s| (s.domain.as_str(), i64::from(s.issued))),
        );
        out
    }
}

/// A gauge with one sample per domain.
fn per_domain_gauge<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    samples: impl Iterator<Item = (&'a str, i64)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (domain, value) in samples {
        let _ = writeln!(out, "{name}{{domain=\"{}\"}} {value}", label(domain));
    }
}

/// A label value with quotes, backslashes and newlines escaped.
fn label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
