//! A brand's world without HTTP: the platform registry (tenants, domains, certificates,
//! licence bookkeeping), each tenant's own store and migrations, the domain model (users,
//! client companies, roles, permissions, teams, projects), the access policy and the
//! services that enforce it, and the mail outbox.
//!
//! Depends only on `licensing`; knows nothing of HTTP or TLS. The tenant registry and
//! storage are the next capability to land here.
