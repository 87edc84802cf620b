//! Client companies and their contacts. A client user belongs to exactly one company and
//! can never see another company's data: for them every other company does not exist.

use serde_json::json;
use time::OffsetDateTime;

use crate::access::UserKind;
use crate::access::permissions::need;
use crate::access::{self, Actor, Permitted, Principal, Scope};
use crate::accounts::users::{self, User, UserFilter};
use crate::audit::{self, Target};
use crate::error::{Error, Result};
use crate::paging::Page;
use crate::store::TenantStore;
use crate::store::{Column, Table};
use crate::store::{Tx, new_id, now, on_tx};

/// A client company.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    /// Its id.
    pub id: String,
    /// Its name, unique in the brand.
    pub name: String,
    /// Free text: address, billing details, notes.
    pub details: String,
    /// The currency its invoices are in (ISO 4217), when set.
    pub currency: Option<String>,
    /// Its country (ISO 3166-1 alpha-2), for e-invoices, when set.
    pub country: Option<String>,
    /// Its VAT or tax id, printed on its invoices, when set.
    pub tax_id: Option<String>,
    /// When it was added.
    pub created_at: OffsetDateTime,
}

impl Company {
    fn audit_state(&self) -> serde_json::Value {
        json!({"name": self.name, "details": self.details, "currency": self.currency, "country": self.country, "tax_id": self.tax_id})
    }
}

const COLUMNS: &str = "company_id, name, details, currency, country, tax_id, created_at";

type CompanyRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    OffsetDateTime,
);

fn from_row((id, name, details, currency, country, tax_id, created_at): CompanyRow) -> Company {
    Company {
        id,
        name,
        details,
        currency,
        country,
        tax_id,
        created_at,
    }
}

/// A change to a company; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct CompanyChange<'a> {
    /// A new name.
    pub name: Option<&'a str>,
    /// New details.
    pub details: Option<&'a str>,
    /// The currency of its invoices (an ISO 4217 code; empty clears it).
    pub currency: Option<&'a str>,
    /// Its country (ISO 3166-1 alpha-2; empty clears it).
    pub country: Option<&'a str>,
    /// Its VAT or tax id (empty clears it).
    pub tax_id: Option<&'a str>,
}

fn parse_currency(text: &str) -> Result<Option<String>> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        crate::finance::money::Currency::parse("currency", text)?
            .code()
            .to_owned(),
    ))
}

fn no_such_company() -> Error {
    Error::NotFound("there is no such client company".to_owned())
}

async fn find_company(tx: &mut Tx, company_id: &str) -> Result<Option<Company>> {
    let row: Option<CompanyRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from companies where company_id = $1"
        ))
        .bind(company_id)
        .fetch_optional(conn)
        .await?
    });
    Ok(row.map(from_row))
}

/// Who may look at a company: its own contacts, and staff with `clients.manage`.
fn check_can_view(actor: &Principal, company_id: &str) -> Result<()> {
    match actor.kind() {
        UserKind::Client if actor.company_id() == Some(company_id) => Ok(()),
        UserKind::Client => Err(no_such_company()),
        UserKind::Staff => {
            access::permit::<need::ClientsManage>(actor, Scope::Company(company_id)).map(|_| ())
        }
    }
}

/// The companies the actor may see: every one for staff with `clients.manage`, their own
/// for a client contact.
#[tracing::instrument(skip_all)]
pub async fn list_companies(
    store: &TenantStore,
    actor: &Principal,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<Company>> {
    let only = match actor.kind() {
        UserKind::Client => actor.company_id().unwrap_or("-").to_owned(),
        UserKind::Staff => {
            access::permit::<need::ClientsManage>(actor, Scope::Brand)?;
            String::new()
        }
    };
    let limit = limit.clamp(1, 200);
    let mut tx = store.read().await?;
    let rows: Vec<CompanyRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from companies where company_id > $1 and ($2 = '' or company_id = $2) order by company_id limit $3"
        ))
        .bind(cursor.unwrap_or(""))
        .bind(&only)
        .bind(i64::from(limit) + 1)
        .fetch_all(conn)
        .await?
    });
    let mut items: Vec<Company> = rows.into_iter().map(from_row).collect();
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|c| c.id.clone())
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// Permissions whose holders pick a client company for a project, and so may see the
/// companies' names without managing clients.
pub trait PicksCompany: crate::access::permissions::Requirement {}
impl PicksCompany for need::ClientsManage {}
impl PicksCompany for need::ProjectsCreate {}
impl PicksCompany for need::ProjectsEdit {}
impl PicksCompany for need::InvoicesCreate {}
impl PicksCompany for need::InvoicesManage {}

/// Every client company by name (at most 1,000), to pick one from.
pub async fn company_directory<R: PicksCompany>(
    store: &TenantStore,
    _permit: &Permitted<'_, R>,
) -> Result<Vec<Company>> {
    let mut tx = store.read().await?;
    let rows: Vec<CompanyRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from companies order by name, company_id limit 1000"
        ))
        .fetch_all(conn)
        .await?
    });
    Ok(rows.into_iter().map(from_row).collect())
}

/// One company, if the actor may see it.
#[tracing::instrument(skip_all)]
pub async fn get_company(
    store: &TenantStore,
    actor: &Principal,
    company_id: &str,
) -> Result<Company> {
    check_can_view(actor, company_id)?;
    let mut tx = store.read().await?;
    find_company(&mut tx, company_id)
        .await?
        .ok_or_else(no_such_company)
}

fn parse_company_name(text: &str) -> Result<String> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(Error::field(
            "name",
            "a company's name must be 1 to 200 characters without control characters",
        ));
    }
    Ok(name.to_owned())
}

fn parse_details(text: &str) -> Result<String> {
    if text.chars().count() > 5000 {
        return Err(Error::field(
            "details",
            "details may be at most 5000 characters",
        ));
    }
    Ok(text.trim().to_owned())
}

fn name_taken(name: &str) -> Error {
    Error::Conflict(format!("a client company named '{name}' exists already"))
}

fn map_unique(error: sqlx::Error, name: &str) -> Error {
    let error = Error::from(error);
    if error.is_unique_violation("companies", "name") {
        name_taken(name)
    } else {
        error
    }
}

/// Adds a client company.
#[tracing::instrument(skip_all)]
pub async fn create_company(
    store: &TenantStore,
    permit: &Permitted<'_, need::ClientsManage>,
    name: &str,
    details: &str,
) -> Result<Company> {
    let company = Company {
        id: new_id()?,
        name: parse_company_name(name)?,
        details: parse_details(details)?,
        currency: None,
        country: None,
        tax_id: None,
        created_at: now(),
    };
    let mut tx = store.write().await?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into companies (company_id, name, details, created_at, updated_at) values ($1, $2, $3, $4, $4)",
        )
        .bind(&company.id)
        .bind(&company.name)
        .bind(&company.details)
        .bind(company.created_at)
        .execute(conn)
        .await
        .map_err(|e| map_unique(e, &company.name))?;
    });
    audit::note(
        &Actor::from(permit.principal()),
        "client.create",
        Target::new("client", &company.id),
    )
    .after(company.audit_state())
    .write(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(company)
}

/// Changes a company's name or details.
#[tracing::instrument(skip_all)]
pub async fn update_company(
    store: &TenantStore,
    permit: &Permitted<'_, need::ClientsManage>,
    company_id: &str,
    change: &CompanyChange<'_>,
) -> Result<Company> {
    let mut tx = store.write().await?;
    let before = find_company(&mut tx, company_id)
        .await?
        .ok_or_else(no_such_company)?;
    let mut company = before.clone();
    if let Some(name) = change.name {
        company.name = parse_company_name(name)?;
    }
    if let Some(details) = change.details {
        company.details = parse_details(details)?;
    }
    if let Some(currency) = change.currency {
        company.currency = parse_currency(currency)?;
    }
    if let Some(country) = change.country {
        company.country = crate::fields::parse_country("country", country)?;
    }
    if let Some(tax_id) = change.tax_id {
        company.tax_id = Some(tax_id.trim())
            .filter(|t| !t.is_empty())
            .map(|t| crate::fields::single_line("tax_id", "the tax id", t, 50))
            .transpose()?;
    }
    on_tx!(tx, |conn| {
        sqlx::query(
            "update companies set name = $2, details = $3, currency = $4, country = $5, tax_id = $7, updated_at = $6 where company_id = $1",
        )
        .bind(company_id)
        .bind(&company.name)
        .bind(&company.details)
        .bind(&company.currency)
        .bind(&company.country)
        .bind(now())
        .bind(&company.tax_id)
        .execute(conn)
        .await
        .map_err(|e| map_unique(e, &company.name))?;
    });
    audit::note(
        &Actor::from(permit.principal()),
        "client.update",
        Target::new("client", company_id),
    )
    .before(before.audit_state())
    .after(company.audit_state())
    .write(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(company)
}

/// Removes a company without contacts (contacts keep their history, so a company with any
/// is kept; deactivate its contacts instead).
#[tracing::instrument(skip_all)]
pub async fn delete_company(
    store: &TenantStore,
    permit: &Permitted<'_, need::ClientsManage>,
    company_id: &str,
) -> Result<()> {
    let mut tx = store.write().await?;
    let company = find_company(&mut tx, company_id)
        .await?
        .ok_or_else(no_such_company)?;
    let contacts: i64 = on_tx!(tx, |conn| {
        sqlx::query_scalar("select count(*) from users where company_id = $1")
            .bind(company_id)
            .fetch_one(conn)
            .await?
    });
    if contacts > 0 {
        return Err(Error::Conflict(format!(
            "{} has {contacts} contact(s); deactivate them instead of removing the company",
            company.name
        )));
    }
    let invoices: i64 = on_tx!(tx, |conn| {
        sqlx::query_scalar("select count(*) from invoices where company_id = $1")
            .bind(company_id)
            .fetch_one(conn)
            .await?
    });
    if invoices > 0 {
        return Err(Error::Conflict(format!(
            "{} has {invoices} invoice(s), which are kept for the books",
            company.name
        )));
    }
    let projects = crate::work::projects::count_for_company(&mut tx, company_id).await?;
    if projects > 0 {
        return Err(Error::Conflict(format!(
            "{} has {projects} project(s); archive them instead of removing the company",
            company.name
        )));
    }
    on_tx!(tx, |conn| {
        sqlx::query("delete from companies where company_id = $1")
            .bind(company_id)
            .execute(conn)
            .await?;
    });
    audit::note(
        &Actor::from(permit.principal()),
        "client.delete",
        Target::new("client", company_id),
    )
    .before(company.audit_state())
    .write(&mut tx)
    .await?;
    tx.commit().await
}

/// A company's contacts, for its own contacts and for staff with `clients.manage`.
#[tracing::instrument(skip_all)]
pub async fn list_contacts(
    store: &TenantStore,
    actor: &Principal,
    company_id: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<User>> {
    check_can_view(actor, company_id)?;
    {
        let mut tx = store.read().await?;
        find_company(&mut tx, company_id)
            .await?
            .ok_or_else(no_such_company)?;
    }
    let filter = UserFilter {
        company_id: Some(company_id.to_owned()),
        ..UserFilter::default()
    };
    users::query_users(store, &filter, cursor, limit).await
}

/// This module's tables in backups (parents first), each with its columns (the first is
/// the key rows are ordered by).
pub(crate) const BACKUP: &[Table] = &[(
    "companies",
    &[
        ("company_id", Column::Text),
        ("name", Column::Text),
        ("details", Column::Text),
        ("currency", Column::OptionalText),
        ("country", Column::OptionalText),
        ("tax_id", Column::OptionalText),
        ("created_at", Column::Time),
        ("updated_at", Column::Time),
    ],
)];
