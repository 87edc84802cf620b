//! A tenant as the platform knows it: its id, domain, brand name and state, and the
//! context request-handling code gets for it.

use std::fmt;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::names::Hostname;
use crate::store::TenantStore;

/// A tenant's id: lower-case hex, sortable by creation time; also its schema and folder name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

impl TenantId {
    /// Checks the spelling of a tenant id: 1 to 32 lower-case hex digits.
    pub fn parse(text: &str) -> Result<Self> {
        let valid = (1..=32).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if valid {
            Ok(TenantId(text.to_owned()))
        } else {
            Err(Error::Invalid(format!("'{text}' is not a tenant id")))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn schema(&self) -> String {
        format!("tenant_{}", self.0)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The operator's state for a tenant (the licence may suspend an `active` one further).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantState {
    /// Being created.
    Pending,
    /// Served, as far as the operator is concerned.
    Active,
    /// Suspended by the operator; data kept.
    Suspended,
    /// Removed by the operator; not served, data kept.
    Removed,
}

impl TenantState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TenantState::Pending => "pending",
            TenantState::Active => "active",
            TenantState::Suspended => "suspended",
            TenantState::Removed => "removed",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        match text {
            "pending" => Ok(TenantState::Pending),
            "active" => Ok(TenantState::Active),
            "suspended" => Ok(TenantState::Suspended),
            "removed" => Ok(TenantState::Removed),
            other => Err(Error::Invalid(format!("unknown tenant state '{other}'"))),
        }
    }
}

/// A tenant (brand) as the platform registry knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Its primary domain.
    pub domain: Hostname,
    /// Its brand name.
    pub brand: String,
    /// The operator's state.
    pub state: TenantState,
    /// When it was added.
    pub created_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
pub(crate) struct TenantRow {
    tenant_id: String,
    domain: String,
    brand: String,
    state: String,
    created_at: OffsetDateTime,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = Error;

    fn try_from(row: TenantRow) -> Result<Self> {
        Ok(Tenant {
            id: TenantId::parse(&row.tenant_id)?,
            domain: Hostname::parse(&row.domain)?,
            brand: row.brand,
            state: TenantState::parse(&row.state)?,
            created_at: row.created_at,
        })
    }
}

pub(crate) const TENANT_COLUMNS: &str = "tenant_id, domain, brand, state, created_at";

/// What request-handling code gets for the tenant a request was routed to.
#[derive(Debug, Clone)]
pub struct TenantContext {
    /// The tenant (shared: a context is cloned into every extractor of a request).
    pub tenant: Arc<Tenant>,
    /// Changes must be refused (the licence has expired).
    pub read_only: bool,
    pub(crate) store: TenantStore,
}

impl TenantContext {
    /// The tenant's store.
    pub fn store(&self) -> &TenantStore {
        &self.store
    }
}

/// A brand name as the operator typed it: 1 to 100 characters, no control characters.
pub fn parse_brand(text: &str) -> Result<String> {
    let brand = text.trim();
    if brand.is_empty() || brand.chars().count() > 100 || brand.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "brand name '{text}' must be 1 to 100 characters without control characters"
        )));
    }
    Ok(brand.to_owned())
}
