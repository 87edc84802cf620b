//! The in-memory answer to "which tenant is this host, and is it served?", read on every
//! request. Built from the platform registry and the licence standing in one pass and
//! replaced whole when either changes, so a lookup is one hash probe and never touches a
//! store.

use std::collections::HashMap;
use std::sync::Arc;

use crate::names::Hostname;
use crate::platform::entitlement::{self, Serving, Standing};
use crate::platform::tenant::{Tenant, TenantId};

/// One tenant as the gateway sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The tenant.
    pub tenant: Arc<Tenant>,
    /// Whether and how it is served.
    pub serving: Serving,
    /// Changes must be refused (the licence has expired).
    pub read_only: bool,
}

/// Every non-pending tenant by domain, with its serving state.
#[derive(Debug, Clone, Default)]
pub struct TenantDirectory {
    by_domain: HashMap<Hostname, Entry>,
}

impl TenantDirectory {
    /// Computes the serving state of `tenants` under `standing` and indexes them by domain.
    pub fn build(tenants: Vec<Tenant>, standing: &Standing) -> Self {
        let serving = entitlement::serving(&tenants, standing);
        let read_only = standing.read_only();
        let by_domain = tenants
            .into_iter()
            .zip(serving)
            .filter(|(_, serving)| *serving != Serving::Pending)
            .map(|(tenant, serving)| {
                (
                    tenant.domain.clone(),
                    Entry {
                        tenant: Arc::new(tenant),
                        serving,
                        read_only,
                    },
                )
            })
            .collect();
        TenantDirectory { by_domain }
    }

    /// The tenant on `host`, if any.
    pub fn lookup(&self, host: &Hostname) -> Option<&Entry> {
        self.by_domain.get(host)
    }

    /// The tenant with id `id`, if any (a scan: for the rare lookups that start from an id,
    /// such as a reply by mail).
    pub fn by_id(&self, id: &TenantId) -> Option<&Entry> {
        self.by_domain.values().find(|entry| entry.tenant.id == *id)
    }

    /// Every domain it holds (including suspended and removed ones: their visitors get a
    /// page over TLS too).
    pub fn domains(&self) -> impl Iterator<Item = &Hostname> {
        self.by_domain.keys()
    }

    /// How many tenants it holds.
    pub fn len(&self) -> usize {
        self.by_domain.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.by_domain.is_empty()
    }
}
