//! What the server shares between brands: the registry of tenants and domains, the
//! directory the edge routes by, the licence's entitlement, ACME state and certificates,
//! backups and the sealing key.

pub mod acme;
pub mod backup;
pub mod certificates;
pub mod directory;
pub mod entitlement;
pub mod registry;
pub mod secrets;
pub mod tenant;
