//! A brand's world without HTTP: the platform registry (tenants, domains, licence
//! bookkeeping), each tenant's own store and migrations, the domain model, the access
//! policy and the services that enforce it.
//!
//! One folder per capability, the same names in every layer: [`access`] (who may do
//! what), [`accounts`] (users, roles, teams, companies, sessions), [`brand`] (branding,
//! settings, outgoing mail), [`platform`] (what brands share) and [`work`] (projects and
//! what is inside them, entered through the project grant).
//!
//! Depends only on `licensing`; knows nothing of HTTP or TLS. Request-handling code gets a
//! [`TenantContext`] for one tenant and can reach nothing else: see [`store`] for how.

// Lets the shared test support name this crate as its integration tests do.
#[cfg(test)]
extern crate self as tenant_core;

pub mod access;
pub mod accounts;
pub mod audit;
pub mod brand;
pub mod cache;
pub mod error;
pub mod events;
mod fault;
pub mod fields;
pub mod finance;
pub mod names;
pub mod objects;
pub mod paging;
pub mod platform;
pub mod store;
pub mod talk;
pub mod work;

/// The integration tests' stores on both backends, for unit tests that need internals.
#[cfg(test)]
#[path = "../tests/support/mod.rs"]
mod test_support;

pub use error::{Error, Result};
pub use names::{Email, Hostname};
pub use platform::directory::{Entry, TenantDirectory};
pub use platform::entitlement::{Serving, Standing};
pub use platform::registry::Platform;
pub use platform::tenant::{Tenant, TenantContext, TenantId, TenantState};
pub use store::Backend;
pub use store::TenantStore;
