//! A brand's world without HTTP: the platform registry (tenants, domains, licence
//! bookkeeping), each tenant's own store and migrations, the domain model, the access
//! policy and the services that enforce it.
//!
//! Depends only on `licensing`; knows nothing of HTTP or TLS. Request-handling code gets a
//! [`TenantContext`] for one tenant and can reach nothing else: see [`store`] for how.

pub mod entitlement;
pub mod error;
mod fault;
pub mod names;
pub mod registry;
pub mod store;
pub mod users;

pub use entitlement::{Serving, Standing};
pub use error::{Error, Result};
pub use names::{Email, Hostname};
pub use registry::{Platform, Tenant, TenantContext, TenantId, TenantState, TenantStore};
pub use store::Backend;
