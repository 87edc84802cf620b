//! A brand's invoicing settings: the legal details printed on every invoice (name,
//! address, tax id, bank details), the number patterns and next numbers, the default
//! currency, payment term and terms text, and the reminder days. Changing them needs
//! `invoices.manage`; they are audited. A sent invoice keeps the details it was sent
//! with: changing them later changes only invoices sent afterwards.

use serde::{Deserialize, Serialize};
use serde_json::json;
use time::Date;

use crate::access::permissions::need;
use crate::access::{Actor, Permitted};
use crate::audit::{self, Target};
use crate::brand::settings::{area_in, put_area};
use crate::error::{Error, Result};
use crate::fields::{long_text, single_line};
use crate::finance::money::Currency;
use crate::finance::numbering::Pattern;
use crate::store::{TenantStore, Tx, now, on_tx};

const AREA: &str = "invoicing";
/// The most reminders an invoice gets.
pub const MOST_REMINDERS: usize = 3;

/// The settings as stored (defaults filled in when never set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Invoicing {
    /// The seller's legal name.
    pub legal_name: String,
    /// The seller's postal address (several lines).
    pub address: String,
    /// The seller's VAT or tax id.
    pub tax_id: String,
    /// Where to pay: IBAN, BIC, bank (several lines).
    pub bank_details: String,
    /// The seller's country (ISO 3166-1 alpha-2), for e-invoices.
    pub country: String,
    /// The pattern of invoice numbers.
    pub number_pattern: String,
    /// The pattern of credit note numbers.
    pub credit_note_pattern: String,
    /// The currency of companies without their own.
    pub currency: String,
    /// Days from issue to due.
    pub payment_days: u32,
    /// The terms printed on invoices unless a draft has its own.
    pub terms: String,
    /// When reminders are mailed, in days relative to the due date (−3 is three days
    /// before, 7 a week after), at most three.
    pub reminder_days: Vec<i32>,
    /// Whether invoices also come as an EN 16931 e-invoice (CII XML).
    pub e_invoice: bool,
}

impl Default for Invoicing {
    fn default() -> Self {
        Invoicing {
            legal_name: String::new(),
            address: String::new(),
            tax_id: String::new(),
            bank_details: String::new(),
            country: String::new(),
            number_pattern: "{YYYY}-{seq:4}".to_owned(),
            credit_note_pattern: "CN-{YYYY}-{seq:4}".to_owned(),
            currency: "EUR".to_owned(),
            payment_days: 14,
            terms: String::new(),
            reminder_days: Vec::new(),
            e_invoice: false,
        }
    }
}

/// Invoices or credit notes: each has its own pattern and running numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An invoice.
    Invoice,
    /// A credit note (it corrects a sent invoice).
    CreditNote,
}

impl Kind {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Invoice => "invoice",
            Kind::CreditNote => "credit_note",
        }
    }

    /// Reads the stored word.
    pub fn parse(text: &str) -> Result<Kind> {
        match text {
            "invoice" => Ok(Kind::Invoice),
            "credit_note" => Ok(Kind::CreditNote),
            other => Err(Error::Invalid(format!("unknown invoice kind '{other}'"))),
        }
    }
}

impl Invoicing {
    /// The pattern numbers of `kind` are made from.
    pub fn pattern(&self, kind: Kind) -> Result<Pattern> {
        match kind {
            Kind::Invoice => Pattern::parse("number_pattern", &self.number_pattern),
            Kind::CreditNote => Pattern::parse("credit_note_pattern", &self.credit_note_pattern),
        }
    }

    /// The default currency.
    pub fn currency(&self) -> Result<Currency> {
        Currency::parse("currency", &self.currency)
    }

    /// The seller as printed on an invoice sent now; an error names what is missing.
    pub fn seller(&self) -> Result<Seller> {
        if self.legal_name.trim().is_empty() || self.address.trim().is_empty() {
            return Err(Error::Conflict(
                "an invoice needs the seller's legal name and address: set them in the invoicing settings first".to_owned(),
            ));
        }
        Ok(Seller {
            name: self.legal_name.clone(),
            address: self.address.clone(),
            tax_id: self.tax_id.clone(),
            bank_details: self.bank_details.clone(),
            country: self.country.clone(),
        })
    }
}

/// The seller's details as printed on one invoice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Seller {
    /// Legal name.
    pub name: String,
    /// Postal address.
    pub address: String,
    /// VAT or tax id.
    pub tax_id: String,
    /// Bank details.
    pub bank_details: String,
    /// Country (ISO 3166-1 alpha-2), when known.
    pub country: String,
}

/// A change to the settings; `None` keeps a field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InvoicingChange {
    /// The seller's legal name.
    pub legal_name: Option<String>,
    /// The seller's address.
    pub address: Option<String>,
    /// The seller's tax id.
    pub tax_id: Option<String>,
    /// Bank details.
    pub bank_details: Option<String>,
    /// The seller's country.
    pub country: Option<String>,
    /// The invoice number pattern.
    pub number_pattern: Option<String>,
    /// The credit note number pattern.
    pub credit_note_pattern: Option<String>,
    /// The next invoice's running number in the current period (never one given already).
    pub next_invoice_number: Option<u64>,
    /// The next credit note's running number in the current period.
    pub next_credit_note_number: Option<u64>,
    /// The default currency.
    pub currency: Option<String>,
    /// Days from issue to due.
    pub payment_days: Option<u32>,
    /// The default terms.
    pub terms: Option<String>,
    /// Reminder days relative to the due date.
    pub reminder_days: Option<Vec<i32>>,
    /// E-invoices on or off.
    pub e_invoice: Option<bool>,
}

/// The settings and the next running numbers of the current periods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoicingView {
    /// The settings.
    pub settings: Invoicing,
    /// The next invoice's running number today.
    pub next_invoice_number: u64,
    /// The next credit note's running number today.
    pub next_credit_note_number: u64,
}

impl InvoicingView {
    /// What the API shows.
    pub fn view(&self) -> serde_json::Value {
        let s = &self.settings;
        json!({
            "legal_name": s.legal_name,
            "address": s.address,
            "tax_id": s.tax_id,
            "bank_details": s.bank_details,
            "country": s.country,
            "number_pattern": s.number_pattern,
            "credit_note_pattern": s.credit_note_pattern,
            "next_invoice_number": self.next_invoice_number,
            "next_credit_note_number": self.next_credit_note_number,
            "currency": s.currency,
            "payment_days": s.payment_days,
            "terms": s.terms,
            "reminder_days": s.reminder_days,
            "e_invoice": s.e_invoice,
        })
    }
}

/// The settings within `tx`.
pub(crate) async fn invoicing_in(tx: &mut Tx) -> Result<Invoicing> {
    Ok(area_in(tx, AREA).await?.unwrap_or_default())
}

/// The counter of `kind` numbers in the period of `date` under `pattern`.
fn counter_key(kind: Kind, pattern: &Pattern, date: Date) -> String {
    format!("{} {}", kind.as_str(), pattern.period(date))
}

/// The next running number of `kind` in the period of `date`, without taking it.
async fn peek_number(tx: &mut Tx, kind: Kind, pattern: &Pattern, date: Date) -> Result<u64> {
    let key = counter_key(kind, pattern, date);
    let next: Option<i64> = on_tx!(tx, |conn| {
        sqlx::query_scalar("select next_number from invoice_counters where invoice_counter_id = $1")
            .bind(&key)
            .fetch_optional(conn)
            .await?
    });
    Ok(next.and_then(|n| u64::try_from(n).ok()).unwrap_or(1))
}

/// Takes the next running number of `kind` in the period of `date`: within the sending
/// transaction, so that a send that fails gives its number back, and two sends at once
/// wait for each other (the counter's row is locked until commit).
pub(crate) async fn take_number(
    tx: &mut Tx,
    kind: Kind,
    pattern: &Pattern,
    date: Date,
) -> Result<u64> {
    let key = counter_key(kind, pattern, date);
    let at = now();
    let taken: i64 = on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "insert into invoice_counters (invoice_counter_id, next_number, created_at, updated_at)
             values ($1, 2, $2, $2)
             on conflict (invoice_counter_id) do update
               set next_number = invoice_counters.next_number + 1, updated_at = $2
             returning next_number - 1",
        )
        .bind(&key)
        .bind(at)
        .fetch_one(conn)
        .await?
    });
    u64::try_from(taken).map_err(|_| Error::Invalid("the running number is negative".to_owned()))
}

/// Sets the next running number of `kind` in the period of `date`; a number given
/// already (lower than the next) is refused, so no number is ever given twice.
async fn set_next_number(
    tx: &mut Tx,
    kind: Kind,
    pattern: &Pattern,
    date: Date,
    field: &'static str,
    next: u64,
) -> Result<()> {
    let value = i64::try_from(next)
        .ok()
        .filter(|n| (1..=999_999_999_999).contains(n))
        .ok_or_else(|| Error::field(field, "the next number is from 1 to 999999999999"))?;
    let key = counter_key(kind, pattern, date);
    let at = now();
    let changed = on_tx!(tx, |conn| {
        sqlx::query(
            "insert into invoice_counters (invoice_counter_id, next_number, created_at, updated_at)
             values ($1, $2, $3, $3)
             on conflict (invoice_counter_id) do update
               set next_number = $2, updated_at = $3
               where invoice_counters.next_number <= $2",
        )
        .bind(&key)
        .bind(value)
        .bind(at)
        .execute(conn)
        .await?
        .rows_affected()
    });
    if changed == 0 {
        let current = peek_number(tx, kind, pattern, date).await?;
        return Err(Error::field(
            field,
            format!(
                "numbers up to {} were given already in this period: the next is at least {current}",
                current.saturating_sub(1)
            ),
        ));
    }
    Ok(())
}

async fn view_in(tx: &mut Tx, settings: Invoicing) -> Result<InvoicingView> {
    let today = now().date();
    let next_invoice_number =
        peek_number(tx, Kind::Invoice, &settings.pattern(Kind::Invoice)?, today).await?;
    let next_credit_note_number = peek_number(
        tx,
        Kind::CreditNote,
        &settings.pattern(Kind::CreditNote)?,
        today,
    )
    .await?;
    Ok(InvoicingView {
        settings,
        next_invoice_number,
        next_credit_note_number,
    })
}

/// Whether the brand makes e-invoices (a switch anyone who sees an invoice may know).
pub async fn e_invoices_on(store: &TenantStore) -> Result<bool> {
    let mut tx = store.read().await?;
    Ok(invoicing_in(&mut tx).await?.e_invoice)
}

/// The brand's currency, for companies without their own (anyone who makes a draft may
/// know it).
pub async fn default_currency(store: &TenantStore) -> Result<String> {
    let mut tx = store.read().await?;
    Ok(invoicing_in(&mut tx).await?.currency)
}

/// The invoicing settings (`invoices.manage`).
#[tracing::instrument(skip_all)]
pub async fn invoicing(
    store: &TenantStore,
    _permit: &Permitted<'_, need::InvoicesManage>,
) -> Result<InvoicingView> {
    let mut tx = store.read().await?;
    let settings = invoicing_in(&mut tx).await?;
    view_in(&mut tx, settings).await
}

fn optional_line(field: &'static str, what: &str, text: &str, max: usize) -> Result<String> {
    if text.trim().is_empty() {
        return Ok(String::new());
    }
    single_line(field, what, text, max)
}

fn block(field: &'static str, text: &str, max: usize) -> Result<String> {
    let text = long_text(field, text)?;
    if text.chars().count() > max {
        return Err(Error::field(field, format!("at most {max} characters")));
    }
    Ok(text)
}

/// Reads reminder days: at most three, each from 60 days before to 365 after the due
/// date, no day twice; kept in order.
fn parse_reminder_days(days: &[i32]) -> Result<Vec<i32>> {
    if days.len() > MOST_REMINDERS {
        return Err(Error::field(
            "reminder_days",
            format!("at most {MOST_REMINDERS} reminders"),
        ));
    }
    let mut sorted = days.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != days.len() {
        return Err(Error::field("reminder_days", "a day is given twice"));
    }
    if sorted.iter().any(|d| !(-60..=365).contains(d)) {
        return Err(Error::field(
            "reminder_days",
            "a reminder is from 60 days before to 365 days after the due date",
        ));
    }
    Ok(sorted)
}

/// Changes the invoicing settings (`invoices.manage`); audited.
#[tracing::instrument(skip_all)]
pub async fn set_invoicing(
    store: &TenantStore,
    permit: &Permitted<'_, need::InvoicesManage>,
    change: &InvoicingChange,
) -> Result<InvoicingView> {
    let mut tx = store.write().await?;
    let before = invoicing_in(&mut tx).await?;
    let mut after = before.clone();
    if let Some(text) = &change.legal_name {
        after.legal_name = optional_line("legal_name", "the legal name", text, 200)?;
    }
    if let Some(text) = &change.address {
        after.address = block("address", text, 1000)?;
    }
    if let Some(text) = &change.tax_id {
        after.tax_id = optional_line("tax_id", "the tax id", text, 50)?;
    }
    if let Some(text) = &change.bank_details {
        after.bank_details = block("bank_details", text, 1000)?;
    }
    if let Some(text) = &change.country {
        after.country = crate::fields::parse_country("country", text)?.unwrap_or_default();
    }
    if let Some(text) = &change.number_pattern {
        after.number_pattern = Pattern::parse("number_pattern", text)?.as_str().to_owned();
    }
    if let Some(text) = &change.credit_note_pattern {
        after.credit_note_pattern = Pattern::parse("credit_note_pattern", text)?
            .as_str()
            .to_owned();
    }
    if let Some(text) = &change.currency {
        after.currency = Currency::parse("currency", text)?.code().to_owned();
    }
    if let Some(days) = change.payment_days {
        if days > 365 {
            return Err(Error::field(
                "payment_days",
                "payment is due 0 to 365 days after the issue date",
            ));
        }
        after.payment_days = days;
    }
    if let Some(text) = &change.terms {
        after.terms = block("terms", text, 5000)?;
    }
    if let Some(days) = &change.reminder_days {
        after.reminder_days = parse_reminder_days(days)?;
    }
    if let Some(on) = change.e_invoice {
        after.e_invoice = on;
    }
    if after.e_invoice && after.country.is_empty() {
        return Err(Error::field(
            "country",
            "an e-invoice names the seller's country: give its two letters first",
        ));
    }
    let today = now().date();
    if let Some(next) = change.next_invoice_number {
        let pattern = after.pattern(Kind::Invoice)?;
        set_next_number(
            &mut tx,
            Kind::Invoice,
            &pattern,
            today,
            "next_invoice_number",
            next,
        )
        .await?;
    }
    if let Some(next) = change.next_credit_note_number {
        let pattern = after.pattern(Kind::CreditNote)?;
        set_next_number(
            &mut tx,
            Kind::CreditNote,
            &pattern,
            today,
            "next_credit_note_number",
            next,
        )
        .await?;
    }
    put_area(&mut tx, AREA, Some(&after)).await?;
    let view = view_in(&mut tx, after).await?;
    audit::note(
        &Actor::from(permit.principal()),
        "settings.invoicing_update",
        Target::new("settings", AREA),
    )
    .before(serde_json::to_value(&before).unwrap_or_default())
    .after(view.view())
    .write(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(view)
}
