//! What the licence allows the platform right now: how many domains may be active, which
//! names, whether brands are read-only. Computed in one place from the licence standing and
//! the tenants, so `domain add`, `domain activate`, the gateway and the hourly re-check all
//! agree.

use licensing::{Licence, LicenceState};

use crate::names::Hostname;
use crate::platform::tenant::{Tenant, TenantState};

/// How many domains development mode allows.
pub const DEVELOPMENT_MAX_DOMAINS: usize = 5;
/// The names development mode accepts, for messages.
pub const DEVELOPMENT_NAMES: &str = "localhost, *.localhost and *.test";

/// The platform's licence standing at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// No licence file: development mode.
    Development,
    /// A licence that verified, and its state now.
    Licensed {
        /// The licence.
        licence: Licence,
        /// Its state.
        state: LicenceState,
    },
}

/// Whether a tenant is served, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Serving {
    /// Served normally (read-only when the licence has expired).
    Active,
    /// Suspended by the operator (`domain suspend`).
    SuspendedByOperator,
    /// Suspended because the licence does not cover it; the reason says why.
    SuspendedByLicence(String),
    /// Removed: not served, data kept.
    Removed,
    /// Being created.
    Pending,
}

impl Serving {
    /// The word `domain list` shows.
    pub fn label(&self) -> &'static str {
        match self {
            Serving::Active => "active",
            Serving::SuspendedByOperator => "suspended",
            Serving::SuspendedByLicence(_) => "not licensed",
            Serving::Removed => "removed",
            Serving::Pending => "pending",
        }
    }
}

impl Standing {
    /// A short word for logs and metrics.
    pub fn label(&self) -> String {
        match self {
            Standing::Development => "development".to_owned(),
            Standing::Licensed { state, .. } => state.to_string(),
        }
    }

    /// How many domains may be active at once.
    pub fn max_domains(&self) -> usize {
        match self {
            Standing::Development => DEVELOPMENT_MAX_DOMAINS,
            Standing::Licensed { licence, .. } => licence.max_domains as usize,
        }
    }

    /// Every brand is read-only (the licence is past its grace period).
    pub fn read_only(&self) -> bool {
        matches!(
            self,
            Standing::Licensed {
                state: LicenceState::Expired,
                ..
            }
        )
    }

    /// The plan as a phrase for messages.
    pub fn plan_phrase(&self) -> String {
        let max = self.max_domains();
        let domains = if max == 1 { "domain" } else { "domains" };
        match self {
            Standing::Development => {
                format!("development mode (no licence) allows {max} {domains}")
            }
            Standing::Licensed { licence, .. } => {
                format!("plan '{}' allows {max} active {domains}", licence.plan)
            }
        }
    }

    /// Why `name` may not be served under this standing, if it may not.
    pub fn refuses_name(&self, name: &Hostname) -> Option<String> {
        match self {
            Standing::Development if !name.is_development_name() => Some(format!(
                "{name}: development mode (no licence installed) serves only {DEVELOPMENT_NAMES}; install a licence with 'tasksession licence install FILE' to serve other names"
            )),
            Standing::Licensed { licence, .. } if !licence.allows_domain(name.as_str()) => {
                Some(format!(
                    "{name}: the licence is bound to {} and does not cover this name; ask the vendor to add it",
                    licence.domains.join(", ")
                ))
            }
            _ => None,
        }
    }
}

/// Which of `tenants` are served: operator states first, then the licence's name rule, then
/// the oldest active tenants up to the plan's count (ids sort by creation time).
pub fn serving(tenants: &[Tenant], standing: &Standing) -> Vec<Serving> {
    let mut order: Vec<usize> = (0..tenants.len()).collect();
    order.sort_by(|a, b| tenants[*a].id.cmp(&tenants[*b].id));
    let mut result = vec![Serving::Pending; tenants.len()];
    let mut active = 0;
    for index in order {
        let tenant = &tenants[index];
        result[index] = match tenant.state {
            TenantState::Pending => Serving::Pending,
            TenantState::Removed => Serving::Removed,
            TenantState::Suspended => Serving::SuspendedByOperator,
            TenantState::Active => match standing.refuses_name(&tenant.domain) {
                Some(reason) => Serving::SuspendedByLicence(reason),
                None if active >= standing.max_domains() => Serving::SuspendedByLicence(format!(
                    "{}: {}, all taken by older domains",
                    tenant.domain,
                    standing.plan_phrase()
                )),
                None => {
                    active += 1;
                    Serving::Active
                }
            },
        };
    }
    result
}
