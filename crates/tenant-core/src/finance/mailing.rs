//! Invoices by mail: a sent invoice or credit note is mailed to the company's contacts who
//! may see invoices, in the same transaction as the sending (so no sent invoice goes
//! unmailed), and reminders follow on the brand's reminder days, each step once whichever
//! replica sweeps, and never once the invoice is paid or cancelled. What was mailed, and
//! what could not be, is written into the invoice's history by the mail sender.

use serde_json::json;
use time::{Date, OffsetDateTime};

use crate::access::permissions::Permission;
use crate::access::{Actor, UserKind};
use crate::accounts::roles;
use crate::accounts::users::{USER_COLUMNS, User, UserRow};
use crate::brand::outbox::{self, MailKind};
use crate::error::Result;
use crate::finance::invoices::{self, Invoice, Status};
use crate::finance::invoicing::{self, Kind};
use crate::store::{TenantStore, Tx, now, on_tx};

/// The active contacts of `company_id` who may see its invoices (their role and switches
/// hold `invoices.view`, their access has not ended): name and address each.
pub(crate) async fn invoice_contacts(
    tx: &mut Tx,
    company_id: &str,
    at: OffsetDateTime,
) -> Result<Vec<(String, String)>> {
    let rows: Vec<UserRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {USER_COLUMNS} from users
             where company_id = $1 and kind = 'client' and status = 'active'
             order by user_id"
        ))
        .bind(company_id)
        .fetch_all(conn)
        .await?
    });
    let mut contacts = Vec::new();
    for row in rows {
        let user = User::try_from(row)?;
        if user.kind != UserKind::Client || user.access_expires_at.is_some_and(|end| end <= at) {
            continue;
        }
        let Some(role) = roles::find_role(tx, &user.role_id).await? else {
            continue;
        };
        let mut permissions = role.permissions;
        if let Some(switches) = user.switches {
            permissions = permissions.intersection(switches);
        }
        if permissions.contains(Permission::InvoicesView) {
            contacts.push((user.name, user.email));
        }
    }
    Ok(contacts)
}

/// Which mail of an invoice: the invoice itself, or reminder `step` (1 to 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The invoice or credit note as sent.
    Sent,
    /// A reminder, by its position among the brand's reminder days.
    Reminder(usize),
}

impl Step {
    /// As stored in the mail's parameters: `sent` or `reminder`.
    fn word(self) -> &'static str {
        match self {
            Step::Sent => "sent",
            Step::Reminder(_) => "reminder",
        }
    }
}

/// Queues the mail of `invoice` (just sent) or of one of its reminders to every contact of
/// its company who may see it, within `tx`; notes in its history when nobody can get it.
pub(crate) async fn queue_mails(
    tx: &mut Tx,
    invoice: &Invoice,
    step: Step,
    days: Option<i32>,
    actor: &Actor,
) -> Result<usize> {
    let at = now();
    let contacts = invoice_contacts(tx, &invoice.company_id, at).await?;
    if contacts.is_empty() {
        invoices::note_history(
            tx,
            &invoice.id,
            actor,
            "not_mailed",
            "Not mailed: no contact of the company may see invoices (give one a client role with invoices.view)",
        )
        .await?;
        return Ok(0);
    }
    let kind = match invoice.kind {
        Kind::Invoice => "invoice",
        Kind::CreditNote => "credit_note",
    };
    for (name, email) in &contacts {
        outbox::enqueue(
            tx,
            MailKind::Invoice,
            email,
            &json!({
                "name": name,
                "invoice": invoice.id,
                "kind": kind,
                "step": step.word(),
                "reminder": match step { Step::Reminder(n) => Some(n), Step::Sent => None },
                "days": days,
            }),
            at,
        )
        .await?;
    }
    Ok(contacts.len())
}

/// An invoice as its mail shows it when the mail goes out, for the mail sender (no
/// permission asked: the server's own job). `None` when it is gone.
pub async fn invoice_for_mail(store: &TenantStore, invoice_id: &str) -> Result<Option<Invoice>> {
    let mut tx = store.read().await?;
    invoices::find_invoice(&mut tx, invoice_id).await
}

/// Whether a reminder still has a reason to go: the invoice is open (sent, partly paid,
/// overdue), not paid or cancelled meanwhile.
pub fn still_owed(invoice: &Invoice) -> bool {
    invoice.kind == Kind::Invoice
        && matches!(
            invoice.status,
            Status::Sent | Status::PartiallyPaid | Status::Overdue
        )
}

/// Notes in an invoice's history that its mail went to `recipient`, or could not.
pub async fn note_mail_outcome(
    store: &TenantStore,
    invoice_id: &str,
    recipient: &str,
    reminder: Option<u64>,
    failure: Option<&str>,
) -> Result<()> {
    let mut tx = store.write().await?;
    if invoices::find_invoice(&mut tx, invoice_id).await?.is_none() {
        return Ok(());
    }
    let what = match reminder {
        Some(n) => format!("Reminder {n}"),
        None => "The invoice".to_owned(),
    };
    let (action, detail) = match failure {
        None => ("mailed", format!("{what} mailed to {recipient}")),
        Some(why) => (
            "mail_failed",
            format!("{what} could not be mailed to {recipient}: {why}"),
        ),
    };
    invoices::note_history(&mut tx, invoice_id, &Actor::system(), action, &detail).await?;
    tx.commit().await
}

/// The reminder step due on `today` for an invoice due on `due_on`, given the brand's
/// reminder days: the latest day reached (earlier steps not yet mailed are passed over, so
/// that a client never gets two reminders at once).
pub fn due_step(reminder_days: &[i32], due_on: Date, today: Date) -> Option<(usize, i32)> {
    let mut days: Vec<i32> = reminder_days.to_vec();
    days.sort_unstable();
    let mut reached = None;
    for (position, day) in days.iter().enumerate() {
        if due_on + time::Duration::days(i64::from(*day)) <= today {
            reached = Some((position + 1, *day));
        }
    }
    reached
}

/// Mails the reminders due on `today`: for every open invoice, the latest reminder day it
/// has reached, if that step was not mailed yet. Each step is taken by one row
/// (`invoice_reminders`), so two replicas sweeping at once mail it once. Returns how many
/// invoices were reminded.
pub async fn remind_invoices(store: &TenantStore, today: Date) -> Result<usize> {
    let mut tx = store.write_uncached().await?;
    let settings = invoicing::invoicing_in(&mut tx).await?;
    if settings.reminder_days.is_empty() {
        return Ok(0);
    }
    let earliest = settings.reminder_days.iter().min().copied().unwrap_or(0);
    // Invoices whose first reminder day has come: due on or before today minus that day.
    let horizon = today - time::Duration::days(i64::from(earliest));
    let open: Vec<(String, String)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select invoice_id, due_on from invoices
             where kind = 'invoice' and status in ('sent', 'partially_paid') and due_on <= $1
             order by due_on, invoice_id",
        )
        .bind(horizon.to_string())
        .fetch_all(conn)
        .await?
    });
    let mut reminded = 0;
    for (invoice_id, due_on) in open {
        let Ok(due_on) = Date::parse(
            &due_on,
            time::macros::format_description!("[year]-[month]-[day]"),
        ) else {
            continue;
        };
        let Some((step, day)) = due_step(&settings.reminder_days, due_on, today) else {
            continue;
        };
        let taken = on_tx!(tx, |conn| {
            sqlx::query(
                "insert into invoice_reminders (invoice_reminder_id, invoice_id, created_at, updated_at)
                 values ($1, $2, $3, $3) on conflict (invoice_reminder_id) do nothing",
            )
            .bind(format!("{invoice_id} {step}"))
            .bind(&invoice_id)
            .bind(now())
            .execute(conn)
            .await?
            .rows_affected()
        });
        if taken == 0 {
            continue;
        }
        let Some(invoice) = invoices::find_invoice(&mut tx, &invoice_id).await? else {
            continue;
        };
        queue_mails(
            &mut tx,
            &invoice,
            Step::Reminder(step),
            Some(day),
            &Actor::system(),
        )
        .await?;
        reminded += 1;
    }
    tx.commit().await?;
    Ok(reminded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_latest_reminder_day_reached_is_the_one_due() {
        let due = date!(2026 - 03 - 10);
        let days = [7, -3, 14];
        assert_eq!(due_step(&days, due, date!(2026 - 03 - 06)), None);
        assert_eq!(due_step(&days, due, date!(2026 - 03 - 07)), Some((1, -3)));
        assert_eq!(due_step(&days, due, date!(2026 - 03 - 16)), Some((1, -3)));
        assert_eq!(due_step(&days, due, date!(2026 - 03 - 17)), Some((2, 7)));
        assert_eq!(due_step(&days, due, date!(2026 - 05 - 01)), Some((3, 14)));
        assert_eq!(due_step(&[], due, date!(2026 - 05 - 01)), None);
    }
}
