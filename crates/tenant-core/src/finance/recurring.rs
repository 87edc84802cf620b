//! Recurring invoices (`invoices.manage`): a schedule that makes an invoice for a client
//! company every month, quarter or year from its next date until its end date, either as
//! a draft to look over or sent at once. The background job makes each period's invoice
//! exactly once, even with several replicas sweeping at the same moment: a period is taken
//! by moving the schedule's next date from the value read to the next one, in the same
//! transaction that makes the invoice, so a second sweeper finds the date moved and makes
//! nothing. Missed periods (the server was off) are made when it is back, each once.

use serde_json::json;
use time::{Date, Month};

use crate::access::permissions::need;
use crate::access::{Actor, Permitted};
use crate::audit::{self, Target};
use crate::error::{Error, Result};
use crate::fields::parse_date;
use crate::finance::invoices::{self, NewInvoice, NewLine};
use crate::store::{TenantStore, Tx, new_id, now, on_tx};

/// How often a schedule makes an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    /// Every month.
    Monthly,
    /// Every three months.
    Quarterly,
    /// Every year.
    Yearly,
}

impl Frequency {
    /// The word of the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Monthly => "monthly",
            Frequency::Quarterly => "quarterly",
            Frequency::Yearly => "yearly",
        }
    }

    fn parse(text: &str) -> Result<Frequency> {
        match text.trim() {
            "monthly" => Ok(Frequency::Monthly),
            "quarterly" => Ok(Frequency::Quarterly),
            "yearly" => Ok(Frequency::Yearly),
            other => Err(Error::field(
                "frequency",
                format!("'{other}' is not a frequency: monthly, quarterly or yearly"),
            )),
        }
    }

    fn months(self) -> i32 {
        match self {
            Frequency::Monthly => 1,
            Frequency::Quarterly => 3,
            Frequency::Yearly => 12,
        }
    }
}

/// The date `months` after `from`, on day `day` of that month or its last day when it is
/// shorter (a schedule on the 31st makes February's on the 28th or 29th, and March's on
/// the 31st again).
pub fn advance(from: Date, months: i32, day: u8) -> Date {
    let index = from.year() * 12 + i32::from(u8::from(from.month())) - 1 + months;
    let year = index.div_euclid(12);
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).unwrap_or(1))
        .unwrap_or(Month::January);
    let last = time::util::days_in_month(month, year);
    Date::from_calendar_date(year, month, day.min(last)).unwrap_or(from)
}

/// A schedule.
#[derive(Debug, Clone)]
pub struct Recurring {
    /// Its id.
    pub id: String,
    /// The client company.
    pub company_id: String,
    /// The project, if any.
    pub project_id: Option<String>,
    /// What each invoice holds (company and project as above).
    pub template: NewInvoice,
    /// How often.
    pub frequency: Frequency,
    /// The day of the month invoices are made on.
    pub day: u8,
    /// When the next one is made.
    pub next_on: Date,
    /// The last day one may be made, if it ends.
    pub ends_on: Option<Date>,
    /// Sent at once (else left as a draft).
    pub send: bool,
    /// `active`, `paused` or `ended`.
    pub status: String,
    /// The invoice made last.
    pub last_invoice_id: Option<String>,
}

/// A schedule as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewRecurring {
    /// The client company.
    pub company: String,
    /// Its project, if any.
    pub project: Option<String>,
    /// The currency (the company's, else the brand's, when not given).
    pub currency: Option<String>,
    /// Notes on each invoice.
    pub notes: Option<String>,
    /// Terms on each invoice.
    pub terms: Option<String>,
    /// The lines of each invoice.
    pub lines: Vec<NewLine>,
    /// `monthly`, `quarterly` or `yearly`.
    pub frequency: String,
    /// The first invoice's day (today or later; today when not given).
    pub next_on: Option<String>,
    /// The last day an invoice may be made on, if it ends.
    pub ends_on: Option<String>,
    /// Send each invoice at once (else each waits as a draft).
    pub send: bool,
}

/// A change to a schedule; `None` keeps a field.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecurringChange {
    /// `active` or `paused` (`ended` by removing it).
    pub status: Option<String>,
    /// Another end (`""` for none).
    pub ends_on: Option<String>,
    /// Send at once or not.
    pub send: Option<bool>,
}

#[derive(sqlx::FromRow)]
struct RecurringRow {
    recurring_invoice_id: String,
    company_id: String,
    project_id: Option<String>,
    template: String,
    frequency: String,
    next_on: String,
    ends_on: Option<String>,
    send_now: i64,
    status: String,
    last_invoice_id: Option<String>,
}

const COLUMNS: &str = "recurring_invoice_id, company_id, project_id, template, frequency, next_on, ends_on, send_now, status, last_invoice_id";

fn stored_date(text: &str) -> Result<Date> {
    parse_date("date", text).map_err(|_| Error::Invalid(format!("unknown stored date '{text}'")))
}

impl TryFrom<RecurringRow> for Recurring {
    type Error = Error;

    fn try_from(row: RecurringRow) -> Result<Self> {
        let stored: serde_json::Value = serde_json::from_str(&row.template)
            .map_err(|e| Error::Invalid(format!("unreadable recurring template: {e}")))?;
        let day = stored
            .get("day")
            .and_then(serde_json::Value::as_u64)
            .and_then(|d| u8::try_from(d).ok())
            .unwrap_or(1);
        let template: NewInvoice =
            serde_json::from_value(stored.get("invoice").cloned().unwrap_or_default())
                .map_err(|e| Error::Invalid(format!("unreadable recurring template: {e}")))?;
        Ok(Recurring {
            id: row.recurring_invoice_id,
            company_id: row.company_id,
            project_id: row.project_id,
            template,
            frequency: Frequency::parse(&row.frequency)
                .map_err(|_| Error::Invalid(format!("unknown frequency '{}'", row.frequency)))?,
            day,
            next_on: stored_date(&row.next_on)?,
            ends_on: row.ends_on.as_deref().map(stored_date).transpose()?,
            send: row.send_now != 0,
            status: row.status,
            last_invoice_id: row.last_invoice_id,
        })
    }
}

fn no_such_schedule() -> Error {
    Error::NotFound("there is no such recurring invoice".to_owned())
}

async fn find(tx: &mut Tx, id: &str) -> Result<Option<Recurring>> {
    let row: Option<RecurringRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from recurring_invoices where recurring_invoice_id = $1"
        ))
        .bind(id)
        .fetch_optional(conn)
        .await?
    });
    row.map(Recurring::try_from).transpose()
}

/// The stored template of `new`: the invoice's fields and the schedule's day of month.
fn template_of(new: &NewRecurring, day: u8) -> serde_json::Value {
    json!({
        "day": day,
        "invoice": {
            "company": new.company.trim(),
            "project": new.project.as_deref().map(str::trim).filter(|p| !p.is_empty()),
            "currency": new.currency,
            "notes": new.notes,
            "terms": new.terms,
            "lines": new.lines.iter().map(|l| json!({
                "description": l.description,
                "quantity": l.quantity,
                "unit_price": l.unit_price,
                "tax_rate": l.tax_rate,
                "discount": l.discount,
            })).collect::<Vec<_>>(),
        },
    })
}

fn parse_end(text: Option<&str>, next_on: Date) -> Result<Option<Date>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => {
            let end = parse_date("ends_on", text)?;
            if end < next_on {
                return Err(Error::field(
                    "ends_on",
                    "a schedule ends on or after its next date",
                ));
            }
            Ok(Some(end))
        }
        None => Ok(None),
    }
}

/// Makes a schedule (`invoices.manage`). Its lines, company, project and currency are
/// checked by making (and not keeping) the invoice it would make, so a schedule that
/// could not make its invoice is refused now, not at its first date.
#[tracing::instrument(skip_all)]
pub async fn create_recurring(
    store: &TenantStore,
    permit: &Permitted<'_, need::InvoicesManage>,
    new: &NewRecurring,
) -> Result<Recurring> {
    let frequency = Frequency::parse(&new.frequency)?;
    if new.lines.is_empty() {
        return Err(Error::field(
            "lines",
            "a recurring invoice needs at least one line",
        ));
    }
    let today = now().date();
    let next_on = match new
        .next_on
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(text) => parse_date("next_on", text)?,
        None => today,
    };
    if next_on < today {
        return Err(Error::field(
            "next_on",
            "the first invoice is made today or later",
        ));
    }
    let ends_on = parse_end(new.ends_on.as_deref(), next_on)?;
    let template = template_of(new, next_on.day());
    let actor = Actor::from(permit.principal());
    let mut tx = store.write_uncached().await?;
    // The invoice it would make, made and rolled back: every check a draft gets.
    let trial: NewInvoice = serde_json::from_value(template["invoice"].clone())
        .map_err(|e| Error::Invalid(format!("cannot read the template back: {e}")))?;
    let probe = invoices::create_in(&mut tx, &actor, &trial).await?;
    drop(tx);
    let id = new_id()?;
    let at = now();
    let mut tx = store.write_uncached().await?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into recurring_invoices (recurring_invoice_id, company_id, project_id, template, frequency, next_on, ends_on, send_now, status, last_invoice_id, created_by, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, 'active', null, $9, $10, $10)",
        )
        .bind(&id)
        .bind(&probe.company_id)
        .bind(probe.project_id.as_deref())
        .bind(template.to_string())
        .bind(frequency.as_str())
        .bind(next_on.to_string())
        .bind(ends_on.map(|d| d.to_string()))
        .bind(i64::from(new.send))
        .bind(actor.user_id.as_deref())
        .bind(at)
        .execute(conn)
        .await?;
    });
    let made = find(&mut tx, &id).await?.ok_or_else(no_such_schedule)?;
    audit::note(&actor, "invoice.recurring_create", Target::new("recurring_invoice", &id))
        .after(json!({"company": made.company_id, "frequency": frequency.as_str(), "next_on": next_on.to_string(), "send": new.send}))
        .write(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(made)
}

/// Every schedule, the active ones first by next date (`invoices.manage`).
pub async fn list_recurring(
    store: &TenantStore,
    _permit: &Permitted<'_, need::InvoicesManage>,
) -> Result<Vec<Recurring>> {
    let mut tx = store.read().await?;
    let rows: Vec<RecurringRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from recurring_invoices
             order by case status when 'active' then 0 when 'paused' then 1 else 2 end, next_on, recurring_invoice_id"
        ))
        .fetch_all(conn)
        .await?
    });
    rows.into_iter().map(Recurring::try_from).collect()
}

/// One schedule (`invoices.manage`).
pub async fn get_recurring(
    store: &TenantStore,
    _permit: &Permitted<'_, need::InvoicesManage>,
    id: &str,
) -> Result<Recurring> {
    let mut tx = store.read().await?;
    find(&mut tx, id).await?.ok_or_else(no_such_schedule)
}

/// Pauses, resumes, or changes the end or the sending of a schedule (`invoices.manage`);
/// an ended one stays ended.
#[tracing::instrument(skip_all)]
pub async fn update_recurring(
    store: &TenantStore,
    permit: &Permitted<'_, need::InvoicesManage>,
    id: &str,
    change: &RecurringChange,
) -> Result<Recurring> {
    let mut tx = store.write().await?;
    let before = find(&mut tx, id).await?.ok_or_else(no_such_schedule)?;
    if before.status == "ended" {
        return Err(Error::Conflict(
            "this recurring invoice has ended".to_owned(),
        ));
    }
    let status = match change.status.as_deref().map(str::trim) {
        None => before.status.clone(),
        Some(word @ ("active" | "paused")) => word.to_owned(),
        Some(other) => {
            return Err(Error::field(
                "status",
                format!("'{other}' is not a status to set: active or paused (remove it to end it)"),
            ));
        }
    };
    let ends_on = match &change.ends_on {
        None => before.ends_on,
        Some(text) => parse_end(Some(text), before.next_on)?,
    };
    let send = change.send.unwrap_or(before.send);
    on_tx!(tx, |conn| {
        sqlx::query(
            "update recurring_invoices set status = $2, ends_on = $3, send_now = $4, updated_at = $5
             where recurring_invoice_id = $1",
        )
        .bind(id)
        .bind(&status)
        .bind(ends_on.map(|d| d.to_string()))
        .bind(i64::from(send))
        .bind(now())
        .execute(conn)
        .await?;
    });
    let after = find(&mut tx, id).await?.ok_or_else(no_such_schedule)?;
    audit::note(
        &Actor::from(permit.principal()),
        "invoice.recurring_update",
        Target::new("recurring_invoice", id),
    )
    .before(json!({"status": before.status, "ends_on": before.ends_on.map(|d| d.to_string()), "send": before.send}))
    .after(json!({"status": after.status, "ends_on": after.ends_on.map(|d| d.to_string()), "send": after.send}))
    .write(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Ends a schedule (`invoices.manage`): it makes no more invoices; those it made stay.
#[tracing::instrument(skip_all)]
pub async fn end_recurring(
    store: &TenantStore,
    permit: &Permitted<'_, need::InvoicesManage>,
    id: &str,
) -> Result<()> {
    let mut tx = store.write().await?;
    find(&mut tx, id).await?.ok_or_else(no_such_schedule)?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "update recurring_invoices set status = 'ended', updated_at = $2 where recurring_invoice_id = $1",
        )
        .bind(id)
        .bind(now())
        .execute(conn)
        .await?;
    });
    audit::note(
        &Actor::from(permit.principal()),
        "invoice.recurring_end",
        Target::new("recurring_invoice", id),
    )
    .write(&mut tx)
    .await?;
    tx.commit().await
}

/// Makes the invoices due on or before `today`, each period once (see the module). Returns
/// how many invoices were made. A schedule whose invoice cannot be made any more (its
/// company was changed so that a line is refused, the seller's details were removed) is
/// paused, with the reason in the log, rather than tried every minute.
pub async fn make_due(store: &TenantStore, today: Date) -> Result<usize> {
    let due: Vec<(String, String)> = {
        let mut tx = store.read().await?;
        on_tx!(tx, |conn| {
            sqlx::query_as(
                "select recurring_invoice_id, next_on from recurring_invoices
                 where status = 'active' and next_on <= $1 order by next_on, recurring_invoice_id",
            )
            .bind(today.to_string())
            .fetch_all(conn)
            .await?
        })
    };
    let mut made = 0;
    for (id, mut next_on) in due {
        // One period per transaction; missed periods one after another.
        loop {
            match make_one(store, &id, &next_on, today).await {
                Ok(Some(next)) => {
                    made += 1;
                    match next {
                        Some(next) => next_on = next,
                        None => break,
                    }
                }
                Ok(None) => break,
                Err(error @ (Error::Field { .. } | Error::Conflict(_) | Error::NotFound(_))) => {
                    tracing::warn!(recurring = %id, %error, "a recurring invoice could not be made; the schedule is paused");
                    let mut tx = store.write().await?;
                    on_tx!(tx, |conn| {
                        sqlx::query(
                            "update recurring_invoices set status = 'paused', updated_at = $2 where recurring_invoice_id = $1",
                        )
                        .bind(&id)
                        .bind(now())
                        .execute(conn)
                        .await?;
                    });
                    tx.commit().await?;
                    break;
                }
                Err(error) => return Err(error),
            }
        }
    }
    Ok(made)
}

/// Takes the period of schedule `id` starting on `expected` (as read) and makes its
/// invoice, in one transaction; `None` when the period was taken by another sweeper, the
/// schedule is not active, or its next date is after `today`. Returns the next date, or
/// `Some(None)` when the schedule ended with this invoice.
async fn make_one(
    store: &TenantStore,
    id: &str,
    expected: &str,
    today: Date,
) -> Result<Option<Option<String>>> {
    let mut tx = store.write_uncached().await?;
    let Some(schedule) = find(&mut tx, id).await? else {
        return Ok(None);
    };
    if schedule.status != "active"
        || schedule.next_on > today
        || schedule.next_on.to_string() != expected
    {
        return Ok(None);
    }
    let next = advance(schedule.next_on, schedule.frequency.months(), schedule.day);
    let ended = schedule.ends_on.is_some_and(|end| next > end);
    let taken = on_tx!(tx, |conn| {
        sqlx::query(
            "update recurring_invoices set next_on = $3, status = $4, updated_at = $5
             where recurring_invoice_id = $1 and next_on = $2 and status = 'active'",
        )
        .bind(id)
        .bind(expected)
        .bind(next.to_string())
        .bind(if ended { "ended" } else { "active" })
        .bind(now())
        .execute(conn)
        .await?
        .rows_affected()
    });
    if taken != 1 {
        return Ok(None);
    }
    let actor = Actor::system();
    let mut new = schedule.template.clone();
    new.company.clone_from(&schedule.company_id);
    new.project.clone_from(&schedule.project_id);
    let draft = invoices::create_in(&mut tx, &actor, &new).await?;
    invoices::note_history(
        &mut tx,
        &draft.id,
        &actor,
        "recurring",
        &format!(
            "Made by a {} recurring invoice for {}",
            schedule.frequency.as_str(),
            schedule.next_on
        ),
    )
    .await?;
    if schedule.send {
        invoices::send_in(&mut tx, &actor, &draft.id).await?;
    }
    on_tx!(tx, |conn| {
        sqlx::query(
            "update recurring_invoices set last_invoice_id = $2 where recurring_invoice_id = $1",
        )
        .bind(id)
        .bind(&draft.id)
        .execute(conn)
        .await?;
    });
    tx.commit().await?;
    Ok(Some((!ended).then(|| next.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn months_advance_on_the_schedules_day_or_the_months_last() {
        assert_eq!(advance(date!(2026 - 01 - 31), 1, 31), date!(2026 - 02 - 28));
        assert_eq!(advance(date!(2026 - 02 - 28), 1, 31), date!(2026 - 03 - 31));
        assert_eq!(advance(date!(2027 - 11 - 15), 3, 15), date!(2028 - 02 - 15));
        assert_eq!(
            advance(date!(2028 - 02 - 29), 12, 29),
            date!(2029 - 02 - 28)
        );
        assert_eq!(advance(date!(2026 - 12 - 05), 1, 5), date!(2027 - 01 - 05));
    }
}
