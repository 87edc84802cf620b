//! A brand's world without HTTP: the platform registry (tenants, domains, licence
//! bookkeeping), each tenant's own store and migrations, the domain model, the access
//! policy and the services that enforce it.
//!
//! Depends only on `licensing`; knows nothing of HTTP or TLS. Request-handling code gets a
//! [`TenantContext`] for one tenant and can reach nothing else: see [`store`] for how.

// Lets the shared test support name this crate as its integration tests do.
#[cfg(test)]
extern crate self as tenant_core;

pub mod access;
pub mod acme;
pub mod audit;
pub mod backup;
pub mod branding;
pub mod certificates;
pub mod companies;
pub mod directory;
pub mod entitlement;
pub mod error;
mod fault;
pub mod mail;
pub mod names;
pub mod permissions;
pub mod projects;
pub mod registry;
pub mod review;
pub mod roles;
pub mod secrets;
pub mod sessions;
pub mod settings;
pub mod store;
pub mod tasks;
pub mod teams;
pub mod totp;
pub mod users;

/// The integration tests' stores on both backends, for unit tests that need internals.
#[cfg(test)]
#[path = "../tests/support/mod.rs"]
mod test_support;

pub use directory::{Entry, TenantDirectory};
pub use entitlement::{Serving, Standing};
pub use error::{Error, Result};
pub use names::{Email, Hostname};
pub use registry::{Platform, Tenant, TenantContext, TenantId, TenantState, TenantStore};
pub use store::Backend;
