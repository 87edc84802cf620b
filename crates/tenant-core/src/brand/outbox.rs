//! A brand's mail outbox. A mail is written in the same transaction as the action that
//! causes it (an invitation, a password reset), so a crash or an SMTP outage never loses
//! one; a sender (the gateway's mail worker, on any replica) claims due mail for a short
//! while, sends it, and marks it sent, or failed with a time to try again. The secret a
//! mail carries (a link's token) is erased from the outbox once it has been sent.

use std::fmt;

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};
use crate::store::TenantStore;
use crate::store::{Tx, new_id, now, on_tx, truncate_to_micros};

/// What a mail is about; the sender picks the template by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// An invitation link (`{base}/invite/{token}`).
    Invitation,
    /// A password reset link (`{base}/reset/{token}`).
    PasswordReset,
    /// Two-factor sign-in was turned on or off (`enabled`).
    TwoFactorChanged,
    /// To an admin: a user's access ends soon (`user_name`, `user_email`, `ends_at`).
    AccessExpiring,
    /// The user's access ended (`reason`: `admin` or `access_expired`).
    Deactivated,
    /// A notification (`sentence`, `link`: a path; `user` and `kind` for its unsubscribe
    /// link).
    Notification,
    /// The daily digest of notifications (`items`: `sentence` and `link` each; `user`).
    Digest,
    /// A sent invoice or credit note, or a reminder of one (`invoice`, `kind`, `step`:
    /// `sent` or `reminder`, `reminder`: its step, `days`: relative to the due date); the
    /// sender reads the invoice when the mail goes out and attaches its PDF.
    Invoice,
}

impl MailKind {
    /// The word stored.
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Invitation => "invitation",
            MailKind::PasswordReset => "password_reset",
            MailKind::TwoFactorChanged => "two_factor_changed",
            MailKind::AccessExpiring => "access_expiring",
            MailKind::Deactivated => "deactivated",
            MailKind::Notification => "notification",
            MailKind::Digest => "digest",
            MailKind::Invoice => "invoice",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        match text {
            "invitation" => Ok(MailKind::Invitation),
            "password_reset" => Ok(MailKind::PasswordReset),
            "two_factor_changed" => Ok(MailKind::TwoFactorChanged),
            "access_expiring" => Ok(MailKind::AccessExpiring),
            "deactivated" => Ok(MailKind::Deactivated),
            "notification" => Ok(MailKind::Notification),
            "digest" => Ok(MailKind::Digest),
            "invoice" => Ok(MailKind::Invoice),
            other => Err(Error::Invalid(format!("unknown mail kind '{other}'"))),
        }
    }
}

/// A mail claimed for sending.
#[derive(Clone)]
pub struct OutboxMail {
    /// Its id (also the `Message-ID`'s left part, so a resent copy is recognisably the same).
    pub id: String,
    /// What it is about.
    pub kind: MailKind,
    /// The address it goes to.
    pub recipient: String,
    /// What the template needs; may hold a link's token (never logged).
    pub params: Value,
    /// Attempts made before this one.
    pub attempts: i32,
}

impl fmt::Debug for OutboxMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxMail")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// Writes a mail to the outbox within `tx`, due at once.
pub(crate) async fn enqueue(
    tx: &mut Tx,
    kind: MailKind,
    recipient: &str,
    params: &Value,
    at: OffsetDateTime,
) -> Result<()> {
    let params = params.to_string();
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into outbox (mail_id, kind, recipient, params, status, next_attempt_at, created_at, updated_at)
             values ($1, $2, $3, $4, 'pending', $5, $5, $5)",
        )
        .bind(new_id()?)
        .bind(kind.as_str())
        .bind(recipient)
        .bind(&params)
        .bind(at)
        .execute(conn)
        .await?;
    });
    Ok(())
}

/// Claims up to `limit` due mails for `holder` for `lease` (another sender skips them until
/// then), oldest first.
pub async fn claim_due(
    store: &TenantStore,
    holder: &str,
    limit: i64,
    lease: Duration,
) -> Result<Vec<OutboxMail>> {
    let at = now();
    // Looked for in a read transaction first: most rounds find nothing, and then take no
    // write lock. The claim below checks each mail again.
    let ids: Vec<String> = {
        let mut tx = store.read().await?;
        on_tx!(tx, |conn| {
            sqlx::query_scalar(
                "select mail_id from outbox
                 where status = 'pending' and next_attempt_at <= $1 and (claimed_until is null or claimed_until <= $1)
                 order by next_attempt_at, mail_id limit $2",
            )
            .bind(at)
            .bind(limit)
            .fetch_all(conn)
            .await?
        })
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = store.write_uncached().await?;
    let rows: Vec<(String, String, String, String, i32)> = on_tx!(tx, |conn| {
        let mut claimed = Vec::new();
        for id in &ids {
            let row: Option<(String, String, String, String, i32)> = sqlx::query_as(
                "update outbox set claimed_by = $2, claimed_until = $3, updated_at = $4
                 where mail_id = $1 and status = 'pending' and next_attempt_at <= $4
                   and (claimed_until is null or claimed_until <= $4)
                 returning mail_id, kind, recipient, params, attempts",
            )
            .bind(id)
            .bind(holder)
            .bind(at + lease)
            .bind(at)
            .fetch_optional(&mut *conn)
            .await?;
            claimed.extend(row);
        }
        claimed
    });
    tx.commit().await?;
    rows.into_iter()
        .map(|(id, kind, recipient, params, attempts)| {
            Ok(OutboxMail {
                id,
                kind: MailKind::parse(&kind)?,
                recipient,
                params: serde_json::from_str(&params)
                    .map_err(|e| Error::Invalid(format!("outbox mail is unreadable: {e}")))?,
                attempts,
            })
        })
        .collect()
}

/// Marks a mail sent and erases what it carried (a link's token).
pub async fn mark_sent(store: &TenantStore, mail_id: &str) -> Result<()> {
    let at = now();
    let mut tx = store.write_uncached().await?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "update outbox set status = 'sent', params = '{}', sent_at = $2, attempts = attempts + 1,
                 claimed_by = null, claimed_until = null, last_error = null, updated_at = $2
             where mail_id = $1",
        )
        .bind(mail_id)
        .bind(at)
        .execute(conn)
        .await?;
    });
    tx.commit().await
}

/// Records a failed attempt; the mail is tried again at `next_attempt_at`.
pub async fn mark_failed(
    store: &TenantStore,
    mail_id: &str,
    error: &str,
    next_attempt_at: OffsetDateTime,
) -> Result<()> {
    let at = now();
    let mut tx = store.write_uncached().await?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "update outbox set attempts = attempts + 1, last_error = $2, next_attempt_at = $3,
                 claimed_by = null, claimed_until = null, updated_at = $4
             where mail_id = $1",
        )
        .bind(mail_id)
        .bind(error)
        .bind(truncate_to_micros(next_attempt_at))
        .bind(at)
        .execute(conn)
        .await?;
    });
    tx.commit().await
}

/// Gives a mail up (its link has expired, say), erasing what it carried.
pub async fn abandon(store: &TenantStore, mail_id: &str, why: &str) -> Result<()> {
    let at = now();
    let mut tx = store.write_uncached().await?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "update outbox set status = 'abandoned', params = '{}', last_error = $2,
                 claimed_by = null, claimed_until = null, updated_at = $3
             where mail_id = $1",
        )
        .bind(mail_id)
        .bind(why)
        .bind(at)
        .execute(conn)
        .await?;
    });
    tx.commit().await
}

/// One outbox entry as an operator or a test sees it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxEntry {
    /// Its id.
    pub mail_id: String,
    /// `invitation` or `password_reset`.
    pub kind: String,
    /// The address.
    pub recipient: String,
    /// `pending`, `sent` or `abandoned`.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// The outbox, newest first.
pub async fn outbox(store: &TenantStore, limit: i64) -> Result<Vec<OutboxEntry>> {
    let mut tx = store.read().await?;
    Ok(on_tx!(tx, |conn| {
        sqlx::query_as(
            "select mail_id, kind, recipient, status, attempts, last_error from outbox
             order by created_at desc, mail_id desc limit $1",
        )
        .bind(limit)
        .fetch_all(conn)
        .await?
    }))
}
