//! Invoices of the brand's client companies: drafts with lines, sending (which gives the
//! number, fixes the seller's and buyer's details and the dates), payments recorded by
//! hand, and cancelling with a credit note. A sent invoice is never changed in place: only
//! its payments and status move, and a credit note corrects it.
//!
//! Who sees what: staff with `invoices.view` see every invoice; a client contact with
//! `invoices.view` sees the sent invoices and credit notes of their own company, never a
//! draft (for them it does not exist). `invoices.create` makes and changes drafts;
//! `invoices.manage` sends, records payments and cancels.

use serde_json::json;
use time::{Date, OffsetDateTime};

use crate::access::permissions::need;
use crate::access::{self, Actor, Permitted, Principal, Scope, UserKind};
use crate::audit::{self, Target};
use crate::error::{Error, Result};
use crate::fields::{long_text, parse_date, single_line};
use crate::finance::invoicing::{self, Kind, Seller};
use crate::finance::mailing;
use crate::finance::money::{self, Currency, Line, TaxShare, Totals};
use crate::paging::Page;
use crate::store::{Column, Table, TenantStore, Tx, new_id, now, on_tx};

/// The most lines an invoice has.
pub const MOST_LINES: usize = 200;

/// Where an invoice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Being written; no number yet; only staff see it.
    Draft,
    /// Sent and not paid.
    Sent,
    /// Part of it paid.
    PartiallyPaid,
    /// Paid in full.
    Paid,
    /// Sent or partly paid, and past its due date.
    Overdue,
    /// Cancelled by a credit note.
    Cancelled,
}

impl Status {
    /// The word of the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Sent => "sent",
            Status::PartiallyPaid => "partially_paid",
            Status::Paid => "paid",
            Status::Overdue => "overdue",
            Status::Cancelled => "cancelled",
        }
    }

    /// Reads a word of the API (for a filter).
    pub fn parse(field: &'static str, text: &str) -> Result<Status> {
        Ok(match text.trim() {
            "draft" => Status::Draft,
            "sent" => Status::Sent,
            "partially_paid" => Status::PartiallyPaid,
            "paid" => Status::Paid,
            "overdue" => Status::Overdue,
            "cancelled" => Status::Cancelled,
            other => {
                return Err(Error::field(
                    field,
                    format!(
                        "'{other}' is not a status: draft, sent, partially_paid, paid, overdue or cancelled"
                    ),
                ));
            }
        })
    }

    fn stored(text: &str) -> Result<Status> {
        Status::parse("status", text)
            .map_err(|_| Error::Invalid(format!("unknown stored invoice status '{text}'")))
    }
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLine {
    /// What was sold.
    pub description: String,
    /// Its numbers.
    pub line: Line,
    /// Its net in minor units.
    pub net: i64,
}

/// A payment of an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// Its id.
    pub id: String,
    /// How much, in minor units.
    pub amount: i64,
    /// When it was paid.
    pub paid_on: Date,
    /// How: `bank_transfer`, `cash`, `card`, `cheque`, `other`, or a provider's name.
    pub method: String,
    /// The bank's or provider's reference.
    pub reference: String,
    /// `processing`, `succeeded` or `failed`.
    pub status: String,
    /// Who recorded it (a name), if a person did.
    pub recorded_by: Option<String>,
    /// When it was recorded.
    pub created_at: OffsetDateTime,
}

/// One entry of an invoice's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// What happened (`created`, `changed`, `sent`, `payment`, `cancelled`, `mailed`, …).
    pub action: String,
    /// A sentence about it.
    pub detail: String,
    /// Who did it.
    pub actor_name: String,
    /// When.
    pub at: OffsetDateTime,
}

/// The buyer as printed on an invoice.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Buyer {
    /// The company's name.
    pub name: String,
    /// Its details (address, tax id).
    pub details: String,
    /// Its country (ISO 3166-1 alpha-2), when known.
    pub country: String,
    /// Its VAT or tax id, when known.
    pub tax_id: String,
}

/// An invoice or credit note as its viewer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    /// Its id.
    pub id: String,
    /// Invoice or credit note.
    pub kind: Kind,
    /// Its number, once sent.
    pub number: Option<String>,
    /// Where it stands today.
    pub status: Status,
    /// The client company.
    pub company_id: String,
    /// The company's name now.
    pub company_name: String,
    /// The project it is for, if any.
    pub project_id: Option<String>,
    /// For a credit note: the invoice it corrects.
    pub corrects: Option<String>,
    /// For a cancelled invoice: the credit note that cancelled it.
    pub credited_by: Option<String>,
    /// Its currency.
    pub currency: Currency,
    /// Its issue date (a draft's becomes the sending day when it is sent).
    pub issued_on: Date,
    /// When payment is due.
    pub due_on: Date,
    /// Notes to the client.
    pub notes: String,
    /// Payment terms.
    pub terms: String,
    /// The seller (for a draft: as the settings are now).
    pub seller: Seller,
    /// The buyer (for a draft: as the company is now).
    pub buyer: Buyer,
    /// Its lines (empty in lists).
    pub lines: Vec<InvoiceLine>,
    /// Tax per rate (empty in lists).
    pub taxes: Vec<TaxShare>,
    /// Sum of the lines' nets.
    pub net: i64,
    /// Sum of the taxes.
    pub tax: i64,
    /// Net plus tax.
    pub total: i64,
    /// What was paid (succeeded payments).
    pub paid: i64,
    /// When it was sent.
    pub sent_at: Option<OffsetDateTime>,
    /// When it was cancelled.
    pub cancelled_at: Option<OffsetDateTime>,
    /// When it was made.
    pub created_at: OffsetDateTime,
}

impl Invoice {
    /// What is left to pay.
    pub fn balance(&self) -> i64 {
        if self.kind == Kind::CreditNote || self.status == Status::Cancelled {
            return 0;
        }
        self.total - self.paid
    }

    pub(crate) fn audit_state(&self) -> serde_json::Value {
        json!({
            "kind": self.kind.as_str(),
            "number": self.number,
            "status": self.status.as_str(),
            "company": self.company_id,
            "currency": self.currency.code(),
            "total": self.currency.format(self.total),
            "paid": self.currency.format(self.paid),
        })
    }
}

/// A line as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewLine {
    /// What was sold.
    pub description: String,
    /// How many (a decimal string).
    pub quantity: String,
    /// The price of one (a decimal string).
    pub unit_price: String,
    /// The tax rate in percent (a decimal string).
    pub tax_rate: String,
    /// A discount in percent (a decimal string; none when empty).
    pub discount: Option<String>,
}

impl From<&InvoiceLine> for NewLine {
    /// A stored line as it would be typed again (to edit it).
    fn from(line: &InvoiceLine) -> NewLine {
        NewLine {
            description: line.description.clone(),
            quantity: line.line.quantity.to_string(),
            unit_price: line.line.unit_price.to_string(),
            tax_rate: line.line.tax_rate.to_string(),
            discount: Some(line.line.discount.to_string()),
        }
    }
}

/// A draft as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewInvoice {
    /// The client company.
    pub company: String,
    /// The project, if any (of that company).
    pub project: Option<String>,
    /// The currency (the company's, else the brand's, when not given).
    pub currency: Option<String>,
    /// The issue date (today when not given).
    pub issued_on: Option<String>,
    /// The due date (the issue date plus the payment days when not given).
    pub due_on: Option<String>,
    /// Notes to the client.
    pub notes: Option<String>,
    /// Payment terms (the settings' when not given).
    pub terms: Option<String>,
    /// Its lines.
    pub lines: Vec<NewLine>,
}

/// A change to a draft; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct InvoiceChange {
    /// Another company.
    pub company: Option<String>,
    /// Another project (`Some(None)` removes it).
    pub project: Option<Option<String>>,
    /// Another currency.
    pub currency: Option<String>,
    /// Another issue date.
    pub issued_on: Option<String>,
    /// Another due date.
    pub due_on: Option<String>,
    /// Other notes.
    pub notes: Option<String>,
    /// Other terms.
    pub terms: Option<String>,
    /// All lines anew.
    pub lines: Option<Vec<NewLine>>,
}

/// A payment as typed.
#[derive(Debug, Clone, Default)]
pub struct NewPayment {
    /// How much (a decimal string in the invoice's currency).
    pub amount: String,
    /// When it was paid (today when not given).
    pub paid_on: Option<String>,
    /// How it was paid.
    pub method: String,
    /// The bank's reference.
    pub reference: Option<String>,
}

/// The methods of payments recorded by hand.
pub const METHODS: &[&str] = &["bank_transfer", "cash", "card", "cheque", "other"];

/// The filters of the invoice list.
#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    /// One company's.
    pub company: Option<String>,
    /// One status (as the API spells it).
    pub status: Option<String>,
    /// One project's.
    pub project: Option<String>,
}

pub(crate) fn no_such_invoice() -> Error {
    Error::NotFound("there is no such invoice".to_owned())
}

/// Whose invoices the viewer sees: all of them (staff with `invoices.view`) or the sent
/// ones of one company (its contacts with `invoices.view`).
enum Seeing {
    All,
    Company(String),
}

fn seeing(viewer: &Principal) -> Result<Seeing> {
    match viewer.kind() {
        UserKind::Client => {
            let company = viewer.company_id().ok_or_else(no_such_invoice)?;
            access::permit::<need::InvoicesView>(viewer, Scope::Company(company))?;
            Ok(Seeing::Company(company.to_owned()))
        }
        UserKind::Staff => {
            access::permit::<need::InvoicesView>(viewer, Scope::Brand)?;
            Ok(Seeing::All)
        }
    }
}

const COLUMNS: &str =
    "i.invoice_id, i.kind, i.number, i.status, i.company_id, c.name, i.project_id, i.corrects_id,
     (select n.invoice_id from invoices n where n.corrects_id = i.invoice_id) as credited_by,
     i.currency, i.issued_on, i.due_on, i.notes, i.terms, i.seller, i.buyer, c.details, c.country, c.tax_id,
     i.net, i.tax, i.total, i.paid, i.sent_at, i.cancelled_at, i.created_at";
const INVOICES: &str = "invoices i join companies c on c.company_id = i.company_id";

#[derive(sqlx::FromRow)]
struct InvoiceRow {
    invoice_id: String,
    kind: String,
    number: Option<String>,
    status: String,
    company_id: String,
    name: String,
    project_id: Option<String>,
    corrects_id: Option<String>,
    credited_by: Option<String>,
    currency: String,
    issued_on: String,
    due_on: String,
    notes: String,
    terms: String,
    seller: String,
    buyer: String,
    details: String,
    country: Option<String>,
    tax_id: Option<String>,
    net: i64,
    tax: i64,
    total: i64,
    paid: i64,
    sent_at: Option<OffsetDateTime>,
    cancelled_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
}

fn stored_date(text: &str) -> Result<Date> {
    parse_date("date", text)
        .map_err(|_| Error::Invalid(format!("a stored date '{text}' is unreadable")))
}

fn stored_json<T: serde::de::DeserializeOwned + Default>(text: &str) -> Result<T> {
    if text.is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(text)
        .map_err(|e| Error::Invalid(format!("stored invoice details are unreadable: {e}")))
}

/// Today's status of a stored one: sent or partly paid past the due date is overdue.
fn effective(kind: Kind, stored: Status, due_on: Date, today: Date) -> Status {
    match stored {
        Status::Sent | Status::PartiallyPaid if kind == Kind::Invoice && due_on < today => {
            Status::Overdue
        }
        other => other,
    }
}

impl InvoiceRow {
    fn into_invoice(self, seller_now: &Seller, today: Date) -> Result<Invoice> {
        let kind = Kind::parse(&self.kind)?;
        let stored = Status::stored(&self.status)?;
        let due_on = stored_date(&self.due_on)?;
        let (seller, buyer) = if stored == Status::Draft {
            (
                seller_now.clone(),
                Buyer {
                    name: self.name.clone(),
                    details: self.details.clone(),
                    country: self.country.clone().unwrap_or_default(),
                    tax_id: self.tax_id.clone().unwrap_or_default(),
                },
            )
        } else {
            (stored_json(&self.seller)?, stored_json(&self.buyer)?)
        };
        Ok(Invoice {
            id: self.invoice_id,
            kind,
            number: self.number,
            status: effective(kind, stored, due_on, today),
            company_id: self.company_id,
            company_name: self.name,
            project_id: self.project_id,
            corrects: self.corrects_id,
            credited_by: self.credited_by,
            currency: Currency::parse("currency", &self.currency)?,
            issued_on: stored_date(&self.issued_on)?,
            due_on,
            notes: self.notes,
            terms: self.terms,
            seller,
            buyer,
            lines: Vec::new(),
            taxes: Vec::new(),
            net: self.net,
            tax: self.tax,
            total: self.total,
            paid: self.paid,
            sent_at: self.sent_at,
            cancelled_at: self.cancelled_at,
            created_at: self.created_at,
        })
    }
}

/// The seller as a draft shows it: the settings as they are (blank where unset).
async fn seller_now(tx: &mut Tx) -> Result<Seller> {
    let settings = invoicing::invoicing_in(tx).await?;
    Ok(Seller {
        name: settings.legal_name,
        address: settings.address,
        tax_id: settings.tax_id,
        bank_details: settings.bank_details,
        country: settings.country,
    })
}

/// The SQL condition of a status filter on `i`, and whether it compares with today (bound
/// as `$6`).
fn status_condition(status: Option<Status>) -> (&'static str, bool) {
    match status {
        None => ("1 = 1", false),
        Some(Status::Draft) => ("i.status = 'draft'", false),
        Some(Status::Paid) => ("i.status = 'paid'", false),
        Some(Status::Cancelled) => ("i.status = 'cancelled'", false),
        Some(Status::Sent) => (
            "i.status = 'sent' and (i.kind = 'credit_note' or i.due_on >= $6)",
            true,
        ),
        Some(Status::PartiallyPaid) => ("i.status = 'partially_paid' and i.due_on >= $6", true),
        Some(Status::Overdue) => (
            "i.status in ('sent', 'partially_paid') and i.kind = 'invoice' and i.due_on < $6",
            true,
        ),
    }
}

/// The invoices the viewer sees, newest first, after `cursor`.
#[tracing::instrument(skip_all)]
pub async fn list_invoices(
    store: &TenantStore,
    viewer: &Principal,
    filter: &InvoiceFilter,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<Invoice>> {
    let seeing = seeing(viewer)?;
    let status = filter
        .status
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| Status::parse("status", s))
        .transpose()?;
    let company = match (&seeing, filter.company.as_deref().filter(|c| !c.is_empty())) {
        (Seeing::Company(own), Some(asked)) if asked != own => {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        }
        (Seeing::Company(own), _) => own.clone(),
        (Seeing::All, asked) => asked.unwrap_or_default().to_owned(),
    };
    let client = matches!(seeing, Seeing::Company(_));
    let limit = i64::from(limit.clamp(1, 200));
    let today = now().date();
    let mut tx = store.read().await?;
    let seller = seller_now(&mut tx).await?;
    let (condition, uses_today) = status_condition(status);
    let sql = format!(
        "select {COLUMNS} from {INVOICES}
         where ($1 = '' or i.company_id = $1)
           and ($2 = '' or i.project_id = $2)
           and ($3 = 0 or i.status <> 'draft')
           and ($4 = '' or i.invoice_id < $4)
           and {condition}
         order by i.invoice_id desc limit $5"
    );
    let rows: Vec<InvoiceRow> = on_tx!(tx, |conn| {
        let query = sqlx::query_as(&sql)
            .bind(&company)
            .bind(filter.project.as_deref().unwrap_or_default())
            .bind(i64::from(client))
            .bind(cursor.unwrap_or_default())
            .bind(limit + 1);
        let query = if uses_today {
            query.bind(today.to_string())
        } else {
            query
        };
        query.fetch_all(conn).await?
    });
    let mut items = rows
        .into_iter()
        .map(|row| row.into_invoice(&seller, today))
        .collect::<Result<Vec<_>>>()?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        items.last().map(|i| i.id.clone())
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

pub(crate) async fn find_invoice(tx: &mut Tx, invoice_id: &str) -> Result<Option<Invoice>> {
    let row: Option<InvoiceRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from {INVOICES} where i.invoice_id = $1"
        ))
        .bind(invoice_id)
        .fetch_optional(conn)
        .await?
    });
    let Some(row) = row else {
        return Ok(None);
    };
    // Only a draft shows the settings as they are; a sent invoice keeps its own.
    let seller = if row.status == "draft" {
        seller_now(tx).await?
    } else {
        Seller::default()
    };
    let mut invoice = row.into_invoice(&seller, now().date())?;
    let lines: Vec<(String, String, String, String, String, i64)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select description, quantity, unit_price, tax_rate, discount, net from invoice_lines
             where invoice_id = $1 order by position",
        )
        .bind(invoice_id)
        .fetch_all(conn)
        .await?
    });
    for (description, quantity, unit_price, tax_rate, discount, net) in lines {
        let line = Line::parse(&quantity, &unit_price, &tax_rate, &discount)
            .map_err(|e| Error::Invalid(format!("a stored invoice line is unreadable: {e}")))?;
        invoice.lines.push(InvoiceLine {
            description,
            line,
            net,
        });
    }
    let parsed: Vec<Line> = invoice.lines.iter().map(|l| l.line.clone()).collect();
    invoice.taxes = money::totals(&parsed, invoice.currency)?.taxes;
    Ok(Some(invoice))
}

/// The invoice if the viewer may see it (a client: sent, of their company).
pub(crate) async fn visible_invoice(
    tx: &mut Tx,
    viewer: &Principal,
    invoice_id: &str,
) -> Result<Invoice> {
    let seeing = seeing(viewer)?;
    let invoice = find_invoice(tx, invoice_id)
        .await?
        .ok_or_else(no_such_invoice)?;
    if let Seeing::Company(own) = seeing
        && (invoice.company_id != own || invoice.status == Status::Draft)
    {
        return Err(no_such_invoice());
    }
    Ok(invoice)
}

/// One invoice with its lines and tax breakdown.
#[tracing::instrument(skip_all)]
pub async fn get_invoice(
    store: &TenantStore,
    viewer: &Principal,
    invoice_id: &str,
) -> Result<Invoice> {
    let mut tx = store.read().await?;
    visible_invoice(&mut tx, viewer, invoice_id).await
}

/// An invoice's payments (who sees the invoice sees them), oldest first.
#[tracing::instrument(skip_all)]
pub async fn list_payments(
    store: &TenantStore,
    viewer: &Principal,
    invoice_id: &str,
) -> Result<Vec<Payment>> {
    Ok(get_invoice_with_payments(store, viewer, invoice_id)
        .await?
        .1)
}

/// One invoice and its payments, read together (the invoice page, the payments list).
#[tracing::instrument(skip_all)]
pub async fn get_invoice_with_payments(
    store: &TenantStore,
    viewer: &Principal,
    invoice_id: &str,
) -> Result<(Invoice, Vec<Payment>)> {
    let mut tx = store.read().await?;
    let invoice = visible_invoice(&mut tx, viewer, invoice_id).await?;
    let payments = payments_of(&mut tx, invoice_id).await?;
    Ok((invoice, payments))
}

pub(crate) async fn payments_of(tx: &mut Tx, invoice_id: &str) -> Result<Vec<Payment>> {
    type Row = (
        String,
        i64,
        String,
        String,
        String,
        String,
        Option<String>,
        OffsetDateTime,
    );
    let rows: Vec<Row> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select p.invoice_payment_id, p.amount, p.paid_on, p.method, p.reference, p.status, u.name, p.created_at
             from invoice_payments p left join users u on u.user_id = p.recorded_by
             where p.invoice_id = $1 order by p.created_at, p.invoice_payment_id",
        )
        .bind(invoice_id)
        .fetch_all(conn)
        .await?
    });
    rows.into_iter()
        .map(
            |(id, amount, paid_on, method, reference, status, recorded_by, created_at)| {
                Ok(Payment {
                    id,
                    amount,
                    paid_on: stored_date(&paid_on)?,
                    method,
                    reference,
                    status,
                    recorded_by,
                    created_at,
                })
            },
        )
        .collect()
}

/// An invoice's history, oldest first: staff with `invoices.view` only (it names staff).
#[tracing::instrument(skip_all)]
pub async fn history(
    store: &TenantStore,
    permit: &Permitted<'_, need::InvoicesView>,
    invoice_id: &str,
) -> Result<Vec<HistoryEntry>> {
    if permit.principal().kind() != UserKind::Staff {
        return Err(Error::Forbidden(
            "an invoice's history is for the agency's staff".to_owned(),
        ));
    }
    let mut tx = store.read().await?;
    find_invoice(&mut tx, invoice_id)
        .await?
        .ok_or_else(no_such_invoice)?;
    let rows: Vec<(String, String, String, OffsetDateTime)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select action, detail, actor_name, created_at from invoice_history
             where invoice_id = $1 order by created_at, invoice_history_id",
        )
        .bind(invoice_id)
        .fetch_all(conn)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|(action, detail, actor_name, at)| HistoryEntry {
            action,
            detail,
            actor_name,
            at,
        })
        .collect())
}

/// Writes one entry of an invoice's history.
pub(crate) async fn note_history(
    tx: &mut Tx,
    invoice_id: &str,
    actor: &Actor,
    action: &str,
    detail: &str,
) -> Result<()> {
    let at = now();
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into invoice_history (invoice_history_id, invoice_id, action, detail, actor_id, actor_name, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(new_id()?)
        .bind(invoice_id)
        .bind(action)
        .bind(detail)
        .bind(&actor.user_id)
        .bind(&actor.name)
        .bind(at)
        .execute(conn)
        .await?;
    });
    Ok(())
}

/// The company (it must exist) and its currency, if it has one.
async fn company_of(tx: &mut Tx, company_id: &str) -> Result<Option<String>> {
    let found: Option<(Option<String>,)> = on_tx!(tx, |conn| {
        sqlx::query_as("select currency from companies where company_id = $1")
            .bind(company_id)
            .fetch_optional(conn)
            .await?
    });
    found
        .map(|(currency,)| currency)
        .ok_or_else(|| Error::field("company", "there is no such client company"))
}

/// Checks that a project exists and is the company's.
async fn check_project(tx: &mut Tx, company_id: &str, project_id: &str) -> Result<()> {
    let company: Option<(Option<String>,)> = on_tx!(tx, |conn| {
        sqlx::query_as("select company_id from projects where project_id = $1")
            .bind(project_id)
            .fetch_optional(conn)
            .await?
    });
    match company {
        None => Err(Error::field("project", "there is no such project")),
        Some((Some(owner),)) if owner == company_id => Ok(()),
        Some(_) => Err(Error::field(
            "project",
            "the project is not the client company's",
        )),
    }
}

/// Reads typed lines; a wrong one is a field error naming its place (`lines[2].quantity`
/// is reported as field `lines` with the line's number).
fn parse_lines(typed: &[NewLine], currency: Currency) -> Result<(Vec<InvoiceLine>, Totals)> {
    if typed.len() > MOST_LINES {
        return Err(Error::field(
            "lines",
            format!("an invoice has at most {MOST_LINES} lines"),
        ));
    }
    let mut lines = Vec::with_capacity(typed.len());
    for (index, new) in typed.iter().enumerate() {
        let place = index + 1;
        let description = single_line("lines", "a line's description", &new.description, 500)
            .map_err(|_| {
                Error::field(
                    "lines",
                    format!("line {place}: a description of 1 to 500 characters is needed"),
                )
            })?;
        let line = Line::parse(
            &new.quantity,
            &new.unit_price,
            &new.tax_rate,
            new.discount
                .as_deref()
                .filter(|d| !d.trim().is_empty())
                .unwrap_or("0"),
        )
        .map_err(|e| match e {
            Error::Field { field, message } => Error::field(
                "lines",
                format!("line {place}, {}: {message}", field.replace('_', " ")),
            ),
            other => other,
        })?;
        let net = line.net(currency)?;
        lines.push(InvoiceLine {
            description,
            line,
            net,
        });
    }
    let parsed: Vec<Line> = lines.iter().map(|l| l.line.clone()).collect();
    let totals = money::totals(&parsed, currency)?;
    Ok((lines, totals))
}

fn parse_notes(field: &'static str, text: &str) -> Result<String> {
    let text = long_text(field, text)?;
    if text.chars().count() > 5000 {
        return Err(Error::field(field, "at most 5000 characters"));
    }
    Ok(text)
}

fn check_dates(issued_on: Date, due_on: Date) -> Result<()> {
    if due_on < issued_on {
        return Err(Error::field(
            "due_on",
            "the due date is on or after the issue date",
        ));
    }
    Ok(())
}

async fn write_lines(tx: &mut Tx, invoice_id: &str, lines: &[InvoiceLine]) -> Result<()> {
    let at = now();
    on_tx!(tx, |conn| {
        sqlx::query("delete from invoice_lines where invoice_id = $1")
            .bind(invoice_id)
            .execute(&mut *conn)
            .await?;
        for (position, line) in lines.iter().enumerate() {
            sqlx::query(
                "insert into invoice_lines (invoice_line_id, invoice_id, position, description, quantity, unit_price, tax_rate, discount, net, created_at, updated_at)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
            )
            .bind(new_id()?)
            .bind(invoice_id)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .bind(&line.description)
            .bind(line.line.quantity.to_string())
            .bind(line.line.unit_price.to_string())
            .bind(line.line.tax_rate.to_string())
            .bind(line.line.discount.to_string())
            .bind(line.net)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
    });
    Ok(())
}

/// Makes a draft (`invoices.create`).
#[tracing::instrument(skip_all)]
pub async fn create_invoice(
    store: &TenantStore,
    permit: &Permitted<'_, need::InvoicesCreate>,
    new: &NewInvoice,
) -> Result<Invoice> {
    let mut tx = store.write_uncached().await?;
    let invoice = create_in(&mut tx, &Actor::from(permit.principal()), new).await?;
    tx.commit().await?;
    Ok(invoice)
}

/// Makes a draft within `tx` (which the caller commits), by `actor`.
pub(crate) async fn create_in(tx: &mut Tx, actor: &Actor, new: &NewInvoice) -> Result<Invoice> {
    let settings = invoicing::invoicing_in(tx).await?;
    let company = new.company.trim();
    if company.is_empty() {
        return Err(Error::field("company", "choose the client company"));
    }
    let company_currency = company_of(tx, company).await?;
    let project = new
        .project
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    if let Some(project) = project {
        check_project(tx, company, project).await?;
    }
    let currency = match new
        .currency
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        Some(code) => Currency::parse("currency", code)?,
        None => match company_currency {
            Some(code) => Currency::parse("currency", &code)?,
            None => settings.currency()?,
        },
    };
    let today = now().date();
    let issued_on = match new.issued_on.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(text) => parse_date("issued_on", text)?,
        None => today,
    };
    let due_on = match new.due_on.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(text) => parse_date("due_on", text)?,
        None => issued_on + time::Duration::days(i64::from(settings.payment_days)),
    };
    check_dates(issued_on, due_on)?;
    let notes = parse_notes("notes", new.notes.as_deref().unwrap_or_default())?;
    let terms = match &new.terms {
        Some(text) => parse_notes("terms", text)?,
        None => settings.terms.clone(),
    };
    let (lines, totals) = parse_lines(&new.lines, currency)?;
    let id = new_id()?;
    let at = now();
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into invoices (invoice_id, kind, company_id, project_id, corrects_id, number, status, currency, issued_on, due_on, notes, terms, seller, buyer, net, tax, total, paid, created_by, created_at, updated_at)
             values ($1, 'invoice', $2, $3, null, null, 'draft', $4, $5, $6, $7, $8, '', '', $9, $10, $11, 0, $12, $13, $13)",
        )
        .bind(&id)
        .bind(company)
        .bind(project)
        .bind(currency.code())
        .bind(issued_on.to_string())
        .bind(due_on.to_string())
        .bind(&notes)
        .bind(&terms)
        .bind(totals.net)
        .bind(totals.tax)
        .bind(totals.total)
        .bind(actor.user_id.as_deref())
        .bind(at)
        .execute(conn)
        .await?;
    });
    write_lines(tx, &id, &lines).await?;
    note_history(tx, &id, actor, "created", "Draft made").await?;
    let invoice = find_invoice(tx, &id).await?.ok_or_else(no_such_invoice)?;
    audit::note(actor, "invoice.create", Target::new("invoice", &id))
        .after(invoice.audit_state())
        .write(tx)
        .await?;
    Ok(invoice)
}

/// The draft `invoice_id`, for a change: a sent invoice is refused (it is corrected by a
/// credit note, never changed).
async fn draft_for_change(tx: &mut Tx, invoice_id: &str) -> Result<Invoice> {
    let invoice = find_invoice(tx, invoice_id)
        .await?
        .ok_or_else(no_such_invoice)?;
    if invoice.status != Status::Draft {
        return Err(Error::Conflict(format!(
            "invoice {} was sent: it is never changed, cancel it with a credit note instead",
            invoice.number.as_deref().unwrap_or_default()
        )));
    }
    Ok(invoice)
}

/// A draft sent by another request while this one was changing it.
fn sent_meanwhile() -> Error {
    Error::Conflict(
        "the invoice was sent meanwhile: it is never changed, cancel it with a credit note instead"
            .to_owned(),
    )
}

/// Changes a draft (`invoices.create`).
#[tracing::instrument(skip_all)]
pub async fn update_invoice(
    store: &TenantStore,
    permit: &Permitted<'_, need::InvoicesCreate>,
    invoice_id: &str,
    change: &InvoiceChange,
) -> Result<Invoice> {
    let mut tx = store.write_uncached().await?;
    let before = draft_for_change(&mut tx, invoice_id).await?;
    let company = match change.company.as_deref().map(str::trim) {
        Some("") => return Err(Error::field("company", "choose the client company")),
        Some(company) => {
            company_of(&mut tx, company).await?;
            company.to_owned()
        }
        None => before.company_id.clone(),
    };
    let project = match &change.project {
        Some(project) => project
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned),
        None => before.project_id.clone(),
    };
    if let Some(project) = &project {
        check_project(&mut tx, &company, project).await?;
    }
    let currency = match change
        .currency
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        Some(code) => Currency::parse("currency", code)?,
        None => before.currency,
    };
    let issued_on = match change.issued_on.as_deref() {
        Some(text) => parse_date("issued_on", text)?,
        None => before.issued_on,
    };
    let due_on = match change.due_on.as_deref() {
        Some(text) => parse_date("due_on", text)?,
        None => before.due_on,
    };
    check_dates(issued_on, due_on)?;
    let notes = match &change.notes {
        Some(text) => parse_notes("notes", text)?,
        None => before.notes.clone(),
    };
    let terms = match &change.terms {
        Some(text) => parse_notes("terms", text)?,
        None => before.terms.clone(),
    };
    let typed: Vec<NewLine> = match &change.lines {
        Some(lines) => lines.clone(),
        None => before.lines.iter().map(NewLine::from).collect(),
    };
    let (lines, totals) = parse_lines(&typed, currency)?;
    let at = now();
    // Only while it is still a draft: a send that got there first (its row was locked
    // until it committed) leaves this change nothing to change.
    let changed = on_tx!(tx, |conn| {
        sqlx::query(
            "update invoices set company_id = $2, project_id = $3, currency = $4, issued_on = $5, due_on = $6, notes = $7, terms = $8, net = $9, tax = $10, total = $11, updated_at = $12
             where invoice_id = $1 and status = 'draft'",
        )
        .bind(invoice_id)
        .bind(&company)
        .bind(&project)
        .bind(currency.code())
        .bind(issued_on.to_string())
        .bind(due_on.to_string())
        .bind(&notes)
        .bind(&terms)
        .bind(totals.net)
        .bind(totals.tax)
        .bind(totals.total)
        .bind(at)
        .execute(conn)
        .await?
        .rows_affected()
    });
    if changed != 1 {
        return Err(sent_meanwhile());
    }
    write_lines(&mut tx, invoice_id, &lines).await?;
    let after = find_invoice(&mut tx, invoice_id)
        .await?
        .ok_or_else(no_such_invoice)?;
    if after == before {
        return Ok(before);
    }
    let actor = Actor::from(permit.principal());
    note_history(&mut tx, invoice_id, &actor, "changed", "Draft changed").await?;
    tx.commit().await?;
    Ok(after)
}

/// Removes a draft (`invoices.create`); a sent invoice is kept for the books.
#[tracing::instrument(skip_all)]
pub async fn delete_invoice(
    store: &TenantStore,
    permit: &Permitted<'_, need::InvoicesCreate>,
    invoice_id: &str,
) -> Result<()> {
    let mut tx = store.write_uncached().await?;
    let invoice = draft_for_change(&mut tx, invoice_id).await?;
    let removed = on_tx!(tx, |conn| {
        sqlx::query("delete from invoices where invoice_id = $1 and status = 'draft'")
            .bind(invoice_id)
            .execute(conn)
            .await?
            .rows_affected()
    });
    if removed != 1 {
        return Err(sent_meanwhile());
    }
    audit::note(
        &Actor::from(permit.principal()),
        "invoice.delete",
        Target::new("invoice", invoice_id),
    )
    .before(invoice.audit_state())
    .write(&mut tx)
    .await?;
    tx.commit().await
}

/// Moves a stored status from one of `from` (an SQL list of words, such as
/// `('sent', 'paid')`) to `to` in `tx`; `false` when the invoice was not in one of them any
/// more (another request got there first: on PostgreSQL the row stays locked until commit).
async fn move_status(tx: &mut Tx, invoice_id: &str, from: &'static str, to: &str) -> Result<bool> {
    let moved = on_tx!(tx, |conn| {
        sqlx::query(&format!(
            "update invoices set status = $2, updated_at = $3
             where invoice_id = $1 and status in {from}"
        ))
        .bind(invoice_id)
        .bind(to)
        .bind(now())
        .execute(conn)
        .await?
        .rows_affected()
    });
    Ok(moved == 1)
}

/// Sends a draft (`invoices.manage`): it gets the next number of its period, today's date
/// as its issue date (the due date moves with it, keeping the draft's payment term), and
/// the seller's and buyer's details as they are now, which it keeps.
#[tracing::instrument(skip_all)]
pub async fn send_invoice(
    store: &TenantStore,
    permit: &Permitted<'_, need::InvoicesManage>,
    invoice_id: &str,
) -> Result<Invoice> {
    let mut tx = store.write_uncached().await?;
    let invoice = send_in(&mut tx, &Actor::from(permit.principal()), invoice_id).await?;
    tx.commit().await?;
    Ok(invoice)
}

/// Sends a draft within `tx` (which the caller commits), by `actor`.
pub(crate) async fn send_in(tx: &mut Tx, actor: &Actor, invoice_id: &str) -> Result<Invoice> {
    let draft = draft_for_change(tx, invoice_id).await?;
    if draft.lines.is_empty() {
        return Err(Error::Conflict(
            "an invoice needs at least one line".to_owned(),
        ));
    }
    if draft.total < 0 {
        return Err(Error::Conflict(
            "an invoice's total cannot be below zero: correct a sent invoice with a credit note"
                .to_owned(),
        ));
    }
    // The row is taken first, so that two sends of one draft at once give one number.
    let status = if draft.total == 0 { "paid" } else { "sent" };
    if !move_status(tx, invoice_id, "('draft')", status).await? {
        return Err(Error::Conflict("the invoice was sent already".to_owned()));
    }
    let settings = invoicing::invoicing_in(tx).await?;
    let seller = settings.seller()?;
    let today = now().date();
    let term = draft.due_on - draft.issued_on;
    let due_on = today + term;
    let pattern = settings.pattern(Kind::Invoice)?;
    let seq = invoicing::take_number(tx, Kind::Invoice, &pattern, today).await?;
    let number = pattern.number(today, seq);
    let buyer = draft.buyer.clone();
    let at = now();
    on_tx!(tx, |conn| {
        sqlx::query(
            "update invoices set number = $2, issued_on = $3, due_on = $4, seller = $5, buyer = $6, sent_at = $7, updated_at = $7
             where invoice_id = $1",
        )
        .bind(invoice_id)
        .bind(&number)
        .bind(today.to_string())
        .bind(due_on.to_string())
        .bind(serde_json::to_string(&seller).unwrap_or_default())
        .bind(serde_json::to_string(&buyer).unwrap_or_default())
        .bind(at)
        .execute(conn)
        .await
        .map_err(|e| number_taken(e, &number))?;
    });
    note_history(tx, invoice_id, actor, "sent", &format!("Sent as {number}")).await?;
    let invoice = find_invoice(tx, invoice_id)
        .await?
        .ok_or_else(no_such_invoice)?;
    audit::note(actor, "invoice.send", Target::new("invoice", invoice_id))
        .before(draft.audit_state())
        .after(invoice.audit_state())
        .write(tx)
        .await?;
    mailing::queue_mails(tx, &invoice, mailing::Step::Sent, None, actor).await?;
    Ok(invoice)
}

/// A number that exists already (a pattern changed back to an earlier one) is a conflict
/// that changes nothing.
fn number_taken(error: sqlx::Error, number: &str) -> Error {
    let error = Error::from(error);
    if error.is_unique_violation("invoices", "number") {
        Error::Conflict(format!(
            "the number {number} was given already: set a higher next number in the invoicing settings"
        ))
    } else {
        error
    }
}

/// Records a payment made outside the server (`invoices.manage`): bank transfer, cash,
/// card terminal, cheque. It may pay part of what is left, never more (an overpayment is
/// refused: record what the invoice is for and refund or credit the rest by hand).
#[tracing::instrument(skip_all)]
pub async fn record_payment(
    store: &TenantStore,
    permit: &Permitted<'_, need::InvoicesManage>,
    invoice_id: &str,
    new: &NewPayment,
) -> Result<(Invoice, Payment)> {
    let mut tx = store.write_uncached().await?;
    let invoice = find_invoice(&mut tx, invoice_id)
        .await?
        .ok_or_else(no_such_invoice)?;
    let open = matches!(
        invoice.status,
        Status::Sent | Status::PartiallyPaid | Status::Overdue
    ) && invoice.kind == Kind::Invoice;
    if !open {
        return Err(Error::Conflict(format!(
            "a payment is recorded for a sent invoice that is not paid; this one is {}",
            invoice.status.as_str().replace('_', " ")
        )));
    }
    let amount = invoice.currency.parse_amount("amount", &new.amount)?;
    if amount <= 0 {
        return Err(Error::field("amount", "a payment is more than zero"));
    }
    let balance = invoice.balance();
    if amount > balance {
        return Err(Error::field(
            "amount",
            format!(
                "only {} {} is left to pay",
                invoice.currency.format(balance),
                invoice.currency.code()
            ),
        ));
    }
    let today = now().date();
    let paid_on = match new.paid_on.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(text) => parse_date("paid_on", text)?,
        None => today,
    };
    if paid_on > today {
        return Err(Error::field(
            "paid_on",
            "a payment is recorded once it was made, not ahead",
        ));
    }
    let method = new.method.trim();
    if !METHODS.contains(&method) {
        return Err(Error::field(
            "method",
            format!("the method is one of {}", METHODS.join(", ")),
        ));
    }
    let reference = match new.reference.as_deref().filter(|r| !r.trim().is_empty()) {
        Some(text) => single_line("reference", "a reference", text, 200)?,
        None => String::new(),
    };
    let added = add_paid(&mut tx, invoice_id, amount).await?;
    if !added {
        return Err(Error::Conflict(
            "the invoice changed meanwhile: look at it again".to_owned(),
        ));
    }
    let id = new_id()?;
    let at = now();
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into invoice_payments (invoice_payment_id, invoice_id, amount, paid_on, method, reference, status, provider_reference, recorded_by, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, 'succeeded', null, $7, $8, $8)",
        )
        .bind(&id)
        .bind(invoice_id)
        .bind(amount)
        .bind(paid_on.to_string())
        .bind(method)
        .bind(&reference)
        .bind(permit.principal().user_id())
        .bind(at)
        .execute(conn)
        .await?;
    });
    let actor = Actor::from(permit.principal());
    note_history(
        &mut tx,
        invoice_id,
        &actor,
        "payment",
        &format!(
            "{} {} received on {paid_on} ({})",
            invoice.currency.format(amount),
            invoice.currency.code(),
            method.replace('_', " ")
        ),
    )
    .await?;
    let after = find_invoice(&mut tx, invoice_id)
        .await?
        .ok_or_else(no_such_invoice)?;
    audit::note(
        &actor,
        "invoice.payment",
        Target::new("invoice", invoice_id),
    )
    .before(invoice.audit_state())
    .after(after.audit_state())
    .write(&mut tx)
    .await?;
    let payment = payments_of(&mut tx, invoice_id)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| Error::Invalid("the payment just recorded is missing".to_owned()))?;
    tx.commit().await?;
    Ok((after, payment))
}

/// Adds `amount` to what was paid, if the invoice is open and it does not pay more than
/// the total; the status follows (paid in full, or partly).
pub(crate) async fn add_paid(tx: &mut Tx, invoice_id: &str, amount: i64) -> Result<bool> {
    let changed = on_tx!(tx, |conn| {
        sqlx::query(
            "update invoices
             set paid = paid + $2,
                 status = case when paid + $2 = total then 'paid' else 'partially_paid' end,
                 updated_at = $3
             where invoice_id = $1 and kind = 'invoice' and status in ('sent', 'partially_paid')
               and paid + $2 <= total",
        )
        .bind(invoice_id)
        .bind(amount)
        .bind(now())
        .execute(conn)
        .await?
        .rows_affected()
    });
    Ok(changed == 1)
}

/// Cancels a sent invoice (`invoices.manage`) with a credit note: a document of its own,
/// numbered from the credit note pattern, with every line of the invoice negated, sent at
/// once. What was paid stays recorded (refund it by hand). Returns the cancelled invoice
/// and its credit note.
#[tracing::instrument(skip_all)]
pub async fn cancel_invoice(
    store: &TenantStore,
    permit: &Permitted<'_, need::InvoicesManage>,
    invoice_id: &str,
    reason: &str,
) -> Result<(Invoice, Invoice)> {
    let reason = single_line("reason", "the reason", reason, 500)?;
    let mut tx = store.write_uncached().await?;
    let invoice = find_invoice(&mut tx, invoice_id)
        .await?
        .ok_or_else(no_such_invoice)?;
    match (invoice.kind, invoice.status) {
        (Kind::CreditNote, _) => {
            return Err(Error::Conflict("a credit note is not cancelled".to_owned()));
        }
        (_, Status::Draft) => {
            return Err(Error::Conflict(
                "a draft has no number yet: remove it instead".to_owned(),
            ));
        }
        (_, Status::Cancelled) => {
            return Err(Error::Conflict(
                "the invoice is cancelled already".to_owned(),
            ));
        }
        _ => {}
    }
    if !move_status(
        &mut tx,
        invoice_id,
        "('sent', 'partially_paid', 'paid')",
        "cancelled",
    )
    .await?
    {
        return Err(Error::Conflict(
            "the invoice changed meanwhile: look at it again".to_owned(),
        ));
    }
    let settings = invoicing::invoicing_in(&mut tx).await?;
    let seller = settings.seller()?;
    let today = now().date();
    let pattern = settings.pattern(Kind::CreditNote)?;
    let seq = invoicing::take_number(&mut tx, Kind::CreditNote, &pattern, today).await?;
    let number = pattern.number(today, seq);
    let negated: Vec<InvoiceLine> = invoice
        .lines
        .iter()
        .map(|l| {
            let line = Line {
                quantity: -l.line.quantity,
                ..l.line.clone()
            };
            let net = line.net(invoice.currency)?;
            Ok(InvoiceLine {
                description: l.description.clone(),
                line,
                net,
            })
        })
        .collect::<Result<_>>()?;
    let parsed: Vec<Line> = negated.iter().map(|l| l.line.clone()).collect();
    let totals = money::totals(&parsed, invoice.currency)?;
    let credit_id = new_id()?;
    let at = now();
    let notes = format!(
        "Cancels invoice {} of {}. {reason}",
        invoice.number.as_deref().unwrap_or_default(),
        invoice.issued_on
    );
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into invoices (invoice_id, kind, company_id, project_id, corrects_id, number, status, currency, issued_on, due_on, notes, terms, seller, buyer, net, tax, total, paid, created_by, sent_at, cancelled_at, created_at, updated_at)
             values ($1, 'credit_note', $2, $3, $4, $5, 'sent', $6, $7, $7, $8, '', $9, $10, $11, $12, $13, 0, $14, $15, null, $15, $15)",
        )
        .bind(&credit_id)
        .bind(&invoice.company_id)
        .bind(&invoice.project_id)
        .bind(invoice_id)
        .bind(&number)
        .bind(invoice.currency.code())
        .bind(today.to_string())
        .bind(&notes)
        .bind(serde_json::to_string(&seller).unwrap_or_default())
        .bind(serde_json::to_string(&invoice.buyer).unwrap_or_default())
        .bind(totals.net)
        .bind(totals.tax)
        .bind(totals.total)
        .bind(permit.principal().user_id())
        .bind(at)
        .execute(&mut *conn)
        .await
        .map_err(|e| number_taken(e, &number))?;
        sqlx::query("update invoices set cancelled_at = $2 where invoice_id = $1")
            .bind(invoice_id)
            .bind(at)
            .execute(&mut *conn)
            .await?;
    });
    write_lines(&mut tx, &credit_id, &negated).await?;
    let actor = Actor::from(permit.principal());
    note_history(
        &mut tx,
        invoice_id,
        &actor,
        "cancelled",
        &format!("Cancelled by credit note {number}: {reason}"),
    )
    .await?;
    note_history(
        &mut tx,
        &credit_id,
        &actor,
        "sent",
        &format!(
            "Credit note {number} for invoice {}",
            invoice.number.as_deref().unwrap_or_default()
        ),
    )
    .await?;
    let cancelled = find_invoice(&mut tx, invoice_id)
        .await?
        .ok_or_else(no_such_invoice)?;
    let credit = find_invoice(&mut tx, &credit_id)
        .await?
        .ok_or_else(no_such_invoice)?;
    audit::note(&actor, "invoice.cancel", Target::new("invoice", invoice_id))
        .before(invoice.audit_state())
        .after(json!({"invoice": cancelled.audit_state(), "credit_note": credit.audit_state(), "reason": reason}))
        .write(&mut tx)
        .await?;
    mailing::queue_mails(&mut tx, &credit, mailing::Step::Sent, None, &actor).await?;
    tx.commit().await?;
    Ok((cancelled, credit))
}

/// This module's tables in backups (parents first).
pub(crate) const BACKUP: &[Table] = &[
    (
        "invoice_counters",
        &[
            ("invoice_counter_id", Column::Text),
            ("next_number", Column::Integer),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
    (
        "invoices",
        &[
            ("invoice_id", Column::Text),
            ("kind", Column::Text),
            ("company_id", Column::Text),
            ("project_id", Column::OptionalText),
            ("corrects_id", Column::OptionalText),
            ("number", Column::OptionalText),
            ("status", Column::Text),
            ("currency", Column::Text),
            ("issued_on", Column::Text),
            ("due_on", Column::Text),
            ("notes", Column::Text),
            ("terms", Column::Text),
            ("seller", Column::Text),
            ("buyer", Column::Text),
            ("net", Column::Integer),
            ("tax", Column::Integer),
            ("total", Column::Integer),
            ("paid", Column::Integer),
            ("created_by", Column::OptionalText),
            ("sent_at", Column::OptionalTime),
            ("cancelled_at", Column::OptionalTime),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
    (
        "invoice_lines",
        &[
            ("invoice_line_id", Column::Text),
            ("invoice_id", Column::Text),
            ("position", Column::Integer),
            ("description", Column::Text),
            ("quantity", Column::Text),
            ("unit_price", Column::Text),
            ("tax_rate", Column::Text),
            ("discount", Column::Text),
            ("net", Column::Integer),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
    (
        "invoice_payments",
        &[
            ("invoice_payment_id", Column::Text),
            ("invoice_id", Column::Text),
            ("amount", Column::Integer),
            ("paid_on", Column::Text),
            ("method", Column::Text),
            ("reference", Column::Text),
            ("status", Column::Text),
            ("provider_reference", Column::OptionalText),
            ("recorded_by", Column::OptionalText),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
    (
        "invoice_history",
        &[
            ("invoice_history_id", Column::Text),
            ("invoice_id", Column::Text),
            ("action", Column::Text),
            ("detail", Column::Text),
            ("actor_id", Column::OptionalText),
            ("actor_name", Column::Text),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
    (
        "invoice_reminders",
        &[
            ("invoice_reminder_id", Column::Text),
            ("invoice_id", Column::Text),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
    (
        "payment_events",
        &[
            ("payment_event_id", Column::Text),
            ("invoice_id", Column::OptionalText),
            ("kind", Column::Text),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
    (
        "recurring_invoices",
        &[
            ("recurring_invoice_id", Column::Text),
            ("company_id", Column::Text),
            ("project_id", Column::OptionalText),
            ("template", Column::Text),
            ("frequency", Column::Text),
            ("next_on", Column::Text),
            ("ends_on", Column::OptionalText),
            ("send_now", Column::Integer),
            ("status", Column::Text),
            ("last_invoice_id", Column::OptionalText),
            ("created_by", Column::OptionalText),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
];
