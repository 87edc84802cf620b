//! Finance reports for the agency's staff with `invoices.view` (a Bookkeeper): what each
//! client owes today and how much of it is overdue, what was received per month, and the
//! tax invoiced per rate in a period. Amounts of different currencies are never added up:
//! every row names its currency.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use time::Date;

use crate::access::permissions::need;
use crate::access::{self, Principal, Scope, UserKind};
use crate::error::{Error, Result};
use crate::finance::money::{self, Currency, Line};
use crate::store::{TenantStore, on_tx};

/// What one client company owes in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outstanding {
    /// The company.
    pub company_id: String,
    /// Its name.
    pub company_name: String,
    /// The currency of these invoices.
    pub currency: Currency,
    /// Open invoices (sent or partly paid).
    pub invoices: i64,
    /// What is left to pay of them, in minor units.
    pub outstanding: i64,
    /// Of that, what is past its due date.
    pub overdue: i64,
}

/// What was received in one month in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidInMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// The currency.
    pub currency: Currency,
    /// Payments received.
    pub payments: i64,
    /// Their sum, in minor units.
    pub amount: i64,
}

/// The tax invoiced at one rate in one currency (credit notes taking theirs back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxAtRate {
    /// The currency.
    pub currency: Currency,
    /// The rate in percent.
    pub rate: Decimal,
    /// The nets taxed at it, in minor units.
    pub base: i64,
    /// The tax, in minor units (each invoice's tax of the rate, as printed on it).
    pub tax: i64,
}

/// The finance report of a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinanceReport {
    /// The first day of the period (issue dates, payment days).
    pub from: Date,
    /// Its last day.
    pub to: Date,
    /// What each company owes today (not bound to the period).
    pub outstanding: Vec<Outstanding>,
    /// Received per month in the period.
    pub paid: Vec<PaidInMonth>,
    /// Tax per rate of the invoices and credit notes issued in the period.
    pub taxes: Vec<TaxAtRate>,
}

/// The period asked for: `from` and `to` as typed (`YYYY-MM-DD`), this calendar year when
/// not given.
pub fn period(from: Option<&str>, to: Option<&str>, today: Date) -> Result<(Date, Date)> {
    let from = match from.filter(|t| !t.trim().is_empty()) {
        Some(text) => crate::fields::parse_date("from", text)?,
        None => Date::from_ordinal_date(today.year(), 1)
            .map_err(|_| Error::Invalid("the year has no first day".to_owned()))?,
    };
    let to = match to.filter(|t| !t.trim().is_empty()) {
        Some(text) => crate::fields::parse_date("to", text)?,
        None => Date::from_ordinal_date(today.year(), time::util::days_in_year(today.year()))
            .map_err(|_| Error::Invalid("the year has no last day".to_owned()))?,
    };
    if to < from {
        return Err(Error::field(
            "to",
            "the period ends on or after its first day",
        ));
    }
    Ok((from, to))
}

fn currency_of(text: &str) -> Result<Currency> {
    Currency::parse("currency", text)
        .map_err(|_| Error::Invalid(format!("unknown stored currency '{text}'")))
}

/// The finance report from `from` to `to` (staff with `invoices.view`; clients get 403).
#[tracing::instrument(skip_all)]
pub async fn finance_report(
    store: &TenantStore,
    viewer: &Principal,
    from: Date,
    to: Date,
    today: Date,
) -> Result<FinanceReport> {
    if viewer.kind() != UserKind::Staff {
        return Err(Error::Forbidden(
            "finance reports are for the agency's staff".to_owned(),
        ));
    }
    access::permit::<need::InvoicesView>(viewer, Scope::Brand)?;
    let mut tx = store.read().await?;
    let owed: Vec<(String, String, String, i64, i64, i64)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select i.company_id, c.name, i.currency, count(*),
                    cast(sum(i.total - i.paid) as bigint),
                    cast(sum(case when i.due_on < $1 then i.total - i.paid else 0 end) as bigint)
             from invoices i join companies c on c.company_id = i.company_id
             where i.kind = 'invoice' and i.status in ('sent', 'partially_paid')
             group by i.company_id, c.name, i.currency
             order by c.name, i.currency",
        )
        .bind(today.to_string())
        .fetch_all(conn)
        .await?
    });
    let paid: Vec<(String, String, i64, i64)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select substr(p.paid_on, 1, 7), i.currency, count(*), cast(sum(p.amount) as bigint)
             from invoice_payments p join invoices i on i.invoice_id = p.invoice_id
             where p.status = 'succeeded' and p.paid_on >= $1 and p.paid_on <= $2
             group by substr(p.paid_on, 1, 7), i.currency
             order by 1, 2",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(conn)
        .await?
    });
    let lines: Vec<(String, String, String, String, String, String)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select i.invoice_id, i.currency, l.quantity, l.unit_price, l.tax_rate, l.discount
             from invoices i join invoice_lines l on l.invoice_id = i.invoice_id
             where i.status <> 'draft' and i.issued_on >= $1 and i.issued_on <= $2
             order by i.invoice_id, l.position",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(conn)
        .await?
    });
    drop(tx);
    let outstanding = owed
        .into_iter()
        .map(
            |(company_id, company_name, currency, invoices, outstanding, overdue)| {
                Ok(Outstanding {
                    company_id,
                    company_name,
                    currency: currency_of(&currency)?,
                    invoices,
                    outstanding,
                    overdue,
                })
            },
        )
        .collect::<Result<Vec<_>>>()?;
    let paid = paid
        .into_iter()
        .map(|(month, currency, payments, amount)| {
            Ok(PaidInMonth {
                month,
                currency: currency_of(&currency)?,
                payments,
                amount,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // Each invoice's tax per rate as printed on it (rounded once per rate and invoice),
    // then summed per currency and rate.
    let mut taxes: BTreeMap<(String, Decimal), (i64, i64)> = BTreeMap::new();
    let mut at = 0;
    while at < lines.len() {
        let invoice_id = &lines[at].0;
        let currency = currency_of(&lines[at].1)?;
        let mut parsed = Vec::new();
        while at < lines.len() && &lines[at].0 == invoice_id {
            let (_, _, quantity, price, rate, discount) = &lines[at];
            parsed.push(Line::parse(quantity, price, rate, discount)?);
            at += 1;
        }
        for share in money::totals(&parsed, currency)?.taxes {
            let sums = taxes
                .entry((currency.code().to_owned(), share.rate))
                .or_insert((0, 0));
            sums.0 += share.base;
            sums.1 += share.tax;
        }
    }
    let taxes = taxes
        .into_iter()
        .map(|((currency, rate), (base, tax))| {
            Ok(TaxAtRate {
                currency: currency_of(&currency)?,
                rate,
                base,
                tax,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(FinanceReport {
        from,
        to,
        outstanding,
        paid,
        taxes,
    })
}

/// One field of CSV (RFC 4180): quoted when it holds a comma, quote or line break, and
/// never read as a formula by a spreadsheet (a leading `=`, `+`, `-`, `@` is prefixed with
/// a quote mark, except in numbers).
fn field(text: &str) -> String {
    let numeric = text.parse::<Decimal>().is_ok();
    let text = if !numeric && text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn csv(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut out = header.join(",");
    out.push_str("\r\n");
    for row in rows {
        let fields: Vec<String> = row.iter().map(|f| field(f)).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The report's tables as CSV: `outstanding`, `paid` or `taxes`.
pub fn report_csv(report: &FinanceReport, table: &str) -> Result<String> {
    Ok(match table {
        "outstanding" => csv(
            &["company", "currency", "invoices", "outstanding", "overdue"],
            report.outstanding.iter().map(|o| {
                vec![
                    o.company_name.clone(),
                    o.currency.code().to_owned(),
                    o.invoices.to_string(),
                    o.currency.format(o.outstanding),
                    o.currency.format(o.overdue),
                ]
            }),
        ),
        "paid" => csv(
            &["month", "currency", "payments", "amount"],
            report.paid.iter().map(|p| {
                vec![
                    p.month.clone(),
                    p.currency.code().to_owned(),
                    p.payments.to_string(),
                    p.currency.format(p.amount),
                ]
            }),
        ),
        "taxes" => csv(
            &["currency", "rate", "base", "tax"],
            report.taxes.iter().map(|t| {
                vec![
                    t.currency.code().to_owned(),
                    t.rate.normalize().to_string(),
                    t.currency.format(t.base),
                    t.currency.format(t.tax),
                ]
            }),
        ),
        other => {
            return Err(Error::field(
                "table",
                format!("'{other}' is not a report table: outstanding, paid or taxes"),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(field("Acme, Inc."), "\"Acme, Inc.\"");
        assert_eq!(field("Say \"hi\""), "\"Say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-12.50"), "-12.50");
        assert_eq!(field("@SUM"), "'@SUM");
    }
}
